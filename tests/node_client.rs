//! The cross-language checks with a Node client, `tests/node/client.js`, built with the recipe of docs/clients.md
//! (@grpc/grpc-js and @grpc/proto-loader reading `proto/` at run time, google-proto-files for the `google.rpc`
//! details): it streams `StreamPaymentEvents`, disconnects, resumes from its cursor missing nothing, gets
//! OUT_OF_RANGE for a cursor past retention, and decodes the BadRequest and ErrorInfo details of failed Pays. The
//! packages come from the `node_modules` directory named by `ALIPAY_GATEWAY_NODE_MODULES` (scripts/test installs
//! them); without it the test is skipped locally and fails under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::process::{Command, Output};

use common::*;

fn node_modules() -> Option<String> {
    match std::env::var("ALIPAY_GATEWAY_NODE_MODULES") {
        Ok(dir) if !dir.is_empty() => Some(dir),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but ALIPAY_GATEWAY_NODE_MODULES is not: point it at a node_modules directory with \
                 @grpc/grpc-js, @grpc/proto-loader and google-proto-files"
            )
        }
        _ => {
            eprintln!("ALIPAY_GATEWAY_NODE_MODULES is unset: skipping the Node client check");
            None
        }
    }
}

async fn run_node(modules: &str, args: Vec<String>) -> Output {
    let root = env!("CARGO_MANIFEST_DIR");
    let modules = modules.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{root}/tests/node/client.js"))
            .args(args)
            .env("NODE_PATH", modules)
            .output()
            .expect("run node")
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_grpc_client_resumes_the_event_stream_and_decodes_error_details() {
    let Some(modules) = node_modules() else {
        return;
    };
    for_each_backend(|db| {
        let modules = modules.clone();
        async move {
            let (sandbox, gateway) = start_default(&db).await;
            let binding = bind_wallet(&gateway, "customer-node").await;
            let addr = gateway.addr.to_string();
            let proto = format!("{}/proto", env!("CARGO_MANIFEST_DIR"));
            let check = |output: &Output, marker: &str| {
                let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                assert!(
                    output.status.success() && stdout.contains(marker),
                    "node client failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
                    String::from_utf8_lossy(&output.stderr),
                    gateway.log()
                );
                stdout
            };
            let resumed = run_node(
                &modules,
                vec![
                    "resume".into(),
                    addr.clone(),
                    proto.clone(),
                    binding.binding_id.clone(),
                ],
            )
            .await;
            let stdout = check(&resumed, "node events: OK");
            let first_cursor = stdout
                .split("first_cursor=")
                .nth(1)
                .expect("the first cursor")
                .trim()
                .to_owned();

            age_all_events(&db).await;
            let expired = run_node(
                &modules,
                vec!["expired".into(), addr.clone(), proto.clone(), first_cursor],
            )
            .await;
            check(&expired, "node events: OK out of range");
            // Last: its payment would otherwise be among the events the resume check counts.
            let errors = run_node(
                &modules,
                vec!["errors".into(), addr, proto, binding.binding_id],
            )
            .await;
            check(&errors, "node errors: OK");
            sandbox.shutdown().await;
        }
    })
    .await;
}
