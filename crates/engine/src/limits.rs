//! The engine's own input limits (caller metadata, which never goes to Alipay) and the collector that gathers
//! every violation of a request. Alipay's documented limits are not here: they live once in [`alipay::limits`]
//! and are enforced by the constructors of [`alipay::checked`] values, which the edge parses requests into.

use alipay::checked::Problem;

use crate::error::FieldViolation;

/// Largest page a list request may ask for (the store's limit, named here so the edge needs no store import).
pub use store::MAX_PAGE_SIZE;

/// Caller metadata kept with a payment (never sent to Alipay): at most this many entries...
pub const MAX_METADATA_ENTRIES: usize = 20;
/// ...with keys of at most this many characters...
pub const MAX_METADATA_KEY_LEN: usize = 40;
/// ...and values of at most this many characters.
pub const MAX_METADATA_VALUE_LEN: usize = 500;

/// Collects field violations so a caller reports every problem of a request at once instead of one per round trip.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// The value of a checking constructor, or `None` with its problem recorded under `field`.
    pub fn check<T>(&mut self, field: impl Into<String>, checked: Result<T, Problem>) -> Option<T> {
        checked
            .map_err(|problem| self.push(field, problem.into_description()))
            .ok()
    }

    /// How many violations were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The collected violations.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// `Ok(())` when empty, otherwise [`crate::EngineError::InvalidArgument`].
    pub fn into_result(self) -> Result<(), crate::EngineError> {
        self.finish(())
    }

    /// `Ok(value)` when empty, otherwise [`crate::EngineError::InvalidArgument`]: the last step of a parse, whose
    /// `value` only exists when every part of it was valid.
    pub fn finish<T>(self, value: T) -> Result<T, crate::EngineError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(crate::EngineError::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_records_the_problem_under_the_field() {
        let mut v = Violations::new();
        assert_eq!(
            v.check("a", alipay::checked::RequestId::new("ok-1"))
                .as_deref(),
            Some("ok-1")
        );
        assert!(v.is_empty());
        assert!(
            v.check("b", alipay::checked::RequestId::new("has space"))
                .is_none()
        );
        let got = v.into_vec();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field, "b");
        assert!(got[0].description.contains("_ . : -"));
    }
}
