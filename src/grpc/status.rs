//! The one mapping from [`EngineError`] to a gRPC [`Status`] with `google.rpc` details (the error model written in
//! `proto/alipay/gateway/v1/common.proto`). The match is exhaustive on purpose: a new engine error variant must be
//! given a caller-visible meaning here before the gateway compiles. Store failures arrive as engine variants (the
//! engine says what the caller can do about them), so this layer never sees the store.

use std::collections::HashMap;
use std::time::Duration;

use alipay::ResultCode;
use engine::EngineError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// `ErrorInfo.domain` of Alipay answers: the reason is Alipay's `resultCode` verbatim.
pub const ALIPAY_DOMAIN: &str = "alipay.com";
/// `ErrorInfo.domain` of rules the gateway itself enforces.
pub const GATEWAY_DOMAIN: &str = "gateway.alipay-gateway";

/// Suggested retry delay when the store or Alipay is unreachable and the engine gave no better hint.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

/// C-core gRPC clients (Python, Ruby, PHP, C++) refuse trailers over 8 KiB and report RESOURCE_EXHAUSTED instead
/// of the real error, so every part of an error answer is bounded. The message travels percent-encoded (up to
/// 3x) and the details base64-encoded (4/3x): 512 + 4,096 bytes stay well under the limit.
const MAX_MESSAGE_BYTES: usize = 512;
/// Byte budget of the encoded `BadRequest` field violations.
const MAX_VIOLATION_BYTES: usize = 4096;
/// Most field violations reported; the rest are counted in one closing entry.
const MAX_VIOLATIONS: usize = 20;
/// Longest field path, description or metadata value kept.
const MAX_DETAIL_BYTES: usize = 160;

/// The status for `error`. `request_id` (the payment, refund or capture request id the RPC acted on, if any) is
/// echoed in the `ErrorInfo` metadata so a caller handling errors generically can tie the error to its record.
pub fn to_status(error: EngineError, request_id: Option<&str>) -> Status {
    let message = clip(&error.to_string(), MAX_MESSAGE_BYTES);
    let mut metadata = HashMap::new();
    if let Some(id) = request_id.filter(|id| !id.is_empty()) {
        metadata.insert("payment_request_id".to_owned(), id.to_owned());
    }
    match error {
        EngineError::InvalidArgument(violations) => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request(bounded_violations(violations)),
        ),
        EngineError::NotFound { what, id } => {
            metadata.insert("id".to_owned(), id);
            gateway(
                Code::NotFound,
                message,
                &format!("{}_NOT_FOUND", what.to_ascii_uppercase()),
                metadata,
            )
        }
        EngineError::RequestMismatch { request_id } => {
            metadata.insert("request_id".to_owned(), request_id);
            gateway(
                Code::AlreadyExists,
                message,
                "REPEAT_REQ_INCONSISTENT",
                metadata,
            )
        }
        EngineError::Declined {
            code,
            message: result_message,
        } => {
            let status_code = alipay_failure_code(&ResultCode::parse(&code));
            metadata.insert("result_status".to_owned(), "F".to_owned());
            metadata.insert("result_message".to_owned(), result_message);
            Status::with_error_details(
                status_code,
                message,
                ErrorDetails::with_error_info(code, ALIPAY_DOMAIN, bounded(metadata)),
            )
        }
        EngineError::BindingInactive { status } => {
            metadata.insert("binding_status".to_owned(), status);
            gateway(
                Code::FailedPrecondition,
                message,
                "BINDING_NOT_ACTIVE",
                metadata,
            )
        }
        EngineError::IllegalState { reason, message: _ } => {
            gateway(illegal_state_code(reason), message, reason, metadata)
        }
        EngineError::Unavailable { retry_after } => {
            unavailable(message, retry_after, "OUTCOME_PENDING", metadata)
        }
        EngineError::Unreachable { retry_after } => {
            unavailable(message, retry_after, "ALIPAY_UNREACHABLE", metadata)
        }
        EngineError::Closing => unavailable(message, DEFAULT_RETRY, "SHUTTING_DOWN", metadata),
        EngineError::CursorExpired => {
            gateway(Code::OutOfRange, message, "CURSOR_EXPIRED", metadata)
        }
        EngineError::ConcurrentUpdate(_) => {
            gateway(Code::Aborted, message, "CONCURRENT_UPDATE", metadata)
        }
        EngineError::IllegalTransition(_) => {
            gateway(Code::FailedPrecondition, message, "ILLEGAL_STATE", metadata)
        }
        EngineError::StoreUnavailable(_) => {
            unavailable(message, DEFAULT_RETRY, "STORE_UNAVAILABLE", metadata)
        }
        EngineError::StoreFailure(_) => gateway(Code::Internal, message, "STORE_FAILURE", metadata),
        EngineError::Alipay(error) => call_error_status(&error, message, metadata),
    }
}

