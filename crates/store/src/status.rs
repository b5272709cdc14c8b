//! Status vocabularies and the allowed-transition tables.
//!
//! The tables are plain data so that the engine can ask the same question the store enforces
//! ("may this payment still move to X?") before it talks to Alipay, and so that the rules can be
//! tested exhaustively. The store checks them inside the transaction that writes the new status,
//! which is what makes status changes monotonic even when an inquiry, a notification and the
//! reconciler race each other.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A status vocabulary with a fixed table of allowed moves.
pub trait Lifecycle: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every value, so tests and callers can enumerate the whole matrix.
    const ALL: &'static [Self];
    /// For each status, the statuses it may move to. A status that lists nothing is final.
    const TRANSITIONS: &'static [(Self, &'static [Self])];

    /// The stored (and wire) spelling.
    fn as_str(self) -> &'static str;

    /// The statuses `self` may move to, from [`Lifecycle::TRANSITIONS`].
    fn allowed_targets(self) -> &'static [Self] {
        Self::TRANSITIONS
            .iter()
            .find(|(from, _)| *from == self)
            .map_or(&[], |(_, to)| *to)
    }

    /// Whether a move from `self` to `to` is allowed. Moving to the same non-final status is
    /// allowed on purpose: it records new details (e.g. another PROCESSING inquiry answer)
    /// without changing the status.
    fn can_transition_to(self, to: Self) -> bool {
        self.allowed_targets().contains(&to)
    }

    /// Whether a released (voided) authorization may move from `self` to `to` although `self` is final (see
    /// [`crate::Transition::releasing_authorization`]). Nothing but a payment's authorization is ever released.
    fn released_to(self, to: Self) -> bool {
        let _ = to;
        false
    }

    /// A final status never changes again: a late or replayed result must not overwrite it.
    fn is_final(self) -> bool {
        self.allowed_targets().is_empty()
    }
}

/// Where a payment stands. SUCCESS, FAIL and CANCELLED are final: Alipay's documented rule is
/// that a cancelled payment stays cancelled even if a late success arrives.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Written ahead of the first call to Alipay; Alipay may or may not know it yet.
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// Alipay accepted it but has no final result yet (PAYMENT_IN_PROCESS, inquiry PROCESSING/PENDING).
    #[sea_orm(string_value = "PROCESSING")]
    Processing,
    /// Alipay confirmed the money moved.
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    /// Alipay confirmed it failed; nothing was charged.
    #[sea_orm(string_value = "FAIL")]
    Fail,
    /// Cancelled at Alipay (also the end of an unknown outcome that we cancelled).
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

impl Lifecycle for PaymentStatus {
    const ALL: &'static [Self] = &[
        Self::Created,
        Self::Processing,
        Self::Success,
        Self::Fail,
        Self::Cancelled,
    ];
    const TRANSITIONS: &'static [(Self, &'static [Self])] = &[
        (
            Self::Created,
            &[
                Self::Created,
                Self::Processing,
                Self::Success,
                Self::Fail,
                Self::Cancelled,
            ],
        ),
        (
            Self::Processing,
            &[Self::Processing, Self::Success, Self::Fail, Self::Cancelled],
        ),
        (Self::Success, &[]),
        (Self::Fail, &[]),
        (Self::Cancelled, &[]),
    ];

    /// An authorization (SUCCESS: funds held, not captured) that is voided at Alipay ends CANCELLED.
    fn released_to(self, to: Self) -> bool {
        self == Self::Success && to == Self::Cancelled
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// Where a refund or a capture stands. Both follow Alipay's S/F/U envelope the same way, so they
/// share one vocabulary; SUCCESS and FAIL are final.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    /// Written ahead of the first call to Alipay.
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// Alipay answered U (or in-process); the final answer comes by inquiry or notification.
    #[sea_orm(string_value = "PROCESSING")]
    Processing,
    /// Alipay confirmed it.
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    /// Alipay confirmed it failed.
    #[sea_orm(string_value = "FAIL")]
    Fail,
}

impl Lifecycle for OperationStatus {
    const ALL: &'static [Self] = &[Self::Created, Self::Processing, Self::Success, Self::Fail];
    const TRANSITIONS: &'static [(Self, &'static [Self])] = &[
        (
            Self::Created,
            &[Self::Created, Self::Processing, Self::Success, Self::Fail],
        ),
        (
            Self::Processing,
            &[Self::Processing, Self::Success, Self::Fail],
        ),
        (Self::Success, &[]),
        (Self::Fail, &[]),
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
        }
    }
}

