//! Alipay result codes (reference §4.3, seed 001 consult table, seed 002 pay table, the sandbox's scenarios).
//!
//! Codes are an open set: Alipay adds codes without notice, so unknown ones are kept verbatim in
//! [`ResultCode::Other`] rather than failing deserialisation. Matching is case-insensitive because the docs show
//! both `SUCCESS` and `Success`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! result_codes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// A `result.resultCode` (or `paymentResultCode`) value.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ResultCode {
            $($(#[$doc])* $variant,)*
            /// Any code this crate does not know, kept verbatim.
            Other(String),
        }

        impl ResultCode {
            /// The code as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ResultCode::$variant => $wire,)*
                    ResultCode::Other(code) => code,
                }
            }

            /// The code for telemetry attributes: a known code, or `_OTHER` for anything else. Alipay may send any
            /// text here, and an attribute must neither carry unvetted text nor let one label grow without bound.
            pub fn telemetry_label(&self) -> &'static str {
                match self {
                    $(ResultCode::$variant => $wire,)*
                    ResultCode::Other(_) => "_OTHER",
                }
            }

            /// Parses a wire value (case-insensitively for known codes).
            pub fn parse(code: &str) -> Self {
                let upper = code.to_ascii_uppercase();
                match upper.as_str() {
                    $($wire => ResultCode::$variant,)*
                    _ => ResultCode::Other(code.to_owned()),
                }
            }
        }
    };
}

