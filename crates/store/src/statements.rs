//! What telemetry may learn about the statements the store runs: the database system, the kind of statement and
//! how it went. The SQL text and its bound values stay here, because they carry payment data and ids.

use std::time::Duration;

use sea_orm::DbBackend;

/// One executed statement, reduced to what may leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementInfo {
    /// `db.system.name`: `sqlite` or `postgresql`.
    pub system: &'static str,
    /// `db.operation.name`: the statement's leading keyword (`SELECT`, `INSERT`, ...) or `OTHER`.
    pub operation: &'static str,
    /// How long it took.
    pub elapsed: Duration,
    /// Whether it returned an error.
    pub failed: bool,
}

/// Who is told of every statement (see [`crate::Store::observe_statements`]).
pub(crate) type Observer = std::sync::Arc<dyn Fn(&StatementInfo) + Send + Sync>;

impl StatementInfo {
    /// A statement sent through sea-orm.
    pub(crate) fn new(system: &'static str, info: &sea_orm::metric::Info<'_>) -> Self {
        Self::of(system, &info.statement.sql, info.elapsed, info.failed)
    }

    /// A statement (or several sent as one call) that took `elapsed`.
    pub(crate) fn of(system: &'static str, sql: &str, elapsed: Duration, failed: bool) -> Self {
        Self {
            system,
            operation: operation_name(sql),
            elapsed,
            failed,
        }
    }
}

/// The OpenTelemetry `db.system.name` of a backend.
pub(crate) fn system_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgresql",
        DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    }
}

/// The leading keyword of `sql` from a fixed list (never any other text of the statement).
fn operation_name(sql: &str) -> &'static str {
    const KNOWN: [&str; 11] = [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "WITH",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "CREATE",
    ];
    let first = sql.split_whitespace().next().unwrap_or_default();
    KNOWN
        .into_iter()
        .find(|known| first.eq_ignore_ascii_case(known))
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_leading_keyword_leaves() {
        assert_eq!(
            operation_name("  select * from payments where id = 'x'"),
            "SELECT"
        );
        assert_eq!(operation_name("UPDATE reconciliation_jobs SET"), "UPDATE");
        assert_eq!(operation_name("'4111111111111111'"), "OTHER");
        assert_eq!(operation_name(""), "OTHER");
    }
}