/// The gRPC code of an engine state conflict: the caller must change something first (FAILED_PRECONDITION),
/// except for a lost race, which a plain retry resolves (ABORTED), and an Alipay answer missing promised data,
/// which is not the caller's doing (INTERNAL).
fn illegal_state_code(reason: &str) -> Code {
    match reason {
        engine::reasons::CONCURRENT_MODIFICATION => Code::Aborted,
        engine::reasons::UPSTREAM_INCOMPLETE_ANSWER => Code::Internal,
        _ => Code::FailedPrecondition,
    }
}

/// A call that produced no verified Alipay answer. Transport trouble is UNAVAILABLE (retry with the same request
/// id: the engine's idempotency makes that safe); an answer that cannot be trusted, or a request the client
/// could not build, is the gateway's problem (INTERNAL).
fn call_error_status(
    error: &alipay::CallError,
    message: String,
    metadata: HashMap<String, String>,
) -> Status {
    use alipay::CallError as E;
    match error {
        E::Connect(_) | E::Timeout(_) | E::Transport(_) => {
            unavailable(message, DEFAULT_RETRY, "ALIPAY_UNREACHABLE", metadata)
        }
        E::Http { status } if *status >= 500 => {
            unavailable(message, DEFAULT_RETRY, "ALIPAY_UNREACHABLE", metadata)
        }
        E::Invalid(_) => gateway(
            Code::InvalidArgument,
            message,
            "ALIPAY_REQUEST_INVALID",
            metadata,
        ),
        E::Http { .. } | E::Build(_) | E::Signature(_) | E::Decode(_) => {
            gateway(Code::Internal, message, "ALIPAY_CALL_FAILED", metadata)
        }
    }
}

/// The gRPC code of an Alipay `F`: most are the caller's business (FAILED_PRECONDITION); a few name a record
/// that does not exist, an idempotency clash, or an authorization that does not allow the operation (a wallet
/// user who did not grant the scope); the configuration class (signature, client, key, API errors) is the
/// operator's problem, not the caller's, so INTERNAL.
fn alipay_failure_code(code: &ResultCode) -> Code {
    if *code == ResultCode::AccessDenied {
        Code::PermissionDenied
    } else if *code == ResultCode::RepeatReqInconsistent {
        Code::AlreadyExists
    } else if *code == ResultCode::OrderNotExist {
        Code::NotFound
    } else if *code == ResultCode::ParamIllegal {
        Code::InvalidArgument
    } else if CONFIGURATION_CLASS.contains(code) {
        Code::Internal
    } else {
        Code::FailedPrecondition
    }
}

/// Alipay `F` codes that mean the merchant's setup is wrong (client id, keys, signature, API access).
const CONFIGURATION_CLASS: &[ResultCode] = &[
    ResultCode::ClientForbiddenAccessApi,
    ResultCode::InvalidClient,
    ResultCode::InvalidClientStatus,
    ResultCode::ClientInvalid,
    ResultCode::UnknownClient,
    ResultCode::InvalidSignature,
    ResultCode::SignatureInvalid,
    ResultCode::KeyNotFound,
    ResultCode::NoInterfaceDef,
    ResultCode::InvalidApi,
    ResultCode::ApiInvalid,
    ResultCode::MediaTypeNotAcceptable,
    ResultCode::MethodNotSupported,
    ResultCode::MerchantNotRegistered,
];

fn gateway(code: Code, message: String, reason: &str, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, GATEWAY_DOMAIN, bounded(metadata)),
    )
}

/// The first violations that fit [`MAX_VIOLATIONS`] and [`MAX_VIOLATION_BYTES`], each clipped, and one closing
/// entry counting the ones left out, so the caller knows the list is partial.
fn bounded_violations(violations: Vec<engine::FieldViolation>) -> Vec<FieldViolation> {
    let total = violations.len();
    let mut kept = Vec::new();
    let mut bytes = 0;
    for v in violations {
        let field = clip(&v.field, MAX_DETAIL_BYTES);
        let description = clip(&v.description, MAX_DETAIL_BYTES);
        // Protobuf framing of one violation: two tagged strings inside a tagged message, a few bytes each.
        let size = field.len() + description.len() + 8;
        if kept.len() == MAX_VIOLATIONS || bytes + size > MAX_VIOLATION_BYTES {
            break;
        }
        bytes += size;
        kept.push(FieldViolation::new(field, description));
    }
    if kept.len() < total {
        let more = total - kept.len();
        kept.push(FieldViolation::new(
            "",
            format!("{more} more violation(s) not shown; fix the ones above and retry"),
        ));
    }
    kept
}

