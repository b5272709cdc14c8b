//! Typed wire models (camelCase JSON). Responses tolerate unknown fields; requests omit unset options.

pub mod auth;
pub mod card;
pub mod card_checks;
pub mod card_result;
pub mod common;
pub mod notify;
pub mod payments;
mod serde_helpers;
pub mod users;

pub use auth::*;
pub use card::*;
pub use card_checks::*;
pub use card_result::*;
pub use common::*;
pub use notify::*;
pub use payments::*;
pub use users::*;
