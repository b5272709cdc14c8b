//! The logic refunds and captures share. Both are follow-up operations on a payment that Alipay
//! answers with the same S/F/U envelope and keys by a request id of their own, so they are
//! written ahead, moved and summed by the same rules over two tables; [`crate::refunds`] and
//! [`crate::captures`] add only what differs (the public types and each kind's own columns).

use crate::db::{check_len, check_money, check_opt_len, new_id, now};
use crate::entity::state_change::EntityKind;
use crate::entity::{capture, refund};
use crate::error::Result;
use crate::inserted::Inserted;
use crate::jobs::{JobKind, NewJob};
use crate::status::{Lifecycle, OperationStatus};
use crate::transition::{self, Answered, OperationUpdate, Transition, Versioned};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, Value};

/// A refund-like table: one row per request id, belonging to a payment, carrying an amount.
pub(crate) trait Operation: Answered<Status = OperationStatus> {
    /// The request id's name in validation errors (`refund_request_id`, ...).
    const REQUEST_FIELD: &'static str;
    const REQUEST_ID: Self::Column;
    const PAYMENT_ID: Self::Column;
    const AMOUNT_VALUE: Self::Column;
    const CURRENCY: Self::Column;
    const REQUEST_FINGERPRINT: Self::Column;
    const CREATED_AT: Self::Column;
    /// The job that finishes a row of this kind whose caller died: written with the intent.
    const INQUIRY: JobKind;
    fn amount_of(model: &Self::Model) -> i64;
}

/// Implements [`Versioned`], [`Answered`] and [`Operation`] for an entity module whose columns
/// follow the shared layout, naming only the columns that differ.
macro_rules! operation_entity {
    (
        $entity:ident, $kind:expr, $inquiry:expr, $request_field:literal, $request_id:ident,
        $alipay_id:ident
    ) => {
        impl Versioned for $entity::Entity {
            type Status = OperationStatus;
            const KIND: EntityKind = $kind;
            const ID: $entity::Column = $entity::Column::Id;
            const STATUS: $entity::Column = $entity::Column::Status;
            const VERSION: $entity::Column = $entity::Column::Version;
            const UPDATED_AT: $entity::Column = $entity::Column::UpdatedAt;
            fn id_of(model: &$entity::Model) -> &str {
                &model.id
            }
            fn status_of(model: &$entity::Model) -> OperationStatus {
                model.status
            }
            fn version_of(model: &$entity::Model) -> i64 {
                model.version
            }
        }

        impl Answered for $entity::Entity {
            const ALIPAY_ID: $entity::Column = $entity::Column::$alipay_id;
            const LAST_RESULT_STATUS: $entity::Column = $entity::Column::LastResultStatus;
            const LAST_RESULT_CODE: $entity::Column = $entity::Column::LastResultCode;
            const LAST_RESULT_MESSAGE: $entity::Column = $entity::Column::LastResultMessage;
        }

        impl Operation for $entity::Entity {
            const REQUEST_FIELD: &'static str = $request_field;
            const REQUEST_ID: $entity::Column = $entity::Column::$request_id;
            const PAYMENT_ID: $entity::Column = $entity::Column::PaymentId;
            const AMOUNT_VALUE: $entity::Column = $entity::Column::AmountValue;
            const CURRENCY: $entity::Column = $entity::Column::Currency;
            const REQUEST_FINGERPRINT: $entity::Column = $entity::Column::RequestFingerprint;
            const CREATED_AT: $entity::Column = $entity::Column::CreatedAt;
            const INQUIRY: JobKind = $inquiry;
            fn amount_of(model: &$entity::Model) -> i64 {
                model.amount_value
            }
        }
    };
}

operation_entity!(
    refund,
    EntityKind::Refund,
    JobKind::InquireRefund,
    "refund_request_id",
    RefundRequestId,
    AlipayRefundId
);
operation_entity!(
    capture,
    EntityKind::Capture,
    JobKind::InquireCapture,
    "capture_request_id",
    CaptureRequestId,
    AlipayCaptureId
);

