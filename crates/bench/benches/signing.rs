//! RSA-2048 request signing cost of the gateway's two independent implementations, measured in one run:
//! the Alipay client's aws-lc-rs `Signer` / `Verifier` and the sandbox's RustCrypto `rsa` 0.9.
//!
//! Run with `cargo bench -p bench --bench signing`; see `docs/performance.md`.

use std::hint::black_box;

use alipay::signing::{Signer, Verifier, format_header, sign_content};
use bench::fixtures::{self, CLIENT_ID, MERCHANT_PRIVATE_KEY_PEM, MERCHANT_PUBLIC_KEY_PEM};
use bench::harness::{BenchError, Case, Ratio, Settings, measure};
use bench::report;
use bench::rustcrypto::RsaKeys;

fn main() -> Result<(), BenchError> {
    let settings = Settings::from_env()?;
    let signer = Signer::from_text(MERCHANT_PRIVATE_KEY_PEM)?;
    let verifier = Verifier::from_text(MERCHANT_PUBLIC_KEY_PEM)?;
    let rsa = RsaKeys::from_pem(MERCHANT_PRIVATE_KEY_PEM, MERCHANT_PUBLIC_KEY_PEM)?;

    let path = fixtures::pay_path();
    let body = fixtures::body(&fixtures::pay_request("bench-signing-000001"))?;
    let content = sign_content("POST", &path, CLIENT_ID, fixtures::REQUEST_TIME, &body);

    // Before timing anything: both libraries must produce the same PKCS#1 v1.5 bytes and accept each other's
    // signatures, or we would be comparing different work.
    let aws_signature = signer.sign(&content)?;
    let rsa_signature = rsa.sign(&content);
    if aws_signature != rsa_signature {
        return Err("aws-lc-rs and rsa signatures differ for the same key and content".into());
    }
    verifier.verify_raw(&content, &rsa_signature)?;
    if !rsa.verify(&content, &aws_signature) {
        return Err("rsa rejects the aws-lc-rs signature".into());
    }
    let header = signer.header_value(1, "POST", &path, CLIENT_ID, fixtures::REQUEST_TIME, &body)?;
    verifier.verify_header(
        &header,
        "POST",
        &path,
        CLIENT_ID,
        fixtures::REQUEST_TIME,
        &body,
    )?;

    eprintln!(
        "signing bench: RSA-2048 PKCS#1 v1.5 SHA-256 over a {}-byte signed message ({}-byte pay body)",
        content.len(),
        body.len()
    );
    let mut cases = vec![
        Case::repeat(
            "(1) client sign: `alipay::Signer::sign` (aws-lc-rs)",
            || {
                let _ = black_box(signer.sign(black_box(&content)));
            },
        ),
        Case::repeat(
            "(2) sandbox-side sign: rsa 0.9 blinded `sign_with_rng`",
            || {
                black_box(rsa.sign(black_box(&content)));
            },
        ),
        Case::repeat(
            "(3a) client verify: `alipay::Verifier::verify_raw` (aws-lc-rs)",
            || {
                let _ = black_box(verifier.verify_raw(black_box(&content), &aws_signature));
            },
        ),
        Case::repeat(
            "(3b) sandbox-side verify: rsa 0.9 `VerifyingKey::verify`",
            || {
                black_box(rsa.verify(black_box(&content), &aws_signature));
            },
        ),
        Case::repeat(
            "(4) client path: `Signer::header_value` (sign_content + sign + header)",
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
        Case::repeat(
            "(4b) client path without the RSA operation: `sign_content` + `format_header`",
            || {
                let content = sign_content(
                    "POST",
                    &path,
                    CLIENT_ID,
                    fixtures::REQUEST_TIME,
                    black_box(&body),
                );
                black_box(format_header(1, black_box(&aws_signature)));
                black_box(content);
            },
        ),
    ];
    let results = measure(&mut cases, &settings)?;
    let [
        aws_sign,
        rsa_sign,
        aws_verify,
        rsa_verify,
        client_path,
        framing,
    ] = results.as_slice()
    else {
        return Err("expected six results".into());
    };

    println!("## signing ({})\n", report::conditions(&settings));
    println!(
        "RSA-2048, PKCS#1 v1.5 / SHA-256, committed dev merchant key, {}-byte signed message ({}-byte pay body).\n",
        content.len(),
        body.len()
    );
    println!("{}", report::table("op", &results));
    println!(
        "- {}",
        report::ratio_line("sign, aws-lc-rs / rsa", &Ratio::of(aws_sign, rsa_sign))
    );
    println!(
        "- {}",
        report::ratio_line(
            "verify, aws-lc-rs / rsa",
            &Ratio::of(aws_verify, rsa_verify)
        )
    );
    println!(
        "- {}",
        report::ratio_line(
            "client path (4) / raw sign (1)",
            &Ratio::of(client_path, aws_sign)
        )
    );
    println!(
        "- what the client path adds to the RSA operation ((4b), measured alone): {:.1} µs per request, \
         {:.2} % of (4)",
        framing.micros_per_op(),
        100.0 * framing.micros_per_op() / client_path.micros_per_op()
    );
    Ok(())
}
