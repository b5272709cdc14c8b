//! Captures of authorized payments: write-ahead intent, the capture call retried with the same captureRequestId,
//! and INQUIRE_CAPTURE (via `inquiryPayment.transactions[]`, as Alipay documents) when the outcome is unknown.

use alipay::Outcome;
use alipay::model::{
    Amount, CaptureRequest, InquiryPaymentRequest, PaymentStatus as AlipayStatus, Transaction,
    TransactionType,
};
use store::captures::{Capture, NewCapture};
use store::payments::Payment;
use store::{Lifecycle, OperationStatus, OperationUpdate, PaymentStatus};
use tracing::Instrument;

use crate::commands::CaptureCommand;
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::operation::Progress;
use crate::pay::{in_store, is_manual_authorization, result_info};
use crate::{Engine, reasons};

impl Engine {
    /// Captures (part of) an authorized payment. Idempotent per `capture_request_id`.
    pub(crate) async fn capture_row(&self, cmd: CaptureCommand) -> Result<Capture, EngineError> {
        let span = tracing::info_span!(
            "capture",
            capture_request_id = %cmd.capture_request_id,
            payment_request_id = %cmd.payment_request_id
        );
        self.capture_inner(cmd).instrument(span).await
    }

    async fn capture_inner(&self, cmd: CaptureCommand) -> Result<Capture, EngineError> {
        let print = fingerprint(&cmd);
        let prepare = async {
            let payment = self.stored_payment(&cmd.payment_request_id).await?;
            let value = cmd.amount.minor_units();
            if payment.status != PaymentStatus::Success || !is_manual_authorization(&payment) {
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
            if *cmd.amount.currency() != payment.currency {
                return Err(EngineError::invalid(
                    "capture_amount.currency",
                    format!("must be {}", payment.currency),
                ));
            }
            let committed = self
                .store()
                .captures()
                .committed_amount(&payment.id)
                .await?;
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
            let new = NewCapture {
                capture_request_id: cmd.capture_request_id.to_string(),
                payment_id: payment.id.clone(),
                amount_value: value,
                currency: cmd.amount.currency().to_string(),
                is_last_capture: cmd.is_last_capture,
                request_fingerprint: print.clone(),
            };
            let request = CaptureRequest {
                capture_request_id: cmd.capture_request_id.to_string(),
                payment_id: alipay_payment_id,
                capture_amount: cmd.amount.to_wire(),
                is_last_capture: Some(cmd.is_last_capture),
            };
            Ok((new, request))
        };
        self.run_operation(
            &cmd.capture_request_id,
            &print,
            prepare,
            |capture, request: CaptureRequest| async move {
                self.send_operation(capture, || self.client().capture(&request))
                    .await
            },
        )
        .await
    }

    /// One `inquiryPayment` looking for this capture among the payment's transactions.
    /// The payment's transaction of `kind` made with `request_id`, as `inquiryPayment.transactions[]` reports it
    /// (Alipay's only source for a capture's outcome, and for why a refund failed). `Err` says why it is not known
    /// yet: the inquiry did not succeed, or the transaction is not listed.
    pub(crate) async fn payment_transaction(
        &self,
        payment: &Payment,
        kind: TransactionType,
        request_id: &str,
    ) -> Result<Transaction, String> {
        let mut request = InquiryPaymentRequest::by_request_id(&payment.payment_request_id);
        request.in_store = in_store(payment);
        let reply = match self.client().inquiry_payment(&request).await {
            Ok(reply) if reply.outcome == Outcome::Success => reply,
            Ok(reply) => return Err(format!("inquiry {}", reply.outcome.label())),
            Err(error) => return Err(error.to_string()),
        };
        reply
            .body
            .transactions
            .unwrap_or_default()
            .into_iter()
            .find(|t| {
                t.transaction_type == kind
                    && t.transaction_request_id.as_deref() == Some(request_id)
            })
            .ok_or_else(|| {
                format!("{kind:?} {request_id} not among the payment's transactions yet")
            })
    }

    pub(crate) async fn inquire_capture_and_apply(
        &self,
        capture: Capture,
    ) -> Result<Progress, EngineError> {
        let payment = self.payment_of(&capture).await?;
        let transaction = match self
            .payment_transaction(
                &payment,
                TransactionType::Capture,
                &capture.capture_request_id,
            )
            .await
        {
            Ok(transaction) => transaction,
            // Written ahead and never answered: the call may never have left (its process died first). Alipay keys a
            // capture by its captureRequestId, so sending it again with the same id cannot capture twice.
            Err(_) if capture.status == OperationStatus::Created => {
                return self.resend_capture(capture, &payment).await;
            }
            Err(note) => return Ok(Progress::Unanswered(note)),
        };
        let to = match transaction.transaction_status {
            Some(AlipayStatus::Success) => OperationStatus::Success,
            Some(AlipayStatus::Fail | AlipayStatus::Cancelled) => OperationStatus::Fail,
            _ => return Ok(Progress::Pending("capture processing".into())),
        };
        let update = OperationUpdate {
            alipay_id: transaction.transaction_id.clone(),
            result: transaction.transaction_result.as_ref().map(result_info),
        };
        self.move_operation(capture, to, "inquiry", update, None)
            .await?;
        Ok(Progress::Final)
    }

    /// Sends a stored capture again with its own captureRequestId (same content as the first attempt).
    async fn resend_capture(
        &self,
        capture: Capture,
        payment: &Payment,
    ) -> Result<Progress, EngineError> {
        let Some(alipay_payment_id) = payment.alipay_payment_id.clone() else {
            return Ok(Progress::Pending(
                "the payment has no Alipay paymentId".into(),
            ));
        };
        let request = CaptureRequest {
            capture_request_id: capture.capture_request_id.clone(),
            payment_id: alipay_payment_id,
            capture_amount: Amount::new(
                capture.currency.clone(),
                u64::try_from(capture.amount_value).unwrap_or_default(),
            ),
            is_last_capture: Some(capture.is_last_capture),
        };
        tracing::info!(capture_request_id = %capture.capture_request_id, "capture never answered; sending it again");
        let moved = self
            .send_operation(capture, || self.client().capture(&request))
            .await?;
        Ok(if moved.status.is_final() {
            Progress::Final
        } else {
            Progress::Pending("capture re-sent".into())
        })
    }
}
