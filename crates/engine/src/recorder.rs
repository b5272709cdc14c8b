//! Records every outbound Alipay call in the store's call log. The client reports calls synchronously on the
//! calling task. A Pay, Refund or Capture holds the records of its own calls ([`Recorder::holding`]) and writes them
//! in the transaction that records the answer they brought, so a Pay commits twice, not three times. Every other
//! record is queued: a background task writes it, taking everything that queued up meanwhile, and within [`LINGER`]
//! of the first, as one batch (one statement and one commit per batch: under load the call log does not cost a
//! commit per call, and on SQLite it does not take the write lock once per call). Nothing is dropped: held records
//! that were not written (the move was refused or failed, or the caller was cancelled) are queued, a full queue hands
//! the record to a task that waits for room, and [`Recorder::flush`] waits until every record queued so far is
//! written (graceful shutdown, tests).
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alipay::{CallObserver, CallOutcome, CallRecord, Outcome};
use store::ResultStatus;
use store::calls::NewCall;
use tokio::sync::{Notify, mpsc};

/// How often a failed write is retried before the record is given up (and logged) — the call itself already
/// happened, so a lost audit row must not block payments.
const WRITE_ATTEMPTS: u32 = 5;
/// Most records written in one statement.
const BATCH: usize = 64;
/// How long the writer lets records gather after the first one arrives before it writes them. Without it, one
/// caller paying back to back makes one call-log commit per Pay (on SQLite a write turn and an fsync of its own);
/// with it, the Pays of a few milliseconds share one. The call itself and the payment's state are already recorded
/// by then: the call log is the audit of what was sent, and a crash loses the records still queued either way.
const LINGER: Duration = Duration::from_millis(5);

#[derive(Debug)]
struct Shared {
    pending: AtomicU64,
    drained: Notify,
}

/// The queue and writer of call records.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    sender: mpsc::Sender<NewCall>,
    shared: Arc<Shared>,
}

impl Recorder {
    /// Starts the background writer on the current Tokio runtime.
    pub(crate) fn start(store: store::Store, capacity: usize) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared {
            pending: AtomicU64::new(0),
            drained: Notify::new(),
        });
        tokio::spawn(write_calls(store, receiver, shared.clone()));
        Self { sender, shared }
    }

    /// The observer to install on the Alipay client.
    pub(crate) fn observer(&self) -> Arc<dyn CallObserver> {
        Arc::new(self.clone())
    }

    /// Waits until every record observed before this call has been written.
    pub(crate) async fn flush(&self) {
        loop {
            let drained = self.shared.drained.notified();
            if self.shared.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            // The timeout guards against a notification racing the check above.
            let _ = tokio::time::timeout(Duration::from_millis(50), drained).await;
        }
    }

    /// Runs `calls` (Alipay calls through the client) holding the records of the calls it makes for the caller
    /// instead of queueing them: the caller writes them in the transaction that records the answer they brought
    /// (one commit fewer per Pay), and whatever it does not write is queued when the [`HeldCalls`] are dropped,
    /// also when the caller is cancelled halfway.
    pub(crate) async fn holding<F: Future>(&self, calls: F) -> (F::Output, HeldCalls) {
        let held = HeldCalls {
            calls: Vec::new(),
            recorder: self.clone(),
        };
        HELD.scope(RefCell::new(held), async move {
            let output = calls.await;
            let calls = HELD.with(|held| std::mem::take(&mut held.borrow_mut().calls));
            let held = HeldCalls {
                calls,
                recorder: self.clone(),
            };
            (output, held)
        })
        .await
    }

    /// Queues `call` for the background writer.
    fn queue(&self, call: NewCall) {
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        match self.sender.try_send(call) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(call)) => {
                let sender = self.sender.clone();
                let shared = self.shared.clone();
                tokio::spawn(async move {
                    if sender.send(call).await.is_err() {
                        done(&shared, 1);
                    }
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("call recorder stopped; call record lost");
                done(&self.shared, 1);
            }
        }
    }
}

