//! The sandbox's side of the signature scheme: RustCrypto `rsa` 0.9, PKCS#1 v1.5 / SHA-256.
//!
//! `sandbox::signature` is private to the sandbox crate, so these two functions repeat its calls exactly
//! (a fresh `SigningKey` / `VerifyingKey` from a cloned key per operation, blinded signing with `thread_rng`)
//! instead of widening the sandbox's public API for a benchmark. The `client_roundtrip` bench exercises the
//! sandbox's own code, and the signing bench checks before timing that these produce the same bytes as aws-lc-rs.

use std::fmt;

use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// A key pair loaded with the `rsa` crate. `Debug` never shows the private key.
pub struct RsaKeys {
    private: RsaPrivateKey,
    public: RsaPublicKey,
}

impl fmt::Debug for RsaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKeys")
            .field("private", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Why the committed keys did not load.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The private key is not PKCS#8 PEM.
    #[error("private key: {0}")]
    Private(rsa::pkcs8::Error),
    /// The public key is not SubjectPublicKeyInfo PEM.
    #[error("public key: {0}")]
    Public(rsa::pkcs8::spki::Error),
}

impl RsaKeys {
    /// Loads a PKCS#8 private key and an SPKI public key, both PEM (the form of the committed dev keys).
    pub fn from_pem(private_pem: &str, public_pem: &str) -> Result<Self, KeyLoadError> {
        Ok(Self {
            private: RsaPrivateKey::from_pkcs8_pem(private_pem).map_err(KeyLoadError::Private)?,
            public: RsaPublicKey::from_public_key_pem(public_pem).map_err(KeyLoadError::Public)?,
        })
    }

    /// Blinded signature over `content`, as `sandbox::signature::sign` computes it (before base64).
    pub fn sign(&self, content: &[u8]) -> Vec<u8> {
        SigningKey::<Sha256>::new(self.private.clone())
            .sign_with_rng(&mut rand::thread_rng(), content)
            .to_vec()
    }

    /// Whether `signature` over `content` verifies, as `sandbox::signature::verify` decides it.
    pub fn verify(&self, content: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::try_from(signature) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(self.public.clone())
            .verify(content, &signature)
            .is_ok()
    }
}
