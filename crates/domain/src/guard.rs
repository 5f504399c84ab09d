//! The checks every write runs before it reaches PostgreSQL, so that bad input fails with a
//! typed error naming the field and nothing is written.
//!
//! Metadata is free-form JSON that applications fill from request context, which is exactly
//! where credentials leak from. Every metadata write refuses keys that name a credential
//! (`api_key`, `authorization`, `password`, `secret`, `token`, `cookie`, … at any depth, in any
//! case or separator style) and string values shaped like one (bearer tokens, `sk-…` provider
//! keys, AWS access key ids, JWTs, PEM private keys). The error names the JSON path, never the
//! value. Keys that merely contain such a word as part of another (`token_count`, `keyboard`)
//! pass.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, InvalidReason};

/// The deepest nesting a metadata document may have; deeper documents are refused.
pub const MAX_JSON_DEPTH: usize = 64;

/// The longest text, in bytes, allowed in a column that a B-tree index covers (`external_id`,
/// prompt names, the embedding chunk key). PostgreSQL refuses index entries above about 2.7 kB
/// with an untyped error, and the chunk key indexes three such columns together; this limit
/// keeps well clear of it.
pub const MAX_KEY_BYTES: usize = 512;

/// Refuses text that PostgreSQL cannot store.
pub(crate) fn text(field: &str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(Error::invalid(field, InvalidReason::NulByte));
    }
    Ok(())
}

/// [`text`] for an optional column.
pub(crate) fn optional_text(field: &str, value: Option<&str>) -> Result<(), Error> {
    value.map_or(Ok(()), |value| text(field, value))
}

/// Refuses a name that is empty, only whitespace, or holds a NUL byte.
pub(crate) fn name(field: &str, value: &str) -> Result<(), Error> {
    text(field, value)?;
    if value.trim().is_empty() {
        return Err(Error::invalid(field, InvalidReason::Blank));
    }
    Ok(())
}

/// [`name`] for a column that an index covers: also at most [`MAX_KEY_BYTES`] long.
pub(crate) fn key(field: &str, value: &str) -> Result<(), Error> {
    name(field, value)?;
    if value.len() > MAX_KEY_BYTES {
        return Err(Error::invalid(
            field,
            InvalidReason::TooLong {
                max_bytes: MAX_KEY_BYTES,
            },
        ));
    }
    Ok(())
}

/// Refuses a negative count.
pub(crate) fn count(field: &str, value: Option<i32>) -> Result<(), Error> {
    match value {
        Some(value) if value < 0 => Err(Error::invalid(field, InvalidReason::Negative)),
        _ => Ok(()),
    }
}

/// Checks a metadata document: a JSON object, at most [`MAX_JSON_DEPTH`] deep, with no NUL
/// bytes and nothing shaped like a credential. `field` starts the paths in errors.
pub(crate) fn metadata(field: &str, document: &Value) -> Result<(), Error> {
    if !document.is_object() {
        return Err(Error::invalid(field, InvalidReason::NotAnObject));
    }
    walk(field, document, true)
}

/// Checks a JSON document that is not metadata (tool-call arguments): depth and NUL bytes only.
pub(crate) fn json(field: &str, document: &Value) -> Result<(), Error> {
    walk(field, document, false)
}

