//! The cross-language check: `tests/python/wallet_flow.py` (grpcio, stubs generated from `proto/` at run time)
//! drives the real binary. The interpreter comes from `ALIPAY_GATEWAY_PYTHON` (scripts/test sets it up from
//! tests/python/requirements.txt); without it the test is skipped locally and fails under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::process::Command;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpc_client_runs_the_wallet_flow() {
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
                    .arg(format!("{root}/tests/python/wallet_flow.py"))
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
                output.status.success() && stdout.contains("python wallet flow: OK"),
                "python client failed\nstdout:\n{stdout}\nstderr:\n{stderr}\ngateway log:\n{}",
                gateway.log()
            );
            let stats = sandbox.stats();
            assert_eq!(
                stats.endpoint_calls("payments/pay"),
                2,
                "only the valid Pay and the declined one reached Alipay: {stats:?}"
            );
            sandbox.shutdown().await;
        }
    })
    .await;
}
