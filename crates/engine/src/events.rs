//! The payment event stream (`StreamPaymentEvents`): subscriptions that follow the store's commit-ordered outbox.
//!
//! Delivery. One watcher per engine keeps the stream head (highest committed event, pruning horizon) in a `watch`
//! channel: it re-reads it every `event_poll_interval` (how events committed by other replicas on the same
//! PostgreSQL are found) and at once when this process commits an event. Each subscription is a task that reads
//! its filtered range `(position, head]` from the store and hands the events to the caller through a bounded
//! channel of `event_buffer` events. A slow consumer only fills its own channel and stalls its own task: writers
//! never wait for readers, and a stalled subscription resumes from the store where it stopped, so nothing is lost.
//!
//! Ending. A subscription ends when the caller drops it, with [`EngineError::Closing`] when the engine is shutting
//! down ([`Engine::close_event_streams`]; the caller reconnects with its last cursor, to this replica after the
//! restart or to another), and with the store's error if a read fails (also a reconnect).

use std::time::Duration;

use store::events::Head;
use tokio::sync::{mpsc, watch};

use crate::{Engine, EngineError};

pub use store::events::{EventFilter, EventType};

use crate::views::{CaptureView, PaymentView, RefundView};

/// One committed change of a payment, refund or capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Commit-ordered position (the cursor is its opaque form).
    pub seq: i64,
    /// Unique id to deduplicate on (delivery is at least once).
    pub event_id: String,
    /// The opaque position to resume after this event.
    pub cursor: String,
    /// When the change committed.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The payment the change concerns.
    pub payment_request_id: String,
    /// The record as it was right after the change (not as it is now).
    pub subject: EventSubject,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    /// A payment (its totals were zero at any of its events). Boxed: a payment view is several times larger than
    /// the other subjects.
    Payment(Box<PaymentView>),
    /// A refund, with the payment it refunds.
    Refund(RefundView),
    /// A capture, with the payment it captures.
    Capture(CaptureView),
}

/// Events read from the store per round trip.
const READ_BATCH: u64 = 256;
/// How long a closing subscription tries to hand its caller the closing error before giving up on a consumer
/// that is not reading.
const CLOSE_NOTICE: Duration = Duration::from_secs(1);

/// One subscription: the events after its start position that match its filter, in commit order, until it ends.
#[derive(Debug)]
pub struct EventStream {
    events: mpsc::Receiver<Result<PaymentEvent, EngineError>>,
}

impl EventStream {
    /// The next event, an error that ends the stream, or `None` after the end.
    pub async fn next(&mut self) -> Option<Result<PaymentEvent, EngineError>> {
        self.events.recv().await
    }
}

impl Engine {
    /// Subscribes to the events matching `filter`: after `cursor` (exclusive) when given, otherwise only those
    /// committed from now on. Errors: the store's `InvalidCursor` (not a cursor of this stream) and
    /// `CursorExpired` (events after it are past the retention window: resynchronise).
    pub async fn stream_payment_events(
        &self,
        cursor: Option<&str>,
        filter: EventFilter,
    ) -> Result<EventStream, EngineError> {
        let events = self.store().events();
        let position = match cursor {
            Some(cursor) => {
                events
                    .resume_position(cursor, self.retention_cutoff())
                    .await?
            }
            None => events.head().await?.last_seq,
        };
        let (tx, rx) = mpsc::channel(self.config().event_buffer.max(1));
        let subscription = Subscription {
            store: self.store().clone(),
            filter,
            position,
            heads: self.event_heads(),
            closing: self.inner.closing.subscribe(),
            tx,
        };
        tokio::spawn(subscription.run());
        Ok(EventStream { events: rx })
    }

