//! Integration tests: every test runs against a real SQLite file and, when `TEST_DATABASE_URL`
//! is set, against PostgreSQL in a schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod bindings;
mod cards;
mod common;
mod events;
mod group_commit;
mod idempotency;
mod ingest;
mod jobs;
mod kept;
mod operations;
mod payments;
mod records;
mod transactions;
