//! Documented Alipay limits (field lengths, currencies, per-wallet minimums, payment-code rule) as one source of
//! truth: the gRPC layer validates proto input with these helpers and the engine re-checks its commands with the
//! same ones, so bad input never reaches Alipay and both layers agree on what "bad" means.

use crate::error::FieldViolation;

/// `paymentRequestId` (and our other request ids: refund, capture) — Alipay rejects longer ids.
pub const MAX_REQUEST_ID_LEN: usize = 64;
/// `order.referenceOrderId`.
pub const MAX_REFERENCE_ORDER_ID_LEN: usize = 64;
/// `order.orderDescription`.
pub const MAX_ORDER_DESCRIPTION_LEN: usize = 256;
/// `authRedirectUrl` of consult.
pub const MAX_AUTH_REDIRECT_URL_LEN: usize = 1024;
/// `authState` of consult.
pub const MAX_AUTH_STATE_LEN: usize = 256;
/// Number of entries in consult's `scopes[]`.
pub const MAX_SCOPES: usize = 4;
/// `osVersion` of consult / env.
pub const MAX_OS_VERSION_LEN: usize = 16;
/// `refundReason`.
pub const MAX_REFUND_REASON_LEN: usize = 256;
/// `paymentNotifyUrl`, `paymentRedirectUrl`, `refundNotifyUrl` and other URLs.
pub const MAX_URL_LEN: usize = 2048;
/// Our own customer / binding ids travel in `referenceBuyerId`-like fields; keep them in the same envelope.
pub const MAX_CUSTOMER_ID_LEN: usize = 64;
/// `merchantRegion`: an ISO 3166 alpha-2 code (seed 001/002).
pub const MAX_MERCHANT_REGION_LEN: usize = 2;
/// `paymentExpiryTime` of a wallet (non-bank-transfer) payment may be at most this far ahead (alipay-api §3.1:
/// "a custom value must be < 10 min"); without one Alipay's default of about 14 minutes applies.
pub const MAX_PAYMENT_EXPIRY_AHEAD: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Caller metadata kept with a payment (never sent to Alipay): at most this many entries...
pub const MAX_METADATA_ENTRIES: usize = 20;
/// ...with keys of at most this many characters...
pub const MAX_METADATA_KEY_LEN: usize = 40;
/// ...and values of at most this many characters.
pub const MAX_METADATA_VALUE_LEN: usize = 500;
/// Characters allowed in request ids (payment, refund, capture), as the proto documents: `[A-Za-z0-9_.:-]`. They
/// travel in JSON, URLs of the sandbox pages and logs, so anything else is refused before Alipay sees it.
pub fn is_request_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}
/// Payment codes (user-presented in-store) are 16 to 24 digits.
pub const PAYMENT_CODE_MIN_DIGITS: usize = 16;
/// See [`PAYMENT_CODE_MIN_DIGITS`].
pub const PAYMENT_CODE_MAX_DIGITS: usize = 24;
/// An Alipay payment code starts with a two-digit prefix in this range (seed 002, "Payment code specifications").
pub const PAYMENT_CODE_PREFIXES: std::ops::RangeInclusive<u8> = 25..=30;

/// Consult scopes Alipay documents; anything else is a caller error.
pub const KNOWN_SCOPES: &[&str] = &[
    "BASE_USER_INFO",
    "AGREEMENT_PAY",
    "USER_INFO",
    "USER_LOGIN_ID",
    "HASH_LOGIN_ID",
    "SEND_OTP",
    "TAOBAO_REBIND",
];

/// Scopes that allow `inquiryUserInfo` (seed 000: "the scope field of consult must contain BASE_USER_INFO or
/// USER_INFO").
pub const USER_INFO_SCOPES: &[&str] = &["BASE_USER_INFO", "USER_INFO"];

/// Wallets (`customerBelongsTo` / `paymentMethodType`) this gateway knows.
pub const KNOWN_WALLETS: &[&str] = &[
    "ALIPAY_CN",
    "ALIPAY_HK",
    "GCASH",
    "DANA",
    "TRUEMONEY",
    "TNG",
    "KAKAOPAY",
    "BKASH",
    "EASYPAISA",
    "CONNECT_WALLET",
];

/// How the payer is charged: the per-wallet minimum differs between auto debit and the cashier for ALIPAY_HK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    /// `AGREEMENT_PAYMENT` (tokenized auto debit).
    AutoDebit,
    /// `CASHIER_PAYMENT` (one-time, redirect).
    Cashier,
    /// `IN_STORE_PAYMENT` (user-presented payment code).
    InStore,
}

