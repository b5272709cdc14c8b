//! Card facts in answers and notifications (reference §3.3, §3.4, §3.9): `paymentResultInfo` of pay,
//! inquiryPayment and notifyPayment, and inquiryPayment's `cardInfo`. The cardholder name and the CAVV are
//! typed so `Debug` hides them; the card number here is Alipay's masked one, and `Debug` still shows only its
//! last four digits in case a source ever sends it in full.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::card::ThreeDSAuthentication;
use super::card_checks::{AvsCheck, CvvCheck};
use super::common::Secret;
use super::serde_helpers::{opt_bool, opt_string_or_number};

/// `threeDSResult`, with the key spellings of the SDKs' typed models (reference §3.9), which differ from the
/// older §3.3 list: `threeDStransactionStatusReason` has a lower-case `t`, and `challengeCancel` is a code, not a
/// boolean.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDSResult {
    /// Version, ECI, CAVV and directory-server transaction id (the keys `mpiData` has too).
    #[serde(flatten)]
    pub authentication: ThreeDSAuthentication,
    /// Transaction id (3DS 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid: Option<String>,
    /// Why the ACS answered as it did. The wire key has a lower-case `t`; the upper-case spelling of older
    /// documents is accepted on input.
    #[serde(
        rename = "threeDStransactionStatusReason",
        alias = "threeDSTransactionStatusReason",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub three_ds_transaction_status_reason: Option<String>,
    /// Why a challenge ended unfinished: `01` cardholder cancelled, `02` requestor cancelled, `03` abandoned,
    /// `04`/`05` ACS timeout, `06` error, `07` unknown, `08` SDK timeout. A string code; numbers are accepted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub challenge_cancel: Option<String>,
    /// Whether the cardholder was challenged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub challenged: Option<bool>,
    /// Whether 3DS was offered for the card.
    #[serde(
        rename = "threeDSOffered",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub three_ds_offered: Option<bool>,
    /// `dataOnly`, `lowValue` or `transactionRiskAnalysis` (kept verbatim: the list may grow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_type: Option<String>,
}

impl fmt::Debug for ThreeDSResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreeDSResult")
            .field("authentication", &self.authentication)
            .field("xid", &self.xid)
            .field(
                "three_ds_transaction_status_reason",
                &self.three_ds_transaction_status_reason,
            )
            .field("challenge_cancel", &self.challenge_cancel)
            .field("challenged", &self.challenged)
            .field("three_ds_offered", &self.three_ds_offered)
            .field("exemption_type", &self.exemption_type)
            .finish()
    }
}

/// Card result details: `paymentResultInfo` (pay, inquiryPayment, notifyPayment) and `cardInfo` (inquiryPayment,
/// and notifyPayment per one source). Unknown keys are ignored, so a new Alipay field never costs a result.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResultInfo {
    /// Token of the stored card (≤2048): a credential, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_token: Option<Secret>,
    /// Card number as Alipay masks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_no: Option<String>,
    /// Brand: VISA, MASTERCARD, AMEX, JCB, DINERS, DISCOVER, CUP, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_brand: Option<String>,
    /// BIN (first digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_bin: Option<String>,
    /// Last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_month: Option<String>,
    /// Expiry year, `YY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_year: Option<String>,
    /// Issuing bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// Issuing country (ISO alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_country: Option<String>,
    /// CREDIT, DEBIT, PREPAID, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<String>,
    /// Card category (consumer, commercial, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_category: Option<String>,
    /// Region of the payment method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_region: Option<String>,
    /// Cardholder name (a plain string ≤64 here): personal data, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<Secret>,
    /// Raw AVS letter; see [`PaymentResultInfo::avs_check`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_result_raw: Option<String>,
    /// Raw CVV letter; see [`PaymentResultInfo::cvv_check`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv_result_raw: Option<String>,
    /// Scheme transaction id (≤256): chains later merchant-initiated charges to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_transaction_id: Option<String>,
    /// 3DS outcome.
    #[serde(
        rename = "threeDSResult",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub three_ds_result: Option<ThreeDSResult>,
    /// The issuer's raw refusal code (e.g. `05`, `51`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub refusal_code_raw: Option<String>,
    /// The issuer's raw refusal reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_reason_raw: Option<String>,
    /// Scheme advice on retrying a refused charge.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub merchant_advice_code: Option<String>,
    /// Issuer authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
    /// Retrieval reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    /// PAN or NETWORK_TOKEN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type_used: Option<String>,
    /// The SCA exemption asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_requested: Option<String>,
}

