//! Notification bodies Antom POSTs to the merchant (reference §2 table, §3.5).

use serde::{Deserialize, Serialize};

use super::card_result::PaymentResultInfo;
use super::common::{Amount, ResultInfo, Secret};
use super::payments::RefundStatus;

/// `notifyType` of a payment notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentNotifyType {
    /// Final result (S = paid, F = failed).
    PaymentResult,
    /// Still processing — `resultStatus=S` here does NOT mean paid.
    PaymentPending,
    /// In-store payment-code result.
    OfflinePaymentCode,
    /// Unknown type: not final.
    #[serde(other)]
    Unrecognized,
}

/// notifyPayment body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyPayment {
    /// Notification type.
    pub notify_type: PaymentNotifyType,
    /// Result.
    pub result: ResultInfo,
    /// Merchant request id.
    pub payment_request_id: String,
    /// Alipay payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<Amount>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    /// Method type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    /// Card details. Parsed loosely: a card field this model does not know never costs the payment result.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose"
    )]
    pub payment_result_info: Option<PaymentResultInfo>,
    /// Card info incl. cardToken (loose, as above).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose"
    )]
    pub card_info: Option<PaymentResultInfo>,
    /// No capture after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_expiry_time: Option<String>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Acquirer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference_no: Option<String>,
}

impl NotifyPayment {
    /// True only for a final success: `PAYMENT_RESULT` with `S` (a pending `S` is not a success).
    pub fn is_paid(&self) -> bool {
        self.notify_type == PaymentNotifyType::PaymentResult
            && self.result.result_status == super::common::ResultStatus::Success
    }

    /// The card facts, from `paymentResultInfo` (the SDK parsers' source) or `cardInfo` (seed 003's), the
    /// first winning field by field.
    pub fn card_facts(&self) -> Option<PaymentResultInfo> {
        PaymentResultInfo::merged(self.payment_result_info.as_ref(), self.card_info.as_ref())
    }
}

/// notifyCapture body (`notifyType=CAPTURE_RESULT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyCapture {
    /// Always `CAPTURE_RESULT`.
    pub notify_type: String,
    /// S / F.
    pub result: ResultInfo,
    /// Merchant capture request id.
    pub capture_request_id: String,
    /// Alipay capture id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_id: Option<String>,
    /// Payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Captured amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Amount>,
    /// Capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_time: Option<String>,
    /// Acquirer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference_no: Option<String>,
}

/// notifyRefund body (`notifyType=REFUND_RESULT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRefund {
    /// Always `REFUND_RESULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_type: Option<String>,
    /// Result.
    pub result: ResultInfo,
    /// SUCCESS / FAIL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// Merchant refund request id.
    pub refund_request_id: String,
    /// Alipay refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Refunded amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// Refund time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    /// Amount actually refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_refund_amount: Option<Amount>,
    /// Acquirer reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// `authorizationNotifyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationNotifyType {
    /// The user authorized; `authCode` can be exchanged.
    AuthcodeCreated,
    /// The user or wallet cancelled the token.
    TokenCanceled,
    /// Unknown type.
    #[serde(other)]
    Unrecognized,
}

/// notifyAuthorization body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyAuthorization {
    /// Type.
    pub authorization_notify_type: AuthorizationNotifyType,
    /// The consult's authState.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_state: Option<String>,
    /// authCode (AUTHCODE_CREATED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<Secret>,
    /// Cancelled token (TOKEN_CANCELED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Login id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_login_id: Option<String>,
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Secondary merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_client_id: Option<String>,
    /// Cancel reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Pass-through data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_through_info: Option<String>,
}

/// Deserialises an optional nested object, yielding `None` instead of an error when it does not fit the model.
fn loose<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Any notification, told apart by its type field.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// notifyPayment (boxed: it is by far the largest body).
    Payment(Box<NotifyPayment>),
    /// notifyCapture.
    Capture(NotifyCapture),
    /// notifyRefund.
    Refund(NotifyRefund),
    /// notifyAuthorization.
    Authorization(NotifyAuthorization),
    /// A kind this gateway does not act on (disputes, vaulting, a future type) or a known kind whose body does
    /// not fit its model: stored and acknowledged, never an error, so Alipay stops redelivering it.
    Other {
        /// `notifyType` / `authorizationNotifyType`, or `UNKNOWN` when the body names none.
        kind: String,
        /// The body's `paymentRequestId`, if it names one (an unparseable payment result is still inquired).
        payment_request_id: Option<String>,
    },
}

