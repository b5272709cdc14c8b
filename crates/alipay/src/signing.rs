//! RSA-SHA256 request signing and response/notification verification (reference §1.2–§1.5), with aws-lc-rs.
//!
//! The sandbox implements the same protocol with the RustCrypto `rsa` crate, so the two sides share no crypto code
//! and each checks the other; the committed OpenSSL vector pins both to an independent third implementation.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::keys::{self, KeyError, KeyKind};

/// The only algorithm name Alipay uses in the `signature` header.
pub const ALGORITHM: &str = "RSA256";

/// Builds the exact byte string that is signed: `"<METHOD> <path>\n<client-id>.<time>.<body>"`.
///
/// `path` is the path as sent (after any sandbox prefix), `time` the header value verbatim (epoch-ms or ISO), and
/// `body` the raw bytes on the wire: nothing is canonicalised, because each SDK serialises JSON differently.
pub fn sign_content(method: &str, path: &str, client_id: &str, time: &str, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(
        method.len() + path.len() + client_id.len() + time.len() + body.len() + 4,
    );
    content.extend_from_slice(method.as_bytes());
    content.push(b' ');
    content.extend_from_slice(path.as_bytes());
    content.push(b'\n');
    content.extend_from_slice(client_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(time.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// Form-URL-encoding as Java's `URLEncoder` / Python's `quote_plus` produce for base64 (`+`→`%2B`, `/`→`%2F`,
/// `=`→`%3D`); everything but the unreserved set is escaped so any base64 alphabet variant round-trips.
const FORM_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*');

/// Why a signature could not be produced or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Neither `signature` nor the time header was present.
    #[error("the message is not signed (no signature header)")]
    Missing,
    /// One of the two headers that must come together is missing.
    #[error("partial signature headers: `{present}` present but `{missing}` missing")]
    Partial {
        /// The header that was present.
        present: &'static str,
        /// The header that was absent.
        missing: &'static str,
    },
    /// The `signature` header value does not have the `algorithm=…,keyVersion=…,signature=…` shape.
    #[error("malformed signature header: {0}")]
    MalformedHeader(String),
    /// An algorithm other than RSA256 was named.
    #[error("unsupported signature algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The signature value is neither URL-encoded base64 nor raw base64.
    #[error("the signature value is not base64 (URL-encoded or raw)")]
    BadEncoding,
    /// The signature is well-formed but does not match the content and key.
    #[error("the signature does not match the signed content and key")]
    Invalid,
    /// The private key refused to sign (should not happen with a loaded key).
    #[error("signing failed")]
    SigningFailed,
}

/// Signs requests with the merchant private key. `Debug` never shows the key.
pub struct Signer {
    key: RsaKeyPair,
    kind: KeyKind,
    rng: SystemRandom,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kind", &self.kind)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Signer {
    /// Loads the key from PEM or bare base64, PKCS#8 or PKCS#1.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let (key, kind) = keys::load_private_key(text)?;
        Ok(Self {
            key,
            kind,
            rng: SystemRandom::new(),
        })
    }

    /// The format the key was supplied in.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }

    /// Raw RSASSA-PKCS1-v1_5 / SHA-256 signature over `content`.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut out = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, content, &mut out)
            .map_err(|_| SignatureError::SigningFailed)?;
        Ok(out)
    }

    /// The complete `signature` header value for a request.
    pub fn header_value(
        &self,
        key_version: u32,
        method: &str,
        path: &str,
        client_id: &str,
        time: &str,
        body: &[u8],
    ) -> Result<String, SignatureError> {
        let raw = self.sign(&sign_content(method, path, client_id, time, body))?;
        Ok(format_header(key_version, &raw))
    }

    /// A verifier for this key's public half; used by the CLI when handed a private key to check against.
    pub fn verifier(&self) -> Result<Verifier, KeyError> {
        use aws_lc_rs::signature::KeyPair as _;
        Verifier::from_der(self.key.public_key().as_ref(), KeyKind::PublicPkcs1)
    }
}

/// `algorithm=RSA256,keyVersion=N,signature=<urlencoded base64>`, exactly as the SDKs emit it (no spaces).
pub fn format_header(key_version: u32, raw_signature: &[u8]) -> String {
    let b64 = STANDARD.encode(raw_signature);
    format!(
        "algorithm={ALGORITHM},keyVersion={key_version},signature={}",
        utf8_percent_encode(&b64, FORM_ENCODE)
    )
}