/// `metadata` with every value clipped to [`MAX_DETAIL_BYTES`] (request ids echoed from an invalid request can be
/// arbitrarily long, Alipay's messages are not bounded by its docs).
fn bounded(metadata: HashMap<String, String>) -> HashMap<String, String> {
    metadata
        .into_iter()
        .map(|(k, v)| (k, clip(&v, MAX_DETAIL_BYTES)))
        .collect()
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn unavailable(
    message: String,
    retry_after: Duration,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(retry_after));
    details.set_error_info(reason, GATEWAY_DOMAIN, bounded(metadata));
    Status::with_error_details(Code::Unavailable, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &Status) -> (String, String, HashMap<String, String>) {
        let info = status
            .get_error_details()
            .error_info()
            .cloned()
            .expect("ErrorInfo");
        (info.reason, info.domain, info.metadata)
    }

    #[test]
    fn declines_carry_the_alipay_code() {
        let s = to_status(
            EngineError::Declined {
                code: "USER_BALANCE_NOT_ENOUGH".into(),
                message: "no money".into(),
            },
            Some("p-1"),
        );
        assert_eq!(s.code(), Code::FailedPrecondition);
        let (reason, domain, metadata) = info(&s);
        assert_eq!(
            (reason.as_str(), domain.as_str()),
            ("USER_BALANCE_NOT_ENOUGH", ALIPAY_DOMAIN)
        );
        assert_eq!(metadata["result_status"], "F");
        assert_eq!(metadata["result_message"], "no money");
        assert_eq!(metadata["payment_request_id"], "p-1");
    }

    #[test]
    fn special_alipay_codes() {
        let code = |c: &str| {
            to_status(
                EngineError::Declined {
                    code: c.into(),
                    message: String::new(),
                },
                None,
            )
            .code()
        };
        assert_eq!(code("REPEAT_REQ_INCONSISTENT"), Code::AlreadyExists);
        assert_eq!(code("ORDER_NOT_EXIST"), Code::NotFound);
        assert_eq!(code("INVALID_SIGNATURE"), Code::Internal);
        assert_eq!(code("KEY_NOT_FOUND"), Code::Internal);
        assert_eq!(code("ACCESS_DENIED"), Code::PermissionDenied);
        assert_eq!(code("RISK_REJECT"), Code::FailedPrecondition);
        assert_eq!(code("SOMETHING_NEW"), Code::FailedPrecondition);
    }

    #[test]
    fn gateway_side_errors() {
        let s = to_status(
            EngineError::RequestMismatch {
                request_id: "p-2".into(),
            },
            Some("p-2"),
        );
        assert_eq!(s.code(), Code::AlreadyExists);
        assert_eq!(info(&s).0, "REPEAT_REQ_INCONSISTENT");
        assert_eq!(info(&s).1, GATEWAY_DOMAIN);

        let s = to_status(
            EngineError::invalid("order.order_description", "is required"),
            None,
        );
        assert_eq!(s.code(), Code::InvalidArgument);
        let bad = s
            .get_error_details()
            .bad_request()
            .cloned()
            .expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "order.order_description");

        let s = to_status(
            EngineError::Unavailable {
                retry_after: Duration::from_secs(3),
            },
            None,
        );
        assert_eq!(s.code(), Code::Unavailable);
        let retry = s
            .get_error_details()
            .retry_info()
            .cloned()
            .expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(3)));

        let s = to_status(
            EngineError::BindingInactive {
                status: "REVOKED".into(),
            },
            None,
        );
        assert_eq!(
            (s.code(), info(&s).0.as_str()),
            (Code::FailedPrecondition, "BINDING_NOT_ACTIVE")
        );

        let s = to_status(
            EngineError::NotFound {
                what: "payment",
                id: "x".into(),
            },
            None,
        );
        assert_eq!(
            (s.code(), info(&s).0.as_str()),
            (Code::NotFound, "PAYMENT_NOT_FOUND")
        );
    }

    #[test]
    fn illegal_states_carry_the_engine_reason() {
        for reason in engine::reasons::ALL {
            let s = to_status(
                EngineError::IllegalState {
                    reason,
                    message: "not now".into(),
                },
                Some("p-3"),
            );
            let (got, domain, metadata) = info(&s);
            assert_eq!((got.as_str(), domain.as_str()), (*reason, GATEWAY_DOMAIN));
            assert_eq!(metadata["payment_request_id"], "p-3");
            assert!(s.message().contains("not now"), "{s:?}");
        }
        let code = |reason| {
            to_status(
                EngineError::IllegalState {
                    reason,
                    message: String::new(),
                },
                None,
            )
            .code()
        };
        assert_eq!(
            code(engine::reasons::REFUND_AMOUNT_EXCEED),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(engine::reasons::SCOPE_NOT_GRANTED),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(engine::reasons::CONCURRENT_MODIFICATION),
            Code::Aborted
        );
        assert_eq!(
            code(engine::reasons::UPSTREAM_INCOMPLETE_ANSWER),
            Code::Internal
        );
    }

    #[test]
    fn event_stream_errors() {
        let s = to_status(EngineError::CursorExpired, None);
        assert_eq!(s.code(), Code::OutOfRange);
        assert_eq!(info(&s).0, "CURSOR_EXPIRED");
        let s = to_status(
            EngineError::invalid("cursor", "not a cursor issued by this stream"),
            None,
        );
        assert_eq!(s.code(), Code::InvalidArgument);
        let violations = s
            .get_error_details()
            .bad_request()
            .cloned()
            .expect("BadRequest");
        assert_eq!(violations.field_violations[0].field, "cursor");
        let s = to_status(EngineError::Closing, None);
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(info(&s).0, "SHUTTING_DOWN");
        assert!(s.get_error_details().retry_info().is_some(), "{s:?}");
    }
}
