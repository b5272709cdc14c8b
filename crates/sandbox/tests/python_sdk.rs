//! The cross-implementation check of issue 9: the sandbox's notifications pass the signature check of Alipay's
//! official Python SDK (`global-alipay-sdk-python`, `WebhookTool.check_signature`), and a tampered one fails it.
//! The interpreter comes from `ALIPAY_GATEWAY_PYTHON` (scripts/test builds it from tests/python/requirements.txt).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::receiver::{Received, Receiver};
use common::*;
use sandbox::{SandboxConfig, dev};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/python/verify_sandbox_notification.py"
);

/// Runs the SDK check on a notification as received (with `body` in place of its own); true when accepted.
fn sdk_accepts(python: &str, key_file: &std::path::Path, received: &Received, body: &[u8]) -> bool {
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .arg(&received.path)
        .arg(received.header("client-id"))
        .arg(received.header("request-time"))
        .arg(received.header("signature"))
        .arg(key_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python SDK check");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    match output.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!(
            "the SDK check failed to run ({other:?}): {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[tokio::test]
async fn the_official_python_sdk_verifies_sandbox_notifications_and_rejects_tampered_ones() {
    let python = match std::env::var("ALIPAY_GATEWAY_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but ALIPAY_GATEWAY_PYTHON is not")
        }
        _ => {
            eprintln!("ALIPAY_GATEWAY_PYTHON is unset: skipping the Python SDK check");
            return;
        }
    };
    let rx = Receiver::start(dev::ALIPAY_PUBLIC_KEY_PEM, dev::CLIENT_ID).await;
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let key_file = std::env::temp_dir().join(format!("sandbox-alipay-public-{}.pem", unique("k")));
    std::fs::write(&key_file, sandbox.alipay_public_key_pem()).unwrap();

    m.cashier_settled(Some(&rx.url("/merchant/alipay/notify")), "pay")
        .await;
    let notification = rx.wait_for(1).await.remove(0);
    notification.assert_verified();
    assert!(
        sdk_accepts(&python, &key_file, &notification, &notification.body),
        "the SDK rejects a genuine sandbox notification"
    );

    let mut flipped = notification.body.clone();
    let last_letter = flipped.iter().rposition(u8::is_ascii_alphabetic).unwrap();
    flipped[last_letter] ^= 0x20;
    assert!(
        !sdk_accepts(&python, &key_file, &notification, &flipped),
        "the SDK accepts a body with a flipped byte"
    );

    for tamper in ["body", "signature"] {
        let resent = m
            .http
            .post(format!(
                "{}/sandbox/notifications/1/resend?tamper={tamper}",
                m.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resent.status(), 200);
        let received = rx.received().pop().unwrap();
        assert!(
            !sdk_accepts(&python, &key_file, &received, &received.body),
            "the SDK accepts a resend with tamper={tamper}"
        );
    }
    std::fs::remove_file(&key_file).unwrap();
    sandbox.shutdown().await;
}
