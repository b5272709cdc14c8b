//! Idempotency records: the gateway's own replay guarantee for gRPC calls.
//!
//! A client retrying `CreatePayment` with the same request id must get the first answer, not a
//! second charge, even when the retry lands on another replica while the first is still
//! running. [`Idempotency::begin`] decides that with one conditional insert on the primary key
//! (exactly one concurrent caller wins), never check-then-insert.

use crate::db::{begin_write, check_len, lease_end, now};
pub use crate::entity::idempotency_record::IdempotencyState;
use crate::entity::idempotency_record::{self, Column};
use crate::error::{Result, StoreError};
use crate::jobs::{self, NewJob};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::time::Duration;

/// A stored record.
pub type IdempotencyRecord = idempotency_record::Model;

/// What the caller of [`Idempotency::begin`] should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The caller owns the key and must do the work, then [`Idempotency::complete`] (or
    /// [`Idempotency::release`]). `taken_over` is true when a previous owner's lease had expired
    /// (it probably crashed mid-way), so the work may already be partly done: reuse the same
    /// upstream request ids.
    Fresh {
        /// A previous owner's lease had expired: reuse its upstream request ids.
        taken_over: bool,
    },
    /// Finished before: replay this recorded answer.
    Completed(Vec<u8>),
    /// An earlier attempt failed after spending what the key stands for: replay this recorded
    /// failure, whatever the request's content (a corrected retry cannot un-spend it either).
    Failed(Vec<u8>),
    /// Another worker holds a live lease; answer "in progress" / retry later.
    InProgress {
        /// The worker holding the lease.
        owner: String,
        /// When the lease lapses and another worker may take the key over.
        lease_expires_at: DateTime<Utc>,
    },
    /// Same key, different request content: reject (like Alipay's REPEAT_REQ_INCONSISTENT).
    Mismatch,
}

/// Builds a key from a scope and the client's request id, e.g. `key("pay", "REQ-1")` is
/// `pay:REQ-1`, so different operations with the same request id do not collide.
pub fn key(scope: &str, request_id: &str) -> String {
    format!("{scope}:{request_id}")
}

/// How often `begin` re-reads when the record changes under it (another worker completed,
/// released or took it over). Each round makes progress for someone, so a few suffice.
const BEGIN_ROUNDS: usize = 8;