result_codes! {
    /// The call succeeded.
    Success => "SUCCESS",
    /// pay: the payment awaits user action or the wallet; inquire or wait for the notification.
    PaymentInProcess => "PAYMENT_IN_PROCESS",
    /// capture: accepted, final result later.
    CaptureInProcess => "CAPTURE_IN_PROCESS",
    /// refund: accepted, final result later (code name unverified, reference §4.2).
    RefundInProcess => "REFUND_IN_PROCESS",
    /// vaulting: 3DS verification pending.
    VerificationInProcess => "VERIFICATION_IN_PROCESS",
    /// Unknown failure; retry with the same request id.
    UnknownException => "UNKNOWN_EXCEPTION",
    /// Rate limited; retry with the same request id.
    RequestTrafficExceedLimit => "REQUEST_TRAFFIC_EXCEED_LIMIT",
    /// Missing or invalid parameters.
    ParamIllegal => "PARAM_ILLEGAL",
    /// Access denied.
    AccessDenied => "ACCESS_DENIED",
    /// The client may not use this API.
    ClientForbiddenAccessApi => "CLIENT_FORBIDDEN_ACCESS_API",
    /// Unknown or invalid client id.
    InvalidClient => "INVALID_CLIENT",
    /// The client status is invalid.
    InvalidClientStatus => "INVALID_CLIENT_STATUS",
    /// The client is invalid (seed 002 spelling).
    ClientInvalid => "CLIENT_INVALID",
    /// The client is unknown.
    UnknownClient => "UNKNOWN_CLIENT",
    /// The request signature did not verify.
    InvalidSignature => "INVALID_SIGNATURE",
    /// The request signature did not verify (seed 002 spelling).
    SignatureInvalid => "SIGNATURE_INVALID",
    /// No key registered for the client / key version.
    KeyNotFound => "KEY_NOT_FOUND",
    /// Unknown API path.
    NoInterfaceDef => "NO_INTERFACE_DEF",
    /// The API is invalid or inactive.
    InvalidApi => "INVALID_API",
    /// The API is invalid or inactive (seed 002 spelling).
    ApiInvalid => "API_INVALID",
    /// Wrong content type.
    MediaTypeNotAcceptable => "MEDIA_TYPE_NOT_ACCEPTABLE",
    /// Wrong HTTP method.
    MethodNotSupported => "METHOD_NOT_SUPPORTED",
    /// The merchant contract is invalid.
    InvalidContract => "INVALID_CONTRACT",
    /// The merchant is not registered.
    MerchantNotRegistered => "MERCHANT_NOT_REGISTERED",
    /// Same request id with different content.
    RepeatReqInconsistent => "REPEAT_REQ_INCONSISTENT",
    /// General business failure; do not retry.
    ProcessFail => "PROCESS_FAIL",
    /// System error; do not retry.
    SystemError => "SYSTEM_ERROR",
    /// Rejected by risk control.
    RiskReject => "RISK_REJECT",
    /// Not enough balance.
    UserBalanceNotEnough => "USER_BALANCE_NOT_ENOUGH",
    /// The user's own limit was exceeded.
    UserAmountExceedLimit => "USER_AMOUNT_EXCEED_LIMIT",
    /// The payment amount exceeds the limit.
    PaymentAmountExceedLimit => "PAYMENT_AMOUNT_EXCEED_LIMIT",
    /// Too many payments.
    PaymentCountExceedLimit => "PAYMENT_COUNT_EXCEED_LIMIT",
    /// The user does not exist.
    UserNotExist => "USER_NOT_EXIST",
    /// The user's account status is abnormal.
    UserStatusAbnormal => "USER_STATUS_ABNORMAL",
    /// KYC requirements not met.
    UserKycNotQualified => "USER_KYC_NOT_QUALIFIED",
    /// The user failed payment verification.
    UserPaymentVerificationFailed => "USER_PAYMENT_VERIFICATION_FAILED",
    /// The payment method is unavailable.
    UnavailablePaymentMethod => "UNAVAILABLE_PAYMENT_METHOD",
    /// Not a valid payment option.
    NoPayOption => "NO_PAY_OPTION",
    /// The wallet is not supported by this API.
    NoPayOptions => "NO_PAY_OPTIONS",
    /// The currency is not supported.
    CurrencyNotSupport => "CURRENCY_NOT_SUPPORT",
    /// The business is not supported.
    BusinessNotSupport => "BUSINESS_NOT_SUPPORT",
    /// Regulatory restriction.
    RegulationRestriction => "REGULATION_RESTRICTION",
    /// The merchant may not take payments.
    PaymentNotQualified => "PAYMENT_NOT_QUALIFIED",
    /// The order is closed (e.g. expired).
    OrderIsClosed => "ORDER_IS_CLOSED",
    /// The order is cancelled.
    OrderIsCanceled => "ORDER_IS_CANCELED",
    /// No such payment/refund.
    OrderNotExist => "ORDER_NOT_EXIST",
    /// The order is in a state that does not allow the operation.
    OrderStatusInvalid => "ORDER_STATUS_INVALID",
    /// The cancellation window has passed.
    CancelWindowExceed => "CANCEL_WINDOW_EXCEED",
    /// The refund exceeds the refundable amount.
    RefundAmountExceed => "REFUND_AMOUNT_EXCEED",
    /// The refund window has passed.
    RefundWindowExceed => "REFUND_WINDOW_EXCEED",
    /// Unknown, reused or bad authCode / payment code.
    InvalidCode => "INVALID_CODE",
    /// Expired authCode / payment code.
    ExpiredCode => "EXPIRED_CODE",
    /// The capture exceeds the authorized amount.
    CaptureAmountExceedAuthLimit => "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT",
    /// Invalid token.
    InvalidToken => "INVALID_TOKEN",
    /// Expired, revoked or unknown access token.
    InvalidAccessToken => "INVALID_ACCESS_TOKEN",
    /// Expired access token.
    ExpiredAccessToken => "EXPIRED_ACCESS_TOKEN",
    /// Invalid refresh token.
    InvalidRefreshToken => "INVALID_REFRESH_TOKEN",
    /// Expired refresh token.
    ExpiredRefreshToken => "EXPIRED_REFRESH_TOKEN",
    /// OAuth failed.
    OauthFailed => "OAUTH_FAILED",
    /// Card: the account behind the card is closed.
    AccountClosed => "ACCOUNT_CLOSED",
    /// Card: the issuer requires 3DS and the charge did not ask for it (or allow an upgrade).
    AuthenticationRequired => "AUTHENTICATION_REQUIRED",
    /// Card: blocked on first use.
    BlockedFirstUsed => "BLOCKED_FIRST_USED",
    /// Card: expired.
    CardExpired => "CARD_EXPIRED",
    /// Card: brand or product not supported for this merchant.
    CardNotSupported => "CARD_NOT_SUPPORTED",
    /// Card: the issuer declined without a reason (refusal code 05).
    DoNotHonor => "DO_NOT_HONOR",
    /// Card: rejected as fraud.
    FraudReject => "FRAUD_REJECT",
    /// Card: the number is invalid.
    InvalidCardNumber => "INVALID_CARD_NUMBER",
    /// Card: the CVV is wrong.
    InvalidCvv => "INVALID_CVV",
    /// Card: the expiry date is wrong.
    InvalidExpirationDate => "INVALID_EXPIRATION_DATE",
    /// Card: reported lost.
    LostCard => "LOST_CARD",
    /// Card: no account selected (combo cards).
    NoSelectedAccount => "NO_SELECTED_ACCOUNT",
    /// Card: the issuer asks to retain the card.
    PickupCard => "PICKUP_CARD",
    /// Card: refused by policy.
    Policy => "POLICY",
    /// Card: restricted.
    RestrictedCard => "RESTRICTED_CARD",
    /// Card: reported stolen.
    StolenCard => "STOLEN_CARD",
    /// Card: too many verification attempts.
    VerifyTimesExceedLimit => "VERIFY_TIMES_EXCEED_LIMIT",
}

