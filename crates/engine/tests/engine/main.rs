//! Engine integration tests against the real sandbox, real signatures, and real SQLite / PostgreSQL stores.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod binding;
mod buyer_window;
mod capture;
mod cashier;
mod concurrency;
mod crash_recovery;
mod events;
mod fault;
mod harness;
mod in_store;
mod pay;
mod reconcile;
mod refund;
