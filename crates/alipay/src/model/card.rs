//! Card data for server-to-server card payments (reference §3.2, corrected by §3.9). PAN, CVV and cardholder data are typed so
//! `Debug` can redact them: they must never reach logs, traces or error messages.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::{Address, Secret, UserName};
use super::serde_helpers::opt_bool;

/// A primary account number. `Debug` shows only the last four digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardNumber(String);

impl CardNumber {
    /// Wraps a PAN.
    pub fn new(pan: impl Into<String>) -> Self {
        Self(pan.into())
    }

    /// The PAN itself, for sending.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four digits (or nothing for implausibly short input).
    pub fn last4(&self) -> &str {
        let len = self.0.len();
        if len >= 8 && self.0.is_char_boundary(len - 4) {
            &self.0[len - 4..]
        } else {
            ""
        }
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

/// Record type of a merchant-initiated transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecurringType {
    /// Scheduled MIT.
    Scheduled,
    /// Unscheduled MIT.
    Unscheduled,
}

/// The values a 3-D Secure authentication produces: sent as `mpiData` when the merchant's own MPI ran 3DS, and
/// the core of every `threeDSResult` Alipay returns (see `ThreeDSResult`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDSAuthentication {
    /// 3DS version (1.0.2 / 2.1.0 / 2.2.0). The wire key is `threeDSVersion` (camel case would say `threeDs`).
    #[serde(
        rename = "threeDSVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub three_ds_version: Option<String>,
    /// ECI: 02/05 authenticated, 01/06 attempted, 00/07 not authenticated, 04 data only (Mastercard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eci: Option<String>,
    /// Cardholder authentication value (≤64): proof of authentication, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cavv: Option<Secret>,
    /// Directory-server transaction id (3DS 2, ≤64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ds_transaction_id: Option<String>,
}

impl fmt::Debug for ThreeDSAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreeDSAuthentication")
            .field("three_ds_version", &self.three_ds_version)
            .field("eci", &self.eci)
            .field("cavv", &self.cavv)
            .field("ds_transaction_id", &self.ds_transaction_id)
            .finish()
    }
}

/// External 3DS data (`mpiData`): the merchant authenticated the cardholder itself.
pub type MpiData = ThreeDSAuthentication;

