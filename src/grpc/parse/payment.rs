//! `PaymentService` requests → engine commands and queries.

use alipay::checked::{Currency, CustomerId, HttpsUrl, PaymentCode, RegionCode, RequestId, Text};
use alipay::limits::MAX_REFUND_REASON_LEN;
use engine::limits::Violations;
use engine::{EngineError, PayCommand, PaySource};

use super::order::{env, order};
use super::{
    capture_mode, metadata, money, optional, page, product_code_filter, rejected, required,
    timestamp, wallet,
};
use crate::pb::v1 as pb;

/// Longest `StreamPaymentEvents.cursor` worth decoding (the gateway's own are about 30 characters).
const MAX_EVENT_CURSOR_LEN: usize = 128;

impl TryFrom<&pb::PayRequest> for PayCommand {
    type Error = EngineError;

    fn try_from(r: &pb::PayRequest) -> Result<Self, EngineError> {
        use pb::pay_request::Source;
        let mut v = Violations::new();
        let id = required::<RequestId>(&mut v, "payment_request_id", &r.payment_request_id);
        let product = match &r.source {
            None => {
                v.push(
                    "source",
                    "one of agreement, in_store or cashier is required",
                );
                None
            }
            Some(Source::Agreement(_)) => Some(pb::ProductCode::AgreementPayment),
            Some(Source::InStore(_)) => Some(pb::ProductCode::InStorePayment),
            Some(Source::Cashier(_)) => Some(pb::ProductCode::CashierPayment),
        };
        match pb::ProductCode::try_from(r.product_code) {
            Err(_) => v.push("product_code", "unknown product code"),
            Ok(pb::ProductCode::Unspecified) => {}
            Ok(code) if product.is_some_and(|p| p != code) => {
                v.push("product_code", "does not match the payment source");
            }
            Ok(_) => {}
        }
        let amount = money(&mut v, "payment_amount", r.payment_amount.as_ref());
        let order = match &r.order {
            None => {
                v.push("order", "is required");
                None
            }
            Some(o) => order(
                &mut v,
                o,
                amount.as_ref(),
                product == Some(pb::ProductCode::InStorePayment),
            ),
        };
        let (source, source_env) = match &r.source {
            None => (None, None),
            Some(Source::Agreement(a)) => (
                required(&mut v, "agreement.binding_id", &a.binding_id)
                    .map(|binding_id| PaySource::Agreement { binding_id }),
                a.env
                    .as_ref()
                    .and_then(|e| env(&mut v, "agreement.env", e, false)),
            ),
            Some(Source::InStore(s)) => (
                required::<PaymentCode>(&mut v, "in_store.payment_code", &s.payment_code)
                    .map(|payment_code| PaySource::InStore { payment_code }),
                None,
            ),
            Some(Source::Cashier(c)) => {
                let wallet = wallet(&mut v, "cashier.wallet", c.wallet);
                let redirect_url = required::<HttpsUrl>(
                    &mut v,
                    "cashier.payment_redirect_url",
                    &c.payment_redirect_url,
                );
                let env = c
                    .env
                    .as_ref()
                    .and_then(|e| env(&mut v, "cashier.env", e, true));
                let source =
                    wallet
                        .zip(redirect_url)
                        .map(|(wallet, redirect_url)| PaySource::Cashier {
                            wallet,
                            redirect_url,
                        });
                (source, env)
            }
        };
        let customer_id = optional::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let payment_expiry_time = r
            .payment_expiry_time
            .as_ref()
            .and_then(|t| timestamp(&mut v, "payment_expiry_time", t));
        // Checked for the contract's sake: the gateway settles in the contract's one currency today.
        optional::<Currency>(&mut v, "settlement_currency", &r.settlement_currency);
        let capture_mode = capture_mode(&mut v, r.capture_mode);
        let merchant_region = optional::<RegionCode>(&mut v, "merchant_region", &r.merchant_region);
        let metadata = metadata(&mut v, &r.metadata);
        let (Some(payment_request_id), Some(amount), Some(order), Some(source), Some(metadata)) =
            (id, amount, order, source, metadata)
        else {
            return Err(rejected(v));
        };
        v.finish(PayCommand {
            payment_request_id,
            amount,
            order,
            env: source_env,
            source,
            customer_id,
            payment_notify_url: None,
            merchant_region,
            metadata,
            is_authorization: r.is_authorization,
            capture_mode,
            payment_expiry_time,
        })
    }
}

