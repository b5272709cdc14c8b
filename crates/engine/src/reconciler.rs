//! The durable reconciler: claims due jobs with leases (several replicas may share one store; a job is handed to
//! exactly one of them and a payment never has two active pollers) and carries out Alipay's result-process logic:
//! inquire at an interval up to a bound (for a payment waiting for the buyer: with back-off until it expires), then
//! cancel (retried while U), and refund what is past its cancel window.

use std::future::Future;
use std::time::Duration;

use alipay::ResultCode;
use chrono::{DateTime, Utc};
use store::captures::Capture;
use store::jobs::{Job, JobKind, NewJob};
use store::payments::Payment;
use store::refunds::Refund;
use store::{BindingStatus, Lifecycle, OperationStatus, PaymentStatus, StoreError};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::binding::binding_lock_key;
use crate::card_void::VoidReason;
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::inquiry::Verdict;
use crate::operation::{Operation, Progress};
use crate::pay::{CancelResult, pay_lock_key};
use crate::settle::Tracked;
use crate::{Engine, after, plus};

/// What to do with a job after a run.
#[derive(Debug)]
enum Next {
    /// Finished.
    Done,
    /// Run again after this delay (the note explains why).
    Retry(Duration, String),
    /// Give up and leave it for support.
    Escalate(String),
}

/// Where a cancel attempt left a job.
enum CancelStep {
    /// Settled or refused: this is what the job does next.
    Decided(Next),
    /// Still unknown (the note says why).
    Unknown(String),
}

