//! The wallets the sandbox knows: their per-wallet minimum amounts (seed 002) and the fixed test user each
//! one logs in on the H5 authorization page.

use sha2::{Digest as _, Sha256};

/// Wallets accepted as `customerBelongsTo` and as the `paymentMethodType` of agreement payments.
pub const WALLETS: &[&str] = &[
    "ALIPAY_CN",
    "ALIPAY_HK",
    "GCASH",
    "DANA",
    "TRUEMONEY",
    "TNG",
    "KAKAOPAY",
    "BKASH",
    "EASYPAISA",
];

/// The minimum payment (and refund) amount of a wallet in its home currency, in minor units; `None` when
/// the wallet has no documented minimum or the currency is not its home currency.
pub fn minimum(wallet: &str, currency: &str, product_code: &str) -> Option<u64> {
    let (home, min) = match wallet {
        "TRUEMONEY" => ("THB", 100),
        "ALIPAY_HK" if product_code == "CASHIER_PAYMENT" => ("HKD", 10),
        "ALIPAY_HK" => ("HKD", 1),
        "TNG" => ("MYR", 10),
        "GCASH" => ("PHP", 100),
        "DANA" => ("IDR", 30_000),
        "BKASH" => ("BDT", 1),
        "EASYPAISA" => ("PKR", 10_000),
        "KAKAOPAY" => ("KRW", 50),
        _ => return None,
    };
    (home == currency).then_some(min)
}

/// The fixed test account of a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// The wallet's user id.
    pub user_id: String,
    /// The masked login id, as wallets return it.
    pub user_login_id: String,
    /// SHA-256 (hex) of the unmasked login id.
    pub hash_user_login_id: String,
}

/// The test user that any 4-digit code logs in for `wallet`.
pub fn test_user(wallet: &str) -> TestUser {
    let index = WALLETS
        .iter()
        .position(|w| *w == wallet)
        .unwrap_or(WALLETS.len());
    let login = format!("test.{}@sandbox.example", wallet.to_ascii_lowercase());
    TestUser {
        user_id: format!("2160{:012}", 100 + index),
        user_login_id: "test***@sandbox.example".to_owned(),
        hash_user_login_id: Sha256::digest(login.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimums_follow_the_brief() {
        assert_eq!(minimum("GCASH", "PHP", "AGREEMENT_PAYMENT"), Some(100));
        assert_eq!(minimum("GCASH", "USD", "AGREEMENT_PAYMENT"), None);
        assert_eq!(minimum("ALIPAY_HK", "HKD", "AGREEMENT_PAYMENT"), Some(1));
        assert_eq!(minimum("ALIPAY_HK", "HKD", "CASHIER_PAYMENT"), Some(10));
        assert_eq!(minimum("KAKAOPAY", "KRW", "CASHIER_PAYMENT"), Some(50));
        assert_eq!(minimum("ALIPAY_CN", "CNY", "CASHIER_PAYMENT"), None);
    }

    #[test]
    fn test_users_are_fixed_and_distinct_per_wallet() {
        assert_eq!(test_user("GCASH"), test_user("GCASH"));
        assert_ne!(test_user("GCASH").user_id, test_user("DANA").user_id);
        assert_eq!(test_user("GCASH").hash_user_login_id.len(), 64);
    }
}
