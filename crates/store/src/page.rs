//! Cursor pagination shared by the list APIs.
//!
//! Lists are ordered newest first by `(created_at, id)`. The page token is an opaque base64
//! string naming the last row of the previous page, so inserts between requests neither skip
//! nor repeat rows (unlike offsets).

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

/// One page request. `page_size` 0 means the default; more than [`MAX_PAGE_SIZE`] is an error
/// so a client learns the limit instead of silently receiving fewer rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub page_size: u32,
    pub page_token: Option<String>,
}

/// One page of results; `next_page_token` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    fn encode(&self) -> String {
        let micros = self.created_at.timestamp_micros();
        URL_SAFE_NO_PAD.encode(format!("v1|{micros}|{}", self.id))
    }

    fn decode(token: &str) -> Result<Self> {
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| StoreError::InvalidPageToken)?;
        let text = String::from_utf8(raw).map_err(|_| StoreError::InvalidPageToken)?;
        let mut parts = text.splitn(3, '|');
        let (Some("v1"), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::InvalidPageToken);
        };
        let micros: i64 = micros.parse().map_err(|_| StoreError::InvalidPageToken)?;
        let created_at =
            DateTime::from_timestamp_micros(micros).ok_or(StoreError::InvalidPageToken)?;
        if id.is_empty() {
            return Err(StoreError::InvalidPageToken);
        }
        Ok(Cursor {
            created_at,
            id: id.to_owned(),
        })
    }
}

/// Validates the request and applies cursor, order and limit to `select`. Returns the limit
/// (page size) so [`finish`] can tell whether another page exists.
pub(crate) fn apply<E, C>(
    select: Select<E>,
    request: &PageRequest,
    created_col: C,
    id_col: C,
) -> Result<(Select<E>, u64)>
where
    E: EntityTrait,
    C: ColumnTrait + IntoColumnRef + Copy,
{
    let size = match request.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n > MAX_PAGE_SIZE => {
            return Err(StoreError::Invalid {
                field: "page_size",
                reason: format!("must be at most {MAX_PAGE_SIZE}"),
            });
        }
        n => n,
    };
    let mut select = select;
    if let Some(token) = request.page_token.as_deref().filter(|t| !t.is_empty()) {
        let cursor = Cursor::decode(token)?;
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

/// Cuts the extra look-ahead row and produces the next token from the last row kept.
pub(crate) fn finish<T>(
    mut rows: Vec<T>,
    size: u64,
    key: impl Fn(&T) -> (DateTime<Utc>, String),
) -> Page<T> {
    let more = rows.len() as u64 > size;
    rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    let next_page_token = if more {
        rows.last().map(|last| {
            let (created_at, id) = key(last);
            Cursor { created_at, id }.encode()
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
            created_at: crate::db::now(),
            id: "0190-abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode())?, c);
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("v2|1|x"),
            &URL_SAFE_NO_PAD.encode("v1|zz|x"),
            &URL_SAFE_NO_PAD.encode("v1|1|"),
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(StoreError::InvalidPageToken)),
                "{bad}"
            );
        }
        Ok(())
    }
}
