//! The source side of incoming notifications, in the shape of Hyperswitch's `IncomingWebhook`: verify the source,
//! find the object reference, decide the event kind, build the resource update, build the acknowledgement.
//!
//! The HTTP listener and the store only ever see these steps, so a second source (another acquirer, a vaulting
//! service) is a second implementation, not a change to the ingress. [`AlipayWebhook`] is the one implementation.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;

use crate::model::{
    AuthorizationNotifyType, Notification, PaymentNotifyType, RefundStatus, ResultInfo,
    ResultStatus, Secret,
};
use crate::notification::{
    ACK_REJECTED, ACK_RETRY, ACK_SUCCESS, NotificationError, verify_notification,
};
use crate::signing::{SignatureHeader, Verifier};

/// An incoming notification as the HTTP layer received it: headers and the exact bytes of the body.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received (the signature covers these bytes).
    pub body: &'a [u8],
}

/// Whether a verified notification's `request-time` lies in the accepted window. Age alone never rejects: a stale
/// notification is stored and acknowledged, but an inquiry decides instead of its body (a replayed old message can
/// cost an inquiry, never a state change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Signed within `max_age` and not beyond the future skew.
    Fresh,
    /// Older than `max_age`, too far in the future, or a `request-time` that is neither ISO 8601 nor epoch ms.
    OutOfWindow,
}

/// What a notification is about, without its credentials (an access token is carried as a redacting [`Secret`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectReference {
    /// A payment, by the merchant's `paymentRequestId`.
    Payment {
        /// The merchant request id.
        payment_request_id: String,
    },
    /// A capture, by `captureRequestId`; `payment_id` matches an AUTOMATIC capture the gateway never requested.
    Capture {
        /// The merchant (or Alipay-made) capture request id.
        capture_request_id: String,
        /// Alipay's paymentId.
        payment_id: Option<String>,
    },
    /// A refund, by `refundRequestId`.
    Refund {
        /// The merchant refund request id.
        refund_request_id: String,
    },
    /// A wallet binding, by its access token (looked up through a keyed hash, never stored in clear).
    AccessToken(Secret),
    /// Nothing the gateway keeps (an authCode for a page flow, an unknown kind).
    None,
}

/// The kind of event, for routing, the `notify_type` column and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// notifyPayment PAYMENT_RESULT / OFFLINE_PAYMENT_CODE with `S`.
    PaymentSucceeded,
    /// notifyPayment with `F`.
    PaymentFailed,
    /// notifyPayment PAYMENT_PENDING, or a result that is neither `S` nor `F`: never final.
    PaymentPending,
    /// notifyCapture with `S`.
    CaptureSucceeded,
    /// notifyCapture with `F`.
    CaptureFailed,
    /// notifyCapture with any other status.
    CapturePending,
    /// notifyRefund SUCCESS.
    RefundSucceeded,
    /// notifyRefund FAIL.
    RefundFailed,
    /// notifyRefund with any other status.
    RefundPending,
    /// notifyAuthorization AUTHCODE_CREATED.
    AuthCodeCreated,
    /// notifyAuthorization TOKEN_CANCELED.
    TokenCanceled,
    /// Anything else (disputes, vaulting, new types): stored and acknowledged only.
    Other,
}

impl EventKind {
    /// A stable name for logs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentSucceeded => "PAYMENT_SUCCEEDED",
            Self::PaymentFailed => "PAYMENT_FAILED",
            Self::PaymentPending => "PAYMENT_PENDING",
            Self::CaptureSucceeded => "CAPTURE_SUCCEEDED",
            Self::CaptureFailed => "CAPTURE_FAILED",
            Self::CapturePending => "CAPTURE_PENDING",
            Self::RefundSucceeded => "REFUND_SUCCEEDED",
            Self::RefundFailed => "REFUND_FAILED",
            Self::RefundPending => "REFUND_PENDING",
            Self::AuthCodeCreated => "AUTHCODE_CREATED",
            Self::TokenCanceled => "TOKEN_CANCELED",
            Self::Other => "OTHER",
        }
    }
}

