//! Loading RSA keys in every format merchants are handed.
//!
//! Alipay's dashboard gives bare base64 bodies, OpenSSL gives PEM, and the official SDKs disagree on PKCS#1 versus
//! PKCS#8 (reference §1.4). Accepting all of them removes the most common integration trap; when a key is of the
//! wrong *kind* (a private key where Alipay's public key belongs, or the reverse) the error says so instead of a
//! generic parse failure. Errors never contain key material.

use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, PublicKey as RsaPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// Why a key could not be loaded. Carries no key material, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The input was empty or only whitespace.
    #[error("the key is empty")]
    Empty,
    /// A `-----BEGIN` armour was found but the PEM block is malformed.
    #[error("the PEM armour is malformed")]
    MalformedPem,
    /// The PEM label names something that is not an RSA key (e.g. a certificate).
    #[error("unsupported PEM block type `{0}`")]
    UnsupportedPemLabel(String),
    /// An encrypted PKCS#8 key: the gateway needs the key unencrypted (decrypt it with `openssl pkcs8`).
    #[error(
        "the private key is encrypted; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)"
    )]
    Encrypted,
    /// Bare text that is not valid base64.
    #[error("the key is neither PEM nor valid base64")]
    NotBase64,
    /// A private key was expected but the input is a public key.
    #[error("expected a private key but this is a public key")]
    PublicKeyGivenForPrivate,
    /// A public key was expected but the input is a private key (for Alipay's key, use the public key Alipay
    /// shows in the dashboard, not a private key).
    #[error("expected a public key but this is a private key")]
    PrivateKeyGivenForPublic,
    /// The DER bytes are not an RSA private key in PKCS#1 or PKCS#8 form.
    #[error("not an RSA private key (PKCS#1 or PKCS#8 DER expected)")]
    InvalidPrivateKey,
    /// The DER bytes are not an RSA public key in SubjectPublicKeyInfo or PKCS#1 form.
    #[error("not an RSA public key (SubjectPublicKeyInfo or PKCS#1 RSAPublicKey expected)")]
    InvalidPublicKey,
}

/// What a key text turned out to be; used for diagnostics and for precise errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// PKCS#8 `PrivateKeyInfo` (`BEGIN PRIVATE KEY`, Java/Go SDK format).
    PrivatePkcs8,
    /// PKCS#1 `RSAPrivateKey` (`BEGIN RSA PRIVATE KEY`).
    PrivatePkcs1,
    /// X.509 `SubjectPublicKeyInfo` (`BEGIN PUBLIC KEY`, what Alipay's dashboard shows).
    PublicSpki,
    /// PKCS#1 `RSAPublicKey` (`BEGIN RSA PUBLIC KEY`).
    PublicPkcs1,
}

impl KeyKind {
    /// Whether this is the private half of a key pair.
    pub fn is_private(self) -> bool {
        matches!(self, KeyKind::PrivatePkcs8 | KeyKind::PrivatePkcs1)
    }
}

/// Decodes PEM or bare base64 into DER, keeping the PEM label when there is one.
fn decode_der(text: &str) -> Result<(Option<String>, Vec<u8>), KeyError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    if text.contains("-----BEGIN") {
        let block = pem::parse(text).map_err(|_| KeyError::MalformedPem)?;
        let label = block.tag().to_owned();
        return match label.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                Ok((Some(label), block.into_contents()))
            }
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            _ => Err(KeyError::UnsupportedPemLabel(label)),
        };
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(&compact)
        .or_else(|_| STANDARD_NO_PAD.decode(&compact))
        .map_err(|_| KeyError::NotBase64)?;
    Ok((None, der))
}

fn private_from_der(der: &[u8]) -> Option<(RsaKeyPair, KeyKind)> {
    if let Ok(key) = RsaKeyPair::from_pkcs8(der) {
        return Some((key, KeyKind::PrivatePkcs8));
    }
    RsaKeyPair::from_der(der)
        .ok()
        .map(|key| (key, KeyKind::PrivatePkcs1))
}

fn public_from_der(der: &[u8]) -> Option<(RsaPublicKey, KeyKind)> {
    // aws-lc-rs accepts both encodings; tell them apart by trying the SPKI wrapper's outer shape: an SPKI starts
    // with a SEQUENCE holding another SEQUENCE (the algorithm identifier), PKCS#1 with a SEQUENCE holding INTEGERs.
    let key = RsaPublicKey::from_der(der).ok()?;
    let kind = if is_spki(der) {
        KeyKind::PublicSpki
    } else {
        KeyKind::PublicPkcs1
    };
    Some((key, kind))
}

/// True if the DER's first element inside the outer SEQUENCE is itself a SEQUENCE (the SPKI AlgorithmIdentifier).
fn is_spki(der: &[u8]) -> bool {
    let Some(&0x30) = der.first() else {
        return false;
    };
    let Some(&len_byte) = der.get(1) else {
        return false;
    };
    let header = if len_byte & 0x80 == 0 {
        2
    } else {
        2 + usize::from(len_byte & 0x7f)
    };
    der.get(header) == Some(&0x30)
}

