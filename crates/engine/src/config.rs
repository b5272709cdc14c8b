//! Engine tuning. Defaults follow Alipay's documented result-process logic (seed 002: inquire 10-20 times at 3 s
//! intervals, then cancel; seed 000: keep inquiring for more than a minute) and the SDK samples' "retry the same id
//! up to 3 times".

use std::fmt;
use std::time::Duration;

use store::TokenCipher;

use crate::card_void::CardVoidPolicy;

/// Timing and retry bounds of the engine and its reconciler.
#[derive(Clone)]
pub struct EngineConfig {
    /// Pay / refund / capture / cancel attempts with the same request id before the reconciler takes over.
    pub call_attempts: u32,
    /// Pause between those attempts (doubled after each one).
    pub retry_backoff: Duration,
    /// Interval between reconciler inquiries of one payment or refund.
    pub inquiry_interval: Duration,
    /// Inquiries (including inquiry `U` / transport errors) before an unresolved payment is cancelled. Applies to
    /// payments nobody has to act on (auto debit, in-store, unknown pay outcomes); a payment waiting for the buyer
    /// is governed by its expiry instead (see `buyer_action_window`).
    pub max_inquiries: u32,
    /// How long a payment waiting for the buyer (PROCESSING with a redirect / challenge `next_action`) stays
    /// payable when the caller set no `paymentExpiryTime`: Alipay keeps the cashier open about 14 minutes by
    /// default (alipay-api §3.1). Cancelling earlier would cancel a buyer who is still paying.
    pub buyer_action_window: Duration,
    /// Extra wait after a buyer's payment expired before it is cancelled, so Alipay's own final answer (a late
    /// SUCCESS, or its expiry) is seen first.
    pub buyer_action_grace: Duration,
    /// Cap of the inquiry interval while waiting for the buyer: the interval starts at `inquiry_interval` and
    /// doubles up to this (Alipay's cashier samples back off too), so a 14-minute window costs tens of inquiries,
    /// not hundreds.
    pub buyer_inquiry_max_interval: Duration,
    /// Delay before the write-ahead inquiry job becomes due. It must exceed the longest in-flight pay call
    /// (attempts x client timeout + backoff): the reconciler must not inquire, and then cancel, a payment whose
    /// first pay request is still on the wire. The normal path reschedules the job once the call completes.
    pub write_ahead_grace: Duration,
    /// How long a claimed job is leased to one reconciler replica; an expired lease makes it claimable again.
    pub job_lease: Duration,
    /// How long an idempotency record is owned by the engine call executing it (multi-replica duplicate guard).
    pub idempotency_lease: Duration,
    /// Reconciler sleep when no job is due.
    pub poll_interval: Duration,
    /// Jobs claimed per reconciler round.
    pub claim_batch: u64,
    /// Refresh an access token this long before it expires (background job and synchronous refresh in pay).
    pub token_refresh_margin: Duration,
    /// How long a duplicate request waits for the in-flight original (on this replica's per-key lock, then on the
    /// store row) before answering `Unavailable` (`OUTCOME_PENDING`, retry after `inquiry_interval`). Keep it at or
    /// below `inquiry_interval`, so a retry is answered within the hint it was given, never blocked for the length
    /// of an original that may be slow or dead.
    pub duplicate_wait: Duration,
    /// Poll interval of a duplicate waiting on another replica's in-flight original.
    pub duplicate_poll: Duration,
    /// Attempts of a failing background job (token refresh, auto refund) before it is parked as failed.
    pub max_job_attempts: u32,
    /// Capacity of the call-record queue between the Alipay client and the store writer. When full, the caller
    /// waits (in a spawned task) rather than dropping a record.
    pub call_record_buffer: usize,
    /// Age after which a non-final payment, refund or capture without an active job is re-enqueued by the
    /// reconciler's sweep: a safety net only, since every intent commits with its job.
    pub stale_after: Duration,
    /// How long payment events stay streamable; a cursor older than this gets `CursorExpired`. The contract
    /// promises at least 7 days.
    pub event_retention: Duration,
    /// How often the event stream head is re-read: the bound on how late an event committed by another replica
    /// reaches this replica's streams (this replica's own events are seen at once).
    pub event_poll_interval: Duration,
    /// How often the reconciler deletes events past retention.
    pub event_prune_interval: Duration,
    /// Events buffered per stream for a consumer that reads slower than events arrive.
    pub event_buffer: usize,
    /// Seals and opens wallet tokens at rest (and stored notification bodies).
    pub token_cipher: TokenCipher,
    /// `<public base>/alipay/notify`: sent as paymentNotifyUrl / refundNotifyUrl / authNotifyUrl on every call that
    /// takes one (never part of a fingerprint); `None` leaves the dashboard's URL in charge.
    pub notify_url: Option<String>,
    /// The AVS / CVV verdicts that void an approved MANUAL card authorization at once (`card_void_on`).
    pub card_void_policy: CardVoidPolicy,
}

impl EngineConfig {
    /// The documented defaults with the given token cipher (the one setting without a sensible default).
    pub fn new(token_cipher: TokenCipher) -> Self {
        Self {
            call_attempts: 3,
            retry_backoff: Duration::from_millis(200),
            inquiry_interval: Duration::from_secs(3),
            max_inquiries: 20,
            buyer_action_window: Duration::from_secs(14 * 60),
            buyer_action_grace: Duration::from_secs(60),
            buyer_inquiry_max_interval: Duration::from_secs(30),
            write_ahead_grace: Duration::from_secs(60),
            job_lease: Duration::from_secs(30),
            idempotency_lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            claim_batch: 16,
            token_refresh_margin: Duration::from_secs(300),
            duplicate_wait: Duration::from_secs(3),
            duplicate_poll: Duration::from_millis(100),
            max_job_attempts: 10,
            call_record_buffer: 1024,
            stale_after: Duration::from_secs(300),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            event_poll_interval: Duration::from_millis(250),
            event_prune_interval: Duration::from_secs(600),
            event_buffer: 256,
            token_cipher,
            notify_url: None,
            card_void_policy: CardVoidPolicy::default(),
        }
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("call_attempts", &self.call_attempts)
            .field("retry_backoff", &self.retry_backoff)
            .field("inquiry_interval", &self.inquiry_interval)
            .field("max_inquiries", &self.max_inquiries)
            .field("buyer_action_window", &self.buyer_action_window)
            .field("buyer_action_grace", &self.buyer_action_grace)
            .field(
                "buyer_inquiry_max_interval",
                &self.buyer_inquiry_max_interval,
            )
            .field("write_ahead_grace", &self.write_ahead_grace)
            .field("job_lease", &self.job_lease)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("event_retention", &self.event_retention)
            .field("token_cipher", &"[redacted]")
            .field("notify_url", &self.notify_url)
            .field("card_void_policy", &self.card_void_policy)
            .finish_non_exhaustive()
    }
}
