//! The committed OpenSSL test vector (reference §5): our aws-lc-rs signer must reproduce OpenSSL's signature byte
//! for byte from every accepted key format, and our verifier must accept it and reject every tampered variant.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use alipay::notification::{NotificationError, verify_notification};
use alipay::signing::{SignatureError, Signer, Verifier, sign_content};
use reqwest::header::HeaderMap;

const METHOD: &str = "POST";
const PATH: &str = "/ams/api/v1/payments/pay";
const CLIENT_ID: &str = "SANDBOX_TEST";
const TIME: &str = "2024-01-01T00:00:00+00:00";
const BODY: &[u8] = include_bytes!("vectors/body.json");
const CONTENT: &[u8] = include_bytes!("vectors/content.txt");
const EXPECTED_HEADER: &str = include_str!("vectors/signature-header.txt");
const EXPECTED_B64: &str = include_str!("vectors/signature.b64");

const PRIVATE_KEYS: [(&str, &str); 4] = [
    (
        "PKCS#8 PEM",
        include_str!("vectors/vector-private.TEST-ONLY.pem"),
    ),
    (
        "PKCS#1 PEM",
        include_str!("vectors/vector-private-pkcs1.TEST-ONLY.pem"),
    ),
    (
        "PKCS#8 bare base64",
        include_str!("vectors/vector-private-pkcs8.TEST-ONLY.b64"),
    ),
    (
        "PKCS#1 bare base64",
        include_str!("vectors/vector-private-pkcs1.TEST-ONLY.b64"),
    ),
];
const PUBLIC_KEYS: [(&str, &str); 3] = [
    (
        "SPKI PEM",
        include_str!("vectors/vector-public.TEST-ONLY.pem"),
    ),
    (
        "SPKI bare base64",
        include_str!("vectors/vector-public.TEST-ONLY.b64"),
    ),
    (
        "PKCS#1 RSAPublicKey PEM",
        include_str!("vectors/vector-public-pkcs1.TEST-ONLY.pem"),
    ),
];
const WRONG_PUBLIC_KEY: &str = include_str!("../../../keys/dev/merchant-public.TEST-ONLY.pem");

fn verifier() -> Verifier {
    Verifier::from_text(PUBLIC_KEYS[0].1).expect("vector public key loads")
}

#[test]
fn content_matches_the_committed_file() {
    assert_eq!(sign_content(METHOD, PATH, CLIENT_ID, TIME, BODY), CONTENT);
}

#[test]
fn every_private_key_format_reproduces_openssl_byte_for_byte() {
    use base64::Engine as _;
    let expected_raw = base64::engine::general_purpose::STANDARD
        .decode(EXPECTED_B64.trim())
        .expect("vector is base64");
    assert_eq!(EXPECTED_B64.len(), 344);
    for (format, key) in PRIVATE_KEYS {
        let signer = Signer::from_text(key).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(
            signer.sign(CONTENT).unwrap(),
            expected_raw,
            "{format}: raw signature"
        );
        let header = signer
            .header_value(1, METHOD, PATH, CLIENT_ID, TIME, BODY)
            .unwrap();
        assert_eq!(header, EXPECTED_HEADER, "{format}: header value");
    }
}

#[test]
fn every_public_key_format_accepts_the_vector() {
    for (format, key) in PUBLIC_KEYS {
        let v = Verifier::from_text(key).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(
            v.verify_header(EXPECTED_HEADER, METHOD, PATH, CLIENT_ID, TIME, BODY),
            Ok(()),
            "{format}"
        );
    }
}

