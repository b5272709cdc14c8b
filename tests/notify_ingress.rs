//! The notification ingress end to end: notifications signed as Alipay signs them (the sandbox's development key
//! plays Alipay) posted over real HTTP to the real binary's listener, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use sea_orm::{ConnectionTrait, EntityTrait};
use store::entity::notification;

const VECTOR_BODY: &[u8] = include_bytes!("vectors/notify/body.json");
const VECTOR_HEADERS: &str = include_str!("vectors/notify/headers.txt");
const ACK: &str =
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;
const PATH: &str = "/alipay/notify";

/// Options that keep the reconciler from inquiring during a test: only notifications move payments here.
fn quiet() -> GatewayOptions {
    GatewayOptions {
        inquiry_interval: "10m",
        extra_env: vec![(
            "ALIPAY_GATEWAY_BUYER_INQUIRY_MAX_INTERVAL",
            "10m".to_owned(),
        )],
        ..GatewayOptions::default()
    }
}

/// Headers of a notification signed now by the sandbox's Alipay key over `path`.
fn signed(body: &[u8], path: &str, client_id: &str) -> Vec<(&'static str, String)> {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let signer = alipay::Signer::from_text(sandbox::dev::ALIPAY_PRIVATE_KEY_PEM).expect("key");
    let signature = signer
        .header_value(1, "POST", path, client_id, &time, body)
        .expect("sign");
    vec![
        ("client-id", client_id.to_owned()),
        ("request-time", time),
        ("signature", signature),
    ]
}

fn alipay_signed(body: &[u8]) -> Vec<(&'static str, String)> {
    signed(body, PATH, sandbox::dev::CLIENT_ID)
}

/// POSTs a notification to the gateway's listener; returns the status and body.
async fn post(
    gateway: &GatewayProcess,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> (u16, String) {
    let addr = gateway.notify_addr.expect("notify listener");
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}{PATH}"))
        .header("content-type", "application/json; charset=UTF-8")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("POST notification");
    let status = response.status().as_u16();
    (status, response.text().await.expect("answer body"))
}

fn payment_result(payment_request_id: &str, status: &str, notify_type: &str) -> Vec<u8> {
    let code = if status == "S" {
        "SUCCESS"
    } else {
        "USER_BALANCE_NOT_ENOUGH"
    };
    serde_json::json!({
        "notifyType": notify_type,
        "result": {"resultCode": code, "resultStatus": status, "resultMessage": "m"},
        "paymentRequestId": payment_request_id,
        "paymentId": format!("alipay-{payment_request_id}"),
        "paymentAmount": {"value": "1000", "currency": "PHP"},
        "paymentCreateTime": "2026-11-30T10:00:00+08:00",
        "paymentTime": "2026-11-30T10:01:00+08:00",
        "cardInfo": {"cardToken": format!("CARDTOKEN-{payment_request_id}")}
    })
    .to_string()
    .into_bytes()
}

