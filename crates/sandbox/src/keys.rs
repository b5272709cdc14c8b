//! Key loading. Merchants hand over keys in every shape the official SDKs accept (PEM or bare base64,
//! PKCS#1 or PKCS#8 / SPKI), so the sandbox accepts all of them rather than making users convert.

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::error::SandboxError;

/// The DER body of a key given as PEM (any label) or as bare base64 (whitespace ignored).
fn der_of(text: &str, what: &str) -> Result<Vec<u8>, SandboxError> {
    let trimmed = text.trim();
    if trimmed.starts_with("-----BEGIN") {
        return pem::parse(trimmed)
            .map(|p| p.into_contents())
            .map_err(|e| key_error(what, e.to_string()));
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| key_error(what, format!("neither PEM nor base64: {e}")))
}

fn key_error(what: &str, reason: String) -> SandboxError {
    SandboxError::Key {
        what: what.to_owned(),
        reason,
    }
}

/// Parses an RSA private key in PKCS#8 or PKCS#1, PEM or bare base64.
pub fn private_key(text: &str, what: &str) -> Result<RsaPrivateKey, SandboxError> {
    let der = der_of(text, what)?;
    RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|e| key_error(what, format!("not a PKCS#8 or PKCS#1 RSA private key: {e}")))
}

/// Parses an RSA public key in SPKI (X.509) or PKCS#1, PEM or bare base64.
pub fn public_key(text: &str, what: &str) -> Result<RsaPublicKey, SandboxError> {
    let der = der_of(text, what)?;
    RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|e| key_error(what, format!("not an SPKI or PKCS#1 RSA public key: {e}")))
}

/// The SPKI PEM of a public key: the form merchants paste into their client configuration.
pub fn public_key_pem(key: &RsaPublicKey) -> Result<String, SandboxError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| key_error("sandbox public key", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dev;
    use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};

    #[test]
    fn accepts_pem_and_bare_base64_in_pkcs8_and_pkcs1() {
        let private = private_key(dev::MERCHANT_PRIVATE_KEY_PEM, "k").unwrap();
        let public = public_key(dev::MERCHANT_PUBLIC_KEY_PEM, "k").unwrap();
        assert_eq!(RsaPublicKey::from(&private), public);

        let pkcs1_private = private.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(private_key(&pkcs1_private, "k").unwrap(), private);
        let pkcs1_public = public.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(public_key(&pkcs1_public, "k").unwrap(), public);

        let bare: String = dev::MERCHANT_PUBLIC_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(public_key(&bare, "k").unwrap(), public);
        let bare_private: String = dev::MERCHANT_PRIVATE_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(private_key(&bare_private, "k").unwrap(), private);
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        let err = private_key("not a key at all!", "signing key").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("signing key"), "{text}");
        assert!(!text.contains("not a key at all"), "{text}");
        assert!(
            public_key(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                "p"
            )
            .is_err()
        );
    }
}
