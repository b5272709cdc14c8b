//! The flow refunds and captures share. Both are follow-up operations on a payment that Alipay keys by a request id
//! of their own and answers with the same S/F/U envelope, so one piece of code carries them: the per-key lock, the
//! replay of a known request id, the write-ahead intent with its inquiry job, the call with bounded same-id retries,
//! the guarded move, the pull-forward of the inquiry job, and the caller's answer. [`crate::refund`] and
//! [`crate::capture`] add only what differs: their checks, their request, and how their inquiry reads Alipay.

use std::future::Future;
use std::time::Duration;

use alipay::model::{CaptureResponse, RefundResponse};
use alipay::{CallError, Outcome, Reply, ResultCode};
use chrono::{DateTime, Utc};
use store::captures::{Capture, NewCapture};
use store::jobs::{JobKind, NewJob};
use store::payments::Payment;
use store::refunds::{NewRefund, Refund};
use store::{
    Inserted, OperationStatus, OperationUpdate, ResultInfo, Store, StoreError, Transition,
};

use crate::error::EngineError;
use crate::pay::{result_info, truncate};
use crate::recorder::HeldCalls;
use crate::retry::{Attempted, with_retries};
use crate::settle::{Tracked, await_original, settle_recording};
use crate::{Engine, after};

/// What an inquiry of a refund or capture established.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// SUCCESS or FAIL recorded.
    Final,
    /// Ask again later.
    Pending(String),
    /// Alipay gave no answer (unreachable, timed out, unverifiable): ask again later, and tell a live caller that
    /// nothing was learned rather than answering with the stored record.
    Unanswered(String),
}

