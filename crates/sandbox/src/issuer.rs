//! The sandbox as card issuer (issue 10, docs/sandbox.md "Cards"): which test card numbers approve, challenge or
//! decline, the AVS and CVV letters, and the 3DS results. Pure functions of the card and the request's flags;
//! the card number is read here once and only a [`CardProfile`] (brand, BIN, last four, expiry, table row) is
//! kept.

use chrono::{DateTime, Datelike as _, Utc};

use crate::codes::{self, Code};

/// A declined authorization: the result code and the issuer's raw refusal code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decline {
    /// `result.resultCode`.
    pub code: Code,
    /// `paymentResultInfo.refusalCodeRaw`.
    pub refusal_code: &'static str,
    /// `paymentResultInfo.refusalReasonRaw`.
    pub refusal_reason: &'static str,
}

const fn decline(code: Code, refusal_code: &'static str, refusal_reason: &'static str) -> Decline {
    Decline {
        code,
        refusal_code,
        refusal_reason,
    }
}

/// A row of the card table: what the issuer does with a card, whatever the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Approved; frictionless 3DS if asked.
    Approve,
    /// 4000000000003063: a challenge when 3DS is asked, else approved.
    ChallengeWhenAsked,
    /// 4000000000003220: a challenge when 3DS is asked or an upgrade allowed, else AUTHENTICATION_REQUIRED.
    ChallengeRequired,
    /// Declined with this code.
    Decline(Decline),
}

/// The numbers of the card table (docs/sandbox.md "Cards"): the approving brands, then every number with a behaviour
/// of its own. Tests send these and then search stores and logs for them, so a test card is never written down twice.
pub const TEST_CARDS: [&str; 11] = [
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "4000000000003063",
    "4000000000003220",
    "4000000000000002",
    "4000000000009995",
    "4000000000000069",
    "4000000000000127",
    "4100000000000019",
    "6200000000000005",
];

/// The card table, keyed by card number (every other number that passes Luhn is approved).
fn behaviour(card_no: &str) -> Behaviour {
    match card_no {
        "4000000000003063" => Behaviour::ChallengeWhenAsked,
        "4000000000003220" => Behaviour::ChallengeRequired,
        "4000000000000002" => {
            Behaviour::Decline(decline(codes::DO_NOT_HONOR, "05", "Do not honor"))
        }
        "4000000000009995" => Behaviour::Decline(decline(
            codes::USER_BALANCE_NOT_ENOUGH,
            "51",
            "Insufficient funds",
        )),
        "4000000000000069" => {
            Behaviour::Decline(decline(codes::CARD_EXPIRED, "54", "Expired card"))
        }
        "4000000000000127" => Behaviour::Decline(decline(codes::INVALID_CVV, "N7", "CVV mismatch")),
        "4100000000000019" => {
            Behaviour::Decline(decline(codes::FRAUD_REJECT, "59", "Suspected fraud"))
        }
        "6200000000000005" => Behaviour::Decline(decline(
            codes::CARD_NOT_SUPPORTED,
            "57",
            "Transaction not permitted to cardholder",
        )),
        _ => Behaviour::Approve,
    }
}

/// What the sandbox keeps of a card: never the number or the CVV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProfile {
    /// VISA, MASTERCARD, AMEX, …
    pub brand: &'static str,
    /// The first six digits.
    pub bin: String,
    /// The last four digits.
    pub last_four: String,
    /// `MM`, when given.
    pub expiry_month: Option<String>,
    /// `YY`, when given.
    pub expiry_year: Option<String>,
    /// Its row of the card table.
    pub behaviour: Behaviour,
}

impl CardProfile {
    /// The number as Alipay masks it: BIN, stars, last four.
    pub fn masked(&self) -> String {
        format!("{}******{}", self.bin, self.last_four)
    }

    /// ECI of a successful authentication: 05 for VISA, 02 otherwise.
    fn authenticated_eci(&self) -> &'static str {
        if self.brand == "VISA" { "05" } else { "02" }
    }

    /// ECI of a failed or cancelled authentication: 07 for VISA, 00 otherwise.
    fn unauthenticated_eci(&self) -> &'static str {
        if self.brand == "VISA" { "07" } else { "00" }
    }
}