/// What every operation intent carries, whatever its kind.
pub(crate) struct Intent {
    pub request_id: String,
    /// The gateway's payment id (not Alipay's).
    pub payment_id: String,
    pub amount_value: i64,
    pub currency: String,
    pub request_fingerprint: String,
}

/// Commits the CREATED row before Alipay is called, with its inquiry job due at `inquire_at`, atomically; a repeated request id returns [`Inserted::Existing`]. `own_columns` validates and sets the kind's own columns; it runs
/// between the shared checks so errors come in field order. Fails with
/// [`StoreError::UnknownPayment`], before anything is written, if the payment does not exist: the intent's event
/// reads the payment it names (its snapshot), which is the one read of it.
pub(crate) async fn insert_intent<E>(
    db: &DatabaseConnection,
    intent: Intent,
    inquire_at: DateTime<Utc>,
    own_columns: impl FnOnce() -> Result<E::ActiveModel>,
) -> Result<Inserted<E::Model>>
where
    E: Operation,
    E::ActiveModel: ActiveModelTrait<Entity = E> + sea_orm::TryIntoModel<E::Model> + Send,
    E::Model: sea_orm::IntoActiveModel<E::ActiveModel> + sea_orm::FromQueryResult,
{
    check_len(E::REQUEST_FIELD, &intent.request_id, 64)?;
    check_len("payment_id", &intent.payment_id, 36)?;
    check_money(intent.amount_value, &intent.currency)?;
    let mut row = own_columns()?;
    check_len("request_fingerprint", &intent.request_fingerprint, 128)?;
    let id = new_id();
    let at = now();
    let unknown = Value::from(None::<String>);
    for (column, value) in [
        (E::ID, Value::from(id.clone())),
        (E::REQUEST_ID, Value::from(intent.request_id.clone())),
        (E::PAYMENT_ID, Value::from(intent.payment_id)),
        (E::AMOUNT_VALUE, Value::from(intent.amount_value)),
        (E::CURRENCY, Value::from(intent.currency)),
        (E::ALIPAY_ID, unknown.clone()),
        (E::STATUS, Value::from(OperationStatus::Created.as_str())),
        (E::LAST_RESULT_STATUS, unknown.clone()),
        (E::LAST_RESULT_CODE, unknown.clone()),
        (E::LAST_RESULT_MESSAGE, unknown),
        (
            E::REQUEST_FINGERPRINT,
            Value::from(intent.request_fingerprint),
        ),
        (E::CREATED_AT, Value::from(at)),
        (E::UPDATED_AT, Value::from(at)),
        (E::VERSION, Value::from(1_i64)),
    ] {
        row.try_set(column, value)?;
    }
    transition::insert_intent::<E>(
        db,
        row,
        &id,
        E::REQUEST_ID,
        &intent.request_id,
        OperationStatus::Created,
        at,
        Some(&NewJob::new(E::INQUIRY, &id, inquire_at)),
        None,
    )
    .await
}

/// Guarded status change of `before` (the row as read) writing Alipay's id and result; the rules of
/// [`transition::apply`].
pub(crate) async fn transition<E: Operation>(
    db: &DatabaseConnection,
    before: &E::Model,
    transition: Transition<OperationStatus>,
    update: OperationUpdate,
) -> Result<E::Model> {
    check_opt_len("alipay_id", update.alipay_id.as_deref(), 64)?;
    let changes = transition::answer_changes::<E>(update.alipay_id, update.result)?;
    transition::apply::<E>(db, before, &transition, changes).await
}