impl ResultCode {
    /// True for the `*_IN_PROCESS` family: the request was accepted and its result comes later.
    pub fn is_in_process(&self) -> bool {
        self.as_str().to_ascii_uppercase().ends_with("_IN_PROCESS")
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResultCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResultCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ResultCode::parse(&s))
    }
}

impl From<&str> for ResultCode {
    fn from(code: &str) -> Self {
        ResultCode::parse(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_and_ignore_case() {
        assert_eq!(
            ResultCode::parse("USER_BALANCE_NOT_ENOUGH"),
            ResultCode::UserBalanceNotEnough
        );
        assert_eq!(ResultCode::parse("Success"), ResultCode::Success);
        assert_eq!(ResultCode::RiskReject.as_str(), "RISK_REJECT");
        let json = serde_json::to_string(&ResultCode::OrderNotExist).unwrap();
        assert_eq!(json, "\"ORDER_NOT_EXIST\"");
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let code: ResultCode = serde_json::from_str("\"BRAND_NEW_CODE\"").unwrap();
        assert_eq!(code, ResultCode::Other("BRAND_NEW_CODE".into()));
        assert_eq!(code.to_string(), "BRAND_NEW_CODE");
    }

    #[test]
    fn card_decline_codes_are_known_and_others_pass_through() {
        for code in [
            "CARD_NOT_SUPPORTED",
            "INVALID_CARD_NUMBER",
            "INVALID_CVV",
            "INVALID_EXPIRATION_DATE",
            "CARD_EXPIRED",
            "DO_NOT_HONOR",
            "LOST_CARD",
            "STOLEN_CARD",
            "PICKUP_CARD",
            "RESTRICTED_CARD",
            "FRAUD_REJECT",
            "AUTHENTICATION_REQUIRED",
            "USER_PAYMENT_VERIFICATION_FAILED",
            "USER_BALANCE_NOT_ENOUGH",
            "PROCESS_FAIL",
        ] {
            let parsed = ResultCode::parse(code);
            assert!(!matches!(parsed, ResultCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(
            ResultCode::parse("3DS_AUTH_FAILED"),
            ResultCode::Other("3DS_AUTH_FAILED".into())
        );
    }

    #[test]
    fn in_process_family() {
        assert!(ResultCode::PaymentInProcess.is_in_process());
        assert!(ResultCode::parse("SOMETHING_IN_PROCESS").is_in_process());
        assert!(!ResultCode::UnknownException.is_in_process());
    }
}