/// The card data a buyer or merchant presented, borrowed for the one decision that needs it.
#[derive(Debug, Clone, Copy)]
pub struct PresentedCard<'a> {
    /// The card number.
    pub card_no: &'a str,
    /// The CVV, if any.
    pub cvv: Option<&'a str>,
    /// `MM`.
    pub expiry_month: Option<&'a str>,
    /// `YY`.
    pub expiry_year: Option<&'a str>,
    /// Whether a billing address came with it, and its postal code.
    pub billing_zip: Option<Option<&'a str>>,
}

/// Brand by the number's prefix.
fn brand(card_no: &str) -> &'static str {
    let prefix = |n: usize| card_no.get(..n).and_then(|p| p.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), ..) => "VISA",
        (_, Some(34 | 37), _) => "AMEX",
        (_, Some(51..=55), _) | (.., Some(2221..=2720)) => "MASTERCARD",
        (_, Some(62), _) => "CUP",
        (_, Some(35), _) => "JCB",
        (_, Some(65), _) | (.., Some(6011)) => "DISCOVER",
        (_, Some(30 | 36 | 38), _) => "DINERS",
        _ => "UNKNOWN",
    }
}

/// The Luhn check over 12 to 19 digits.
pub fn luhn_valid(card_no: &str) -> bool {
    if !(12..=19).contains(&card_no.len()) || !card_no.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = card_no
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `true` when `MM`/`YY` is a month 01–12 of a two-digit year.
fn expiry_well_formed(month: &str, year: &str) -> bool {
    month.len() == 2
        && year.len() == 2
        && month.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && year.bytes().all(|b| b.is_ascii_digit())
}

/// `true` when the card's last valid month is before `now`'s.
fn expired(month: &str, year: &str, now: DateTime<Utc>) -> bool {
    let (Ok(month), Ok(year)) = (month.parse::<i32>(), year.parse::<i32>()) else {
        return false;
    };
    (2000 + year, month) < (now.year(), i32::try_from(now.month()).unwrap_or(12))
}

/// Reads a presented card: its profile, or the decline an issuer gives a number or expiry it cannot use.
pub fn profile(card: &PresentedCard<'_>, now: DateTime<Utc>) -> Result<CardProfile, Decline> {
    if !luhn_valid(card.card_no) {
        return Err(decline(
            codes::INVALID_CARD_NUMBER,
            "14",
            "Invalid card number",
        ));
    }
    if let (Some(month), Some(year)) = (card.expiry_month, card.expiry_year) {
        if !expiry_well_formed(month, year) {
            return Err(decline(
                codes::INVALID_EXPIRATION_DATE,
                "54",
                "Invalid expiry date",
            ));
        }
        if expired(month, year, now) {
            return Err(decline(codes::CARD_EXPIRED, "54", "Expired card"));
        }
    }
    let len = card.card_no.len();
    Ok(CardProfile {
        brand: brand(card.card_no),
        bin: card.card_no[..6].to_owned(),
        last_four: card.card_no[len - 4..].to_owned(),
        expiry_month: card.expiry_month.map(str::to_owned),
        expiry_year: card.expiry_year.map(str::to_owned),
        behaviour: behaviour(card.card_no),
    })
}

/// `avsResultRaw` by billing postal code: 99990 N, 99991 A, 99992 Z, 99993 U, 99994 R, otherwise Y; no address,
/// no code.
pub fn avs_result(billing_zip: Option<Option<&str>>) -> Option<&'static str> {
    let zip = billing_zip?;
    Some(match zip.map(str::trim) {
        Some("99990") => "N",
        Some("99991") => "A",
        Some("99992") => "Z",
        Some("99993") => "U",
        Some("99994") => "R",
        _ => "Y",
    })
}

/// A CVV the issuer can check: 3 or 4 digits.
pub fn cvv_well_formed(cvv: &str) -> bool {
    (3..=4).contains(&cvv.len()) && cvv.bytes().all(|b| b.is_ascii_digit())
}

/// `cvvResultRaw`: "000" gives N, any other CVV Y; no CVV, no code.
pub fn cvv_result(cvv: Option<&str>) -> Option<&'static str> {
    cvv.map(|cvv| if cvv == "000" { "N" } else { "Y" })
}

/// How the charge asks to be authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Authentication {
    /// `is3DSAuthentication`.
    pub requested: bool,
    /// `enableAuthenticationUpgrade`.
    pub upgrade: bool,
    /// A merchant-initiated stored-card charge (`recurringType`): no cardholder, no 3DS.
    pub merchant_initiated: bool,
    /// `mpiData`: the merchant authenticated the cardholder already.
    pub external: bool,
}

