//! The AMS endpoints the sandbox serves and the endpoint-family differences of the documentation: the
//! payments pages call a bad client `CLIENT_INVALID` and a bad signature `SIGNATURE_INVALID`, the
//! authorization pages `UNKNOWN_CLIENT` and `INVALID_SIGNATURE`.

use crate::codes::{self, Code};

/// One served endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Consult,
    ApplyToken,
    Revoke,
    InquiryUserInfo,
    Pay,
    InquiryPayment,
    Cancel,
    Capture,
    Refund,
    InquiryRefund,
}

const ALL: [Endpoint; 10] = [
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

/// Production and sandbox path prefixes; both are served.
const PREFIXES: [&str; 2] = ["/ams/api/v1/", "/ams/sandbox/api/v1/"];

impl Endpoint {
    /// The endpoint behind a request path, if any.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = PREFIXES.iter().find_map(|p| path.strip_prefix(p))?;
        ALL.into_iter().find(|e| e.name() == name)
    }

    /// The normalised name, e.g. `payments/pay` (used in stats).
    pub fn name(self) -> &'static str {
        match self {
            Self::Consult => "authorizations/consult",
            Self::ApplyToken => "authorizations/applyToken",
            Self::Revoke => "authorizations/revoke",
            Self::InquiryUserInfo => "users/inquiryUserInfo",
            Self::Pay => "payments/pay",
            Self::InquiryPayment => "payments/inquiryPayment",
            Self::Cancel => "payments/cancel",
            Self::Capture => "payments/capture",
            Self::Refund => "payments/refund",
            Self::InquiryRefund => "payments/inquiryRefund",
        }
    }

    fn is_authorization_family(self) -> bool {
        matches!(
            self,
            Self::Consult | Self::ApplyToken | Self::Revoke | Self::InquiryUserInfo
        )
    }

    /// The code for a missing or unknown client id.
    pub fn client_code(self) -> Code {
        if self.is_authorization_family() {
            codes::UNKNOWN_CLIENT
        } else {
            codes::CLIENT_INVALID
        }
    }

    /// The code for a missing, malformed or wrong signature.
    pub fn signature_code(self) -> Code {
        if self.is_authorization_family() {
            codes::INVALID_SIGNATURE
        } else {
            codes::SIGNATURE_INVALID
        }
    }

    /// The request id counted in stats for this endpoint.
    pub fn stats_id(self, body: &serde_json::Value) -> Option<&str> {
        let field = |name: &str| {
            body.get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        match self {
            Self::Pay => field("paymentRequestId"),
            Self::Refund => field("refundRequestId"),
            Self::Capture => field("captureRequestId"),
            Self::InquiryPayment | Self::Cancel => {
                field("paymentId").or_else(|| field("paymentRequestId"))
            }
            Self::InquiryRefund => field("refundId").or_else(|| field("refundRequestId")),
            Self::Consult => field("authState"),
            Self::ApplyToken | Self::Revoke | Self::InquiryUserInfo => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_prefixes_and_nothing_else() {
        assert_eq!(
            Endpoint::from_path("/ams/api/v1/payments/pay"),
            Some(Endpoint::Pay)
        );
        assert_eq!(
            Endpoint::from_path("/ams/sandbox/api/v1/users/inquiryUserInfo"),
            Some(Endpoint::InquiryUserInfo)
        );
        assert_eq!(Endpoint::from_path("/ams/api/v1/payments/pay/"), None);
        assert_eq!(Endpoint::from_path("/ams/api/v2/payments/pay"), None);
        assert_eq!(
            Endpoint::from_path("/ams/api/v1/payments/createPaymentSession"),
            None
        );
        for e in ALL {
            assert_eq!(
                Endpoint::from_path(&format!("/ams/api/v1/{}", e.name())),
                Some(e)
            );
        }
    }
}
