//! Writes that commit together, sent to the database in one round trip instead of one per statement.
//!
//! Every statement is a round trip: on PostgreSQL a network exchange with the server, on SQLite two thread hand-offs
//! to sqlx's connection thread and back. A write-ahead intent (row, audit row, job, event) was six of them with its
//! begin and commit, and they were most of the gateway's CPU per Pay (docs/performance.md). A batch sends them as:
//! - **PostgreSQL:** one statement whose parts are data-modifying CTEs, outside any transaction block. A single
//!   statement is atomic on its own (all of it commits or none), so no `BEGIN`/`COMMIT` is needed either.
//! - **SQLite:** the statements joined with `;` in one call, which sqlx runs one after another on its connection
//!   thread, binding each statement's `?` from the shared argument list in order. SQLite has no data-modifying CTEs;
//!   the batch runs inside a write transaction: the caller's ([`Batch::run`]), or its own sent in the same call
//!   ([`Batch::commit`]), which a failing statement leaves to roll back, and which commits together with the
//!   batches of concurrent writers ([`crate::group_commit`]).
//!
//! A *guarded* batch ([`Batch::guarded`]) starts with a statement that may write nothing: a guarded
//! `UPDATE ... RETURNING` whose row moved on since the caller read it, or an insert whose dependency changed
//! ([`insert_while_at`]). The statements after it then write nothing either, on both stores, so the batch needs no
//! rollback to be undone and can run inside a caller's transaction too:
//! - **PostgreSQL:** each insert selects its values `FROM` the first statement's CTE, which holds no row then.
//! - **SQLite:** each insert selects its values `WHERE changes() = 1`: the statement before it wrote exactly one
//!   row. That chains from the update as long as every statement but the last writes one row whenever it runs; the
//!   last may write none (a job insert that finds an active job).

use crate::entity::payment_event;
use crate::error::Result;
use crate::statements::{self, StatementInfo};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement, Value,
};
use std::time::Instant;

/// Key of the PostgreSQL advisory lock that orders event appends ("payment_events" in ASCII, truncated); see
/// [`crate::outbox`].
const COMMIT_ORDER_LOCK: i64 = 0x7061_796d_656e_7473;

/// Statements that commit together. The first one returns its key (`RETURNING id`) when it writes its row: the batch
/// answers only whether it did. The caller already holds the row it wrote (an insert's values, or the row it read with
/// the changes applied, see [`crate::transition`]), so the row is neither sent back whole nor decoded: on the Pay path
/// that decoding was as much CPU as building the statements.
#[derive(Debug)]
pub(crate) struct Batch {
    backend: DbBackend,
    statements: Vec<Statement>,
    /// Whether a statement appends a payment event, which on PostgreSQL takes the commit-order lock first.
    in_commit_order: bool,
    /// Whether the statements after the first run only when it returned a row (see [`Batch::guarded`]).
    guarded: bool,
}

impl Batch {
    /// A batch answering whether `first` wrote its row (it must end with `RETURNING` of one column).
    pub(crate) fn new(backend: DbBackend, first: Statement) -> Self {
        Self {
            backend,
            statements: vec![first],
            in_commit_order: false,
            guarded: false,
        }
    }

    /// A batch whose later statements write only if `first` (a guarded `UPDATE ... RETURNING` of at most one row)
    /// returned its row; see the module documentation for what each store needs of them.
    pub(crate) fn guarded(backend: DbBackend, first: Statement) -> Self {
        Self {
            guarded: true,
            ..Self::new(backend, first)
        }
    }

    /// Adds an insert of one row that returns nothing (in a guarded batch it must be `INSERT ... VALUES (...)`).
    pub(crate) fn then(&mut self, statement: Statement) -> Result<()> {
        let statement = if self.guarded {
            self.only_after_first(statement)?
        } else {
            statement
        };
        self.statements.push(statement);
        Ok(())
    }

    /// `INSERT INTO t (columns) VALUES (values) rest` as `INSERT INTO t (columns) SELECT values <guard> rest`, where
    /// the guard selects no row unless the first statement wrote its row (see the module documentation).
    fn only_after_first(&self, statement: Statement) -> Result<Statement> {
        let guard = match self.backend {
            DbBackend::Postgres => " FROM b0",
            _ => " WHERE changes() = 1",
        };
        let Some((head, values, rest)) = split_values(&statement.sql) else {
            return Err(DbErr::Custom(format!(
                "a guarded batch takes single-row inserts only: {}",
                statement.sql
            ))
            .into());
        };
        Ok(Statement {
            sql: format!("{head} SELECT {values}{guard}{rest}"),
            ..statement
        })
    }