impl TryFrom<&pb::RefundRequest> for engine::RefundCommand {
    type Error = EngineError;

    fn try_from(r: &pb::RefundRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let operation = operation(
            &mut v,
            ("refund_request_id", &r.refund_request_id),
            &r.payment_request_id,
            ("refund_amount", r.refund_amount.as_ref()),
        );
        let reason =
            optional::<Text<MAX_REFUND_REASON_LEN>>(&mut v, "refund_reason", &r.refund_reason);
        let Some((refund_request_id, payment_request_id, amount)) = operation else {
            return Err(rejected(v));
        };
        v.finish(Self {
            refund_request_id,
            payment_request_id,
            amount,
            reason,
        })
    }
}

impl TryFrom<&pb::CaptureRequest> for engine::CaptureCommand {
    type Error = EngineError;

    fn try_from(r: &pb::CaptureRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let operation = operation(
            &mut v,
            ("capture_request_id", &r.capture_request_id),
            &r.payment_request_id,
            ("capture_amount", r.capture_amount.as_ref()),
        );
        let Some((capture_request_id, payment_request_id, amount)) = operation else {
            return Err(rejected(v));
        };
        v.finish(Self {
            capture_request_id,
            payment_request_id,
            amount,
            is_last_capture: r.is_last_capture,
        })
    }
}

/// What a refund and a capture both name: their own request id (`(field, value)`), the payment's request id, and
/// the amount (`(field, value)`). `None` when any of them is invalid (recorded in `v`).
fn operation(
    v: &mut Violations,
    (id_field, id): (&str, &str),
    payment_request_id: &str,
    (amount_field, amount): (&str, Option<&pb::Amount>),
) -> Option<(RequestId, RequestId, alipay::checked::Money)> {
    let id = required(v, id_field, id);
    let payment_request_id = required(v, "payment_request_id", payment_request_id);
    let amount = money(v, amount_field, amount);
    Some((id?, payment_request_id?, amount?))
}

/// Requests that only name a payment or refund by its request id parse into that id.
macro_rules! request_id_of {
    ($($request:ty => $field:ident),+ $(,)?) => {$(
        impl TryFrom<&$request> for RequestId {
            type Error = EngineError;

            fn try_from(r: &$request) -> Result<Self, EngineError> {
                let mut v = Violations::new();
                let id = required(&mut v, stringify!($field), &r.$field);
                id.ok_or_else(|| rejected(v))
            }
        }
    )+};
}

request_id_of!(
    pb::GetPaymentRequest => payment_request_id,
    pb::InquirePaymentRequest => payment_request_id,
    pb::CancelPaymentRequest => payment_request_id,
    pb::InquireRefundRequest => refund_request_id,
    pb::GetCardPaymentRequest => payment_request_id,
    pb::VoidCardAuthorizationRequest => payment_request_id,
);

/// A parsed `ListPayments`: the filter (`None` when no stored payment can match) and the page.
#[derive(Debug)]
pub struct PaymentQuery {
    /// What to match; `None` answers an empty page without asking the store.
    pub filter: Option<engine::PaymentFilter>,
    /// Which page.
    pub page: engine::PageRequest,
}

impl TryFrom<&pb::ListPaymentsRequest> for PaymentQuery {
    type Error = EngineError;