/// The issuer's answer before any challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approved, with a frictionless 3DS result when 3DS was asked.
    Approve(Option<ThreeDs>),
    /// The cardholder must pass the 3DS challenge page.
    Challenge,
    /// Declined.
    Decline(Decline),
}

/// Decides a card charge.
pub fn decide(card: &CardProfile, auth: Authentication) -> Decision {
    let skip_challenge = auth.merchant_initiated || auth.external;
    let frictionless = (auth.requested && !skip_challenge).then(|| ThreeDs::frictionless(card));
    match card.behaviour {
        Behaviour::Decline(decline) => Decision::Decline(decline),
        Behaviour::Approve => Decision::Approve(frictionless),
        _ if skip_challenge => Decision::Approve(None),
        Behaviour::ChallengeWhenAsked if auth.requested => Decision::Challenge,
        Behaviour::ChallengeWhenAsked => Decision::Approve(None),
        Behaviour::ChallengeRequired if auth.requested || auth.upgrade => Decision::Challenge,
        Behaviour::ChallengeRequired => Decision::Decline(decline(
            codes::AUTHENTICATION_REQUIRED,
            "1A",
            "Additional customer authentication required",
        )),
    }
}

/// The buyer's answer on the 3DS page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeAnswer {
    /// OTP 1234.
    Passed,
    /// Another OTP.
    Failed,
    /// The Cancel button.
    Cancelled,
}

/// The one-time password the 3DS page accepts.
pub const CHALLENGE_OTP: &str = "1234";

/// A `threeDSResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreeDs {
    /// ECI.
    pub eci: &'static str,
    /// Whether the cardholder was challenged.
    pub challenged: bool,
    /// Whether authentication succeeded (a CAVV is issued).
    pub authenticated: bool,
    /// `challengeCancel`, when the cardholder cancelled.
    pub challenge_cancel: Option<&'static str>,
}

impl ThreeDs {
    fn frictionless(card: &CardProfile) -> Self {
        Self {
            eci: card.authenticated_eci(),
            challenged: false,
            authenticated: true,
            challenge_cancel: None,
        }
    }

    /// The result of a challenge.
    pub fn challenged(card: &CardProfile, answer: ChallengeAnswer) -> Self {
        match answer {
            ChallengeAnswer::Passed => Self {
                eci: card.authenticated_eci(),
                challenged: true,
                authenticated: true,
                challenge_cancel: None,
            },
            ChallengeAnswer::Failed | ChallengeAnswer::Cancelled => Self {
                eci: card.unauthenticated_eci(),
                challenged: true,
                authenticated: false,
                challenge_cancel: (answer == ChallengeAnswer::Cancelled).then_some("01"),
            },
        }
    }
}