/// The operation with this id, if any.
pub(crate) async fn get<E: Operation>(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Option<E::Model>> {
    transition::find::<E, _>(db, E::ID, id).await
}

/// The operation with this request id, if any.
pub(crate) async fn get_by_request_id<E: Operation>(
    db: &DatabaseConnection,
    request_id: &str,
) -> Result<Option<E::Model>> {
    transition::find::<E, _>(db, E::REQUEST_ID, request_id).await
}

/// All operations of a payment, oldest first.
pub(crate) async fn list_for_payment<E: Operation>(
    db: &DatabaseConnection,
    payment_id: &str,
) -> Result<Vec<E::Model>> {
    Ok(E::find()
        .filter(E::PAYMENT_ID.eq(payment_id))
        .order_by_asc(E::CREATED_AT)
        .order_by_asc(E::ID)
        .all(db)
        .await?)
}

/// The amount of a payment's operations that succeeded or may still succeed (everything but
/// FAIL), so the engine can refuse one that would exceed the payment before asking Alipay.
pub(crate) async fn committed_amount<E: Operation>(
    db: &DatabaseConnection,
    payment_id: &str,
) -> Result<i64> {
    let rows = list_for_payment::<E>(db, payment_id).await?;
    Ok(rows
        .iter()
        .filter(|r| E::status_of(r) != OperationStatus::Fail)
        .map(E::amount_of)
        .sum())
}

/// Declares the repository of one operation kind (`Refunds`, `Captures`) with everything the kinds share: reads,
/// guarded transitions and the committed sum, all delegating to this module. Each kind's module adds only its own
/// `insert_intent` (its own columns).
macro_rules! repository {
    ($(#[$doc:meta])* $repo:ident, $entity:ident, $model:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $repo<'a> {
            db: &'a sea_orm::DatabaseConnection,
        }

        impl<'a> $repo<'a> {
            pub(crate) fn new(db: &'a sea_orm::DatabaseConnection) -> Self {
                Self { db }
            }

            /// Guarded status change of the row read at `expected_version`; same rules and errors as
            /// [`crate::payments::Payments::transition`].
            pub async fn transition(
                &self,
                id: &str,
                expected_version: i64,
                transition: $crate::transition::Transition<$crate::status::OperationStatus>,
                update: $crate::transition::OperationUpdate,
            ) -> $crate::error::Result<$model> {
                let current = $crate::transition::read_at::<$entity::Entity, _>(
                    self.db,
                    id,
                    expected_version,
                    &transition,
                )
                .await?;
                self.transition_from(&current, transition, update).await
            }

            /// Guarded status change of `before`, the row as the caller read it; same rules and errors as
            /// [`crate::payments::Payments::transition_from`].
            pub async fn transition_from(
                &self,
                before: &$model,
                transition: $crate::transition::Transition<$crate::status::OperationStatus>,
                update: $crate::transition::OperationUpdate,
            ) -> $crate::error::Result<$model> {
                $crate::operations::transition::<$entity::Entity>(self.db, before, transition, update).await
            }

            /// The operation with this id, if any.
            pub async fn get(&self, id: &str) -> $crate::error::Result<Option<$model>> {
                $crate::operations::get::<$entity::Entity>(self.db, id).await
            }

            /// The operation with this request id (Alipay's idempotency key), if any.
            pub async fn get_by_request_id(
                &self,
                request_id: &str,
            ) -> $crate::error::Result<Option<$model>> {
                $crate::operations::get_by_request_id::<$entity::Entity>(self.db, request_id).await
            }

            /// All operations of this kind on a payment, oldest first.
            pub async fn list_for_payment(
                &self,
                payment_id: &str,
            ) -> $crate::error::Result<Vec<$model>> {
                $crate::operations::list_for_payment::<$entity::Entity>(self.db, payment_id).await
            }

            /// Operations of this kind not yet final whose last update is older than `older_than`,
            /// oldest first: the reconciler's safety net for a row whose inquiry job is gone.
            pub async fn list_stale_unfinished(
                &self,
                older_than: chrono::DateTime<chrono::Utc>,
                limit: u64,
            ) -> $crate::error::Result<Vec<$model>> {
                $crate::transition::stale_unfinished::<$entity::Entity>(self.db, older_than, limit)
                    .await
            }

            /// The amount of a payment's operations of this kind that succeeded or may still succeed
            /// (everything but FAIL), so the engine can refuse one that would exceed the payment before
            /// asking Alipay.
            pub async fn committed_amount(&self, payment_id: &str) -> $crate::error::Result<i64> {
                $crate::operations::committed_amount::<$entity::Entity>(self.db, payment_id).await
            }
        }
    };
}
pub(crate) use repository;
