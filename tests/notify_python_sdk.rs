//! A second implementation signs: a notifyPayment signed by Alipay's official Python SDK (global-alipay-sdk-python,
//! over a pretty-printed body) is accepted by the gateway's listener and settles the payment. The interpreter comes
//! from `ALIPAY_GATEWAY_PYTHON` (a venv from tests/python/requirements.txt); without it the test is skipped locally
//! and fails under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::process::Command;
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_signed_by_the_official_python_sdk_is_accepted() {
    let Some(python) = python_interpreter("Python SDK check") else {
        return;
    };
    for_each_backend(|db| {
        let python = python.clone();
        async move {
            let sandbox = start_sandbox(Duration::from_secs(10)).await;
            let options = GatewayOptions {
                inquiry_interval: "10m",
                ..GatewayOptions::default()
            };
            let gateway = GatewayProcess::start(&db, &sandbox, &options);
            let id = request_id("sdk");
            processing_payment(&gateway, &id).await;

            let root = env!("CARGO_MANIFEST_DIR");
            let payment_request_id = id.clone();
            let output = tokio::task::spawn_blocking(move || {
                Command::new(&python)
                    .arg(format!("{root}/tests/python/sign_notification.py"))
                    .arg(format!(
                        "{root}/keys/dev/alipay-sandbox-private.TEST-ONLY.pem"
                    ))
                    .arg(sandbox::dev::CLIENT_ID)
                    .arg("/alipay/notify")
                    .arg(payment_request_id)
                    .output()
                    .expect("run the SDK signer")
            })
            .await
            .expect("join");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let signed: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("signer output");
            let field = |name: &str| signed[name].as_str().expect("field").to_owned();
            let body = field("body");
            assert!(body.contains("\n   \""), "the SDK's body is pretty-printed");
            let response = reqwest::Client::new()
                .post(format!(
                    "http://{}/alipay/notify",
                    gateway.notify_addr.expect("listener")
                ))
                .header("content-type", "application/json")
                .header("client-id", field("client-id"))
                .header("request-time", field("request-time"))
                .header("signature", field("signature"))
                .body(body)
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status().as_u16(), 200, "{}", gateway.log());
            assert_eq!(
                get_payment(&gateway, &id).await.status,
                pb::PaymentStatus::Success as i32
            );
            drop(gateway);
            sandbox.shutdown().await;
        }
    })
    .await;
}
