//! What the API's parameters may be, stated twice and kept equal: as the
//! OpenAPI document declares it (patterns, enums, lengths, ranges; the
//! `#[param]` and `#[schema]` attributes name these constants' values) and as
//! the handlers check it (400 for a parameter the document forbids). Issue
//! #15, finding 16: a schema-valid request is accepted, a schema-violating one
//! refused. The tests below hold each pattern the document declares next to
//! the check that enforces it, and try both on the same samples.

use crate::error::ApiError;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{OneOfBuilder, RefOr};

fn is_hex_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// [`PERSON_ID_PATTERN`].
pub fn is_person_id(text: &str) -> bool {
    is_hex_id(text, "p-")
}

/// [`ALERT_ID_PATTERN`].
pub fn is_alert_id(text: &str) -> bool {
    is_hex_id(text, "a-")
}

/// [`AGENCY_PATTERN`].
pub fn is_agency(text: &str) -> bool {
    sightline_core::AgencyId::parse(text).is_ok()
}

/// [`USERNAME_PATTERN`].
pub fn is_username(text: &str) -> bool {
    sightline_app::accounts::Username::parse(text).is_ok()
}

/// [`RECORD_CURSOR_PATTERN`].
pub fn is_record_cursor(text: &str) -> bool {
    text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit())
}

/// [`ALERT_CURSOR_PATTERN`].
pub fn is_alert_cursor(text: &str) -> bool {
    let mut parts = text.splitn(4, '.');
    let (Some(overdue), Some(severity), Some(due), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = due.strip_prefix('-').unwrap_or(due);
    matches!(overdue, "0" | "1")
        && matches!(severity, "0" | "1" | "2" | "3")
        && (1..=18).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && is_alert_id(id)
}

/// [`NO_CONTROL_PATTERN`].
pub fn has_no_control(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// 400 naming the parameter unless `ok`.
pub fn require(ok: bool, message: &str) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(message))
    }
}

/// A string schema with these values only.
fn enum_of(values: &[&str]) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build(),
    )
}

/// `kind` of `GET /api/v1/records`: every kind of the interchange.
pub fn kind_schema() -> Schema {
    enum_of(sightline_core::Kind::NAMES)
}

/// `decision` of `POST /api/v1/alerts/{id}/decision`.
pub fn decision_schema() -> Schema {
    let names: Vec<&str> = sightline_app::decisions::DecisionKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    enum_of(&names)
}

/// `verdict` of `POST /api/v1/linkage/review`.
pub fn verdict_schema() -> Schema {
    enum_of(&["match", "non_match", "withdrawn"])
}

/// `severity` of `GET /api/v1/alerts`.
pub fn severity_schema() -> Schema {
    enum_of(&["low", "medium", "high", "critical"])
}

/// `status` of `GET /api/v1/alerts`.
pub fn status_schema() -> Schema {
    enum_of(&[
        sightline_store::STATUS_OPEN,
        sightline_store::STATUS_DECIDED,
    ])
}

/// `assigned` of `GET /api/v1/alerts`: `me`, `nobody` or a username.
pub fn assigned_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^(me|nobody|[a-z0-9][a-z0-9._-]{2,63})$"))
            .build(),
    )
}

/// A search's date of birth: `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (or empty, as
/// a form sends a field left blank: no date of birth).
pub fn dob_schema() -> RefOr<Schema> {
    let pattern = |pattern: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .build()
    };
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                    .build(),
            )
            .item(pattern("^[0-9]{4}-(0[1-9]|1[0-2])$"))
            .item(pattern("^[0-9]{4}$"))
            .item(pattern("^$"))
            .build(),
    ))
}

