//! `alipay-gateway signature sign|verify`: compute or check an Alipay `signature` header offline.
//!
//! A thin shell over `alipay::signing` and `alipay::diagnose`, so the CLI answers exactly what the gateway computes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use alipay::diagnose::{DiagnoseInput, diagnose, verifier_from_any_key};
use alipay::signing::Signer;

/// Offline signing tools for integrating with Alipay.
#[derive(Debug, clap::Subcommand)]
pub enum SignatureCommand {
    /// Print the `signature` header value for a request.
    Sign {
        /// Merchant private key: PEM or bare base64, PKCS#8 or PKCS#1.
        #[arg(long, value_name = "FILE")]
        private_key: PathBuf,
        /// The signed string's parts (clap ignores this comment on a flattened field).
        #[command(flatten)]
        message: SignedMessage,
        /// keyVersion to put in the header.
        #[arg(long, value_name = "N", default_value_t = 1)]
        key_version: u32,
    },
    /// Check a signature; on a mismatch, say which input most likely differs.
    Verify {
        /// Public key of the signer (Alipay's for responses/notifications, yours for your requests): PEM or bare
        /// base64, SubjectPublicKeyInfo or PKCS#1.
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        /// The signed string's parts (clap ignores this comment on a flattened field).
        #[command(flatten)]
        message: SignedMessage,
        /// The whole `signature` header value, or only its signature part.
        #[arg(long, value_name = "VALUE")]
        signature: String,
    },
}

/// The inputs of Alipay's signed string (`<method> <path>\n<client-id>.<time>.<body>`), the same for signing and
/// verifying.
#[derive(Debug, clap::Args)]
pub struct SignedMessage {
    /// Merchant client id.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// The `request-time` (or, for a response or notification, `response-time`) header value, verbatim
    /// (epoch-ms or ISO-8601).
    #[arg(long, value_name = "TIME")]
    request_time: String,
    /// Request path as sent, e.g. /ams/api/v1/payments/pay.
    #[arg(long)]
    path: String,
    /// File holding the exact body bytes (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    body_file: PathBuf,
    /// HTTP method.
    #[arg(long, default_value = "POST")]
    method: String,
}

/// Exit code for usage, file and key errors (1 is reserved for "signature not valid").
const EXIT_USAGE: u8 = 2;

fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_key(path: &Path) -> Result<String, String> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not a text key file", path.display()))
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_USAGE)
}

/// Runs a `signature` subcommand: 0 = done/valid, 1 = signature not valid, 2 = usage, file or key error.
pub fn run(cmd: SignatureCommand) -> ExitCode {
    match cmd {
        SignatureCommand::Sign {
            private_key,
            message,
            key_version,
        } => {
            let key = match read_key(&private_key) {
                Ok(k) => k,
                Err(e) => return fail(e),
            };
            let signer = match Signer::from_text(&key) {
                Ok(s) => s,
                Err(e) => return fail(format!("{}: {e}", private_key.display())),
            };
            let body = match read_bytes(&message.body_file) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            match signer.header_value(
                key_version,
                &message.method,
                &message.path,
                &message.client_id,
                &message.request_time,
                &body,
            ) {
                Ok(header) => {
                    println!("{header}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        SignatureCommand::Verify {
            public_key,
            message,
            signature,
        } => {
            let key = match read_key(&public_key) {
                Ok(k) => k,
                Err(e) => return fail(e),
            };
            let (verifier, note) = match verifier_from_any_key(&key) {
                Ok(found) => found,
                Err(e) => return fail(format!("{}: {e}", public_key.display())),
            };
            let body = match read_bytes(&message.body_file) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            if let Some(note) = note {
                println!("{note}");
            }
            let diagnosis = diagnose(
                &verifier,
                &DiagnoseInput {
                    method: &message.method,
                    path: &message.path,
                    client_id: &message.client_id,
                    request_time: &message.request_time,
                    body: &body,
                    signature: &signature,
                },
            );
            for line in diagnosis.explain() {
                println!("{line}");
            }
            if diagnosis.is_valid() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
