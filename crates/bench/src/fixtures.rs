//! What every bench signs: the committed dev merchant key and a realistic cashier pay request of about 1 KB.

use alipay::model::{
    Amount, Buyer, Env, Goods, Order, PayRequest, PaymentMethod, ProductCode, TerminalType,
    UserName,
};
use alipay::{Endpoint, PathPrefix};

pub use sandbox::dev::{CLIENT_ID, MERCHANT_PRIVATE_KEY_PEM, MERCHANT_PUBLIC_KEY_PEM};

/// A fixed `request-time` (epoch milliseconds, as the client sends it), so every signed message is identical.
pub const REQUEST_TIME: &str = "1764000000000";

/// The path the client signs and posts a pay request to when talking to the sandbox.
pub fn pay_path() -> String {
    format!(
        "{}{}",
        PathPrefix::Sandbox.as_str(),
        Endpoint::Pay.path_suffix()
    )
}

/// A CASHIER_PAYMENT for 1,499.00 PHP with the buyer, line items, environment and URLs a web shop sends:
/// about 1 KB of JSON, the size of a typical pay request. Cashier payments need no wallet binding, and
/// the sandbox answers them with a signed `U` / `PAYMENT_IN_PROCESS`, so the whole signed path is exercised.
pub fn pay_request(payment_request_id: &str) -> PayRequest {
    let amount = Amount::new("PHP", 149_900);
    let mut order = Order::new(
        format!("ORDER-{payment_request_id}"),
        "Wireless earbuds (2) and a charging case",
        amount.clone(),
    );
    order.buyer = Some(Buyer {
        reference_buyer_id: Some("buyer-000184467".into()),
        buyer_name: Some(UserName {
            first_name: Some("Maria".into()),
            last_name: Some("Santos".into()),
            ..UserName::default()
        }),
        buyer_email: Some("maria.santos@example.com".into()),
        ..Buyer::default()
    });
    order.goods = Some(vec![
        goods("SKU-EB-2041", "Wireless earbuds, black", 64_950, "2"),
        goods("SKU-CC-0007", "Charging case, USB-C", 20_000, "1"),
    ]);
    let mut env = Env::new(TerminalType::Web);
    env.client_ip = Some("203.0.113.42".into());
    env.user_agent = Some(USER_AGENT.into());
    let mut pay = PayRequest::new(
        ProductCode::CashierPayment,
        payment_request_id,
        amount,
        order,
        PaymentMethod::of_type("GCASH"),
    );
    pay.env = Some(env);
    pay.payment_notify_url = Some("https://shop.example.com/alipay/notify/payment".into());
    pay.payment_redirect_url = Some(format!(
        "https://shop.example.com/checkout/{payment_request_id}/return"
    ));
    pay
}

const USER_AGENT: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15";

fn goods(id: &str, name: &str, unit_minor: u64, quantity: &str) -> Goods {
    Goods {
        reference_goods_id: Some(id.into()),
        goods_name: Some(name.into()),
        goods_unit_amount: Some(Amount::new("PHP", unit_minor)),
        goods_quantity: Some(quantity.into()),
        ..Goods::default()
    }
}

/// The exact bytes the client puts on the wire for `request` (it serialises with `serde_json::to_vec` too).
pub fn body(request: &PayRequest) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay::Validate as _;

    #[test]
    fn the_pay_request_is_valid_and_about_one_kilobyte() {
        let request = pay_request("bench-000001");
        assert_eq!(request.validate(), Ok(()));
        let len = body(&request).unwrap().len();
        assert!((950..=1100).contains(&len), "body is {len} bytes");
    }

    #[test]
    fn the_pay_path_is_the_sandbox_prefix_path() {
        assert_eq!(pay_path(), "/ams/sandbox/api/v1/payments/pay");
    }
}
