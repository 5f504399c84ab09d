//! Replacing personal data and secrets with placeholders before text leaves the database.
//!
//! Exported datasets travel to training pipelines and vendors, so every text field an export
//! writes goes through a [`Redactor`] unless the caller opts out. Each kind of item becomes one
//! fixed placeholder ([`Redacted::placeholder`]), never a value derived from the item, so the same
//! text always redacts to the same output and redacting an output again changes nothing.
//!
//! Detection is by pattern, not by understanding: it recognises the common written forms listed
//! on each [`Redacted`] variant and errs towards redacting a number that merely looks like a phone
//! number. Free-form personal data such as names and street addresses is not detected.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use regex::{Captures, Regex, RegexSet};

/// Passes after the first that [`Redactor::redact`] may make before it stops looking.
const MAX_EXTRA_PASSES: usize = 8;

/// A kind of item that a [`Redactor`] replaces, with the placeholder it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redacted {
    /// Private key blocks (PEM), JSON Web Tokens, the token after `Bearer`, provider keys
    /// starting `sk-`, AWS access key ids (`AKIA…`, `ASIA…`), GitHub (`ghp_…`) and Slack
    /// (`xoxb-…`) tokens.
    Secret,
    /// E-mail addresses.
    Email,
    /// Runs of 13 to 19 digits, optionally grouped by spaces or dashes, that pass the Luhn check.
    Card,
    /// IPv4 addresses in dotted-quad form and IPv6 addresses with at least four hex digits.
    Ip,
    /// International numbers (`+` or `00` and a country code), North American numbers
    /// (`(555) 123-4567`, `555.123.4567`) and national numbers with a leading `0`.
    Phone,
}

impl Redacted {
    /// Every kind, in the order a [`Redactor`] looks for them: secrets first, because a token
    /// may contain what looks like an e-mail address or a number; then the shapes with the most
    /// structure, so that the looser digit patterns of cards and phones never start inside an
    /// address.
    pub const ALL: [Self; 5] = [Self::Secret, Self::Email, Self::Ip, Self::Card, Self::Phone];

    /// The text that replaces an item of this kind.
    pub const fn placeholder(self) -> &'static str {
        match self {
            Self::Secret => "[SECRET]",
            Self::Email => "[EMAIL]",
            Self::Card => "[CARD]",
            Self::Ip => "[IP]",
            Self::Phone => "[PHONE]",
        }
    }
}

/// Secrets. The bearer branch keeps the word `Bearer` (group `keep`) and replaces the token.
const SECRET_PATTERN: &str = r"(?x)
      -----BEGIN[A-Z0-9\ ]*PRIVATE\ KEY-----(?s:.*?)-----END[A-Z0-9\ ]*PRIVATE\ KEY-----
    | -----BEGIN[A-Z0-9\ ]*PRIVATE\ KEY-----(?:[A-Za-z0-9+/=\s]|\\[nr])*
    | \beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+
    | (?P<keep>\b(?i:bearer)\s+)[A-Za-z0-9._~+/-]{12,}=*
    | \bsk-[A-Za-z0-9_-]{16,}
    | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
    | \bgh[pousr]_[A-Za-z0-9]{30,}
    | \bxox[abprs]-[A-Za-z0-9-]{10,}
";

const EMAIL_PATTERN: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}";

/// Runs of digit groups joined by single spaces or dashes; [`redact_cards`] finds the cards in
/// them.
const CARD_PATTERN: &str = r"\b[0-9]+(?:[ -][0-9]+)*\b";

const IPV4_PATTERN: &str = r"(?x)
    \b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}
    (?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b
";

/// Candidates only: [`Ipv6Addr`]'s parser decides.
const IPV6_PATTERN: &str = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}";

/// Candidates only: [`redact_phone`] checks the digit count and the separators.
const PHONE_PATTERN: &str = r"(?x)
      (?P<international>(?:\+|\b00)[1-9][0-9]{0,2}(?:[\ .-]?\(?[0-9]{1,4}\)?){2,6})
    | (?P<north_american>(?:\([0-9]{3}\)\ ?|\b[0-9]{3}[\ .-])[0-9]{3}[\ .-][0-9]{4}\b)
    | (?P<national>\b0[1-9][0-9]{0,3}(?:[\ .-]?[0-9]{2,4}){2,4}\b)
";

