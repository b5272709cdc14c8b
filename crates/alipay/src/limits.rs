//! Alipay's documented request limits (field lengths, currencies and their minor units, per-wallet minimums, the
//! payment-code rule), written down once. The gateway's edge parses requests into [`crate::checked`] values with
//! them, and the client's last check before signing ([`crate::validate`]) reads the same constants, so the two can
//! never disagree about what Alipay accepts.

use std::time::Duration;

/// `paymentRequestId`, `refundRequestId`, `captureRequestId` (and the gateway's own request ids): Alipay rejects
/// longer ids.
pub const MAX_REQUEST_ID_LEN: usize = 64;
/// `paymentId`, `refundId` and the other ids Alipay assigns.
pub const MAX_ALIPAY_ID_LEN: usize = 64;
/// The one-time `authCode` of applyToken (the gateway holds it to the request-id envelope).
pub const MAX_AUTH_CODE_LEN: usize = 64;
/// `accessToken` / `refreshToken`.
pub const MAX_TOKEN_LEN: usize = 256;
/// `customerBelongsTo` / `paymentMethodType`.
pub const MAX_WALLET_NAME_LEN: usize = 64;
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
/// `paymentNotifyUrl`, `paymentRedirectUrl`, `refundNotifyUrl`, `authNotifyUrl` and other URLs.
pub const MAX_URL_LEN: usize = 2048;
/// The gateway's customer and binding ids travel in `referenceBuyerId`-like fields: same envelope.
pub const MAX_CUSTOMER_ID_LEN: usize = 64;
/// `merchantRegion` and address regions: an ISO 3166 alpha-2 code (seed 001/002).
pub const REGION_CODE_LEN: usize = 2;
/// A merchant category code (ISO 18245) is exactly this many digits.
pub const MCC_LEN: usize = 4;
/// `paymentExpiryTime` of a wallet (non-bank-transfer) payment may be at most this far ahead (alipay-api §3.1:
/// "a custom value must be < 10 min"); without one Alipay's default of about 14 minutes applies.
pub const MAX_PAYMENT_EXPIRY_AHEAD: Duration = Duration::from_secs(10 * 60);
/// Goods lines in one `order.goods[]`.
pub const MAX_GOODS: usize = 100;
/// `goods.referenceGoodsId`.
pub const MAX_GOODS_ID_LEN: usize = 64;
/// `goods.goodsName`.
pub const MAX_GOODS_NAME_LEN: usize = 256;
/// `goods.goodsCategory`.
pub const MAX_GOODS_CATEGORY_LEN: usize = 64;
/// `goods.goodsBrand`.
pub const MAX_GOODS_BRAND_LEN: usize = 128;
/// `goods.goodsSkuName`.
pub const MAX_GOODS_SKU_NAME_LEN: usize = 64;
/// `buyer.referenceBuyerId`.
pub const MAX_BUYER_ID_LEN: usize = 64;
/// `buyer.buyerPhoneNo`.
pub const MAX_BUYER_PHONE_LEN: usize = 24;
/// `buyerEmail`, `shipToEmail`.
pub const MAX_EMAIL_LEN: usize = 64;
/// `shipping.shippingCarrier`.
pub const MAX_SHIPPING_CARRIER_LEN: usize = 128;
/// `shipping.shippingPhoneNo`.
pub const MAX_SHIPPING_PHONE_LEN: usize = 16;
/// `firstName`, `middleName`, `lastName` of a `UserName` (buyer, shipping, cardholder).
pub const MAX_NAME_PART_LEN: usize = 32;
/// `fullName` of a buyer or shipping `UserName`.
pub const MAX_FULL_NAME_LEN: usize = 128;
/// `merchant.referenceMerchantId`.
pub const MAX_MERCHANT_ID_LEN: usize = 32;
/// `merchantName`, `storeName`.
pub const MAX_MERCHANT_NAME_LEN: usize = 256;
/// `merchant.merchantDisplayName`.
pub const MAX_MERCHANT_DISPLAY_NAME_LEN: usize = 64;
/// `store.referenceStoreId`.
pub const MAX_STORE_ID_LEN: usize = 64;
/// `address.state`.
pub const MAX_ADDRESS_STATE_LEN: usize = 8;
/// `address.city`.
pub const MAX_ADDRESS_CITY_LEN: usize = 32;
/// `address.address1`, `address.address2`.
pub const MAX_ADDRESS_LINE_LEN: usize = 256;
/// `address.zipCode`.
pub const MAX_ZIP_CODE_LEN: usize = 32;
/// `env.deviceId`, `env.deviceTokenId`, `env.storeTerminalId`.
pub const MAX_DEVICE_ID_LEN: usize = 64;
/// `env.deviceLanguage`, `browserInfo.language`.
pub const MAX_LANGUAGE_LEN: usize = 32;
/// Card numbers are this many digits.
pub const CARD_NO_DIGITS: std::ops::RangeInclusive<usize> = 12..=32;
/// A CVV is this many digits.
pub const CVV_DIGITS: std::ops::RangeInclusive<usize> = 3..=4;
/// `cardholderName` parts of a card.
pub const MAX_CARDHOLDER_NAME_PART_LEN: usize = 32;
/// `networkTransactionId` of a card payment (reference §3.9: up to 256).
pub const MAX_NETWORK_TRANSACTION_ID_LEN: usize = 256;
/// `selectedCardBrand`.
pub const MAX_CARD_BRAND_LEN: usize = 64;