/// [`dob_schema`]: a date of birth as `sightline_core::PartialDate` reads it.
pub fn is_dob(text: &str) -> bool {
    text.is_empty() || sightline_core::PartialDate::parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person id: `p-` and 16 lower-case hexadecimal digits.
    const PERSON_ID_PATTERN: &str = "^p-[0-9a-f]{16}$";
    /// An alert id: `a-` and 16 lower-case hexadecimal digits.
    const ALERT_ID_PATTERN: &str = "^a-[0-9a-f]{16}$";
    /// An agency id: 2 to 64 of `a-z 0-9 -`.
    const AGENCY_PATTERN: &str = "^[a-z0-9-]{2,64}$";
    /// A username: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    const USERNAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{2,63}$";
    /// The records' paging cursor: a log position.
    const RECORD_CURSOR_PATTERN: &str = "^[0-9]{0,18}$";
    /// The alerts' paging cursor: overdue key, severity key, due time (µs), id.
    const ALERT_CURSOR_PATTERN: &str = "^[01][.][0-3][.]-?[0-9]{1,18}[.]a-[0-9a-f]{16}$";
    /// Text without control characters (Unicode Cc).
    const NO_CONTROL_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
    /// A reason: at least 20 characters once leading and trailing white space is
    /// trimmed (two non-space characters at least 19 apart).
    const REASON_PATTERN: &str = "\\S[\\s\\S]{18,}\\S";

    /// A pattern, the check that enforces it, and samples to try both on.
    type PatternAndCheck = (&'static str, fn(&str) -> bool, Vec<&'static str>);

    /// Every pattern of the document, with its check and samples of both kinds.
    fn patterns() -> Vec<PatternAndCheck> {
        vec![
            (
                PERSON_ID_PATTERN,
                is_person_id,
                vec![
                    "p-0123456789abcdef",
                    "p-0123456789ABCDEF",
                    "p-1",
                    "",
                    "p-0123456789abcdef\n",
                ],
            ),
            (
                ALERT_ID_PATTERN,
                is_alert_id,
                vec![
                    "a-0123456789abcdef",
                    "p-0123456789abcdef",
                    "a-0123456789abcdefa",
                ],
            ),
            (
                AGENCY_PATTERN,
                is_agency,
                vec!["police", "gp-2", "Police", "p", "a b"],
            ),
            (
                USERNAME_PATTERN,
                is_username,
                vec!["demo.team-manager", "ab", ".abc", "Abc", "abc"],
            ),
            (
                RECORD_CURSOR_PATTERN,
                is_record_cursor,
                vec![
                    "",
                    "0",
                    "123456789012345678",
                    "1234567890123456789",
                    "-1",
                    "+1",
                    "1a",
                ],
            ),
            (
                ALERT_CURSOR_PATTERN,
                is_alert_cursor,
                vec![
                    "0.3.1700000000000000.a-0123456789abcdef",
                    "1.0.-5.a-0123456789abcdef",
                    "2.0.5.a-0123456789abcdef",
                    "0.0.5.a-0123",
                    "0.0..a-0123456789abcdef",
                    "0.0.1234567890123456789.a-0123456789abcdef",
                ],
            ),
            (
                NO_CONTROL_PATTERN,
                has_no_control,
                vec![
                    "Tina Marsh",
                    "",
                    "a\u{7}b",
                    "a\u{85}b",
                    "a\u{9f}",
                    "Zoë Ó Briain",
                ],
            ),
            (
                REASON_PATTERN,
                |text| text.trim().chars().count() >= 20,
                vec![
                    "Seen at home today; no concerns.",
                    "   short reason here   ",
                    "  exactly twenty chars  ",
                    "x                    y",
                    "nineteen characters",
                ],
            ),
        ]
    }

    #[test]
    fn each_pattern_and_its_check_agree() {
        for (pattern, check, samples) in patterns() {
            let regex = regex::Regex::new(pattern).expect(pattern);
            for sample in samples {
                assert_eq!(
                    regex.is_match(sample),
                    check(sample),
                    "{pattern} on {sample:?}"
                );
            }
        }
    }

    /// Every `pattern` in the OpenAPI document, wherever it is.
    fn document_patterns(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("pattern", serde_json::Value::String(pattern)) => {
                            found.push(pattern.clone())
                        }
                        _ => document_patterns(value, found),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| document_patterns(item, found))
            }
            _ => {}
        }
    }

    #[test]
    fn every_pattern_of_the_document_has_its_check() {
        let document = serde_json::to_value(crate::openapi()).expect("the document");
        let mut found = Vec::new();
        document_patterns(&document, &mut found);
        let known: Vec<&str> = patterns().iter().map(|(pattern, _, _)| *pattern).collect();
        // Checked with `is_dob` and `is_username` (tested in the crates that own them).
        let composite = [
            "^[0-9]{4}-(0[1-9]|1[0-2])$",
            "^[0-9]{4}$",
            "^$",
            "^(me|nobody|[a-z0-9][a-z0-9._-]{2,63})$",
        ];
        assert!(found.len() >= 10, "{found:?}");
        for pattern in found {
            assert!(
                known.contains(&pattern.as_str()) || composite.contains(&pattern.as_str()),
                "the document's pattern {pattern:?} has no check here"
            );
        }
    }

    #[test]
    fn cursors() {
        assert!(is_alert_cursor("0.3.1700000000000000.a-0123456789abcdef"));
        assert!(is_alert_cursor("1.0.-5.a-0123456789abcdef"));
        assert!(!is_alert_cursor("2.0.5.a-0123456789abcdef"));
        assert!(!is_alert_cursor("0.0.5.a-0123"));
        assert!(!is_alert_cursor("0.0..a-0123456789abcdef"));
        assert!(is_record_cursor(""));
        assert!(is_record_cursor("123"));
        assert!(!is_record_cursor("-1"));
        assert!(!is_record_cursor("+1"));
    }

    #[test]
    fn ids() {
        assert!(is_person_id("p-0123456789abcdef"));
        assert!(!is_person_id("p-0123456789ABCDEF"));
        assert!(!is_person_id("p-0123456789abcdef0"));
        assert!(is_alert_id("a-0123456789abcdef"));
        assert!(!is_alert_id("p-0123456789abcdef"));
    }
}
