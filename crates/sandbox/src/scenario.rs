//! Test-data scenarios chosen by the pay request's `paymentAmount.value`, like card-network test numbers
//! (the table in the team brief and in docs/sandbox.md). Refunds read the same table by `refundAmount.value`, so
//! one number means one behaviour everywhere; they honour only the rows a refund can act out.

use crate::codes::{self, Code};

/// What a pay amount asks the sandbox to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Any other amount: the product's normal behaviour.
    Normal,
    /// 91001–91008: a final failure with this code.
    Fail(Code),
    /// 92001 / 92003: this U code on the first attempt (nothing created), normal afterwards.
    UnknownOnFirstAttempt(Code),
    /// 92002: U UNKNOWN_EXCEPTION on every attempt, nothing ever created.
    AlwaysUnknown,
    /// 930NN / 931NN: PROCESSING for NN inquiries, then SUCCESS or FAIL.
    SettleAfterInquiries(Countdown),
    /// 93200: PROCESSING until cancelled.
    ProcessingForever,
    /// 94001: charged, first answer delayed by `slow_response`.
    SlowFirstAnswer,
    /// 94002: charged, first connection closed without an answer.
    DroppedFirstAnswer,
    /// 94003: charged, every pay answer's signature corrupted.
    BadSignature,
}

impl Scenario {
    /// The scenario for an amount in minor units.
    pub fn from_value(value: u64) -> Self {
        match value {
            91001 => Self::Fail(codes::USER_BALANCE_NOT_ENOUGH),
            91002 => Self::Fail(codes::RISK_REJECT),
            91003 => Self::Fail(codes::USER_AMOUNT_EXCEED_LIMIT),
            91004 => Self::Fail(codes::PAYMENT_AMOUNT_EXCEED_LIMIT),
            91005 => Self::Fail(codes::PAYMENT_COUNT_EXCEED_LIMIT),
            91006 => Self::Fail(codes::USER_STATUS_ABNORMAL),
            91007 => Self::Fail(codes::USER_NOT_EXIST),
            91008 => Self::Fail(codes::PROCESS_FAIL),
            92001 => Self::UnknownOnFirstAttempt(codes::UNKNOWN_EXCEPTION),
            92002 => Self::AlwaysUnknown,
            92003 => Self::UnknownOnFirstAttempt(codes::REQUEST_TRAFFIC_EXCEED_LIMIT),
            // The ranges make NN = value - base exact: 93000..=93099 and 93100..=93199.
            93000..=93099 => Self::SettleAfterInquiries(Countdown {
                remaining: (value - 93000) as u32,
                succeed: true,
            }),
            93100..=93199 => Self::SettleAfterInquiries(Countdown {
                remaining: (value - 93100) as u32,
                succeed: false,
            }),
            93200 => Self::ProcessingForever,
            94001 => Self::SlowFirstAnswer,
            94002 => Self::DroppedFirstAnswer,
            94003 => Self::BadSignature,
            _ => Self::Normal,
        }
    }

    /// The scenario for a refund amount in minor units. A refund acts out only 92001 (U UNKNOWN_EXCEPTION on the
    /// first attempt) and 930NN / 931NN (REFUND_IN_PROCESS, settled by inquiries); any other amount, including the
    /// pay-only rows (91xxx, 92002, 92003, 93200, 94xxx), refunds normally, so those numbers stay refundable.
    pub fn for_refund(value: u64) -> Self {
        match Self::from_value(value) {
            scenario @ (Self::UnknownOnFirstAttempt(codes::UNKNOWN_EXCEPTION)
            | Self::SettleAfterInquiries(_)) => scenario,
            _ => Self::Normal,
        }
    }
}

/// Scenarios 930NN / 931NN: how many more inquiries answer PROCESSING before the outcome is revealed. Payments and
/// refunds both carry one, so they count inquiries the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Countdown {
    /// Inquiries still to answer PROCESSING.
    pub remaining: u32,
    /// The outcome once they are used up: SUCCESS, or FAIL.
    pub succeed: bool,
}

impl Countdown {
    /// Counts one inquiry: `Some(succeed)` when this inquiry is the one that sees the outcome, `None` (one fewer
    /// left) while it still answers PROCESSING.
    pub fn inquire(&mut self) -> Option<bool> {
        match self.remaining.checked_sub(1) {
            Some(left) => {
                self.remaining = left;
                None
            }
            None => Some(self.succeed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_values_map_to_scenarios() {
        assert_eq!(
            Scenario::from_value(91001),
            Scenario::Fail(codes::USER_BALANCE_NOT_ENOUGH)
        );
        assert_eq!(
            Scenario::from_value(91008),
            Scenario::Fail(codes::PROCESS_FAIL)
        );
        assert_eq!(Scenario::from_value(91009), Scenario::Normal);
        assert_eq!(
            Scenario::from_value(93003),
            Scenario::SettleAfterInquiries(Countdown {
                remaining: 3,
                succeed: true
            })
        );
        assert_eq!(
            Scenario::from_value(93199),
            Scenario::SettleAfterInquiries(Countdown {
                remaining: 99,
                succeed: false
            })
        );
        assert_eq!(Scenario::from_value(93200), Scenario::ProcessingForever);
        assert_eq!(Scenario::from_value(93201), Scenario::Normal);
        assert_eq!(Scenario::from_value(800), Scenario::Normal);
    }

    #[test]
    fn refunds_act_out_only_the_refund_rows() {
        assert_eq!(
            Scenario::for_refund(92001),
            Scenario::UnknownOnFirstAttempt(codes::UNKNOWN_EXCEPTION)
        );
        assert_eq!(
            Scenario::for_refund(93102),
            Scenario::from_value(93102),
            "931NN"
        );
        for pay_only in [91001, 91008, 92002, 92003, 93200, 94001, 94002, 94003, 800] {
            assert_eq!(
                Scenario::for_refund(pay_only),
                Scenario::Normal,
                "{pay_only}"
            );
        }
    }

    #[test]
    fn a_countdown_answers_processing_nn_times_then_the_outcome_for_good() {
        let mut countdown = Countdown {
            remaining: 2,
            succeed: false,
        };
        let seen: Vec<_> = (0..4).map(|_| countdown.inquire()).collect();
        assert_eq!(seen, [None, None, Some(false), Some(false)]);
    }
}