/// Where the referenced object should go, as far as the notification can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Final success.
    Succeeded,
    /// Final failure.
    Failed,
    /// Still processing (never final, whatever its result status says).
    Pending,
    /// Revoke (TOKEN_CANCELED).
    Revoked,
    /// Nothing to change.
    None,
}

/// The facts a notification brings about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUpdate {
    /// The target.
    pub settlement: Settlement,
    /// Alipay's id for the object (paymentId, captureId, refundId) when the body carries it.
    pub alipay_id: Option<String>,
    /// The body's `result` envelope.
    pub result: Option<ResultInfo>,
    /// paymentTime / captureTime / refundTime as sent.
    pub time: Option<String>,
}

/// How the HTTP layer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Durably stored (or a duplicate of something stored): stop redelivering.
    Accepted,
    /// Not verified: nothing was applied.
    Rejected,
    /// Could not be stored now: redeliver.
    Retry,
}

/// An HTTP status and body to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledgement {
    /// HTTP status code.
    pub status: u16,
    /// JSON body (unsigned: Alipay does not verify acknowledgements).
    pub body: &'static str,
}

/// The steps every notification source implements (see the module documentation).
pub trait IncomingWebhook {
    /// The parsed notification.
    type Event;
    /// Checks the signature (and the sender) over the raw bytes; only then may the body be believed.
    fn verify_source(&self, request: &WebhookRequest<'_>) -> Result<Freshness, NotificationError>;
    /// Parses a body; only bytes that are not JSON at all fail (unknown kinds parse into an "other" event).
    fn parse_event(&self, body: &[u8]) -> Result<Self::Event, serde_json::Error>;
    /// The object the event is about.
    fn object_reference(&self, event: &Self::Event) -> ObjectReference;
    /// The event's kind.
    fn event_kind(&self, event: &Self::Event) -> EventKind;
    /// The change it asks for.
    fn resource_update(&self, event: &Self::Event) -> ResourceUpdate;
    /// A key that is equal for redeliveries of one event and holds no secret: `keyed_hash` turns a credential
    /// into a lookup value; `body` is hashed when the event names nothing better.
    fn dedup_key(
        &self,
        event: &Self::Event,
        body: &[u8],
        keyed_hash: &dyn Fn(&str) -> String,
    ) -> String;
    /// The answer for an outcome.
    fn ack(&self, ack: Ack) -> Acknowledgement;
}

/// Alipay's notifications (notifyPayment, notifyCapture, notifyRefund, notifyAuthorization and anything else).
#[derive(Debug, Clone)]
pub struct AlipayWebhook {
    verifier: Verifier,
    client_id: String,
    path: String,
    key_versions: Vec<String>,
    max_age: Duration,
    future_skew: Duration,
}

impl AlipayWebhook {
    /// Future `request-time`s up to this far ahead are clock skew, not forgery.
    pub const FUTURE_SKEW: Duration = Duration::from_secs(600);
    /// The default `notify_max_age`: Alipay redelivers for about 24 h, so twice that.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(48 * 3600);

    /// A verifier for notifications sent to `path` (the path of the public URL Alipay posts to, not the one a proxy
    /// forwards) for `client_id`, signed with Alipay's key under one of `key_versions` (a signature without a
    /// `keyVersion` is accepted).
    pub fn new(
        verifier: Verifier,
        client_id: impl Into<String>,
        path: impl Into<String>,
        key_versions: Vec<String>,
        max_age: Duration,
    ) -> Self {
        Self {
            verifier,
            client_id: client_id.into(),
            path: path.into(),
            key_versions,
            max_age,
            future_skew: Self::FUTURE_SKEW,
        }
    }

    /// The path signatures are checked against.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn freshness(&self, request_time: Option<&str>, now: DateTime<Utc>) -> Freshness {
        let Some(at) = request_time.and_then(parse_request_time) else {
            return Freshness::OutOfWindow;
        };
        let too_old = chrono::Duration::from_std(self.max_age)
            .is_ok_and(|max| now.signed_duration_since(at) > max);
        let too_new = chrono::Duration::from_std(self.future_skew)
            .is_ok_and(|skew| at.signed_duration_since(now) > skew);
        if too_old || too_new {
            Freshness::OutOfWindow
        } else {
            Freshness::Fresh
        }
    }
}