    /// The gateway never stores PENDING (Alipay's PENDING is kept as PROCESSING), so a status list naming only
    /// PENDING matches nothing, whereas the store reads an empty list as "any status".
    fn try_from(r: &pb::ListPaymentsRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let mut statuses = Vec::new();
        for (i, status) in r.statuses.iter().enumerate() {
            match pb::PaymentStatus::try_from(*status) {
                Ok(pb::PaymentStatus::Unspecified) | Err(_) => {
                    v.push(format!("statuses[{i}]"), "unknown payment status")
                }
                Ok(pb::PaymentStatus::Pending) => {}
                Ok(pb::PaymentStatus::Created) => statuses.push(engine::PaymentStatus::Created),
                Ok(pb::PaymentStatus::Processing) => {
                    statuses.push(engine::PaymentStatus::Processing)
                }
                Ok(pb::PaymentStatus::Success) => statuses.push(engine::PaymentStatus::Success),
                Ok(pb::PaymentStatus::Fail) => statuses.push(engine::PaymentStatus::Fail),
                Ok(pb::PaymentStatus::Cancelled) => statuses.push(engine::PaymentStatus::Cancelled),
            }
        }
        let product_code = product_code_filter(&mut v, r.product_code);
        let customer_id = optional::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let binding_id = optional::<CustomerId>(&mut v, "binding_id", &r.binding_id);
        let start = r
            .create_time_start
            .as_ref()
            .map(|t| timestamp(&mut v, "create_time_start", t));
        let end = r
            .create_time_end
            .as_ref()
            .map(|t| timestamp(&mut v, "create_time_end", t));
        if let (Some(Some(start)), Some(Some(end))) = (start, end)
            && start >= end
        {
            v.push("create_time_end", "must be after create_time_start");
        }
        let page = page(&mut v, r.page_size, &r.page_token);
        let (Some(page), Ok(product_code)) = (page, product_code) else {
            return Err(rejected(v));
        };
        let matches_nothing = statuses.is_empty() && !r.statuses.is_empty();
        v.finish(Self {
            filter: (!matches_nothing).then(|| engine::PaymentFilter {
                statuses,
                product_code,
                customer_id: customer_id.map(String::from),
                binding_id: binding_id.map(String::from),
                created_from: start.flatten(),
                created_to: end.flatten(),
            }),
            page,
        })
    }
}

/// A parsed `StreamPaymentEvents`: where to resume and what to match.
#[derive(Debug)]
pub struct EventQuery {
    /// The cursor to resume after (its content is checked by the store, which issued it).
    pub cursor: Option<String>,
    /// What to match.
    pub filter: engine::EventFilter,
}

impl TryFrom<&pb::StreamPaymentEventsRequest> for EventQuery {
    type Error = EngineError;

    fn try_from(r: &pb::StreamPaymentEventsRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let cursor = optional::<Text<MAX_EVENT_CURSOR_LEN>>(&mut v, "cursor", &r.cursor);
        let customer_id = optional::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let product_code = product_code_filter(&mut v, r.product_code);
        let mut types = Vec::new();
        for (i, event_type) in r.event_types.iter().enumerate() {
            match pb::PaymentEventType::try_from(*event_type) {
                Ok(pb::PaymentEventType::Unspecified) | Err(_) => {
                    v.push(format!("event_types[{i}]"), "unknown event type")
                }
                Ok(pb::PaymentEventType::PaymentUpdated) => types.push(engine::EventType::Payment),
                Ok(pb::PaymentEventType::RefundUpdated) => types.push(engine::EventType::Refund),
                Ok(pb::PaymentEventType::CaptureUpdated) => types.push(engine::EventType::Capture),
            }
        }
        let Ok(product_code) = product_code else {
            return Err(rejected(v));
        };
        v.finish(Self {
            cursor: cursor.map(String::from),
            filter: engine::EventFilter {
                customer_id: customer_id.map(String::from),
                product_code,
                types,
            },
        })
    }
}
