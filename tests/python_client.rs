//! The cross-language checks: `tests/python/wallet_flow.py` and `tests/python/card_flow.py` (grpcio, stubs
//! generated from `proto/` at run time) drive the real binary. The interpreter comes from `ALIPAY_GATEWAY_PYTHON`
//! (scripts/test sets it up from tests/python/requirements.txt); without it the tests are skipped locally and fail
//! under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::process::Command;

use common::*;

/// Runs `tests/python/{script}` against a fresh gateway on each backend; it must print `{ok_line}`. `check` then
/// looks at what reached the sandbox.
async fn run_python_client(
    script: &'static str,
    ok_line: &'static str,
    check: fn(&sandbox::Stats),
) {
    let Some(python) = python_interpreter("Python client check") else {
        return;
    };
    for_each_backend(|db| {
        let python = python.clone();
        async move {
            let (sandbox, gateway) = start_default(&db).await;
            let root = env!("CARGO_MANIFEST_DIR");
            let addr = gateway.addr.to_string();
            let output = tokio::task::spawn_blocking(move || {
                Command::new(&python)
                    .arg(format!("{root}/tests/python/{script}"))
                    .arg(addr)
                    .arg(format!("{root}/proto"))
                    .output()
                    .expect("run the Python client")
            })
            .await
            .expect("join");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success() && stdout.contains(ok_line),
                "python client failed\nstdout:\n{stdout}\nstderr:\n{stderr}\ngateway log:\n{}",
                gateway.log()
            );
            check(&sandbox.stats());
            sandbox.shutdown().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpc_client_runs_the_wallet_flow() {
    run_python_client("wallet_flow.py", "python wallet flow: OK", |stats| {
        assert_eq!(
            stats.endpoint_calls("payments/pay"),
            2,
            "only the valid Pay and the declined one reached Alipay: {stats:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpc_client_authorizes_cards() {
    run_python_client("card_flow.py", "python card flow: OK", |stats| {
        assert_eq!(
            stats.endpoint_calls("payments/pay"),
            3,
            "the approved, declined and challenged cards reached Alipay, the bad number did not: {stats:?}"
        );
    })
    .await;
}
