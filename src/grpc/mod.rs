//! The gRPC services: thin adapters that validate a request (`validate`), convert it to an engine command
//! (`convert`), call the engine, and convert the record back, mapping every engine error through the one
//! function in `status`.

mod authorization;
mod card;
pub mod codec;
pub mod convert;
mod payment;
pub mod status;
pub mod validate;

pub use authorization::AuthorizationApi;
pub use card::CardApi;
pub use payment::PaymentApi;
