//! Sandbox configuration: keys, registered merchants, TTLs and windows. Keys are held as text and parsed by
//! [`crate::Sandbox::start`], so building a configuration never fails and callers can use struct-update syntax.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::SandboxError;
use crate::keys;

/// The committed, throw-away development keys (never use them outside development and tests).
pub mod dev {
    /// The development merchant's client id, registered by [`super::SandboxConfig::development`].
    pub const CLIENT_ID: &str = "SANDBOX_DEV_CLIENT";
    /// The sandbox's (Alipay's) signing key for development.
    pub const ALIPAY_PRIVATE_KEY_PEM: &str =
        include_str!("../../../keys/dev/alipay-sandbox-private.TEST-ONLY.pem");
    /// The public half of [`ALIPAY_PRIVATE_KEY_PEM`]: what a client verifies sandbox responses with.
    pub const ALIPAY_PUBLIC_KEY_PEM: &str =
        include_str!("../../../keys/dev/alipay-sandbox-public.TEST-ONLY.pem");
    /// The development merchant's private key (tests sign requests with it).
    pub const MERCHANT_PRIVATE_KEY_PEM: &str =
        include_str!("../../../keys/dev/merchant-private.TEST-ONLY.pem");
    /// The development merchant's public key, registered for [`CLIENT_ID`].
    pub const MERCHANT_PUBLIC_KEY_PEM: &str =
        include_str!("../../../keys/dev/merchant-public.TEST-ONLY.pem");
    /// Where the development Alipay public key lives, relative to the repository root (for CLI messages).
    pub const ALIPAY_PUBLIC_KEY_PATH: &str = "keys/dev/alipay-sandbox-public.TEST-ONLY.pem";
}

/// Everything a sandbox instance needs. Fields are public so tests can write
/// `SandboxConfig { slow_response: .., ..SandboxConfig::development() }`; the `with_*` methods do the same.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The sandbox's RSA private key (PEM or bare base64, PKCS#8 or PKCS#1) signing every response.
    pub signing_key_pem: String,
    /// Registered merchants: client id → RSA public key text (PEM or bare base64, SPKI or PKCS#1).
    pub merchants: BTreeMap<String, String>,
    /// How long scenario `94001` holds its first response (longer than any sane client timeout).
    pub slow_response: Duration,
    /// Lifetime of an access token from applyToken.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token from applyToken.
    pub refresh_token_ttl: Duration,
    /// Lifetime of an authCode issued by the H5 authorization page.
    pub auth_code_ttl: Duration,
    /// How long after creation a payment can still be cancelled.
    pub cancel_window: Duration,
    /// How long after payment a refund is still accepted.
    pub refund_window: Duration,
    /// The clock every TTL and window reads.
    pub clock: Clock,
    /// Base URL put into `authUrl` / `normalUrl`; defaults to `http://<bound address>`. Set it when the
    /// sandbox is reached through another host name (containers, port forwarding).
    pub public_base_url: Option<String>,
    /// Where notifications go when the API call named no notify URL (Alipay's dashboard setting).
    pub notify_url: Option<String>,
    /// Multiplies Alipay's redelivery intervals (2 min, 10 min, ... 15 h): `0.001` turns 2 min into 120 ms.
    pub notify_time_scale: f64,
    /// Redeliver unacknowledged notifications (Alipay production does; Alipay's remote sandbox does not).
    pub notify_redelivery: bool,
    /// Send notifyPayment for AGREEMENT_PAYMENT (auto debit): the documentation contradicts itself on
    /// whether Alipay does, so a client must work either way and tests choose.
    pub notify_agreement_payments: bool,
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("signing_key_pem", &"<redacted>")
            .field("merchants", &self.merchants.keys().collect::<Vec<_>>())
            .field("slow_response", &self.slow_response)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("auth_code_ttl", &self.auth_code_ttl)
            .field("cancel_window", &self.cancel_window)
            .field("refund_window", &self.refund_window)
            .field("public_base_url", &self.public_base_url)
            .field("notify_url", &self.notify_url)
            .field("notify_time_scale", &self.notify_time_scale)
            .field("notify_redelivery", &self.notify_redelivery)
            .field("notify_agreement_payments", &self.notify_agreement_payments)
            .finish_non_exhaustive()
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

impl SandboxConfig {
    /// A configuration with the given signing key, no merchants and the default TTLs and windows:
    /// access token 7 days, refresh token 30 days, authCode 10 minutes, cancel window 24 hours, refund window
    /// 365 days, slow response 10 seconds; no default notify URL, real-time redelivery on, no notifications
    /// for agreement payments.
    pub fn new(signing_key_pem: impl Into<String>) -> Self {
        Self {
            signing_key_pem: signing_key_pem.into(),
            merchants: BTreeMap::new(),
            slow_response: Duration::from_secs(10),
            access_token_ttl: 7 * DAY,
            refresh_token_ttl: 30 * DAY,
            auth_code_ttl: 10 * MINUTE,
            cancel_window: 24 * HOUR,
            refund_window: 365 * DAY,
            clock: Clock::new(),
            public_base_url: None,
            notify_url: None,
            notify_time_scale: 1.0,
            notify_redelivery: true,
            notify_agreement_payments: false,
        }
    }

    /// The committed development keys with merchant [`dev::CLIENT_ID`] registered.
    pub fn development() -> Self {
        Self::new(dev::ALIPAY_PRIVATE_KEY_PEM)
            .with_merchant(dev::CLIENT_ID, dev::MERCHANT_PUBLIC_KEY_PEM)
    }

