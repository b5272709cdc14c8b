//! The Alipay result codes the sandbox emits, with the messages of the documentation's code tables (seeds 001
//! and 002). One constant per code keeps the spelling in one place.

/// A result code and its documented default message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The `resultCode` on the wire.
    pub name: &'static str,
    /// The documented `resultMessage`.
    pub message: &'static str,
}

macro_rules! codes {
    ($($ident:ident = $message:literal;)*) => {
        $(
            #[doc = $message]
            pub const $ident: Code = Code { name: stringify!($ident), message: $message };
        )*
    };
}

codes! {
    SUCCESS = "Success";
    // protocol / client errors
    PARAM_ILLEGAL = "Illegal parameters exist.";
    NO_INTERFACE_DEF = "API is not defined.";
    METHOD_NOT_SUPPORTED = "The server does not implement the requested HTTP method.";
    MEDIA_TYPE_NOT_ACCEPTABLE = "The server does not implement the media type that is acceptable to the client.";
    CLIENT_INVALID = "The client is invalid.";
    UNKNOWN_CLIENT = "The client is unknown.";
    SIGNATURE_INVALID = "The signature is invalid.";
    INVALID_SIGNATURE = "The signature is not validated.";
    ACCESS_DENIED = "Access is denied.";
    REPEAT_REQ_INCONSISTENT = "Repeated requests are inconsistent.";
    // authorization
    INVALID_CODE = "The code is invalid.";
    EXPIRED_CODE = "The code is expired.";
    INVALID_ACCESS_TOKEN = "The access token is expired, revoked, or does not exist.";
    INVALID_REFRESH_TOKEN = "The refresh token is expired, revoked, or does not exist.";
    // payment outcomes
    PAYMENT_IN_PROCESS = "The payment is being processed.";
    USER_BALANCE_NOT_ENOUGH = "The user balance is not enough for the payment.";
    RISK_REJECT = "The request is rejected because of the risk control.";
    USER_AMOUNT_EXCEED_LIMIT = "The payment amount exceeds the user payment limit.";
    PAYMENT_AMOUNT_EXCEED_LIMIT = "The payment amount exceeds the limit.";
    PAYMENT_COUNT_EXCEED_LIMIT = "The number of payments exceeds the limit.";
    USER_STATUS_ABNORMAL = "The user status is abnormal.";
    USER_NOT_EXIST = "The user does not exist.";
    PROCESS_FAIL = "A general business failure occurred. Do not retry.";
    UNKNOWN_EXCEPTION = "An API calling is failed, which is caused by unknown reasons.";
    REQUEST_TRAFFIC_EXCEED_LIMIT = "The request traffic exceeds the limit.";
    ORDER_IS_CANCELED = "The order is canceled.";
    // after-payment operations
    ORDER_NOT_EXIST = "The order does not exist.";
    ORDER_STATUS_INVALID = "The order status is invalid.";
    CANCEL_WINDOW_EXCEED = "The cancellation period has passed.";
    REFUND_AMOUNT_EXCEED = "The total refund amount exceeds the payment amount.";
    // The `*_IN_PROCESS` name Alipay's refund flow expects; the reference marks the exact name unverified (§4.2).
    REFUND_IN_PROCESS = "The refund is being processed.";
    REFUND_WINDOW_EXCEED = "The refund period has passed.";
    CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT = "The capture amount exceeds the authorized amount.";
    // card issuer (reference §3.9)
    AUTHENTICATION_REQUIRED = "The issuer requires 3D Secure authentication.";
    CARD_EXPIRED = "The card has expired.";
    CARD_NOT_SUPPORTED = "The card is not supported.";
    DO_NOT_HONOR = "The issuer declined the payment.";
    FRAUD_REJECT = "The payment was rejected as suspected fraud.";
    INVALID_CARD_NUMBER = "The card number is invalid.";
    INVALID_CVV = "The CVV is invalid.";
    INVALID_EXPIRATION_DATE = "The expiry date is invalid.";
    USER_PAYMENT_VERIFICATION_FAILED = "The cardholder failed payment verification.";
    INVALID_TOKEN = "The card token is invalid or does not belong to this client.";
}
