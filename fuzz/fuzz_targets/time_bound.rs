//! `--since`/`--until` bounds on arbitrary text: read or refused, never a panic, and a relative
//! span never lands after now.

#![no_main]

use chatledger_query::filters::parse_time_bound;
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let now = DateTime::<Utc>::from_timestamp(1_796_300_000, 0).expect("a valid instant");
    let Ok(bound) = parse_time_bound(input, now) else {
        return;
    };
    let relative = input.trim().ends_with(['m', 'h', 'd', 'w']);
    assert!(
        !relative || bound <= now,
        "{input:?} read as {bound}, after now"
    );
});