/// `paymentMethod.paymentMethodMetaData` for `paymentMethodType=CARD`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardPaymentMethodMetaData {
    /// PAN (≤32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_no: Option<CardNumber>,
    /// CVV: 3 digits, 4 for AMEX.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv: Option<Secret>,
    /// Two-digit expiry year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_year: Option<String>,
    /// Two-digit expiry month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_month: Option<String>,
    /// Cardholder name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<UserName>,
    /// Billing address: the AVS input (personal data: `Debug` shows only its region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// Request 3DS. Absent means false.
    #[serde(
        rename = "is3DSAuthentication",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_3ds_authentication: Option<bool>,
    /// Let Antom upgrade to 3DS when needed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub enable_authentication_upgrade: Option<bool>,
    /// Store the card and return a cardToken.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub tokenize: Option<bool>,
    /// Stored-card charge (pair with `paymentMethodId=<cardToken>`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_card_on_file: Option<bool>,
    /// MIT type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_type: Option<RecurringType>,
    /// Scheme transaction id from the first CIT (≤256, reference §3.9; not 100 as §3.2 says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_transaction_id: Option<String>,
    /// Brand for co-badged cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_card_brand: Option<String>,
    /// External 3DS data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpi_data: Option<MpiData>,
    /// Country-specific fields (cpf, payerEmail, dateOfBirth, …), passed through.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for CardPaymentMethodMetaData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardPaymentMethodMetaData")
            .field("card_no", &self.card_no)
            .field("cvv", &self.cvv.as_ref().map(|_| "***"))
            .field("expiry", &self.expiry_year.as_ref().map(|_| "**/**"))
            .field(
                "cardholder_name",
                &self.cardholder_name.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "billing_address",
                &self.billing_address.as_ref().map(|a| &a.region),
            )
            .field("is_3ds_authentication", &self.is_3ds_authentication)
            .field("tokenize", &self.tokenize)
            .field("is_card_on_file", &self.is_card_on_file)
            .field("recurring_type", &self.recurring_type)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_pan_cvv_or_name() {
        let card = CardPaymentMethodMetaData {
            card_no: Some(CardNumber::new("4117347806156383")),
            cvv: Some(Secret::new("850")),
            expiry_year: Some("29".into()),
            expiry_month: Some("12".into()),
            cardholder_name: Some(UserName {
                first_name: Some("Tomasz".into()),
                ..UserName::default()
            }),
            ..CardPaymentMethodMetaData::default()
        };
        let debug = format!("{card:?}");
        assert!(!debug.contains("4117347806156383"));
        assert!(!debug.contains("850"));
        assert!(!debug.contains("Tomasz"));
        assert!(debug.contains("****6383"));
    }

    #[test]
    fn a_card_pay_request_round_trips_with_the_reference_keys() {
        use crate::model::{PayRequest, PaymentMethod};
        let sample = r#"{
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": "card-1",
            "paymentAmount": {"currency": "USD", "value": "1000"},
            "order": {"referenceOrderId": "o-1", "orderDescription": "Shoes",
                      "orderAmount": {"currency": "USD", "value": "1000"}},
            "paymentMethod": {
                "paymentMethodType": "CARD",
                "paymentMethodMetaData": {
                    "cardNo": "4111111111111111", "cvv": "123", "expiryMonth": "06", "expiryYear": "29",
                    "cardholderName": {"firstName": "Jane", "lastName": "Roe"},
                    "billingAddress": {"region": "US", "zipCode": "99990", "city": "Springfield"},
                    "is3DSAuthentication": true, "enableAuthenticationUpgrade": false, "tokenize": true,
                    "mpiData": {"threeDSVersion": "2.2.0", "eci": "05", "cavv": "AAAB", "dsTransactionId": "ds-1"}
                }
            },
            "paymentFactor": {"isAuthorization": true, "captureMode": "MANUAL"},
            "env": {"terminalType": "WEB", "clientIp": "203.0.113.7",
                    "browserInfo": {"acceptHeader": "text/html", "javaEnabled": false, "javaScriptEnabled": true,
                                    "language": "en-US", "userAgent": "Mozilla/5.0"}},
            "paymentRedirectUrl": "https://merchant.example/return",
            "paymentNotifyUrl": "https://merchant.example/notify"
        }"#;
        let request: PayRequest = serde_json::from_str(sample).unwrap();
        let card = request
            .payment_method
            .payment_method_meta_data
            .clone()
            .unwrap();
        assert_eq!(card.expiry_month.as_deref(), Some("06"));
        assert_eq!(
            card.billing_address.as_ref().unwrap().zip_code.as_deref(),
            Some("99990")
        );
        assert_eq!(
            request.payment_factor.as_ref().unwrap().capture_mode,
            Some(crate::model::CaptureMode::Manual)
        );
        let expected: serde_json::Value = serde_json::from_str(sample).unwrap();
        assert_eq!(serde_json::to_value(&request).unwrap(), expected);
        let debug = format!("{request:?}");
        for secret in [
            "4111111111111111",
            "\"123\"",
            "Jane",
            "Roe",
            "99990",
            "Springfield",
            "AAAB",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }

        let mit = PaymentMethod::stored_card(
            "card-token-1",
            CardPaymentMethodMetaData {
                recurring_type: Some(RecurringType::Unscheduled),
                network_transaction_id: Some("n".repeat(256)),
                ..CardPaymentMethodMetaData::default()
            },
        );
        let json = serde_json::to_value(&mit).unwrap();
        assert_eq!(json["paymentMethodType"], "CARD");
        assert_eq!(json["paymentMethodId"], "card-token-1");
        assert_eq!(json["paymentMethodMetaData"]["isCardOnFile"], true);
        assert_eq!(
            json["paymentMethodMetaData"]["recurringType"],
            "UNSCHEDULED"
        );
        assert!(!format!("{mit:?}").contains("card-token-1"));
    }

    #[test]
    fn wire_names_match_the_reference() {
        let card = CardPaymentMethodMetaData {
            card_no: Some(CardNumber::new("4117347806156383")),
            is_3ds_authentication: Some(false),
            ..CardPaymentMethodMetaData::default()
        };
        let json = serde_json::to_value(&card).unwrap();
        assert_eq!(json["cardNo"], "4117347806156383");
        assert_eq!(json["is3DSAuthentication"], false);
        let back: CardPaymentMethodMetaData =
            serde_json::from_str(r#"{"is3DSAuthentication":"true","cpf":"123"}"#).unwrap();
        assert_eq!(back.is_3ds_authentication, Some(true));
        assert_eq!(back.extra["cpf"], "123");
    }
}
