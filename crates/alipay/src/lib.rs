//! Signed, verified client for the Alipay Global (Antom) open API.
//!
//! - [`AlipayClient`]: one async method per endpoint, each a single signed HTTP attempt returning a [`Reply`] with
//!   the typed body and its per-endpoint [`Outcome`], or a [`CallError`] that says whether Alipay may have acted.
//! - [`signing`]: RSA-SHA256 signing/verification with aws-lc-rs, byte-compatible with the official SDKs.
//! - [`model`]: typed wire models; [`notification`]: verifying and acknowledging webhooks.
//! - [`diagnose`]: explains signature mismatches (used by the `alipay-gateway signature verify` CLI).
//!
//! Retries are deliberately not here: the engine owns the S/F/U retry-inquire-cancel policy.

pub mod checked;
pub mod client;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod keys;
pub mod limits;
pub mod mask;
pub mod model;
pub mod notification;
pub mod observer;
pub mod outcome;
pub mod result_code;
pub mod signing;
pub mod validate;
pub mod webhook;

pub use client::{AlipayClient, ApiRequest, ApiResponse, Reply, ResponseSignature};
pub use config::{
    ClientConfig, GATEWAY_EUROPE, GATEWAY_NORTH_AMERICA, GATEWAY_SOUTHEAST_ASIA,
    GATEWAY_US_DOMICILED, PathPrefix,
};
pub use error::{CallError, ConfigError};
pub use keys::{KeyError, KeyKind};
pub use observer::{CallObserver, CallOutcome, CallRecord};
pub use outcome::{Endpoint, Outcome};
pub use result_code::ResultCode;
pub use signing::{SignatureError, Signer, Verifier};
pub use validate::{Validate, ValidationError};
