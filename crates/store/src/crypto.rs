//! Encryption at rest for wallet access and refresh tokens.
//!
//! A stolen database dump must not be enough to charge a customer's wallet, so tokens are sealed
//! with AES-256-GCM under a key that lives in configuration, not in the database. Each value gets
//! a fresh random 96-bit nonce. The stored form is `v1:` + base64(nonce || ciphertext+tag); the
//! version prefix lets a later key rotation tell old and new values apart.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

const PREFIX_V1: &str = "v1:";
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// Why a token could not be sealed or opened. Messages never contain key or token material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The configured key is not base64 of exactly 32 bytes.
    #[error("token encryption key must be base64 of exactly 32 bytes")]
    InvalidKey,
    /// The stored value has a version prefix this build does not know.
    #[error("unknown token ciphertext version")]
    UnknownVersion,
    /// The stored value is not well-formed ciphertext.
    #[error("malformed token ciphertext")]
    Malformed,
    /// Authentication failed: the value was encrypted under a different key (wrong or rotated
    /// `token_encryption_key`) or was tampered with.
    #[error("cannot decrypt token: wrong encryption key or tampered value")]
    WrongKeyOrTampered,
    /// Encryption itself failed (not expected with a valid key).
    #[error("token encryption failed")]
    Encrypt,
}

/// Labels the lookup key derived from the token key, so the two keys are never the same bytes.
const LOOKUP_KEY_LABEL: &[u8] = b"alipay-gateway lookup hash v1";

/// AES-256-GCM sealing of tokens, and a keyed hash for looking sealed values up. `Debug` prints nothing of the keys.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
    lookup: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(<redacted>)")
    }
}

impl TokenCipher {
    /// Builds the cipher from the configured key: standard base64 of 32 random bytes
    /// (e.g. `openssl rand -base64 32`).
    pub fn from_base64_key(key_b64: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key_b64.trim())
            .map_err(|_| CryptoError::InvalidKey)?;
        Self::from_key_bytes(&bytes)
    }

    /// Builds the cipher from raw key bytes (exactly 32).
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != KEY_LEN {
            return Err(CryptoError::InvalidKey);
        }
        let derived = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key),
            LOOKUP_KEY_LABEL,
        );
        let lookup = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, derived.as_ref());
        let key = Key::<Aes256Gcm>::from_slice(key);
        Ok(Self {
            cipher: Aes256Gcm::new(key),
            lookup,
        })
    }

    /// HMAC-SHA256 of `value` under a key derived from the token key, hex: equal for equal values, so a credential
    /// Alipay names (an access token in TOKEN_CANCELED) finds its row, yet useless without the key (a token cannot
    /// be guessed from a dump by hashing candidates).
    pub fn lookup_hash(&self, value: &str) -> String {
        aws_lc_rs::hmac::sign(&self.lookup, value.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Seals a token for storage. Two calls with the same token give different outputs.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX_V1}{}", STANDARD.encode(out)))
    }

    /// Opens a stored token.
    pub fn decrypt(&self, stored: &str) -> Result<Secret, CryptoError> {
        let body = stored
            .strip_prefix(PREFIX_V1)
            .ok_or(CryptoError::UnknownVersion)?;
        let raw = STANDARD.decode(body).map_err(|_| CryptoError::Malformed)?;
        // 16 bytes of GCM tag follow the nonce even for an empty token.
        if raw.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| CryptoError::WrongKeyOrTampered)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| CryptoError::Malformed)
    }
}

/// A decrypted token. `Debug` redacts it so it cannot leak through logs or error chains; call
/// [`Secret::expose`] only where the value is sent to Alipay.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plaintext secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce_each_time() -> Result<(), CryptoError> {
        let c = TokenCipher::from_base64_key(&key(7))?;
        let a = c.encrypt("access-token-123")?;
        let b = c.encrypt("access-token-123")?;
        assert!(a.starts_with("v1:"));
        assert_ne!(a, b, "nonce must differ per value");
        assert!(!a.contains("access-token-123"));
        assert_eq!(c.decrypt(&a)?.expose(), "access-token-123");
        assert_eq!(c.decrypt(&b)?.expose(), "access-token-123");
        assert_eq!(c.decrypt(&c.encrypt("")?)?.expose(), "");
        Ok(())
    }

    #[test]
    fn wrong_key_is_a_clear_error() -> Result<(), CryptoError> {
        let sealed = TokenCipher::from_base64_key(&key(1))?.encrypt("tok")?;
        let other = TokenCipher::from_base64_key(&key(2))?;
        assert_eq!(other.decrypt(&sealed), Err(CryptoError::WrongKeyOrTampered));
        assert!(
            CryptoError::WrongKeyOrTampered
                .to_string()
                .contains("wrong encryption key")
        );
        Ok(())
    }

    #[test]
    fn tampering_and_malformed_values_are_rejected() -> Result<(), CryptoError> {
        let c = TokenCipher::from_base64_key(&key(3))?;
        let sealed = c.encrypt("tok")?;
        let mut raw = STANDARD
            .decode(&sealed[3..])
            .map_err(|_| CryptoError::Malformed)?;
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let flipped = format!("v1:{}", STANDARD.encode(&raw));
        assert_eq!(c.decrypt(&flipped), Err(CryptoError::WrongKeyOrTampered));
        assert_eq!(c.decrypt("v2:abcd"), Err(CryptoError::UnknownVersion));
        assert_eq!(c.decrypt("plaintext"), Err(CryptoError::UnknownVersion));
        assert_eq!(c.decrypt("v1:!!!"), Err(CryptoError::Malformed));
        assert_eq!(c.decrypt("v1:AAAA"), Err(CryptoError::Malformed));
        Ok(())
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert_eq!(
            TokenCipher::from_base64_key("not base64!").err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            TokenCipher::from_base64_key(&STANDARD.encode([0u8; 16])).err(),
            Some(CryptoError::InvalidKey)
        );
        assert!(TokenCipher::from_base64_key(&key(9)).is_ok());
    }

    #[test]
    fn lookup_hashes_are_keyed_and_stable() -> Result<(), CryptoError> {
        let a = TokenCipher::from_base64_key(&key(5))?;
        let b = TokenCipher::from_base64_key(&key(6))?;
        assert_eq!(a.lookup_hash("tok"), a.lookup_hash("tok"));
        assert_eq!(a.lookup_hash("tok").len(), 64);
        assert_ne!(a.lookup_hash("tok"), a.lookup_hash("tok2"));
        assert_ne!(
            a.lookup_hash("tok"),
            b.lookup_hash("tok"),
            "keyed by the token key"
        );
        Ok(())
    }

    #[test]
    fn debug_never_shows_key_or_token() -> Result<(), CryptoError> {
        let c = TokenCipher::from_base64_key(&key(4))?;
        assert_eq!(format!("{c:?}"), "TokenCipher(<redacted>)");
        let s = Secret::new("super-secret-token");
        assert!(!format!("{s:?}").contains("super-secret"));
        Ok(())
    }
}
