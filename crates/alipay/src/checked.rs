//! Request values that can only hold what Alipay accepts: each newtype has one checking constructor built on
//! [`crate::limits`], so a value that exists is valid and nothing downstream re-checks it or invents a default.
//!
//! A refused value is described by a [`Problem`] that never quotes the value (payment and auth codes are secrets).

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::limits::{
    self, MAX_AUTH_CODE_LEN, MAX_REQUEST_ID_LEN, MAX_SCOPES, MAX_URL_LEN, REGION_CODE_LEN,
};
use crate::model::{Amount, Scope, Secret};

/// Why a value was refused: a sentence for `google.rpc.BadRequest.FieldViolation.description`. It never quotes
/// the value, so it is safe for secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Problem(String);

impl Problem {
    /// A problem described by `description`.
    pub fn new(description: impl Into<String>) -> Self {
        Self(description.into())
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.0
    }

    /// The description, owned.
    pub fn into_description(self) -> String {
        self.0
    }
}

/// Shared text rule: present (empty is "is required", blank is refused), at most `max` characters (Alipay counts
/// characters, not bytes) and no control characters: a NUL cannot be stored in PostgreSQL text (the store would
/// answer "unavailable" for a request that can never succeed), and no Alipay field takes control characters.
fn check_text(value: &str, max: usize) -> Result<(), Problem> {
    if value.is_empty() {
        return Err(Problem::new("is required"));
    }
    if value.trim().is_empty() {
        return Err(Problem::new("must not be blank"));
    }
    let len = value.chars().count();
    if len > max {
        return Err(Problem::new(format!(
            "must be at most {max} characters (got {len})"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Problem::new("must not contain control characters"));
    }
    Ok(())
}

/// Implements the read-only string face of a checked text type: `Deref<Target = str>`, `Display`, `AsRef<str>`
/// and a transparent `Serialize` (request fingerprints stay byte-identical to the plain strings they replace).
macro_rules! text_face {
    ($name:ident $(<const $n:ident: usize>)?) => {
        impl$(<const $n: usize>)? Deref for $name$(<$n>)? {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl$(<const $n: usize>)? AsRef<str> for $name$(<$n>)? {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl$(<const $n: usize>)? fmt::Display for $name$(<$n>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl$(<const $n: usize>)? Serialize for $name$(<$n>)? {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl$(<const $n: usize>)? FromStr for $name$(<$n>)? {
            type Err = Problem;
            fn from_str(value: &str) -> Result<Self, Problem> {
                Self::new(value)
            }
        }
        impl$(<const $n: usize>)? From<$name$(<$n>)?> for String {
            fn from(value: $name$(<$n>)?) -> String {
                value.0
            }
        }
    };
}

/// Free text of at most `MAX` characters: not empty, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// Checks `value` against the text rule.
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        check_text(&value, MAX)?;
        Ok(Self(value))
    }
}

text_face!(Text<const MAX: usize>);

/// A customer or binding id of the gateway (at most [`limits::MAX_CUSTOMER_ID_LEN`] characters).
pub type CustomerId = Text<{ limits::MAX_CUSTOMER_ID_LEN }>;

/// A request id (`paymentRequestId`, `refundRequestId`, `captureRequestId`): at most
/// [`MAX_REQUEST_ID_LEN`] characters of `[A-Za-z0-9_.:-]` ([`limits::is_request_id_char`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(String);

impl RequestId {
    /// Checks `value` against the request-id rule.
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        check_text(&value, MAX_REQUEST_ID_LEN)?;
        if !value.chars().all(limits::is_request_id_char) {
            return Err(Problem::new(
                "may only contain letters A-Z a-z, digits 0-9 and the characters _ . : -",
            ));
        }
        Ok(Self(value))
    }
}

text_face!(RequestId);

/// An absolute `https://` URL of at most `MAX` characters (redirect pages the buyer is sent to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl<const MAX: usize = MAX_URL_LEN>(String);

impl<const MAX: usize> HttpsUrl<MAX> {
    /// Checks `value`: text rule, then an https scheme with something after it.
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        check_text(&value, MAX)?;
        match value.strip_prefix("https://") {
            Some(rest) if !rest.is_empty() => Ok(Self(value)),
            _ => Err(Problem::new("must be an absolute https URL")),
        }
    }
}

text_face!(HttpsUrl<const MAX: usize>);

/// An ISO 3166-1 alpha-2 region code: two upper-case ASCII letters (`merchantRegion`, address regions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCode(String);

impl RegionCode {
    /// Checks `value` against the alpha-2 rule.
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        if value.len() != REGION_CODE_LEN || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Problem::new(
                "must be an ISO 3166-1 alpha-2 code (2 upper-case letters)",
            ));
        }
        Ok(Self(value))
    }
}

