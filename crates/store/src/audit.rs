//! The append-only audit trail of status changes.
//!
//! Rows are only ever inserted, in the same transaction as the change they describe, so the
//! trail cannot disagree with the data. Reading it answers "how did this payment get here?".

use crate::entity::state_change::{self, EntityKind};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Statement,
};

/// One recorded status change.
pub type StateChange = state_change::Model;

/// Read access to the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Every status change of one entity, oldest first.
    pub async fn list_for(&self, kind: EntityKind, entity_id: &str) -> Result<Vec<StateChange>> {
        Ok(state_change::Entity::find()
            .filter(state_change::Column::EntityKind.eq(kind))
            .filter(state_change::Column::EntityId.eq(entity_id))
            .order_by_asc(state_change::Column::CreatedAt)
            .order_by_asc(state_change::Column::Id)
            .all(self.db)
            .await?)
    }
}

/// The insert of one row, run in the transaction (or [`crate::batch`]) of the change it records.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert(
    backend: DbBackend,
    kind: EntityKind,
    entity_id: &str,
    from: Option<&str>,
    to: &str,
    source: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Statement {
    let row = state_change::ActiveModel {
        id: Set(crate::db::new_id()),
        entity_kind: Set(kind),
        entity_id: Set(entity_id.to_owned()),
        from_status: Set(from.map(str::to_owned)),
        to_status: Set(to.to_owned()),
        source: Set(source.to_owned()),
        reason: Set(reason.map(str::to_owned)),
        created_at: Set(at),
    };
    backend.build(&state_change::Entity::insert(row).into_query())
}