    /// Adds the insert of a payment event. On PostgreSQL its values are selected from the commit-order lock's CTE, so
    /// the lock is held before the row, and with it its `seq`, is produced (see [`crate::outbox`]); the lock is held
    /// until the statement's implicit commit.
    pub(crate) fn then_event(&mut self, row: payment_event::ActiveModel) -> Result<()> {
        if self.backend == DbBackend::Postgres {
            self.in_commit_order = true;
            let after_first = if self.guarded { ", b0" } else { "" };
            self.statements.push(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "INSERT INTO payment_events ({EVENT_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                     FROM commit_order{after_first}"
                ),
                event_values(row)?,
            ));
            Ok(())
        } else {
            use sea_orm::{EntityTrait, QueryTrait};
            self.then(
                self.backend
                    .build(&payment_event::Entity::insert(row).into_query()),
            )
        }
    }

    /// Runs the batch on `conn` (on SQLite, the caller's write transaction) and answers whether the first statement
    /// wrote its row.
    pub(crate) async fn run<C: ConnectionTrait>(self, conn: &C) -> Result<bool> {
        let statement = self.into_statement();
        Ok(!conn.query_all_raw(statement).await?.is_empty())
    }

    /// Runs the batch as a transaction of its own and answers whether the first statement wrote its row. On
    /// PostgreSQL that is the one statement, sent on a connection kept from the previous batch ([`crate::kept`]). On
    /// SQLite, `BEGIN IMMEDIATE`, the statements and `COMMIT` go to a pooled connection's thread as one call, not
    /// three (each call is a hand-off to that thread and back), committed together with the batches of concurrent
    /// writers ([`crate::group_commit`]). The caller must not hold the write turn.
    pub(crate) async fn commit(self, db: &DatabaseConnection) -> Result<bool> {
        let backend = self.backend;
        let statement = self.into_statement();
        let values = statement.values.unwrap_or(sea_orm::Values(Vec::new()));
        let started = Instant::now();
        // Neither call goes through sea-orm, whose statement callback therefore does not see it.
        let (wrote, operation) = if backend == DbBackend::Sqlite {
            let rows = crate::group_commit::commit(db, statement.sql, values).await;
            (
                rows.map(|rows| !rows.is_empty())
                    .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e))),
                "BEGIN",
            )
        } else {
            let rows = crate::kept::query(db, statement.sql, values).await;
            (rows.map(|rows| !rows.is_empty()), "WITH")
        };
        if let Some(observe) = crate::db::direct_observer(db) {
            observe(&StatementInfo::of(
                statements::system_name(backend),
                operation,
                started.elapsed(),
                wrote.is_err(),
            ));
        }
        Ok(wrote?)
    }

    /// The one statement sent.
    fn into_statement(self) -> Statement {
        let mut sql = String::new();
        let mut values = Vec::new();
        match self.backend {
            DbBackend::Postgres => {
                sql.push_str("WITH ");
                if self.in_commit_order {
                    values.push(Value::from(COMMIT_ORDER_LOCK));
                    sql.push_str(
                        "commit_order AS MATERIALIZED (SELECT pg_advisory_xact_lock($1)), ",
                    );
                }
                for (n, statement) in self.statements.into_iter().enumerate() {
                    if n > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("b{n} AS ("));
                    sql.push_str(&shift_placeholders(&statement.sql, values.len()));
                    sql.push(')');
                    values.extend(statement.values.map(|v| v.0).unwrap_or_default());
                }
                sql.push_str(" SELECT * FROM b0");
            }
            _ => {
                for statement in self.statements {
                    sql.push_str(&statement.sql);
                    sql.push_str(";\n");
                    values.extend(statement.values.map(|v| v.0).unwrap_or_default());
                }
            }
        }
        Statement::from_sql_and_values(self.backend, sql, values)
    }
}

/// `statement`, an `INSERT ... VALUES (...)` of one row, made to insert only while the row `id` of `table` stands at
/// `version`: `INSERT ... SELECT values WHERE EXISTS (SELECT 1 FROM table WHERE id = ? AND version = ?) rest`.
/// Every write of a versioned row bumps its version, so the row is then exactly as the caller read it.
pub(crate) fn insert_while_at(
    statement: Statement,
    table: &str,
    id: &str,
    version: i64,
) -> Result<Statement> {
    let Some((head, values, rest)) = split_values(&statement.sql) else {
        return Err(DbErr::Custom(format!("not a single-row insert: {}", statement.sql)).into());
    };
    let mut params = statement.values.map(|v| v.0).unwrap_or_default();
    let (id_at, version_at) = match statement.db_backend {
        DbBackend::Postgres => (
            format!("${}", params.len() + 1),
            format!("${}", params.len() + 2),
        ),
        _ => ("?".to_owned(), "?".to_owned()),
    };
    params.push(Value::from(id));
    params.push(Value::from(version));
    Ok(Statement::from_sql_and_values(
        statement.db_backend,
        format!(
            "{head} SELECT {values} WHERE EXISTS (SELECT 1 FROM {table} WHERE id = {id_at} AND version = \
             {version_at}){rest}"
        ),
        params,
    ))
}

/// The columns an event insert names, in the order of [`event_values`].
const EVENT_COLUMNS: &str = "event_id, event_type, entity_id, payment_request_id, customer_id, product_code, \
                             snapshot, created_at";

