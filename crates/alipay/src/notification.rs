//! Verifying and acknowledging notifications Antom POSTs to the merchant (reference §1.6).

use reqwest::header::HeaderMap;

use crate::signing::{SignatureError, Verifier};

/// The fixed acknowledgement that stops Antom's redelivery. Send it only after the notification is durably stored.
pub const ACK_SUCCESS: &str =
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;

/// A failure acknowledgement: Antom redelivers (up to 8 times in 24 h; the sandbox does not resend).
pub const ACK_RETRY: &str =
    r#"{"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"failure"}}"#;

/// The answer to a notification that failed verification: HTTP 401 with an `F` result (nothing was applied).
pub const ACK_REJECTED: &str = r#"{"result":{"resultCode":"INVALID_SIGNATURE","resultStatus":"F","resultMessage":"the notification is not verified"}}"#;

/// Why a notification was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// No `client-id` header.
    #[error("notification has no client-id header")]
    MissingClientId,
    /// The notification is for another merchant account.
    #[error("notification is for client id `{got}`, not `{expected}`")]
    ClientIdMismatch {
        /// Our client id.
        expected: String,
        /// The header's client id.
        got: String,
    },
    /// The signature names a `keyVersion` this gateway was not configured with.
    #[error("notification signed with unknown key version `{0}`")]
    UnknownKeyVersion(String),
    /// Missing, partial or invalid signature.
    #[error("notification signature: {0}")]
    Signature(#[from] SignatureError),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Verifies a notification's signature over `POST <path>\n<client-id>.<request-time>.<raw body>`.
///
/// `path` is the receiver's own path as Antom called it (e.g. `/alipay/notify/payment`), not a gateway path.
/// `request-time` is used verbatim, so both epoch-ms and ISO-8601 senders verify. Call this on the raw bytes before
/// parsing; a notification that fails must not be acted upon.
pub fn verify_notification(
    verifier: &Verifier,
    expected_client_id: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), NotificationError> {
    let client_id = header(headers, "client-id").ok_or(NotificationError::MissingClientId)?;
    if client_id != expected_client_id {
        return Err(NotificationError::ClientIdMismatch {
            expected: expected_client_id.to_owned(),
            got: client_id.to_owned(),
        });
    }
    let signature = header(headers, "signature");
    let time = header(headers, "request-time");
    match (signature, time) {
        (Some(sig), Some(time)) => {
            Ok(verifier.verify_header(sig, "POST", path, client_id, time, body)?)
        }
        (None, None) => Err(SignatureError::Missing.into()),
        (Some(_), None) => Err(SignatureError::Partial {
            present: "signature",
            missing: "request-time",
        }
        .into()),
        (None, Some(_)) => Err(SignatureError::Partial {
            present: "request-time",
            missing: "signature",
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Signer;

    const PRIVATE: &str = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
    const PUBLIC: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");

    fn signed(path: &str, time: &str, body: &[u8]) -> HeaderMap {
        let signer = Signer::from_text(PRIVATE).unwrap();
        let mut h = HeaderMap::new();
        h.insert("Client-Id", "M1".parse().unwrap());
        h.insert("Request-Time", time.parse().unwrap());
        let sig = signer
            .header_value(1, "POST", path, "M1", time, body)
            .unwrap();
        h.insert("Signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn accepts_iso_and_epoch_times_and_checks_the_path() {
        let v = Verifier::from_text(PUBLIC).unwrap();
        let body = br#"{"notifyType":"PAYMENT_RESULT"}"#;
        for time in ["1700000000000", "2024-01-01T00:00:00+08:00"] {
            let h = signed("/notify/pay", time, body);
            assert_eq!(
                verify_notification(&v, "M1", "/notify/pay", &h, body),
                Ok(())
            );
            assert_eq!(
                verify_notification(&v, "M1", "/notify/refund", &h, body),
                Err(NotificationError::Signature(SignatureError::Invalid))
            );
        }
    }

    #[test]
    fn rejects_wrong_client_and_partial_headers() {
        let v = Verifier::from_text(PUBLIC).unwrap();
        let body = b"{}";
        let h = signed("/n", "1", body);
        assert!(matches!(
            verify_notification(&v, "OTHER", "/n", &h, body),
            Err(NotificationError::ClientIdMismatch { .. })
        ));
        let mut partial = h.clone();
        partial.remove("request-time");
        assert_eq!(
            verify_notification(&v, "M1", "/n", &partial, body),
            Err(NotificationError::Signature(SignatureError::Partial {
                present: "signature",
                missing: "request-time"
            }))
        );
        let mut none = h;
        none.remove("request-time");
        none.remove("signature");
        assert_eq!(
            verify_notification(&v, "M1", "/n", &none, body),
            Err(NotificationError::Signature(SignatureError::Missing))
        );
    }

    #[test]
    fn acks_are_the_documented_json() {
        let ok: serde_json::Value = serde_json::from_str(ACK_SUCCESS).unwrap();
        assert_eq!(ok["result"]["resultStatus"], "S");
        let retry: serde_json::Value = serde_json::from_str(ACK_RETRY).unwrap();
        assert_eq!(retry["result"]["resultStatus"], "F");
    }
}
