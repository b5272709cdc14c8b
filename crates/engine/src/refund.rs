//! Refunds: write-ahead intent, the refund call retried with the same refundRequestId, INQUIRE_REFUND follow-up,
//! and the automatic full refund the reconciler issues for a payment it could not cancel in time.

use alipay::checked::Money;
use alipay::limits::MAX_REQUEST_ID_LEN;
use alipay::model::{Amount, InquiryRefundRequest, RefundRequest, RefundStatus, TransactionType};
use alipay::{Outcome, ResultCode};
use sha2::{Digest, Sha256};
use store::payments::Payment;
use store::refunds::{NewRefund, Refund};
use store::{Lifecycle, OperationStatus, OperationUpdate, PaymentStatus, ResultInfo};
use tracing::Instrument;

use crate::commands::RefundCommand;
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::operation::Progress;
use crate::pay::{in_store, is_manual_authorization, result_info};
use crate::{Engine, reasons};

const AUTO_REFUND_SUFFIX: &str = "-auto-refund";

/// The message of a failed refund for which Alipay gave no reason.
const REFUND_FAILED_WITHOUT_REASON: &str = "Alipay reported the refund FAIL without a reason";

/// The refundRequestId of the reconciler's automatic full refund of a payment: deterministic, so a crash and a
/// retry reuse the same Alipay idempotency key (never two refunds). `<paymentRequestId>-auto-refund` when that fits
/// in 64 characters, else `auto-refund-` + a SHA-256 prefix of the paymentRequestId.
pub fn auto_refund_request_id(payment_request_id: &str) -> String {
    if payment_request_id.len() + AUTO_REFUND_SUFFIX.len() <= MAX_REQUEST_ID_LEN {
        return format!("{payment_request_id}{AUTO_REFUND_SUFFIX}");
    }
    let digest = Sha256::digest(payment_request_id.as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("auto-refund-{hex}")
}

impl Engine {
    /// Refunds (part of) a successful payment. Idempotent per `refund_request_id` (same content → the recorded
    /// refund; different → `RequestMismatch`). Checks locally first that the payment is SUCCESS and that the
    /// refund fits in what is not yet refunded (`IllegalState` with [`reasons::PAYMENT_NOT_REFUNDABLE`] /
    /// [`reasons::REFUND_AMOUNT_EXCEED`], without calling Alipay).
    pub(crate) async fn refund_row(&self, cmd: RefundCommand) -> Result<Refund, EngineError> {
        let span = tracing::info_span!(
            "refund",
            refund_request_id = %cmd.refund_request_id,
            payment_request_id = %cmd.payment_request_id
        );
        self.refund_inner(cmd).instrument(span).await
    }

    async fn refund_inner(&self, cmd: RefundCommand) -> Result<Refund, EngineError> {
        let print = fingerprint(&cmd);
        let prepare = async {
            let payment = self.stored_payment(&cmd.payment_request_id).await?;
            let amount = cmd.amount.minor_units();
            self.check_refundable(&payment, &cmd.amount, amount).await?;
            let new = NewRefund {
                refund_request_id: cmd.refund_request_id.to_string(),
                payment_id: payment.id.clone(),
                amount_value: amount,
                currency: cmd.amount.currency().to_string(),
                reason: cmd.reason.clone().map(String::from),
                request_fingerprint: print.clone(),
            };
            Ok((new, payment))
        };
        self.run_operation(
            &cmd.refund_request_id,
            &print,
            prepare,
            |refund, payment: Payment| async move { self.send_refund(refund, &payment).await },
        )
        .await
    }

    async fn check_refundable(
        &self,
        payment: &Payment,
        amount: &Money,
        value: i64,
    ) -> Result<(), EngineError> {
        if payment.status != PaymentStatus::Success {
            return Err(EngineError::illegal_state(
                reasons::PAYMENT_NOT_REFUNDABLE,
                format!(
                    "payment is {}, only a SUCCESS payment can be refunded",
                    payment.status.as_str()
                ),
            ));
        }
        if *amount.currency() != payment.currency {
            return Err(EngineError::invalid(
                "refund_amount.currency",
                format!("must be the payment currency {}", payment.currency),
            ));
        }
        // A manual-capture authorization moved only what was captured; anything else moved the whole amount.
        let (moved, how) = if is_manual_authorization(payment) {
            let captured = self.totals_of(payment).await?.captured;
            if captured == 0 {
                return Err(EngineError::illegal_state(
                    reasons::PAYMENT_NOT_REFUNDABLE,
                    "nothing of this authorization is captured yet: cancel it to release the funds",
                ));
            }
            (captured, "captured")
        } else {
            (payment.amount_value, "paid")
        };
        let committed = self.store().refunds().committed_amount(&payment.id).await?;
        if committed.saturating_add(value) > moved {
            return Err(EngineError::illegal_state(
                reasons::REFUND_AMOUNT_EXCEED,
                format!(
                    "refund of {value} exceeds the refundable {} ({how} {moved}, already refunded or pending {committed})",
                    moved - committed,
                ),
            ));
        }
        Ok(())
    }

    /// The refund call with bounded same-id retries, and its effect on the stored refund.
    pub(crate) async fn send_refund(
        &self,
        refund: Refund,
        payment: &Payment,
    ) -> Result<Refund, EngineError> {
        let Some(alipay_payment_id) = payment.alipay_payment_id.clone() else {
            return Err(EngineError::illegal_state(
                reasons::PAYMENT_ID_UNKNOWN,
                "the payment has no Alipay paymentId yet; inquire it first",
            ));
        };
        let mut request = RefundRequest::new(
            refund.refund_request_id.clone(),
            alipay_payment_id,
            Amount::new(
                refund.currency.clone(),
                u64::try_from(refund.amount_value).unwrap_or(0),
            ),
        );
        request.refund_reason = refund.reason.clone();
        request.refund_notify_url = self.config().notify_url.clone();
        request.in_store = in_store(payment);
        self.send_operation(refund, || self.client().refund(&request))
            .await
    }

    /// Live `inquiryRefund`; applies a final answer to the stored refund and returns it.
    pub(crate) async fn inquire_refund_row(
        &self,
        refund_request_id: &str,
    ) -> Result<Refund, EngineError> {
        let span = tracing::info_span!("inquire_refund", refund_request_id);
        async {
            let refund = self
                .store()
                .refunds()
                .get_by_request_id(refund_request_id)
                .await?
                .ok_or_else(|| EngineError::NotFound {
                    what: "refund",
                    id: refund_request_id.to_owned(),
                })?;
            if refund.status == OperationStatus::Processing {
                return match self.inquire_refund_and_apply(refund, false).await? {
                    (_, Progress::Unanswered(reason)) => {
                        tracing::warn!(%reason, "live refund inquiry learned nothing; the stored refund is unchanged");
                        Err(EngineError::Unreachable {
                            retry_after: self.config().inquiry_interval,
                        })
                    }
                    (refund, Progress::Final | Progress::Pending(_)) => Ok(refund),
                };
            }
            Ok(refund)
        }
        .instrument(span)
        .await
    }

    /// One `inquiryRefund` and its effect. With `resend_missing`, a refund Alipay does not know (ORDER_NOT_EXIST:
    /// the refund request never arrived) is sent again with the same refundRequestId.
    pub(crate) async fn inquire_refund_and_apply(
        &self,
        refund: Refund,
        resend_missing: bool,
    ) -> Result<(Refund, Progress), EngineError> {
        let mut request = InquiryRefundRequest::by_request_id(&refund.refund_request_id);
        let payment = self.payment_of(&refund).await?;
        request.in_store = in_store(&payment);
        let reply = match self.client().inquiry_refund(&request).await {
            Ok(reply) => reply,
            Err(error) => return Ok((refund, Progress::Unanswered(error.to_string()))),
        };
        match reply.outcome {
            Outcome::Success => {
                let to = match reply.body.refund_status {
                    Some(RefundStatus::Success) => OperationStatus::Success,
                    Some(RefundStatus::Fail) => OperationStatus::Fail,
                    Some(RefundStatus::Processing | RefundStatus::Unrecognized) | None => {
                        return Ok((refund, Progress::Pending("refund still processing".into())));
                    }
                };
                let result = if to == OperationStatus::Success {
                    ResultInfo {
                        status: store::ResultStatus::Success,
                        code: "SUCCESS".into(),
                        message: None,
                    }
                } else {
                    self.refund_failure(&payment, &refund).await
                };
                let update = OperationUpdate {
                    alipay_id: reply.body.refund_id.clone(),
                    result: Some(result),
                };
                let moved = self
                    .move_operation(refund, to, "inquiry", update, None)
                    .await?;
                Ok((moved, Progress::Final))
            }
            Outcome::Failed { code, .. } if code == ResultCode::OrderNotExist && resend_missing => {
                let moved = self.send_refund(refund, &payment).await?;
                let progress = if moved.status == OperationStatus::Processing {
                    Progress::Pending("refund re-sent".into())
                } else {
                    Progress::Final
                };
                Ok((moved, progress))
            }
            Outcome::Failed { code, message } | Outcome::Unknown { code, message } => Ok((
                refund,
                Progress::Pending(format!("inquiryRefund {code}: {message}")),
            )),
            Outcome::InProcess => {
                Ok((refund, Progress::Pending("inquiryRefund in process".into())))
            }
        }
    }

    /// Why Alipay failed a refund. inquiryRefund only says FAIL, so the reason comes from the refund's entry in
    /// `inquiryPayment.transactions[]`; when that does not tell, the caller gets Alipay's general failure code
    /// (`PROCESS_FAIL`, "do not retry") and a message saying no reason was given.
    async fn refund_failure(&self, payment: &Payment, refund: &Refund) -> ResultInfo {
        let reported = self
            .payment_transaction(payment, TransactionType::Refund, &refund.refund_request_id)
            .await
            .ok()
            .and_then(|t| t.transaction_result)
            .filter(|r| r.result_status == alipay::model::ResultStatus::Failed);
        match reported {
            Some(result) => result_info(&result),
            None => ResultInfo {
                status: store::ResultStatus::Fail,
                code: ResultCode::ProcessFail.to_string(),
                message: Some(REFUND_FAILED_WITHOUT_REASON.into()),
            },
        }
    }

    /// The reconciler's full refund of a SUCCESS payment it gave up on (cancel window exceeded), with the
    /// deterministic refundRequestId. Returns the refund as it stands (one already past CREATED is not sent again).
    pub(crate) async fn auto_refund(&self, payment: &Payment) -> Result<Refund, EngineError> {
        let refund_request_id = auto_refund_request_id(&payment.payment_request_id);
        let new = NewRefund {
            refund_request_id: refund_request_id.clone(),
            payment_id: payment.id.clone(),
            amount_value: payment.amount_value,
            currency: payment.currency.clone(),
            reason: Some("automatic reversal: payment unresolved past the cancel window".into()),
            request_fingerprint: fingerprint(&("auto-refund", &payment.payment_request_id)),
        };
        let refund = self.operation_intent::<Refund>(new).await?.into_inner();
        if refund.status == OperationStatus::Created {
            tracing::warn!(%refund_request_id, "issuing automatic full refund");
            return self.send_refund(refund, payment).await;
        }
        Ok(refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_refund_ids_are_deterministic_and_fit() {
        assert_eq!(auto_refund_request_id("PAY-1"), "PAY-1-auto-refund");
        let long = "x".repeat(64);
        let id = auto_refund_request_id(&long);
        assert!(id.len() <= MAX_REQUEST_ID_LEN);
        assert_eq!(id, auto_refund_request_id(&long));
        assert_ne!(id, auto_refund_request_id(&"y".repeat(64)));
    }
}
