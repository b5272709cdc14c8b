//! Malformed input over real gRPC, on SQLite and PostgreSQL: every wrong request is the caller's error
//! (INVALID_ARGUMENT with field violations), never INTERNAL, UNKNOWN or UNAVAILABLE, never a hang, and every
//! error answer fits the 8 KiB that C-core clients (Python, Ruby, PHP, C++) accept in trailers.
//!
//! Two parts: the specific answers the contract promises (undecodable bodies, control characters in ids,
//! unbounded violation lists, page tokens replayed with other filters, impossible timestamps, over-size
//! messages), and a generated run that builds thousands of random requests for every unary RPC from the
//! descriptors themselves, so a new RPC or field is fuzzed the day it is added.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use bytes::{Buf, BufMut};
use common::*;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// What C-core clients accept as the whole trailer block.
const TRAILER_LIMIT: usize = 8 * 1024;
/// Longest any single call may take before it counts as a hang.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// Sends and receives raw message bytes, so a test can put anything on the wire.
#[derive(Debug, Clone, Default)]
struct RawCodec;

#[derive(Debug, Clone, Default)]
struct RawCoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCoder;
    type Decoder = RawCoder;
    fn encoder(&mut self) -> RawCoder {
        RawCoder
    }
    fn decoder(&mut self) -> RawCoder {
        RawCoder
    }
}

impl Encoder for RawCoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

async fn channel(gateway: &GatewayProcess) -> Channel {
    tonic::transport::Endpoint::from_shared(gateway.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// One unary call with raw bytes; the status when it fails.
async fn call_raw(channel: &Channel, path: &str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone())
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024);
    grpc.ready().await.expect("channel ready");
    let uri = http::uri::PathAndQuery::try_from(path).expect("path");
    let call = grpc.unary(tonic::Request::new(body), uri, RawCodec);
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(answer) => answer.map(tonic::Response::into_inner),
        Err(_) => panic!("{path}: no answer within {CALL_DEADLINE:?} (a hang)"),
    }
}

/// Bytes the status occupies in trailers: `grpc-message` percent-encoded as the gRPC spec says, the details
/// base64-encoded, plus the header names and `grpc-status`.
fn trailer_bytes(status: &tonic::Status) -> usize {
    let message: usize = status
        .message()
        .bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                1
            } else {
                3
            }
        })
        .sum();
    let details = status.details().len().div_ceil(3) * 4;
    message + details + "grpc-status: 3\r\ngrpc-message: \r\ngrpc-status-details-bin: \r\n".len()
}

