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
    let start = Instant::now();
    let deadline = start + budget;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let call = call.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                call().await?;
                done += 1;
            }
            Ok::<u64, BenchError>(done)
        });
    }
    let mut ops = 0;
    while let Some(joined) = tasks.join_next().await {
        ops += joined??;
    }
    Ok(Round {
        ops,
        elapsed: start.elapsed(),
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
            let reply = client
                .pay(&fixtures::pay_request(&format!("bench-{id:08}")))
                .await?;
            if reply.signature != ResponseSignature::Verified || reply.outcome != Outcome::InProcess
            {
                return Err(format!(
                    "unexpected pay reply: {:?}, signature {:?}",
                    reply.outcome, reply.signature
                )
                .into());
            }
            Ok(())
        }
    })
    .await
}
