//! Durable persistence for the gateway.
//!
//! Everything that must survive a crash lives here: payments (written before Alipay is called),
//! refunds, captures, wallet bindings with encrypted tokens, the idempotency records that let a
//! retried gRPC call replay its answer, the reconciliation jobs that finish unknown outcomes, the
//! audit trail of every status change and every Alipay call, received notifications, and the commit-ordered
//! outbox of payment, refund and capture events behind `StreamPaymentEvents`.
//!
//! The same code runs on SQLite (single node, tests) and PostgreSQL (replicas). Where they
//! differ (job claiming, write locks) the store picks the safe form for the backend.
//!
//! Entry point: [`Store::connect`], then [`Store::migrate`], then one repository per aggregate
//! ([`Store::payments`], [`Store::jobs`], ...).

pub mod audit;
mod batch;
pub mod bindings;
pub mod calls;
pub mod captures;
pub mod card_facts;
pub mod card_tokens;
mod crypto;
mod db;
pub mod entity;
mod error;
pub mod events;
mod group_commit;
pub mod idempotency;
mod inserted;
pub mod jobs;
mod kept;
mod migration;
pub mod next_action;
pub mod notifications;
mod operations;
mod outbox;
mod page;
pub mod payments;
pub mod refunds;
pub mod statements;
pub mod status;
mod store;
mod transition;
mod vocabulary;

pub use crypto::{CryptoError, Secret, TokenCipher};
pub use entity::state_change::EntityKind;
pub use error::{Result, StoreError};
pub use inserted::Inserted;
pub use next_action::NextAction;
pub use page::{MAX_PAGE_SIZE, Page, PageRequest, PageSize};
pub use status::{BindingStatus, Lifecycle, OperationStatus, PaymentStatus};
pub use store::Store;
pub use transition::{OperationUpdate, ResultInfo, Transition};
pub use vocabulary::{CaptureMode, ProductCode, ResultStatus, Spelled, Wallet};
