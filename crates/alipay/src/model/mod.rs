//! Typed wire models (camelCase JSON). Responses tolerate unknown fields; requests omit unset options.

pub mod auth;
pub mod card;
pub mod common;
pub mod notify;
pub mod payments;
mod serde_helpers;
pub mod users;

pub use auth::*;
pub use card::*;
pub use common::*;
pub use notify::*;
pub use payments::*;
pub use users::*;