/// Verifies signatures with an RSA public key (Alipay's, for responses and notifications).
#[derive(Clone)]
pub struct Verifier {
    key: ParsedPublicKey,
    modulus_len: usize,
    kind: KeyKind,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("kind", &self.kind)
            .field("modulus_bits", &(self.modulus_len * 8))
            .finish()
    }
}

impl Verifier {
    /// Loads the key from PEM or bare base64, SubjectPublicKeyInfo or PKCS#1.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let (key, kind) = keys::load_public_key(text)?;
        Self::from_der(key.as_ref(), kind)
    }

    fn from_der(der: &[u8], kind: KeyKind) -> Result<Self, KeyError> {
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|_| KeyError::InvalidPublicKey)?;
        let modulus_len = aws_lc_rs::rsa::PublicKey::from_der(der)
            .map_err(|_| KeyError::InvalidPublicKey)?
            .modulus_len();
        Ok(Self {
            key,
            modulus_len,
            kind,
        })
    }

    /// The format the key was supplied in.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }

    /// Length in bytes every valid signature from the matching private key has.
    pub fn signature_len(&self) -> usize {
        self.modulus_len
    }

    /// Checks a raw signature over `content`.
    pub fn verify_raw(&self, content: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        self.key
            .verify_sig(content, signature)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Checks a `signature` header value (or just its signature part) against the given message parts.
    pub fn verify_header(
        &self,
        header_value: &str,
        method: &str,
        path: &str,
        client_id: &str,
        time: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let header = SignatureHeader::parse(header_value)?;
        let content = sign_content(method, path, client_id, time, body);
        header
            .candidates()?
            .iter()
            .find(|c| self.verify_raw(&content, &c.bytes).is_ok())
            .map(|_| ())
            .ok_or(SignatureError::Invalid)
    }
}

/// How the signature value in a header was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    /// Form-URL-encoded base64, as the protocol specifies.
    UrlEncodedBase64,
    /// Plain base64 that was not URL-encoded (accepted, as PHP's SDK does).
    RawBase64,
}

/// One way of decoding the header's signature value into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCandidate {
    /// Which decoding produced these bytes.
    pub encoding: SignatureEncoding,
    /// The raw signature.
    pub bytes: Vec<u8>,
}

/// A parsed `signature` header; tolerant of spaces after commas, header-name case and of a bare value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `algorithm=` value, if given.
    pub algorithm: Option<String>,
    /// `keyVersion=` value, if given.
    pub key_version: Option<String>,
    /// The signature value as it appeared (still URL-encoded if it was).
    pub signature: String,
    /// True when the input was only a signature value rather than a whole header.
    pub bare: bool,
}

