//! Engine integration tests against the real sandbox, real signatures, and real SQLite / PostgreSQL stores.

mod auth;
mod concurrency;
mod harness;
mod pay;
mod reconcile;
mod refund;