async fn notifications(db: &TestDb) -> Vec<notification::Model> {
    let store = db.store().await;
    notification::Entity::find()
        .all(store.connection())
        .await
        .expect("list notifications")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_limits_and_unknown_kinds() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &quiet());

        // The committed vector (signed once by OpenSSL) verifies: stored and acknowledged; its 2019 request-time
        // is outside notify_max_age, so it is held (flagged), not applied.
        let vector_headers: Vec<(&'static str, String)> = VECTOR_HEADERS
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| match k {
                "client-id" => ("client-id", v.to_owned()),
                "request-time" => ("request-time", v.to_owned()),
                _ => ("signature", v.to_owned()),
            })
            .collect();
        assert_eq!(post(&gateway, &vector_headers, VECTOR_BODY).await, (200, ACK.to_owned()));
        let stored = notifications(&db).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].flag.as_deref(), Some("OUT_OF_WINDOW"));
        assert!(stored[0].raw_body.starts_with("v1:"), "the body is sealed at rest");

        // Tampering: each gets 401 with an F body and changes nothing.
        let mut flipped = VECTOR_BODY.to_vec();
        flipped[20] ^= 1;
        let fresh = payment_result("tamper-1", "S", "PAYMENT_RESULT");
        let mut partial = alipay_signed(&fresh);
        partial.retain(|(k, _)| *k != "signature");
        let mut other_version = alipay_signed(&fresh);
        other_version[2].1 = other_version[2].1.replace("keyVersion=1", "keyVersion=7");
        let rejected = [
            (vector_headers.clone(), flipped),
            (signed(&fresh, "/proxy/alipay/notify", sandbox::dev::CLIENT_ID), fresh.clone()),
            (signed(&fresh, PATH, "SOMEONE_ELSE"), fresh.clone()),
            (partial, fresh.clone()),
            (other_version, fresh.clone()),
        ];
        for (headers, body) in rejected {
            let (status, answer) = post(&gateway, &headers, &body).await;
            assert_eq!(status, 401, "{answer}");
            assert!(answer.contains(r#""resultStatus":"F""#), "{answer}");
        }
        assert_eq!(notifications(&db).await.len(), 1, "nothing stored for rejected ones");

        // A rejected notification naming a recorded payment makes the gateway ask Alipay (rate-limited), so a real
        // one that failed verification for a configuration reason is not lost.
        let known = request_id("rejected");
        processing_payment(&gateway, &known).await;
        let claim = payment_result(&known, "S", "PAYMENT_RESULT");
        let forged = signed(&claim, PATH, "SOMEONE_ELSE");
        assert_eq!(post(&gateway, &forged, &claim).await.0, 401);
        eventually("an inquiry of the named payment", Duration::from_secs(10), || {
            let n = sandbox.stats().request_calls("payments/inquiryPayment", &known);
            async move { (n >= 1).then_some(()) }
        })
        .await;
        assert_eq!(
            get_payment(&gateway, &known).await.status,
            pb::PaymentStatus::Processing as i32,
            "the forged result itself changed nothing"
        );

        // Limits: GET 405, not JSON 415, over 64 KiB 413.
        let url = format!("http://{}{PATH}", gateway.notify_addr.expect("listener"));
        let http = reqwest::Client::new();
        assert_eq!(http.get(&url).send().await.expect("GET").status().as_u16(), 405);
        let text = http
            .post(&url)
            .header("content-type", "text/plain")
            .body(fresh.clone())
            .send()
            .await
            .expect("POST text");
        assert_eq!(text.status().as_u16(), 415);
        let big = vec![b' '; 64 * 1024 + 1];
        assert_eq!(post(&gateway, &alipay_signed(&big), &big).await.0, 413);

        // Unknown kinds are stored and acknowledged, never an error; so is a redelivery of one.
        let dispute = br#"{"disputeNotificationType":"DISPUTE_CREATED","notifyType":"DISPUTE","disputeId":"d-1"}"#;
        for _ in 0..2 {
            assert_eq!(post(&gateway, &alipay_signed(dispute), dispute).await, (200, ACK.to_owned()));
        }
        let stored = notifications(&db).await;
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().any(|n| n.notify_type == "OTHER"));
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_deliveries_to_two_gateways_apply_once_and_contradictions_inquire() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let first = GatewayProcess::start(&db, &sandbox, &quiet());
        let second = GatewayProcess::start(&db, &sandbox, &quiet());
        let id = request_id("notified");
        processing_payment(&first, &id).await;

        // PAYMENT_PENDING with S is never final.
        let pending = payment_result(&id, "S", "PAYMENT_PENDING");
        assert_eq!(
            post(&first, &alipay_signed(&pending), &pending).await.0,
            200
        );
        assert_eq!(
            get_payment(&first, &id).await.status,
            pb::PaymentStatus::Processing as i32
        );

        let events_of = |id: String| {
            let db = &db;
            async move {
                use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
                let store = db.store().await;
                store::entity::payment_event::Entity::find()
                    .filter(store::entity::payment_event::Column::PaymentRequestId.eq(id))
                    .count(store.connection())
                    .await
                    .expect("count events")
            }
        };
        let events_before = events_of(id.clone()).await;

        // The same notification 20 times: 10 at once across both gateways, then 10 one after another.
        let body = payment_result(&id, "S", "PAYMENT_RESULT");
        let headers = alipay_signed(&body);
        let concurrent = (0..10).map(|i| {
            let gateway = if i % 2 == 0 { &first } else { &second };
            post(gateway, &headers, &body)
        });
        let mut answers = futures::future::join_all(concurrent).await;
        for i in 0..10 {
            answers.push(post(if i % 2 == 0 { &second } else { &first }, &headers, &body).await);
        }
        assert_eq!(answers.len(), 20);
        assert!(
            answers.iter().all(|a| *a == (200, ACK.to_owned())),
            "{answers:?}"
        );
        let paid = get_payment(&first, &id).await;
        assert_eq!(paid.status, pb::PaymentStatus::Success as i32);
        assert_eq!(paid.payment_id, format!("alipay-{id}"));
        let store = db.store().await;
        let payment = store
            .payments()
            .get_by_request_id(&id)
            .await
            .expect("read")
            .expect("payment");
        let history = store
            .audit()
            .list_for(store::EntityKind::Payment, &payment.id)
            .await
            .expect("audit");
        let to_success: Vec<_> = history
            .iter()
            .filter(|c| c.to_status == "SUCCESS")
            .collect();
        assert_eq!(to_success.len(), 1, "{history:?}");
        assert_eq!(to_success[0].source, "notification");
        assert_eq!(
            events_of(id.clone()).await,
            events_before + 1,
            "one event for the one transition"
        );
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id),
            0,
            "settled by the notification alone"
        );

        // A contradicting one (F for a SUCCESS payment) is stored, flagged, acknowledged, and inquired.
        let failed = payment_result(&id, "F", "PAYMENT_RESULT");
        assert_eq!(
            post(&second, &alipay_signed(&failed), &failed).await,
            (200, ACK.to_owned())
        );
        assert_eq!(
            get_payment(&first, &id).await.status,
            pb::PaymentStatus::Success as i32
        );
        let flagged = notifications(&db).await;
        assert_eq!(
            flagged
                .iter()
                .filter(|n| n.flag.as_deref() == Some("CONTRADICTS_FINAL"))
                .count(),
            1
        );
        eventually(
            "an inquiry after the contradiction",
            Duration::from_secs(10),
            || {
                let n = sandbox
                    .stats()
                    .request_calls("payments/inquiryPayment", &id);
                async move { (n >= 1).then_some(()) }
            },
        )
        .await;
        drop((first, second));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_notification_is_applied_when_the_payment_appears() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &quiet());
        let id = request_id("early");
        let body = payment_result(&id, "S", "PAYMENT_RESULT");
        assert_eq!(
            post(&gateway, &alipay_signed(&body), &body).await,
            (200, ACK.to_owned())
        );
        let stored = notifications(&db).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].state, notification::NotificationState::Received);
        assert_eq!(
            stored[0].subject.as_deref(),
            Some(format!("PAY:{id}").as_str())
        );

        gateway
            .payments()
            .await
            .pay(cashier_pay(&id, 1000))
            .await
            .expect("pay");
        wait_for_status(
            &gateway,
            &id,
            pb::PaymentStatus::Success,
            Duration::from_secs(10),
        )
        .await;
        let stored = notifications(&db).await;
        assert_eq!(stored[0].state, notification::NotificationState::Processed);
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_is_never_acknowledged_and_a_redelivery_applies() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &quiet());
        let id = request_id("outage");
        processing_payment(&gateway, &id).await;
        let body = payment_result(&id, "S", "PAYMENT_RESULT");
        let headers = alipay_signed(&body);

        let outage = StoreOutage::begin(&db).await;
        let (status, answer) = post(&gateway, &headers, &body).await;
        assert_eq!(
            status, 503,
            "no acknowledgement while the store cannot commit: {answer}"
        );
        assert!(answer.contains("PROCESS_FAIL"), "{answer}");
        outage.end().await;

        // Alipay redelivers: acknowledged only now, after the commit.
        assert_eq!(post(&gateway, &headers, &body).await, (200, ACK.to_owned()));
        assert_eq!(
            get_payment(&gateway, &id).await.status,
            pb::PaymentStatus::Success as i32
        );
        assert_eq!(notifications(&db).await.len(), 1);
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id),
            0
        );
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

