//! Template parsing and rendering on arbitrary text: no panic, the slots found are exactly what
//! the template declares, and rendering them with brace-free values leaves no slot behind.

#![no_main]

use std::collections::BTreeMap;

use chatledger_domain::template::{check_declaration, render, slots};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|template: &str| {
    let Ok(names) = slots(template) else {
        return;
    };
    assert!(check_declaration(template, &names).is_ok());

    let values: BTreeMap<String, String> = names
        .iter()
        .map(|name| (name.clone(), format!("<{name}>")))
        .collect();
    let rendered = render(template, &names, &values).expect("every declared slot has a value");
    assert!(
        !rendered.contains("{{"),
        "a slot survived rendering: {rendered:?}"
    );
});
