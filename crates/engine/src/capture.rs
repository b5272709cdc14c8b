//! Captures of authorized payments: write-ahead intent, the capture call retried with the same captureRequestId,
//! and INQUIRE_CAPTURE (via `inquiryPayment.transactions[]`, as Alipay documents) when the outcome is unknown.

use alipay::Outcome;
use alipay::model::{
    CaptureRequest, InquiryPaymentRequest, PaymentStatus as AlipayStatus, TransactionType,
};
use store::captures::{Capture, NewCapture};
use store::jobs::{JobKind, NewJob};
use store::{
    Inserted, Lifecycle, OperationStatus, OperationUpdate, PaymentStatus, ResultInfo, Transition,
};
use tracing::Instrument;

use crate::commands::CaptureCommand;
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::pay::{IN_STORE, MANUAL_CAPTURE, amount_value, result_info, truncate};
use crate::refund::RefundProgress;
use crate::retry::{Attempted, with_retries};
use crate::settle::settle;
use crate::{Engine, after, reasons, validate};

impl Engine {
    /// Captures (part of) an authorized payment. Idempotent per `capture_request_id`.
    pub async fn capture(&self, cmd: CaptureCommand) -> Result<Capture, EngineError> {
        validate::capture(&cmd)?;
        let span = tracing::info_span!(
            "capture",
            capture_request_id = %cmd.capture_request_id,
            payment_request_id = %cmd.payment_request_id
        );
        self.capture_inner(cmd).instrument(span).await
    }

    async fn capture_inner(&self, cmd: CaptureCommand) -> Result<Capture, EngineError> {
        let print = fingerprint(&cmd);
        let _guard = self
            .inner
            .locks
            .lock(&format!("capture:{}", cmd.capture_request_id))
            .await;
        let captures = self.store().captures();
        if let Some(existing) = captures.get_by_request_id(&cmd.capture_request_id).await? {
            return self.replay_capture(existing, &print).await;
        }
        let payment = self.get_payment(&cmd.payment_request_id).await?;
        let value = amount_value(&cmd.amount.value)?;
        if payment.status != PaymentStatus::Success
            || !payment.is_authorization
            || payment.capture_mode.as_deref() != Some(MANUAL_CAPTURE)
        {
            return Err(EngineError::illegal_state(
                reasons::PAYMENT_NOT_CAPTURABLE,
                format!(
                    "payment is {}{}, only a SUCCESS authorization with manual capture can be captured",
                    payment.status.as_str(),
                    if payment.is_authorization {
                        " (authorization)"
                    } else {
                        " (sale)"
                    }
                ),
            ));
        }
        if cmd.amount.currency != payment.currency {
            return Err(EngineError::invalid(
                "amount.currency",
                format!("must be {}", payment.currency),
            ));
        }
        let committed = captures.committed_amount(&payment.id).await?;
        if committed.saturating_add(value) > payment.amount_value {
            return Err(EngineError::illegal_state(
                reasons::CAPTURE_AMOUNT_EXCEED,
                format!(
                    "capture of {value} exceeds the uncaptured {} (authorized {}, already captured or pending {committed})",
                    payment.amount_value - committed,
                    payment.amount_value
                ),
            ));
        }
        let Some(alipay_payment_id) = payment.alipay_payment_id.clone() else {
            return Err(EngineError::illegal_state(
                reasons::PAYMENT_ID_UNKNOWN,
                "the payment has no Alipay paymentId yet",
            ));
        };
        let capture = match captures
            .insert_intent(NewCapture {
                capture_request_id: cmd.capture_request_id.clone(),
                payment_id: payment.id.clone(),
                amount_value: value,
                currency: cmd.amount.currency.clone(),
                is_last_capture: cmd.is_last_capture,
                request_fingerprint: print.clone(),
            })
            .await?
        {
            Inserted::Created(c) => c,
            Inserted::Existing(c) => return self.replay_capture(c, &print).await,
        };
        self.store()
            .jobs()
            .enqueue(NewJob::new(
                JobKind::InquireCapture,
                &capture.id,
                after(self.config().write_ahead_grace),
            ))
            .await?;
        let request = CaptureRequest {
            capture_request_id: cmd.capture_request_id.clone(),
            payment_id: alipay_payment_id,
            capture_amount: cmd.amount.clone(),
            is_last_capture: Some(cmd.is_last_capture),
        };
        let config = self.config();
        let attempted = with_retries(config.call_attempts, config.retry_backoff, || {
            self.client().capture(&request)
        })
        .await;
        let (to, update, rejected) = match attempted {
            Attempted::Answer(reply) => {
                let to = match reply.outcome {
                    Outcome::Success => OperationStatus::Success,
                    Outcome::Failed { .. } => OperationStatus::Fail,
                    Outcome::InProcess | Outcome::Unknown { .. } => OperationStatus::Processing,
                };
                let update = OperationUpdate {
                    alipay_id: reply.body.capture_id.clone(),
                    result: Some(result_info(&reply.body.result)),
                };
                (to, update, None)
            }
            Attempted::Unknown { reason, .. } => (
                OperationStatus::Processing,
                unknown("OUTCOME_UNKNOWN", &reason),
                None,
            ),
            Attempted::Rejected(error) => (
                OperationStatus::Processing,
                unknown("NOT_SENT", &error.to_string()),
                Some(error),
            ),
        };
        let capture = self
            .move_capture(capture, to, "capture_response", update)
            .await?;
        if capture.status == OperationStatus::Processing {
            self.pull_forward(JobKind::InquireCapture, &capture.id)
                .await?;
        }
        if let Some(error) = rejected {
            return Err(EngineError::Alipay(error));
        }
        self.capture_answer(capture)
    }

