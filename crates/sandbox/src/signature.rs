//! The AMS signature scheme: RSASSA-PKCS1-v1_5 / SHA-256 over
//! `"<METHOD> <path>\n<client-id>.<time>.<raw body>"`, carried in
//! `signature: algorithm=RSA256,keyVersion=N,signature=<urlencoded base64>`.
//!
//! Deliberately independent of the gateway's client (which uses aws-lc-rs): two implementations that agree
//! byte for byte are the test that each follows the wire reference rather than each other's bugs.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The exact bytes that are signed, for requests and responses alike.
pub fn content(method: &str, path: &str, client_id: &str, time: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        method.len() + path.len() + client_id.len() + time.len() + body.len() + 4,
    );
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(client_id.as_bytes());
    out.push(b'.');
    out.extend_from_slice(time.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

/// Signs `content` and returns the standard base64 of the signature (not yet URL-encoded).
pub fn sign(key: &RsaPrivateKey, content: &[u8]) -> String {
    // Blinded signing: the sandbox signs bodies that partly echo attacker-chosen input.
    let signature =
        SigningKey::<Sha256>::new(key.clone()).sign_with_rng(&mut rand::thread_rng(), content);
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// The full `signature` header value for a base64 signature.
pub fn header_value(key_version: u32, signature_b64: &str) -> String {
    format!(
        "algorithm=RSA256,keyVersion={key_version},signature={}",
        utf8_percent_encode(signature_b64, NON_ALPHANUMERIC)
    )
}

/// A parsed `signature` request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The declared key version (the SDKs default to 1).
    pub key_version: Option<u32>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

/// Why a `signature` header could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header has no `signature=` item.
    #[error("the signature header has no signature= item")]
    MissingSignature,
    /// `algorithm` is present but not RSA256.
    #[error("unsupported signature algorithm {0:?}")]
    Algorithm(String),
    /// `keyVersion` is present but not a number.
    #[error("keyVersion is not a number")]
    KeyVersion,
    /// The signature value is neither URL-encoded nor raw base64.
    #[error("the signature value is not base64")]
    Encoding,
}

/// Parses the header tolerantly: items in any order, spaces after commas, names case-insensitive, and the
/// value either URL-encoded base64 (what the SDKs send) or raw base64 (what some hand-written clients send).
pub fn parse_header(value: &str) -> Result<SignatureHeader, HeaderError> {
    let mut key_version = None;
    let mut signature = None;
    for item in value.split(',') {
        let Some((name, val)) = item.trim().split_once('=') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "algorithm" => {
                let algorithm = val.trim();
                if !algorithm.eq_ignore_ascii_case("RSA256") {
                    return Err(HeaderError::Algorithm(algorithm.to_owned()));
                }
            }
            "keyversion" => {
                key_version = Some(val.trim().parse().map_err(|_| HeaderError::KeyVersion)?);
            }
            // `split_once` keeps any `=` padding of a raw base64 value in `val`.
            "signature" => signature = Some(decode_signature(val.trim())?),
            _ => {}
        }
    }
    Ok(SignatureHeader {
        key_version,
        signature: signature.ok_or(HeaderError::MissingSignature)?,
    })
}

fn decode_signature(value: &str) -> Result<Vec<u8>, HeaderError> {
    let engine = base64::engine::general_purpose::STANDARD;
    // URL-decoding a raw base64 value is harmless unless it holds '+', which form-decoding would turn into
    // a space: so try the value as given first when it looks raw, then the percent-decoded form.
    if !value.contains('%')
        && let Ok(bytes) = engine.decode(value)
    {
        return Ok(bytes);
    }
    let decoded = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| HeaderError::Encoding)?;
    engine
        .decode(decoded.as_bytes())
        .map_err(|_| HeaderError::Encoding)
}

/// Verifies a signature over `content` with a merchant's public key.
pub fn verify(key: &RsaPublicKey, content: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(content, &signature)
        .is_ok()
}

/// Parses a `request-time` header: epoch milliseconds (Java, Go) or ISO-8601 with offset (Python, docs).
pub fn parse_request_time(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis);
    }
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dev;
    use crate::keys;

    #[test]
    fn content_matches_the_reference_layout() {
        let c = content(
            "POST",
            "/ams/api/v1/payments/pay",
            "SANDBOX_TEST",
            "2024-01-01T00:00:00+00:00",
            b"{}",
        );
        assert_eq!(
            c,
            b"POST /ams/api/v1/payments/pay\nSANDBOX_TEST.2024-01-01T00:00:00+00:00.{}".to_vec()
        );
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let private = keys::private_key(dev::MERCHANT_PRIVATE_KEY_PEM, "k").unwrap();
        let public = keys::public_key(dev::MERCHANT_PUBLIC_KEY_PEM, "k").unwrap();
        let c = content("POST", "/p", "C", "1", b"{\"a\":1}");
        let b64 = sign(&private, &c);
        let header = parse_header(&header_value(1, &b64)).unwrap();
        assert_eq!(header.key_version, Some(1));
        assert!(verify(&public, &c, &header.signature));
        let tampered = content("POST", "/p", "C", "1", b"{\"a\":2}");
        assert!(!verify(&public, &tampered, &header.signature));
        // PKCS#1 v1.5 is deterministic even with blinding: the reference's byte-for-byte cross-check holds.
        assert_eq!(sign(&private, &c), b64);
    }

    #[test]
    fn header_parsing_is_tolerant() {
        let private = keys::private_key(dev::MERCHANT_PRIVATE_KEY_PEM, "k").unwrap();
        let b64 = sign(&private, b"x");
        let raw = format!("algorithm=RSA256, keyVersion=2, signature={b64}");
        let parsed = parse_header(&raw).unwrap();
        assert_eq!(parsed.key_version, Some(2));
        assert_eq!(
            parse_header(&header_value(1, &b64)).unwrap().signature,
            parsed.signature
        );
        assert_eq!(
            parse_header("keyVersion=1"),
            Err(HeaderError::MissingSignature)
        );
        assert_eq!(
            parse_header("algorithm=HMAC,signature=AAAA"),
            Err(HeaderError::Algorithm("HMAC".into()))
        );
        assert_eq!(parse_header("signature=%%%"), Err(HeaderError::Encoding));
    }

    #[test]
    fn request_time_accepts_epoch_ms_and_iso() {
        let ms = parse_request_time("1704067200000").unwrap();
        let iso = parse_request_time("2024-01-01T08:00:00+08:00").unwrap();
        assert_eq!(ms, iso);
        assert!(parse_request_time("2024-01-01T00:00:00.123Z").is_some());
        assert!(parse_request_time("2019-09-04T13:41:39+0800").is_some());
        assert!(parse_request_time("yesterday").is_none());
        assert!(parse_request_time("").is_none());
    }
}