/// Visits every key and value without recursion, so that no document can exhaust the stack.
fn walk(root: &str, document: &Value, refuse_secrets: bool) -> Result<(), Error> {
    let mut pending = vec![(root.to_owned(), document, 0_usize)];

    while let Some((path, value, depth)) = pending.pop() {
        if depth > MAX_JSON_DEPTH {
            return Err(Error::invalid(
                path,
                InvalidReason::TooDeep {
                    max: MAX_JSON_DEPTH,
                },
            ));
        }
        match value {
            Value::String(string) => {
                text(&path, string)?;
                if refuse_secrets && looks_like_secret(string) {
                    return Err(Error::SecretRefused { path });
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    pending.push((format!("{path}[{index}]"), item, depth + 1));
                }
            }
            Value::Object(entries) => {
                for (key, item) in entries {
                    let item_path = format!("{path}.{key}");
                    text(&item_path, key)?;
                    if refuse_secrets && names_a_secret(key) {
                        return Err(Error::SecretRefused { path: item_path });
                    }
                    pending.push((item_path, item, depth + 1));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    Ok(())
}

/// Words that make a key name a credential wherever they appear in it.
const SECRET_WORDS: &[&str] = &[
    "apikey",
    "authorization",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "cookie",
    "credential",
    "credentials",
    "bearer",
];

/// Word pairs that do the same (`api_key`, `private_key`, `access_key`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("secret", "key"),
];

/// Whether a metadata key names a credential. The key is split into words at `_`, `-`, `.`,
/// spaces and lower-to-upper case changes, so `apiKey`, `API-KEY` and `x_api_key` all match.
/// `token` matches as the last word only (`token`, `access_token`), so `token_count` passes.
fn names_a_secret(key: &str) -> bool {
    let words = split_words(key);
    let last = words.last().map(String::as_str);

    words
        .iter()
        .any(|word| SECRET_WORDS.contains(&word.as_str()))
        || matches!(last, Some("token" | "jwt"))
        || words
            .windows(2)
            .any(|pair| SECRET_PAIRS.contains(&(pair[0].as_str(), pair[1].as_str())))
}

fn split_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;

    for character in key.chars() {
        if !character.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            previous_lower = false;
            continue;
        }
        if character.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = character.is_lowercase() || character.is_ascii_digit();
        current.extend(character.to_lowercase());
    }
    words.push(current);
    words.retain(|word| !word.is_empty());
    words
}

/// Whether a string value is shaped like a credential, anywhere in it.
fn looks_like_secret(value: &str) -> bool {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return true;
    }

    let lower = value.to_ascii_lowercase();
    if let Some(start) = lower.find("bearer ") {
        let credential = value[start + "bearer ".len()..].trim_start();
        if credential
            .chars()
            .take_while(|c| !c.is_whitespace())
            .count()
            >= 8
        {
            return true;
        }
    }

    value
        .split(|c: char| c.is_whitespace() || "\"'`,;:=()[]{}<>|".contains(c))
        .any(|word| is_provider_key(word) || is_aws_access_key_id(word) || is_jwt(word))
}

/// `sk-…` (OpenAI, Anthropic and others), GitHub and Slack tokens.
fn is_provider_key(word: &str) -> bool {
    let body = |rest: &str| {
        rest.len() >= 20
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    [
        "sk-",
        "sk_live_",
        "sk_test_",
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
    ]
    .iter()
    .any(|prefix| word.strip_prefix(prefix).is_some_and(body))
}

/// `AKIA…`, `ASIA…` and the other AWS access key id prefixes, then 16 upper-case characters.
fn is_aws_access_key_id(word: &str) -> bool {
    word.len() == 20
        && ["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA"]
            .iter()
            .any(|p| word.starts_with(p))
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Three base64url segments, the first a JSON object header (`eyJ` is `{"` encoded).
fn is_jwt(word: &str) -> bool {
    let segments: Vec<&str> = word.split('.').collect();
    let base64url = |s: &&str| {
        s.len() >= 8
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    segments.len() == 3 && segments[0].starts_with("eyJ") && segments.iter().all(base64url)
}

/// Reads `T` from JSON input, turning serde's refusal (an unknown enum label, a missing field,
/// a count that does not fit) into [`Error::InvalidInput`] for `field`. The message says where
/// reading stopped and what kind of problem it was, without repeating the input.
pub fn decode<T: DeserializeOwned>(field: &str, json: &str) -> Result<T, Error> {
    serde_json::from_str(json).map_err(|error| {
        let kind = match error.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected value",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        let why = format!("{kind} at line {} column {}", error.line(), error.column());
        Error::invalid(field, InvalidReason::Unreadable(why))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_split_into_words() {
        assert_eq!(split_words("xApiKey"), ["x", "api", "key"]);
        assert_eq!(split_words("API-KEY"), ["api", "key"]);
        assert!(names_a_secret("refresh_token"));
        assert!(!names_a_secret("token_count"));
        assert!(!names_a_secret("keyboard"));
    }

    #[test]
    fn paths_name_the_key_and_never_the_value() {
        let document = json!({"auth": [{"note": "Bearer abcdefghijkl"}]});
        let error = metadata("metadata", &document).unwrap_err();
        assert!(matches!(&error, Error::SecretRefused { path } if path == "metadata.auth[0].note"));

        let document = json!({"steps": [{"note": "Bearer abcdefghijkl"}]});
        let error = metadata("metadata", &document).unwrap_err();
        assert!(
            matches!(&error, Error::SecretRefused { path } if path == "metadata.steps[0].note")
        );
        assert!(!error.to_string().contains("abcdefghijkl"));
    }
}
