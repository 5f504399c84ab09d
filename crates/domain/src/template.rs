//! Prompt templates: finding their `{{variable}}` slots and filling them in.
//!
//! A slot is `{{`, optional spaces, a name of ASCII letters, digits and `_` that does not start
//! with a digit, optional spaces, `}}`. Any other `{{` is a malformed slot, so that a typo such
//! as `{{user name}}` fails when the version is published instead of reaching the model as
//! text. Single braces are plain text. Filled-in values are not searched for slots again.

use std::collections::{BTreeMap, BTreeSet};

/// Why a template or its rendering was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Rendering was not given a value for a variable the template uses.
    #[error("no value for the template variable {name:?}")]
    MissingVariable {
        /// The variable.
        name: String,
    },
    /// Rendering was given a variable the version does not declare.
    #[error("the template does not declare the variable {name:?}")]
    UndeclaredVariable {
        /// The variable.
        name: String,
    },
    /// The declared variables are not exactly the template's slots.
    #[error(
        "the template's slots and its declared variables disagree: \
         used but not declared {undeclared:?}, declared but not used {unused:?}"
    )]
    SlotsDisagree {
        /// Slots in the template that `variables` does not list.
        undeclared: Vec<String>,
        /// Entries of `variables` that no slot uses.
        unused: Vec<String>,
    },
    /// A variable is declared twice.
    #[error("the variable {name:?} is declared twice")]
    DuplicateVariable {
        /// The variable.
        name: String,
    },
    /// A `{{` that does not open a well-formed slot.
    #[error("malformed slot at byte {offset}: {reason}")]
    MalformedSlot {
        /// Where the `{{` starts, in bytes from the start of the template.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// Splits a template into text and slots.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut consumed = 0;

    while let Some(open) = rest.find("{{") {
        let offset = consumed + open;
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            return Err(TemplateError::MalformedSlot {
                offset,
                reason: "no closing }}",
            });
        };
        let name = after_open[..close].trim_matches(' ');
        if !is_variable_name(name) {
            let reason = "a slot holds one name of letters, digits and _";
            return Err(TemplateError::MalformedSlot { offset, reason });
        }
        pieces.push(Piece::Slot(name));

        let slot_length = open + 2 + close + 2;
        consumed += slot_length;
        rest = &rest[slot_length..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Whether `name` may name a variable.
pub fn is_variable_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The distinct slot names of a template, in order of first use.
pub fn slots(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for piece in parse(template)? {
        if let Piece::Slot(name) = piece
            && seen.insert(name)
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Checks that `variables` lists each of the template's slots exactly once and nothing else.
pub fn check_declaration(template: &str, variables: &[String]) -> Result<(), TemplateError> {
    let mut declared = BTreeSet::new();
    for name in variables {
        if !declared.insert(name.as_str()) {
            return Err(TemplateError::DuplicateVariable { name: name.clone() });
        }
    }

    let used = slots(template)?;
    let undeclared: Vec<String> = used
        .iter()
        .filter(|name| !declared.contains(name.as_str()))
        .cloned()
        .collect();
    let unused: Vec<String> = variables
        .iter()
        .filter(|name| !used.contains(name))
        .cloned()
        .collect();

    if undeclared.is_empty() && unused.is_empty() {
        Ok(())
    } else {
        Err(TemplateError::SlotsDisagree { undeclared, unused })
    }
}

/// Fills the template's slots from `values`. Every declared variable needs a value and every
/// value must be declared; the first offending name is reported.
pub fn render(
    template: &str,
    declared: &[String],
    values: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    if let Some(name) = values.keys().find(|name| !declared.contains(name)) {
        return Err(TemplateError::UndeclaredVariable { name: name.clone() });
    }
    if let Some(name) = declared
        .iter()
        .find(|name| !values.contains_key(name.as_str()))
    {
        return Err(TemplateError::MissingVariable { name: name.clone() });
    }

    let mut rendered = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(text) => rendered.push_str(text),
            Piece::Slot(name) => match values.get(name) {
                Some(value) => rendered.push_str(value),
                None => {
                    return Err(TemplateError::MissingVariable {
                        name: name.to_owned(),
                    });
                }
            },
        }
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn slots_allow_inner_spaces_and_repeat() {
        assert_eq!(
            slots("{{ a }} and {{b}} then {{a}}").unwrap(),
            owned(&["a", "b"])
        );
        assert_eq!(slots("{ single } braces }}").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_slots_report_their_offset() {
        let unclosed = slots("Hi {{name").unwrap_err();
        assert!(matches!(
            unclosed,
            TemplateError::MalformedSlot { offset: 3, .. }
        ));
        let spaced = slots("ab{{user name}}").unwrap_err();
        assert!(matches!(
            spaced,
            TemplateError::MalformedSlot { offset: 2, .. }
        ));
        assert!(slots("{{}}").is_err());
        assert!(slots("{{1st}}").is_err());
    }

    #[test]
    fn declaration_must_match_slots() {
        check_declaration("{{a}} {{b}}", &owned(&["b", "a"])).unwrap();
        let error = check_declaration("{{a}} {{b}}", &owned(&["a", "c"])).unwrap_err();
        assert_eq!(
            error,
            TemplateError::SlotsDisagree {
                undeclared: owned(&["b"]),
                unused: owned(&["c"])
            }
        );
        let twice = check_declaration("{{a}}", &owned(&["a", "a"])).unwrap_err();
        assert_eq!(
            twice,
            TemplateError::DuplicateVariable {
                name: "a".to_owned()
            }
        );
    }

    #[test]
    fn values_are_not_searched_for_slots() {
        let values = BTreeMap::from([("a".to_owned(), "{{b}}".to_owned())]);
        assert_eq!(
            render("<{{a}}>", &owned(&["a"]), &values).unwrap(),
            "<{{b}}>"
        );
    }
}
