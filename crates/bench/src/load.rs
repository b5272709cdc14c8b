//! Closed-loop load: N callers, each sending its next request as soon as the previous answer is in, for a time
//! budget. This is how a busy service drives the gateway (a fixed number of payments in flight), and it counts only
//! calls that completed and were checked.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alipay::{AlipayClient, Outcome, ResponseSignature};
use tokio::task::JoinSet;

use crate::fixtures;
use crate::harness::{BenchError, Round};

/// Runs `call` from `concurrency` tasks back to back until `budget` has passed. `call` checks its own answer: any
/// error ends the round, since a bench must time the real path and nothing else.
pub async fn closed_loop<C, F>(
    concurrency: usize,
    budget: Duration,
    call: C,
) -> Result<Round, BenchError>
where
    C: Fn() -> F + Clone + Send + 'static,
    F: Future<Output = Result<(), BenchError>> + Send,
{
    Ok(timed_loop(concurrency, budget, call).await?.round)
}

/// A [`closed_loop`] round with the latency of every call, sorted: for percentiles.
#[derive(Debug, Clone)]
pub struct TimedRound {
    /// Calls completed and the wall time they took.
    pub round: Round,
    /// Every call's latency, ascending.
    pub latencies: Vec<Duration>,
}

impl TimedRound {
    /// The `p`-th percentile latency (0 < p <= 100), nearest-rank.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// [`closed_loop`], timing every call.
pub async fn timed_loop<C, F>(
    concurrency: usize,
    budget: Duration,
    call: C,
) -> Result<TimedRound, BenchError>
where
    C: Fn() -> F + Clone + Send + 'static,
    F: Future<Output = Result<(), BenchError>> + Send,
{
    let start = Instant::now();
    let deadline = start + budget;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let call = call.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let began = Instant::now();
                call().await?;
                latencies.push(began.elapsed());
            }
            Ok::<Vec<Duration>, BenchError>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined??);
    }
    latencies.sort_unstable();
    Ok(TimedRound {
        round: Round {
            ops: latencies.len() as u64,
            elapsed: start.elapsed(),
        },
        latencies,
    })
}

/// `concurrency` callers each calling `pay` back to back with fresh request ids until `budget` has passed.
/// Any failed call, unverified reply or unexpected outcome ends the bench: it must time the real signed path.
pub async fn signed_pays(
    client: &AlipayClient,
    ids: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Duration,
) -> Result<Round, BenchError> {
    let (client, ids) = (client.clone(), Arc::clone(ids));
    closed_loop(concurrency, budget, move || {
        let (client, ids) = (client.clone(), Arc::clone(&ids));
        async move {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            check_signed_pay(&client, &format!("bench-{id:08}")).await
        }
    })
    .await
}

/// One signed cashier `pay` (the ~1 KB fixture) that must come back verified and PAYMENT_IN_PROCESS: anything else
/// is an error, since a bench must time the real signed path.
pub async fn check_signed_pay(
    client: &AlipayClient,
    payment_request_id: &str,
) -> Result<(), BenchError> {
    let reply = client
        .pay(&fixtures::pay_request(payment_request_id))
        .await?;
    if reply.signature != ResponseSignature::Verified || reply.outcome != Outcome::InProcess {
        return Err(format!(
            "unexpected pay reply: {:?}, signature {:?}",
            reply.outcome, reply.signature
        )
        .into());
    }
    Ok(())
}
