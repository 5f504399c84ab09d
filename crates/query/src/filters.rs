//! The filters that most reports share: a time window on `messages.created_at`, a prompt name
//! and a model name.
//!
//! They live apart from the reports so that every report reads a window the same way (since
//! inclusive, until exclusive) and the CLI can parse `--since 7d` once, against one "now".
//! [`TimeWindowError`] is the error of parsing a bound; a report that is handed an impossible
//! window refuses it with [`ReportError::InvalidFilter`](crate::reports::ReportError).

use chatledger_schema::schema::{messages, prompt_versions};
use chrono::{DateTime, Duration, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz};

/// Why a time bound or a window could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeWindowError {
    /// The text is neither an RFC 3339 timestamp nor a relative span such as `7d`.
    #[error(
        "`{input}` is not a time: expected RFC 3339 (2026-12-01T00:00:00Z) or a span back from \
         now such as 30m, 12h, 7d or 2w"
    )]
    Unreadable {
        /// The text as given.
        input: String,
    },

    /// A relative span too large to subtract from now.
    #[error("`{input}` reaches too far back to be represented")]
    OutOfRange {
        /// The text as given.
        input: String,
    },

    /// The window's start is not before its end, so it holds no message.
    #[error("the time window is empty: since {since} is not before until {until}")]
    Empty {
        /// The window's start.
        since: DateTime<Utc>,
        /// The window's end.
        until: DateTime<Utc>,
    },
}

/// Reads one bound of a time window: an RFC 3339 timestamp, or a span back from `now` made of a
/// whole number and a unit (`m` minutes, `h` hours, `d` days, `w` weeks), e.g. `7d`.
pub fn parse_time_bound(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeWindowError> {
    let trimmed = input.trim();

    if let Ok(timestamp) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(timestamp.with_timezone(&Utc));
    }

    let unreadable = || TimeWindowError::Unreadable {
        input: input.to_owned(),
    };
    let out_of_range = || TimeWindowError::OutOfRange {
        input: input.to_owned(),
    };

    let unit_start = trimmed
        .find(|character: char| !character.is_ascii_digit())
        .ok_or_else(unreadable)?;
    let (amount, unit) = trimmed.split_at(unit_start);
    if amount.is_empty() {
        return Err(unreadable());
    }
    let amount: i64 = amount.parse().map_err(|_| out_of_range())?;

    let span = match unit {
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        "w" => Duration::try_weeks(amount),
        _ => return Err(unreadable()),
    }
    .ok_or_else(out_of_range)?;

    now.checked_sub_signed(span).ok_or_else(out_of_range)
}

/// A half-open range of `messages.created_at`: `since` inclusive, `until` exclusive; a missing
/// bound leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// Messages created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Messages created before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl TimeWindow {
    /// The window that holds every message.
    pub fn all_time() -> Self {
        Self::default()
    }

    /// Reads both bounds with [`parse_time_bound`] against the same `now`, and refuses a window
    /// whose start is not before its end.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, TimeWindowError> {
        let window = Self {
            since: since.map(|text| parse_time_bound(text, now)).transpose()?,
            until: until.map(|text| parse_time_bound(text, now)).transpose()?,
        };
        window.validate()?;
        Ok(window)
    }

    /// Checks that the window can hold a message at all.
    pub fn validate(&self) -> Result<(), TimeWindowError> {
        match (self.since, self.until) {
            (Some(since), Some(until)) if since >= until => {
                Err(TimeWindowError::Empty { since, until })
            }
            _ => Ok(()),
        }
    }
}

/// The filters of a report over messages; every field left empty keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Only messages created within this window.
    pub window: TimeWindow,
    /// Only messages produced by a version of the prompt with this name.
    pub prompt_name: Option<String>,
    /// Only messages whose `model_name` is this one.
    pub model_name: Option<String>,
}

/// A condition on `messages` that a typed query can filter by.
pub(crate) type MessagePredicate =
    Box<dyn BoxableExpression<messages::table, Pg, SqlType = Nullable<Bool>>>;