text_face!(RegionCode);

/// An active ISO 4217 currency code, which knows its minor-unit exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// Checks `value` against the ISO 4217 table of [`limits`].
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        if !limits::is_known_currency(&value) {
            return Err(Problem::new("must be an ISO 4217 currency code"));
        }
        Ok(Self(value))
    }
}

text_face!(Currency);

impl PartialEq<String> for Currency {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

/// A positive amount of money in minor units, at most `i64::MAX` (what the stores and the proto hold), and a whole
/// multiple of the currency's smallest step ([`limits::minor_unit_step`]). Serialises as Alipay's
/// `{"currency","value"}` with the value as a string, exactly as the wire [`Amount`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    currency: Currency,
    minor_units: i64,
}

impl Money {
    /// Checks `minor_units` for `currency` (the problem is about the value: the currency is already checked).
    pub fn new(currency: Currency, minor_units: i64) -> Result<Self, Problem> {
        let minor_units = Self::positive(minor_units)?;
        let step = limits::minor_unit_step(&currency);
        if minor_units.unsigned_abs() % step != 0 {
            return Err(Problem::new(format!(
                "{currency} amounts must be a multiple of {step}"
            )));
        }
        Ok(Self {
            currency,
            minor_units,
        })
    }

    /// The part of the rule that needs no currency: a positive number of minor units. Lets a parser report a bad
    /// value even when the currency beside it is bad too.
    pub fn positive(minor_units: i64) -> Result<i64, Problem> {
        if minor_units <= 0 {
            return Err(Problem::new("must be a positive number of minor units"));
        }
        Ok(minor_units)
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The value in minor units (always positive).
    pub fn minor_units(&self) -> i64 {
        self.minor_units
    }

    /// The wire form Alipay receives.
    pub fn to_wire(&self) -> Amount {
        Amount::new(self.currency.0.clone(), self.minor_units.unsigned_abs())
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

/// The wallets this gateway knows (`customerBelongsTo` / `paymentMethodType`), spelled as Alipay spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wallet {
    /// Alipay (mainland China).
    AlipayCn,
    /// AlipayHK.
    AlipayHk,
    /// GCash (Philippines).
    Gcash,
    /// DANA (Indonesia).
    Dana,
    /// TrueMoney (Thailand).
    Truemoney,
    /// Touch 'n Go eWallet (Malaysia).
    Tng,
    /// Kakao Pay (Korea).
    Kakaopay,
    /// bKash (Bangladesh).
    Bkash,
    /// Easypaisa (Pakistan).
    Easypaisa,
    /// Any Alipay+ wallet, resolved from the scanned payment code (in-store only).
    ConnectWallet,
}

impl Wallet {
    /// Every wallet, for tables and tests.
    pub const ALL: [Wallet; 10] = [
        Wallet::AlipayCn,
        Wallet::AlipayHk,
        Wallet::Gcash,
        Wallet::Dana,
        Wallet::Truemoney,
        Wallet::Tng,
        Wallet::Kakaopay,
        Wallet::Bkash,
        Wallet::Easypaisa,
        Wallet::ConnectWallet,
    ];

    /// Alipay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Wallet::AlipayCn => "ALIPAY_CN",
            Wallet::AlipayHk => "ALIPAY_HK",
            Wallet::Gcash => "GCASH",
            Wallet::Dana => "DANA",
            Wallet::Truemoney => "TRUEMONEY",
            Wallet::Tng => "TNG",
            Wallet::Kakaopay => "KAKAOPAY",
            Wallet::Bkash => "BKASH",
            Wallet::Easypaisa => "EASYPAISA",
            Wallet::ConnectWallet => "CONNECT_WALLET",
        }
    }
}

impl FromStr for Wallet {
    type Err = Problem;

    fn from_str(value: &str) -> Result<Self, Problem> {
        Wallet::ALL
            .into_iter()
            .find(|w| w.as_str() == value)
            .ok_or_else(|| Problem::new("unknown wallet"))
    }
}

impl fmt::Display for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Wallet> for String {
    fn from(wallet: Wallet) -> String {
        wallet.as_str().to_owned()
    }
}