/// Every table of the test database as text (PostgreSQL), or the bytes of every file beside the SQLite store.
async fn database_dump(db: &TestDb) -> Vec<u8> {
    if db.backend == "sqlite" {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(db.dir.path()).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().contains("gateway.db") {
                all.extend(std::fs::read(&path).expect("read db file"));
            }
        }
        return all;
    }
    let store = db.store().await;
    let conn = store.connection();
    let backend = conn.get_database_backend();
    let tables = conn
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await
        .expect("tables");
    let mut all = Vec::new();
    for row in tables {
        let table: String = row.try_get("", "table_name").expect("name");
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT t::text AS line FROM \"{table}\" t"),
            ))
            .await
            .expect("dump table");
        for row in rows {
            let line: String = row.try_get("", "line").expect("line");
            all.extend(line.into_bytes());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_canceled_revokes_the_binding_and_no_credential_is_kept() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &quiet());
        let binding = bind_wallet(&gateway, "customer-notified").await;
        let access_token = stored_access_token(&db, &binding.binding_id).await;

        let canceled = serde_json::json!({
            "authorizationNotifyType": "TOKEN_CANCELED",
            "accessToken": access_token,
            "reason": "the user unbound the wallet"
        })
        .to_string();
        assert_eq!(
            post(
                &gateway,
                &alipay_signed(canceled.as_bytes()),
                canceled.as_bytes()
            )
            .await,
            (200, ACK.to_owned())
        );
        let revoked = gateway
            .auth()
            .await
            .get_binding(pb::GetBindingRequest {
                binding_id: binding.binding_id.clone(),
            })
            .await
            .expect("get binding")
            .into_inner()
            .binding
            .expect("binding");
        assert_eq!(revoked.status, pb::BindingStatus::Revoked as i32);
        let refused = gateway
            .payments()
            .await
            .pay(agreement_pay(
                &request_id("after-cancel"),
                &binding.binding_id,
                1000,
            ))
            .await
            .expect_err("a revoked binding cannot pay");
        assert_eq!(error_info(&refused).0, "BINDING_NOT_ACTIVE");

        // An authCode and a cardToken arrive too; none of the credentials is kept anywhere in clear.
        let auth_code = format!("AUTHCODE-{}", uuid::Uuid::new_v4().simple());
        let created = serde_json::json!({
            "authorizationNotifyType": "AUTHCODE_CREATED",
            "authCode": auth_code,
            "authState": "state-x"
        })
        .to_string();
        assert_eq!(
            post(
                &gateway,
                &alipay_signed(created.as_bytes()),
                created.as_bytes()
            )
            .await
            .0,
            200
        );
        let card_payment = request_id("card");
        let card = payment_result(&card_payment, "S", "PAYMENT_RESULT");
        assert_eq!(post(&gateway, &alipay_signed(&card), &card).await.0, 200);

        let log = gateway.log();
        let dump = database_dump(&db).await;
        for secret in [
            access_token.as_str(),
            auth_code.as_str(),
            &format!("CARDTOKEN-{card_payment}"),
        ] {
            assert!(!log.contains(secret), "a credential is in the log");
            assert!(!contains(&dump, secret), "a credential is in the database");
        }
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_path_is_sent_and_verified_not_the_forwarded_one() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let mut options = quiet();
        options.extra_env.push((
            "ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL",
            "https://gw.example/hooks".to_owned(),
        ));
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let id = request_id("public");
        processing_payment(&gateway, &id).await;
        let store = db.store().await;
        // The call log is written by a background recorder, just after the answer.
        let pay = eventually("the pay call recorded", Duration::from_secs(10), || {
            let (store, id) = (store.clone(), id.clone());
            async move {
                store::entity::alipay_call::Entity::find()
                    .all(store.connection())
                    .await
                    .ok()?
                    .into_iter()
                    .find(|c| c.request_id.as_deref() == Some(id.as_str()))
                    .and_then(|c| c.request_json)
            }
        })
        .await;
        assert!(
            pay.contains(r#""paymentNotifyUrl":"https://gw.example/hooks/alipay/notify""#),
            "{pay}"
        );

        // A proxy forwards https://gw.example/hooks/alipay/notify to the listener's /alipay/notify.
        let body = payment_result(&id, "S", "PAYMENT_RESULT");
        let forwarded = alipay_signed(&body);
        assert_eq!(post(&gateway, &forwarded, &body).await.0, 401);
        let public = signed(&body, "/hooks/alipay/notify", sandbox::dev::CLIENT_ID);
        let answer = post(&gateway, &public, &body).await;
        assert_eq!(answer, (200, ACK.to_owned()), "{}", gateway.log());
        assert_eq!(
            get_payment(&gateway, &id).await.status,
            pb::PaymentStatus::Success as i32
        );
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_payment_settles_by_the_sandboxs_notification() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        // The listener's public URL is its own address here, so the sandbox delivers straight to it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut options = quiet();
        options
            .extra_env
            .push(("ALIPAY_GATEWAY_NOTIFY_LISTEN", format!("127.0.0.1:{port}")));
        options.extra_env.push((
            "ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL",
            format!("http://127.0.0.1:{port}"),
        ));
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let id = request_id("cashier");
        let answer = gateway
            .payments()
            .await
            .pay(cashier_pay(&id, 1000))
            .await
            .expect("pay")
            .into_inner()
            .payment
            .expect("payment");
        let Some(pb::NextAction {
            action: Some(pb::next_action::Action::Redirect(redirect)),
        }) = answer.next_action
        else {
            panic!("a cashier payment carries a redirect: {answer:?}");
        };
        // The buyer pays on the sandbox's cashier page.
        let page = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
            .post(&redirect.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("action=pay")
            .send()
            .await
            .expect("POST the cashier page");
        assert!(page.status().is_success() || page.status() == 303);
        wait_for_status(
            &gateway,
            &id,
            pb::PaymentStatus::Success,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id),
            0,
            "settled by the notification, not by an inquiry"
        );
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}
