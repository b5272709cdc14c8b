//! What operators and tools see: health, server reflection (v1 and v1alpha, so grpcurl works), the binary's
//! default start-up, configuration errors, `migrate` and the stand-alone `sandbox`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tokio_stream::StreamExt as _;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn channel(gateway: &GatewayProcess) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(gateway.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_serving_and_reflection_lists_the_services() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;

        let mut health = HealthClient::new(channel(&gateway).await);
        for service in [
            "",
            "alipay.gateway.v1.PaymentService",
            "alipay.gateway.v1.AuthorizationService",
        ] {
            let answer = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .expect("health check")
                .into_inner();
            assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
        }
        // CardService serves (issue 10), so health says so.
        let card = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "alipay.gateway.v1.CardService".into(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(card.status(), ServingStatus::Serving);

        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(channel(&gateway).await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection")
            .into_inner();
        let answer = answers.next().await.expect("one answer").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
            panic!("unexpected reflection answer {answer:?}");
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        for expected in [
            "alipay.gateway.v1.AuthorizationService",
            "alipay.gateway.v1.PaymentService",
            "alipay.gateway.v1.CardService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }

        // grpcurl speaks only v1alpha: it must answer too, and resolve the error-details types.
        use tonic_reflection::pb::v1alpha as alpha;
        let mut reflection =
            alpha::server_reflection_client::ServerReflectionClient::new(channel(&gateway).await);
        let request = alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "google.rpc.BadRequest".into(),
                ),
            ),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection")
            .into_inner();
        let answer = answers.next().await.expect("one answer").expect("ok");
        assert!(
            matches!(
                answer.message_response,
                Some(alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
            ),
            "{answer:?}"
        );

        let status = gateway.terminate();
        assert!(status.success());
        sandbox.shutdown().await;
    })
    .await;
}

#[test]
fn serve_with_no_configuration_runs_on_the_development_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr, log) = spawn_default_serve(dir.path(), &[]);
    assert!(addr.ip().is_loopback());
    assert!(
        dir.path().join("data/gateway.db").exists(),
        "SQLite store created in ./data"
    );
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "clean exit on SIGTERM; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log.contains("gRPC listening on"), "{log}");
    assert!(log.contains("development mode"), "{log}");
}

