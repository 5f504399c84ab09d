//! Keyset pagination shared by every listing: a page of rows and the cursor of the next one.
//!
//! A cursor holds the sort key of the last row returned, so that the next page starts right after
//! it with an index range scan, however deep the caller has paged and however many rows were
//! added meanwhile. Cursors are serde types, so an API can hand them to its clients.

use serde::{Deserialize, Serialize};

use crate::error::{Error, InvalidReason};

/// The largest page any listing returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Which page to read: at most `limit` rows, starting after `after` (from the start when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest<C> {
    /// Rows per page, from 1 to [`MAX_PAGE_SIZE`].
    pub limit: u32,
    /// The cursor a previous page returned as [`Page::next`].
    pub after: Option<C>,
}

impl<C> PageRequest<C> {
    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The page of `limit` rows after `cursor`.
    pub fn after(limit: u32, cursor: C) -> Self {
        Self {
            limit,
            after: Some(cursor),
        }
    }

    /// The number of rows to fetch: one more than the page, to learn whether another follows.
    pub(crate) fn fetch_limit(&self) -> Result<i64, Error> {
        if !(1..=MAX_PAGE_SIZE).contains(&self.limit) {
            let range = InvalidReason::OutOfRange {
                min: 1,
                max: i64::from(MAX_PAGE_SIZE),
            };
            return Err(Error::invalid("limit", range));
        }
        Ok(i64::from(self.limit) + 1)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The rows, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// Cuts the `limit + 1` rows fetched down to the page and derives the next cursor from the
    /// last row kept, when more rows followed.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> C) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Self { items: rows, next }
    }
}