/// A refund-like row: its own request id (Alipay's idempotency key), its own table and its own inquiry job.
pub(crate) trait Operation:
    Tracked<Status = OperationStatus> + Send + Sync + 'static
{
    /// What the write-ahead intent carries.
    type New: Send;
    /// Alipay's answer to the operation call.
    type Response: Send;
    /// The job that resolves a PROCESSING row.
    const INQUIRY: JobKind;
    /// Audit source of a move caused by Alipay's answer (or by its absence).
    const RESPONSE_SOURCE: &'static str;
    /// Audit source of a move caused by a request that could not be sent.
    const REJECTED_SOURCE: &'static str;
    /// Whether a PROCESSING row whose last answer was the endpoint's in-process code is returned to the caller as
    /// accepted (Alipay acknowledged it and the reconciler follows up) instead of as `Unavailable`.
    const ACCEPTED_WHEN_IN_PROCESS: bool;

    fn request_id(&self) -> &str;
    fn request_fingerprint(&self) -> &str;
    /// The gateway's id of the payment the operation belongs to.
    fn payment_id(&self) -> &str;
    fn last_result_code(&self) -> Option<&str>;
    fn last_result_message(&self) -> Option<&str>;
    /// What Alipay's answer adds to the row.
    fn answered(body: &Self::Response) -> OperationUpdate;

    /// The write-ahead intent with its inquiry job due at `inquire_at`, in one transaction.
    fn insert_intent(
        store: &Store,
        new: Self::New,
        inquire_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Inserted<Self>, StoreError>> + Send;
    fn get(
        store: &Store,
        id: &str,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;
    fn get_by_request_id(
        store: &Store,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;
    /// The guarded move of `before`, the row as read (see [`store::payments::Payments::transition_from`]).
    fn transition(
        store: &Store,
        before: &Self,
        transition: Transition<OperationStatus>,
        update: OperationUpdate,
    ) -> impl Future<Output = Result<Self, StoreError>> + Send;

    /// The in-process lock key of a request id, shared by the API call and the reconciler's job so they never
    /// work on the same operation at once.
    fn lock_key(request_id: &str) -> String {
        format!("{}:{request_id}", Self::WHAT)
    }
}

/// Implements [`Operation`] for a store row type whose repository and columns follow the shared layout.
macro_rules! operation_row {
    (
        $row:ty, $new:ty, $response:ty, $repo:ident, $request_id:ident, $alipay_id:ident,
        inquiry: $inquiry:expr, sources: ($response_source:literal, $rejected_source:literal),
        accepted_when_in_process: $accepted:literal
    ) => {
        impl Operation for $row {
            type New = $new;
            type Response = $response;
            const INQUIRY: JobKind = $inquiry;
            const RESPONSE_SOURCE: &'static str = $response_source;
            const REJECTED_SOURCE: &'static str = $rejected_source;
            const ACCEPTED_WHEN_IN_PROCESS: bool = $accepted;

            fn request_id(&self) -> &str {
                &self.$request_id
            }
            fn request_fingerprint(&self) -> &str {
                &self.request_fingerprint
            }
            fn payment_id(&self) -> &str {
                &self.payment_id
            }
            fn last_result_code(&self) -> Option<&str> {
                self.last_result_code.as_deref()
            }
            fn last_result_message(&self) -> Option<&str> {
                self.last_result_message.as_deref()
            }
            fn answered(body: &$response) -> OperationUpdate {
                OperationUpdate {
                    alipay_id: body.$alipay_id.clone(),
                    result: Some(result_info(&body.result)),
                }
            }

            async fn insert_intent(
                store: &Store,
                new: $new,
                inquire_at: DateTime<Utc>,
            ) -> Result<Inserted<Self>, StoreError> {
                store.$repo().insert_intent(new, inquire_at).await
            }
            async fn get(store: &Store, id: &str) -> Result<Option<Self>, StoreError> {
                store.$repo().get(id).await
            }
            async fn get_by_request_id(
                store: &Store,
                request_id: &str,
            ) -> Result<Option<Self>, StoreError> {
                store.$repo().get_by_request_id(request_id).await
            }
            async fn transition(
                store: &Store,
                before: &Self,
                transition: Transition<OperationStatus>,
                update: OperationUpdate,
            ) -> Result<Self, StoreError> {
                store
                    .$repo()
                    .transition_from(before, transition, update)
                    .await
            }
        }
    };
}

// Alipay acknowledges a refund it will finish later with REFUND_IN_PROCESS, and the refund API reports that to the
// caller as accepted; a capture still in process is answered `Unavailable` until it is final.
operation_row!(
    Refund, NewRefund, RefundResponse, refunds, refund_request_id, refund_id,
    inquiry: JobKind::InquireRefund, sources: ("refund_response", "refund_rejected"),
    accepted_when_in_process: true
);
operation_row!(
    Capture, NewCapture, CaptureResponse, captures, capture_request_id, capture_id,
    inquiry: JobKind::InquireCapture, sources: ("capture_response", "capture_rejected"),
    accepted_when_in_process: false
);

impl Engine {
    /// The whole API flow of an operation, idempotent per `request_id`: a known request id is replayed (same
    /// `print` → the recorded answer; different → `RequestMismatch`); otherwise `prepare` runs the kind's own checks
    /// (nothing is written when they fail) and yields the intent plus what `send` needs to call Alipay.
    pub(crate) async fn run_operation<T, C, P, S, SF>(
        &self,
        request_id: &str,
        print: &str,
        prepare: P,
        send: S,
    ) -> Result<T, EngineError>
    where
        T: Operation,
        P: Future<Output = Result<(T::New, C), EngineError>>,
        S: FnOnce(T, C) -> SF,
        SF: Future<Output = Result<T, EngineError>>,
    {
        let Some(_guard) = self
            .inner
            .locks
            .lock_within(&T::lock_key(request_id), self.config().duplicate_wait)
            .await
        else {
            // The original is still running in this process: answer from what it has recorded so far.
            return match T::get_by_request_id(self.store(), request_id).await? {
                // The wait for the lock used up the duplicate's patience: answer from the row as it stands.
                Some(existing) => self.replay_operation(existing, print, Duration::ZERO).await,
                None => Err(self.pending()),
            };
        };
        if let Some(existing) = T::get_by_request_id(self.store(), request_id).await? {
            return self
                .replay_operation(existing, print, self.config().duplicate_wait)
                .await;
        }
        let (new, context) = prepare.await?;
        let row = match self.operation_intent::<T>(new).await? {
            Inserted::Created(row) => row,
            Inserted::Existing(row) => {
                return self
                    .replay_operation(row, print, self.config().duplicate_wait)
                    .await;
            }
        };
        let row = send(row, context).await?;
        self.operation_answer(row)
    }

    /// Write-ahead: the CREATED row and its inquiry job commit together before Alipay hears of the operation. The
    /// job's first run is after the longest possible in-flight call, so it never races the call.
    pub(crate) async fn operation_intent<T: Operation>(
        &self,
        new: T::New,
    ) -> Result<Inserted<T>, EngineError> {
        let inquire_at = after(self.config().write_ahead_grace);
        Ok(T::insert_intent(self.store(), new, inquire_at).await?)
    }

    /// Answers a duplicate: compare fingerprints, wait (at most `wait`) for an in-flight original on another
    /// replica, then answer from the stored row exactly as the original call did.
    async fn replay_operation<T: Operation>(
        &self,
        existing: T,
        print: &str,
        wait: Duration,
    ) -> Result<T, EngineError> {
        if existing.request_fingerprint() != print {
            return Err(EngineError::RequestMismatch {
                request_id: existing.request_id().to_owned(),
            });
        }
        let config = self.config();
        let store = self.store();
        let current = await_original(existing, wait, config.duplicate_poll, |id| async move {
            T::get(store, &id).await
        })
        .await?;
        self.operation_answer(current)
    }

    /// The caller's answer for a stored operation (same for the original call and replays).
    fn operation_answer<T: Operation>(&self, row: T) -> Result<T, EngineError> {
        let accepted = T::ACCEPTED_WHEN_IN_PROCESS
            && row
                .last_result_code()
                .is_some_and(|c| ResultCode::parse(c).is_in_process());
        match row.row_status() {
            OperationStatus::Success => Ok(row),
            OperationStatus::Processing if accepted => Ok(row),
            OperationStatus::Fail => Err(EngineError::Declined {
                code: row.last_result_code().unwrap_or("PROCESS_FAIL").to_owned(),
                message: row.last_result_message().unwrap_or_default().to_owned(),
            }),
            OperationStatus::Processing | OperationStatus::Created => Err(self.pending()),
        }
    }

    /// The operation call with bounded same-id retries, and its effect on the stored row. Only Alipay's S makes it
    /// SUCCESS; anything unknown leaves it PROCESSING with its inquiry job brought forward.
    pub(crate) async fn send_operation<T, F, Fut>(&self, row: T, call: F) -> Result<T, EngineError>
    where
        T: Operation,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Reply<T::Response>, CallError>>,
    {
        let config = self.config();
        // The call records are written with the answer they bring (see `Recorder::holding`).
        let (attempted, held) = self
            .recorder()
            .holding(with_retries(
                config.call_attempts,
                config.retry_backoff,
                call,
            ))
            .await;
        let (to, source, update, rejected) = match attempted {
            Attempted::Answer(reply) => {
                let to = match reply.outcome {
                    Outcome::Success => OperationStatus::Success,
                    Outcome::Failed { .. } => OperationStatus::Fail,
                    Outcome::InProcess | Outcome::Unknown { .. } => OperationStatus::Processing,
                };
                (to, T::RESPONSE_SOURCE, T::answered(&reply.body), None)
            }
            Attempted::Unknown { reason, .. } => {
                tracing::warn!(what = T::WHAT, %reason, "outcome unknown after retries; the inquiry job takes over");
                (
                    OperationStatus::Processing,
                    T::RESPONSE_SOURCE,
                    unknown_update("OUTCOME_UNKNOWN", &reason),
                    None,
                )
            }
            Attempted::Rejected(error) => {
                tracing::error!(what = T::WHAT, error = %error, "request could not be sent");
                (
                    OperationStatus::Processing,
                    T::REJECTED_SOURCE,
                    unknown_update("NOT_SENT", &error.to_string()),
                    Some(error),
                )
            }
        };
        let row = self
            .move_operation(row, to, source, update, Some(held))
            .await?;
        if row.row_status() == OperationStatus::Processing {
            self.pull_forward(T::INQUIRY, row.row_id()).await;
        }
        match rejected {
            Some(error) => Err(EngineError::Alipay(error)),
            None => Ok(row),
        }
    }

    /// Guarded move (see [`crate::settle`]). A PROCESSING row gets its inquiry poller in the same transaction (a
    /// no-op when the write-ahead job is still active); `held` call records are written with it (see
    /// [`crate::settle::settle_recording`]).
    pub(crate) async fn move_operation<T: Operation>(
        &self,
        row: T,
        to: OperationStatus,
        source: &str,
        update: OperationUpdate,
        held: Option<HeldCalls>,
    ) -> Result<T, EngineError> {
        let store = self.store();
        let mut transition = Transition::new(to, source);
        if let Some(result) = &update.result {
            transition = transition.with_reason(result.code.clone());
        }
        if to == OperationStatus::Processing {
            let interval = self.config().inquiry_interval;
            transition =
                transition.with_follow_up(NewJob::new(T::INQUIRY, row.row_id(), after(interval)));
        }
        let moved = settle_recording(
            row,
            transition,
            held,
            |before: T, transition| {
                let update = update.clone();
                async move { T::transition(store, &before, transition, update).await }
            },
            |id| async move { T::get(store, &id).await },
        )
        .await?
        .row;
        tracing::info!(what = T::WHAT, status = ?moved.row_status(), code = ?moved.last_result_code(), "status recorded");
        Ok(moved)
    }

    /// The payment an operation belongs to.
    pub(crate) async fn payment_of<T: Operation>(&self, row: &T) -> Result<Payment, EngineError> {
        self.store()
            .payments()
            .get(row.payment_id())
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "payment",
                id: row.payment_id().to_owned(),
            })
    }
}

/// The record of a call without a usable answer.
fn unknown_update(code: &str, reason: &str) -> OperationUpdate {
    OperationUpdate {
        alipay_id: None,
        result: Some(ResultInfo {
            status: store::ResultStatus::Unknown,
            code: code.into(),
            message: Some(truncate(reason, 256)),
        }),
    }
}
