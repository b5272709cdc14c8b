//! Benchmarks of the gateway's request signing, kept in the repository so the numbers in `docs/performance.md`
//! can be reproduced with `cargo bench -p bench`.
//!
//! The machines we run on are shared and noisy, so the benches report ratios between cases measured in the same
//! run, with rounds of the cases interleaved so a burst of outside load hits every case alike. Nothing here is a
//! test with timed assertions: the benches print, people judge.
//!
//! - [`harness`]: warm-up, interleaved rounds, median / min / max and paired ratios.
//! - [`rustcrypto`]: the sandbox's RustCrypto `rsa` signing and verification, as the sandbox calls it.
//! - [`fixtures`]: the committed dev keys and a realistic ~1 KB pay request.
//! - [`report`]: the Markdown tables the benches print.
//! - [`load`]: closed-loop concurrent callers for the call-path and gateway benches.
//! - [`postgres`]: a throwaway PostgreSQL database for the benches that measure on PostgreSQL.

pub mod fixtures;
pub mod harness;
pub mod load;
pub mod postgres;
pub mod report;
pub mod rustcrypto;
