//! Types shared by several endpoints: amounts, the result envelope, secrets, order and environment data.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::serde_helpers::{minor_units, opt_bool, opt_string_or_number};
use crate::result_code::ResultCode;

/// A money amount: ISO 4217 currency and the value in minor units as a decimal string (`"100"` = 1.00 PHP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// ISO 4217 alphabetic code.
    pub currency: String,
    /// Minor units; a JSON number is accepted on input.
    #[serde(deserialize_with = "minor_units")]
    pub value: String,
}

impl Amount {
    /// An amount from a currency and a minor-unit count.
    pub fn new(currency: impl Into<String>, minor_units: u64) -> Self {
        Self {
            currency: currency.into(),
            value: minor_units.to_string(),
        }
    }

    /// The value as an integer, if it is one.
    pub fn minor_units(&self) -> Option<u64> {
        if self.value.is_empty() || !self.value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.value.parse().ok()
    }
}

/// `result.resultStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultStatus {
    /// Success.
    #[serde(rename = "S")]
    Success,
    /// Final failure.
    #[serde(rename = "F")]
    Failed,
    /// Unknown, or processing for pay.
    #[serde(rename = "U")]
    Unknown,
    /// Anything else: treated as unknown so nothing is concluded from it.
    #[serde(other)]
    Unrecognized,
}

/// The `result` envelope every response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultInfo {
    /// The result code.
    pub result_code: ResultCode,
    /// S / F / U.
    pub result_status: ResultStatus,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
}

/// A credential (access/refresh token, authCode, payment code, CVV): serialised as is, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the few places that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Where the buyer is: used by Alipay for risk control and to choose the page to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminalType {
    /// Desktop browser.
    Web,
    /// Mobile browser.
    Wap,
    /// Mobile app.
    App,
    /// Mini program.
    MiniApp,
}

/// Mobile OS, required for APP/WAP/MINI_APP terminals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OsType {
    /// iOS.
    Ios,
    /// Android.
    Android,
}

/// A person's name (buyer, shipping, cardholder).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserName {
    /// First name (≤32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Middle name (≤32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Last name (≤32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Full name (≤128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

/// A postal address (shipping, billing/AVS, store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// ISO 3166 alpha-2 region (required by Alipay).
    pub region: String,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Address line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// Address line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

/// Browser details, used for 3DS and risk control.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserInfo {
    /// HTTP Accept header of the buyer's browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_header: Option<String>,
    /// Whether Java is enabled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub java_enabled: Option<bool>,
    /// Whether JavaScript is enabled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub java_script_enabled: Option<bool>,
    /// Browser language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// The environment the order was placed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Env {
    /// Terminal type.
    pub terminal_type: TerminalType,
    /// OS type (required unless WEB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    /// OS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Buyer IP (needed for CARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Device token from Alipay's device SDK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token_id: Option<String>,
    /// Device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Device language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_language: Option<String>,
    /// Browser details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_info: Option<BrowserInfo>,
    /// Screen colour depth (number or string on input).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub color_depth: Option<String>,
    /// Screen height in pixels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub screen_height: Option<String>,
    /// Screen width in pixels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub screen_width: Option<String>,
    /// Time-zone offset.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub time_zone_offset: Option<String>,
    /// In-store terminal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_terminal_id: Option<String>,
    /// In-store terminal request time (ISO 8601 with milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_terminal_request_time: Option<String>,
}

impl Env {
    /// An environment with only the terminal type set.
    pub fn new(terminal_type: TerminalType) -> Self {
        Self {
            terminal_type,
            os_type: None,
            os_version: None,
            client_ip: None,
            user_agent: None,
            device_token_id: None,
            device_id: None,
            device_language: None,
            browser_info: None,
            color_depth: None,
            screen_height: None,
            screen_width: None,
            time_zone_offset: None,
            store_terminal_id: None,
            store_terminal_request_time: None,
        }
    }
}

