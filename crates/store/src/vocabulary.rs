//! The closed sets of values the rows hold besides statuses: product code, capture mode, wallet and Alipay's result
//! status. Each is a typed enum at the store boundary (stored in its Alipay spelling, so rows written before these
//! types existed read unchanged), which is why code above the store never compares strings to tell an in-store
//! payment from a cashier one or a manual capture from an automatic one.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use product::ProductCode;

/// [`ProductCode`] sits in a module of its own: the derive generates an enum named after Alipay's spellings, which
/// all end in PAYMENT, and the lint against that can only be allowed around the generated code.
#[allow(clippy::enum_variant_names)]
mod product {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Which Alipay product a payment was made with (`productCode`).
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
    )]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ProductCode {
        /// Auto debit with a wallet binding's access token.
        #[sea_orm(string_value = "AGREEMENT_PAYMENT")]
        AgreementPayment,
        /// The buyer's payment code scanned at a store (routed to the in-store endpoints).
        #[sea_orm(string_value = "IN_STORE_PAYMENT")]
        InStorePayment,
        /// The buyer pays on the wallet's cashier page.
        #[sea_orm(string_value = "CASHIER_PAYMENT")]
        CashierPayment,
    }
}

/// How an authorization is captured (`paymentFactor.captureMode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaptureMode {
    /// Alipay captures by itself.
    #[sea_orm(string_value = "AUTOMATIC")]
    Automatic,
    /// The merchant captures through the gateway; only captured money can be refunded.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
}

/// The wallet a payment was made with or a binding belongs to (`paymentMethodType` / `customerBelongsTo`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Wallet {
    /// Alipay (mainland China).
    #[sea_orm(string_value = "ALIPAY_CN")]
    AlipayCn,
    /// AlipayHK.
    #[sea_orm(string_value = "ALIPAY_HK")]
    AlipayHk,
    /// GCash (Philippines).
    #[sea_orm(string_value = "GCASH")]
    Gcash,
    /// DANA (Indonesia).
    #[sea_orm(string_value = "DANA")]
    Dana,
    /// TrueMoney (Thailand).
    #[sea_orm(string_value = "TRUEMONEY")]
    Truemoney,
    /// Touch 'n Go eWallet (Malaysia).
    #[sea_orm(string_value = "TNG")]
    Tng,
    /// bKash (Bangladesh).
    #[sea_orm(string_value = "BKASH")]
    Bkash,
    /// Easypaisa (Pakistan).
    #[sea_orm(string_value = "EASYPAISA")]
    Easypaisa,
    /// KakaoPay (Korea).
    #[sea_orm(string_value = "KAKAOPAY")]
    Kakaopay,
    /// In-store payment code of any Alipay+ wallet: Alipay tells which wallet from the code.
    #[sea_orm(string_value = "CONNECT_WALLET")]
    ConnectWallet,
    /// Not a wallet: a card payment (`paymentMethodType` CARD), kept in the same column as the wallets.
    #[sea_orm(string_value = "CARD")]
    Card,
}

/// Alipay's `result.resultStatus`: S (done), F (final failure), U (unknown: ask again).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(1))")]
pub enum ResultStatus {
    /// `S`.
    #[sea_orm(string_value = "S")]
    #[serde(rename = "S")]
    Success,
    /// `F`.
    #[sea_orm(string_value = "F")]
    #[serde(rename = "F")]
    Fail,
    /// `U`, also recorded by the gateway when a call produced no answer.
    #[sea_orm(string_value = "U")]
    #[serde(rename = "U")]
    Unknown,
}

/// The Alipay spelling of a vocabulary value and the way back: what crosses to Alipay and to the stored rows.
pub trait Spelled: Sized + Copy + ActiveEnum<Value = String> + 'static {
    /// The value as Alipay and the rows spell it.
    fn spelling(self) -> String {
        self.to_value()
    }

    /// The value Alipay spells `text`, if any.
    fn parse(text: &str) -> Option<Self> {
        Self::try_from_value(&text.to_owned()).ok()
    }
}

impl Spelled for ProductCode {}
impl Spelled for CaptureMode {}
impl Spelled for Wallet {}
impl Spelled for ResultStatus {}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn spellings_round_trip() {
        for w in Wallet::iter() {
            assert_eq!(Wallet::parse(&w.spelling()), Some(w));
        }
        assert_eq!(Wallet::parse("CARD"), Some(Wallet::Card));
        assert_eq!(Wallet::parse("VISA"), None);
        assert_eq!(
            ProductCode::parse("IN_STORE_PAYMENT"),
            Some(ProductCode::InStorePayment)
        );
        assert_eq!(CaptureMode::Manual.spelling(), "MANUAL");
        assert_eq!(
            serde_json::to_value(ResultStatus::Fail).ok(),
            Some(serde_json::json!("F"))
        );
    }
}
