//! The gRPC services: thin adapters that parse a request into an engine command (`parse`), call the engine, and
//! convert the record back (`convert`), mapping every engine error through the one function in `status`.

mod authorization;
mod card;
pub mod codec;
pub mod convert;
pub mod parse;
mod payment;
pub mod status;

pub use authorization::AuthorizationApi;
pub use card::CardApi;
pub use payment::PaymentApi;
