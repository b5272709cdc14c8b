//! Test-only fault injection, done by the database itself: arming a [`FaultPoint`] creates a trigger that makes every
//! matching write fail (SQLite `RAISE(ABORT)`, PostgreSQL `RAISE EXCEPTION`), and disarming drops it. The failing
//! statement aborts its whole transaction exactly as a real database error would, and the production code carries no
//! test branch and no test feature. Works on both backends the engine tests run on.

use sea_orm::{ConnectionTrait, DbBackend};
use store::Store;

/// One write of a flow that a test makes fail: the table, the statement kind and a condition on the written row
/// (SQL over `NEW`, the same spelling on SQLite and PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub struct FaultPoint {
    /// Names the trigger, and the point in failure messages.
    pub name: &'static str,
    pub table: &'static str,
    /// `INSERT` or `UPDATE`.
    pub op: &'static str,
    pub when: &'static str,
    /// Whether the write is on the request's own path, so the caller is told it failed (INTERNAL
    /// `STORE_FAILURE`); the others are best effort or in the background and leave the answer alone.
    pub on_request_path: bool,
}

impl FaultPoint {
    const fn new(
        name: &'static str,
        table: &'static str,
        op: &'static str,
        when: &'static str,
    ) -> Self {
        Self {
            name,
            table,
            op,
            when,
            on_request_path: true,
        }
    }

    const fn off_request_path(self) -> Self {
        Self {
            on_request_path: false,
            ..self
        }
    }
}

/// Declares the writes of one write-ahead flow (`$table`, audit kind `$kind`, inquiry job `$job`): the write-ahead
/// transaction's row, audit row and inquiry job, each failing alone; the result transaction's status change and its
/// audit row; the pull-forward of the inquiry job once the call answered without a final result; the call log.
macro_rules! intent_writes {
    ($name:ident, $table:literal, $kind:literal, $job:literal) => {
        pub const $name: [FaultPoint; 7] = [
            FaultPoint::new(concat!($table, "_intent"), $table, "INSERT", "1 = 1"),
            FaultPoint::new(
                concat!($table, "_intent_audit"),
                "state_changes",
                "INSERT",
                concat!(
                    "NEW.entity_kind = '",
                    $kind,
                    "' AND NEW.from_status IS NULL"
                ),
            ),
            FaultPoint::new(
                concat!($table, "_intent_job"),
                "reconciliation_jobs",
                "INSERT",
                concat!("NEW.kind = '", $job, "'"),
            ),
            FaultPoint::new(concat!($table, "_result"), $table, "UPDATE", "1 = 1"),
            FaultPoint::new(
                concat!($table, "_result_audit"),
                "state_changes",
                "INSERT",
                concat!(
                    "NEW.entity_kind = '",
                    $kind,
                    "' AND NEW.from_status IS NOT NULL"
                ),
            ),
            FaultPoint::new(
                concat!($table, "_pull_forward"),
                "reconciliation_jobs",
                "UPDATE",
                concat!("NEW.kind = '", $job, "'"),
            )
            .off_request_path(),
            CALL_LOG,
        ];
    };
}

intent_writes!(PAYMENT_WRITES, "payments", "PAYMENT", "INQUIRE_PAYMENT");
intent_writes!(REFUND_WRITES, "refunds", "REFUND", "INQUIRE_REFUND");
intent_writes!(CAPTURE_WRITES, "captures", "CAPTURE", "INQUIRE_CAPTURE");

/// The card writes of a tokenizing card authorization, in its result transaction: the stored card and the payment's
/// card facts.
pub const CARD_WRITES: [FaultPoint; 2] = [
    FaultPoint::new("card_token", "card_tokens", "INSERT", "1 = 1"),
    FaultPoint::new("card_facts", "payment_card_facts", "INSERT", "1 = 1"),
];

/// The background record of every Alipay call.
pub const CALL_LOG: FaultPoint =
    FaultPoint::new("call_log", "alipay_calls", "INSERT", "1 = 1").off_request_path();

/// ApplyToken's writes: the idempotency claim before the call; after it, the binding, its refresh job and the
/// completion of the claim (one transaction), and the call log.
pub const APPLY_TOKEN_WRITES: [FaultPoint; 5] = [
    FaultPoint::new(
        "apply_token_claim",
        "idempotency_records",
        "INSERT",
        "1 = 1",
    ),
    FaultPoint::new("binding", "wallet_bindings", "INSERT", "1 = 1"),
    FaultPoint::new(
        "binding_refresh_job",
        "reconciliation_jobs",
        "INSERT",
        "NEW.kind = 'REFRESH_TOKEN'",
    ),
    // Fails the completion and also the write that records the failure: the last resort (release, revoke now).
    FaultPoint::new(
        "apply_token_record",
        "idempotency_records",
        "UPDATE",
        "1 = 1",
    ),
    CALL_LOG,
];

/// Makes every write matching `point` fail until [`disarm`].
pub async fn arm(store: &Store, point: &FaultPoint) {
    let trigger = trigger_name(point);
    let sql = match store.backend() {
        DbBackend::Sqlite => format!(
            "CREATE TRIGGER {trigger} BEFORE {op} ON {table} FOR EACH ROW WHEN {when} \
             BEGIN SELECT RAISE(ABORT, 'injected fault {name}'); END",
            op = point.op,
            table = point.table,
            when = point.when,
            name = point.name,
        ),
        _ => {
            store
                .connection()
                .execute_unprepared(
                    "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'injected fault %', TG_NAME; END $$",
                )
                .await
                .expect("fault function");
            format!(
                "CREATE TRIGGER {trigger} BEFORE {op} ON {table} FOR EACH ROW WHEN ({when}) \
                 EXECUTE FUNCTION injected_fault()",
                op = point.op,
                table = point.table,
                when = point.when,
            )
        }
    };
    store
        .connection()
        .execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("arming {}: {e}", point.name));
}

/// Lets writes matching `point` succeed again.
pub async fn disarm(store: &Store, point: &FaultPoint) {
    let trigger = trigger_name(point);
    let sql = match store.backend() {
        DbBackend::Sqlite => format!("DROP TRIGGER {trigger}"),
        _ => format!("DROP TRIGGER {trigger} ON {}", point.table),
    };
    store
        .connection()
        .execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("disarming {}: {e}", point.name));
}

fn trigger_name(point: &FaultPoint) -> String {
    format!("fault_{}", point.name)
}
