//! The gRPC services: thin adapters that parse a request into an engine command (`parse`), call the engine, and
//! render the engine's view back (`render`), mapping every engine error through the one function in `status`.
//! They hold the engine only, never the store.

mod authorization;
mod card;
pub mod codec;
pub mod parse;
mod payment;
pub mod render;
pub mod status;

pub use authorization::AuthorizationApi;
pub use card::CardApi;
pub use payment::PaymentApi;
