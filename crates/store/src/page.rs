//! Cursor pagination shared by the list APIs.
//!
//! Lists are ordered newest first by `(created_at, id)`. The page token is an opaque base64
//! string naming the last row of the previous page, so inserts between requests neither skip
//! nor repeat rows (unlike offsets). It also carries a digest of the filters it was issued for:
//! the contract makes a token valid only with those filters, and a token replayed with others
//! (say, another customer's id) is refused instead of silently paging through a different list.

use crate::error::{Result, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::IntoColumnRef;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Used when the caller leaves the size at 0 (as gRPC does when unset).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Rows wanted on a page: 0 (the default, [`DEFAULT_PAGE_SIZE`]) to [`MAX_PAGE_SIZE`]. Checked once, where a
/// caller's request is parsed (more than the limit is an error there, so a client learns the limit instead of
/// silently receiving fewer rows); the store only reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// `rows` if it is at most [`MAX_PAGE_SIZE`] (0 asks for the default).
    pub fn new(rows: u32) -> Option<Self> {
        (rows <= MAX_PAGE_SIZE).then_some(Self(rows))
    }

    /// The rows the store returns at most.
    pub fn rows(self) -> u32 {
        if self.0 == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            self.0
        }
    }
}

/// One page request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows wanted.
    pub page_size: PageSize,
    /// The previous page's `next_page_token`; `None` for the first page.
    pub page_token: Option<String>,
}

/// One page of results; `next_page_token` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// This page's rows, in the listing's order.
    pub items: Vec<T>,
    /// Hand back to get the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// [`scope`] of the filters the token was issued for.
    pub scope: u64,
    pub created_at: DateTime<Utc>,
    pub id: String,
}

/// A stable digest (FNV-1a, 64 bits) of a list's filters, as their `Debug` text: it only has to tell one set of
/// filters from another, not resist forgery (a token grants nothing the filters themselves would not).
pub(crate) fn scope(filters: &impl std::fmt::Debug) -> u64 {
    format!("{filters:?}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Cursor {
    fn encode(&self) -> String {
        let micros = self.created_at.timestamp_micros();
        URL_SAFE_NO_PAD.encode(format!("v2|{:016x}|{micros}|{}", self.scope, self.id))
    }

    fn decode(token: &str) -> Result<Self> {
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| StoreError::InvalidPageToken)?;
        let text = String::from_utf8(raw).map_err(|_| StoreError::InvalidPageToken)?;
        let mut parts = text.splitn(4, '|');
        let (Some("v2"), Some(scope), Some(micros), Some(id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::InvalidPageToken);
        };
        let scope = u64::from_str_radix(scope, 16).map_err(|_| StoreError::InvalidPageToken)?;
        let micros: i64 = micros.parse().map_err(|_| StoreError::InvalidPageToken)?;
        let created_at =
            DateTime::from_timestamp_micros(micros).ok_or(StoreError::InvalidPageToken)?;
        if id.is_empty() {
            return Err(StoreError::InvalidPageToken);
        }
        Ok(Cursor {
            scope,
            created_at,
            id: id.to_owned(),
        })
    }
}

/// Validates the request and applies cursor, order and limit to `select`; a token issued for
/// another `scope` (see [`scope`]) is [`StoreError::InvalidPageToken`]. Returns the limit
/// (page size) so [`finish`] can tell whether another page exists.
pub(crate) fn apply<E, C>(
    select: Select<E>,
    request: &PageRequest,
    scope: u64,
    created_col: C,
    id_col: C,
) -> Result<(Select<E>, u64)>
where
    E: EntityTrait,
    C: ColumnTrait + IntoColumnRef + Copy,
{
    let size = request.page_size.rows();
    let mut select = select;
    if let Some(token) = request.page_token.as_deref().filter(|t| !t.is_empty()) {
        let cursor = Cursor::decode(token)?;
        if cursor.scope != scope {
            return Err(StoreError::InvalidPageToken);
        }
        let before = created_col.lt(cursor.created_at);
        let same_time_lower_id = Condition::all()
            .add(created_col.eq(cursor.created_at))
            .add(id_col.lt(cursor.id));
        select = select.filter(Condition::any().add(before).add(same_time_lower_id));
    }
    let select = select
        .order_by(created_col, Order::Desc)
        .order_by(id_col, Order::Desc)
        .limit(u64::from(size) + 1);
    Ok((select, u64::from(size)))
}

/// Cuts the extra look-ahead row and produces the next token (for `scope`) from the last row kept.
pub(crate) fn finish<T>(
    mut rows: Vec<T>,
    size: u64,
    scope: u64,
    key: impl Fn(&T) -> (DateTime<Utc>, String),
) -> Page<T> {
    let more = rows.len() as u64 > size;
    rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    let next_page_token = if more {
        rows.last().map(|last| {
            let (created_at, id) = key(last);
            Cursor {
                scope,
                created_at,
                id,
            }
            .encode()
        })
    } else {
        None
    };
    Page {
        items: rows,
        next_page_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() -> Result<()> {
        let c = Cursor {
            scope: scope(&("customer", 1)),
            created_at: crate::db::now(),
            id: "0190-abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode())?, c);
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("v1|1|x"),
            &URL_SAFE_NO_PAD.encode("v2|zz|1|x"),
            &URL_SAFE_NO_PAD.encode("v2|00|zz|x"),
            &URL_SAFE_NO_PAD.encode("v2|00|1|"),
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(StoreError::InvalidPageToken)),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn scopes_tell_filters_apart() {
        assert_eq!(scope(&("a", None::<u8>)), scope(&("a", None::<u8>)));
        assert_ne!(scope(&("a", None::<u8>)), scope(&("b", None::<u8>)));
        assert_ne!(scope(&("a", None::<u8>)), scope(&("a", Some(1u8))));
    }
}
