//! The client's last check before anything is signed or sent: bad input gets a precise error and never reaches
//! Alipay (where it would cost a round trip and, for pay, burn the idempotency key). The limits are those of
//! [`crate::limits`], the same the gateway's edge parses requests with; this guards callers of the client that
//! build wire requests themselves.

use crate::limits::{
    CARD_NO_DIGITS, CVV_DIGITS, MAX_ALIPAY_ID_LEN, MAX_AUTH_REDIRECT_URL_LEN, MAX_AUTH_STATE_LEN,
    MAX_CARD_BRAND_LEN, MAX_CARDHOLDER_NAME_PART_LEN, MAX_NETWORK_TRANSACTION_ID_LEN,
    MAX_ORDER_DESCRIPTION_LEN, MAX_OS_VERSION_LEN, MAX_REFERENCE_ORDER_ID_LEN,
    MAX_REFUND_REASON_LEN, MAX_REQUEST_ID_LEN, MAX_SCOPES, MAX_TOKEN_LEN, MAX_URL_LEN,
    MAX_WALLET_NAME_LEN, REGION_CODE_LEN,
};
use crate::model::*;

/// A request field that breaks a documented rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// JSON path of the field, e.g. `paymentAmount.value`.
    pub field: String,
    /// What is wrong (never contains the value of a secret field).
    pub problem: String,
}

fn err(field: &str, problem: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn required(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(err(field, "is required"));
    }
    max_len(field, Some(value), max)
}

fn max_len(field: &str, value: Option<&str>, max: usize) -> Result<(), ValidationError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(err(field, format!("longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

fn amount(field: &str, a: &Amount) -> Result<(), ValidationError> {
    if a.currency.len() != 3 || !a.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(err(
            &format!("{field}.currency"),
            "must be a 3-letter ISO 4217 code",
        ));
    }
    match a.minor_units() {
        Some(v) if v > 0 => Ok(()),
        Some(_) => Err(err(&format!("{field}.value"), "must be positive")),
        None => Err(err(
            &format!("{field}.value"),
            "must be an integer number of minor units",
        )),
    }
}

fn exactly_one_id(
    field_a: &str,
    a: Option<&str>,
    field_b: &str,
    b: Option<&str>,
) -> Result<(), ValidationError> {
    let present = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    if !present(a) && !present(b) {
        return Err(err(field_a, format!("{field_a} or {field_b} is required")));
    }
    max_len(field_a, a, MAX_ALIPAY_ID_LEN)?;
    max_len(field_b, b, MAX_ALIPAY_ID_LEN)
}

fn digits(
    field: &str,
    value: Option<&str>,
    lens: std::ops::RangeInclusive<usize>,
) -> Result<(), ValidationError> {
    match value {
        Some(v) if !lens.contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) => Err(err(
            field,
            format!("must be {}–{} digits", lens.start(), lens.end()),
        )),
        _ => Ok(()),
    }
}

/// Checks a request against the documented limits.
pub trait Validate {
    /// `Ok` if the request may be sent.
    fn validate(&self) -> Result<(), ValidationError>;
}

impl Validate for ConsultRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required(
            "customerBelongsTo",
            &self.customer_belongs_to,
            MAX_WALLET_NAME_LEN,
        )?;
        required(
            "authRedirectUrl",
            &self.auth_redirect_url,
            MAX_AUTH_REDIRECT_URL_LEN,
        )?;
        required("authState", &self.auth_state, MAX_AUTH_STATE_LEN)?;
        if self.scopes.is_empty() || self.scopes.len() > MAX_SCOPES {
            return Err(err("scopes", format!("must hold 1 to {MAX_SCOPES} scopes")));
        }
        if self.terminal_type != TerminalType::Web && self.os_type.is_none() {
            return Err(err("osType", "is required unless terminalType is WEB"));
        }
        max_len("osVersion", self.os_version.as_deref(), MAX_OS_VERSION_LEN)?;
        max_len(
            "merchantRegion",
            self.merchant_region.as_deref(),
            REGION_CODE_LEN,
        )?;
        max_len(
            "authNotifyUrl",
            self.auth_notify_url.as_deref(),
            MAX_URL_LEN,
        )
    }
}

impl Validate for ApplyTokenRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required(
            "customerBelongsTo",
            &self.customer_belongs_to,
            MAX_WALLET_NAME_LEN,
        )?;
        let (needed, name, other, other_name) = match self.grant_type {
            GrantType::AuthorizationCode => (
                &self.auth_code,
                "authCode",
                &self.refresh_token,
                "refreshToken",
            ),
            GrantType::RefreshToken => (
                &self.refresh_token,
                "refreshToken",
                &self.auth_code,
                "authCode",
            ),
        };
        match needed {
            Some(s) if !s.expose().trim().is_empty() => {}
            _ => return Err(err(name, "is required for this grantType")),
        }
        if other.is_some() {
            return Err(err(other_name, "must not be set for this grantType"));
        }
        Ok(())
    }
}