#[test]
fn tolerant_header_forms_are_accepted() {
    let v = verifier();
    let spaced = EXPECTED_HEADER.replace(',', ", ");
    assert_eq!(
        v.verify_header(&spaced, METHOD, PATH, CLIENT_ID, TIME, BODY),
        Ok(())
    );
    let raw = format!(
        "algorithm=RSA256,keyVersion=1,signature={}",
        EXPECTED_B64.trim()
    );
    assert_eq!(
        v.verify_header(&raw, METHOD, PATH, CLIENT_ID, TIME, BODY),
        Ok(())
    );
    assert_eq!(
        v.verify_header(EXPECTED_B64, METHOD, PATH, CLIENT_ID, TIME, BODY),
        Ok(())
    );
}

#[test]
fn one_flipped_body_byte_is_invalid() {
    let v = verifier();
    for i in [0, BODY.len() / 2, BODY.len() - 1] {
        let mut body = BODY.to_vec();
        body[i] ^= 0x01;
        assert_eq!(
            v.verify_header(EXPECTED_HEADER, METHOD, PATH, CLIENT_ID, TIME, &body),
            Err(SignatureError::Invalid),
            "byte {i}"
        );
    }
}

#[test]
fn wrong_path_client_id_method_or_time_format_is_invalid() {
    let v = verifier();
    let cases: [(&str, &str, &str, &str); 4] = [
        (METHOD, "/ams/sandbox/api/v1/payments/pay", CLIENT_ID, TIME),
        (METHOD, PATH, "SANDBOX_OTHER", TIME),
        ("GET", PATH, CLIENT_ID, TIME),
        // The same instant as epoch-ms: the time is signed verbatim, so the format matters.
        (METHOD, PATH, CLIENT_ID, "1704067200000"),
    ];
    for (method, path, client_id, time) in cases {
        assert_eq!(
            v.verify_header(EXPECTED_HEADER, method, path, client_id, time, BODY),
            Err(SignatureError::Invalid),
            "{method} {path} {client_id} {time}"
        );
    }
}

#[test]
fn wrong_key_is_invalid() {
    let wrong = Verifier::from_text(WRONG_PUBLIC_KEY).unwrap();
    assert_eq!(
        wrong.verify_header(EXPECTED_HEADER, METHOD, PATH, CLIENT_ID, TIME, BODY),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn malformed_signature_values_have_specific_errors() {
    let v = verifier();
    assert_eq!(
        v.verify_header(
            "algorithm=RSA256,keyVersion=1,signature=%%%",
            METHOD,
            PATH,
            CLIENT_ID,
            TIME,
            BODY
        ),
        Err(SignatureError::BadEncoding)
    );
    assert_eq!(
        v.verify_header(
            &EXPECTED_HEADER.replace("RSA256", "RSA2"),
            METHOD,
            PATH,
            CLIENT_ID,
            TIME,
            BODY
        ),
        Err(SignatureError::UnsupportedAlgorithm("RSA2".into()))
    );
    assert_eq!(
        v.verify_header("", METHOD, PATH, CLIENT_ID, TIME, BODY),
        Err(SignatureError::Missing)
    );
}

#[test]
fn missing_and_partial_headers_on_a_notification() {
    let v = verifier();
    let full = || {
        let mut h = HeaderMap::new();
        h.insert("client-id", CLIENT_ID.parse().unwrap());
        h.insert("request-time", TIME.parse().unwrap());
        h.insert("signature", EXPECTED_HEADER.parse().unwrap());
        h
    };
    assert_eq!(
        verify_notification(&v, CLIENT_ID, PATH, &full(), BODY),
        Ok(())
    );
    for (present, missing) in [("signature", "request-time"), ("request-time", "signature")] {
        let mut partial = full();
        partial.remove(missing);
        assert_eq!(
            verify_notification(&v, CLIENT_ID, PATH, &partial, BODY),
            Err(NotificationError::Signature(SignatureError::Partial {
                present,
                missing
            }))
        );
    }
    let mut neither = full();
    neither.remove("signature");
    neither.remove("request-time");
    assert_eq!(
        verify_notification(&v, CLIENT_ID, PATH, &neither, BODY),
        Err(NotificationError::Signature(SignatureError::Missing))
    );
}
