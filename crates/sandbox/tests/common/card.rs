//! The merchant side of the card tests: the gateway's own `alipay` client (aws-lc-rs, sharing no code with the
//! sandbox) bound to a sandbox, and card pay requests.

use std::time::Duration;

use alipay::model::{
    Amount, CaptureMode, Env, Order, PayRequest, PaymentFactor, PaymentMethod, ProductCode,
    TerminalType,
};
use alipay::{AlipayClient, ClientConfig, PathPrefix};
use sandbox::{RunningSandbox, dev};

/// A signed client of `client_id` (registered with the development merchant key) for `sandbox`.
pub fn client(sandbox: &RunningSandbox, client_id: &str) -> AlipayClient {
    let config = ClientConfig::new(
        client_id,
        dev::MERCHANT_PRIVATE_KEY_PEM,
        sandbox.alipay_public_key_pem(),
        sandbox.base_url(),
    )
    .with_path_prefix(PathPrefix::Sandbox)
    .with_request_timeout(Duration::from_secs(30));
    AlipayClient::new(config).unwrap()
}

/// A card authorization of `amount` with a fresh `paymentRequestId`: CASHIER_PAYMENT, `isAuthorization` with
/// `capture`, and a web buyer's environment. Return and notify URLs are the caller's.
pub fn pay_request(amount: Amount, capture: CaptureMode, method: PaymentMethod) -> PayRequest {
    let id = super::unique("card");
    let mut request = PayRequest::new(
        ProductCode::CashierPayment,
        id.clone(),
        amount.clone(),
        Order::new(format!("order-{id}"), "Card test order", amount),
        method,
    );
    request.payment_factor = Some(PaymentFactor {
        is_authorization: Some(true),
        capture_mode: Some(capture),
        ..PaymentFactor::default()
    });
    request.env = Some(Env {
        client_ip: Some("203.0.113.7".into()),
        ..Env::new(TerminalType::Web)
    });
    request
}
