//! AVS and CVV verdicts from Alipay's raw letters (issue 10 "Mapping"). The raw codes are kept verbatim next to
//! the verdict everywhere; the verdict exists so a policy ("void on AVS NO_MATCH") reads the same for every
//! scheme's letters. Unknown letters are NOT_CHECKED: a policy must not act on a code it does not understand.

use serde::{Deserialize, Serialize};

/// The address verification verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AvsCheck {
    /// Street and postal code match: `Y`, `X`, `D`, `F`, `M`.
    Match,
    /// One of street or postal code matches: `A`, `B`, `W`, `Z`, `P`.
    Partial,
    /// Neither matches: `N`.
    NoMatch,
    /// Not checked, unavailable or unknown (`U`, `S`, `G`, `C`, absent, anything else).
    NotChecked,
    /// The issuer's system failed: `E`, `R`.
    Error,
}

impl AvsCheck {
    /// The verdict for a raw `avsResultRaw` (case-insensitive; surrounding spaces ignored).
    pub fn from_raw(raw: Option<&str>) -> Self {
        match raw.map(|r| r.trim().to_ascii_uppercase()).as_deref() {
            Some("Y" | "X" | "D" | "F" | "M") => Self::Match,
            Some("A" | "B" | "W" | "Z" | "P") => Self::Partial,
            Some("N") => Self::NoMatch,
            Some("E" | "R") => Self::Error,
            _ => Self::NotChecked,
        }
    }
}

/// The card verification value verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CvvCheck {
    /// `M`, `Y`.
    Match,
    /// `N`.
    NoMatch,
    /// Anything else, or absent.
    NotChecked,
}

impl CvvCheck {
    /// The verdict for a raw `cvvResultRaw` (case-insensitive; surrounding spaces ignored).
    pub fn from_raw(raw: Option<&str>) -> Self {
        match raw.map(|r| r.trim().to_ascii_uppercase()).as_deref() {
            Some("M" | "Y") => Self::Match,
            Some("N") => Self::NoMatch,
            _ => Self::NotChecked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avs_letters_map_as_the_issue_says() {
        let table = [
            ("Y", AvsCheck::Match),
            ("X", AvsCheck::Match),
            ("D", AvsCheck::Match),
            ("F", AvsCheck::Match),
            ("M", AvsCheck::Match),
            ("A", AvsCheck::Partial),
            ("B", AvsCheck::Partial),
            ("W", AvsCheck::Partial),
            ("Z", AvsCheck::Partial),
            ("P", AvsCheck::Partial),
            ("N", AvsCheck::NoMatch),
            ("E", AvsCheck::Error),
            ("R", AvsCheck::Error),
            ("U", AvsCheck::NotChecked),
            ("S", AvsCheck::NotChecked),
            ("G", AvsCheck::NotChecked),
            ("C", AvsCheck::NotChecked),
            ("", AvsCheck::NotChecked),
            ("YY", AvsCheck::NotChecked),
            (" n ", AvsCheck::NoMatch),
            ("y", AvsCheck::Match),
        ];
        for (raw, verdict) in table {
            assert_eq!(AvsCheck::from_raw(Some(raw)), verdict, "{raw:?}");
        }
        assert_eq!(AvsCheck::from_raw(None), AvsCheck::NotChecked);
    }

    #[test]
    fn cvv_letters_map_as_the_issue_says() {
        for (raw, verdict) in [
            ("M", CvvCheck::Match),
            ("Y", CvvCheck::Match),
            ("N", CvvCheck::NoMatch),
            ("P", CvvCheck::NotChecked),
            ("U", CvvCheck::NotChecked),
            ("E", CvvCheck::NotChecked),
            ("m", CvvCheck::Match),
        ] {
            assert_eq!(CvvCheck::from_raw(Some(raw)), verdict, "{raw:?}");
        }
        assert_eq!(CvvCheck::from_raw(None), CvvCheck::NotChecked);
    }

    #[test]
    fn verdicts_serialise_like_the_proto_enums() {
        assert_eq!(
            serde_json::to_string(&AvsCheck::NoMatch).unwrap(),
            "\"NO_MATCH\""
        );
        assert_eq!(
            serde_json::to_string(&CvvCheck::NotChecked).unwrap(),
            "\"NOT_CHECKED\""
        );
    }
}