impl Notification {
    /// Parses a verified notification body, choosing the type from `notifyType` / `authorizationNotifyType`.
    /// Only a body that is not JSON at all is an error; anything else that does not fit becomes [`Self::Other`].
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_slice(body)?;
        let text = |field: &str| value.get(field).and_then(|v| v.as_str()).map(str::to_owned);
        let other = || Notification::Other {
            kind: text("notifyType")
                .or_else(|| text("authorizationNotifyType"))
                .unwrap_or_else(|| "UNKNOWN".to_owned()),
            payment_request_id: text("paymentRequestId"),
        };
        let typed = match (
            text("authorizationNotifyType").as_deref(),
            text("notifyType").as_deref(),
        ) {
            (Some("AUTHCODE_CREATED" | "TOKEN_CANCELED"), _) => {
                serde_json::from_value(value.clone()).map(Notification::Authorization)
            }
            (Some(_), _) => return Ok(other()),
            (None, Some("CAPTURE_RESULT")) => {
                serde_json::from_value(value.clone()).map(Notification::Capture)
            }
            (None, Some("REFUND_RESULT")) => {
                serde_json::from_value(value.clone()).map(Notification::Refund)
            }
            (None, None) if value.get("refundRequestId").is_some() => {
                serde_json::from_value(value.clone()).map(Notification::Refund)
            }
            (None, Some("PAYMENT_RESULT" | "PAYMENT_PENDING" | "OFFLINE_PAYMENT_CODE")) => {
                serde_json::from_value(value.clone()).map(|p| Notification::Payment(Box::new(p)))
            }
            _ => return Ok(other()),
        };
        Ok(typed.unwrap_or_else(|_| other()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_003_notification_parses_as_payment() {
        let body = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},
            "paymentRequestId":"2020010123456789XXXX","paymentId":"2020010123456789XXXX",
            "paymentAmount":{"value":"8000","currency":"EUR"},"paymentCreateTime":"2020-01-01T12:01:00+08:30",
            "paymentResultInfo":{"avsResultRaw":"A","cvvResultRaw":"Y","threeDSResult":{"eci":"02"}}}"#;
        let Notification::Payment(n) = Notification::parse(body).unwrap() else {
            panic!("not a payment notification")
        };
        assert!(n.is_paid());
        assert_eq!(
            n.payment_result_info.unwrap().avs_result_raw.as_deref(),
            Some("A")
        );
    }

    #[test]
    fn pending_success_is_not_paid() {
        let body = br#"{"notifyType":"PAYMENT_PENDING","result":{"resultCode":"PAYMENT_IN_PROCESS","resultStatus":"S"},"paymentRequestId":"r"}"#;
        let Notification::Payment(n) = Notification::parse(body).unwrap() else {
            panic!("not a payment notification")
        };
        assert!(!n.is_paid());
    }

    #[test]
    fn other_kinds_are_recognised() {
        assert!(matches!(
            Notification::parse(br#"{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"c"}"#),
            Ok(Notification::Capture(_))
        ));
        assert!(matches!(
            Notification::parse(br#"{"notifyType":"REFUND_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"refundStatus":"SUCCESS","refundRequestId":"r"}"#),
            Ok(Notification::Refund(_))
        ));
        let Ok(Notification::Authorization(a)) = Notification::parse(
            br#"{"authorizationNotifyType":"AUTHCODE_CREATED","authState":"s","authCode":"code-1"}"#,
        ) else {
            panic!("not an authorization notification")
        };
        assert_eq!(a.auth_code.unwrap().expose(), "code-1");
    }

    #[test]
    fn unknown_and_misshapen_kinds_are_other_not_errors() {
        let dispute = Notification::parse(
            br#"{"notifyType":"DISPUTE_CREATED","paymentRequestId":"p1","disputeId":"d"}"#,
        )
        .unwrap();
        assert_eq!(
            dispute,
            Notification::Other {
                kind: "DISPUTE_CREATED".into(),
                payment_request_id: Some("p1".into())
            }
        );
        // A payment result without its required `result` is kept as Other (and still names its payment).
        let broken =
            Notification::parse(br#"{"notifyType":"PAYMENT_RESULT","paymentRequestId":"p2"}"#)
                .unwrap();
        assert!(
            matches!(broken, Notification::Other { payment_request_id: Some(ref id), .. } if id == "p2")
        );
        assert!(matches!(
            Notification::parse(br#"{"authorizationNotifyType":"SOMETHING_NEW"}"#).unwrap(),
            Notification::Other { .. }
        ));
        assert!(matches!(
            Notification::parse(b"[1,2]").unwrap(),
            Notification::Other { .. }
        ));
        assert!(Notification::parse(b"not json").is_err());
    }

    #[test]
    fn card_facts_parse_loosely() {
        let body = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},
            "paymentRequestId":"r","cardInfo":{"cardToken":["not","a","string"]},"paymentResultInfo":7}"#;
        let Notification::Payment(n) = Notification::parse(body).unwrap() else {
            panic!("a payment result with odd card facts is still a payment result")
        };
        assert!(n.is_paid());
        assert!(n.card_info.is_none() && n.payment_result_info.is_none());
    }

    #[test]
    fn card_facts_come_from_either_card_info_or_payment_result_info() {
        let body = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},
            "paymentRequestId":"r","cardInfo":{"cardToken":"tok-1","cardBrand":"VISA"},
            "paymentResultInfo":{"avsResultRaw":"N","threeDSResult":{"eci":"05","challengeCancel":"01"}}}"#;
        let Notification::Payment(n) = Notification::parse(body).unwrap() else {
            panic!("a payment result")
        };
        let facts = n.card_facts().unwrap();
        assert_eq!(facts.card_token.as_ref().map(Secret::expose), Some("tok-1"));
        assert_eq!(facts.card_brand.as_deref(), Some("VISA"));
        assert_eq!(facts.avs_result_raw.as_deref(), Some("N"));
        assert_eq!(
            facts
                .three_ds_result
                .and_then(|t| t.challenge_cancel)
                .as_deref(),
            Some("01")
        );
        let only_result = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"DO_NOT_HONOR","resultStatus":"F"},
            "paymentRequestId":"r","paymentResultInfo":{"refusalCodeRaw":"05"}}"#;
        let Notification::Payment(n) = Notification::parse(only_result).unwrap() else {
            panic!("a payment result")
        };
        assert_eq!(n.result.result_code, crate::ResultCode::DoNotHonor);
        assert_eq!(
            n.card_facts().and_then(|f| f.refusal_code_raw).as_deref(),
            Some("05")
        );
    }
}
