//! Applying `inquiryPayment` answers to a stored payment — shared by the live inquiry API and the reconciler, so both
//! read Alipay's answer the same way. The inquiry's own `result` only says whether the inquiry worked; the payment's
//! fate is `paymentStatus` (+ `paymentResultCode`).

use alipay::model::{InquiryPaymentRequest, InquiryPaymentResponse, PaymentStatus as AlipayStatus};
use alipay::{Outcome, ResultCode};
use store::payments::{Payment, PaymentUpdate};
use store::{Lifecycle, PaymentStatus, ResultInfo, ResultStatus};

use crate::card::{ReportedBy, card_report};
use crate::error::EngineError;
use crate::pay::{in_store, result_info, truncate};
use crate::{Engine, parse_alipay_time};

/// What one inquiry established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The payment is final now (SUCCESS, FAIL or CANCELLED).
    Final,
    /// Alipay has it, still PROCESSING / PENDING: ask again later.
    Pending,
    /// F ORDER_NOT_EXIST: Alipay never created it (the pay request never arrived).
    NotFound,
    /// Nothing learned (inquiry U, other F, transport error); counts as an attempt.
    Unknown(String),
}

impl Engine {
    /// One `inquiryPayment` call and its effect on the stored payment.
    pub(crate) async fn inquire_and_apply(
        &self,
        payment: Payment,
    ) -> Result<(Payment, Verdict), EngineError> {
        let mut request = InquiryPaymentRequest::by_request_id(&payment.payment_request_id);
        request.in_store = in_store(&payment);
        let reply = match self.client().inquiry_payment(&request).await {
            Ok(reply) => reply,
            Err(error) => return Ok((payment, Verdict::Unknown(error.to_string()))),
        };
        match reply.outcome {
            Outcome::Success => self.apply_inquiry(payment, reply.body).await,
            Outcome::Failed {
                code: ResultCode::OrderNotExist,
                ..
            } => {
                if payment.status.is_final() {
                    disagreement(&payment, "ORDER_NOT_EXIST");
                }
                Ok((payment, Verdict::NotFound))
            }
            Outcome::Failed { code, message } => {
                tracing::error!(%code, %message, "inquiryPayment failed (F): needs support if it persists");
                Ok((
                    payment,
                    Verdict::Unknown(format!("inquiry F {code}: {message}")),
                ))
            }
            Outcome::InProcess | Outcome::Unknown { .. } => {
                let r = result_info(&reply.body.result);
                Ok((payment, Verdict::Unknown(format!("inquiry U {}", r.code))))
            }
        }
    }

    async fn apply_inquiry(
        &self,
        payment: Payment,
        body: InquiryPaymentResponse,
    ) -> Result<(Payment, Verdict), EngineError> {
        let (to, status_letter, verdict) = match body.payment_status {
            Some(AlipayStatus::Success) => (
                PaymentStatus::Success,
                ResultStatus::Success,
                Verdict::Final,
            ),
            Some(AlipayStatus::Fail) => (PaymentStatus::Fail, ResultStatus::Fail, Verdict::Final),
            Some(AlipayStatus::Cancelled) => {
                (PaymentStatus::Cancelled, ResultStatus::Fail, Verdict::Final)
            }
            Some(AlipayStatus::Processing | AlipayStatus::Pending) => (
                PaymentStatus::Processing,
                ResultStatus::Unknown,
                Verdict::Pending,
            ),
            Some(AlipayStatus::Unrecognized) | None => {
                return Ok((
                    payment,
                    Verdict::Unknown("inquiry without a known paymentStatus".into()),
                ));
            }
        };
        if payment.status.is_final() && payment.status != to {
            // The stored final state stays (a late answer never moves it); support must look at this payment.
            disagreement(&payment, to.as_str());
        }
        let code = body
            .payment_result_code
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("{to:?}").to_ascii_uppercase());
        let update = PaymentUpdate {
            alipay_payment_id: body.payment_id.clone(),
            result: Some(ResultInfo {
                status: status_letter,
                code: code.clone(),
                message: body
                    .payment_result_message
                    .as_deref()
                    .map(|m| truncate(m, 256)),
            }),
            payment_time: body.payment_time.as_deref().and_then(parse_alipay_time),
            payment_create_time: body
                .payment_create_time
                .as_deref()
                .and_then(parse_alipay_time),
            auth_expiry_time: body.auth_expiry_time.as_deref().and_then(parse_alipay_time),
            card: card_report(self.config(), body.card_facts(), None, ReportedBy::Later),
            ..PaymentUpdate::default()
        };
        let moved = self
            .move_payment(payment, to, "inquiry", Some(code), update, None)
            .await?
            .row;
        Ok((moved, verdict))
    }
}

/// Alipay's live answer contradicts a final state we recorded. The state is kept (never moved back or sideways); the
/// warning and the recorded inquiry call are what support reconciles from.
fn disagreement(payment: &Payment, alipay_says: &str) {
    tracing::warn!(
        payment_id = %payment.id,
        stored = payment.status.as_str(),
        alipay = alipay_says,
        "Alipay disagrees with the recorded final payment status; keeping the recorded status"
    );
}
