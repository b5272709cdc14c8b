use alipay::checked::RequestId;
use engine::{ApplyTokenCommand, ConsultCommand, PayCommand};
use pb::pay_request::Source;
use prost_types::Timestamp;

use super::*;

fn fields<T: std::fmt::Debug>(result: Result<T, EngineError>) -> Vec<String> {
    match result {
        Err(EngineError::InvalidArgument(v)) => v.into_iter().map(|f| f.field).collect(),
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => Vec::new(),
    }
}

fn good_pay() -> pb::PayRequest {
    pb::PayRequest {
        payment_request_id: "pay-1".into(),
        payment_amount: Some(pb::Amount {
            currency: "PHP".into(),
            value: 1000,
        }),
        order: Some(pb::Order {
            reference_order_id: "o-1".into(),
            order_description: "Coffee".into(),
            ..Default::default()
        }),
        source: Some(Source::Agreement(pb::AgreementPaymentSource {
            binding_id: "b-1".into(),
            env: None,
        })),
        ..Default::default()
    }
}

#[test]
fn a_good_pay_parses_into_its_command() {
    let cmd = PayCommand::try_from(&good_pay()).expect("valid");
    assert_eq!(&*cmd.payment_request_id, "pay-1");
    assert_eq!(cmd.amount.minor_units(), 1000);
    assert_eq!(
        cmd.order.order_amount,
        cmd.amount.to_wire(),
        "the default total"
    );
    assert!(
        matches!(cmd.source, engine::PaySource::Agreement { ref binding_id } if &**binding_id == "b-1")
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut r = good_pay();
    r.payment_request_id = "has space".into();
    r.payment_amount = Some(pb::Amount {
        currency: "XXX".into(),
        value: 0,
    });
    r.order = Some(pb::Order {
        order_description: "é".repeat(257),
        ..Default::default()
    });
    r.product_code = pb::ProductCode::CashierPayment as i32;
    let got = fields(PayCommand::try_from(&r));
    for expected in [
        "payment_request_id",
        "payment_amount.currency",
        "payment_amount.value",
        "order.reference_order_id",
        "order.order_description",
        "product_code",
    ] {
        assert!(
            got.iter().any(|f| f == expected),
            "{expected} missing from {got:?}"
        );
    }
}

#[test]
fn in_store_code_merchant_and_cashier_fields() {
    let mut r = good_pay();
    r.source = Some(Source::InStore(pb::InStorePaymentSource {
        payment_code: "2412345678901234".into(),
    }));
    let got = fields(PayCommand::try_from(&r));
    assert!(got.contains(&"in_store.payment_code".to_owned()), "{got:?}");
    assert!(got.contains(&"order.merchant".to_owned()), "{got:?}");

    let mut r = good_pay();
    r.source = Some(Source::Cashier(pb::CashierPaymentSource {
        wallet: pb::Wallet::ConnectWallet as i32,
        payment_redirect_url: "http://insecure.example".into(),
        env: Some(pb::Env {
            terminal_type: 0,
            os_type: 9,
            ..Default::default()
        }),
    }));
    r.payment_amount = Some(pb::Amount {
        currency: "IDR".into(),
        value: 30_050,
    });
    let got = fields(PayCommand::try_from(&r));
    assert_eq!(
        got,
        [
            "payment_amount.value",
            "cashier.wallet",
            "cashier.payment_redirect_url",
            "cashier.env.terminal_type",
            "cashier.env.os_type",
        ]
    );
}

#[test]
fn nested_fields_are_named_by_their_path() {
    let mut r = good_pay();
    r.order = Some(pb::Order {
        reference_order_id: "o-1".into(),
        order_description: "Coffee".into(),
        goods: vec![pb::Goods {
            goods_name: "n".repeat(257),
            goods_unit_amount: Some(pb::Amount {
                currency: "PHP".into(),
                value: -1,
            }),
            ..Default::default()
        }],
        shipping: Some(pb::Shipping {
            shipping_address: Some(pb::Address {
                region: "ph".into(),
                city: "c\0".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    r.metadata = [("k".to_owned(), "v\u{7}".to_owned())]
        .into_iter()
        .collect();
    r.settlement_currency = "pesos".into();
    let got = fields(PayCommand::try_from(&r));
    assert_eq!(
        got,
        [
            "order.goods[0].goods_name",
            "order.goods[0].goods_unit_amount.value",
            "order.shipping.shipping_address.region",
            "order.shipping.shipping_address.city",
            "settlement_currency",
            "metadata[k]",
        ]
    );
}

#[test]
fn id_only_requests_parse_into_their_id() {
    let ok = pb::GetPaymentRequest {
        payment_request_id: "p-1".into(),
    };
    assert_eq!(RequestId::try_from(&ok).ok().as_deref(), Some("p-1"));
    let nul = pb::GetBindingRequest {
        binding_id: "\0".into(),
    };
    assert_eq!(
        fields(alipay::checked::CustomerId::try_from(&nul)),
        ["binding_id"]
    );
    let empty = pb::InquireRefundRequest::default();
    assert_eq!(fields(RequestId::try_from(&empty)), ["refund_request_id"]);
}

#[test]
fn consult_scopes() {
    let r = pb::ConsultRequest {
        wallet: pb::Wallet::ConnectWallet as i32,
        auth_redirect_url: "https://m.example/back".into(),
        auth_state: "s".into(),
        scopes: vec![1, 2, 3, 4, 5],
        terminal_type: pb::TerminalType::Web as i32,
        ..Default::default()
    };
    assert_eq!(fields(ConsultCommand::try_from(&r)), ["wallet", "scopes"]);
    let r = pb::ConsultRequest {
        wallet: 3,
        scopes: vec![3, 3, 99],
        ..r
    };
    assert_eq!(
        fields(ConsultCommand::try_from(&r)),
        ["scopes[1]", "scopes[2]"]
    );
}

#[test]
fn apply_token_scopes_are_optional_but_checked() {
    let r = pb::ApplyTokenRequest {
        auth_code: "code".into(),
        wallet: pb::Wallet::Gcash as i32,
        customer_id: "c-1".into(),
        ..Default::default()
    };
    assert_eq!(
        fields(ApplyTokenCommand::try_from(&r)),
        Vec::<String>::new()
    );
    let r = pb::ApplyTokenRequest {
        scopes: vec![pb::AuthScope::UserInfo as i32; 2],
        ..r
    };
    assert_eq!(fields(ApplyTokenCommand::try_from(&r)), ["scopes[1]"]);
    let r = pb::ApplyTokenRequest {
        scopes: vec![1, 2, 3, 4, 5],
        ..r
    };
    assert_eq!(fields(ApplyTokenCommand::try_from(&r)), ["scopes"]);
}

#[test]
fn list_limits() {
    let now = Timestamp {
        seconds: 1_800_000_000,
        nanos: 0,
    };
    let got = fields(PaymentQuery::try_from(&pb::ListPaymentsRequest {
        page_size: 101,
        statuses: vec![0],
        create_time_start: Some(now),
        create_time_end: Some(now),
        ..Default::default()
    }));
    assert_eq!(got, ["statuses[0]", "create_time_end", "page_size"]);
    for bad in [
        Timestamp {
            seconds: 1 << 62,
            nanos: 0,
        },
        Timestamp {
            seconds: 0,
            nanos: -1,
        },
        Timestamp {
            seconds: 0,
            nanos: 1_000_000_000,
        },
    ] {
        let got = fields(PaymentQuery::try_from(&pb::ListPaymentsRequest {
            create_time_start: Some(bad),
            ..Default::default()
        }));
        assert_eq!(got, ["create_time_start"], "{bad:?}");
    }
    let pending_only = PaymentQuery::try_from(&pb::ListPaymentsRequest {
        statuses: vec![pb::PaymentStatus::Pending as i32],
        ..Default::default()
    })
    .expect("valid");
    assert!(pending_only.filter.is_none(), "PENDING is never stored");
}
