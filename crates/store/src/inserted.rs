//! The answer of every write-ahead insert keyed by a request id. It lives apart from `transition` (which writes
//! the rows) so that the repositories using it (`jobs` among them, which `transition` itself calls) do not import
//! each other in a cycle.

/// The outcome of a write-ahead insert keyed by a request id: the request id is unique, so a
/// repeat never makes a second row; the caller gets the row that already exists and decides
/// (compare fingerprints, replay the result).
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted<T> {
    /// This call created the row.
    Created(T),
    /// A row with the same request id already existed; it is returned unchanged.
    Existing(T),
}

impl<T> Inserted<T> {
    /// The row, whichever way it came.
    pub fn into_inner(self) -> T {
        match self {
            Inserted::Created(t) | Inserted::Existing(t) => t,
        }
    }

    /// Whether this call created the row.
    pub fn is_created(&self) -> bool {
        matches!(self, Inserted::Created(_))
    }
}
