//! Black-box tests of `alipay-gateway signature sign|verify` on the committed OpenSSL test vector.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CLIENT_ID: &str = "SANDBOX_TEST";
const TIME: &str = "2024-01-01T00:00:00+00:00";
const PATH: &str = "/ams/api/v1/payments/pay";

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/alipay/tests/vectors")
        .join(name)
}

fn expected_header() -> String {
    std::fs::read_to_string(vector("signature-header.txt")).expect("vector header")
}

fn gateway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
        .args(args)
        .output()
        .expect("run alipay-gateway")
}

fn sign(key: &str) -> Output {
    let key = vector(key);
    let body = vector("body.json");
    gateway(&[
        "signature",
        "sign",
        "--private-key",
        key.to_str().unwrap(),
        "--client-id",
        CLIENT_ID,
        "--request-time",
        TIME,
        "--path",
        PATH,
        "--body-file",
        body.to_str().unwrap(),
    ])
}

fn verify(key: &Path, path: &str, body: &Path, signature: &str) -> Output {
    gateway(&[
        "signature",
        "verify",
        "--public-key",
        key.to_str().unwrap(),
        "--client-id",
        CLIENT_ID,
        "--request-time",
        TIME,
        "--path",
        path,
        "--body-file",
        body.to_str().unwrap(),
        "--signature",
        signature,
    ])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sign_prints_the_openssl_vector_for_pkcs8_and_pkcs1_keys() {
    for key in [
        "vector-private.TEST-ONLY.pem",
        "vector-private-pkcs1.TEST-ONLY.b64",
    ] {
        let out = sign(key);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout(&out).trim_end(), expected_header(), "{key}");
    }
}

#[test]
fn verify_accepts_the_vector() {
    let out = verify(
        &vector("vector-public.TEST-ONLY.pem"),
        PATH,
        &vector("body.json"),
        &expected_header(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("signature is valid"));
}

#[test]
fn verify_rejects_a_tampered_body_and_blames_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("body.json");
    let body = std::fs::read_to_string(vector("body.json"))
        .unwrap()
        .replace("\"100\"", "\"101\"");
    std::fs::write(&tampered, body).unwrap();
    let out = verify(
        &vector("vector-public.TEST-ONLY.pem"),
        PATH,
        &tampered,
        &expected_header(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("NOT valid"));
    assert!(
        stdout(&out).contains("key does not match"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_diagnoses_a_trailing_newline_and_the_sandbox_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let with_newline = dir.path().join("body.json");
    let mut body = std::fs::read(vector("body.json")).unwrap();
    body.push(b'\n');
    std::fs::write(&with_newline, body).unwrap();
    let out = verify(
        &vector("vector-public.TEST-ONLY.pem"),
        "/ams/sandbox/api/v1/payments/pay",
        &with_newline,
        &expected_header(),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("no trailing newline"), "{text}");
    assert!(text.contains("`/ams/api/v1/payments/pay`"), "{text}");
}

#[test]
fn verify_with_an_unreadable_key_is_a_usage_error() {
    let out = verify(
        &vector("body.json"),
        PATH,
        &vector("body.json"),
        &expected_header(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
}