/// The status must be INVALID_ARGUMENT with a `BadRequest` naming `field` (the field path or its prefix).
fn assert_violation(status: &tonic::Status, field: &str, what: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    let bad = status
        .get_error_details()
        .bad_request()
        .cloned()
        .unwrap_or_else(|| panic!("{what}: no BadRequest in {status:?}"));
    assert!(
        bad.field_violations
            .iter()
            .any(|v| v.field.starts_with(field)),
        "{what}: no violation of {field}: {:?}",
        bad.field_violations
    );
    assert!(
        trailer_bytes(status) < TRAILER_LIMIT,
        "{what}: trailers too big"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contracts_answers_to_malformed_input() {
    for_each_backend(|db| async move {
        let (_sandbox, gateway) = start_default(&db).await;
        let ch = channel(&gateway).await;

        // Not protobuf at all: a string field holding invalid UTF-8.
        let status = call_raw(
            &ch,
            "/alipay.gateway.v1.PaymentService/Pay",
            vec![0x0a, 0x03, 0xff, 0xfe, 0xfd],
        )
        .await
        .expect_err("invalid UTF-8 is refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        // Truncated: a length prefix pointing past the end.
        let status = call_raw(
            &ch,
            "/alipay.gateway.v1.AuthorizationService/ApplyToken",
            vec![0x0a, 0x40, 0x41],
        )
        .await
        .expect_err("truncated body is refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

        // A NUL (or any control character) in an id is refused at the edge, the same way on both stores.
        let mut auth = gateway.auth().await;
        let mut payments = gateway.payments().await;
        let nul = "bind\u{0}ing".to_owned();
        let s = auth
            .get_binding(pb::GetBindingRequest {
                binding_id: nul.clone(),
            })
            .await
            .expect_err("GetBinding");
        assert_violation(&s, "binding_id", "GetBinding NUL");
        let s = auth
            .revoke_binding(pb::RevokeBindingRequest {
                binding_id: nul.clone(),
            })
            .await
            .expect_err("RevokeBinding");
        assert_violation(&s, "binding_id", "RevokeBinding NUL");
        let s = auth
            .inquire_user_info(pb::InquireUserInfoRequest {
                binding_id: nul.clone(),
            })
            .await
            .expect_err("InquireUserInfo");
        assert_violation(&s, "binding_id", "InquireUserInfo NUL");
        let s = auth
            .list_bindings(pb::ListBindingsRequest {
                customer_id: "cust\u{0}".into(),
                ..Default::default()
            })
            .await
            .expect_err("ListBindings");
        assert_violation(&s, "customer_id", "ListBindings NUL");
        for (customer_id, binding_id, field) in
            [("c\u{0}", "", "customer_id"), ("", "b\u{7}", "binding_id")]
        {
            let s = payments
                .list_payments(pb::ListPaymentsRequest {
                    customer_id: customer_id.into(),
                    binding_id: binding_id.into(),
                    ..Default::default()
                })
                .await
                .expect_err("ListPayments");
            assert_violation(&s, field, "ListPayments control character");
        }
        let s = auth
            .apply_token(pb::ApplyTokenRequest {
                auth_code: "code-1".into(),
                wallet: pb::Wallet::Gcash as i32,
                customer_id: "cust\u{0}1".into(),
                ..Default::default()
            })
            .await
            .expect_err("ApplyToken");
        assert_violation(&s, "customer_id", "ApplyToken NUL customer");

        // Violation lists are bounded, so the answer fits C-core clients' trailer limit.
        let s = payments
            .list_payments(pb::ListPaymentsRequest {
                statuses: vec![99; 100],
                ..Default::default()
            })
            .await
            .expect_err("ListPayments bad statuses");
        assert_violation(&s, "statuses[0]", "100 bad statuses");
        let bad = s
            .get_error_details()
            .bad_request()
            .cloned()
            .expect("BadRequest");
        assert!(
            bad.field_violations.len() <= 21,
            "{}",
            bad.field_violations.len()
        );
        assert!(
            bad.field_violations
                .last()
                .is_some_and(|v| v.description.contains("more violation")),
            "the answer says it is partial: {:?}",
            bad.field_violations.last()
        );

        let mut pay = agreement_pay(&request_id("big"), "binding-x", 1000);
        let order = pay.order.as_mut().expect("order");
        order.goods = (0..20)
            .map(|_| pb::Goods {
                goods_name: "\u{1}".repeat(300),
                goods_unit_amount: Some(pb::Amount {
                    currency: "XXX".into(),
                    value: -1,
                }),
                goods_quantity: -5,
                ..Default::default()
            })
            .collect();
        let s = payments.pay(pay).await.expect_err("Pay with 20 bad goods");
        assert_violation(&s, "order.goods[0]", "20 bad goods");

        let mut pay = agreement_pay(&"x".repeat(100_000), "binding-x", 1000);
        pay.metadata = (0..1000)
            .map(|i| (format!("{i}{}", "k".repeat(200)), "v".repeat(600)))
            .collect();
        let s = payments
            .pay(pay)
            .await
            .expect_err("Pay with 1000 metadata entries");
        assert_violation(&s, "", "1000 metadata entries and a 100k request id");

        // Impossible timestamps are refused, not read as "no bound".
        for (start, field) in [
            (
                prost_types::Timestamp {
                    seconds: 1 << 62,
                    nanos: 0,
                },
                "create_time_start",
            ),
            (
                prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                },
                "create_time_start",
            ),
        ] {
            let s = payments
                .list_payments(pb::ListPaymentsRequest {
                    create_time_start: Some(start),
                    ..Default::default()
                })
                .await
                .expect_err("bad timestamp");
            assert_violation(&s, field, "impossible timestamp");
        }

        // A page token is valid only with the filters it was issued for.
        let a = bind_wallet(&gateway, "cust-page-a").await;
        bind_wallet(&gateway, "cust-page-a").await;
        let b = bind_wallet(&gateway, "cust-page-b").await;
        let first = auth
            .list_bindings(pb::ListBindingsRequest {
                customer_id: "cust-page-a".into(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("first page")
            .into_inner();
        assert!(
            !first.next_page_token.is_empty(),
            "two bindings, page size 1"
        );
        let s = auth
            .list_bindings(pb::ListBindingsRequest {
                customer_id: "cust-page-b".into(),
                page_size: 1,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .expect_err("token with other filters");
        assert_violation(&s, "page_token", "ListBindings token reused");
        for (i, binding) in [&a, &a, &b].into_iter().enumerate() {
            payments
                .pay(agreement_pay(
                    &request_id(&format!("page-{i}")),
                    &binding.binding_id,
                    1000,
                ))
                .await
                .expect("pay");
        }
        let first = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: "cust-page-a".into(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("first page")
            .into_inner();
        assert_eq!(first.payments.len(), 1);
        assert!(!first.next_page_token.is_empty());
        let s = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: "cust-page-b".into(),
                page_size: 1,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .expect_err("token with another customer");
        assert_violation(&s, "page_token", "ListPayments token reused");
        let second = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: "cust-page-a".into(),
                page_size: 1,
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await
            .expect("the same filters continue")
            .into_inner();
        assert_eq!(second.payments.len(), 1);
        assert_ne!(
            second.payments[0].payment_request_id,
            first.payments[0].payment_request_id
        );

        // Over the 4 MiB receive limit: OUT_OF_RANGE, as common.proto documents.
        let mut huge = agreement_pay(&request_id("huge"), "binding-x", 1000);
        huge.order.as_mut().expect("order").order_description = "d".repeat(5 * 1024 * 1024);
        let s = call_raw(
            &ch,
            "/alipay.gateway.v1.PaymentService/Pay",
            huge.encode_to_vec(),
        )
        .await
        .expect_err("over-size message");
        assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    })
    .await;
}

/// The unary RPCs of the services the gateway serves, as (path, input type).
fn unary_methods(pool: &DescriptorPool) -> Vec<(String, MessageDescriptor)> {
    pool.services()
        .filter(|s| s.package_name() == "alipay.gateway.v1")
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .filter(|m| !m.is_server_streaming() && !m.is_client_streaming())
        .map(|m| {
            (
                format!("/{}/{}", m.parent_service().full_name(), m.name()),
                m.input(),
            )
        })
        .collect()
}

/// A random string: mostly short, sometimes long, drawn from ASCII, control characters and multi-byte text.
fn random_text(rng: &mut StdRng) -> String {
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', '9', '-', '_', '.', ':', ' ', '/', '%', '"', '\\', '\u{0}', '\u{7}', '\n',
        '\u{7f}', '\u{85}', 'é', '中', '😀', '\u{200b}',
    ];
    let len = match rng.gen_range(0..10) {
        0 => 0,
        1 => rng.gen_range(60..70),
        2 => rng.gen_range(200..3000),
        _ => rng.gen_range(1..20),
    };
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect()
}

fn random_value(rng: &mut StdRng, field: &FieldDescriptor, depth: usize) -> Option<Value> {
    let single = |rng: &mut StdRng| -> Option<Value> {
        Some(match field.kind() {
            Kind::String => Value::String(random_text(rng)),
            Kind::Bytes => Value::Bytes(
                (0..rng.gen_range(0..64))
                    .map(|_| rng.r#gen::<u8>())
                    .collect(),
            ),
            Kind::Bool => Value::Bool(rng.r#gen()),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(match rng.gen_range(0..4) {
                0 => 0,
                1 => -1,
                2 => i32::MAX,
                _ => rng.gen_range(-1000..100_000),
            }),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(match rng.gen_range(0..5) {
                0 => 0,
                1 => -1,
                2 => i64::MAX,
                3 => i64::MIN,
                _ => rng.gen_range(-1000..10_000_000),
            }),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.r#gen()),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.r#gen()),
            Kind::Float => Value::F32(rng.r#gen()),
            Kind::Double => Value::F64(rng.r#gen()),
            Kind::Enum(e) => Value::EnumNumber(match rng.gen_range(0..3) {
                0 => rng.gen_range(-5..200),
                _ => {
                    let values: Vec<i32> = e.values().map(|v| v.number()).collect();
                    values[rng.gen_range(0..values.len())]
                }
            }),
            Kind::Message(_) if depth == 0 => return None,
            Kind::Message(inner) => Value::Message(random_message(rng, &inner, depth - 1)),
        })
    };
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let count = if rng.gen_range(0..10) == 0 {
            rng.gen_range(0..300)
        } else {
            rng.gen_range(0..4)
        };
        let map = (0..count)
            .filter_map(|_| {
                let key = random_value(rng, &entry.map_entry_key_field(), depth)?;
                let value = random_value(rng, &entry.map_entry_value_field(), depth)?;
                Some((key.into_map_key()?, value))
            })
            .collect();
        return Some(Value::Map(map));
    }
    if field.is_list() {
        let count = if rng.gen_range(0..10) == 0 {
            rng.gen_range(0..150)
        } else {
            rng.gen_range(0..4)
        };
        return Some(Value::List(
            (0..count).filter_map(|_| single(rng)).collect(),
        ));
    }
    single(rng)
}

fn random_message(rng: &mut StdRng, desc: &MessageDescriptor, depth: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        // Each field is present with probability 3/4; setting a oneof member replaces its siblings.
        if rng.gen_range(0..4) == 0 {
            continue;
        }
        if let Some(value) = random_value(rng, &field, depth) {
            message.set_field(&field, value);
        }
    }
    message
}

async fn assert_serving(ch: &Channel) {
    let status = HealthClient::new(ch.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(
        status,
        ServingStatus::Serving as i32,
        "health stayed SERVING"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_generated_requests_to_every_rpc() {
    let seed: u64 = std::env::var("MALFORMED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1a7e);
    let per_method: usize = std::env::var("MALFORMED_PER_METHOD")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    eprintln!(
        "seed {seed} ({per_method} requests per RPC; MALFORMED_SEED / MALFORMED_PER_METHOD override)"
    );
    let pool = DescriptorPool::decode(alipay_gateway::FILE_DESCRIPTOR_SET).expect("descriptors");
    let methods = unary_methods(&pool);
    assert!(methods.len() >= 20, "{} unary RPCs found", methods.len());
    for_each_backend(|db| {
        let methods = methods.clone();
        async move {
            let (_sandbox, gateway) = start_default(&db).await;
            let ch = channel(&gateway).await;
            let mut rng = StdRng::seed_from_u64(seed);
            let mut answered = 0usize;
            for (path, input) in &methods {
                for i in 0..per_method {
                    let body = if i % 10 == 9 {
                        // Not even protobuf.
                        (0..rng.gen_range(1..40))
                            .map(|_| rng.r#gen::<u8>())
                            .collect()
                    } else {
                        random_message(&mut rng, input, 3).encode_to_vec()
                    };
                    if let Err(status) = call_raw(&ch, path, body.clone()).await {
                        assert!(
                            !matches!(
                                status.code(),
                                Code::Internal | Code::Unknown | Code::Unavailable
                            ),
                            "{path} (seed {seed}, request {i}) answered {status:?} to {body:02x?}"
                        );
                        assert!(
                            trailer_bytes(&status) < TRAILER_LIMIT,
                            "{path} (seed {seed}, request {i}): {} bytes of trailers",
                            trailer_bytes(&status)
                        );
                    }
                    answered += 1;
                }
                assert_serving(&ch).await;
            }
            eprintln!("{}: {answered} generated requests answered", db.backend);
            assert!(
                gateway.log().lines().all(|l| !l.contains("panicked")),
                "no panic in the gateway"
            );
        }
    })
    .await;
}