/// `row`'s values in the order of [`EVENT_COLUMNS`] (every one is set by [`crate::outbox`]).
fn event_values(row: payment_event::ActiveModel) -> Result<Vec<Value>> {
    let values = [
        row.event_id.into_value(),
        row.event_type.into_value(),
        row.entity_id.into_value(),
        row.payment_request_id.into_value(),
        row.customer_id.into_value(),
        row.product_code.into_value(),
        row.snapshot.into_value(),
        row.created_at.into_value(),
    ];
    Ok(values
        .into_iter()
        .map(|v| v.ok_or_else(|| DbErr::Custom("payment event column not set".into())))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// `INSERT ... VALUES (values) rest` split around its one row of values: the part before ` VALUES`, the values
/// without their parentheses, and what follows (`ON CONFLICT ...`). `None` for any other shape. Quoted literals and
/// identifiers are skipped.
fn split_values(sql: &str) -> Option<(&str, &str, &str)> {
    let mut quote: Option<u8> = None;
    let mut depth = 0usize;
    let mut open = None;
    for (at, byte) in sql.bytes().enumerate() {
        match (quote, byte) {
            (Some(q), _) if byte == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(byte),
            (None, b'(') => {
                if depth == 0 && open.is_none() && sql[..at].ends_with(" VALUES ") {
                    open = Some(at);
                }
                depth += 1;
            }
            (None, b')') => {
                depth = depth.checked_sub(1)?;
                if let (0, Some(start)) = (depth, open) {
                    let rest = &sql[at + 1..];
                    return (!rest.trim_start().starts_with(','))
                        .then(|| (&sql[..start - " VALUES ".len()], &sql[start + 1..at], rest));
                }
            }
            _ => {}
        }
    }
    None
}

/// `sql` with PostgreSQL's numbered parameters `$n` renumbered `$(n + by)`, leaving quoted literals and identifiers
/// alone: each statement of a batch numbers its own parameters from 1, and the batch's single statement takes them
/// all in order.
fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                match digits.parse::<usize>() {
                    Ok(n) => out.push_str(&format!("${}", n + by)),
                    Err(_) => {
                        out.push('$');
                        out.push_str(&digits);
                    }
                }
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_outside_quotes_only() {
        assert_eq!(
            shift_placeholders(
                r#"INSERT INTO "t" ("a$1", b) VALUES ($1, $12, '$3', 'it''s $4') RETURNING $2"#,
                5
            ),
            r#"INSERT INTO "t" ("a$1", b) VALUES ($6, $17, '$3', 'it''s $4') RETURNING $7"#
        );
        assert_eq!(shift_placeholders("SELECT $", 3), "SELECT $");
    }

    #[test]
    fn a_postgres_batch_is_one_statement_taking_every_value_in_order() {
        let first = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO a (x, y) VALUES ($1, $2) RETURNING *",
            [Value::from(1), Value::from(2)],
        );
        let mut batch = Batch::new(DbBackend::Postgres, first);
        batch
            .then(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO b (z) VALUES ($1)",
                [Value::from(3)],
            ))
            .unwrap();
        let statement = batch.into_statement();
        assert_eq!(
            statement.sql,
            "WITH b0 AS (INSERT INTO a (x, y) VALUES ($1, $2) RETURNING *), b1 AS (INSERT INTO b (z) VALUES ($3)) \
             SELECT * FROM b0"
        );
        assert_eq!(
            statement.values.map(|v| v.0),
            Some(vec![Value::from(1), Value::from(2), Value::from(3)])
        );
    }

    #[test]
    fn a_guarded_batch_inserts_only_after_its_first_statement_wrote() {
        let update = |backend| {
            Statement::from_string(backend, "UPDATE a SET x = 1 WHERE id = 'i' RETURNING *")
        };
        let insert = |backend, sql: &str| Statement::from_string(backend, sql);
        let mut postgres = Batch::guarded(DbBackend::Postgres, update(DbBackend::Postgres));
        postgres
            .then(insert(
                DbBackend::Postgres,
                r#"INSERT INTO "b" ("z", "w") VALUES (CAST($1 AS jsonb), ')') ON CONFLICT DO NOTHING"#,
            ))
            .unwrap();
        assert_eq!(
            postgres.into_statement().sql,
            r#"WITH b0 AS (UPDATE a SET x = 1 WHERE id = 'i' RETURNING *), b1 AS (INSERT INTO "b" ("z", "w") SELECT CAST($1 AS jsonb), ')' FROM b0 ON CONFLICT DO NOTHING) SELECT * FROM b0"#
        );
        let mut sqlite = Batch::guarded(DbBackend::Sqlite, update(DbBackend::Sqlite));
        sqlite
            .then(insert(
                DbBackend::Sqlite,
                r#"INSERT INTO "b" ("z") VALUES (?)"#,
            ))
            .unwrap();
        assert!(
            sqlite
                .into_statement()
                .sql
                .ends_with("INSERT INTO \"b\" (\"z\") SELECT ? WHERE changes() = 1;\n")
        );
        let mut refused = Batch::guarded(DbBackend::Sqlite, update(DbBackend::Sqlite));
        for multi_row in [
            r#"INSERT INTO "b" ("z") VALUES (?), (?)"#,
            r#"INSERT INTO "b" ("z") SELECT ?"#,
        ] {
            assert!(refused.then(insert(DbBackend::Sqlite, multi_row)).is_err());
        }
    }
}