impl PaymentResultInfo {
    /// The AVS verdict of [`Self::avs_result_raw`] (NOT_CHECKED when absent).
    pub fn avs_check(&self) -> AvsCheck {
        AvsCheck::from_raw(self.avs_result_raw.as_deref())
    }

    /// The CVV verdict of [`Self::cvv_result_raw`] (NOT_CHECKED when absent).
    pub fn cvv_check(&self) -> CvvCheck {
        CvvCheck::from_raw(self.cvv_result_raw.as_deref())
    }

    /// The card facts of an answer that may carry them in `paymentResultInfo`, `cardInfo` or both (sources
    /// disagree on which; reference §3.9): `primary`'s fields win, `secondary` fills the gaps, `threeDSResult`
    /// key by key. `None` when neither is present.
    pub fn merged(primary: Option<&Self>, secondary: Option<&Self>) -> Option<Self> {
        match (primary, secondary) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (Some(primary), Some(secondary)) => {
                let (Ok(mut merged), Ok(fill)) = (
                    serde_json::to_value(primary),
                    serde_json::to_value(secondary),
                ) else {
                    return Some(primary.clone());
                };
                fill_gaps(&mut merged, fill);
                Some(serde_json::from_value(merged).unwrap_or_else(|_| primary.clone()))
            }
        }
    }
}

/// Copies every key of `fill` that `target` lacks, recursing into objects both have.
fn fill_gaps(target: &mut serde_json::Value, fill: serde_json::Value) {
    let (serde_json::Value::Object(target), serde_json::Value::Object(fill)) = (target, fill)
    else {
        return;
    };
    for (key, value) in fill {
        match target.get_mut(&key) {
            Some(existing) => fill_gaps(existing, value),
            None => {
                target.insert(key, value);
            }
        }
    }
}