impl ReportFilter {
    /// The filter as one condition on `messages`, for the reports built with the DSL.
    pub(crate) fn message_predicate(&self) -> MessagePredicate {
        let mut predicate: MessagePredicate = Box::new(true.into_sql::<Bool>().nullable());

        if let Some(since) = self.window.since {
            predicate = Box::new(predicate.and(messages::created_at.ge(since)));
        }
        if let Some(until) = self.window.until {
            predicate = Box::new(predicate.and(messages::created_at.lt(until)));
        }
        if let Some(prompt_name) = &self.prompt_name {
            let versions_of_prompt = prompt_versions::table
                .filter(prompt_versions::name.eq(prompt_name.clone()))
                .select(prompt_versions::id.nullable());
            predicate =
                Box::new(predicate.and(messages::prompt_version_id.eq_any(versions_of_prompt)));
        }
        if let Some(model_name) = &self.model_name {
            predicate = Box::new(predicate.and(messages::model_name.eq(model_name.clone())));
        }

        predicate
    }

    /// Binds the filter as the first four parameters of a report's SQL file, which reads them
    /// as `$1` since, `$2` until, `$3` prompt name and `$4` model name, NULL meaning "any".
    pub(crate) fn bind_to(&self, query: SqlQuery) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        query
            .into_boxed()
            .bind::<Nullable<Timestamptz>, _>(self.window.since)
            .bind::<Nullable<Timestamptz>, _>(self.window.until)
            .bind::<Nullable<Text>, _>(self.prompt_name.clone())
            .bind::<Nullable<Text>, _>(self.model_name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn relative_spans_count_back_from_now() {
        assert_eq!(
            parse_time_bound("30m", now()).unwrap(),
            at("2026-12-03T11:30:00Z")
        );
        assert_eq!(
            parse_time_bound("12h", now()).unwrap(),
            at("2026-12-03T00:00:00Z")
        );
        assert_eq!(
            parse_time_bound("7d", now()).unwrap(),
            at("2026-11-26T12:00:00Z")
        );
        assert_eq!(
            parse_time_bound("2w", now()).unwrap(),
            at("2026-11-19T12:00:00Z")
        );
        assert_eq!(parse_time_bound("0d", now()).unwrap(), now());
    }

    #[test]
    fn rfc3339_is_read_in_any_offset() {
        assert_eq!(
            parse_time_bound("2026-12-01T02:00:00+02:00", now()).unwrap(),
            at("2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn unreadable_bounds_name_the_input() {
        for input in ["", "d", "7", "7y", "-7d", "7 d", "seven days", "2026-12-01"] {
            let error = parse_time_bound(input, now()).unwrap_err();
            assert_eq!(
                error,
                TimeWindowError::Unreadable {
                    input: input.to_owned()
                }
            );
            assert!(error.to_string().contains(&format!("`{input}`")));
        }
    }

    #[test]
    fn spans_too_large_are_out_of_range() {
        for input in [
            "99999999999999999999d",
            "9223372036854775807w",
            "300000000w",
        ] {
            assert_eq!(
                parse_time_bound(input, now()).unwrap_err(),
                TimeWindowError::OutOfRange {
                    input: input.to_owned()
                }
            );
        }
    }

    #[test]
    fn a_window_must_start_before_it_ends() {
        let window = TimeWindow::parse(Some("1d"), Some("2d"), now()).unwrap_err();
        assert_eq!(
            window,
            TimeWindowError::Empty {
                since: at("2026-12-02T12:00:00Z"),
                until: at("2026-12-01T12:00:00Z"),
            }
        );

        let window = TimeWindow::parse(Some("2d"), Some("1d"), now()).unwrap();
        assert_eq!(window.since, Some(at("2026-12-01T12:00:00Z")));
        assert_eq!(window.until, Some(at("2026-12-02T12:00:00Z")));

        assert_eq!(
            TimeWindow::parse(None, None, now()).unwrap(),
            TimeWindow::all_time()
        );
    }
}
