//! Property tests of prompt templates against hostile input: finding slots and rendering never
//! panic, agree with each other, and a rendered template keeps no slot.

use std::collections::BTreeMap;

use chatledger_domain::template::{check_declaration, render, slots};
use proptest::prelude::*;

/// A piece of a well-formed template.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Slot { name: String, padded: bool },
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[^{}]{0,12}".prop_map(Piece::Text),
        ("[a-c_][a-c0-9_]{0,2}", any::<bool>())
            .prop_map(|(name, padded)| Piece::Slot { name, padded }),
    ]
}

fn source(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.clone(),
            Piece::Slot { name, padded: true } => format!("{{{{ {name} }}}}"),
            Piece::Slot {
                name,
                padded: false,
            } => format!("{{{{{name}}}}}"),
        })
        .collect()
}

/// The distinct slot names, in order of first use.
fn names_in(pieces: &[Piece]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for piece in pieces {
        if let Piece::Slot { name, .. } = piece
            && !names.contains(name)
        {
            names.push(name.clone());
        }
    }
    names
}

proptest! {
    #[test]
    fn any_text_is_parsed_or_refused_without_panicking(
        template in any::<String>(),
        declared in prop::collection::vec("[a-z_]{1,4}", 0..4),
        values in prop::collection::btree_map("[a-z_]{1,4}", any::<String>(), 0..4),
    ) {
        let found = slots(&template);
        let _ = check_declaration(&template, &declared);
        let _ = render(&template, &declared, &values);

        // Whatever slots were found are exactly what the template declares.
        if let Ok(names) = found {
            prop_assert!(check_declaration(&template, &names).is_ok());
        }
    }

    #[test]
    fn text_full_of_braces_is_parsed_or_refused_without_panicking(
        template in "[{} a-z0-9_]{0,40}",
    ) {
        if let Ok(names) = slots(&template) {
            let values: BTreeMap<String, String> =
                names.iter().map(|name| (name.clone(), "v".to_owned())).collect();
            let rendered = render(&template, &names, &values).unwrap();
            prop_assert_eq!(slots(&rendered).unwrap(), Vec::<String>::new());
        }
    }

    #[test]
    fn a_rendered_template_has_every_slot_replaced(
        pieces in prop::collection::vec(piece(), 0..12),
        filler in "[^{}]{0,8}",
    ) {
        let template = source(&pieces);
        let names = names_in(&pieces);
        prop_assert_eq!(slots(&template).unwrap(), names.clone());

        let values: BTreeMap<String, String> = names
            .iter()
            .map(|name| (name.clone(), format!("<{filler}:{name}>")))
            .collect();
        let rendered = render(&template, &names, &values).unwrap();

        prop_assert!(!rendered.contains("{{"), "{rendered:?}");
        for (name, value) in &values {
            prop_assert!(rendered.contains(value.as_str()), "no value for {name}");
        }
    }

    #[test]
    fn rendering_with_a_value_missing_is_refused(
        pieces in prop::collection::vec(piece(), 1..8),
    ) {
        let template = source(&pieces);
        let names = names_in(&pieces);
        prop_assume!(!names.is_empty());

        let mut values: BTreeMap<String, String> =
            names.iter().map(|name| (name.clone(), "x".to_owned())).collect();
        values.remove(&names[0]);

        prop_assert!(render(&template, &names, &values).is_err());
    }
}