impl Engine {
    /// Runs the reconciler until `shutdown` resolves: claims due jobs and runs them concurrently, and periodically
    /// sweeps for unfinished payments that lost their job. Jobs interrupted by shutdown keep their lease until it
    /// expires and then resume on any replica.
    pub async fn run_reconciler(
        &self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), EngineError> {
        tokio::pin!(shutdown);
        let sweep_every = (self.config().stale_after / 4).max(Duration::from_secs(1));
        let mut next_sweep = tokio::time::Instant::now();
        let mut next_prune = tokio::time::Instant::now();
        tracing::info!(owner = %self.inner.owner, "reconciler started");
        loop {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(error) = self.sweep_stale().await {
                    tracing::error!(%error, "stale payment sweep failed");
                }
                next_sweep = tokio::time::Instant::now() + sweep_every;
            }
            if tokio::time::Instant::now() >= next_prune {
                match self.prune_events().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "pruned payment events past retention"),
                    Err(error) => tracing::error!(%error, "pruning payment events failed"),
                }
                next_prune = tokio::time::Instant::now() + self.config().event_prune_interval;
            }
            let claimed = self.run_due_jobs().await;
            let pause = match claimed {
                Ok(0) => self.config().poll_interval,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::error!(%error, "claiming jobs failed");
                    self.config().poll_interval
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("reconciler stopped");
        Ok(())
    }

    /// Claims one batch of due jobs and runs them to the end of this round. Returns how many were claimed.
    pub(crate) async fn run_due_jobs(&self) -> Result<usize, EngineError> {
        let config = self.config();
        let batch = u32::try_from(config.claim_batch)
            .unwrap_or(u32::MAX)
            .clamp(1, 1000);
        let jobs = self
            .store()
            .jobs()
            .claim_due(&self.inner.owner, batch, config.job_lease)
            .await?;
        let count = jobs.len();
        let mut running = JoinSet::new();
        for job in jobs {
            let engine = self.clone();
            let span = tracing::info_span!("job", kind = ?job.kind, subject = %job.subject_id, attempt = job.attempts);
            let telemetry = crate::telemetry::job_span(&job);
            let run_span = telemetry.clone();
            running.spawn(
                async move { engine.run_job(job, &run_span).await }
                    .instrument(span)
                    .instrument(telemetry),
            );
        }
        while running.join_next().await.is_some() {}
        Ok(count)
    }

    async fn run_job(&self, job: Job, telemetry: &tracing::Span) {
        let next = match self.dispatch(&job).await {
            Ok(next) => next,
            Err(error)
                if job.attempts
                    >= i32::try_from(self.config().max_job_attempts).unwrap_or(i32::MAX) =>
            {
                Next::Escalate(format!(
                    "giving up after {} attempts: {error}",
                    job.attempts
                ))
            }
            Err(error) => Next::Retry(self.config().inquiry_interval, error.to_string()),
        };
        let jobs = self.store().jobs();
        let owner = &self.inner.owner;
        let written = match &next {
            Next::Done => jobs.complete(&job.id, owner).await,
            Next::Retry(delay, note) => {
                jobs.reschedule(&job.id, owner, after(*delay), Some(note))
                    .await
            }
            Next::Escalate(note) => {
                tracing::error!(note = %note, "job needs support");
                jobs.fail(&job.id, owner, note).await
            }
        };
        let outcome = match written {
            Ok(_) => {
                tracing::debug!(?next, "job run recorded");
                match next {
                    Next::Done => "done",
                    Next::Retry(..) => "retry",
                    Next::Escalate(_) => "escalated",
                }
            }
            // The lease expired and another replica owns the job now; its run decides.
            Err(StoreError::LeaseNotHeld { .. }) => {
                tracing::warn!("job lease lost during the run");
                "lease_lost"
            }
            Err(error) => {
                tracing::error!(%error, "could not record the job run; it resumes after the lease");
                "not_recorded"
            }
        };
        self.inner
            .reconciler_metrics
            .finished(telemetry, job.kind, outcome);
    }

    async fn dispatch(&self, job: &Job) -> Result<Next, EngineError> {
        match job.kind {
            JobKind::InquirePayment => self.job_inquire_payment(job).await,
            JobKind::CancelPayment => self.job_cancel_payment(job).await,
            JobKind::RefundPayment => self.job_refund_payment(job).await,
            JobKind::InquireRefund => self.job_inquire_refund(job).await,
            JobKind::InquireCapture => self.job_inquire_capture(job).await,
            JobKind::RefreshToken => self.job_refresh_token(job).await,
            JobKind::RevokeTokens => {
                self.revoke_unstored(&job.payload).await?;
                Ok(Next::Done)
            }
            // Boxed: the void's future (lock, cancel, card view) would make every job's future as large.
            JobKind::VoidCard => Box::pin(self.job_void_card(job)).await,
        }
    }

    /// VOID_CARD: the `card_void_on` policy's void of an approved MANUAL authorization, planned with the approval
    /// (from the pay answer, an inquiry or a notification). Done once it is voided, or when nothing is left to void:
    /// a capture made first stands (the policy never takes money back), and a voided payment stays voided.
    async fn job_void_card(&self, job: &Job) -> Result<Next, EngineError> {
        let Some(payment) = self.payment_subject(job).await? else {
            return Ok(Next::Escalate("payment row missing".into()));
        };
        let reason = job.payload.get("reason").and_then(|r| r.as_str());
        let Some(reason) = reason.and_then(VoidReason::from_code) else {
            return Ok(Next::Escalate(format!("unknown void reason {reason:?}")));
        };
        match self
            .void_authorization(&payment.payment_request_id, Some(reason))
            .await
        {
            Ok(_) => Ok(Next::Done),
            Err(EngineError::IllegalState { reason: state, .. }) => {
                tracing::warn!(%reason, state, payment_id = %payment.id, "card_void_on: nothing left to void");
                Ok(Next::Done)
            }
            Err(error) => Err(error),
        }
    }

    async fn payment_subject(&self, job: &Job) -> Result<Option<Payment>, EngineError> {
        Ok(self.store().payments().get(&job.subject_id).await?)
    }

    /// INQUIRE_PAYMENT: poll until the payment is final. A payment nobody has to act on (auto debit, in-store) is
    /// polled at `inquiry_interval` and cancelled after `max_inquiries`. A payment waiting for the buyer (cashier
    /// redirect, challenge) is polled with back-off until its expiry plus a grace, and only then cancelled: the
    /// buyer may still be paying on Alipay's page (alipay-api §4.2). A payment Alipay does not know is cancelled
    /// at once.
    async fn job_inquire_payment(&self, job: &Job) -> Result<Next, EngineError> {
        let payment = match unfinished(self.payment_subject(job).await?) {
            Ok(payment) => payment,
            Err(next) => return Ok(next),
        };
        let span =
            tracing::info_span!("reconcile", payment_request_id = %payment.payment_request_id);
        async {
            let _guard = self
                .inner
                .locks
                .lock(&pay_lock_key(&payment.payment_request_id))
                .await;
            let (payment, verdict) = self.inquire_and_apply(payment).await?;
            let note = match verdict {
                Verdict::Final => return Ok(Next::Done),
                Verdict::NotFound => {
                    tracing::info!("Alipay does not know the payment; cancelling with the same id");
                    return self.cancel_and_follow_up(payment).await;
                }
                Verdict::Pending => "still processing".to_owned(),
                Verdict::Unknown(note) => note,
            };
            match self.buyer_deadline(&payment) {
                Some(deadline) => {
                    let remaining = (deadline - chrono::Utc::now()).to_std().ok();
                    match remaining.filter(|r| !r.is_zero()) {
                        Some(remaining) => Ok(Next::Retry(
                            buyer_wait_interval(self.config(), job.attempts, remaining),
                            format!("waiting for the buyer: {note}"),
                        )),
                        None => {
                            tracing::warn!(
                                inquiries = job.attempts,
                                "the buyer did not finish before the payment expired; cancelling"
                            );
                            self.cancel_and_follow_up(payment).await
                        }
                    }
                }
                None if self.inquiries_exhausted(job) => {
                    tracing::warn!(
                        inquiries = job.attempts,
                        "no final result after the inquiry budget; cancelling"
                    );
                    self.cancel_and_follow_up(payment).await
                }
                None => Ok(Next::Retry(self.config().inquiry_interval, note)),
            }
        }
        .instrument(span)
        .await
    }

    /// When the reconciler may give up on a payment that waits for the buyer (PROCESSING with a `next_action`):
    /// the caller's `paymentExpiryTime`, else create time + `buyer_action_window` (Alipay's default), plus
    /// `buyer_action_grace` for Alipay's final answer. `None` when nobody has to act on the payment.
    fn buyer_deadline(&self, payment: &Payment) -> Option<DateTime<Utc>> {
        if payment.status != PaymentStatus::Processing || payment.next_action.is_none() {
            return None;
        }
        let config = self.config();
        let expiry = payment
            .payment_expiry_time
            .unwrap_or_else(|| plus(payment.created_at, config.buyer_action_window));
        Some(plus(expiry, config.buyer_action_grace))
    }

    /// Cancels now; whatever cannot be finished here continues as its own job (so this job can complete).
    async fn cancel_and_follow_up(&self, payment: Payment) -> Result<Next, EngineError> {
        let payment_id = payment.id.clone();
        match self.cancel(payment).await? {
            CancelStep::Decided(next) => Ok(next),
            CancelStep::Unknown(note) => {
                self.store()
                    .jobs()
                    .enqueue(NewJob::new(
                        JobKind::CancelPayment,
                        &payment_id,
                        after(self.config().inquiry_interval),
                    ))
                    .await?;
                tracing::warn!(%note, "cancel outcome unknown; CANCEL_PAYMENT job scheduled");
                Ok(Next::Done)
            }
        }
    }

    /// Cancels at Alipay. A settled or refused cancel decides what the job does next; an unknown outcome is left to
    /// the caller, whose follow-up depends on which job it is.
    async fn cancel(&self, payment: Payment) -> Result<CancelStep, EngineError> {
        Ok(match self.cancel_at_alipay(payment).await? {
            CancelResult::Settled(_) => CancelStep::Decided(Next::Done),
            CancelResult::Declined {
                payment,
                code,
                message,
            } => CancelStep::Decided(self.cancel_declined(payment, &code, &message).await?),
            CancelResult::Unknown(note) => CancelStep::Unknown(note),
        })
    }

    /// Cancel refused: past the window (or already final at Alipay). Learn the real state; a payment that succeeded
    /// after we gave up on it is reversed with an automatic full refund (seed 002: refund when cancel is no longer
    /// possible).
    async fn cancel_declined(
        &self,
        payment: Payment,
        code: &str,
        message: &str,
    ) -> Result<Next, EngineError> {
        tracing::warn!(%code, %message, "cancel declined");
        let known_code = ResultCode::parse(code);
        if known_code != ResultCode::CancelWindowExceed
            && known_code != ResultCode::OrderStatusInvalid
        {
            return Ok(Next::Escalate(format!(
                "cancel declined: {code}: {message}"
            )));
        }
        self.store()
            .jobs()
            .enqueue(NewJob::new(
                JobKind::RefundPayment,
                &payment.id,
                after(Duration::ZERO),
            ))
            .await?;
        Ok(Next::Done)
    }

    /// CANCEL_PAYMENT: retry the cancel while its outcome is unknown, bounded by `max_job_attempts`.
    async fn job_cancel_payment(&self, job: &Job) -> Result<Next, EngineError> {
        let payment = match unfinished(self.payment_subject(job).await?) {
            Ok(payment) => payment,
            Err(next) => return Ok(next),
        };
        let _guard = self
            .inner
            .locks
            .lock(&pay_lock_key(&payment.payment_request_id))
            .await;
        match self.cancel(payment).await? {
            CancelStep::Decided(next) => Ok(next),
            CancelStep::Unknown(note) if self.job_exhausted(job) => {
                Ok(Next::Escalate(format!("cancel still unknown: {note}")))
            }
            CancelStep::Unknown(note) => Ok(Next::Retry(self.config().inquiry_interval, note)),
        }
    }

    /// REFUND_PAYMENT: the automatic full refund of a payment we could not cancel. Waits for the payment to be
    /// final first; only a SUCCESS payment is refunded.
    async fn job_refund_payment(&self, job: &Job) -> Result<Next, EngineError> {
        let Some(mut payment) = self.payment_subject(job).await? else {
            return Ok(Next::Escalate("payment row missing".into()));
        };
        if !payment.status.is_final() {
            let (current, _) = self.inquire_and_apply(payment).await?;
            payment = current;
        }
        match payment.status {
            PaymentStatus::Success => {
                let refund = self.auto_refund(&payment).await?;
                match refund.status {
                    OperationStatus::Fail => Ok(Next::Escalate(format!(
                        "automatic refund failed: {}",
                        refund.last_result_code.unwrap_or_default()
                    ))),
                    // SUCCESS, or PROCESSING with its own INQUIRE_REFUND job.
                    _ => Ok(Next::Done),
                }
            }
            PaymentStatus::Fail | PaymentStatus::Cancelled => Ok(Next::Done),
            PaymentStatus::Created | PaymentStatus::Processing if self.job_exhausted(job) => Ok(
                Next::Escalate("payment still unresolved; cannot cancel or refund".into()),
            ),
            PaymentStatus::Created | PaymentStatus::Processing => Ok(Next::Retry(
                self.config().inquiry_interval,
                "waiting for a final payment status".into(),
            )),
        }
    }

    /// INQUIRE_REFUND: poll until final; a refund Alipay never received is re-sent with the same id.
    async fn job_inquire_refund(&self, job: &Job) -> Result<Next, EngineError> {
        let refund = match unfinished(self.store().refunds().get(&job.subject_id).await?) {
            Ok(refund) => refund,
            Err(next) => return Ok(next),
        };
        let _guard = self
            .inner
            .locks
            .lock(&Refund::lock_key(&refund.refund_request_id))
            .await;
        let (_, progress) = self.inquire_refund_and_apply(refund, true).await?;
        Ok(self.after_inquiry::<Refund>(job, progress))
    }

    /// INQUIRE_CAPTURE: poll inquiryPayment's transactions until the capture is final.
    async fn job_inquire_capture(&self, job: &Job) -> Result<Next, EngineError> {
        let capture = match unfinished(self.store().captures().get(&job.subject_id).await?) {
            Ok(capture) => capture,
            Err(next) => return Ok(next),
        };
        let _guard = self
            .inner
            .locks
            .lock(&Capture::lock_key(&capture.capture_request_id))
            .await;
        let progress = self.inquire_capture_and_apply(capture).await?;
        Ok(self.after_inquiry::<Capture>(job, progress))
    }

    /// REFRESH_TOKEN: refresh when due (expiry − margin), then reschedule this job for the next expiry.
    async fn job_refresh_token(&self, job: &Job) -> Result<Next, EngineError> {
        let _guard = self
            .inner
            .locks
            .lock(&binding_lock_key(&job.subject_id))
            .await;
        let Some(binding) = self.bindings().get(&job.subject_id).await? else {
            return Ok(Next::Escalate("binding row missing".into()));
        };
        if binding.status == BindingStatus::Revoked || binding.credentials.refresh_token.is_none() {
            return Ok(Next::Done);
        }
        let due = self.refresh_due_at(&binding);
        let binding = if due <= chrono::Utc::now() || binding.status == BindingStatus::Expired {
            match self.refresh_tokens(binding).await {
                Ok(refreshed) => refreshed,
                Err(EngineError::BindingInactive { .. } | EngineError::Declined { .. }) => {
                    return Ok(Next::Done);
                }
                Err(other) => return Err(other),
            }
        } else {
            binding
        };
        let wait = (self.refresh_due_at(&binding) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        Ok(Next::Retry(wait, "next refresh".into()))
    }

    /// Brings the PENDING write-ahead job of `subject_id` forward to one inquiry interval from now, once the call it
    /// guarded has answered without a final result. Its grace only exists so the job cannot race a call still on the
    /// wire; waiting it out after the call returned would delay the first inquiry for nothing. A job a replica holds
    /// already runs, so there is nothing to move then. Best effort: the answer is already recorded, and should the
    /// store refuse this write the job still runs, only later, so the caller is not told of a failure.
    pub(crate) async fn pull_forward(&self, kind: JobKind, subject_id: &str) {
        let run_at = after(self.config().inquiry_interval);
        match self
            .store()
            .jobs()
            .reschedule_pending(kind, subject_id, run_at)
            .await
        {
            Ok(moved) => tracing::debug!(?kind, moved, "follow-up job pulled forward"),
            Err(error) => {
                tracing::warn!(?kind, %error, "could not pull the follow-up job forward; it runs after the grace")
            }
        }
    }

    fn job_exhausted(&self, job: &Job) -> bool {
        job.attempts >= i32::try_from(self.config().max_job_attempts).unwrap_or(i32::MAX)
    }

    fn inquiries_exhausted(&self, job: &Job) -> bool {
        job.attempts >= i32::try_from(self.config().max_inquiries).unwrap_or(i32::MAX)
    }

    /// What an operation's inquiry job does next: done when final, else ask again until the inquiry budget is
    /// spent, then leave it for support.
    fn after_inquiry<T: Tracked>(&self, job: &Job, progress: Progress) -> Next {
        match progress {
            Progress::Final => Next::Done,
            Progress::Pending(note) | Progress::Unanswered(note)
                if self.inquiries_exhausted(job) =>
            {
                Next::Escalate(format!(
                    "{} unresolved after the inquiry budget: {note}",
                    T::WHAT
                ))
            }
            Progress::Pending(note) | Progress::Unanswered(note) => {
                Next::Retry(self.config().inquiry_interval, note)
            }
        }
    }

    /// The safety net under the write-ahead jobs: re-enqueues an inquiry for every non-final payment, refund and
    /// capture that has gone `stale_after` without an update and has no active job (its job escalated, or the row
    /// predates intents and jobs committing together), so nothing is left unresolved forever.
    async fn sweep_stale(&self) -> Result<(), EngineError> {
        let older_than = chrono::Utc::now()
            - chrono::Duration::from_std(self.config().stale_after).unwrap_or_default();
        let store = self.store();
        let payments = store
            .payments()
            .list_stale_unfinished(older_than, SWEEP_BATCH)
            .await?;
        let refunds = store
            .refunds()
            .list_stale_unfinished(older_than, SWEEP_BATCH)
            .await?;
        let captures = store
            .captures()
            .list_stale_unfinished(older_than, SWEEP_BATCH)
            .await?;
        let stale: [(&str, Vec<String>, &[JobKind]); 3] = [
            (
                "payment",
                payments.into_iter().map(|p| p.id).collect(),
                &[
                    JobKind::InquirePayment,
                    JobKind::CancelPayment,
                    JobKind::RefundPayment,
                ],
            ),
            (
                "refund",
                refunds.into_iter().map(|r| r.id).collect(),
                &[Refund::INQUIRY],
            ),
            (
                "capture",
                captures.into_iter().map(|c| c.id).collect(),
                &[Capture::INQUIRY],
            ),
        ];
        for (what, subjects, kinds) in stale {
            self.requeue_orphans(what, &subjects, kinds).await?;
        }
        Ok(())
    }

    /// Enqueues `kinds[0]` due now for each subject that has no active job of any of `kinds`.
    async fn requeue_orphans(
        &self,
        what: &str,
        subjects: &[String],
        kinds: &[JobKind],
    ) -> Result<(), EngineError> {
        let jobs = self.store().jobs();
        for subject in subjects {
            let mut active = false;
            for kind in kinds {
                active |= jobs.find_active(*kind, subject).await?.is_some();
            }
            if !active {
                tracing::warn!(what, subject, "unfinished without a job; re-enqueued");
                jobs.enqueue(NewJob::new(kinds[0], subject, after(Duration::ZERO)))
                    .await?;
            }
        }
        Ok(())
    }
}