/// `request-time` as Alipay sends it: ISO 8601 with an offset (the samples) or epoch milliseconds.
pub fn parse_request_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_millis_opt(text.parse().ok()?).single();
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn settle_result(result: &ResultInfo) -> Settlement {
    match result.result_status {
        ResultStatus::Success => Settlement::Succeeded,
        ResultStatus::Failed => Settlement::Failed,
        ResultStatus::Unknown | ResultStatus::Unrecognized => Settlement::Pending,
    }
}

impl IncomingWebhook for AlipayWebhook {
    type Event = Notification;

    fn verify_source(&self, request: &WebhookRequest<'_>) -> Result<Freshness, NotificationError> {
        verify_notification(
            &self.verifier,
            &self.client_id,
            &self.path,
            request.headers,
            request.body,
        )?;
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(version) = header("signature")
            .and_then(|v| SignatureHeader::parse(v).ok())
            .and_then(|h| h.key_version)
            && !self.key_versions.contains(&version)
        {
            return Err(NotificationError::UnknownKeyVersion(version));
        }
        Ok(self.freshness(header("request-time"), Utc::now()))
    }

    fn parse_event(&self, body: &[u8]) -> Result<Notification, serde_json::Error> {
        Notification::parse(body)
    }

    fn object_reference(&self, event: &Notification) -> ObjectReference {
        match event {
            Notification::Payment(p) => ObjectReference::Payment {
                payment_request_id: p.payment_request_id.clone(),
            },
            Notification::Capture(c) => ObjectReference::Capture {
                capture_request_id: c.capture_request_id.clone(),
                payment_id: c.payment_id.clone(),
            },
            Notification::Refund(r) => ObjectReference::Refund {
                refund_request_id: r.refund_request_id.clone(),
            },
            Notification::Authorization(a)
                if a.authorization_notify_type == AuthorizationNotifyType::TokenCanceled =>
            {
                a.access_token
                    .clone()
                    .map_or(ObjectReference::None, ObjectReference::AccessToken)
            }
            Notification::Other {
                payment_request_id: Some(id),
                ..
            } => ObjectReference::Payment {
                payment_request_id: id.clone(),
            },
            Notification::Authorization(_) | Notification::Other { .. } => ObjectReference::None,
        }
    }

    fn event_kind(&self, event: &Notification) -> EventKind {
        let update = self.resource_update(event);
        let by = |ok, fail, pending| match update.settlement {
            Settlement::Succeeded => ok,
            Settlement::Failed => fail,
            _ => pending,
        };
        match event {
            Notification::Payment(_) => by(
                EventKind::PaymentSucceeded,
                EventKind::PaymentFailed,
                EventKind::PaymentPending,
            ),
            Notification::Capture(_) => by(
                EventKind::CaptureSucceeded,
                EventKind::CaptureFailed,
                EventKind::CapturePending,
            ),
            Notification::Refund(_) => by(
                EventKind::RefundSucceeded,
                EventKind::RefundFailed,
                EventKind::RefundPending,
            ),
            Notification::Authorization(a) => match a.authorization_notify_type {
                AuthorizationNotifyType::AuthcodeCreated => EventKind::AuthCodeCreated,
                AuthorizationNotifyType::TokenCanceled => EventKind::TokenCanceled,
                AuthorizationNotifyType::Unrecognized => EventKind::Other,
            },
            Notification::Other { .. } => EventKind::Other,
        }
    }

