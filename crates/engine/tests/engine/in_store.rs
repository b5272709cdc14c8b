//! In-store payments with a user-presented payment code: success, the code rule enforced before Alipay, and an
//! in-process answer resolved by the reconciler at the inquiry interval.

use std::time::Duration;

use engine::PaymentStatus;

use crate::harness::{
    Env, each_backend, fast_config, in_store_pay, new_id, sandbox_config, settled,
};

const CODE: &str = "2812345678901234";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_payment_code_pays_and_an_invalid_one_never_reaches_alipay() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let id = new_id("pay-store");
        let paid = env
            .engine
            .pay(in_store_pay(&id, CODE, 1000))
            .await
            .expect("pay");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(
            paid.payment.product_code,
            engine::ProductCode::InStorePayment
        );
        assert!(paid.payment.alipay_payment_id.is_some());
        assert_eq!(env.stats().charges_for(&id), 1);

        // A code outside the rule cannot be put in a command at all.
        for bad in ["2412345678901234", "281234567890123", "28123456789012a4"] {
            let refused = alipay::checked::PaymentCode::new(bad).expect_err("refused");
            assert!(
                !refused.description().contains(bad),
                "the code is never echoed"
            );
        }
        assert_eq!(
            env.stats().endpoint_calls("payments/pay"),
            1,
            "[{backend}] bad codes never reach Alipay"
        );
        assert!(
            env.engine
                .list_payments(Default::default(), Default::default())
                .await
                .expect("list")
                .items
                .len()
                == 1,
            "and nothing is recorded for them"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_in_store_payment_is_resolved_at_the_inquiry_interval() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            write_ahead_grace: Duration::from_secs(30),
            ..fast_config()
        };
        let env = Env::with(&url, sandbox_config(), config).await;
        let id = new_id("pay-store-u");
        let accepted = env
            .engine
            .pay(in_store_pay(&id, CODE, 93004))
            .await
            .expect("accepted");
        assert_eq!(
            accepted.payment.status,
            PaymentStatus::Processing,
            "[{backend}]"
        );
        let reconciler = Env::reconcile(&env.engine);
        // Far less than the 30 s write-ahead grace: the first inquiry follows the inquiry interval.
        let done = settled(&env, &id, Duration::from_secs(5)).await;
        reconciler.stop().await;
        assert_eq!(done.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(
            env.stats().request_calls("payments/inquiryPayment", &id),
            5,
            "[{backend}] 4 PROCESSING + SUCCESS"
        );
        assert_eq!(env.stats().charges_for(&id), 1);
    })
    .await;
}