    /// Ends every open subscription with [`EngineError::Closing`], and any opened later. Call it at the start of a
    /// graceful shutdown: a stream never finishes by itself, so the server would otherwise wait for it.
    pub fn close_event_streams(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Deletes events older than the retention window (the reconciler calls this periodically; every replica may,
    /// pruning is idempotent). Returns how many were deleted.
    pub(crate) async fn prune_events(&self) -> Result<u64, EngineError> {
        Ok(self.store().events().prune(self.retention_cutoff()).await?)
    }

    /// Events committed before this are past the retention window.
    fn retention_cutoff(&self) -> chrono::DateTime<chrono::Utc> {
        let retention = chrono::Duration::from_std(self.config().event_retention)
            .unwrap_or(chrono::Duration::MAX);
        chrono::Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }

    /// The head channel, starting the watcher on first use (an engine nobody streams from polls nothing).
    fn event_heads(&self) -> watch::Receiver<Head> {
        self.inner
            .heads
            .get_or_init(|| {
                let (tx, rx) = watch::channel(Head::default());
                tokio::spawn(watch_head(
                    self.store().clone(),
                    tx,
                    self.config().event_poll_interval,
                ));
                rx
            })
            .clone()
    }
}

/// Publishes the stream head until every receiver is gone (the engine and all its subscriptions dropped).
async fn watch_head(store: store::Store, tx: watch::Sender<Head>, poll: Duration) {
    let mut local = store.events().local_commits();
    loop {
        match store.events().head().await {
            Ok(head) => {
                tx.send_if_modified(|current| {
                    let moved = *current != head;
                    *current = head;
                    moved
                });
            }
            Err(error) => tracing::warn!(%error, "reading the event stream head failed; retrying"),
        }
        tokio::select! {
            () = tx.closed() => break,
            _ = local.changed() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// One subscriber's reading task.
struct Subscription {
    store: store::Store,
    filter: EventFilter,
    /// The last position handed over (or skipped as filtered out).
    position: i64,
    heads: watch::Receiver<Head>,
    closing: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<PaymentEvent, EngineError>>,
}

/// Why a subscription stops.
enum End {
    /// The caller went away (or the engine did): nothing to tell anyone.
    Gone,
    /// Tell the caller why.
    Error(EngineError),
}

impl Subscription {
    async fn run(mut self) {
        if let Err(End::Error(error)) = self.follow().await {
            let _ = tokio::time::timeout(CLOSE_NOTICE, self.tx.send(Err(error))).await;
        }
    }

    async fn follow(&mut self) -> Result<(), End> {
        loop {
            if *self.closing.borrow() {
                return Err(End::Error(EngineError::Closing));
            }
            let head = *self.heads.borrow_and_update();
            if head.pruned_through > self.position {
                // A subscriber so far behind that retention deleted what it had not read yet.
                return Err(End::Error(store::StoreError::CursorExpired.into()));
            }
            if head.last_seq > self.position {
                self.deliver_through(head.last_seq).await?;
                continue;
            }
            tokio::select! {
                changed = self.heads.changed() => changed.map_err(|_| End::Gone)?,
                () = self.tx.closed() => return Err(End::Gone),
                _ = self.closing.changed() => {}
            }
        }
    }

    /// Hands over the next batch of matching events up to `head`; the position reaches `head` once the range is
    /// exhausted (every event at or below the head has committed, so none can appear there later).
    async fn deliver_through(&mut self, head: i64) -> Result<(), End> {
        let events = self
            .store
            .events()
            .read(self.position, head, &self.filter, READ_BATCH)
            .await
            .map_err(|e| End::Error(e.into()))?;
        let exhausted = u64::try_from(events.len()).unwrap_or(u64::MAX) < READ_BATCH;
        for event in events {
            let seq = event.seq;
            tokio::select! {
                sent = self.tx.send(Ok(crate::views::event(event))) => sent.map_err(|_| End::Gone)?,
                _ = self.closing.wait_for(|closing| *closing) => {
                    return Err(End::Error(EngineError::Closing));
                }
            }
            self.position = seq;
        }
        if exhausted {
            self.position = head;
        }
        Ok(())
    }
}
