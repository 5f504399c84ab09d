//! Redaction on arbitrary text: no panic, and redacting the output again changes nothing, so no
//! item that the redactor detects is left in what it returns.

#![no_main]

use std::sync::LazyLock;

use chatledger_query::redact::Redactor;
use libfuzzer_sys::fuzz_target;

static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::new);

fuzz_target!(|text: &str| {
    let once = REDACTOR.redact(text).into_owned();
    let twice = REDACTOR.redact(&once);
    assert_eq!(twice, once, "redaction is not idempotent on {text:?}");
});
