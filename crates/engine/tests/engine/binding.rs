//! Bindings: token refresh before expiry, revoked bindings refused before Alipay, scope check of inquiryUserInfo.

use std::time::Duration;

use alipay::checked::{Scopes, Wallet};
use alipay::model::Scope;
use engine::{BindingStatus, EngineError, PaymentStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use store::entity::alipay_call;

use crate::harness::{
    Env, agreement_pay, checked, each_backend, eventually, fast_config, new_id, sandbox_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_refresh_themselves_before_expiry() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            token_refresh_margin: Duration::from_secs(2),
            ..fast_config()
        };
        let sandbox = sandbox_config().with_access_token_ttl(Duration::from_secs(3));
        let env = Env::with(&url, sandbox, config).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let first_expiry = binding.access_token_expires_at;
        let first_token = crate::harness::access_token(&env, &binding.id).await;
        let reconciler = Env::reconcile(&env.engine);
        let refreshed = eventually(Duration::from_secs(10), "a refreshed token", || async {
            let b = env.engine.get_binding(&binding.id).await.ok()?;
            (b.access_token_expires_at > first_expiry).then_some(b)
        })
        .await;
        reconciler.stop().await;
        assert_eq!(refreshed.status, BindingStatus::Active, "[{backend}]");
        assert_ne!(
            crate::harness::access_token(&env, &refreshed.id).await,
            first_token,
            "a new access token"
        );
        assert!(env.stats().endpoint_calls("authorizations/applyToken") >= 2);
        // The refreshed token works.
        let id = new_id("pay-refreshed");
        let paid = env
            .engine
            .pay(agreement_pay(&id, &binding.id, 1000))
            .await
            .expect("pay");
        assert_eq!(paid.payment.status, PaymentStatus::Success);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_bindings_are_refused_before_alipay_and_user_info_needs_its_scope() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        assert!(matches!(
            env.engine.inquire_user_info(&binding.id).await,
            Err(EngineError::IllegalState {
                reason: engine::reasons::SCOPE_NOT_GRANTED,
                ..
            })
        ));
        assert_eq!(
            env.stats().endpoint_calls("users/inquiryUserInfo"),
            0,
            "scope checked first"
        );
        let revoked = env
            .engine
            .revoke_binding(&binding.id)
            .await
            .expect("revoke");
        assert_eq!(revoked.status, BindingStatus::Revoked, "[{backend}]");
        match env
            .engine
            .pay(agreement_pay(&new_id("pay-rev"), &binding.id, 1000))
            .await
        {
            Err(EngineError::BindingInactive { status }) => assert_eq!(status, "REVOKED"),
            other => panic!("[{backend}] expected BindingInactive, got {other:?}"),
        }
        assert_eq!(
            env.stats().endpoint_calls("payments/pay"),
            0,
            "never reached Alipay"
        );

        let with_info = env.bind(vec![Scope::AgreementPay, Scope::UserInfo]).await;
        let info = env
            .engine
            .inquire_user_info(&with_info.id)
            .await
            .expect("user info");
        assert!(
            info.user_id.is_some() || info.user_login_id.is_some(),
            "[{backend}] {info:?}"
        );
    })
    .await;
}

/// An authCode is single-use (at Alipay and in the contract): a retried applyToken with the same code, whatever the
/// rest of its content, answers INVALID_CODE without a second Alipay call; the binding stays the one of the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_token_replays_the_binding_of_an_auth_code() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let scopes = vec![Scope::AgreementPay, Scope::UserInfo];
        let code = env.authorize(&scopes).await;
        let command = engine::ApplyTokenCommand {
            customer_id: checked("cust-7"),
            wallet: Wallet::Gcash,
            auth_code: checked(&code),
            scopes: Scopes::new(scopes.clone()).expect("scopes"),
            merchant_region: None,
        };
        let first = env
            .engine
            .apply_token(command.clone())
            .await
            .expect("apply");
        assert_eq!(first.customer_id, "cust-7");
        let other_customer = engine::ApplyTokenCommand {
            customer_id: checked("cust-8"),
            ..command.clone()
        };
        for again in [command, other_customer] {
            assert!(
                matches!(
                    env.engine.apply_token(again).await,
                    Err(EngineError::Declined { ref code, .. }) if code == "INVALID_CODE"
                ),
                "[{backend}]"
            );
        }
        assert_eq!(
            env.stats().endpoint_calls("authorizations/applyToken"),
            1,
            "[{backend}] one Alipay applyToken for one authCode"
        );
        let bindings = env
            .engine
            .list_bindings(Default::default(), Default::default())
            .await
            .expect("list");
        assert_eq!(bindings.items.len(), 1, "[{backend}] one binding");
    })
    .await;
}

