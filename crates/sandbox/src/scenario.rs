//! Test-data scenarios chosen by the pay request's `paymentAmount.value`, like card-network test numbers
//! (the table in the team brief and in docs/sandbox.md).

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
    /// 930NN (`succeed`) / 931NN: PROCESSING for `inquiries` inquiries, then SUCCESS or FAIL.
    SettleAfterInquiries { inquiries: u32, succeed: bool },
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
            93000..=93099 => Self::SettleAfterInquiries {
                inquiries: (value - 93000) as u32,
                succeed: true,
            },
            93100..=93199 => Self::SettleAfterInquiries {
                inquiries: (value - 93100) as u32,
                succeed: false,
            },
            93200 => Self::ProcessingForever,
            94001 => Self::SlowFirstAnswer,
            94002 => Self::DroppedFirstAnswer,
            94003 => Self::BadSignature,
            _ => Self::Normal,
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
            Scenario::SettleAfterInquiries {
                inquiries: 3,
                succeed: true
            }
        );
        assert_eq!(
            Scenario::from_value(93199),
            Scenario::SettleAfterInquiries {
                inquiries: 99,
                succeed: false
            }
        );
        assert_eq!(Scenario::from_value(93200), Scenario::ProcessingForever);
        assert_eq!(Scenario::from_value(93201), Scenario::Normal);
        assert_eq!(Scenario::from_value(800), Scenario::Normal);
    }
}