/// Finds and replaces personal data and secrets; compile it once and reuse it.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Every pattern in one automaton: text that none of them matches anywhere is clean, and
    /// is answered by one scan instead of one per pattern.
    any_candidate: RegexSet,
    secret: Regex,
    email: Regex,
    card: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// Compiles the patterns.
    pub fn new() -> Self {
        Self {
            any_candidate: compile_set(&[
                SECRET_PATTERN,
                EMAIL_PATTERN,
                CARD_PATTERN,
                IPV4_PATTERN,
                IPV6_PATTERN,
                PHONE_PATTERN,
            ]),
            secret: compile(SECRET_PATTERN),
            email: compile(EMAIL_PATTERN),
            card: compile(CARD_PATTERN),
            ipv4: compile(IPV4_PATTERN),
            ipv6: compile(IPV6_PATTERN),
            phone: compile(PHONE_PATTERN),
        }
    }

    /// `text` with every detected item replaced by its placeholder; borrowed when nothing was
    /// found.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // Replacements happen only where a pattern matches, so text without a single candidate
        // is returned as it is; most texts are such text.
        if !self.any_candidate.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut text = self.redact_once(text);

        // One pass can uncover an item that the next pass finds: a placeholder ends the digit
        // run that hid a phone number behind another (fuzzing found
        // `(0478448810+48(047844880`). Passes only turn text into placeholders, so repeating
        // until nothing changes reaches a fixed point in a few; the bound is a safety net.
        for _ in 0..MAX_EXTRA_PASSES {
            let changed = match self.redact_once(&text) {
                Cow::Borrowed(_) => None,
                Cow::Owned(changed) => Some(changed),
            };
            match changed {
                Some(changed) => text = Cow::Owned(changed),
                None => break,
            }
        }
        text
    }

    /// One pass over every kind, in order; borrowed when nothing was found.
    fn redact_once<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for kind in Redacted::ALL {
            // A candidate that turned out not to be an item still makes the regex crate
            // allocate; only a real change replaces the text, so clean text stays borrowed.
            if let Cow::Owned(replaced) = self.replace(kind, &text)
                && replaced != *text
            {
                text = Cow::Owned(replaced);
            }
        }
        text
    }

    fn replace<'a>(&self, kind: Redacted, text: &'a str) -> Cow<'a, str> {
        let placeholder = kind.placeholder();
        match kind {
            Redacted::Secret => self.secret.replace_all(text, |found: &Captures| {
                let kept = found.name("keep").map_or("", |keep| keep.as_str());
                format!("{kept}{placeholder}")
            }),
            Redacted::Email => self.email.replace_all(text, placeholder),
            Redacted::Card => self.card.replace_all(text, |found: &Captures| {
                redact_cards(found.get(0).map_or("", |run| run.as_str()))
            }),
            Redacted::Ip => {
                let ipv4_done = self.ipv4.replace_all(text, |found: &Captures| {
                    keep_unless(found, placeholder, |_| {
                        !is_in_longer_dotted_run(text, found)
                    })
                });
                match ipv4_done {
                    Cow::Borrowed(_) => self.replace_ipv6(text),
                    Cow::Owned(ipv4_done) => Cow::Owned(self.replace_ipv6(&ipv4_done).into_owned()),
                }
            }
            Redacted::Phone => self
                .phone
                .replace_all(text, |found: &Captures| redact_phone(text, found)),
        }
    }

    fn replace_ipv6<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.ipv6.replace_all(text, |found: &Captures| {
            keep_unless(found, Redacted::Ip.placeholder(), |_| is_ipv6(text, found))
        })
    }
}

#[expect(
    clippy::expect_used,
    reason = "the patterns are constants, and every one is compiled by the unit tests"
)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("redaction patterns are valid")
}

#[expect(
    clippy::expect_used,
    reason = "the patterns are constants, and every one is compiled by the unit tests"
)]
fn compile_set(patterns: &[&str]) -> RegexSet {
    RegexSet::new(patterns).expect("redaction patterns are valid")
}

/// The placeholder when `is_item` says the match is one, else the match unchanged.
fn keep_unless(found: &Captures, placeholder: &str, is_item: impl Fn(&str) -> bool) -> String {
    let matched = found.get(0).map_or("", |whole| whole.as_str());
    if is_item(matched) {
        placeholder.to_owned()
    } else {
        matched.to_owned()
    }
}

/// A run of digit groups with every card in it replaced: at each group, the longest sequence of
/// whole groups that has 13 to 19 digits and passes the Luhn check, if any, becomes `[CARD]`.
fn redact_cards(run: &str) -> String {
    let groups: Vec<(usize, usize)> = digit_groups(run);
    let mut output = String::with_capacity(run.len());
    let mut copied_up_to = 0;
    let mut first = 0;
    while first < groups.len() {
        let card_end = (first + 1..=groups.len()).rev().find(|&end| {
            let (start, stop) = (groups[first].0, groups[end - 1].1);
            let digits = run[start..stop].bytes().filter(u8::is_ascii_digit).count();
            (13..=19).contains(&digits) && passes_luhn(&run[start..stop])
        });
        match card_end {
            Some(end) => {
                output.push_str(&run[copied_up_to..groups[first].0]);
                output.push_str(Redacted::Card.placeholder());
                copied_up_to = groups[end - 1].1;
                first = end;
            }
            None => first += 1,
        }
    }
    output.push_str(&run[copied_up_to..]);
    output
}