/// The decline of a failed or cancelled challenge.
pub const CHALLENGE_FAILED: Decline = decline(
    codes::USER_PAYMENT_VERIFICATION_FAILED,
    "N0",
    "Cardholder authentication failed",
);

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn card(card_no: &str) -> PresentedCard<'_> {
        PresentedCard {
            card_no,
            cvv: Some("123"),
            expiry_month: Some("12"),
            expiry_year: Some("30"),
            billing_zip: None,
        }
    }

    #[test]
    fn every_table_number_passes_luhn_and_altered_ones_fail() {
        for number in TEST_CARDS.into_iter().chain(["4242424242424242"]) {
            assert!(luhn_valid(number), "{number}");
            let mut altered = number.as_bytes().to_vec();
            altered[3] = if altered[3] == b'9' {
                b'0'
            } else {
                altered[3] + 1
            };
            assert!(!luhn_valid(std::str::from_utf8(&altered).unwrap()));
        }
        assert!(!luhn_valid("41111111111"));
        assert!(!luhn_valid("4111 1111 1111 1111"));
        assert_eq!(
            profile(&card("4111111111111112"), now()).unwrap_err().code,
            codes::INVALID_CARD_NUMBER
        );
    }

    #[test]
    fn brands_and_masks() {
        let brands: Vec<_> = TEST_CARDS[..3]
            .iter()
            .map(|n| profile(&card(n), now()).unwrap().brand)
            .collect();
        assert_eq!(brands, ["VISA", "MASTERCARD", "AMEX"]);
        let amex = profile(&card("378282246310005"), now()).unwrap();
        assert_eq!(amex.masked(), "378282******0005");
    }

    #[test]
    fn the_table_decides_by_number_and_flags() {
        let asked = Authentication {
            requested: true,
            ..Authentication::default()
        };
        let upgrade = Authentication {
            upgrade: true,
            ..Authentication::default()
        };
        let mit = Authentication {
            requested: true,
            merchant_initiated: true,
            ..Authentication::default()
        };
        let plain = Authentication::default();
        let decide_for = |n: &str, a| decide(&profile(&card(n), now()).unwrap(), a);
        assert!(matches!(
            decide_for("4111111111111111", asked),
            Decision::Approve(Some(ThreeDs {
                eci: "05",
                challenged: false,
                ..
            }))
        ));
        assert!(matches!(
            decide_for("5555555555554444", asked),
            Decision::Approve(Some(ThreeDs { eci: "02", .. }))
        ));
        assert_eq!(
            decide_for("4111111111111111", plain),
            Decision::Approve(None)
        );
        assert_eq!(decide_for("4000000000003063", asked), Decision::Challenge);
        assert_eq!(
            decide_for("4000000000003063", upgrade),
            Decision::Approve(None)
        );
        assert_eq!(decide_for("4000000000003220", upgrade), Decision::Challenge);
        assert_eq!(decide_for("4000000000003220", mit), Decision::Approve(None));
        assert!(matches!(
            decide_for("4000000000003220", plain),
            Decision::Decline(Decline {
                code: codes::AUTHENTICATION_REQUIRED,
                ..
            })
        ));
        for (number, code, refusal) in [
            ("4000000000000002", codes::DO_NOT_HONOR, "05"),
            ("4000000000009995", codes::USER_BALANCE_NOT_ENOUGH, "51"),
            ("4000000000000069", codes::CARD_EXPIRED, "54"),
            ("4000000000000127", codes::INVALID_CVV, "N7"),
            ("4100000000000019", codes::FRAUD_REJECT, "59"),
            ("6200000000000005", codes::CARD_NOT_SUPPORTED, "57"),
        ] {
            assert_eq!(
                decide_for(number, mit),
                Decision::Decline(Decline {
                    code,
                    refusal_code: refusal,
                    refusal_reason: match decide_for(number, plain) {
                        Decision::Decline(d) => d.refusal_reason,
                        other => panic!("{number}: {other:?}"),
                    }
                }),
                "{number}"
            );
        }
    }

    #[test]
    fn expiry_is_checked_against_the_clock() {
        let mut past = card("4111111111111111");
        past.expiry_year = Some("26");
        past.expiry_month = Some("11");
        assert_eq!(profile(&past, now()).unwrap_err().code, codes::CARD_EXPIRED);
        past.expiry_month = Some("12");
        assert!(profile(&past, now()).is_ok(), "valid through its month");
        past.expiry_month = Some("13");
        assert_eq!(
            profile(&past, now()).unwrap_err().code,
            codes::INVALID_EXPIRATION_DATE
        );
    }

    #[test]
    fn avs_and_cvv_letters() {
        for (zip, letter) in [
            ("99990", "N"),
            ("99991", "A"),
            ("99992", "Z"),
            ("99993", "U"),
            ("99994", "R"),
            ("10001", "Y"),
        ] {
            assert_eq!(avs_result(Some(Some(zip))), Some(letter));
        }
        assert_eq!(avs_result(Some(None)), Some("Y"));
        assert_eq!(avs_result(None), None);
        assert_eq!(cvv_result(Some("000")), Some("N"));
        assert_eq!(cvv_result(Some("123")), Some("Y"));
        assert_eq!(cvv_result(None), None);
    }

    #[test]
    fn challenge_results() {
        let visa = profile(&card("4000000000003220"), now()).unwrap();
        let passed = ThreeDs::challenged(&visa, ChallengeAnswer::Passed);
        assert_eq!(
            (passed.eci, passed.challenged, passed.authenticated),
            ("05", true, true)
        );
        let cancelled = ThreeDs::challenged(&visa, ChallengeAnswer::Cancelled);
        assert_eq!(cancelled.challenge_cancel, Some("01"));
        assert!(!cancelled.authenticated);
        assert_eq!(
            ThreeDs::challenged(&visa, ChallengeAnswer::Failed).challenge_cancel,
            None
        );
    }
}
