//! Endpoints and the per-endpoint meaning of S/F/U (reference §4).

use std::fmt;

use crate::model::{ResultInfo, ResultStatus};
use crate::result_code::ResultCode;

/// An Alipay API endpoint this crate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `authorizations/consult`.
    Consult,
    /// `authorizations/applyToken`.
    ApplyToken,
    /// `authorizations/revoke`.
    Revoke,
    /// `users/inquiryUserInfo`.
    InquiryUserInfo,
    /// `payments/pay`.
    Pay,
    /// `payments/inquiryPayment`.
    InquiryPayment,
    /// `payments/cancel`.
    Cancel,
    /// `payments/capture`.
    Capture,
    /// `payments/refund`.
    Refund,
    /// `payments/inquiryRefund`.
    InquiryRefund,
}

impl Endpoint {
    /// Every endpoint, for iteration in tests and metrics.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::Consult,
        Endpoint::ApplyToken,
        Endpoint::Revoke,
        Endpoint::InquiryUserInfo,
        Endpoint::Pay,
        Endpoint::InquiryPayment,
        Endpoint::Cancel,
        Endpoint::Capture,
        Endpoint::Refund,
        Endpoint::InquiryRefund,
    ];

    /// The name used in logs, metrics and records, e.g. `payments/pay`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Consult => "authorizations/consult",
            Endpoint::ApplyToken => "authorizations/applyToken",
            Endpoint::Revoke => "authorizations/revoke",
            Endpoint::InquiryUserInfo => "users/inquiryUserInfo",
            Endpoint::Pay => "payments/pay",
            Endpoint::InquiryPayment => "payments/inquiryPayment",
            Endpoint::Cancel => "payments/cancel",
            Endpoint::Capture => "payments/capture",
            Endpoint::Refund => "payments/refund",
            Endpoint::InquiryRefund => "payments/inquiryRefund",
        }
    }

    /// The path after the prefix, e.g. `/v1/payments/pay`.
    pub fn path_suffix(self) -> String {
        format!("/v1/{}", self.name())
    }

    /// The `U` code that means "accepted, result later" for this endpoint, if it has one.
    fn in_process_code(self) -> Option<ResultCode> {
        match self {
            Endpoint::Pay => Some(ResultCode::PaymentInProcess),
            Endpoint::Capture => Some(ResultCode::CaptureInProcess),
            Endpoint::Refund => Some(ResultCode::RefundInProcess),
            _ => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an answer means for the call, per endpoint.
///
/// For the inquiry endpoints this is the outcome of the *inquiry*; the payment's or refund's own state is in the
/// response's `payment_status` / `refund_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `S`: done.
    Success,
    /// `F`: final failure; retrying the same request will not help.
    Failed {
        /// Result code.
        code: ResultCode,
        /// Result message.
        message: String,
    },
    /// `U` with the endpoint's `*_IN_PROCESS` code: accepted, wait for the notification or inquire
    /// (pay: redirect the buyer to the URLs in the body).
    InProcess,
    /// Any other `U` (or an unrecognised status): nothing is known; retry with the same request id or inquire.
    Unknown {
        /// Result code.
        code: ResultCode,
        /// Result message.
        message: String,
    },
}

impl Outcome {
    /// Classifies a result envelope for `endpoint`.
    pub fn classify(endpoint: Endpoint, result: &ResultInfo) -> Outcome {
        let message = result.result_message.clone().unwrap_or_default();
        match result.result_status {
            ResultStatus::Success => Outcome::Success,
            ResultStatus::Failed => Outcome::Failed {
                code: result.result_code.clone(),
                message,
            },
            ResultStatus::Unknown
                if endpoint.in_process_code().as_ref() == Some(&result.result_code) =>
            {
                Outcome::InProcess
            }
            ResultStatus::Unknown | ResultStatus::Unrecognized => Outcome::Unknown {
                code: result.result_code.clone(),
                message,
            },
        }
    }

    /// The `resultStatus` letter (`S`, `F` or `U`), for telemetry.
    pub fn result_status(&self) -> &'static str {
        match self {
            Outcome::Success => "S",
            Outcome::Failed { .. } => "F",
            Outcome::InProcess | Outcome::Unknown { .. } => "U",
        }
    }

    /// The result code for telemetry attributes ([`ResultCode::telemetry_label`]: unknown codes are `_OTHER`).
    pub fn code_label(&self, endpoint: Endpoint) -> &'static str {
        match self {
            Outcome::Success => ResultCode::Success.telemetry_label(),
            Outcome::InProcess => endpoint
                .in_process_code()
                .map_or("_OTHER", |code| code.telemetry_label()),
            Outcome::Failed { code, .. } | Outcome::Unknown { code, .. } => code.telemetry_label(),
        }
    }

    /// A short label for logs and records: `S`, `F`, `IN_PROCESS`, `U`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Success => "S",
            Outcome::Failed { .. } => "F",
            Outcome::InProcess => "IN_PROCESS",
            Outcome::Unknown { .. } => "U",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: ResultStatus, code: &str) -> ResultInfo {
        ResultInfo {
            result_code: ResultCode::parse(code),
            result_status: status,
            result_message: Some("m".into()),
        }
    }

    #[test]
    fn pay_in_process_versus_other_unknowns() {
        assert_eq!(
            Outcome::classify(
                Endpoint::Pay,
                &result(ResultStatus::Unknown, "PAYMENT_IN_PROCESS")
            ),
            Outcome::InProcess
        );
        assert_eq!(
            Outcome::classify(
                Endpoint::Pay,
                &result(ResultStatus::Unknown, "UNKNOWN_EXCEPTION")
            ),
            Outcome::Unknown {
                code: ResultCode::UnknownException,
                message: "m".into()
            }
        );
        assert!(matches!(
            Outcome::classify(
                Endpoint::Pay,
                &result(ResultStatus::Unknown, "REQUEST_TRAFFIC_EXCEED_LIMIT")
            ),
            Outcome::Unknown { .. }
        ));
    }

    #[test]
    fn in_process_codes_are_per_endpoint() {
        assert_eq!(
            Outcome::classify(
                Endpoint::Refund,
                &result(ResultStatus::Unknown, "REFUND_IN_PROCESS")
            ),
            Outcome::InProcess
        );
        assert_eq!(
            Outcome::classify(
                Endpoint::Capture,
                &result(ResultStatus::Unknown, "CAPTURE_IN_PROCESS")
            ),
            Outcome::InProcess
        );
        // PAYMENT_IN_PROCESS on a refund is not "accepted": nothing is known.
        assert!(matches!(
            Outcome::classify(
                Endpoint::Refund,
                &result(ResultStatus::Unknown, "PAYMENT_IN_PROCESS")
            ),
            Outcome::Unknown { .. }
        ));
    }

    #[test]
    fn failures_and_garbage_status() {
        assert_eq!(
            Outcome::classify(
                Endpoint::InquiryPayment,
                &result(ResultStatus::Failed, "ORDER_NOT_EXIST")
            ),
            Outcome::Failed {
                code: ResultCode::OrderNotExist,
                message: "m".into()
            }
        );
        assert!(matches!(
            Outcome::classify(
                Endpoint::Pay,
                &result(ResultStatus::Unrecognized, "SUCCESS")
            ),
            Outcome::Unknown { .. }
        ));
        assert_eq!(
            Outcome::classify(Endpoint::Consult, &result(ResultStatus::Success, "SUCCESS")),
            Outcome::Success
        );
    }

    #[test]
    fn endpoint_paths() {
        assert_eq!(Endpoint::Pay.path_suffix(), "/v1/payments/pay");
        assert_eq!(
            Endpoint::InquiryUserInfo.path_suffix(),
            "/v1/users/inquiryUserInfo"
        );
        assert_eq!(Endpoint::ALL.len(), 10);
    }
}