impl CallObserver for Recorder {
    fn on_call(&self, record: &CallRecord) {
        let mut call = Some(to_new_call(record));
        // Outside a [`Recorder::holding`] scope the record stays here and is queued.
        let _ = HELD.try_with(|held| held.borrow_mut().calls.extend(call.take()));
        if let Some(call) = call {
            self.queue(call);
        }
    }
}

tokio::task_local! {
    /// Set by [`Recorder::holding`]: the records of the calls made inside it, held for its caller.
    static HELD: RefCell<HeldCalls>;
}

/// Records of Alipay calls held for the transaction that writes the answer they brought
/// ([`store::Transition::with_call_records`]); queued for the recorder's own batch when dropped unwritten.
#[derive(Debug)]
pub(crate) struct HeldCalls {
    calls: Vec<NewCall>,
    recorder: Recorder,
}

impl HeldCalls {
    /// The records, for a transaction to write.
    pub(crate) fn records(&self) -> &[NewCall] {
        &self.calls
    }

    /// The transaction that wrote [`Self::records`] committed: nothing is left to queue.
    pub(crate) fn written(mut self) {
        self.calls.clear();
    }
}

impl Drop for HeldCalls {
    fn drop(&mut self) {
        for call in self.calls.drain(..) {
            self.recorder.queue(call);
        }
    }
}

/// `written` records are finished with (written or given up).
fn done(shared: &Shared, written: usize) {
    let written = u64::try_from(written).unwrap_or(u64::MAX);
    if shared.pending.fetch_sub(written, Ordering::SeqCst) == written {
        shared.drained.notify_waiters();
    }
}

async fn write_calls(
    store: store::Store,
    mut receiver: mpsc::Receiver<NewCall>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        if batch.len() < BATCH {
            tokio::time::sleep(LINGER).await;
            while batch.len() < BATCH {
                match receiver.try_recv() {
                    Ok(call) => batch.push(call),
                    Err(_) => break,
                }
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match store.calls().record_calls(&batch).await {
                Ok(()) => break,
                Err(error) if attempt < WRITE_ATTEMPTS => {
                    tracing::warn!(%error, attempt, records = batch.len(), "writing call records failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(error) => {
                    for call in &batch {
                        tracing::error!(%error, endpoint = %call.endpoint, request_id = ?call.request_id, "call record lost");
                    }
                    break;
                }
            }
        }
        done(&shared, batch.len());
        batch.clear();
    }
}

fn to_new_call(record: &CallRecord) -> NewCall {
    let (result_status, result_code, result_message, error) = match &record.outcome {
        CallOutcome::Answered(outcome) => match outcome {
            Outcome::Success => (Some(ResultStatus::Success), None, None, None),
            Outcome::Failed { code, message } => (
                Some(ResultStatus::Fail),
                Some(code.to_string()),
                Some(message.clone()),
                None,
            ),
            Outcome::InProcess => (Some(ResultStatus::Unknown), record_code(record), None, None),
            Outcome::Unknown { code, message } => (
                Some(ResultStatus::Unknown),
                Some(code.to_string()),
                Some(message.clone()),
                None,
            ),
        },
        CallOutcome::Error {
            kind,
            message,
            outcome_unknown,
        } => (
            None,
            None,
            None,
            Some(format!(
                "{kind}: {message} (outcome unknown: {outcome_unknown})"
            )),
        ),
    };
    let result_code = match (&record.outcome, result_code) {
        (CallOutcome::Answered(Outcome::Success), None) => record_code(record),
        (_, code) => code,
    };
    NewCall {
        endpoint: record.endpoint.name().to_owned(),
        request_id: record.request_id.clone(),
        result_status,
        result_code,
        result_message,
        http_status: record.http_status.map(i32::from),
        latency_ms: i64::try_from(record.latency.as_millis()).unwrap_or(i64::MAX),
        request_json: Some(record.request.to_string()),
        response_json: record.response.as_ref().map(ToString::to_string),
        error,
    }
}

/// The `result.resultCode` of the masked response, when there is one.
fn record_code(record: &CallRecord) -> Option<String> {
    record
        .response
        .as_ref()?
        .get("result")?
        .get("resultCode")?
        .as_str()
        .map(str::to_owned)
}
