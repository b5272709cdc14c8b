//! Machine-readable codes of [`crate::EngineError::IllegalState`]. They are gateway codes, not Alipay's: each names
//! a state conflict the engine detected before calling Alipay, so the gRPC layer can put a stable reason in its error
//! details (and clients can branch on it) instead of parsing messages.

/// Refund of a payment that is not SUCCESS.
pub const PAYMENT_NOT_REFUNDABLE: &str = "PAYMENT_NOT_REFUNDABLE";
/// The refund is larger than what is left of the payment after its successful and pending refunds.
pub const REFUND_AMOUNT_EXCEED: &str = "REFUND_AMOUNT_EXCEED";
/// Capture of a payment that is not a SUCCESS manual-capture authorization.
pub const PAYMENT_NOT_CAPTURABLE: &str = "PAYMENT_NOT_CAPTURABLE";
/// The capture is larger than what is left of the authorization after its successful and pending captures.
pub const CAPTURE_AMOUNT_EXCEED: &str = "CAPTURE_AMOUNT_EXCEED";
/// Cancel of a payment that can no longer be cancelled: SUCCESS (refund it instead) or FAIL (nothing to cancel).
pub const PAYMENT_NOT_CANCELLABLE: &str = "PAYMENT_NOT_CANCELLABLE";
/// The payment has no Alipay `paymentId` yet (its outcome is still being established), which refund and capture
/// need: ask again once it is SUCCESS.
pub const PAYMENT_ID_UNKNOWN: &str = "PAYMENT_ID_UNKNOWN";
/// `inquiryUserInfo` on a binding authorized without BASE_USER_INFO or USER_INFO scope.
pub const SCOPE_NOT_GRANTED: &str = "SCOPE_NOT_GRANTED";
/// Alipay answered S without data the protocol promises (e.g. applyToken without an access token).
pub const UPSTREAM_INCOMPLETE_ANSWER: &str = "UPSTREAM_INCOMPLETE_ANSWER";
/// The object kept changing under concurrent writers; retrying the request is safe.
pub const CONCURRENT_MODIFICATION: &str = "CONCURRENT_MODIFICATION";
/// A replayed Pay whose payment is FAIL because Alipay never received it (its answer was lost and the inquiry found
/// no such order): nothing was charged, and only a new payment request id can try again.
pub const PAYMENT_NOT_RECEIVED: &str = "PAYMENT_NOT_RECEIVED";

/// A card authorization whose money has moved (captured) cannot be voided: refund it instead.
pub const PAYMENT_ALREADY_CAPTURED: &str = "PAYMENT_ALREADY_CAPTURED";

/// Every code above, so callers and tests can enumerate them.
pub const ALL: &[&str] = &[
    PAYMENT_NOT_REFUNDABLE,
    REFUND_AMOUNT_EXCEED,
    PAYMENT_NOT_CAPTURABLE,
    CAPTURE_AMOUNT_EXCEED,
    PAYMENT_NOT_CANCELLABLE,
    PAYMENT_ID_UNKNOWN,
    SCOPE_NOT_GRANTED,
    UPSTREAM_INCOMPLETE_ANSWER,
    CONCURRENT_MODIFICATION,
    PAYMENT_NOT_RECEIVED,
    PAYMENT_ALREADY_CAPTURED,
];
