//! What a setting's text becomes. Every source (flag, environment, file, default) hands the same text to the same
//! [`SettingValue::parse`], so a value means one thing wherever it is written, and a bad one is reported the same
//! way. A type, not a later `if`, carries each single-value rule (more than zero, at least 1, `off`, an http(s)
//! URL); rules that relate two settings live in the one validation step ([`super::Settings::validate`]).

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// A type a declared setting's text parses into.
pub trait SettingValue: Sized {
    /// Parses one source's text. The message says what is wrong; it never repeats a secret's text.
    fn parse(text: &str) -> Result<Self, String>;

    /// Distinct valid spellings, for the generated precedence tests.
    #[cfg(test)]
    fn examples() -> &'static [&'static str];
}

/// Unset when empty: an optional setting written as `""` (an empty environment variable, a chart value left blank)
/// means "not set", the same as leaving it out.
impl<T: SettingValue> SettingValue for Option<T> {
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        T::examples()
    }
}

impl SettingValue for String {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["SANDBOX_5Y1", "C2", "2188120000000001"]
    }
}

impl SettingValue for PathBuf {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["k.pem", "/etc/alipay-gateway/secrets/key", "keys/b.pem"]
    }
}

impl SettingValue for u32 {
    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a whole number"))
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["0", "1", "2", "42"]
    }
}

impl SettingValue for NonZeroU32 {
    fn parse(text: &str) -> Result<Self, String> {
        NonZeroU32::new(u32::parse(text)?).ok_or_else(|| "must be at least 1".to_owned())
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["1", "3", "20", "100"]
    }
}

/// The spellings clap's `BoolishValueParser` accepted before, so `--no-migrate=yes` keeps working.
impl SettingValue for bool {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
            "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
            _ => Err(format!("{text:?} is neither true nor false")),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["true", "false"]
    }
}

impl SettingValue for SocketAddr {
    fn parse(text: &str) -> Result<Self, String> {
        text.trim().parse().map_err(|e| format!("{text:?}: {e}"))
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["127.0.0.1:7000", "[::1]:0", "0.0.0.0:9464"]
    }
}

impl SettingValue for Duration {
    fn parse(text: &str) -> Result<Self, String> {
        parse_duration(text)
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["0s", "250ms", "15s", "2m", "1h"]
    }
}

/// A timeout, interval or lease: zero would time out every call or spin a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDuration(pub Duration);

impl SettingValue for PositiveDuration {
    fn parse(text: &str) -> Result<Self, String> {
        match parse_duration(text)? {
            d if d.is_zero() => Err("must be more than zero".to_owned()),
            d => Ok(Self(d)),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["250ms", "15s", "2m", "200h"]
    }
}

/// A listen address that can also be switched `off` (the notification listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrOrOff(pub Option<SocketAddr>);

impl SettingValue for AddrOrOff {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" => Ok(Self(None)),
            _ => SocketAddr::parse(text).map(|addr| Self(Some(addr))),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["off", "127.0.0.1:0", "0.0.0.0:8081"]
    }
}

/// Where the gateway sends its Alipay calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Start the built-in simulator on a loopback ephemeral port and use it (development mode).
    Sandbox,
    /// A real (or externally run) Alipay endpoint.
    Url(String),
}

impl SettingValue for Upstream {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "sandbox" => Ok(Self::Sandbox),
            url if is_http_url(url) => Ok(Self::Url(url.trim_end_matches('/').to_owned())),
            other => Err(format!("{other:?} is neither `sandbox` nor an http(s) URL")),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &[
            "sandbox",
            "https://open-na-global.alipay.com",
            "http://127.0.0.1:9/",
        ]
    }
}

impl SettingValue for alipay::PathPrefix {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "production" => Ok(Self::Production),
            "sandbox" => Ok(Self::Sandbox),
            other => Err(format!("{other:?} is neither production nor sandbox")),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["production", "sandbox"]
    }
}

/// `card_void_on`: the rules are parsed where the policy lives, in the engine.
impl SettingValue for engine::CardVoidPolicy {
    fn parse(text: &str) -> Result<Self, String> {
        engine::CardVoidPolicy::parse(text)
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["avs:NO_MATCH", "cvv:NO_MATCH", "avs:NO_MATCH,cvv:NO_MATCH"]
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl SettingValue for LogFormat {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is neither text nor json")),
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["text", "json"]
    }
}

/// A log filter in tracing's `EnvFilter` syntax, checked at start rather than silently replaced later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(pub String);

impl SettingValue for LogFilter {
    fn parse(text: &str) -> Result<Self, String> {
        tracing_subscriber::EnvFilter::try_new(text)
            .map(|_| Self(text.to_owned()))
            .map_err(|e| e.to_string())
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["info", "debug", "info,engine=debug", "warn"]
    }
}

/// An OTLP collector: an http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub String);

impl SettingValue for HttpUrl {
    fn parse(text: &str) -> Result<Self, String> {
        if is_http_url(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("{text:?} is not an http(s) URL"))
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &["http://otel-collector:4317", "https://otel.example:4317"]
    }
}

/// The externally reachable base URL of the notification listener: an absolute http(s) URL without query or
/// fragment, kept without a trailing `/` so `<base>/alipay/notify` has one slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl(pub String);

impl SettingValue for PublicBaseUrl {
    fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err("must be an http(s) URL without query or fragment".to_owned());
        }
        Ok(Self(text.trim_end_matches('/').to_owned()))
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &[
            "https://gw.example/hooks/",
            "http://127.0.0.1:8080",
            "https://pay.example",
        ]
    }
}

/// The store URL. It may hold a password, so neither `Debug` nor an error message ever shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl SettingValue for DatabaseUrl {
    fn parse(text: &str) -> Result<Self, String> {
        if ["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|scheme| text.starts_with(scheme))
        {
            Ok(Self(text.to_owned()))
        } else {
            Err("must start with sqlite: or postgres:".to_owned())
        }
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &[
            "sqlite://data/gateway.db?mode=rwc",
            "postgres://gw:secret@db/gw",
            "postgresql://db/gw",
        ]
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A secret given as text (the token-encryption key): checked in the validation step, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl SettingValue for Secret {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Self(text.trim().to_owned()))
    }

    #[cfg(test)]
    fn examples() -> &'static [&'static str] {
        &[
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
            "short",
        ]
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn is_http_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// Parses `250ms`, `15s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 250ms, 15s, 2m or 1h"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        other => Err(format!(
            "unknown duration unit {other:?} in {text:?} (use ms, s, m or h)"
        )),
    }
}

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