#[test]
fn configuration_errors_stop_start_up_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
        .current_dir(dir.path())
        .env_clear()
        .args([
            "serve",
            "--upstream",
            "https://open-na-global.alipay.com",
            "--client-id",
            "C1",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("merchant_private_key_file"), "{stderr}");

    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ninquiry_intervall = \"1s\"\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
        .current_dir(dir.path())
        .env_clear()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("inquiry_intervall"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// The process environment is layered between the flags and the file: the error names the source that won.
#[test]
fn a_bad_value_is_reported_from_the_source_that_won() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, "health_probe_interval = \"0s\"\n").expect("write");
    let failure = |flags: &[&str], env: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
            .current_dir(dir.path())
            .env_clear()
            .envs(env.iter().copied())
            .env("ALIPAY_GATEWAY_CONFIG", &config)
            .arg("serve")
            .args(flags)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let from_file = failure(&[], &[]);
    assert!(
        from_file.contains("invalid setting health_probe_interval: must be more than zero")
            && from_file.contains("gateway.toml"),
        "{from_file}"
    );
    let env = [("ALIPAY_GATEWAY_HEALTH_PROBE_INTERVAL", "soon")];
    let from_env = failure(&[], &env);
    assert!(
        from_env.contains("health_probe_interval")
            && from_env.contains("(from ALIPAY_GATEWAY_HEALTH_PROBE_INTERVAL)"),
        "{from_env}"
    );
    let from_flag = failure(&["--health-probe-interval", "never"], &env);
    assert!(
        from_flag.contains("health_probe_interval")
            && from_flag.contains("(from --health-probe-interval)"),
        "{from_flag}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_schema() {
    for_each_backend(|db| async move {
        let status = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
            .current_dir(db.dir.path())
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .arg("migrate")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run migrate");
        assert!(status.success());
        // The schema is there: the store answers queries on a store nobody else migrated.
        let store = db.store().await;
        assert!(
            store
                .payments()
                .get_by_request_id("nothing")
                .await
                .expect("schema exists")
                .is_none()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_alone_sandbox_serves_until_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("sandbox.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
        .current_dir(dir.path())
        .env_clear()
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn");
    let addr = read_listening_line(&mut child, "alipay-gateway sandbox listening on ", &log);
    let stats: serde_json::Value = reqwest::get(format!("http://{addr}/sandbox/stats"))
        .await
        .expect("GET stats")
        .json()
        .await
        .expect("JSON");
    assert!(stats.get("calls").is_some(), "{stats}");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(child.wait().expect("wait").success());
}

/// Health is not a one-time answer: when the database stops taking connections the gateway reports NOT_SERVING
/// (so traffic is routed elsewhere) and SERVING again once it is back. PostgreSQL only: it is the store that can
/// go away under a running gateway (SQLite is a file in the gateway's own data directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_store() {
    for_each_backend(|db| async move {
        if db.postgres_name().is_none() {
            return;
        }
        let (sandbox, gateway) = start_default(&db).await;
        let mut health = HealthClient::new(channel(&gateway).await);
        let status = |mut health: HealthClient<tonic::transport::Channel>| async move {
            let answer = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: "alipay.gateway.v1.PaymentService".into(),
                })
                .await
                .expect("health check");
            answer.into_inner().status()
        };
        assert_eq!(status(health.clone()).await, ServingStatus::Serving);

        // Take the database away: refuse new connections and end the gateway's current ones.
        let gone = DatabaseGone::begin(&db).await.expect("PostgreSQL");
        eventually(
            "NOT_SERVING while the store is gone",
            Duration::from_secs(20),
            || {
                let health = health.clone();
                async move { (status(health).await == ServingStatus::NotServing).then_some(()) }
            },
        )
        .await;
        // Liveness does not follow the store: a restart would not bring the database back.
        let liveness = HealthClient::new(channel(&gateway).await)
            .check(tonic_health::pb::HealthCheckRequest {
                service: alipay_gateway::server::LIVENESS_SERVICE.into(),
            })
            .await
            .expect("liveness check")
            .into_inner()
            .status();
        assert_eq!(liveness, ServingStatus::Serving);

        gone.restore().await;
        eventually(
            "SERVING once the store is back",
            Duration::from_secs(20),
            || {
                let health = health.clone();
                async move { (status(health).await == ServingStatus::Serving).then_some(()) }
            },
        )
        .await;
        health = HealthClient::new(channel(&gateway).await);
        assert_eq!(status(health).await, ServingStatus::Serving);
        let log = gateway.log();
        assert!(log.contains("health is NOT_SERVING"), "{log}");
        sandbox.shutdown().await;
    })
    .await;
}

/// SIGTERM while a pay call is waiting on Alipay: the call still gets its real answer (SUCCESS, recorded), new
/// connections are refused, and the process exits 0 once the call is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_pay_finish() {
    for_each_backend(|db| async move {
        // 94001 holds the first answer for this long: the shutdown must wait for it.
        let sandbox = start_sandbox(Duration::from_secs(2)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &GatewayOptions::default());
        let binding = bind_wallet(&gateway, "customer-shutdown").await;
        let id = request_id("shutdown");
        let mut client = gateway.payments().await;
        let request = agreement_pay(&id, &binding.binding_id, 94001);
        let in_flight = tokio::spawn(async move { client.pay(request).await });
        eventually(
            "the pay call to reach the sandbox",
            Duration::from_secs(20),
            || {
                let charged = sandbox.stats().charges_for(&id) == 1;
                async move { charged.then_some(()) }
            },
        )
        .await;

        gateway.send_sigterm();
        let endpoint = gateway.endpoint();
        eventually("new connections refused", Duration::from_secs(20), || {
            let endpoint = endpoint.clone();
            async move {
                let refused = tonic::transport::Endpoint::from_shared(endpoint)
                    .expect("endpoint")
                    .connect()
                    .await
                    .is_err();
                refused.then_some(())
            }
        })
        .await;
        let paid = in_flight
            .await
            .expect("join")
            .unwrap_or_else(|s| panic!("the in-flight call must finish: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(paid.status, pb::PaymentStatus::Success as i32, "{paid:?}");

        let log = gateway.log();
        let status = gateway.wait();
        assert!(status.success(), "exit 0 after the drain\n{log}");
        let row = db
            .store()
            .await
            .payments()
            .get_by_request_id(&id)
            .await
            .expect("read")
            .expect("row");
        assert_eq!(
            row.status,
            store::PaymentStatus::Success,
            "recorded before exit"
        );
        assert_eq!(sandbox.stats().request_calls("payments/pay", &id), 1);
        sandbox.shutdown().await;
    })
    .await;
}