/// Characters allowed in request ids (payment, refund, capture), as the proto documents: `[A-Za-z0-9_.:-]`. They
/// travel in JSON, URLs of the sandbox pages and logs, so anything else is refused before Alipay sees it.
pub fn is_request_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

/// Payment codes (user-presented in-store) are 16 to 24 digits.
pub const PAYMENT_CODE_DIGITS: std::ops::RangeInclusive<usize> = 16..=24;
/// An Alipay payment code starts with a two-digit prefix in this range (seed 002, "Payment code specifications").
pub const PAYMENT_CODE_PREFIXES: std::ops::RangeInclusive<u8> = 25..=30;

/// Whether `code` follows the Alipay payment-code rule: 16-24 digits starting with 25..=30.
pub fn is_alipay_payment_code(code: &str) -> bool {
    PAYMENT_CODE_DIGITS.contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .get(..2)
            .and_then(|p| p.parse::<u8>().ok())
            .is_some_and(|p| PAYMENT_CODE_PREFIXES.contains(&p))
}

/// Scopes that allow `inquiryUserInfo` (seed 000: "the scope field of consult must contain BASE_USER_INFO or
/// USER_INFO").
pub const USER_INFO_SCOPES: &[&str] = &["BASE_USER_INFO", "USER_INFO"];

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

/// Amounts in these currencies must be a whole multiple of the given minor units (IDR has no coins below 1.00).
const MINOR_UNIT_STEPS: &[(&str, u64)] = &[("IDR", 100)];

/// The smallest step an amount in `currency` moves by, in minor units (1 for most currencies).
pub fn minor_unit_step(currency: &str) -> u64 {
    MINOR_UNIT_STEPS
        .iter()
        .find(|(c, _)| *c == currency)
        .map_or(1, |(_, step)| *step)
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
        assert_eq!(minimum_amount("GCASH", "USD", ProductKind::Cashier), None);
        assert_eq!(currency_exponent("KRW"), Some(0));
        assert_eq!(currency_exponent("KWD"), Some(3));
        assert_eq!(currency_exponent("PHP"), Some(2));
        assert!(!is_known_currency("XXX1"));
        assert!(!is_known_currency("php"));
        assert_eq!(minor_unit_step("IDR"), 100);
        assert_eq!(minor_unit_step("PHP"), 1);
    }
}