/// Shows only the last four digits of a card number, whatever form it came in.
fn masked(card_no: &str) -> String {
    let digits: Vec<char> = card_no.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

impl fmt::Debug for PaymentResultInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentResultInfo")
            .field("card_token", &self.card_token)
            .field("card_no", &self.card_no.as_deref().map(masked))
            .field("card_brand", &self.card_brand)
            .field("last_four", &self.last_four)
            .field("expiry_month", &self.expiry_month)
            .field("expiry_year", &self.expiry_year)
            .field("issuer_name", &self.issuer_name)
            .field("issuing_country", &self.issuing_country)
            .field("funding", &self.funding)
            .field("card_category", &self.card_category)
            .field("cardholder_name", &self.cardholder_name)
            .field("avs_result_raw", &self.avs_result_raw)
            .field("cvv_result_raw", &self.cvv_result_raw)
            .field("network_transaction_id", &self.network_transaction_id)
            .field("three_ds_result", &self.three_ds_result)
            .field("refusal_code_raw", &self.refusal_code_raw)
            .field("refusal_reason_raw", &self.refusal_reason_raw)
            .field("merchant_advice_code", &self.merchant_advice_code)
            .field("authorization_code", &self.authorization_code)
            .field("rrn", &self.rrn)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pay answer's `paymentResultInfo` in the shape of seed 003's sample and the SDKs' models, with the
    /// corrected `cavv` key (reference §3.9).
    const SAMPLE: &str = r#"{
        "cardToken": "ALIPAY9CGwsAeMBug+G2dSKDV6AIsNKTxAFNkOMoj8Gxvt8h0eDUbd6nO5CwMFIjEFERWxCAo/b1OjVTvtl1zspyMGcg==",
        "cardNo": "************8764",
        "cardBrand": "VISA",
        "cardBin": "411111",
        "lastFour": "8764",
        "expiryMonth": "12",
        "expiryYear": "29",
        "issuerName": "Sandbox Bank",
        "issuingCountry": "US",
        "funding": "CREDIT",
        "cardCategory": "CONSUMER",
        "cardholderName": "Jane Roe",
        "avsResultRaw": "A",
        "cvvResultRaw": "Y",
        "networkTransactionId": "123456789012345",
        "threeDSResult": {
            "threeDSVersion": "2.2.0",
            "eci": "05",
            "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=",
            "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b",
            "threeDStransactionStatusReason": "01",
            "challengeCancel": "01",
            "challenged": true,
            "threeDSOffered": "true",
            "exemptionType": "lowValue"
        },
        "refusalCodeRaw": "05",
        "refusalReasonRaw": "Do not honor",
        "merchantAdviceCode": "03",
        "authorizationCode": "A1B2C3",
        "rrn": "000123456789",
        "someFutureField": {"x": 1}
    }"#;

    #[test]
    fn every_field_of_the_sample_is_typed_and_round_trips() {
        let info: PaymentResultInfo = serde_json::from_str(SAMPLE).unwrap();
        let three_ds = info.three_ds_result.clone().unwrap();
        assert_eq!(
            three_ds.authentication.three_ds_version.as_deref(),
            Some("2.2.0")
        );
        assert_eq!(
            three_ds.authentication.cavv.as_ref().map(Secret::expose),
            Some("AAABBEg0VhI0VniQEjRWAAAAAAA=")
        );
        assert_eq!(three_ds.challenge_cancel.as_deref(), Some("01"));
        assert_eq!(three_ds.three_ds_offered, Some(true));
        assert_eq!(
            three_ds.three_ds_transaction_status_reason.as_deref(),
            Some("01")
        );
        assert_eq!(info.expiry_month.as_deref(), Some("12"));
        assert_eq!(info.merchant_advice_code.as_deref(), Some("03"));
        assert_eq!(info.rrn.as_deref(), Some("000123456789"));
        assert_eq!(info.avs_check(), AvsCheck::Partial);
        assert_eq!(info.cvv_check(), CvvCheck::Match);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json["threeDSResult"]["threeDStransactionStatusReason"],
            "01"
        );
        assert_eq!(json["threeDSResult"]["threeDSOffered"], true);
        assert!(json.get("someFutureField").is_none());
        let back: PaymentResultInfo = serde_json::from_value(json).unwrap();
        assert_eq!(back, info);
    }

    #[test]
    fn older_spellings_and_numeric_codes_are_accepted() {
        let three_ds: ThreeDSResult = serde_json::from_str(
            r#"{"threeDSTransactionStatusReason":"11","challengeCancel":4,"challenged":"false"}"#,
        )
        .unwrap();
        assert_eq!(
            three_ds.three_ds_transaction_status_reason.as_deref(),
            Some("11")
        );
        assert_eq!(three_ds.challenge_cancel.as_deref(), Some("4"));
        assert_eq!(three_ds.challenged, Some(false));
    }

    #[test]
    fn debug_hides_token_name_cavv_and_all_but_four_digits() {
        let mut info: PaymentResultInfo = serde_json::from_str(SAMPLE).unwrap();
        info.card_no = Some("4111111111118764".into());
        let debug = format!("{info:?}");
        for secret in [
            "ALIPAY9CGwsAeMBug",
            "Jane Roe",
            "AAABBEg0VhI0VniQEjRWAAAAAAA=",
            "4111111111118764",
            "411111",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("****8764"));
        assert!(debug.contains("\"05\""));
    }

    #[test]
    fn merged_prefers_the_primary_and_fills_gaps_from_the_other() {
        let result: PaymentResultInfo = serde_json::from_str(
            r#"{"cardBrand":"VISA","avsResultRaw":"Y","threeDSResult":{"eci":"05"}}"#,
        )
        .unwrap();
        let card_info: PaymentResultInfo = serde_json::from_str(
            r#"{"cardBrand":"MASTERCARD","cardToken":"tok","threeDSResult":{"eci":"02","threeDSVersion":"2.2.0"}}"#,
        )
        .unwrap();
        let merged = PaymentResultInfo::merged(Some(&result), Some(&card_info)).unwrap();
        assert_eq!(merged.card_brand.as_deref(), Some("VISA"));
        assert_eq!(merged.card_token.as_ref().map(Secret::expose), Some("tok"));
        let three_ds = merged.three_ds_result.unwrap();
        assert_eq!(three_ds.authentication.eci.as_deref(), Some("05"));
        assert_eq!(
            three_ds.authentication.three_ds_version.as_deref(),
            Some("2.2.0")
        );
        assert_eq!(
            PaymentResultInfo::merged(None, Some(&card_info)),
            Some(card_info)
        );
        assert_eq!(PaymentResultInfo::merged(None, None), None);
    }
}
