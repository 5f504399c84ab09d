//! Property tests of what the query crate reads from people: relative-time bounds and the
//! redaction of personal data and secrets.

#![expect(
    clippy::unwrap_used,
    reason = "a property that cannot set up must fail the test"
)]

use chatledger_query::filters::{TimeWindowError, parse_time_bound};
use chatledger_query::redact::Redactor;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A card number that passes the Luhn check: 15 digits and their check digit.
fn card() -> impl Strategy<Value = String> {
    prop::collection::vec(0_u32..10, 15).prop_map(|mut digits| {
        digits.insert(0, 4);
        digits.truncate(15);
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(index, &digit)| {
                if index % 2 == 0 {
                    let doubled = digit * 2;
                    if doubled > 9 { doubled - 9 } else { doubled }
                } else {
                    digit
                }
            })
            .sum();
        digits.push((10 - sum % 10) % 10);
        digits
            .iter()
            .map(|digit| char::from_digit(*digit, 10).unwrap())
            .collect()
    })
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9._]{0,10}[a-z0-9]",
        "[a-z][a-z0-9-]{0,8}[a-z0-9]",
        "[a-z]{2,6}",
    )
        .prop_map(|(local, domain, top)| format!("{local}@{domain}.{top}"))
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "sk-[A-Za-z0-9]{20,40}",
        "AKIA[0-9A-Z]{16}",
        "ghp_[A-Za-z0-9]{36}",
        "xoxb-[0-9]{10,12}-[A-Za-z0-9]{12,24}",
    ]
}

/// Plain words around an item, so that it stands on its own as it would in a message.
fn words() -> impl Strategy<Value = String> {
    "[A-Za-z ,.!?]{0,30}"
}

proptest! {
    #[test]
    fn any_time_bound_is_read_or_refused_without_panicking(input in any::<String>()) {
        if let Ok(bound) = parse_time_bound(&input, now()) {
            prop_assert!(!input.trim().is_empty());
            let _ = bound;
        }
    }

    #[test]
    fn a_relative_span_counts_back_from_now(amount in 0_i64..1_000_000, unit in "[mhdw]") {
        let expected = match unit.as_str() {
            "m" => Duration::minutes(amount),
            "h" => Duration::hours(amount),
            "d" => Duration::days(amount),
            _ => Duration::weeks(amount),
        };
        let bound = parse_time_bound(&format!(" {amount}{unit} "), now()).unwrap();
        prop_assert_eq!(bound, now() - expected);
    }

    #[test]
    fn a_span_with_another_unit_is_unreadable(amount in 0_u32..1000, unit in "[abcefgijklnopqrstuvxyz][a-z]?") {
        let input = format!("{amount}{unit}");
        prop_assert_eq!(
            parse_time_bound(&input, now()),
            Err(TimeWindowError::Unreadable { input: input.clone() })
        );
    }

    #[test]
    fn redaction_is_idempotent_on_any_text(text in any::<String>()) {
        let redactor = Redactor::new();
        let once = redactor.redact(&text).into_owned();
        let twice = redactor.redact(&once).into_owned();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn redaction_is_idempotent_on_digits_and_punctuation(text in "[0-9 +().@:-]{0,60}") {
        let redactor = Redactor::new();
        let once = redactor.redact(&text).into_owned();
        prop_assert_eq!(redactor.redact(&once).into_owned(), once);
    }

    #[test]
    fn no_email_card_or_key_survives_redaction(
        before in words(),
        after in words(),
        email in email(),
        card in card(),
        key in key(),
    ) {
        let redactor = Redactor::new();
        let text = format!("{before} {email} {after} {card} {before} {key} {after}");

        let redacted = redactor.redact(&text).into_owned();

        prop_assert!(!redacted.contains(&email), "{redacted}");
        prop_assert!(!redacted.contains(&card), "{redacted}");
        prop_assert!(!redacted.contains(&key), "{redacted}");
        prop_assert!(redacted.contains("[EMAIL]") && redacted.contains("[CARD]"));
        prop_assert!(redacted.contains("[SECRET]"));
        prop_assert_eq!(redactor.redact(&redacted).into_owned(), redacted);
    }
}

/// Found by `cargo fuzz run redact` (fuzz/fuzz_targets/redact.rs): one pass replaces
/// `0478448810` and leaves `+48(047844880`, which a second pass then replaces, so the output of
/// the first pass still held a number the redactor detects. `redact` now repeats its pass until
/// nothing changes.
#[test]
fn a_phone_number_hidden_behind_another_is_redacted_in_one_pass() {
    let redactor = Redactor::new();
    let text = "(0478448810+48(047844880";

    let once = redactor.redact(text).into_owned();

    assert_eq!(redactor.redact(&once), once);
    assert!(!once.contains("047844880"), "{once}");
}
