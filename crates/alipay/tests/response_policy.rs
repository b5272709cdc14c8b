//! Client policy for answers the sandbox never gives on purpose (unsigned S, partial signature headers, odd header
//! case, non-200 statuses, undecodable bodies). A minimal loopback HTTP responder plays Alipay here, signing with
//! the throw-away vector key, so the policy is exercised over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use std::time::Duration;

use alipay::model::InquiryPaymentRequest;
use alipay::model::PayRequest;
use alipay::signing::Signer;
use alipay::{
    AlipayClient, CallError, ClientConfig, Outcome, PathPrefix, ResponseSignature, SignatureError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ALIPAY_PRIVATE: &str = include_str!("vectors/vector-private.TEST-ONLY.pem");
const ALIPAY_PUBLIC: &str = include_str!("vectors/vector-public.TEST-ONLY.pem");
const MERCHANT_PRIVATE: &str = include_str!("../../../keys/dev/merchant-private.TEST-ONLY.pem");
const CLIENT_ID: &str = "RESPONDER_CLIENT";
const INQUIRY_PATH: &str = "/ams/api/v1/payments/inquiryPayment";
const PAY_PATH: &str = "/ams/api/v1/payments/pay";

/// Serves exactly one HTTP exchange with the given status, extra headers and body; returns the base URL.
async fn respond_once(status: u16, headers: Vec<(String, String)>, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the request head and its Content-Length body so the client sees an orderly exchange.
        loop {
            let n = socket.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let mut response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    format!("http://{addr}")
}

fn client(base_url: String) -> AlipayClient {
    AlipayClient::new(
        ClientConfig::new(CLIENT_ID, MERCHANT_PRIVATE, ALIPAY_PUBLIC, base_url)
            .with_path_prefix(PathPrefix::Production)
            .with_request_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn signed_headers(path: &str, body: &str, names: (&str, &str)) -> Vec<(String, String)> {
    let time = "2024-01-01T00:00:00+00:00";
    let sig = Signer::from_text(ALIPAY_PRIVATE)
        .unwrap()
        .header_value(1, "POST", path, CLIENT_ID, time, body.as_bytes())
        .unwrap()
        .replace(',', ", ");
    vec![
        (names.0.to_owned(), sig),
        (names.1.to_owned(), time.to_owned()),
        ("client-id".to_owned(), CLIENT_ID.to_owned()),
    ]
}

fn result_json(status: &str, code: &str) -> String {
    format!(
        r#"{{"result":{{"resultCode":"{code}","resultStatus":"{status}","resultMessage":"m"}},"paymentStatus":"SUCCESS"}}"#
    )
}

/// Answers one inquiryPayment from the loopback responder with the given status, headers and body.
async fn inquiry_answered(
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
) -> Result<alipay::Reply<alipay::model::InquiryPaymentResponse>, CallError> {
    client(respond_once(status, headers, body).await)
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("p-1"))
        .await
}

/// Answers one inquiryPayment with `body`, signed for `path` under the header `names`.
async fn signed_inquiry_answer(
    path: &str,
    body: String,
    names: (&str, &str),
) -> Result<alipay::Reply<alipay::model::InquiryPaymentResponse>, CallError> {
    inquiry_answered(200, signed_headers(path, &body, names), body).await
}

fn pay_request() -> PayRequest {
    use alipay::model::*;
    let amount = Amount::new("PHP", 100);
    PayRequest::new(
        ProductCode::AgreementPayment,
        "p-1",
        amount.clone(),
        Order::new("o", "d", amount),
        PaymentMethod::with_id("GCASH", "tok"),
    )
}

#[tokio::test]
async fn signed_answer_with_mixed_case_headers_and_spaces_verifies() {
    let reply = signed_inquiry_answer(
        INQUIRY_PATH,
        result_json("S", "SUCCESS"),
        ("Signature", "Response-Time"),
    )
    .await
    .unwrap();
    assert_eq!(reply.signature, ResponseSignature::Verified);
    assert_eq!(reply.outcome, Outcome::Success);
}

#[tokio::test]
async fn answer_signed_for_another_path_is_rejected() {
    let err = signed_inquiry_answer(
        PAY_PATH,
        result_json("S", "SUCCESS"),
        ("signature", "response-time"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CallError::Signature(SignatureError::Invalid)),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn unsigned_success_is_rejected() {
    let err = inquiry_answered(200, vec![], result_json("S", "SUCCESS"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Signature(SignatureError::Missing)),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn unsigned_failure_is_accepted_as_an_unsigned_failure() {
    let reply = inquiry_answered(200, vec![], result_json("F", "INVALID_SIGNATURE"))
        .await
        .unwrap();
    assert_eq!(reply.signature, ResponseSignature::Unsigned);
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: alipay::ResultCode::InvalidSignature,
            ..
        }
    ));
}

#[tokio::test]
async fn unsigned_in_process_is_downgraded_to_unknown() {
    let base = respond_once(200, vec![], result_json("U", "PAYMENT_IN_PROCESS")).await;
    let reply = client(base).pay(&pay_request()).await.unwrap();
    assert_eq!(reply.signature, ResponseSignature::Unsigned);
    assert!(
        matches!(reply.outcome, Outcome::Unknown { .. }),
        "{:?}",
        reply.outcome
    );
}

#[tokio::test]
async fn partial_signature_headers_are_rejected() {
    let body = result_json("F", "PROCESS_FAIL");
    let mut only_signature = signed_headers(INQUIRY_PATH, &body, ("signature", "response-time"));
    only_signature.retain(|(n, _)| n != "response-time");
    let only_time = vec![("response-time".to_owned(), "1700000000000".to_owned())];
    for (headers, absent) in [(only_signature, "response-time"), (only_time, "signature")] {
        let err = inquiry_answered(200, headers, body.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Signature(SignatureError::Partial { missing, .. }) if missing == absent
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn http_errors_say_whether_alipay_may_have_acted() {
    for (status, body, outcome_unknown) in [(502, "bad gateway", true), (404, "nope", false)] {
        let err = inquiry_answered(status, vec![], body.into())
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Http { status: s } if s == status),
            "{err:?}"
        );
        assert_eq!(err.outcome_unknown(), outcome_unknown, "HTTP {status}");
    }
}

#[tokio::test]
async fn signed_but_undecodable_body_is_a_decode_error_with_unknown_outcome() {
    let err = signed_inquiry_answer(
        INQUIRY_PATH,
        r#"{"result":"not an object"}"#.to_owned(),
        ("signature", "response-time"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CallError::Decode(_)), "{err:?}");
    assert!(err.outcome_unknown());
}