impl SignatureHeader {
    /// Parses `algorithm=RSA256, keyVersion=1, signature=…` or a bare signature value.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(SignatureError::Missing);
        }
        if !value.to_ascii_lowercase().contains("signature=") {
            return Ok(Self {
                algorithm: None,
                key_version: None,
                signature: value.to_owned(),
                bare: true,
            });
        }
        let mut algorithm = None;
        let mut key_version = None;
        let mut signature = None;
        for part in value.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            // Split at the first '=' only: raw base64 padding also uses '='.
            let (name, val) = part.split_once('=').ok_or_else(|| {
                SignatureError::MalformedHeader(format!("`{part}` is not name=value"))
            })?;
            match name.trim().to_ascii_lowercase().as_str() {
                "algorithm" => algorithm = Some(val.trim().to_owned()),
                "keyversion" => key_version = Some(val.trim().to_owned()),
                "signature" => signature = Some(val.trim().to_owned()),
                _ => {}
            }
        }
        let signature = signature
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SignatureError::MalformedHeader("empty signature value".into()))?;
        if let Some(alg) = &algorithm
            && !alg.eq_ignore_ascii_case(ALGORITHM)
        {
            return Err(SignatureError::UnsupportedAlgorithm(alg.clone()));
        }
        Ok(Self {
            algorithm,
            key_version,
            signature,
            bare: false,
        })
    }

    /// The distinct byte strings the value may denote: URL-decoded base64 first, then raw base64.
    pub fn candidates(&self) -> Result<Vec<SignatureCandidate>, SignatureError> {
        let mut out: Vec<SignatureCandidate> = Vec::with_capacity(2);
        let value = &self.signature;
        if value.contains('%')
            && let Ok(decoded) = percent_decode_str(value).decode_utf8()
            && let Ok(bytes) = STANDARD.decode(decoded.replace(' ', "+"))
        {
            out.push(SignatureCandidate {
                encoding: SignatureEncoding::UrlEncodedBase64,
                bytes,
            });
        }
        // A value with no characters that URL-encoding changes is the same under both readings; only call it raw
        // when it carries `+ / =` unescaped (or spaces, which a form-decoder made of `+`).
        if let Ok(bytes) = STANDARD.decode(value.replace(' ', "+"))
            && !out.iter().any(|c| c.bytes == bytes)
        {
            let raw = value.contains(['+', '/', '=', ' ']);
            out.push(SignatureCandidate {
                encoding: if raw {
                    SignatureEncoding::RawBase64
                } else {
                    SignatureEncoding::UrlEncodedBase64
                },
                bytes,
            });
        }
        if out.is_empty() {
            return Err(SignatureError::BadEncoding);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS8_PEM: &str = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
    const SPKI_PEM: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");

    #[test]
    fn content_layout_matches_the_reference_example() {
        let content = sign_content(
            "POST",
            "/ams/api/v1/payments/pay",
            "SANDBOX_TEST",
            "2024-01-01T00:00:00+00:00",
            b"{}",
        );
        assert_eq!(
            content,
            b"POST /ams/api/v1/payments/pay\nSANDBOX_TEST.2024-01-01T00:00:00+00:00.{}".to_vec()
        );
    }

    #[test]
    fn header_encodes_base64_specials() {
        let header = format_header(3, &[0xfb, 0xff, 0xfe]);
        // base64 "+//+" → %2B%2F%2F%2B
        assert_eq!(
            header,
            "algorithm=RSA256,keyVersion=3,signature=%2B%2F%2F%2B"
        );
    }

    #[test]
    fn parser_tolerates_spaces_case_and_bare_values() {
        let h =
            SignatureHeader::parse("Algorithm=RSA256, keyVersion=2,  Signature=abc%3D").unwrap();
        assert_eq!(h.key_version.as_deref(), Some("2"));
        assert_eq!(h.signature, "abc%3D");
        assert!(!h.bare);
        let bare = SignatureHeader::parse("YWJj").unwrap();
        assert!(bare.bare);
        assert_eq!(
            SignatureHeader::parse("algorithm=RSA512,signature=YWJj"),
            Err(SignatureError::UnsupportedAlgorithm("RSA512".into()))
        );
        assert!(matches!(
            SignatureHeader::parse("algorithm=RSA256,signature="),
            Err(SignatureError::MalformedHeader(_))
        ));
        assert_eq!(SignatureHeader::parse("  "), Err(SignatureError::Missing));
    }

    #[test]
    fn candidates_cover_raw_and_url_encoded_base64() {
        let enc = SignatureHeader::parse("signature=%2B%2F%2F%2B").unwrap();
        let c = enc.candidates().unwrap();
        assert_eq!(c[0].encoding, SignatureEncoding::UrlEncodedBase64);
        assert_eq!(c[0].bytes, vec![0xfb, 0xff, 0xfe]);
        let raw = SignatureHeader::parse("signature=+//+").unwrap();
        let c = raw.candidates().unwrap();
        assert!(c.iter().any(
            |c| c.encoding == SignatureEncoding::RawBase64 && c.bytes == vec![0xfb, 0xff, 0xfe]
        ));
        assert_eq!(
            SignatureHeader::parse("signature=%%%")
                .unwrap()
                .candidates(),
            Err(SignatureError::BadEncoding)
        );
    }

    #[test]
    fn round_trip_and_debug_redaction() {
        let signer = Signer::from_text(PKCS8_PEM).unwrap();
        let verifier = Verifier::from_text(SPKI_PEM).unwrap();
        let header = signer
            .header_value(1, "POST", "/p", "C", "1700000000000", b"{\"a\":1}")
            .unwrap();
        verifier
            .verify_header(&header, "POST", "/p", "C", "1700000000000", b"{\"a\":1}")
            .unwrap();
        assert_eq!(
            verifier.verify_header(&header, "POST", "/p", "C", "1700000000001", b"{\"a\":1}"),
            Err(SignatureError::Invalid)
        );
        signer
            .verifier()
            .unwrap()
            .verify_header(&header, "POST", "/p", "C", "1700000000000", b"{\"a\":1}")
            .unwrap();
        let debug = format!("{signer:?}");
        assert!(debug.contains("redacted"));
        assert!(!debug.contains("MII"));
    }
}
