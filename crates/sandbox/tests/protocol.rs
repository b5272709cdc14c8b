//! The signed-HTTP protocol: request signature verification on raw bytes, header tolerance, protocol error
//! codes per endpoint family, absolute-form targets, and signed lower-case response headers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use common::*;
use rsa::pkcs8::DecodePrivateKey as _;
use sandbox::{SandboxConfig, dev};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn inquiry_body() -> String {
    json!({"paymentRequestId": "does-not-exist"}).to_string()
}

#[tokio::test]
async fn compact_and_pretty_bodies_verify_on_both_prefixes() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let value = json!({"paymentRequestId": "nope", "paymentId": null});
    let compact = serde_json::to_string(&value).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap() + "\n";
    for prefix in [PROD, SANDBOX_PREFIX] {
        for body in [&compact, &pretty] {
            let path = format!("{prefix}payments/inquiryPayment");
            // ORDER_NOT_EXIST proves the request got past signature verification.
            m.post_raw(&path, body).await.expect("F", "ORDER_NOT_EXIST");
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tampered_body_wrong_key_and_unknown_client_are_rejected_per_family() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let path = format!("{PROD}payments/inquiryPayment");
    let body = inquiry_body();

    // Signed one body, sent another.
    let time = now_ms();
    let header = signature_header(&m.key, "POST", &path, dev::CLIENT_ID, &time, &body);
    let answer = m
        .send(&path, &body, |h, b| {
            set_header(h, "request-time", &time);
            set_header(h, "signature", &header);
            *b = b.replace("does-not", "does_not");
        })
        .await
        .unwrap();
    answer.expect("F", "SIGNATURE_INVALID");
    assert_eq!(answer.status, 200);

    // Signed over another path (e.g. the sandbox prefix) but sent to the production path.
    let other = signature_header(
        &m.key,
        "POST",
        &format!("{SANDBOX_PREFIX}payments/inquiryPayment"),
        dev::CLIENT_ID,
        &time,
        &body,
    );
    m.send(&path, &body, |h, _| {
        set_header(h, "request-time", &time);
        set_header(h, "signature", &other);
    })
    .await
    .unwrap()
    .expect("F", "SIGNATURE_INVALID");

    // Signed with a key that is not the merchant's (the sandbox's own private key).
    let wrong = rsa::RsaPrivateKey::from_pkcs8_pem(dev::ALIPAY_PRIVATE_KEY_PEM).unwrap();
    let mut impostor = Merchant::new(&sandbox);
    impostor.key = wrong;
    impostor
        .post_raw(&path, &body)
        .await
        .expect("F", "SIGNATURE_INVALID");
    impostor
        .call("authorizations/revoke", &json!({"accessToken": "x"}))
        .await
        .expect("F", "INVALID_SIGNATURE");

    let mut stranger = Merchant::new(&sandbox);
    stranger.client_id = "SANDBOX_NOBODY".into();
    stranger
        .post_raw(&path, &body)
        .await
        .expect("F", "CLIENT_INVALID");
    stranger
        .call("users/inquiryUserInfo", &json!({"accessToken": "x"}))
        .await
        .expect("F", "UNKNOWN_CLIENT");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn missing_headers_are_rejected_with_the_right_codes() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let path = format!("{PROD}payments/inquiryPayment");
    let body = inquiry_body();
    let cases: [(&str, &str, &str); 3] = [
        ("client-id", "CLIENT_INVALID", "client-id"),
        ("signature", "SIGNATURE_INVALID", "signature"),
        ("request-time", "PARAM_ILLEGAL", "request-time"),
    ];
    for (header, code, mention) in cases {
        // Rebuild the request without the header.
        let time = now_ms();
        let sig = signature_header(&m.key, "POST", &path, dev::CLIENT_ID, &time, &body);
        let mut request = m
            .http
            .post(format!("{}{path}", m.base))
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in [
            ("client-id", dev::CLIENT_ID.to_owned()),
            ("request-time", time),
            ("signature", sig),
        ] {
            if name != header {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.unwrap();
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["result"]["resultStatus"], "F");
        assert_eq!(answer["result"]["resultCode"], code, "{answer}");
        assert!(
            answer["result"]["resultMessage"]
                .as_str()
                .unwrap()
                .contains(mention),
            "{answer}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn header_formats_are_tolerated() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let path = format!("{PROD}payments/inquiryPayment");
    let body = inquiry_body();

    // ISO-8601 request-time, raw base64 with spaces after commas, mixed-case header names, extra headers.
    let time = "2026-01-01T08:00:00+08:00";
    let b64 = sign_b64(
        &m.key,
        &format!("POST {path}\n{}.{time}.{body}", dev::CLIENT_ID),
    );
    let answer = m
        .send(&path, &body, |h, _| {
            set_header(h, "Request-Time", time);
            set_header(
                h,
                "Signature",
                &format!("algorithm=RSA256, keyVersion=1, signature={b64}"),
            );
            h.push(("agent-token".into(), String::new()));
            set_header(h, "SDK-VERSION", "test");
            set_header(h, "Content-Type", "application/json");
        })
        .await
        .unwrap();
    answer.expect("F", "ORDER_NOT_EXIST");

    // Not JSON at all.
    m.send(&path, &body, |h, _| {
        set_header(h, "content-type", "text/plain")
    })
    .await
    .unwrap()
    .expect("F", "MEDIA_TYPE_NOT_ACCEPTABLE");
    m.send(&path, &body, |h, _| {
        set_header(h, "content-type", "Application/JSON;charset=utf-8")
    })
    .await
    .unwrap()
    .expect("F", "ORDER_NOT_EXIST");
    // Garbage request-time.
    m.send(&path, &body, |h, _| {
        set_header(h, "request-time", "yesterday")
    })
    .await
    .unwrap()
    .expect("F", "PARAM_ILLEGAL");
    // Garbage signature value.
    m.send(&path, &body, |h, _| {
        set_header(
            h,
            "signature",
            "algorithm=RSA256,keyVersion=1,signature=%%%",
        )
    })
    .await
    .unwrap()
    .expect("F", "SIGNATURE_INVALID");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn routing_methods_and_malformed_bodies() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    m.post_raw(&format!("{PROD}payments/createPaymentSession"), "{}")
        .await
        .expect("F", "NO_INTERFACE_DEF");
    m.post_raw("/ams/api/v2/payments/pay", "{}")
        .await
        .expect("F", "NO_INTERFACE_DEF");

    let get = m
        .http
        .get(format!("{}{PROD}payments/pay", m.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body: serde_json::Value = get.json().await.unwrap();
    assert_eq!(body["result"]["resultCode"], "METHOD_NOT_SUPPORTED");

    let answer = m
        .post_raw(&format!("{PROD}payments/pay"), "{not json")
        .await;
    answer.expect("F", "PARAM_ILLEGAL");
    assert!(
        answer.body["result"]["resultMessage"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );
    m.post_raw(&format!("{PROD}payments/pay"), "[1,2]")
        .await
        .expect("F", "PARAM_ILLEGAL");

    let health = m
        .http
        .get(format!("{}/sandbox/health", m.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    sandbox.shutdown().await;
}

/// Reads a whole HTTP/1.1 response (the request asked for `Connection: close`).
async fn raw_exchange(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

#[tokio::test]
async fn absolute_form_target_routes_and_verifies_on_the_path_only() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let addr = sandbox.addr();
    let path = format!("{PROD}payments/inquiryPayment");
    let body = inquiry_body();
    let time = now_ms();
    let signature = signature_header(&m.key, "POST", &path, dev::CLIENT_ID, &time, &body);
    let request = format!(
        "POST http://{addr}{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=UTF-8\r\n\
         Client-Id: {}\r\nRequest-Time: {time}\r\nSignature: {signature}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        dev::CLIENT_ID,
        body.len()
    );
    let response = raw_exchange(addr, request.into_bytes()).await;
    let (head, raw_body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let header_names: Vec<&str> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, _)| n)
        .collect();
    for name in ["signature", "response-time", "client-id"] {
        assert!(
            header_names.contains(&name),
            "lower-case {name} missing in {header_names:?}"
        );
    }
    let value: serde_json::Value = serde_json::from_str(raw_body).unwrap();
    assert_eq!(
        value["result"]["resultCode"], "ORDER_NOT_EXIST",
        "{raw_body}"
    );

    // Verify the response signature from the raw bytes, over the path only.
    let mut headers = reqwest::header::HeaderMap::new();
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').unwrap();
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    assert_eq!(headers["client-id"], dev::CLIENT_ID);
    assert!(verify_response(
        &m.alipay,
        &path,
        dev::CLIENT_ID,
        &headers,
        raw_body
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn responses_are_signed_with_the_published_key_and_echo_the_client_id() {
    let sandbox = start(SandboxConfig::development()).await;
    assert_eq!(
        sandbox.alipay_public_key_pem().trim(),
        dev::ALIPAY_PUBLIC_KEY_PEM.trim()
    );
    let m = Merchant::new(&sandbox);
    let answer = m
        .post_raw(
            &format!("{SANDBOX_PREFIX}payments/inquiryPayment"),
            &inquiry_body(),
        )
        .await;
    answer.expect("F", "ORDER_NOT_EXIST");
    assert_eq!(answer.headers["client-id"], dev::CLIENT_ID);
    let time = answer.headers["response-time"].to_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    assert!(
        answer.headers["signature"]
            .to_str()
            .unwrap()
            .starts_with("algorithm=RSA256,keyVersion=1,signature=")
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn stats_count_calls_per_endpoint_and_request_id_also_over_http() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    for prefix in [PROD, SANDBOX_PREFIX] {
        m.post_raw(&format!("{prefix}payments/inquiryPayment"), &inquiry_body())
            .await;
    }
    let stats = sandbox.stats();
    assert_eq!(stats.endpoint_calls("payments/inquiryPayment"), 2);
    assert_eq!(
        stats.request_calls("payments/inquiryPayment", "does-not-exist"),
        2
    );
    assert_eq!(stats.endpoint_calls("payments/pay"), 0);
    let over_http: sandbox::Stats = m
        .http
        .get(format!("{}/sandbox/stats", m.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, stats);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn merchants_with_pkcs1_or_bare_keys_and_custom_signing_keys_work() {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    let public = rsa::RsaPublicKey::from(&merchant_key());
    let pkcs1 = public.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let config =
        SandboxConfig::new(dev::ALIPAY_PRIVATE_KEY_PEM).with_merchant("SANDBOX_PKCS1", pkcs1);
    let sandbox = start(config).await;
    let mut m = Merchant::new(&sandbox);
    m.client_id = "SANDBOX_PKCS1".into();
    m.post_raw(&format!("{PROD}payments/inquiryPayment"), &inquiry_body())
        .await
        .expect("F", "ORDER_NOT_EXIST");
    sandbox.shutdown().await;

    let bad = SandboxConfig::development().with_merchant("BROKEN", "not a key");
    let err = sandbox::Sandbox::start(bad, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BROKEN"), "{err}");
}