    /// Registers (or replaces) a merchant's public key.
    pub fn with_merchant(
        mut self,
        client_id: impl Into<String>,
        public_key: impl Into<String>,
    ) -> Self {
        self.merchants.insert(client_id.into(), public_key.into());
        self
    }

    /// Sets how long scenario `94001` delays its first answer.
    pub fn with_slow_response(mut self, d: Duration) -> Self {
        self.slow_response = d;
        self
    }

    /// Sets the access token lifetime.
    pub fn with_access_token_ttl(mut self, d: Duration) -> Self {
        self.access_token_ttl = d;
        self
    }

    /// Sets the refresh token lifetime.
    pub fn with_refresh_token_ttl(mut self, d: Duration) -> Self {
        self.refresh_token_ttl = d;
        self
    }

    /// Sets the authCode lifetime.
    pub fn with_auth_code_ttl(mut self, d: Duration) -> Self {
        self.auth_code_ttl = d;
        self
    }

    /// Sets the cancel window.
    pub fn with_cancel_window(mut self, d: Duration) -> Self {
        self.cancel_window = d;
        self
    }

    /// Sets the refund window.
    pub fn with_refund_window(mut self, d: Duration) -> Self {
        self.refund_window = d;
        self
    }

    /// Uses a shared clock (keep a clone to advance it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the base URL advertised in authorization and cashier links.
    pub fn with_public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = Some(url.into());
        self
    }

    /// Sets the notify URL used when an API call carries none.
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// Scales the redelivery schedule (must be finite and not negative; checked at start).
    pub fn with_notify_time_scale(mut self, scale: f64) -> Self {
        self.notify_time_scale = scale;
        self
    }

    /// Turns redelivery of unacknowledged notifications on or off.
    pub fn with_notify_redelivery(mut self, on: bool) -> Self {
        self.notify_redelivery = on;
        self
    }

    /// Turns notifyPayment for AGREEMENT_PAYMENT on or off.
    pub fn with_notify_agreement_payments(mut self, on: bool) -> Self {
        self.notify_agreement_payments = on;
        self
    }
}

fn read(path: &Path) -> Result<String, SandboxError> {
    std::fs::read_to_string(path).map_err(|source| SandboxError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

/// Builds a configuration from key files, for `alipay-gateway sandbox --signing-key FILE --merchant ID=FILE`.
/// Without a signing key the development key is used; without merchants the development merchant is
/// registered. Every key is parsed here so a bad file fails at start-up with its path in the message.
pub fn config_from_files(
    signing_key_path: Option<&Path>,
    merchants: &[(String, PathBuf)],
) -> Result<SandboxConfig, SandboxError> {
    let mut config = match signing_key_path {
        Some(path) => {
            let pem = read(path)?;
            keys::private_key(&pem, &format!("signing key {}", path.display()))?;
            SandboxConfig::new(pem)
        }
        None => SandboxConfig::new(dev::ALIPAY_PRIVATE_KEY_PEM),
    };
    if merchants.is_empty() {
        return Ok(config.with_merchant(dev::CLIENT_ID, dev::MERCHANT_PUBLIC_KEY_PEM));
    }
    for (client_id, path) in merchants {
        let pem = read(path)?;
        keys::public_key(
            &pem,
            &format!("public key of merchant {client_id} ({})", path.display()),
        )?;
        config = config.with_merchant(client_id.clone(), pem);
    }
    Ok(config)
}

/// Parses one `CLIENT_ID=PUBLIC_KEY_FILE` command-line value (usable as a clap `value_parser`).
pub fn parse_merchant_arg(arg: &str) -> Result<(String, PathBuf), SandboxError> {
    match arg.split_once('=') {
        Some((id, path)) if !id.trim().is_empty() && !path.trim().is_empty() => {
            Ok((id.trim().to_owned(), PathBuf::from(path.trim())))
        }
        _ => Err(SandboxError::MerchantArg(arg.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_signing_key() {
        let text = format!("{:?}", SandboxConfig::development());
        assert!(text.contains("<redacted>"));
        assert!(!text.contains("PRIVATE KEY"));
        assert!(text.contains(dev::CLIENT_ID));
    }

    #[test]
    fn merchant_args_parse() {
        assert_eq!(
            parse_merchant_arg("ACME=/k/pub.pem").unwrap(),
            ("ACME".to_owned(), PathBuf::from("/k/pub.pem"))
        );
        assert!(parse_merchant_arg("ACME").is_err());
        assert!(parse_merchant_arg("=x").is_err());
        assert!(parse_merchant_arg("A=").is_err());
    }

    #[test]
    fn config_from_files_reads_and_checks_keys() {
        let dir = std::env::temp_dir().join(format!("sandbox-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let signing = dir.join("signing.pem");
        let merchant = dir.join("merchant.b64");
        std::fs::write(&signing, dev::ALIPAY_PRIVATE_KEY_PEM).unwrap();
        let bare: String = dev::MERCHANT_PUBLIC_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("---"))
            .collect();
        std::fs::write(&merchant, bare).unwrap();
        let config =
            config_from_files(Some(&signing), &[("M1".to_owned(), merchant.clone())]).unwrap();
        assert_eq!(config.merchants.keys().collect::<Vec<_>>(), vec!["M1"]);

        let defaults = config_from_files(None, &[]).unwrap();
        assert!(defaults.merchants.contains_key(dev::CLIENT_ID));

        let broken = dir.join("broken.pem");
        std::fs::write(&broken, "garbage").unwrap();
        let err = config_from_files(None, &[("M2".to_owned(), broken)]).unwrap_err();
        assert!(err.to_string().contains("M2"), "{err}");
        let missing = config_from_files(Some(&dir.join("nope.pem")), &[]).unwrap_err();
        assert!(matches!(missing, SandboxError::ReadFile { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
