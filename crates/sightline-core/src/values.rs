//! Validated values. Each newtype has private fields and is built only by `parse`:
//! once a value exists it is valid (parse, don't validate).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use std::fmt;

/// Why a value did not parse: plain words, without the field path (the caller adds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn value_error(message: impl Into<String>) -> ValueError {
    ValueError(message.into())
}

/// The stable id of a sending agency: `[a-z0-9-]{2,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyId(String);

impl AgencyId {
    pub const CHARS_MIN: usize = 2;
    pub const CHARS_MAX: usize = 64;

    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let length_ok = (Self::CHARS_MIN..=Self::CHARS_MAX).contains(&text.len());
        let chars_ok = text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if length_ok && chars_ok {
            Ok(AgencyId(text.to_owned()))
        } else {
            Err(value_error(format!(
                "\"{}\" is not an agency id (2-64 characters of a-z, 0-9 and -)",
                truncate_for_message(text)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agency's own id of one record: 1-128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

impl RecordId {
    pub const CHARS_MAX: usize = 128;

    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let n_chars = text.chars().count();
        if n_chars == 0 {
            return Err(value_error("must not be empty"));
        }
        if n_chars > Self::CHARS_MAX {
            return Err(value_error(format!(
                "is {n_chars} characters long (at most {})",
                Self::CHARS_MAX
            )));
        }
        if text.chars().any(is_invisible) {
            return Err(value_error(
                "contains a control or invisible character (only printable characters are allowed)",
            ));
        }
        Ok(RecordId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A character that prints nothing: a control character (Unicode Cc), a line or
/// paragraph separator (Zl, Zp), or a format character (Cf: zero-width spaces
/// and joiners, bidirectional marks, the soft hyphen, the byte order mark). Two
/// record ids that differ only by one of these look the same to a person but
/// are different keys.
fn is_invisible(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An NHS number: ten digits passing the modulus-11 check digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

impl NhsNumber {
    /// Accepts ten digits, with spaces anywhere between them.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let mut digits = [0u8; 10];
        let mut n_digits = 0;
        for character in text.chars() {
            match character {
                // Any space: a no-break space pasted from a spreadsheet too.
                character if character.is_whitespace() => continue,
                '0'..='9' if n_digits < 10 => {
                    digits[n_digits] = character as u8 - b'0';
                    n_digits += 1;
                }
                _ => {
                    return Err(value_error(format!(
                        "\"{}\" is not an NHS number (10 digits)",
                        truncate_for_message(text)
                    )));
                }
            }
        }
        if n_digits != 10 {
            return Err(value_error(format!(
                "\"{}\" is not an NHS number (10 digits)",
                truncate_for_message(text)
            )));
        }
        match Self::check_digit(&digits) {
            Some(check) if check == digits[9] => Ok(NhsNumber(digits)),
            _ => Err(value_error(format!("\"{text}\" fails the check digit"))),
        }
    }

    /// The modulus-11 check digit of the first nine digits, or `None` when the
    /// remainder makes the number invalid (a check value of 10).
    pub fn check_digit(digits: &[u8]) -> Option<u8> {
        let sum: u32 = digits
            .iter()
            .take(9)
            .zip((2..=10u32).rev())
            .map(|(&digit, weight)| u32::from(digit) * weight)
            .sum();
        match 11 - (sum % 11) {
            11 => Some(0),
            10 => None,
            check => u8::try_from(check).ok(),
        }
    }

    /// The ten digits without spaces.
    pub fn digits(&self) -> String {
        self.0
            .iter()
            .map(|digit| char::from(b'0' + digit))
            .collect()
    }
}

impl fmt::Display for NhsNumber {
    /// The usual 3-3-4 grouping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits();
        write!(f, "{} {} {}", &digits[0..3], &digits[3..6], &digits[6..10])
    }
}

impl fmt::Debug for NhsNumber {
    /// Redacted: an NHS number never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(***)")
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let compact: String = text
            .chars()
            .filter(|character| !character.is_whitespace())
            .map(|character| character.to_ascii_uppercase())
            .collect();
        if compact == "GIR0AA" {
            return Ok(Postcode("GIR 0AA".to_owned()));
        }
        let bytes = compact.as_bytes();
        let shape_ok = (5..=7).contains(&bytes.len()) && {
            let (outward, inward) = bytes.split_at(bytes.len() - 3);
            Self::outward_ok(outward)
                && inward[0].is_ascii_digit()
                && inward[1].is_ascii_uppercase()
                && inward[2].is_ascii_uppercase()
        };
        if !shape_ok {
            return Err(value_error(format!(
                "\"{}\" is not a UK postcode",
                truncate_for_message(text)
            )));
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        Ok(Postcode(format!("{outward} {inward}")))
    }

    /// Outward codes: A9, A99, AA9, AA99, A9A, AA9A.
    fn outward_ok(outward: &[u8]) -> bool {
        let letter = |byte: &u8| byte.is_ascii_uppercase();
        let digit = |byte: &u8| byte.is_ascii_digit();
        match outward {
            [a, b] => letter(a) && digit(b),
            [a, b, c] => {
                letter(a) && ((digit(b) && (digit(c) || letter(c))) || (letter(b) && digit(c)))
            }
            [a, b, c, d] => letter(a) && letter(b) && digit(c) && (digit(d) || letter(d)),
            _ => false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code, e.g. `N17` of `N17 6AA`.
    pub fn district(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }

    /// The sector, e.g. `N17 6` of `N17 6AA`.
    pub fn sector(&self) -> &str {
        &self.0[..self.0.len() - 2]
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A date known to the year, the month or the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartialDate {
    Year(i32),
    Month(i32, u32),
    Day(NaiveDate),
}

impl PartialDate {
    /// Parses `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        parse_date_parts(text, DatePrecisions::ALL)
    }

    /// The first day the date could be.
    pub fn earliest(self) -> NaiveDate {
        match self {
            PartialDate::Year(year) => NaiveDate::from_ymd_opt(year, 1, 1),
            PartialDate::Month(year, month) => NaiveDate::from_ymd_opt(year, month, 1),
            PartialDate::Day(date) => Some(date),
        }
        .unwrap_or(NaiveDate::MIN)
    }

    /// The last day the date could be.
    pub fn latest(self) -> NaiveDate {
        match self {
            PartialDate::Year(year) => NaiveDate::from_ymd_opt(year, 12, 31),
            PartialDate::Month(year, month) => last_day_of_month(year, month),
            PartialDate::Day(date) => Some(date),
        }
        .unwrap_or(NaiveDate::MAX)
    }

    pub fn year(self) -> i32 {
        match self {
            PartialDate::Year(year) | PartialDate::Month(year, _) => year,
            PartialDate::Day(date) => date.year(),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartialDate::Year(year) => write!(f, "{year:04}"),
            PartialDate::Month(year, month) => write!(f, "{year:04}-{month:02}"),
            PartialDate::Day(date) => write!(f, "{}", date.format("%Y-%m-%d")),
        }
    }
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1).and_then(|date| date.pred_opt())
}

/// Which precisions a date field accepts.
#[derive(Clone, Copy)]
struct DatePrecisions {
    year: bool,
}

impl DatePrecisions {
    const ALL: DatePrecisions = DatePrecisions { year: true };
    const MONTH_OR_DAY: DatePrecisions = DatePrecisions { year: false };
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn parse_date_parts(text: &str, precisions: DatePrecisions) -> Result<PartialDate, ValueError> {
    let shown = truncate_for_message(text);
    let expected = if precisions.year {
        "YYYY-MM-DD, YYYY-MM or YYYY"
    } else {
        "YYYY-MM-DD or YYYY-MM"
    };
    let not_a_date = || value_error(format!("\"{shown}\" is not a date ({expected})"));
    let parts: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|part| part.len()).collect();
    if !parts.iter().all(|part| all_digits(part)) {
        return Err(not_a_date());
    }
    let number = |part: &str| part.parse::<u32>().map_err(|_| not_a_date());
    match lengths.as_slice() {
        [4] if precisions.year => Ok(PartialDate::Year(number(parts[0])? as i32)),
        [4, 2] | [4, 2, 2] => {
            let year = number(parts[0])? as i32;
            let month = number(parts[1])?;
            if !(1..=12).contains(&month) {
                return Err(value_error(format!(
                    "\"{shown}\" is not a date (month {month})"
                )));
            }
            if parts.len() == 2 {
                return Ok(PartialDate::Month(year, month));
            }
            let day = number(parts[2])?;
            NaiveDate::from_ymd_opt(year, month, day)
                .map(PartialDate::Day)
                .ok_or_else(|| {
                    value_error(format!(
                        "\"{shown}\" is not a date (day {day} of month {month})"
                    ))
                })
        }
        _ => Err(not_a_date()),
    }
}

/// When something happened: an instant, a day, or only a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccurredAt {
    Instant(DateTime<FixedOffset>),
    Day(NaiveDate),
    Month(i32, u32),
}

impl OccurredAt {
    /// Parses an RFC 3339 date-time, a date `YYYY-MM-DD` or a month `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        if text.len() > 10 {
            return parse_date_time(text).map(OccurredAt::Instant);
        }
        match parse_date_parts(text, DatePrecisions::MONTH_OR_DAY)? {
            PartialDate::Day(date) => Ok(OccurredAt::Day(date)),
            PartialDate::Month(year, month) => Ok(OccurredAt::Month(year, month)),
            PartialDate::Year(_) => Err(value_error(format!(
                "\"{text}\" is not a date-time, date or month"
            ))),
        }
    }

    /// The first instant it could have been (UTC midnight for a day or month).
    pub fn start(self) -> DateTime<Utc> {
        match self {
            OccurredAt::Instant(instant) => instant.with_timezone(&Utc),
            OccurredAt::Day(date) => Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN)),
            OccurredAt::Month(year, month) => {
                let date = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
                Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
            }
        }
    }

    /// The calendar day, when known (the local date of an instant).
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            OccurredAt::Instant(instant) => Some(instant.date_naive()),
            OccurredAt::Day(date) => Some(date),
            OccurredAt::Month(..) => None,
        }
    }
}

impl fmt::Display for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OccurredAt::Instant(instant) => write!(f, "{}", instant.to_rfc3339()),
            OccurredAt::Day(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            OccurredAt::Month(year, month) => write!(f, "{year:04}-{month:02}"),
        }
    }
}