impl Serialize for Wallet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Requested consult / applyToken scopes: at most [`MAX_SCOPES`], each at most once. Whether one is required is
/// the RPC's rule (consult needs one; applyToken may leave them to Alipay).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Checks the count; duplicates are refused by [`Scopes::push`] before this is reached.
    pub fn new(scopes: Vec<Scope>) -> Result<Self, Problem> {
        if scopes.len() > MAX_SCOPES {
            return Err(Problem::new(format!("at most {MAX_SCOPES} scopes")));
        }
        let mut checked = Self::default();
        for scope in scopes {
            checked.push(scope)?;
        }
        Ok(checked)
    }

    /// Adds `scope`, refusing a duplicate or a fifth scope.
    pub fn push(&mut self, scope: Scope) -> Result<(), Problem> {
        if self.0.contains(&scope) {
            return Err(Problem::new("duplicate scope"));
        }
        if self.0.len() == MAX_SCOPES {
            return Err(Problem::new(format!("at most {MAX_SCOPES} scopes")));
        }
        self.0.push(scope);
        Ok(())
    }
}

impl Deref for Scopes {
    type Target = [Scope];
    fn deref(&self) -> &[Scope] {
        &self.0
    }
}

/// Implements the secret face of a checked credential: `Debug` redacted, serialised as is (for fingerprints and
/// the wire), exposed only on purpose.
macro_rules! secret_face {
    ($name:ident) => {
        impl $name {
            /// The credential itself, for the few places that must send or digest it.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }

            /// The credential as the wire model's [`Secret`].
            pub fn secret(&self) -> &Secret {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl From<$name> for Secret {
            fn from(value: $name) -> Secret {
                value.0
            }
        }

        impl FromStr for $name {
            type Err = Problem;
            fn from_str(value: &str) -> Result<Self, Problem> {
                Self::new(value)
            }
        }
    };
}

/// A user-presented in-store payment code following Alipay's rule ([`limits::is_alipay_payment_code`]).
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode(Secret);

impl PaymentCode {
    /// Checks `value` against the payment-code rule (the problem never echoes the code).
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        if value.is_empty() {
            return Err(Problem::new("is required"));
        }
        if !limits::is_alipay_payment_code(&value) {
            return Err(Problem::new(format!(
                "must be {}-{} digits starting with {} to {}",
                limits::PAYMENT_CODE_DIGITS.start(),
                limits::PAYMENT_CODE_DIGITS.end(),
                limits::PAYMENT_CODE_PREFIXES.start(),
                limits::PAYMENT_CODE_PREFIXES.end()
            )));
        }
        Ok(Self(Secret::new(value)))
    }
}

secret_face!(PaymentCode);

/// The one-time `authCode` of a wallet redirect: the text rule with at most [`MAX_AUTH_CODE_LEN`] characters.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCode(Secret);

impl AuthCode {
    /// Checks `value` against the text rule (the problem never echoes the code).
    pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
        let value = value.into();
        check_text(&value, MAX_AUTH_CODE_LEN)?;
        Ok(Self(Secret::new(value)))
    }
}