/// Rows of each kind the stale sweep looks at per round.
const SWEEP_BATCH: u64 = 100;

/// Next inquiry of a payment waiting for the buyer after its `runs`-th inquiry: `inquiry_interval` doubled per run
/// up to `buyer_inquiry_max_interval`, and never past the deadline (`remaining`), so the cancel is not late.
fn buyer_wait_interval(config: &EngineConfig, runs: i32, remaining: Duration) -> Duration {
    let doublings = u32::try_from(runs.saturating_sub(1)).unwrap_or(0).min(16);
    config
        .inquiry_interval
        .saturating_mul(1 << doublings)
        .min(
            config
                .buyer_inquiry_max_interval
                .max(config.inquiry_interval),
        )
        .min(remaining)
}

/// The job's subject if it still needs work; otherwise what the job does instead (a missing row goes to support,
/// a final one needs nothing more).
fn unfinished<T: Tracked>(row: Option<T>) -> Result<T, Next> {
    match row {
        None => Err(Next::Escalate(format!("{} row missing", T::WHAT))),
        Some(row) if row.row_status().is_final() => Err(Next::Done),
        Some(row) => Ok(row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_inquiries_back_off_up_to_the_cap_and_stop_at_the_deadline() {
        let cipher = store::TokenCipher::from_key_bytes(&[1; 32]).unwrap();
        let config = EngineConfig::new(cipher);
        let far = Duration::from_secs(3600);
        let secs: Vec<u64> = (1..=7)
            .map(|run| buyer_wait_interval(&config, run, far).as_secs())
            .collect();
        assert_eq!(secs, [3, 6, 12, 24, 30, 30, 30]);
        assert_eq!(
            buyer_wait_interval(&config, i32::MAX, far),
            Duration::from_secs(30)
        );
        assert_eq!(buyer_wait_interval(&config, 0, far), Duration::from_secs(3));
        assert_eq!(
            buyer_wait_interval(&config, 5, Duration::from_millis(700)),
            Duration::from_millis(700)
        );
        // A default 14-minute window costs tens of inquiries, not the hundreds of a fixed 3 s interval.
        let (mut waited, mut runs) = (Duration::ZERO, 0);
        while waited < config.buyer_action_window {
            runs += 1;
            waited += buyer_wait_interval(&config, runs, far);
        }
        assert!(runs < 40, "{runs} inquiries");
    }
}
