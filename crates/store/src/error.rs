//! The one error type of the store.
//!
//! Variants are the outcomes a caller must tell apart (not found, lost a race, illegal move,
//! lease gone, bad key), so the engine can react without parsing messages. Database failures
//! keep their source for diagnosis but never carry connection strings, tokens or card data.

use crate::crypto::CryptoError;
use crate::entity::state_change::EntityKind;

/// Why a store operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we support (only `sqlite:` and `postgres:`/`postgresql:`).
    #[error("unsupported database URL scheme (expected sqlite: or postgres:)")]
    UnsupportedUrl,
    /// The directory for a SQLite file could not be created.
    #[error("cannot create database directory {path}: {source}")]
    CreateDir {
        /// The directory that could not be created.
        path: String,
        #[source]
        /// Why it could not be created.
        source: std::io::Error,
    },
    /// Could not open the database (the URL is left out on purpose: it may hold a password).
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sea_orm::DbErr),
    /// A migration failed; the schema is at the last migration that succeeded.
    #[error("database migration failed: {0}")]
    Migration(#[source] sea_orm::DbErr),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// No row with that id.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: EntityKind,
        /// The id asked for.
        id: String,
    },
    /// Someone else changed the row since the caller read it: re-read and decide again.
    #[error(
        "{entity} {id} was modified concurrently (expected version {expected}, found {actual})"
    )]
    VersionConflict {
        /// The kind of record.
        entity: EntityKind,
        /// The record's id.
        id: String,
        /// The version the caller read.
        expected: i64,
        /// The version found.
        actual: i64,
    },
    /// A record the write depended on changed since the caller read it (a binding refreshed, revoked or expired,
    /// here or on another replica): nothing was written; read it again and decide again.
    #[error("{entity} {id} changed since version {expected}")]
    DependencyChanged {
        /// The kind of record.
        entity: EntityKind,
        /// The record's id.
        id: String,
        /// The version the caller read.
        expected: i64,
    },
    /// The status table forbids the move (e.g. a late PROCESSING after SUCCESS).
    #[error("{entity} {id} cannot move from {from} to {to}")]
    IllegalTransition {
        /// The kind of record.
        entity: EntityKind,
        /// The record's id.
        id: String,
        /// Its current status.
        from: &'static str,
        /// The status asked for.
        to: &'static str,
    },
    /// The caller no longer holds the lease (it expired and another worker took over, or the
    /// record finished): its result must not be written.
    #[error("lease on {resource} is not held by {owner}")]
    LeaseNotHeld {
        /// The leased key or job.
        resource: String,
        /// The worker that thought it held the lease.
        owner: String,
    },
    /// A refund or capture refers to a payment that does not exist.
    #[error("payment {0} does not exist")]
    UnknownPayment(String),
    /// A value breaks a documented limit before it reaches the database.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, as the caller named it.
        field: &'static str,
        /// The limit it breaks.
        reason: String,
    },
    /// A page token that this store did not issue (or that was altered).
    #[error("invalid page token")]
    InvalidPageToken,
    /// An event-stream cursor that this store did not issue (malformed, altered, or beyond the stream's head).
    #[error("invalid event cursor")]
    InvalidCursor,
    /// An event-stream cursor older than the retention window: events after it are gone.
    #[error("event cursor is older than the retention window")]
    CursorExpired,
    /// A stored value could not be read back (e.g. scopes that are not a JSON array).
    #[error("corrupt {field} in row {id}: {reason}")]
    Corrupt {
        /// The column that could not be read.
        field: &'static str,
        /// The row's id.
        id: String,
        /// Why it could not be read.
        reason: String,
    },
    /// Token encryption or decryption failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