secret_face!(AuthCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_text(value: &str, max: usize) -> bool {
        !value.trim().is_empty()
            && value.chars().count() <= max
            && !value.chars().any(char::is_control)
    }

    proptest! {
        #[test]
        fn text_accepts_exactly_the_documented_rule(value in "\\PC{0,70}|[\\x00-\\x1f ]{0,3}[a-z]{0,3}") {
            prop_assert_eq!(Text::<64>::new(value.as_str()).is_ok(), is_text(&value, 64));
        }

        #[test]
        fn request_ids_accept_exactly_the_documented_charset(value in "[A-Za-z0-9_.:/ #%-]{0,70}") {
            let expected = !value.is_empty()
                && value.chars().count() <= MAX_REQUEST_ID_LEN
                && value.chars().all(limits::is_request_id_char);
            prop_assert_eq!(RequestId::new(value.as_str()).is_ok(), expected);
        }

        #[test]
        fn payment_codes_accept_exactly_the_documented_rule(value in "[0-9]{0,26}|[0-9a]{16}") {
            let expected = (16..=24).contains(&value.len())
                && value.bytes().all(|b| b.is_ascii_digit())
                && (25..=30).contains(&value[..2].parse::<u8>().unwrap_or(0));
            let checked = PaymentCode::new(value.as_str());
            prop_assert_eq!(checked.is_ok(), expected);
            if let Err(problem) = checked {
                prop_assert!(value.len() < 4 || !problem.description().contains(&value));
            }
        }

        #[test]
        fn money_accepts_exactly_positive_whole_steps(currency in "IDR|PHP|KRW|KWD", value in any::<i64>()) {
            let step = if currency == "IDR" { 100 } else { 1 };
            let currency = Currency::new(currency).expect("known currency");
            let money = Money::new(currency, value);
            prop_assert_eq!(money.is_ok(), value > 0 && value % step == 0);
            if let Ok(money) = money {
                prop_assert_eq!(money.to_wire().minor_units(), Some(value.unsigned_abs()));
            }
        }

        /// The edge parses with the same limits the client checks before signing: whatever the checked values
        /// hold, the wire request built from them passes the client's last check.
        #[test]
        fn checked_values_always_pass_the_clients_last_check(
            id in "[A-Za-z0-9_.:-]{1,64}",
            reference in "\\PC{1,64}",
            description in "\\PC{1,256}",
            url in "[a-z./]{1,2040}",
            value in 1i64..=i64::MAX,
        ) {
            use crate::limits::{MAX_ORDER_DESCRIPTION_LEN, MAX_REFERENCE_ORDER_ID_LEN};
            use crate::model::{Env, Order, PayRequest, PaymentMethod, ProductCode, TerminalType};
            use crate::validate::Validate;
            let reference = Text::<MAX_REFERENCE_ORDER_ID_LEN>::new(reference);
            let description = Text::<MAX_ORDER_DESCRIPTION_LEN>::new(description);
            prop_assume!(reference.is_ok() && description.is_ok());
            let (reference, description) = (reference.expect("assumed"), description.expect("assumed"));
            let id = RequestId::new(id).expect("generated from the charset");
            let url = HttpsUrl::<MAX_URL_LEN>::new(format!("https://{url}")).expect("https");
            let amount = Money::new(Currency::new("PHP").expect("PHP"), value)
                .expect("positive")
                .to_wire();
            let mut request = PayRequest::new(
                ProductCode::CashierPayment,
                String::from(id),
                amount.clone(),
                Order::new(String::from(reference), String::from(description), amount),
                PaymentMethod::of_type(Wallet::Gcash),
            );
            request.payment_redirect_url = Some(url.into());
            request.env = Some(Env::new(TerminalType::Web));
            prop_assert_eq!(request.validate(), Ok(()));
        }

        #[test]
        fn region_codes_are_two_upper_case_letters(value in "[A-Za-z0-9]{0,3}") {
            let expected = value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase());
            prop_assert_eq!(RegionCode::new(value.as_str()).is_ok(), expected);
        }

        #[test]
        fn https_urls_are_bounded_and_https(rest in "[a-z./]{0,20}", scheme in "https://|http://|ftp://|") {
            let value = format!("{scheme}{rest}");
            let expected = scheme == "https://" && !rest.is_empty();
            prop_assert_eq!(HttpsUrl::<2048>::new(value.as_str()).is_ok(), expected);
        }
    }

    #[test]
    fn currencies_and_wallets_come_from_the_tables() {
        assert!(Currency::new("PHP").is_ok());
        assert!(Currency::new("php").is_err());
        assert!(Currency::new("XXX").is_err());
        for wallet in Wallet::ALL {
            assert_eq!(wallet.as_str().parse::<Wallet>(), Ok(wallet));
        }
        assert!("CARD".parse::<Wallet>().is_err());
        assert!(HttpsUrl::<11>::new("https://abc").is_ok());
        assert!(HttpsUrl::<10>::new("https://abc").is_err());
    }

    #[test]
    fn scopes_are_bounded_and_distinct() {
        assert!(Scopes::new(vec![Scope::AgreementPay, Scope::UserInfo]).is_ok());
        assert_eq!(
            Scopes::new(vec![Scope::AgreementPay, Scope::AgreementPay])
                .map_err(|p| p.into_description()),
            Err("duplicate scope".to_owned())
        );
        assert!(Scopes::new(vec![Scope::AgreementPay; 5]).is_err());
    }

    #[test]
    fn checked_values_serialise_like_the_strings_they_replace() {
        let money = Money::new(Currency::new("PHP").expect("PHP"), 1000).expect("money");
        assert_eq!(
            serde_json::to_string(&money).expect("json"),
            serde_json::to_string(&Amount::new("PHP", 1000)).expect("json")
        );
        let code = PaymentCode::new("2812345678901234").expect("code");
        assert_eq!(
            serde_json::to_string(&code).expect("json"),
            "\"2812345678901234\""
        );
        assert!(!format!("{code:?}").contains("2812"));
        assert_eq!(
            serde_json::to_string(&Wallet::Gcash).expect("json"),
            "\"GCASH\""
        );
    }
}
