//! sea-orm entities, one per table. Repository modules wrap them; the models are exported so the
//! engine can read every column without a second set of structs to keep in sync.

pub mod alipay_call;
pub mod capture;
pub mod card_token;
pub mod idempotency_record;
pub mod notification;
pub mod payment;
pub mod payment_card_facts;
pub mod payment_event;
pub mod reconciliation_job;
pub mod refund;
pub mod state_change;
pub mod wallet_binding;