/// Loads a merchant private key from PEM or bare base64, PKCS#8 or PKCS#1.
pub fn load_private_key(text: &str) -> Result<(RsaKeyPair, KeyKind), KeyError> {
    let (label, der) = decode_der(text)?;
    if matches!(label.as_deref(), Some("PUBLIC KEY" | "RSA PUBLIC KEY")) {
        return Err(KeyError::PublicKeyGivenForPrivate);
    }
    if let Some(found) = private_from_der(&der) {
        return Ok(found);
    }
    if public_from_der(&der).is_some() {
        return Err(KeyError::PublicKeyGivenForPrivate);
    }
    Err(KeyError::InvalidPrivateKey)
}

/// Loads an RSA public key from PEM or bare base64, SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`.
pub fn load_public_key(text: &str) -> Result<(RsaPublicKey, KeyKind), KeyError> {
    let (label, der) = decode_der(text)?;
    if matches!(label.as_deref(), Some("PRIVATE KEY" | "RSA PRIVATE KEY")) {
        return Err(KeyError::PrivateKeyGivenForPublic);
    }
    if let Some(found) = public_from_der(&der) {
        return Ok(found);
    }
    if private_from_der(&der).is_some() {
        return Err(KeyError::PrivateKeyGivenForPublic);
    }
    Err(KeyError::InvalidPublicKey)
}

/// Identifies what kind of RSA key a text holds, without caring which kind the caller wanted.
pub fn inspect_key(text: &str) -> Result<KeyKind, KeyError> {
    match load_public_key(text) {
        Ok((_, kind)) => Ok(kind),
        Err(KeyError::PrivateKeyGivenForPublic) => load_private_key(text).map(|(_, kind)| kind),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS8_PEM: &str = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
    const PKCS1_PEM: &str = include_str!("../tests/vectors/vector-private-pkcs1.TEST-ONLY.pem");
    const PKCS8_B64: &str = include_str!("../tests/vectors/vector-private-pkcs8.TEST-ONLY.b64");
    const PKCS1_B64: &str = include_str!("../tests/vectors/vector-private-pkcs1.TEST-ONLY.b64");
    const SPKI_PEM: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");
    const SPKI_B64: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.b64");
    const PUB_PKCS1_PEM: &str = include_str!("../tests/vectors/vector-public-pkcs1.TEST-ONLY.pem");

    #[test]
    fn private_keys_load_in_every_format_with_the_right_kind() {
        for (text, kind) in [
            (PKCS8_PEM, KeyKind::PrivatePkcs8),
            (PKCS1_PEM, KeyKind::PrivatePkcs1),
            (PKCS8_B64, KeyKind::PrivatePkcs8),
            (PKCS1_B64, KeyKind::PrivatePkcs1),
        ] {
            let (key, found) = load_private_key(text).expect("loads");
            assert_eq!(found, kind);
            assert_eq!(key.public_modulus_len(), 256);
        }
    }

    #[test]
    fn public_keys_load_in_every_format_with_the_right_kind() {
        for (text, kind) in [
            (SPKI_PEM, KeyKind::PublicSpki),
            (SPKI_B64, KeyKind::PublicSpki),
            (PUB_PKCS1_PEM, KeyKind::PublicPkcs1),
        ] {
            let (key, found) = load_public_key(text).expect("loads");
            assert_eq!(found, kind);
            assert_eq!(key.modulus_len(), 256);
        }
    }

    #[test]
    fn bare_base64_with_line_breaks_is_accepted() {
        let wrapped: String = SPKI_B64
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert!(load_public_key(&wrapped).is_ok());
    }

    #[test]
    fn wrong_kind_is_reported_precisely() {
        assert_eq!(
            load_public_key(PKCS8_PEM).err(),
            Some(KeyError::PrivateKeyGivenForPublic)
        );
        assert_eq!(
            load_public_key(PKCS1_B64).err(),
            Some(KeyError::PrivateKeyGivenForPublic)
        );
        assert_eq!(
            load_private_key(SPKI_PEM).err(),
            Some(KeyError::PublicKeyGivenForPrivate)
        );
        assert_eq!(
            load_private_key(SPKI_B64).err(),
            Some(KeyError::PublicKeyGivenForPrivate)
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_specific_error() {
        assert_eq!(load_private_key("  \n").err(), Some(KeyError::Empty));
        assert_eq!(
            load_private_key("not base64 !!").err(),
            Some(KeyError::NotBase64)
        );
        assert_eq!(
            load_private_key("QUJDRA==").err(),
            Some(KeyError::InvalidPrivateKey)
        );
        assert_eq!(
            load_public_key("QUJDRA==").err(),
            Some(KeyError::InvalidPublicKey)
        );
        assert_eq!(
            load_public_key("-----BEGIN CERTIFICATE-----\nQUJDRA==\n-----END CERTIFICATE-----\n")
                .err(),
            Some(KeyError::UnsupportedPemLabel("CERTIFICATE".into()))
        );
        assert_eq!(
            load_private_key("-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJDRA==\n-----END ENCRYPTED PRIVATE KEY-----\n")
                .err(),
            Some(KeyError::Encrypted)
        );
    }

    #[test]
    fn inspect_tells_the_kind() {
        assert_eq!(inspect_key(PKCS1_PEM), Ok(KeyKind::PrivatePkcs1));
        assert_eq!(inspect_key(SPKI_B64), Ok(KeyKind::PublicSpki));
        assert!(KeyKind::PrivatePkcs8.is_private());
        assert!(!KeyKind::PublicPkcs1.is_private());
    }
}
