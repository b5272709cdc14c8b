//! gRPC contracts of alipay-gateway, compiled from `proto/alipay/gateway/v1`.
//!
//! Other Rust services depend on this crate to call the gateway with the exact
//! generated types the gateway itself serves, instead of compiling the
//! `.proto` files a second time:
//!
//! * [`pb::v1`]: the `alipay.gateway.v1` messages (prost) plus, per service, a
//!   tonic client (`payment_service_client::PaymentServiceClient`, ...) and
//!   server (`payment_service_server::PaymentServiceServer`, ...). Services:
//!   `AuthorizationService`, `PaymentService`, `CardService`.
//! * [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server
//!   reflection (so grpcurl and similar tools can discover the API).
//!
//! The gateway itself (the `alipay-gateway` binary) is built from the other
//! modules: [`config`] (settings from flags, environment and a TOML file),
//! [`grpc`] (the service implementations and the one error mapping), [`notify`] (the notification listener),
//! [`server`] (assembly, health, reflection, graceful shutdown), [`telemetry`] (OpenTelemetry traces and
//! metrics) and [`cli`].

pub mod cli;
pub mod config;
pub mod grpc;
pub mod notify;
pub mod server;
pub mod telemetry;

/// Generated protobuf code, one module per protobuf package.
pub mod pb {
    /// Package `alipay.gateway.v1`.
    // Generated code: oneofs such as `AuthorizeCardRequest.card_source` and
    // `PaymentEvent.subject` hold a large message next to a small one; boxing
    // them would make the generated API clumsier for no measurable gain.
    #[allow(clippy::large_enum_variant)]
    pub mod v1 {
        tonic::include_proto!("alipay.gateway.v1");
        // `Debug` of every message holding a credential or card data (payment and auth codes, card number,
        // CVV, cardholder name, billing address, card token, CAVV) prints those fields as `[REDACTED]`; see
        // SECRET_FIELDS in build.rs.
        include!(concat!(env!("OUT_DIR"), "/alipay_gateway_debug.rs"));
    }
}

/// Encoded `google.protobuf.FileDescriptorSet` of every file under `proto/`,
/// for `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("alipay_gateway_descriptor");