/// Per-wallet minimum `(wallet, currency, auto-debit minimum, cashier minimum)` in minor units (seed 002). The same
/// minimums apply to refunds.
const WALLET_MINIMUMS: &[(&str, &str, u64, u64)] = &[
    ("TRUEMONEY", "THB", 100, 100),
    ("ALIPAY_HK", "HKD", 1, 10),
    ("TNG", "MYR", 10, 10),
    ("GCASH", "PHP", 100, 100),
    ("DANA", "IDR", 30000, 30000),
    ("BKASH", "BDT", 1, 1),
    ("EASYPAISA", "PKR", 10000, 10000),
    ("KAKAOPAY", "KRW", 50, 50),
];

/// The documented minimum amount (minor units) for `wallet` paying in `currency`, if one is documented.
pub fn minimum_amount(wallet: &str, currency: &str, product: ProductKind) -> Option<u64> {
    WALLET_MINIMUMS
        .iter()
        .find(|(w, c, _, _)| *w == wallet && *c == currency)
        .map(|(_, _, auto_debit, cashier)| match product {
            ProductKind::Cashier => *cashier,
            ProductKind::AutoDebit | ProductKind::InStore => *auto_debit,
        })
}

/// Active ISO 4217 codes with their minor-unit exponent. Alipay amounts are strings of minor units, so the exponent
/// is what turns "100" into 1.00 PHP but 100 KRW.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2), ("AWG", 2),
    ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2),
    ("BOB", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2),
    ("CHF", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2),
    ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2),
    ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2),
    ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2),
    ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2),
    ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2),
    ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2),
    ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2),
    ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2),
    ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2),
    ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0), ("USD", 2), ("UYI", 0), ("UYU", 2),
    ("UYW", 4), ("UZS", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XOF", 0),
    ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// The ISO 4217 minor-unit exponent of `code`, or `None` for an unknown code.
pub fn currency_exponent(code: &str) -> Option<u8> {
    CURRENCIES.iter().find(|(c, _)| *c == code).map(|(_, e)| *e)
}

/// Whether `code` is an active ISO 4217 currency code.
pub fn is_known_currency(code: &str) -> bool {
    currency_exponent(code).is_some()
}

/// Whether `code` follows the Alipay payment-code rule: 16-24 digits starting with 25..=30.
pub fn is_alipay_payment_code(code: &str) -> bool {
    let len_ok = (PAYMENT_CODE_MIN_DIGITS..=PAYMENT_CODE_MAX_DIGITS).contains(&code.len());
    len_ok
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .get(..2)
            .and_then(|p| p.parse::<u8>().ok())
            .is_some_and(|p| PAYMENT_CODE_PREFIXES.contains(&p))
}

/// Parses an Alipay amount value (a string of minor units): digits only, no sign, no leading zeros, > 0.
pub fn parse_minor_units(value: &str) -> Option<u64> {
    let canonical = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && !(value.len() > 1 && value.starts_with('0'));
    if !canonical {
        return None;
    }
    value.parse::<u64>().ok().filter(|v| *v > 0)
}

/// Collects field violations so a caller reports every problem of a request at once instead of one per round trip.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// `value` must be present and non-blank.
    pub fn required(&mut self, field: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.push(field, "is required");
            return false;
        }
        true
    }

    /// `value` must be at most `max` characters (Alipay counts characters, not bytes) and hold no control
    /// characters: a NUL cannot be stored in PostgreSQL text (the store would answer "unavailable" for a request
    /// that can never succeed), and no Alipay field takes control characters. Every text field passes here, so
    /// both stores see the same rule.
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if len > max {
            self.push(
                field,
                format!("must be at most {max} characters (got {len})"),
            );
        }
        if value.chars().any(char::is_control) {
            self.push(field, "must not contain control characters");
        }
    }

    /// A request id: required, at most 64 characters of `[A-Za-z0-9_.:-]` (see [`is_request_id_char`]).
    pub fn request_id(&mut self, field: &str, value: &str) {
        if self.required(field, value) {
            self.max_len(field, value, MAX_REQUEST_ID_LEN);
            if !value.chars().all(is_request_id_char) {
                self.push(
                    field,
                    "may only contain letters A-Z a-z, digits 0-9 and the characters _ . : -",
                );
            }
        }
    }

    /// A merchant region: an ISO 3166 alpha-2 code (two upper-case letters).
    pub fn merchant_region(&mut self, field: &str, value: &str) {
        if value.len() != MAX_MERCHANT_REGION_LEN || !value.bytes().all(|b| b.is_ascii_uppercase())
        {
            self.push(
                field,
                "must be an ISO 3166 alpha-2 code (two upper-case letters)",
            );
        }
    }

    /// Caller metadata: at most [`MAX_METADATA_ENTRIES`] entries with non-blank keys of at most
    /// [`MAX_METADATA_KEY_LEN`] and values of at most [`MAX_METADATA_VALUE_LEN`] characters. Takes any map's
    /// `iter()` (`BTreeMap`, `HashMap`). A too-long key is quoted shortened so the error stays small.
    pub fn metadata<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        field: &str,
        entries: impl IntoIterator<Item = (K, V)>,
    ) {
        let mut count = 0usize;
        for (key, value) in entries {
            count += 1;
            let (key, value) = (key.as_ref(), value.as_ref());
            let shown: String = key.chars().take(MAX_METADATA_KEY_LEN).collect();
            let key_len = key.chars().count();
            if key.trim().is_empty() {
                self.push(field, "keys must not be blank");
            } else if key.chars().chain(value.chars()).any(char::is_control) {
                self.push(
                    format!("{field}[{}]", shown.escape_debug()),
                    "keys and values must not contain control characters",
                );
            } else if key_len > MAX_METADATA_KEY_LEN {
                self.push(
                    field,
                    format!("key {shown:?}... must be at most {MAX_METADATA_KEY_LEN} characters (got {key_len})"),
                );
            }
            let value_len = value.chars().count();
            if value_len > MAX_METADATA_VALUE_LEN {
                self.push(
                    format!("{field}[{shown}]"),
                    format!(
                        "must be at most {MAX_METADATA_VALUE_LEN} characters (got {value_len})"
                    ),
                );
            }
        }
        if count > MAX_METADATA_ENTRIES {
            self.push(
                field,
                format!("at most {MAX_METADATA_ENTRIES} entries (got {count})"),
            );
        }
    }

    /// An optional URL: at most `max` characters and an http(s) scheme.
    pub fn url(&mut self, field: &str, value: &str, max: usize) {
        self.max_len(field, value, max);
        if !(value.starts_with("https://") || value.starts_with("http://")) {
            self.push(field, "must be an http(s) URL");
        }
    }

    /// An amount `{currency, value}`: known ISO 4217 currency, positive canonical minor units.
    pub fn amount(&mut self, field: &str, currency: &str, value: &str) -> Option<u64> {
        if !is_known_currency(currency) {
            self.push(
                format!("{field}.currency"),
                "must be an ISO 4217 currency code",
            );
        }
        let parsed = parse_minor_units(value);
        if parsed.is_none() {
            self.push(
                format!("{field}.value"),
                "must be a positive integer of minor units without sign or leading zeros",
            );
        }
        parsed
    }

    /// The per-wallet documented minimum for a payment or refund of `value` minor units.
    pub fn wallet_minimum(
        &mut self,
        field: &str,
        wallet: &str,
        product: ProductKind,
        currency: &str,
        value: u64,
    ) {
        if let Some(min) = minimum_amount(wallet, currency, product)
            && value < min
        {
            self.push(
                format!("{field}.value"),
                format!("{wallet} requires at least {min} {currency} minor units"),
            );
        }
    }

    /// A wallet name must be one we know.
    pub fn wallet(&mut self, field: &str, wallet: &str) {
        if !KNOWN_WALLETS.contains(&wallet) {
            self.push(field, format!("unknown wallet {wallet:?}"));
        }
    }

    /// Consult scopes: 1..=4 known values.
    pub fn scopes(&mut self, field: &str, scopes: &[String]) {
        if scopes.is_empty() {
            self.push(field, "at least one scope is required");
        }
        if scopes.len() > MAX_SCOPES {
            self.push(field, format!("at most {MAX_SCOPES} scopes"));
        }
        for scope in scopes {
            if !KNOWN_SCOPES.contains(&scope.as_str()) {
                self.push(field, format!("unknown scope {scope:?}"));
            }
        }
    }

    /// A user-presented payment code must follow the Alipay rule. The description never echoes the code.
    pub fn payment_code(&mut self, field: &str, code: &str) {
        if !is_alipay_payment_code(code) {
            self.push(field, "must be 16-24 digits starting with 25 to 30");
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The collected violations.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// `Ok(())` when empty, otherwise [`crate::EngineError::InvalidArgument`].
    pub fn into_result(self) -> Result<(), crate::EngineError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::EngineError::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_code_rule() {
        assert!(is_alipay_payment_code("2812345678901234"));
        assert!(is_alipay_payment_code("300000000000000000000000"));
        assert!(!is_alipay_payment_code("2412345678901234"), "prefix 24");
        assert!(!is_alipay_payment_code("3112345678901234"), "prefix 31");
        assert!(!is_alipay_payment_code("281234567890123"), "15 digits");
        assert!(
            !is_alipay_payment_code("2812345678901234567890123"),
            "25 digits"
        );
        assert!(!is_alipay_payment_code("28123456789012a4"));
    }

    #[test]
    fn minimums_and_exponents() {
        assert_eq!(
            minimum_amount("ALIPAY_HK", "HKD", ProductKind::AutoDebit),
            Some(1)
        );
        assert_eq!(
            minimum_amount("ALIPAY_HK", "HKD", ProductKind::Cashier),
            Some(10)
        );
        assert_eq!(
            minimum_amount("GCASH", "PHP", ProductKind::Cashier),
            Some(100)
        );
        assert_eq!(minimum_amount("GCASH", "USD", ProductKind::Cashier), None);
        assert_eq!(currency_exponent("KRW"), Some(0));
        assert_eq!(currency_exponent("KWD"), Some(3));
        assert_eq!(currency_exponent("PHP"), Some(2));
        assert!(!is_known_currency("XXX1"));
        assert!(!is_known_currency("php"));
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_minor_units("100"), Some(100));
        assert_eq!(parse_minor_units("0"), None);
        assert_eq!(parse_minor_units("010"), None);
        assert_eq!(parse_minor_units("-1"), None);
        assert_eq!(parse_minor_units("1.5"), None);
        assert_eq!(parse_minor_units("99999999999999999999999"), None);
        let mut v = Violations::new();
        let value = v.amount("payment_amount", "PHP", "99");
        v.wallet_minimum(
            "payment_amount",
            "GCASH",
            ProductKind::AutoDebit,
            "PHP",
            value.unwrap_or(0),
        );
        let got = v.into_vec();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field, "payment_amount.value");
    }

    #[test]
    fn lengths_count_characters() {
        let mut v = Violations::new();
        v.max_len(
            "order.order_description",
            &"é".repeat(MAX_ORDER_DESCRIPTION_LEN),
            MAX_ORDER_DESCRIPTION_LEN,
        );
        assert!(v.is_empty());
        v.max_len(
            "order.order_description",
            &"é".repeat(MAX_ORDER_DESCRIPTION_LEN + 1),
            MAX_ORDER_DESCRIPTION_LEN,
        );
        v.request_id("payment_request_id", &"a".repeat(65));
        v.request_id("refund_request_id", "has space");
        v.scopes("scopes", &["AGREEMENT_PAY".into(), "NOPE".into()]);
        assert_eq!(v.into_vec().len(), 4);
    }

    #[test]
    fn request_id_charset() {
        let mut v = Violations::new();
        v.request_id("payment_request_id", "PAY_1.a:b-C9");
        assert!(v.is_empty());
        for bad in ["a/b", "a+b", "a#b", "a%20", "ä", "a,b", "a\"b"] {
            let mut v = Violations::new();
            v.request_id("payment_request_id", bad);
            let got = v.into_vec();
            assert_eq!(got.len(), 1, "{bad:?}");
            assert!(got[0].description.contains("_ . : -"), "{bad:?}");
        }
    }

    #[test]
    fn metadata_limits() {
        use std::collections::BTreeMap;
        let ok: BTreeMap<String, String> = (0..MAX_METADATA_ENTRIES)
            .map(|i| (format!("{i:0>40}"), "v".repeat(MAX_METADATA_VALUE_LEN)))
            .collect();
        let mut v = Violations::new();
        v.metadata("metadata", &ok);
        assert!(v.is_empty(), "{v:?}");

        let mut too_many = ok.clone();
        too_many.insert("one-more".into(), String::new());
        let mut v = Violations::new();
        v.metadata("metadata", &too_many);
        assert_eq!(v.into_vec().len(), 1);

        let bad: std::collections::HashMap<String, String> = [
            ("k".repeat(MAX_METADATA_KEY_LEN + 1), "v".into()),
            (" ".into(), "v".into()),
            ("long".into(), "v".repeat(MAX_METADATA_VALUE_LEN + 1)),
        ]
        .into_iter()
        .collect();
        let mut v = Violations::new();
        v.metadata("metadata", &bad);
        let got = v.into_vec();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().any(|g| g.field == "metadata[long]"));
    }

    #[test]
    fn merchant_regions() {
        let mut v = Violations::new();
        v.merchant_region("merchant_region", "SG");
        assert!(v.is_empty());
        for bad in ["sg", "SGP", "S", "", "S1"] {
            let mut v = Violations::new();
            v.merchant_region("merchant_region", bad);
            assert_eq!(v.into_vec().len(), 1, "{bad:?}");
        }
    }
}
