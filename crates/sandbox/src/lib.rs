//! A faithful local simulator of the Alipay Global (Antom) open API: the default upstream of the gateway and
//! the test double of every test. It verifies request signatures on the raw bytes, signs its answers, keeps
//! payments, tokens, refunds and captures in memory, serves the wallet's H5 authorization page and a cashier
//! page, and misbehaves on purpose for the test-data amounts documented in `docs/sandbox.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandbox::SandboxError> {
//! let sandbox = sandbox::Sandbox::start(sandbox::SandboxConfig::development(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} signs with\n{}", sandbox.base_url(), sandbox.alipay_public_key_pem());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod app;
mod auth;
mod card_pages;
mod cards;
mod clock;
mod codes;
mod config;
mod control;
mod delivery;
mod endpoint;
mod error;
mod issuer;
mod keys;
mod notices;
mod operations;
mod pages;
mod payments;
mod reply;
mod routes;
mod scenario;
mod server;
mod shutdown;
mod signature;
mod state;
mod stats;
mod validate;
mod wallets;

pub use clock::Clock;
pub use config::{SandboxConfig, config_from_files, dev, parse_merchant_arg};
pub use error::SandboxError;
pub use issuer::TEST_CARDS;
pub use server::{CredentialsProbe, RunningSandbox, Sandbox};
pub use stats::Stats;