/// Buyer details, used for risk control.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// Merchant's buyer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_buyer_id: Option<String>,
    /// Buyer name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<UserName>,
    /// Buyer phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_phone_no: Option<String>,
    /// Buyer e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
}

/// One line item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Goods {
    /// Merchant's goods id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_goods_id: Option<String>,
    /// Goods name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_name: Option<String>,
    /// Category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_category: Option<String>,
    /// Unit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_unit_amount: Option<Amount>,
    /// Quantity (string on the wire; number accepted).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub goods_quantity: Option<String>,
    /// Product page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_url: Option<String>,
}

/// Shipping details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipping {
    /// Recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_name: Option<UserName>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    /// Carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_carrier: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_phone_no: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to_email: Option<String>,
}

/// A physical store (in-store payments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// Merchant's store id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_store_id: Option<String>,
    /// Store name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
    /// Store MCC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_mcc: Option<String>,
    /// Store address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_address: Option<Address>,
}

/// A (secondary) merchant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    /// Merchant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_merchant_id: Option<String>,
    /// Merchant category code (ISO 18245).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_mcc: Option<String>,
    /// Merchant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_name: Option<String>,
    /// Merchant address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_address: Option<Address>,
    /// Store (in-store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
}

/// Order information: used by Alipay for risk control and shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Merchant order id (≤64).
    pub reference_order_id: String,
    /// Description shown to the user (≤256).
    pub order_description: String,
    /// Order amount.
    pub order_amount: Amount,
    /// Buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    /// Line items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods: Option<Vec<Goods>>,
    /// Shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    /// Secondary merchant / store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Merchant>,
    /// Order environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
    /// Extension data (JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl Order {
    /// An order with the required fields only.
    pub fn new(
        reference_order_id: impl Into<String>,
        description: impl Into<String>,
        amount: Amount,
    ) -> Self {
        Self {
            reference_order_id: reference_order_id.into(),
            order_description: description.into(),
            order_amount: amount,
            buyer: None,
            goods: None,
            shipping: None,
            merchant: None,
            env: None,
            extend_info: None,
        }
    }
}

/// The wallet provider's view of the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PspCustomerInfo {
    /// Provider name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_name: Option<String>,
    /// Provider's customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_customer_id: Option<String>,
    /// Masked display id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_customer_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_accepts_string_and_number() {
        let a: Amount = serde_json::from_str(r#"{"currency":"PHP","value":"100"}"#).unwrap();
        let b: Amount = serde_json::from_str(r#"{"currency":"PHP","value":100}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.minor_units(), Some(100));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"currency":"PHP","value":"100"}"#
        );
        assert_eq!(
            Amount {
                currency: "X".into(),
                value: "1.5".into()
            }
            .minor_units(),
            None
        );
    }

    #[test]
    fn result_status_tolerates_unknown_values() {
        let r: ResultInfo =
            serde_json::from_str(r#"{"resultCode":"X","resultStatus":"Q","extra":1}"#).unwrap();
        assert_eq!(r.result_status, ResultStatus::Unrecognized);
        assert_eq!(r.result_message, None);
    }

    #[test]
    fn booleans_accept_strings() {
        let b: BrowserInfo =
            serde_json::from_str(r#"{"javaEnabled":"true","javaScriptEnabled":false}"#).unwrap();
        assert_eq!(b.java_enabled, Some(true));
        assert_eq!(b.java_script_enabled, Some(false));
        assert!(serde_json::from_str::<BrowserInfo>(r#"{"javaEnabled":"yes"}"#).is_err());
    }

    #[test]
    fn secret_is_transparent_on_the_wire_and_hidden_in_debug() {
        let s = Secret::new("tok-123");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"tok-123\"");
        assert!(!format!("{s:?}").contains("tok-123"));
    }

    #[test]
    fn unset_options_are_omitted() {
        let env = Env::new(TerminalType::MiniApp);
        assert_eq!(
            serde_json::to_string(&env).unwrap(),
            r#"{"terminalType":"MINI_APP"}"#
        );
    }
}