impl Validate for RevokeRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required("accessToken", self.access_token.expose(), MAX_TOKEN_LEN)
    }
}

impl Validate for InquiryUserInfoRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required("accessToken", self.access_token.expose(), MAX_TOKEN_LEN)
    }
}

fn card(meta: &CardPaymentMethodMetaData) -> Result<(), ValidationError> {
    let base = "paymentMethod.paymentMethodMetaData";
    if let Some(no) = &meta.card_no {
        digits(&format!("{base}.cardNo"), Some(no.expose()), CARD_NO_DIGITS)?;
    }
    if let Some(cvv) = &meta.cvv {
        digits(&format!("{base}.cvv"), Some(cvv.expose()), CVV_DIGITS)?;
    }
    digits(
        &format!("{base}.expiryYear"),
        meta.expiry_year.as_deref(),
        2..=2,
    )?;
    digits(
        &format!("{base}.expiryMonth"),
        meta.expiry_month.as_deref(),
        2..=2,
    )?;
    if let Some(m) = meta
        .expiry_month
        .as_deref()
        .and_then(|m| m.parse::<u8>().ok())
        && !(1..=12).contains(&m)
    {
        return Err(err(&format!("{base}.expiryMonth"), "must be 01–12"));
    }
    if let Some(name) = &meta.cardholder_name {
        for (f, v) in [
            ("firstName", &name.first_name),
            ("middleName", &name.middle_name),
            ("lastName", &name.last_name),
            ("fullName", &name.full_name),
        ] {
            max_len(
                &format!("{base}.cardholderName.{f}"),
                v.as_deref(),
                MAX_CARDHOLDER_NAME_PART_LEN,
            )?;
        }
    }
    if let Some(addr) = &meta.billing_address
        && addr.region.len() != REGION_CODE_LEN
    {
        return Err(err(
            &format!("{base}.billingAddress.region"),
            "must be a 2-letter code",
        ));
    }
    max_len(
        &format!("{base}.networkTransactionId"),
        meta.network_transaction_id.as_deref(),
        MAX_NETWORK_TRANSACTION_ID_LEN,
    )?;
    max_len(
        &format!("{base}.selectedCardBrand"),
        meta.selected_card_brand.as_deref(),
        MAX_CARD_BRAND_LEN,
    )
}

impl Validate for PayRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required(
            "paymentRequestId",
            &self.payment_request_id,
            MAX_REQUEST_ID_LEN,
        )?;
        amount("paymentAmount", &self.payment_amount)?;
        required(
            "order.referenceOrderId",
            &self.order.reference_order_id,
            MAX_REFERENCE_ORDER_ID_LEN,
        )?;
        required(
            "order.orderDescription",
            &self.order.order_description,
            MAX_ORDER_DESCRIPTION_LEN,
        )?;
        amount("order.orderAmount", &self.order.order_amount)?;
        required(
            "paymentMethod.paymentMethodType",
            &self.payment_method.payment_method_type,
            MAX_WALLET_NAME_LEN,
        )?;
        if self.product_code == ProductCode::AgreementPayment
            && self.payment_method.payment_method_id.is_none()
        {
            return Err(err(
                "paymentMethod.paymentMethodId",
                "is required for AGREEMENT_PAYMENT (the access token)",
            ));
        }
        if let Some(meta) = &self.payment_method.payment_method_meta_data {
            card(meta)?;
        }
        max_len(
            "paymentNotifyUrl",
            self.payment_notify_url.as_deref(),
            MAX_URL_LEN,
        )?;
        max_len(
            "paymentRedirectUrl",
            self.payment_redirect_url.as_deref(),
            MAX_URL_LEN,
        )?;
        if self.product_code == ProductCode::CashierPayment && self.env.is_none() {
            return Err(err("env", "is required for CASHIER_PAYMENT (terminalType)"));
        }
        Ok(())
    }
}

/// inquiryPayment and cancel name their payment the same way (one body shape, two request types).
macro_rules! validate_payment_target {
    ($($request:ty),+) => {$(
        impl Validate for $request {
            fn validate(&self) -> Result<(), ValidationError> {
                exactly_one_id(
                    "paymentRequestId",
                    self.payment_request_id.as_deref(),
                    "paymentId",
                    self.payment_id.as_deref(),
                )
            }
        }
    )+};
}

validate_payment_target!(InquiryPaymentRequest, CancelRequest);

impl Validate for CaptureRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required(
            "captureRequestId",
            &self.capture_request_id,
            MAX_REQUEST_ID_LEN,
        )?;
        required("paymentId", &self.payment_id, MAX_ALIPAY_ID_LEN)?;
        amount("captureAmount", &self.capture_amount)
    }
}

