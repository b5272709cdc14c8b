//! The full signed call path, in process: `alipay::AlipayClient::pay` against a `sandbox::Sandbox` on loopback
//! (client sign + HTTP + sandbox verify + sandbox sign + client verify), at concurrency 1 and 16, with the two
//! signing operations timed in the same run to show what share of a call they take.
//!
//! Run with `cargo bench -p bench --bench client_roundtrip`; see `docs/performance.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alipay::{AlipayClient, ClientConfig, PathPrefix, Signer};
use bench::fixtures::{self, CLIENT_ID, MERCHANT_PRIVATE_KEY_PEM, MERCHANT_PUBLIC_KEY_PEM};
use bench::harness::{BenchError, Case, Ratio, Settings, measure};
use bench::load::signed_pays;
use bench::report;
use bench::rustcrypto::RsaKeys;
use sandbox::{Sandbox, SandboxConfig};

/// The concurrencies compared: one caller, and a busy gateway with many payments in flight.
const LOW: usize = 1;
const HIGH: usize = 16;

fn main() -> Result<(), BenchError> {
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sandbox = runtime.block_on(Sandbox::start(
        SandboxConfig::development(),
        "127.0.0.1:0".parse()?,
    ))?;
    let client = AlipayClient::new(
        ClientConfig::new(
            CLIENT_ID,
            MERCHANT_PRIVATE_KEY_PEM,
            sandbox.alipay_public_key_pem(),
            sandbox.base_url(),
        )
        .with_path_prefix(PathPrefix::Sandbox)
        .with_request_timeout(Duration::from_secs(10)),
    )?;
    let ids = Arc::new(AtomicU64::new(0));

    // The two signatures of a call, timed alone on the same message so their share of a call can be computed.
    let signer = Signer::from_text(MERCHANT_PRIVATE_KEY_PEM)?;
    let rsa = RsaKeys::from_pem(MERCHANT_PRIVATE_KEY_PEM, MERCHANT_PUBLIC_KEY_PEM)?;
    let path = fixtures::pay_path();
    let body = fixtures::body(&fixtures::pay_request("bench-roundtrip-000001"))?;
    let content =
        alipay::signing::sign_content("POST", &path, CLIENT_ID, fixtures::REQUEST_TIME, &body);

    eprintln!("client_roundtrip bench: sandbox at {}", sandbox.base_url());
    let mut cases = vec![
        Case::new(format!("pay round trip, concurrency {LOW}"), |budget| {
            runtime.block_on(signed_pays(&client, &ids, LOW, budget))
        }),
        Case::new(format!("pay round trip, concurrency {HIGH}"), |budget| {
            runtime.block_on(signed_pays(&client, &ids, HIGH, budget))
        }),
        Case::repeat(
            "(4) client sign path: `Signer::header_value` (aws-lc-rs)",
            || {
                let _ = black_box(signer.header_value(
                    1,
                    "POST",
                    &path,
                    CLIENT_ID,
                    fixtures::REQUEST_TIME,
                    black_box(&body),
                ));
            },
        ),
        Case::repeat("(2) sandbox-side sign: rsa 0.9 blinded", || {
            black_box(rsa.sign(black_box(&content)));
        }),
    ];
    let results = measure(&mut cases, &settings)?;
    let [low, high, client_sign, sandbox_sign] = results.as_slice() else {
        return Err("expected four results".into());
    };

    // Every call the client made must have reached the sandbox: nothing was answered from anywhere else.
    let sent = ids.load(Ordering::Relaxed);
    let received = sandbox.stats().endpoint_calls("payments/pay");
    runtime.block_on(sandbox.shutdown());
    if received != sent {
        return Err(
            format!("the client sent {sent} pay calls but the sandbox saw {received}").into(),
        );
    }

    println!("## client_roundtrip ({})\n", report::conditions(&settings));
    println!(
        "`AlipayClient::pay` (CASHIER_PAYMENT, {}-byte body) → in-process sandbox over loopback HTTP/1.1; every reply \
         checked to be a signature-verified PAYMENT_IN_PROCESS; {sent} pay calls in total, all seen by the sandbox.\n",
        body.len()
    );
    println!("{}", report::table("call", &results));
    println!(
        "- {}",
        report::ratio_line(
            &format!("calls/s, concurrency {HIGH} / concurrency {LOW}"),
            &Ratio::of(high, low)
        )
    );
    let call_us = low.micros_per_op();
    println!(
        "- one call at concurrency {LOW}: {call_us:.0} µs; client signing (4) {:.0} µs = {:.1} % of it; \
         sandbox signing (2) {:.0} µs = {:.1} %",
        client_sign.micros_per_op(),
        100.0 * client_sign.micros_per_op() / call_us,
        sandbox_sign.micros_per_op(),
        100.0 * sandbox_sign.micros_per_op() / call_us
    );
    if let (Some(low_cpu), Some(high_cpu)) = (low.cpu_micros_per_op(), high.cpu_micros_per_op()) {
        println!(
            "- CPU time per call (all threads, client and sandbox): {low_cpu:.0} µs at concurrency {LOW}, \
             {high_cpu:.0} µs at concurrency {HIGH}; calls/s at {HIGH} is capped by the CPU the machine leaves us \
             (see CPU cores busy)"
        );
    }
    Ok(())
}
