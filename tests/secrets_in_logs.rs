//! Credentials never reach the logs, even at `trace` level in JSON: a wallet flow (consult, authorization page,
//! applyToken, auto debit, in-store payment code, refund) runs against a gateway logging everything, and the log
//! is searched for every credential the flow used.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_is_logged_at_trace_level() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let options = GatewayOptions {
            extra_env: vec![
                ("ALIPAY_GATEWAY_LOG", "trace".to_owned()),
                ("ALIPAY_GATEWAY_LOG_FORMAT", "json".to_owned()),
            ],
            ..GatewayOptions::default()
        };
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let mut auth = gateway.auth().await;
        let state = request_id("state");
        let consult = auth
            .consult(consult_request(&state, &[pb::AuthScope::AgreementPay]))
            .await
            .expect("consult")
            .into_inner();
        let auth_code = follow_auth_page(&consult.auth_url, &state).await;
        let binding = auth
            .apply_token(pb::ApplyTokenRequest {
                auth_code: auth_code.clone(),
                wallet: pb::Wallet::Gcash as i32,
                customer_id: "cust-logs".into(),
                ..Default::default()
            })
            .await
            .expect("applyToken")
            .into_inner()
            .binding
            .expect("binding");
        let access_token = stored_access_token(&db, &binding.binding_id).await;

        let mut payments = gateway.payments().await;
        let id = request_id("logs");
        payments
            .pay(agreement_pay(&id, &binding.binding_id, 2000))
            .await
            .expect("auto debit");
        payments
            .refund(pb::RefundRequest {
                refund_request_id: request_id("logs-refund"),
                payment_request_id: id,
                refund_amount: php(500),
                ..Default::default()
            })
            .await
            .expect("refund");
        let payment_code = "281234567890123456";
        payments
            .pay(in_store_pay(&request_id("logs-store"), payment_code, 1000))
            .await
            .expect("in-store pay");

        let log = gateway.log();
        assert!(
            log.lines().count() > 100,
            "the gateway logged at trace level ({} lines)",
            log.lines().count()
        );
        let private_key = std::fs::read_to_string(MERCHANT_PRIVATE_KEY).expect("merchant key");
        let key_body: String = private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        for (what, secret) in [
            ("auth code", auth_code.as_str()),
            ("access token", access_token.as_str()),
            ("payment code", payment_code),
            ("token key", TOKEN_KEY),
            ("merchant private key", &key_body[..48]),
        ] {
            assert!(!secret.is_empty(), "{what}");
            assert!(!log.contains(secret), "the {what} is in the trace log");
        }
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}