    fn resource_update(&self, event: &Notification) -> ResourceUpdate {
        let none = ResourceUpdate {
            settlement: Settlement::None,
            alipay_id: None,
            result: None,
            time: None,
        };
        match event {
            Notification::Payment(p) => ResourceUpdate {
                // PAYMENT_PENDING with `S` means "still processing": never final.
                settlement: match p.notify_type {
                    PaymentNotifyType::PaymentResult | PaymentNotifyType::OfflinePaymentCode => {
                        settle_result(&p.result)
                    }
                    PaymentNotifyType::PaymentPending | PaymentNotifyType::Unrecognized => {
                        Settlement::Pending
                    }
                },
                alipay_id: p.payment_id.clone(),
                result: Some(p.result.clone()),
                time: p.payment_time.clone(),
            },
            Notification::Capture(c) => ResourceUpdate {
                settlement: settle_result(&c.result),
                alipay_id: c.capture_id.clone(),
                result: Some(c.result.clone()),
                time: c.capture_time.clone(),
            },
            Notification::Refund(r) => ResourceUpdate {
                settlement: match (r.refund_status, r.result.result_status) {
                    (Some(RefundStatus::Success), _) => Settlement::Succeeded,
                    (Some(RefundStatus::Fail), _) => Settlement::Failed,
                    (None, ResultStatus::Success) => Settlement::Succeeded,
                    (None, ResultStatus::Failed) => Settlement::Failed,
                    _ => Settlement::Pending,
                },
                alipay_id: r.refund_id.clone(),
                result: Some(r.result.clone()),
                time: r.refund_time.clone(),
            },
            Notification::Authorization(a)
                if a.authorization_notify_type == AuthorizationNotifyType::TokenCanceled =>
            {
                ResourceUpdate {
                    settlement: Settlement::Revoked,
                    ..none
                }
            }
            Notification::Authorization(_) | Notification::Other { .. } => none,
        }
    }

    fn dedup_key(
        &self,
        event: &Notification,
        body: &[u8],
        keyed_hash: &dyn Fn(&str) -> String,
    ) -> String {
        let body_key = || format!("BODY:{}", keyed_hash(&String::from_utf8_lossy(body)));
        match event {
            Notification::Payment(p) => format!(
                "PAY:{}:{}:{}:{}",
                p.payment_request_id,
                wire(p.notify_type),
                wire(p.result.result_status),
                p.result.result_code.as_str()
            ),
            Notification::Capture(c) => format!(
                "CAP:{}:{}",
                c.capture_request_id,
                wire(c.result.result_status)
            ),
            Notification::Refund(r) => format!(
                "REF:{}:{}",
                r.refund_request_id,
                r.refund_status
                    .map_or_else(|| wire(r.result.result_status), wire)
            ),
            Notification::Authorization(a) => {
                match a.access_token.as_ref().or(a.auth_code.as_ref()) {
                    Some(secret) => format!(
                        "AUTH:{}:{}",
                        wire(a.authorization_notify_type),
                        keyed_hash(secret.expose())
                    ),
                    None => body_key(),
                }
            }
            Notification::Other { .. } => body_key(),
        }
    }

    fn ack(&self, ack: Ack) -> Acknowledgement {
        match ack {
            Ack::Accepted => Acknowledgement {
                status: 200,
                body: ACK_SUCCESS,
            },
            Ack::Rejected => Acknowledgement {
                status: 401,
                body: ACK_REJECTED,
            },
            Ack::Retry => Acknowledgement {
                status: 503,
                body: ACK_RETRY,
            },
        }
    }
}