/// The byte ranges of the digit groups in a run such as `4111 1111-1111`.
fn digit_groups(run: &str) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = None;
    for (index, byte) in run.bytes().enumerate() {
        match (byte.is_ascii_digit(), start) {
            (true, None) => start = Some(index),
            (false, Some(group_start)) => {
                groups.push((group_start, index));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(group_start) = start {
        groups.push((group_start, run.len()));
    }
    groups
}

/// Whether the digits of `candidate` (separators ignored) pass the Luhn checksum.
fn passes_luhn(candidate: &str) -> bool {
    let digits = candidate
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|digit| u32::from(digit - b'0'));
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether a dotted quad is part of a longer run such as the version `1.2.3.4.5`.
fn is_in_longer_dotted_run(text: &str, found: &Captures) -> bool {
    let Some(whole) = found.get(0) else {
        return false;
    };
    let before = text[..whole.start()].chars().next_back();
    let mut after = text[whole.end()..].chars();
    let continues_before = matches!(before, Some('.'));
    let continues_after =
        matches!(after.next(), Some('.')) && after.next().is_some_and(|next| next.is_ascii_digit());
    continues_before || continues_after
}

/// Whether an IPv6 candidate stands alone and parses, with enough hex digits to rule out `a::b`
/// and `::1`-like fragments of code.
fn is_ipv6(text: &str, found: &Captures) -> bool {
    let Some(whole) = found.get(0) else {
        return false;
    };
    let joins_a_word = |next: Option<char>| {
        next.is_some_and(|next| next.is_alphanumeric() || next == '_' || next == ':')
    };
    let before = text[..whole.start()].chars().next_back();
    let after = text[whole.end()..].chars().next();
    if joins_a_word(before) || joins_a_word(after) {
        return false;
    }
    let hex_digits = whole.as_str().bytes().filter(u8::is_ascii_hexdigit).count();
    hex_digits >= 4 && whole.as_str().parse::<Ipv6Addr>().is_ok()
}

/// A phone candidate replaced when it is a phone number: an international number of 8 to 15
/// digits not glued to a word (when the pattern ran on into following digits, its longest
/// such prefix), any North American match, or a national number of 9 to 11 digits that uses
/// one kind of separator throughout (those look most like other numbers).
fn redact_phone(text: &str, found: &Captures) -> String {
    let Some(whole) = found.get(0) else {
        return String::new();
    };
    let candidate = whole.as_str();
    let placeholder = Redacted::Phone.placeholder();
    let digits = |text: &str| text.bytes().filter(u8::is_ascii_digit).count();

    if found.name("north_american").is_some() {
        return placeholder.to_owned();
    }
    if found.name("international").is_some() {
        let glued = text[..whole.start()]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        // Ends of digit groups, longest first: the number may have run on into other digits.
        let group_ends = (1..=candidate.len()).rev().filter(|&end| {
            candidate.as_bytes()[end - 1].is_ascii_digit()
                && candidate
                    .as_bytes()
                    .get(end)
                    .is_none_or(|next| !next.is_ascii_digit())
        });
        let phone_end = group_ends
            .take_while(|&end| digits(&candidate[..end]) >= 8)
            .find(|&end| digits(&candidate[..end]) <= 15);
        return match phone_end {
            Some(end) if !glued => format!("{placeholder}{}", &candidate[end..]),
            _ => candidate.to_owned(),
        };
    }
    let mut separators = candidate.chars().filter(|c| !c.is_ascii_digit());
    let first_separator = separators.next();
    let consistent = separators.all(|separator| Some(separator) == first_separator);
    if consistent && (9..=11).contains(&digits(candidate)) {
        placeholder.to_owned()
    } else {
        candidate.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str) -> String {
        Redactor::new().redact(text).into_owned()
    }

    #[test]
    fn leaves_text_without_items_borrowed() {
        let text = "The meeting moved to 3pm on 2026-12-03; version 1.2.3 ships.";
        assert!(matches!(Redactor::new().redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn replaces_email_addresses() {
        assert_eq!(
            redacted("write to jane.doe+billing@example.co.uk today"),
            "write to [EMAIL] today"
        );
    }

    #[test]
    fn replaces_phone_numbers_in_common_forms() {
        for phone in [
            "+44 20 7946 0958",
            "+1 (555) 123-4567",
            "0049 30 1234567",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "06 12 34 56 78",
            "020 7946 0958",
        ] {
            assert_eq!(
                redacted(&format!("call {phone} now")),
                "call [PHONE] now",
                "{phone}"
            );
        }
    }

    #[test]
    fn an_international_number_that_runs_into_other_digits_is_still_replaced() {
        assert_eq!(redacted("+44 20 7946 0958 2024 7 12"), "[PHONE] 2024 7 12");
    }

    #[test]
    fn an_address_followed_by_a_card_number_redacts_both() {
        assert_eq!(redacted("203.0.113.42 4111 1111 1111 1111"), "[IP] [CARD]");
    }

    #[test]
    fn keeps_dates_times_and_short_numbers() {
        for text in [
            "on 2026-12-03 at 10:15",
            "order 12345",
            "01.02.2024 10:30",
            "x+100 = 7",
        ] {
            assert_eq!(redacted(text), text);
        }
    }

    #[test]
    fn replaces_ip_addresses() {
        assert_eq!(redacted("from 192.168.10.254, then"), "from [IP], then");
        assert_eq!(
            redacted("host 2001:db8::8a2e:370:7334 down"),
            "host [IP] down"
        );
        assert_eq!(redacted("link fe80::1ff:fe23:4567:890a."), "link [IP].");
    }

    #[test]
    fn keeps_version_numbers_code_paths_and_clock_times() {
        for text in [
            "release 1.2.3.4.5",
            "use std::io::Write;",
            "at 12:30:45",
            "a::b",
        ] {
            assert_eq!(redacted(text), text);
        }
    }

    #[test]
    fn replaces_card_numbers_that_pass_luhn() {
        assert_eq!(redacted("card 4111 1111 1111 1111 ok"), "card [CARD] ok");
        assert_eq!(redacted("card 4111-1111-1111-1111"), "card [CARD]");
        assert_eq!(redacted("amex 378282246310005"), "amex [CARD]");
        assert_eq!(redacted("4111111111111111 10 items"), "[CARD] 10 items");
        assert_eq!(redacted("qty 7 4111 1111 1111 1111"), "qty 7 [CARD]");
    }

    #[test]
    fn keeps_a_sixteen_digit_number_that_fails_luhn() {
        let long_id = "id 41111111111111111111111";
        for text in ["ref 4111 1111 1111 1112", "ref 4111111111111112", long_id] {
            assert_eq!(redacted(text), text);
        }
    }

    #[test]
    fn luhn_checksum_matches_known_numbers() {
        assert!(passes_luhn("79927398713"));
        assert!(!passes_luhn("79927398710"));
        assert!(passes_luhn("5555 5555 5555 4444"));
    }

    #[test]
    fn replaces_secrets_of_each_shape() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----";
        let cases = [
            (
                "Authorization: Bearer abcDEF123456ghiJKL".to_owned(),
                "Authorization: Bearer [SECRET]",
            ),
            (
                "key sk-proj-AbCdEfGhIjKlMnOpQrStUv".to_owned(),
                "key [SECRET]",
            ),
            (
                "id AKIAIOSFODNN7EXAMPLE here".to_owned(),
                "id [SECRET] here",
            ),
            (format!("token {jwt}"), "token [SECRET]"),
            (format!("key:\n{pem}\nend"), "key:\n[SECRET]\nend"),
            (
                "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789".to_owned(),
                "gh [SECRET]",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(redacted(&text), expected, "{text}");
        }
    }

    #[test]
    fn replaces_an_unterminated_private_key_block() {
        let text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        assert_eq!(redacted(text), "[SECRET]");
    }

    #[test]
    fn keeps_json_valid_when_redacting_serialised_arguments() {
        let arguments =
            r#"{"to":"ann@example.org","key":"-----BEGIN PRIVATE KEY-----\nMIIE","n":1}"#;
        let output = redacted(arguments);
        let parsed: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(parsed["to"], "[EMAIL]");
        assert_eq!(parsed["key"], "[SECRET]");
    }

    #[test]
    fn redacting_twice_equals_redacting_once() {
        let samples = [
            "mail a@b.io, call +1 555 123 4567 or 555-987-6543, card 4242424242424242",
            "Bearer abcdefghijklmnop then 10.0.0.1 and 2001:db8::1:2 and sk-abcdefghijklmnopqrstu",
            "user@192.168.1.1 and ::ffff:10.1.2.3 and 06.12.34.56.78",
        ];
        let redactor = Redactor::new();
        for sample in samples {
            let once = redactor.redact(sample).into_owned();
            let twice = redactor.redact(&once).into_owned();
            assert_eq!(twice, once, "{sample}");
            assert!(matches!(redactor.redact(&once), Cow::Borrowed(_)), "{once}");
        }
    }

    #[test]
    fn redacts_the_same_text_the_same_way_every_time() {
        let text = "ann@example.org 4111111111111111 10.0.0.7";
        assert_eq!(redacted(text), redacted(text));
        assert_eq!(redacted(text), "[EMAIL] [CARD] [IP]");
    }
}