/// A binding authorised for a merchant region keeps it, and every applyToken for it (the exchange and each
/// refresh) names that region; a malformed region never reaches Alipay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchant_region_of_a_binding_is_kept_and_repeated_on_refresh() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let scopes = vec![Scope::AgreementPay];
        let command = engine::ApplyTokenCommand {
            customer_id: checked("cust-region"),
            wallet: Wallet::Gcash,
            auth_code: checked(&env.authorize(&scopes).await),
            scopes: Scopes::new(scopes).expect("scopes"),
            merchant_region: Some(checked("SG")),
        };
        // A malformed region cannot be put in a command at all.
        assert!(alipay::checked::RegionCode::new("sgp").is_err());
        assert_eq!(env.stats().endpoint_calls("authorizations/applyToken"), 0);

        let binding = env.engine.apply_token(command).await.expect("apply");
        assert_eq!(
            binding.merchant_region.as_deref(),
            Some("SG"),
            "[{backend}]"
        );
        let before = crate::harness::access_token(&env, &binding.id).await;
        let refreshed = env
            .engine
            .refresh_binding(&binding.id)
            .await
            .expect("refresh");
        assert_eq!(refreshed.merchant_region.as_deref(), Some("SG"));
        assert_ne!(
            crate::harness::access_token(&env, &refreshed.id).await,
            before
        );

        // An auto debit without a region of its own is made in the binding's.
        let pay_id = new_id("pay-region");
        let paid = env
            .engine
            .pay(agreement_pay(&pay_id, &binding.id, 1000))
            .await
            .expect("pay");
        assert_eq!(
            paid.payment.merchant_region.as_deref(),
            Some("SG"),
            "[{backend}]"
        );
        let pay_call = env.call_log(&pay_id).await;
        let sent = pay_call[0].request_json.as_deref().unwrap_or_default();
        assert!(
            sent.contains("\"merchantRegion\":\"SG\""),
            "[{backend}] {sent}"
        );

        env.engine.flush_call_records().await;
        let sent: Vec<String> = alipay_call::Entity::find()
            .filter(alipay_call::Column::Endpoint.contains("applyToken"))
            .order_by_asc(alipay_call::Column::CreatedAt)
            .all(env.store.connection())
            .await
            .expect("calls")
            .into_iter()
            .filter_map(|c| c.request_json)
            .collect();
        assert_eq!(sent.len(), 2, "[{backend}] {sent:?}");
        assert!(sent[0].contains("AUTHORIZATION_CODE") && sent[1].contains("REFRESH_TOKEN"));
        for request in &sent {
            assert!(
                request.contains("\"merchantRegion\":\"SG\""),
                "[{backend}] {request}"
            );
        }
    })
    .await;
}

/// A Pay charges with the binding it keeps in memory only while the store still holds that version of it: after
/// another replica refreshed the binding (the sandbox then refuses the old access token) a Pay here charges with the
/// new tokens, and after it revoked the binding a Pay here is refused before Alipay and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_another_replica_changed_is_never_charged_as_remembered() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let other = env.replica(fast_config());
        let first = new_id("pay-kept");
        let paid = env
            .engine
            .pay(agreement_pay(&first, &binding.id, 1000))
            .await
            .expect("pay");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        let old_token = crate::harness::access_token(&env, &binding.id).await;

        other
            .refresh_binding(&binding.id)
            .await
            .expect("refresh on the other replica");
        assert_ne!(
            crate::harness::access_token(&env, &binding.id).await,
            old_token
        );
        let after_refresh = new_id("pay-refreshed");
        let paid = env
            .engine
            .pay(agreement_pay(&after_refresh, &binding.id, 1000))
            .await
            .expect("pay with the refreshed tokens");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(
            env.stats().request_calls("payments/pay", &after_refresh),
            1,
            "[{backend}] one call, accepted: the new token"
        );

        other
            .revoke_binding(&binding.id)
            .await
            .expect("revoke on the other replica");
        let after_revoke = new_id("pay-revoked");
        let refused = env
            .engine
            .pay(agreement_pay(&after_revoke, &binding.id, 1000))
            .await;
        assert!(
            matches!(refused, Err(EngineError::BindingInactive { .. })),
            "[{backend}] {refused:?}"
        );
        assert_eq!(
            env.stats().request_calls("payments/pay", &after_revoke),
            0,
            "[{backend}] never sent"
        );
        assert!(
            env.store
                .payments()
                .get_by_request_id(&after_revoke)
                .await
                .expect("read")
                .is_none(),
            "[{backend}] nothing written"
        );
    })
    .await;
}