/// Idempotency repository; get one from [`crate::Store::idempotency`].
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Idempotency<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Claims `key` for `owner` (unique per attempt, e.g. replica id + request uuid) for
    /// `lease_for`, or reports why not. An expired lease with the same fingerprint is taken over.
    pub async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        owner: &str,
        lease_for: Duration,
    ) -> Result<Begin> {
        check_len("key", key, 128)?;
        check_len("fingerprint", fingerprint, 128)?;
        check_len("owner", owner, 128)?;
        let mut last_seen = None;
        for _ in 0..BEGIN_ROUNDS {
            let at = now();
            let row = idempotency_record::ActiveModel {
                key: Set(key.to_owned()),
                fingerprint: Set(fingerprint.to_owned()),
                state: Set(IdempotencyState::InProgress),
                response: Set(None),
                owner: Set(owner.to_owned()),
                lease_expires_at: Set(lease_end(at, lease_for)),
                created_at: Set(at),
                updated_at: Set(at),
            };
            let inserted = idempotency_record::Entity::insert(row)
                .on_conflict(OnConflict::column(Column::Key).do_nothing().to_owned())
                .exec_without_returning(self.db)
                .await?;
            if inserted == 1 {
                return Ok(Begin::Fresh { taken_over: false });
            }
            let Some(existing) = self.get(key).await? else {
                continue; // released in between: try to insert again
            };
            if existing.state == IdempotencyState::Failed {
                return Ok(Begin::Failed(existing.response.unwrap_or_default()));
            }
            if existing.fingerprint != fingerprint {
                return Ok(Begin::Mismatch);
            }
            match existing.state {
                IdempotencyState::Completed => {
                    return Ok(Begin::Completed(existing.response.unwrap_or_default()));
                }
                IdempotencyState::Failed => {
                    return Ok(Begin::Failed(existing.response.unwrap_or_default()));
                }
                IdempotencyState::InProgress if existing.lease_expires_at > at => {
                    return Ok(Begin::InProgress {
                        owner: existing.owner,
                        lease_expires_at: existing.lease_expires_at,
                    });
                }
                IdempotencyState::InProgress => {
                    // Compare-and-swap on the previous owner: of several workers taking over
                    // the same expired lease, only one matches.
                    let taken = idempotency_record::Entity::update_many()
                        .col_expr(Column::Owner, Expr::value(owner.to_owned()))
                        .col_expr(
                            Column::LeaseExpiresAt,
                            Expr::value(lease_end(at, lease_for)),
                        )
                        .col_expr(Column::UpdatedAt, Expr::value(at))
                        .filter(Column::Key.eq(key))
                        .filter(Column::State.eq(IdempotencyState::InProgress))
                        .filter(Column::Owner.eq(existing.owner.as_str()))
                        .filter(Column::LeaseExpiresAt.lte(at))
                        .exec(self.db)
                        .await?;
                    if taken.rows_affected == 1 {
                        return Ok(Begin::Fresh { taken_over: true });
                    }
                    last_seen = Some(existing);
                }
            }
        }
        // Still contended after several rounds: someone else is actively taking it over.
        Ok(match last_seen {
            Some(r) => Begin::InProgress {
                owner: r.owner,
                lease_expires_at: r.lease_expires_at,
            },
            None => Begin::InProgress {
                owner: String::new(),
                lease_expires_at: now(),
            },
        })
    }

    /// Records the answer to replay. Only the current owner may complete; a worker whose lease
    /// was taken over gets [`StoreError::LeaseNotHeld`] and must not report its result.
    pub async fn complete(&self, key: &str, owner: &str, response: &[u8]) -> Result<()> {
        finish_on(
            self.db,
            &Claim { key, owner },
            IdempotencyState::Completed,
            response,
        )
        .await
    }

    /// Records that the attempt failed after spending what the key stands for, with the failure
    /// to replay to every later request with this key, and in the same transaction schedules
    /// `compensation` (e.g. revoking tokens that could not be stored). Only the current owner
    /// may do so ([`StoreError::LeaseNotHeld`] otherwise, and nothing is written).
    pub async fn fail(
        &self,
        key: &str,
        owner: &str,
        response: &[u8],
        compensation: Option<&NewJob>,
    ) -> Result<()> {
        let txn = begin_write(self.db).await?;
        finish_on(
            &txn,
            &Claim { key, owner },
            IdempotencyState::Failed,
            response,
        )
        .await?;
        if let Some(job) = compensation {
            jobs::enqueue_on(&txn, job).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Forgets an in-progress key so the client may retry from scratch. Only for failures where
    /// nothing durable happened (e.g. rejected before any upstream call).
    pub async fn release(&self, key: &str, owner: &str) -> Result<()> {
        let result = idempotency_record::Entity::delete_many()
            .filter(Column::Key.eq(key))
            .filter(Column::Owner.eq(owner))
            .filter(Column::State.eq(IdempotencyState::InProgress))
            .exec(self.db)
            .await?;
        held(result.rows_affected, key, owner)
    }

    /// The record for `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<IdempotencyRecord>> {
        Ok(idempotency_record::Entity::find_by_id(key.to_owned())
            .one(self.db)
            .await?)
    }
}

/// An owned idempotency key: what a write that ends the attempt (in whatever transaction) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The idempotency key.
    pub key: &'a str,
    /// The worker whose lease on the key ends with the write.
    pub owner: &'a str,
}

/// Ends `claim`'s attempt on any connection, so the write that produced the answer and the
/// record of the answer commit together.
pub(crate) async fn finish_on<C: ConnectionTrait>(
    conn: &C,
    claim: &Claim<'_>,
    state: IdempotencyState,
    response: &[u8],
) -> Result<()> {
    let result = idempotency_record::Entity::update_many()
        .col_expr(Column::State, Expr::value(state))
        .col_expr(Column::Response, Expr::value(response.to_vec()))
        .col_expr(Column::UpdatedAt, Expr::value(now()))
        .filter(Column::Key.eq(claim.key))
        .filter(Column::Owner.eq(claim.owner))
        .filter(Column::State.eq(IdempotencyState::InProgress))
        .exec(conn)
        .await?;
    held(result.rows_affected, claim.key, claim.owner)
}

fn held(rows: u64, key: &str, owner: &str) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseNotHeld {
            resource: format!("idempotency key {key}"),
            owner: owner.to_owned(),
        })
    }
}
