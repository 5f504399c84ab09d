//! `prompt_compare`: whether one prompt version is rated better than another, or whether the
//! ratings are too few to tell.
//!
//! The test is the pooled two-proportion z-test on the thumbs-up rates. Its normal
//! approximation is only fair when each side has enough ratings, so the verdict refuses to call
//! a difference when either side has fewer than [`CompareOptions::min_rated`] up-or-down
//! ratings (default [`DEFAULT_MIN_RATED`], 30), or fewer than 5 expected thumbs-up or 5 expected
//! thumbs-down under the pooled rate (the usual n·p ≥ 5 rule).

use std::fmt;
use std::str::FromStr;

use chatledger_schema::schema::prompt_versions;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::prompt_feedback::{PromptFeedbackRow, load_prompt_feedback};
use super::{ReportError, check_window};
use crate::filters::{ReportFilter, TimeWindow};
use crate::stats::two_proportion_p_value;

/// The fewest up-or-down ratings per side for which [`prompt_compare`] calls a difference.
pub const DEFAULT_MIN_RATED: u64 = 30;

/// The significance level of the verdict.
const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// The fewest expected thumbs-up, and thumbs-down, per side under the pooled rate.
const MIN_EXPECTED_PER_OUTCOME: f64 = 5.0;

/// A prompt version as people write it: `NAME@VERSION`, e.g. `support-answer@3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PromptRef {
    /// The prompt's name.
    pub name: String,
    /// The version number, from 1.
    pub version: i32,
}

/// Why a `NAME@VERSION` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptRefError {
    /// There is no `@` before a version.
    #[error("`{input}` names no version: write NAME@VERSION, e.g. support-answer@3")]
    MissingVersion {
        /// The text as given.
        input: String,
    },

    /// Nothing before the `@`.
    #[error("`{input}` names no prompt before the `@`")]
    MissingName {
        /// The text as given.
        input: String,
    },

    /// The part after the last `@` is not a whole number from 1.
    #[error("`{input}`: the version `{version}` is not a whole number from 1")]
    InvalidVersion {
        /// The text as given.
        input: String,
        /// The part after the last `@`.
        version: String,
    },
}

impl FromStr for PromptRef {
    type Err = PromptRefError;

    /// Splits at the last `@`, so that a name may itself contain one.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (name, version) =
            input
                .rsplit_once('@')
                .ok_or_else(|| PromptRefError::MissingVersion {
                    input: input.to_owned(),
                })?;

        if name.trim().is_empty() {
            return Err(PromptRefError::MissingName {
                input: input.to_owned(),
            });
        }

        let invalid_version = || PromptRefError::InvalidVersion {
            input: input.to_owned(),
            version: version.to_owned(),
        };
        if !version.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid_version());
        }
        let version: i32 = version.parse().map_err(|_| invalid_version())?;
        if version < 1 {
            return Err(invalid_version());
        }

        Ok(Self {
            name: name.to_owned(),
            version,
        })
    }
}

impl fmt::Display for PromptRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}@{}", self.name, self.version)
    }
}

/// The filters and threshold of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareOptions {
    /// Only messages created within this window.
    pub window: TimeWindow,
    /// Only messages of this model.
    pub model_name: Option<String>,
    /// The fewest up-or-down ratings per side for a verdict other than
    /// [`Verdict::TooFewRatings`].
    pub min_rated: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            window: TimeWindow::all_time(),
            model_name: None,
            min_rated: DEFAULT_MIN_RATED,
        }
    }
}

/// What the comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A side has too few ratings for the test to mean anything.
    TooFewRatings,
    /// The difference is within what chance explains (p ≥ 0.05).
    NoSignificantDifference,
    /// B's thumbs-up rate is higher than A's (p < 0.05).
    BIsBetter,
    /// B's thumbs-up rate is lower than A's (p < 0.05).
    BIsWorse,
}

