//! The `card_void_on` policy (issue 10 "Mapping"): which AVS / CVV verdicts make the gateway void a MANUAL card
//! authorization Alipay approved. The issuer approves on its own rules; a merchant that will not ship to a
//! buyer whose address or CVV did not match voids at once, so the funds are released rather than held until
//! the authorization expires. Verdicts, not raw letters, are named, so one rule reads the same for every scheme.

use std::fmt;

use alipay::model::{AvsCheck, CvvCheck};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as DeError, StrDeserializer};

/// The verdicts that void an approved MANUAL authorization; empty (the default) voids nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardVoidPolicy {
    avs: Vec<AvsCheck>,
    cvv: Vec<CvvCheck>,
}

/// Why the policy voided an authorization: the code the voided payment reports (`Payment.last_alipay_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidReason {
    /// The AVS verdict is one the policy names.
    AvsRejected,
    /// The CVV verdict is one the policy names.
    CvvRejected,
}

impl VoidReason {
    /// The stable code: `AVS_REJECTED` or `CVV_REJECTED`.
    pub fn code(self) -> &'static str {
        match self {
            Self::AvsRejected => "AVS_REJECTED",
            Self::CvvRejected => "CVV_REJECTED",
        }
    }
}

impl VoidReason {
    /// The reason whose [`Self::code`] is `code` (how a planned void's job names it).
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::AvsRejected, Self::CvvRejected]
            .into_iter()
            .find(|reason| reason.code() == code)
    }
}

impl fmt::Display for VoidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl CardVoidPolicy {
    /// Parses `avs:NO_MATCH,cvv:NO_MATCH`: comma-separated `avs:` or `cvv:` rules, each naming one verdict
    /// (AVS: MATCH, PARTIAL, NO_MATCH, NOT_CHECKED, ERROR; CVV: MATCH, NO_MATCH, NOT_CHECKED). Empty is no rule.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut policy = Self::default();
        for rule in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (check, verdict) = rule
                .split_once(':')
                .map(|(c, v)| (c.trim().to_ascii_lowercase(), v.trim().to_ascii_uppercase()))
                .ok_or_else(|| format!("{rule:?} is not `avs:VERDICT` or `cvv:VERDICT`"))?;
            match check.as_str() {
                "avs" => policy.avs.push(verdict_of(&verdict, "AVS")?),
                "cvv" => policy.cvv.push(verdict_of(&verdict, "CVV")?),
                other => return Err(format!("{other:?} is neither avs nor cvv")),
            }
        }
        Ok(policy)
    }

    /// The reason to void an approved authorization with these raw codes, if the policy names their verdict
    /// (AVS is looked at first).
    pub fn reason(&self, avs_raw: Option<&str>, cvv_raw: Option<&str>) -> Option<VoidReason> {
        if self.avs.contains(&AvsCheck::from_raw(avs_raw)) {
            Some(VoidReason::AvsRejected)
        } else if self.cvv.contains(&CvvCheck::from_raw(cvv_raw)) {
            Some(VoidReason::CvvRejected)
        } else {
            None
        }
    }

    /// Whether the policy voids nothing.
    pub fn is_empty(&self) -> bool {
        self.avs.is_empty() && self.cvv.is_empty()
    }
}

/// One verdict by its contract name (`NO_MATCH`), through the enum's own serde spelling.
fn verdict_of<'de, T: Deserialize<'de>>(name: &'de str, check: &str) -> Result<T, String> {
    let deserializer: StrDeserializer<'de, DeError> = name.into_deserializer();
    T::deserialize(deserializer).map_err(|_| format!("{name:?} is not an {check} verdict"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_verdicts_and_avs_comes_first() {
        let policy = CardVoidPolicy::parse(" avs:no_match , CVV:NO_MATCH").unwrap_or_default();
        assert_eq!(
            policy.reason(Some("N"), Some("N")),
            Some(VoidReason::AvsRejected)
        );
        assert_eq!(
            policy.reason(Some("Y"), Some("N")),
            Some(VoidReason::CvvRejected)
        );
        assert_eq!(policy.reason(Some("A"), Some("M")), None);
        assert_eq!(policy.reason(None, None), None);
    }

    #[test]
    fn empty_is_off_and_bad_rules_are_named() {
        assert!(CardVoidPolicy::parse("").is_ok_and(|p| p.is_empty()));
        for bad in ["avs", "avs:NOPE", "zip:NO_MATCH", "cvv:PARTIAL"] {
            assert!(CardVoidPolicy::parse(bad).is_err(), "{bad}");
        }
    }
}