/// Whether a wallet binding's access token may be used. REVOKED is final (the user or we revoked
/// the agreement); EXPIRED can become ACTIVE again after a successful token refresh.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BindingStatus {
    /// Usable for payments.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Tokens lapsed; a refresh may bring it back.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    /// Revoked for good.
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
}

impl Lifecycle for BindingStatus {
    const ALL: &'static [Self] = &[Self::Active, Self::Expired, Self::Revoked];
    const TRANSITIONS: &'static [(Self, &'static [Self])] = &[
        (Self::Active, &[Self::Active, Self::Expired, Self::Revoked]),
        (Self::Expired, &[Self::Active, Self::Expired, Self::Revoked]),
        (Self::Revoked, &[]),
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected matrix written out independently of the tables, cell by cell.
    fn expected_payment(from: PaymentStatus, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        match (from, to) {
            (Created, _) => true,
            (Processing, Processing | Success | Fail | Cancelled) => true,
            (Processing, Created) => false,
            (Success | Fail | Cancelled, _) => false,
        }
    }

    fn expected_operation(from: OperationStatus, to: OperationStatus) -> bool {
        use OperationStatus::*;
        match (from, to) {
            (Created, _) => true,
            (Processing, Processing | Success | Fail) => true,
            (Processing, Created) => false,
            (Success | Fail, _) => false,
        }
    }

    fn expected_binding(from: BindingStatus, to: BindingStatus) -> bool {
        // Anything but REVOKED may go anywhere (ACTIVE/EXPIRED flip with refreshes); REVOKED is final.
        let _ = to;
        from != BindingStatus::Revoked
    }

    fn check_matrix<S: Lifecycle>(expected: fn(S, S) -> bool) {
        let mut cells = 0;
        for &from in S::ALL {
            for &to in S::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    expected(from, to),
                    "{from:?} -> {to:?}"
                );
                cells += 1;
            }
        }
        assert_eq!(cells, S::ALL.len() * S::ALL.len());
    }

    fn check_table_shape<S: Lifecycle + sea_orm::Iterable>() {
        // Every status has exactly one row, and ALL lists every enum value.
        for &s in S::ALL {
            assert_eq!(
                S::TRANSITIONS.iter().filter(|(f, _)| *f == s).count(),
                1,
                "{s:?}"
            );
        }
        assert_eq!(S::iter().count(), S::ALL.len());
        // A final status accepts nothing, not even itself.
        for &s in S::ALL.iter().filter(|s| s.is_final()) {
            assert!(S::ALL.iter().all(|&to| !s.can_transition_to(to)), "{s:?}");
        }
    }

    #[test]
    fn only_a_successful_authorization_is_released_and_only_to_cancelled() {
        for &from in PaymentStatus::ALL {
            for &to in PaymentStatus::ALL {
                assert_eq!(
                    from.released_to(to),
                    (from, to) == (PaymentStatus::Success, PaymentStatus::Cancelled),
                    "{from:?} -> {to:?}"
                );
            }
        }
        for &from in OperationStatus::ALL {
            assert!(OperationStatus::ALL.iter().all(|&to| !from.released_to(to)));
        }
    }

    #[test]
    fn payment_matrix_is_exactly_the_documented_one() {
        check_matrix(expected_payment);
        check_table_shape::<PaymentStatus>();
        let finals: Vec<_> = PaymentStatus::ALL
            .iter()
            .filter(|s| s.is_final())
            .copied()
            .collect();
        assert_eq!(
            finals,
            [
                PaymentStatus::Success,
                PaymentStatus::Fail,
                PaymentStatus::Cancelled
            ]
        );
    }

    #[test]
    fn operation_matrix_is_exactly_the_documented_one() {
        check_matrix(expected_operation);
        check_table_shape::<OperationStatus>();
    }

    #[test]
    fn binding_matrix_is_exactly_the_documented_one() {
        check_matrix(expected_binding);
        check_table_shape::<BindingStatus>();
        assert!(BindingStatus::Revoked.is_final());
        assert!(!BindingStatus::Expired.is_final());
    }

    #[test]
    fn stored_spelling_matches_the_database_value() {
        for &s in PaymentStatus::ALL {
            assert_eq!(s.as_str(), s.to_value());
        }
        for &s in OperationStatus::ALL {
            assert_eq!(s.as_str(), s.to_value());
        }
        for &s in BindingStatus::ALL {
            assert_eq!(s.as_str(), s.to_value());
        }
    }
}