/// Two prompt versions side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptComparison {
    /// The baseline version's counts and rate.
    pub a: PromptFeedbackRow,
    /// The candidate version's counts and rate.
    pub b: PromptFeedbackRow,
    /// b's thumbs-up rate minus a's; `None` when either has no rating.
    pub rate_difference: Option<f64>,
    /// Two-sided p-value of the pooled two-proportion z-test; `None` when undefined (a side
    /// without ratings, or every rating the same).
    pub p_value: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
    /// The conclusion in a sentence.
    pub summary: String,
}

/// Compares the thumbs-up rates of versions `a` (the baseline) and `b`.
#[tracing::instrument(name = "report.prompt_compare", skip_all, fields(
    a = %a,
    b = %b,
    since = ?options.window.since,
    until = ?options.window.until,
    model_name = options.model_name.as_deref(),
))]
pub async fn prompt_compare(
    connection: &mut AsyncPgConnection,
    a: &PromptRef,
    b: &PromptRef,
    options: &CompareOptions,
) -> Result<PromptComparison, ReportError> {
    check_window(&options.window)?;

    let a_id = resolve(connection, a).await?;
    let b_id = resolve(connection, b).await?;

    let filter = ReportFilter {
        window: options.window,
        prompt_name: None,
        model_name: options.model_name.clone(),
    };
    let rows = load_prompt_feedback(connection, &filter, Some(vec![a_id, b_id])).await?;
    // Versions are never deleted while messages point at them, but one without messages
    // could be between the two queries; it is then as unknown as one that never existed.
    let row_of = |id: Uuid, reference: &PromptRef| {
        rows.iter()
            .find(|row| row.prompt_version_id == id)
            .cloned()
            .ok_or_else(|| ReportError::UnknownPromptVersion {
                reference: reference.clone(),
            })
    };

    Ok(compare(
        row_of(a_id, a)?,
        row_of(b_id, b)?,
        options.min_rated,
    ))
}

/// The id of the version `reference`.
async fn resolve(
    connection: &mut AsyncPgConnection,
    reference: &PromptRef,
) -> Result<Uuid, ReportError> {
    prompt_versions::table
        .filter(prompt_versions::name.eq(&reference.name))
        .filter(prompt_versions::version.eq(reference.version))
        .select(prompt_versions::id)
        .first(connection)
        .await
        .optional()?
        .ok_or_else(|| ReportError::UnknownPromptVersion {
            reference: reference.clone(),
        })
}

/// The statistics and verdict for two versions' counts.
fn compare(a: PromptFeedbackRow, b: PromptFeedbackRow, min_rated: u64) -> PromptComparison {
    let counts = |row: &PromptFeedbackRow| {
        (
            u64::try_from(row.thumbs_up).unwrap_or(0),
            u64::try_from(row.thumbs_up + row.thumbs_down).unwrap_or(0),
        )
    };
    let (a_up, a_rated) = counts(&a);
    let (b_up, b_rated) = counts(&b);

    let rate_difference = a
        .thumbs_up_rate
        .zip(b.thumbs_up_rate)
        .map(|(a_rate, b_rate)| b_rate - a_rate);
    let p_value = two_proportion_p_value(a_up, a_rated, b_up, b_rated);

    let enough_ratings = enough_for_the_test(a_up, a_rated, b_up, b_rated, min_rated);
    let verdict = match (enough_ratings, p_value, rate_difference) {
        (true, Some(p), Some(difference)) if p < SIGNIFICANCE_LEVEL => {
            if difference > 0.0 {
                Verdict::BIsBetter
            } else {
                Verdict::BIsWorse
            }
        }
        (true, _, _) => Verdict::NoSignificantDifference,
        (false, _, _) => Verdict::TooFewRatings,
    };
    let summary = summarise(&a, &b, a_rated, b_rated, min_rated, p_value, verdict);

    PromptComparison {
        a,
        b,
        rate_difference,
        p_value,
        verdict,
        summary,
    }
}