    async fn replay_capture(&self, existing: Capture, print: &str) -> Result<Capture, EngineError> {
        if existing.request_fingerprint != print {
            return Err(EngineError::RequestMismatch {
                request_id: existing.capture_request_id,
            });
        }
        let mut current = existing;
        let deadline = tokio::time::Instant::now() + self.config().duplicate_wait;
        while current.status == OperationStatus::Created && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(self.config().duplicate_poll).await;
            current = self
                .store()
                .captures()
                .get(&current.id)
                .await?
                .ok_or_else(|| EngineError::NotFound {
                    what: "capture",
                    id: current.capture_request_id.clone(),
                })?;
        }
        self.capture_answer(current)
    }

    fn capture_answer(&self, capture: Capture) -> Result<Capture, EngineError> {
        match capture.status {
            OperationStatus::Success => Ok(capture),
            OperationStatus::Fail => Err(EngineError::Declined {
                code: capture
                    .last_result_code
                    .clone()
                    .unwrap_or_else(|| "PROCESS_FAIL".into()),
                message: capture.last_result_message.clone().unwrap_or_default(),
            }),
            OperationStatus::Processing | OperationStatus::Created => {
                Err(EngineError::Unavailable {
                    retry_after: self.config().inquiry_interval,
                })
            }
        }
    }

    async fn move_capture(
        &self,
        capture: Capture,
        to: OperationStatus,
        source: &str,
        update: OperationUpdate,
    ) -> Result<Capture, EngineError> {
        let captures = self.store().captures();
        let interval = self.config().inquiry_interval;
        settle(
            capture,
            to,
            |id, version| {
                let mut transition = Transition::new(to, source);
                if to == OperationStatus::Processing {
                    transition = transition.with_follow_up(NewJob::new(
                        JobKind::InquireCapture,
                        &id,
                        after(interval),
                    ));
                }
                let update = update.clone();
                async move { captures.transition(&id, version, transition, update).await }
            },
            |id| async move { captures.get(&id).await },
        )
        .await
    }

    /// One `inquiryPayment` looking for this capture among the payment's transactions.
    pub(crate) async fn inquire_capture_and_apply(
        &self,
        capture: Capture,
    ) -> Result<RefundProgress, EngineError> {
        let payment = self
            .store()
            .payments()
            .get(&capture.payment_id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "payment",
                id: capture.payment_id.clone(),
            })?;
        let mut request = InquiryPaymentRequest::by_request_id(&payment.payment_request_id);
        request.in_store = payment.product_code == IN_STORE;
        let reply = match self.client().inquiry_payment(&request).await {
            Ok(reply) if reply.outcome == Outcome::Success => reply,
            Ok(reply) => {
                return Ok(RefundProgress::Pending(format!(
                    "inquiry {}",
                    reply.outcome.label()
                )));
            }
            Err(error) => return Ok(RefundProgress::Pending(error.to_string())),
        };
        let found = reply
            .body
            .transactions
            .unwrap_or_default()
            .into_iter()
            .find(|t| {
                t.transaction_type == TransactionType::Capture
                    && t.transaction_request_id.as_deref()
                        == Some(capture.capture_request_id.as_str())
            });
        let Some(transaction) = found else {
            return Ok(RefundProgress::Pending(
                "capture not among the payment's transactions yet".into(),
            ));
        };
        let to = match transaction.transaction_status {
            Some(AlipayStatus::Success) => OperationStatus::Success,
            Some(AlipayStatus::Fail | AlipayStatus::Cancelled) => OperationStatus::Fail,
            _ => return Ok(RefundProgress::Pending("capture processing".into())),
        };
        let update = OperationUpdate {
            alipay_id: transaction.transaction_id.clone(),
            result: transaction.transaction_result.as_ref().map(result_info),
        };
        self.move_capture(capture, to, "inquiry", update).await?;
        Ok(RefundProgress::Final)
    }
}

fn unknown(code: &str, reason: &str) -> OperationUpdate {
    OperationUpdate {
        alipay_id: None,
        result: Some(ResultInfo {
            status: "U".into(),
            code: code.into(),
            message: Some(truncate(reason, 256)),
        }),
    }
}