/// A unit enum's wire name (`PAYMENT_RESULT`, `S`, ...).
fn wire<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Signer;

    const PRIVATE: &str = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
    const PUBLIC: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");

    fn webhook() -> AlipayWebhook {
        AlipayWebhook::new(
            Verifier::from_text(PUBLIC).unwrap(),
            "M1",
            "/hooks/alipay/notify",
            vec!["1".into()],
            AlipayWebhook::DEFAULT_MAX_AGE,
        )
    }

    fn signed(time: &str, version: u32, body: &[u8]) -> HeaderMap {
        let signer = Signer::from_text(PRIVATE).unwrap();
        let mut h = HeaderMap::new();
        h.insert("client-id", "M1".parse().unwrap());
        h.insert("request-time", time.parse().unwrap());
        let sig = signer
            .header_value(version, "POST", "/hooks/alipay/notify", "M1", time, body)
            .unwrap();
        h.insert("signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn request_time_is_iso_or_epoch_millis() {
        let iso = parse_request_time("2019-01-01T01:01:01Z").unwrap();
        assert_eq!(parse_request_time("1546304461000"), Some(iso));
        assert_eq!(parse_request_time("2019-01-01T09:01:01+08:00"), Some(iso));
        assert_eq!(parse_request_time("2019-01-01T09:01:01+0800"), Some(iso));
        assert_eq!(parse_request_time("yesterday"), None);
    }

    #[test]
    fn age_holds_but_never_rejects_and_key_versions_are_checked() {
        let w = webhook();
        let body = br#"{"notifyType":"PAYMENT_RESULT"}"#;
        let now = Utc::now();
        let fresh = now.timestamp_millis().to_string();
        let old = (now - chrono::Duration::hours(49)).to_rfc3339();
        let future = (now + chrono::Duration::minutes(11)).to_rfc3339();
        let skewed = (now + chrono::Duration::minutes(9)).to_rfc3339();
        let check = |time: &str, version| {
            w.verify_source(&WebhookRequest {
                headers: &signed(time, version, body),
                body,
            })
        };
        assert_eq!(check(&fresh, 1), Ok(Freshness::Fresh));
        assert_eq!(check(&skewed, 1), Ok(Freshness::Fresh));
        assert_eq!(check(&old, 1), Ok(Freshness::OutOfWindow));
        assert_eq!(check(&future, 1), Ok(Freshness::OutOfWindow));
        assert_eq!(
            check(&fresh, 2),
            Err(NotificationError::UnknownKeyVersion("2".into()))
        );
    }

    #[test]
    fn dedup_keys_hold_no_credential() {
        let w = webhook();
        let hash = |v: &str| format!("h({})", v.len());
        let key = |body: &[u8]| {
            let event = w.parse_event(body).unwrap();
            w.dedup_key(&event, body, &hash)
        };
        assert_eq!(
            key(br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentRequestId":"p1","cardInfo":{"cardToken":"CT-SECRET"}}"#),
            "PAY:p1:PAYMENT_RESULT:S:SUCCESS"
        );
        assert_eq!(
            key(br#"{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"c1","paymentId":"x"}"#),
            "CAP:c1:S"
        );
        assert_eq!(
            key(br#"{"notifyType":"REFUND_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"refundStatus":"SUCCESS","refundRequestId":"r1"}"#),
            "REF:r1:SUCCESS"
        );
        let auth =
            key(br#"{"authorizationNotifyType":"TOKEN_CANCELED","accessToken":"AT-SECRET"}"#);
        assert_eq!(auth, "AUTH:TOKEN_CANCELED:h(9)");
        let other = key(br#"{"notifyType":"DISPUTE","accessToken":"AT-SECRET"}"#);
        assert!(other.starts_with("BODY:") && !other.contains("SECRET"));
    }

    #[test]
    fn pending_is_never_final_and_token_canceled_revokes() {
        let w = webhook();
        let kind = |body: &[u8]| w.event_kind(&w.parse_event(body).unwrap());
        assert_eq!(
            kind(br#"{"notifyType":"PAYMENT_PENDING","result":{"resultCode":"PAYMENT_IN_PROCESS","resultStatus":"S"},"paymentRequestId":"p"}"#),
            EventKind::PaymentPending
        );
        assert_eq!(
            kind(br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"X","resultStatus":"F"},"paymentRequestId":"p"}"#),
            EventKind::PaymentFailed
        );
        let event = w
            .parse_event(br#"{"authorizationNotifyType":"TOKEN_CANCELED","accessToken":"t"}"#)
            .unwrap();
        assert_eq!(w.resource_update(&event).settlement, Settlement::Revoked);
        assert_eq!(
            w.object_reference(&event),
            ObjectReference::AccessToken(Secret::from("t"))
        );
        assert_eq!(w.ack(Ack::Accepted).body, ACK_SUCCESS);
        assert_eq!(w.ack(Ack::Retry).status, 503);
    }
}