impl Validate for RefundRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        required(
            "refundRequestId",
            &self.refund_request_id,
            MAX_REQUEST_ID_LEN,
        )?;
        required("paymentId", &self.payment_id, MAX_ALIPAY_ID_LEN)?;
        amount("refundAmount", &self.refund_amount)?;
        max_len(
            "refundReason",
            self.refund_reason.as_deref(),
            MAX_REFUND_REASON_LEN,
        )?;
        max_len(
            "refundNotifyUrl",
            self.refund_notify_url.as_deref(),
            MAX_URL_LEN,
        )
    }
}

impl Validate for InquiryRefundRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        exactly_one_id(
            "refundRequestId",
            self.refund_request_id.as_deref(),
            "refundId",
            self.refund_id.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay() -> PayRequest {
        let amount = Amount::new("PHP", 100);
        PayRequest::new(
            ProductCode::AgreementPayment,
            "pay-1",
            amount.clone(),
            Order::new("order-1", "Coffee", amount),
            PaymentMethod::with_id("GCASH", "token"),
        )
    }

    #[test]
    fn a_good_pay_passes() {
        assert_eq!(pay().validate(), Ok(()));
    }

    #[test]
    fn pay_limits() {
        let mut p = pay();
        p.payment_request_id = "x".repeat(65);
        assert_eq!(p.validate().unwrap_err().field, "paymentRequestId");
        let mut p = pay();
        p.payment_amount.value = "1.00".into();
        assert_eq!(p.validate().unwrap_err().field, "paymentAmount.value");
        let mut p = pay();
        p.payment_amount.currency = "php".into();
        assert_eq!(p.validate().unwrap_err().field, "paymentAmount.currency");
        let mut p = pay();
        p.payment_method.payment_method_id = None;
        assert_eq!(
            p.validate().unwrap_err().field,
            "paymentMethod.paymentMethodId"
        );
        let mut p = pay();
        p.product_code = ProductCode::CashierPayment;
        assert_eq!(p.validate().unwrap_err().field, "env");
    }

    #[test]
    fn card_errors_never_echo_the_value() {
        let mut p = pay();
        p.payment_method.payment_method_meta_data = Some(CardPaymentMethodMetaData {
            cvv: Some(Secret::new("12345")),
            ..CardPaymentMethodMetaData::default()
        });
        let e = p.validate().unwrap_err();
        assert_eq!(e.field, "paymentMethod.paymentMethodMetaData.cvv");
        assert!(!e.to_string().contains("12345"));
        p.payment_method.payment_method_meta_data = Some(CardPaymentMethodMetaData {
            expiry_month: Some("13".into()),
            ..CardPaymentMethodMetaData::default()
        });
        assert!(p.validate().unwrap_err().problem.contains("01–12"));
        // networkTransactionId may be 256 characters (reference §3.9), not 100.
        p.payment_method.payment_method_meta_data = Some(CardPaymentMethodMetaData {
            network_transaction_id: Some("7".repeat(256)),
            ..CardPaymentMethodMetaData::default()
        });
        assert!(p.validate().is_ok());
        p.payment_method.payment_method_meta_data = Some(CardPaymentMethodMetaData {
            network_transaction_id: Some("7".repeat(257)),
            ..CardPaymentMethodMetaData::default()
        });
        assert_eq!(
            p.validate().unwrap_err().field,
            "paymentMethod.paymentMethodMetaData.networkTransactionId"
        );
    }

    #[test]
    fn apply_token_needs_the_matching_credential() {
        assert!(
            ApplyTokenRequest::authorization_code("GCASH", "c")
                .validate()
                .is_ok()
        );
        assert!(
            ApplyTokenRequest::refresh_token("GCASH", "r")
                .validate()
                .is_ok()
        );
        let mut r = ApplyTokenRequest::authorization_code("GCASH", "c");
        r.grant_type = GrantType::RefreshToken;
        assert_eq!(r.validate().unwrap_err().field, "refreshToken");
    }

    #[test]
    fn inquiries_need_an_id() {
        let r = InquiryPaymentRequest {
            payment_request_id: None,
            payment_id: Some(" ".into()),
            merchant_account_id: None,
            in_store: false,
        };
        assert!(r.validate().is_err());
        assert!(InquiryRefundRequest::by_request_id("r").validate().is_ok());
    }

    #[test]
    fn consult_rules() {
        let c = ConsultRequest {
            customer_belongs_to: "GCASH".into(),
            auth_client_id: None,
            auth_redirect_url: "https://m.example/back".into(),
            scopes: vec![Scope::AgreementPay],
            auth_state: "s".into(),
            terminal_type: TerminalType::App,
            os_type: None,
            os_version: None,
            merchant_region: None,
            recurring_payment: None,
            auth_notify_url: None,
            env: None,
            merchant_account_id: None,
        };
        assert_eq!(c.validate().unwrap_err().field, "osType");
        let ok = ConsultRequest {
            terminal_type: TerminalType::Web,
            ..c.clone()
        };
        assert!(ok.validate().is_ok());
        let too_many = ConsultRequest {
            scopes: vec![Scope::AgreementPay; 5],
            ..ok
        };
        assert_eq!(too_many.validate().unwrap_err().field, "scopes");
    }
}