/// Parses an RFC 3339 date-time such as `2007-04-12T22:40:00Z` or `...+01:00`.
pub fn parse_date_time(text: &str) -> Result<DateTime<FixedOffset>, ValueError> {
    DateTime::parse_from_rfc3339(text).map_err(|error| {
        value_error(format!(
            "\"{}\" is not an RFC 3339 date-time ({error})",
            truncate_for_message(text)
        ))
    })
}

/// Shortens a value quoted in an error message so a huge bad value cannot flood it.
pub fn truncate_for_message(text: &str) -> String {
    const CHARS_MAX: usize = 60;
    if text.chars().count() <= CHARS_MAX {
        text.to_owned()
    } else {
        let head: String = text.chars().take(CHARS_MAX).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_nhs(input: &str, expected: Result<&str, &str>) {
        let actual = NhsNumber::parse(input)
            .map(|number| number.to_string())
            .map_err(|error| error.0);
        assert_eq!(
            actual.as_deref().map_err(String::as_str),
            expected,
            "input {input:?}"
        );
    }

    #[test]
    fn nhs_numbers() {
        check_nhs("9434765919", Ok("943 476 5919"));
        check_nhs("943 476 5919", Ok("943 476 5919"));
        check_nhs(" 943\u{a0}476\t5919 ", Ok("943 476 5919"));
        check_nhs(
            "943 476 5918",
            Err("\"943 476 5918\" fails the check digit"),
        );
        check_nhs(
            "94347659",
            Err("\"94347659\" is not an NHS number (10 digits)"),
        );
        check_nhs(
            "943-476-5919",
            Err("\"943-476-5919\" is not an NHS number (10 digits)"),
        );
        check_nhs(
            "94347659190",
            Err("\"94347659190\" is not an NHS number (10 digits)"),
        );
        // Nine digits whose check value is 10 can never be valid.
        check_nhs("0000000060", Err("\"0000000060\" fails the check digit"));
    }

    fn check_postcode(input: &str, expected: Option<&str>) {
        let actual = Postcode::parse(input)
            .ok()
            .map(|postcode| postcode.to_string());
        assert_eq!(actual.as_deref(), expected, "input {input:?}");
    }

    #[test]
    fn postcodes() {
        check_postcode("n176aa", Some("N17 6AA"));
        check_postcode("N17 6AA", Some("N17 6AA"));
        check_postcode("sw1a1aa", Some("SW1A 1AA"));
        check_postcode("W1A 0AX", Some("W1A 0AX"));
        check_postcode("M1 1AE", Some("M1 1AE"));
        check_postcode("B33 8TH", Some("B33 8TH"));
        check_postcode("CR2 6XH", Some("CR2 6XH"));
        check_postcode("DN55 1PT", Some("DN55 1PT"));
        check_postcode("gir 0aa", Some("GIR 0AA"));
        check_postcode("4011", None);
        check_postcode("N17", None);
        check_postcode("17N 6AA", None);
        check_postcode("N17 AAA", None);
        check_postcode("", None);
        let postcode = Postcode::parse("N17 6AA").expect("valid");
        assert_eq!(postcode.district(), "N17");
        assert_eq!(postcode.sector(), "N17 6");
    }

    #[test]
    fn partial_dates() {
        assert_eq!(PartialDate::parse("2006"), Ok(PartialDate::Year(2006)));
        assert_eq!(
            PartialDate::parse("2006-03"),
            Ok(PartialDate::Month(2006, 3))
        );
        assert!(matches!(
            PartialDate::parse("2006-03-01"),
            Ok(PartialDate::Day(_))
        ));
        assert_eq!(
            PartialDate::parse("2006-13-01").map_err(|error| error.0),
            Err("\"2006-13-01\" is not a date (month 13)".to_owned())
        );
        assert_eq!(
            PartialDate::parse("2007-02-29").map_err(|error| error.0),
            Err("\"2007-02-29\" is not a date (day 29 of month 2)".to_owned())
        );
        assert!(PartialDate::parse("06-03-01").is_err());
        assert!(PartialDate::parse("2006/03/01").is_err());
        assert!(PartialDate::parse("2006-3-1").is_err());
        assert!(PartialDate::parse("").is_err());
        assert_eq!(
            PartialDate::Month(2008, 2).latest(),
            NaiveDate::from_ymd_opt(2008, 2, 29).expect("leap day")
        );
    }

    #[test]
    fn occurred_at_forms() {
        assert!(matches!(
            OccurredAt::parse("2007-04-12T22:40:00Z"),
            Ok(OccurredAt::Instant(_))
        ));
        assert!(matches!(
            OccurredAt::parse("2007-04-12T22:40:00+01:00"),
            Ok(OccurredAt::Instant(_))
        ));
        assert!(matches!(
            OccurredAt::parse("2007-04-12"),
            Ok(OccurredAt::Day(_))
        ));
        assert!(matches!(
            OccurredAt::parse("2007-04"),
            Ok(OccurredAt::Month(2007, 4))
        ));
        assert!(OccurredAt::parse("2007").is_err());
        assert!(OccurredAt::parse("2007-04-12T25:00:00Z").is_err());
        assert!(OccurredAt::parse("2007-04-12 22:40").is_err());
    }

    #[test]
    fn agency_and_record_ids() {
        assert!(AgencyId::parse("north-met-police").is_ok());
        assert!(AgencyId::parse("a").is_err());
        assert!(AgencyId::parse("North").is_err());
        assert!(AgencyId::parse(&"a".repeat(65)).is_err());
        assert!(RecordId::parse("DA-2007-0412").is_ok());
        assert!(RecordId::parse("").is_err());
        assert!(RecordId::parse("a\tb").is_err());
        for invisible in ["\u{200B}", "\u{2028}", "\u{00AD}", "\u{FEFF}", "\u{202E}"] {
            assert!(
                RecordId::parse(&format!("DA{invisible}1")).is_err(),
                "{invisible:?}"
            );
        }
        assert!(RecordId::parse("Ärende-№1 (ÆØÅ)").is_ok());
        assert!(RecordId::parse(&"x".repeat(129)).is_err());
    }

    proptest! {
        #[test]
        fn any_nine_digits_with_their_check_digit_parse(digits in proptest::collection::vec(0u8..10, 9)) {
            if let Some(check) = NhsNumber::check_digit(&digits) {
                let text: String = digits.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
                let parsed = NhsNumber::parse(&text);
                prop_assert!(parsed.is_ok());
                // Changing the last digit to any other value must fail.
                let wrong = (check + 1) % 10;
                let text_wrong: String = digits.iter().chain(std::iter::once(&wrong)).map(|d| char::from(b'0' + d)).collect();
                prop_assert!(NhsNumber::parse(&text_wrong).is_err());
            }
        }

        #[test]
        fn postcode_normalisation_is_idempotent(text in "[A-Za-z]{1,2}[0-9]{1,2} ?[0-9][A-Za-z]{2}") {
            if let Ok(postcode) = Postcode::parse(&text) {
                let again = Postcode::parse(postcode.as_str());
                prop_assert_eq!(again, Ok(postcode));
            }
        }

        #[test]
        fn date_parsers_never_panic(text in "\\PC{0,24}") {
            let _ = PartialDate::parse(&text);
            let _ = OccurredAt::parse(&text);
            let _ = NhsNumber::parse(&text);
            let _ = Postcode::parse(&text);
        }

        #[test]
        fn partial_dates_round_trip(year in 1900i32..2100, month in 1u32..13, day in 1u32..29) {
            for text in [format!("{year:04}"), format!("{year:04}-{month:02}"), format!("{year:04}-{month:02}-{day:02}")] {
                let parsed = PartialDate::parse(&text);
                prop_assert!(parsed.is_ok());
                prop_assert_eq!(parsed.map(|date| date.to_string()), Ok(text));
            }
        }
    }
}