/// Whether both sides have `min_rated` ratings and, under the pooled rate, at least
/// [`MIN_EXPECTED_PER_OUTCOME`] expected of each outcome.
fn enough_for_the_test(a_up: u64, a_rated: u64, b_up: u64, b_rated: u64, min_rated: u64) -> bool {
    if a_rated < min_rated.max(1) || b_rated < min_rated.max(1) {
        return false;
    }

    let pooled = (a_up + b_up) as f64 / (a_rated + b_rated) as f64;
    [a_rated, b_rated].into_iter().all(|rated| {
        let rated = rated as f64;
        rated * pooled >= MIN_EXPECTED_PER_OUTCOME
            && rated * (1.0 - pooled) >= MIN_EXPECTED_PER_OUTCOME
    })
}

fn summarise(
    a: &PromptFeedbackRow,
    b: &PromptFeedbackRow,
    a_rated: u64,
    b_rated: u64,
    min_rated: u64,
    p_value: Option<f64>,
    verdict: Verdict,
) -> String {
    let a_name = format!("{}@{}", a.prompt_name, a.version);
    let b_name = format!("{}@{}", b.prompt_name, b.version);
    let p_text = p_value.map_or_else(|| "undefined".to_owned(), |p| format!("{p:.4}"));

    match verdict {
        Verdict::TooFewRatings => format!(
            "too few ratings to tell: {a_name} has {a_rated} and {b_name} has {b_rated} \
             thumbs up or down; each side needs at least {min_rated}, and at least 5 of each \
             rating expected"
        ),
        Verdict::NoSignificantDifference => {
            format!("no significant difference between {a_name} and {b_name} (p = {p_text})")
        }
        Verdict::BIsBetter => {
            format!("{b_name} is rated better than {a_name} (p = {p_text})")
        }
        Verdict::BIsWorse => format!("{b_name} is rated worse than {a_name} (p = {p_text})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_at_version() {
        let reference: PromptRef = "support-answer@12".parse().unwrap();
        assert_eq!(reference.name, "support-answer");
        assert_eq!(reference.version, 12);
        assert_eq!(reference.to_string(), "support-answer@12");

        let with_at: PromptRef = "team@support@2".parse().unwrap();
        assert_eq!(with_at.name, "team@support");
        assert_eq!(with_at.version, 2);
    }

    #[test]
    fn refuses_malformed_references_naming_the_input() {
        let missing = |input: &str| PromptRefError::MissingVersion {
            input: input.to_owned(),
        };
        let invalid = |input: &str, version: &str| PromptRefError::InvalidVersion {
            input: input.to_owned(),
            version: version.to_owned(),
        };

        assert_eq!("support".parse::<PromptRef>(), Err(missing("support")));
        assert_eq!(
            "@3".parse::<PromptRef>(),
            Err(PromptRefError::MissingName {
                input: "@3".to_owned()
            })
        );
        assert_eq!(
            "support@".parse::<PromptRef>(),
            Err(invalid("support@", ""))
        );
        assert_eq!(
            "support@0".parse::<PromptRef>(),
            Err(invalid("support@0", "0"))
        );
        assert_eq!(
            "support@+3".parse::<PromptRef>(),
            Err(invalid("support@+3", "+3"))
        );
        assert_eq!(
            "support@v3".parse::<PromptRef>(),
            Err(invalid("support@v3", "v3"))
        );
        assert_eq!(
            "support@99999999999".parse::<PromptRef>(),
            Err(invalid("support@99999999999", "99999999999"))
        );
        assert!(
            "support@v3"
                .parse::<PromptRef>()
                .unwrap_err()
                .to_string()
                .contains("`support@v3`")
        );
    }

    #[test]
    fn the_test_needs_enough_ratings_on_both_sides() {
        assert!(enough_for_the_test(40, 50, 30, 50, 30));
        assert!(!enough_for_the_test(20, 29, 30, 50, 30));
        // 60 of 61 up: expected thumbs-down per side under the pooled rate is below 5.
        assert!(!enough_for_the_test(30, 30, 30, 31, 30));
        assert!(!enough_for_the_test(0, 0, 0, 0, 0));
    }
}
