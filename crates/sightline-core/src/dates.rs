//! Dates and times as a person reads and types them.
//!
//! Pages show dates as "7 December 2026" and times as "10:57" on the clock in
//! England (Europe/London: GMT in winter, BST in summer); machine formats
//! (RFC 3339, `YYYY-MM-DD`) are for the API, CSV and the log only. Due times and
//! clocks read in words: "due in 3 working days", "overdue by 2 days". Date
//! fields accept "3 October 2023", "03/10/2023" and "2023-10-03"
//! ([`parse_date_input`]).
//!
//! Pure: every function takes the instant it describes, and `now` where it
//! compares; none reads a clock.

use crate::values::{OccurredAt, PartialDate};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::fmt;

/// The month names, January first.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The offset of the clock in England from UTC at `instant`, in seconds: 3,600
/// during British Summer Time, else 0.
///
/// The rules are tzdata's for Europe/London: since 1996 the EU's (summer time from
/// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
/// October); 1981 to 1995 the last Sunday of March to the Sunday on or after
/// 23 October (22 October from 1990), at 01:00 UTC; 1972 to 1980 the Sunday on
/// or after 16 March to the Sunday on or after 23 October, at 02:00 GMT; British
/// Standard Time (UTC+1 all year) from 18 February 1968 to 31 October 1971.
/// Earlier instants are shown in GMT: Sightline holds no record that old.
pub fn london_offset_seconds(instant: DateTime<Utc>) -> i32 {
    let year = instant.year();
    let at = |date: Option<NaiveDate>, hour_utc: u32| {
        date.and_then(|date| date.and_hms_opt(hour_utc, 0, 0))
            .map(|naive| Utc.from_utc_datetime(&naive))
    };
    let (start, end) = match year {
        ..=1967 => return 0,
        1968..=1971 => {
            let start = at(NaiveDate::from_ymd_opt(1968, 2, 18), 2);
            let end = at(NaiveDate::from_ymd_opt(1971, 10, 31), 2);
            (start, end)
        }
        1972..=1980 => (
            at(sunday_on_or_after(year, 3, 16), 2),
            at(sunday_on_or_after(year, 10, 23), 2),
        ),
        1981..=1989 => (
            at(last_sunday(year, 3), 1),
            at(sunday_on_or_after(year, 10, 23), 1),
        ),
        1990..=1995 => (
            at(last_sunday(year, 3), 1),
            at(sunday_on_or_after(year, 10, 22), 1),
        ),
        _ => (at(last_sunday(year, 3), 1), at(last_sunday(year, 10), 1)),
    };
    match (start, end) {
        (Some(start), Some(end)) if instant >= start && instant < end => 3_600,
        _ => 0,
    }
}

fn sunday_on_or_after(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let days_to_sunday = (7 - date.weekday().num_days_from_sunday()) % 7;
    date.checked_add_signed(Duration::days(i64::from(days_to_sunday)))
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let last = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
    let days_back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(days_back)))
}

/// The date and time on the clock in England at `instant`.
pub fn london(instant: DateTime<Utc>) -> NaiveDateTime {
    let offset = Duration::seconds(i64::from(london_offset_seconds(instant)));
    instant
        .naive_utc()
        .checked_add_signed(offset)
        .unwrap_or(instant.naive_utc())
}

/// "7 December 2026".
pub fn date(day: NaiveDate) -> String {
    let month = MONTHS
        .get(day.month0() as usize)
        .copied()
        .unwrap_or("December");
    format!("{} {month} {}", day.day(), day.year())
}

/// "December 2026".
pub fn month(year: i32, month: u32) -> String {
    match MONTHS.get((month as usize).wrapping_sub(1)) {
        Some(name) => format!("{name} {year}"),
        None => year.to_string(),
    }
}

/// "10:57": the time on the clock in England at `instant`.
pub fn time(instant: DateTime<Utc>) -> String {
    london(instant).format("%H:%M").to_string()
}

/// "7 December 2026": the date in England at `instant`.
pub fn date_of(instant: DateTime<Utc>) -> String {
    date(london(instant).date())
}

/// "7 December 2026 at 10:57", in England.
pub fn date_time(instant: DateTime<Utc>) -> String {
    let local = london(instant);
    format!("{} at {}", date(local.date()), local.format("%H:%M"))
}

/// A date known to the year, month or day: "2007", "March 2007", "3 March 2007".
pub fn partial_date(value: PartialDate) -> String {
    match value {
        PartialDate::Year(year) => year.to_string(),
        PartialDate::Month(year, number) => month(year, number),
        PartialDate::Day(day) => date(day),
    }
}

/// When a record says something happened: an instant in England's time, a day,
/// or a month.
pub fn occurred(value: OccurredAt) -> String {
    match value {
        OccurredAt::Instant(instant) => date_time(instant.with_timezone(&Utc)),
        OccurredAt::Day(day) => date(day),
        OccurredAt::Month(year, number) => month(year, number),
    }
}

/// Stored text of an `occurred_at` (RFC 3339, `YYYY-MM-DD` or `YYYY-MM`) in
/// words; text that is none of these is returned as it is.
pub fn occurred_text(text: &str) -> String {
    OccurredAt::parse(text).map_or_else(|_| text.to_owned(), occurred)
}

/// `count` and a noun, plural when needed: "1 day", "3 days".
pub fn count_of(count: i64, singular: &str, plural: &str) -> String {
    let noun = if count == 1 { singular } else { plural };
    format!("{count} {noun}")
}

/// How far off `due` is from `now`, in words: "due in 3 days", "due in 5 hours",
/// "due in 20 minutes", "overdue by 2 days". Whole days from 2 days, whole hours
/// from 2 hours, else minutes; always rounded down.
pub fn due_in_words(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let gap = due.signed_duration_since(now);
    let span = span_words(gap.abs());
    if gap < Duration::zero() {
        format!("overdue by {span}")
    } else {
        format!("due in {span}")
    }
}

/// How long ago `then` was, in words: "3 days ago", "just now".
pub fn ago_in_words(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let gap = now.signed_duration_since(then);
    if gap < Duration::minutes(1) {
        return "just now".to_owned();
    }
    format!("{} ago", span_words(gap))
}

fn span_words(span: Duration) -> String {
    if span >= Duration::days(2) {
        count_of(span.num_days(), "day", "days")
    } else if span >= Duration::hours(2) {
        count_of(span.num_hours(), "hour", "hours")
    } else {
        count_of(span.num_minutes().max(1), "minute", "minutes")
    }
}

/// A statutory clock's time left in words: "due in 3 working days", "due
/// today", "overdue by 2 working days".
pub fn working_days_words(working_days_left: i64) -> String {
    match working_days_left {
        0 => "due today".to_owned(),
        left if left > 0 => format!("due in {}", count_of(left, "working day", "working days")),
        left => format!(
            "overdue by {}",
            count_of(left.saturating_neg(), "working day", "working days")
        ),
    }
}

/// The longest text a date field accepts (anything longer is not a date).
pub const DATE_INPUT_CHARS_MAX: usize = 40;

/// Why a date field's text is not a date. Its `Display` is the message a form
/// shows (after the field's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateInputError {
    /// Nothing was entered.
    Empty,
    /// Not in a shape Sightline reads.
    NotADate,
    /// A year of fewer than four digits ("03/10/23").
    ShortYear,
    /// The shape of a date but no such day (31 February, month 13).
    NotReal,
}

impl fmt::Display for DateInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateInputError::Empty => "enter a date, for example 3 October 2023",
            DateInputError::NotADate => "enter a date as 3 October 2023, 03/10/2023 or 2023-10-03",
            DateInputError::ShortYear => "enter the year in full, for example 2023",
            DateInputError::NotReal => "enter a real date, for example 3 October 2023",
        })
    }
}

impl std::error::Error for DateInputError {}

impl DateInputError {
    /// The message a form shows beside the field called `field` ("the start
    /// date"): "Enter the start date as 3 October 2023, 03/10/2023 or 2023-10-03".
    pub fn message(&self, field: &str) -> String {
        match self {
            DateInputError::Empty => format!("Enter {field}, for example 3 October 2023"),
            DateInputError::NotADate => {
                format!("Enter {field} as 3 October 2023, 03/10/2023 or 2023-10-03")
            }
            DateInputError::ShortYear => {
                format!("Enter the year of {field} in full, for example 2023")
            }
            DateInputError::NotReal => {
                let mut message =
                    format!("{field} must be a real date, for example 3 October 2023");
                if let Some(first) = message.get(..1) {
                    message.replace_range(..1, &first.to_uppercase());
                }
                message
            }
        }
    }
}

/// Reads a date that may be known only to the month or year, as a date of birth
/// in a search is: any form [`parse_date_input`] reads, or "March 2019",
/// "03/2019", "2019-03", "2019".
pub fn parse_partial_date_input(text: &str) -> Result<PartialDate, DateInputError> {
    let full = parse_date_input(text);
    if let Ok(day) = full {
        return Ok(PartialDate::Day(day));
    }
    let trimmed = text.trim();
    if digits(trimmed, 4..=4) {
        return trimmed
            .parse()
            .map(PartialDate::Year)
            .map_err(|_| DateInputError::NotADate);
    }
    let words: Vec<&str> = trimmed
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '-' || c == '.')
        .filter(|word| !word.is_empty())
        .collect();
    let month_year = match words.as_slice() {
        [month, year] if digits(year, 4..=4) => month_number(month)
            .or_else(|| digits(month, 1..=2).then(|| month.parse().ok()).flatten())
            .zip(year.parse::<i32>().ok()),
        [year, month] if digits(year, 4..=4) && digits(month, 1..=2) => {
            month.parse().ok().zip(year.parse::<i32>().ok())
        }
        _ => None,
    };
    match month_year {
        Some((month, year)) if (1..=12).contains(&month) => Ok(PartialDate::Month(year, month)),
        Some(_) => Err(DateInputError::NotReal),
        None => full.map(PartialDate::Day),
    }
}

/// Reads a date as people type it: "3 October 2023" (or "3 Oct 2023", "3rd
/// October, 2023"), "03/10/2023" (day first, as in the UK; `.` and `-` also
/// separate), or "2023-10-03". Years have four digits. Surrounding and repeated
/// spaces are ignored; case does not matter.
pub fn parse_date_input(text: &str) -> Result<NaiveDate, DateInputError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DateInputError::Empty);
    }
    if trimmed.chars().count() > DATE_INPUT_CHARS_MAX {
        return Err(DateInputError::NotADate);
    }
    let (day, month, year) = if trimmed.chars().any(char::is_alphabetic) {
        words_parts(trimmed)?
    } else {
        numeric_parts(trimmed)?
    };
    if year.len() != 4 {
        return Err(if year.len() < 4 {
            DateInputError::ShortYear
        } else {
            DateInputError::NotADate
        });
    }
    let number = |digits: &str| digits.parse::<u32>().map_err(|_| DateInputError::NotADate);
    let year = number(year)?;
    let day = number(day)?;
    let month = match month {
        Month::Number(digits) => number(digits)?,
        Month::Named(number) => number,
    };
    NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(DateInputError::NotReal)
}

enum Month<'a> {
    Number(&'a str),
    Named(u32),
}

fn digits(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// "2023-10-03" or "3/10/2023" (also "3.10.2023", "3-10-2023").
fn numeric_parts(text: &str) -> Result<(&str, Month<'_>, &str), DateInputError> {
    let separator = ['/', '-', '.']
        .into_iter()
        .find(|separator| text.contains(*separator))
        .ok_or(DateInputError::NotADate)?;
    let parts: Vec<&str> = text.split(separator).map(str::trim).collect();
    let [first, second, third] = parts.as_slice() else {
        return Err(DateInputError::NotADate);
    };
    if !parts.iter().all(|part| digits(part, 1..=8)) {
        return Err(DateInputError::NotADate);
    }
    if first.len() >= 3 {
        // Year first: only ISO order, year-month-day.
        if first.len() == 4 && digits(second, 1..=2) && digits(third, 1..=2) {
            return Ok((third, Month::Number(second), first));
        }
        return Err(DateInputError::NotADate);
    }
    if !digits(second, 1..=2) {
        return Err(DateInputError::NotADate);
    }
    Ok((first, Month::Number(second), third))
}

/// "3 October 2023", "3rd Oct, 2023".
fn words_parts(text: &str) -> Result<(&str, Month<'_>, &str), DateInputError> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| !word.is_empty())
        .collect();
    let [day, month, year] = words.as_slice() else {
        return Err(DateInputError::NotADate);
    };
    let day = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| {
            let lower_suffix = day.get(day.len().saturating_sub(2)..)?;
            lower_suffix
                .eq_ignore_ascii_case(suffix)
                .then(|| &day[..day.len() - 2])
        })
        .unwrap_or(day);
    if !digits(day, 1..=2) || !digits(year, 1..=8) {
        return Err(DateInputError::NotADate);
    }
    let month = month_number(month).ok_or(DateInputError::NotADate)?;
    Ok((day, Month::Named(month), year))
}

/// January is 1. Full names and the usual abbreviations ("Sept" too), any case.
fn month_number(word: &str) -> Option<u32> {
    let lower = word.to_lowercase();
    let lower = lower.trim_end_matches('.');
    if lower == "sept" {
        return Some(9);
    }
    MONTHS.iter().zip(1..).find_map(|(name, number)| {
        let name = name.to_lowercase();
        (lower == name || (lower.len() == 3 && name.starts_with(lower))).then_some(number)
    })
}

/// The start of `day` in England, as a UTC instant (for a "from" filter).
pub fn london_day_start(day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_time(NaiveTime::MIN);
    let guess = Utc.from_utc_datetime(&naive);
    let offset = Duration::seconds(i64::from(london_offset_seconds(guess)));
    Utc.from_utc_datetime(&naive.checked_sub_signed(offset).unwrap_or(naive))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn summer_time_begins_and_ends_on_the_right_instants() {
        // tzdata's Europe/London transitions, UTC.
        for (before_start, start, before_end, end) in [
            (
                "2026-03-29T00:59:59Z",
                "2026-03-29T01:00:00Z",
                "2026-10-25T00:59:59Z",
                "2026-10-25T01:00:00Z",
            ),
            (
                "2021-03-28T00:59:59Z",
                "2021-03-28T01:00:00Z",
                "2021-10-31T00:59:59Z",
                "2021-10-31T01:00:00Z",
            ),
            (
                "2007-03-25T00:59:59Z",
                "2007-03-25T01:00:00Z",
                "2007-10-28T00:59:59Z",
                "2007-10-28T01:00:00Z",
            ),
            (
                "1995-03-26T00:59:59Z",
                "1995-03-26T01:00:00Z",
                "1995-10-22T00:59:59Z",
                "1995-10-22T01:00:00Z",
            ),
            (
                "1985-03-31T00:59:59Z",
                "1985-03-31T01:00:00Z",
                "1985-10-27T00:59:59Z",
                "1985-10-27T01:00:00Z",
            ),
            (
                "1975-03-16T01:59:59Z",
                "1975-03-16T02:00:00Z",
                "1975-10-26T01:59:59Z",
                "1975-10-26T02:00:00Z",
            ),
        ] {
            assert_eq!(
                london_offset_seconds(utc(before_start)),
                0,
                "{before_start}"
            );
            assert_eq!(london_offset_seconds(utc(start)), 3_600, "{start}");
            assert_eq!(
                london_offset_seconds(utc(before_end)),
                3_600,
                "{before_end}"
            );
            assert_eq!(london_offset_seconds(utc(end)), 0, "{end}");
        }
        assert_eq!(london_offset_seconds(utc("1970-01-01T00:00:00Z")), 3_600);
        assert_eq!(london_offset_seconds(utc("1960-07-01T00:00:00Z")), 0);
    }

    #[test]
    fn dates_and_times_read_as_words_in_england() {
        assert_eq!(date(ymd(2026, 12, 7)), "7 December 2026");
        assert_eq!(
            date_time(utc("2026-12-07T10:57:00Z")),
            "7 December 2026 at 10:57"
        );
        // Summer: the clock reads an hour ahead of UTC, and the date can change.
        assert_eq!(
            date_time(utc("2021-02-20T09:56:00+00:00")),
            "20 February 2021 at 09:56"
        );
        assert_eq!(
            date_time(utc("2023-07-01T09:56:00Z")),
            "1 July 2023 at 10:56"
        );
        assert_eq!(date_of(utc("2023-06-30T23:30:00Z")), "1 July 2023");
        assert_eq!(time(utc("2023-06-30T23:30:00Z")), "00:30");
        assert_eq!(partial_date(PartialDate::Month(2007, 3)), "March 2007");
        assert_eq!(partial_date(PartialDate::Year(2007)), "2007");
        assert_eq!(
            occurred_text("2007-01-13T10:20:00Z"),
            "13 January 2007 at 10:20"
        );
        assert_eq!(occurred_text("2007-01-13"), "13 January 2007");
        assert_eq!(occurred_text("2007-01"), "January 2007");
        assert_eq!(occurred_text("soon"), "soon");
    }

    #[test]
    fn due_times_and_clocks_in_words() {
        let now = utc("2026-12-07T10:00:00Z");
        let check = |due: &str, expected: &str| assert_eq!(due_in_words(utc(due), now), expected);
        check("2026-12-10T10:00:00Z", "due in 3 days");
        check("2026-12-08T10:00:00Z", "due in 24 hours");
        check("2026-12-07T11:00:00Z", "due in 60 minutes");
        check("2026-12-07T10:00:30Z", "due in 1 minute");
        check("2026-12-05T09:00:00Z", "overdue by 2 days");
        check("2026-12-07T07:00:00Z", "overdue by 3 hours");
        assert_eq!(working_days_words(3), "due in 3 working days");
        assert_eq!(working_days_words(1), "due in 1 working day");
        assert_eq!(working_days_words(0), "due today");
        assert_eq!(working_days_words(-2), "overdue by 2 working days");
        assert_eq!(ago_in_words(utc("2026-12-04T09:00:00Z"), now), "3 days ago");
        assert_eq!(ago_in_words(now, now), "just now");
    }

    fn check_input(text: &str, expected: Result<NaiveDate, DateInputError>) {
        assert_eq!(parse_date_input(text), expected, "input {text:?}");
    }

    #[test]
    fn date_inputs_people_type() {
        let october_3 = Ok(ymd(2023, 10, 3));
        for text in [
            "3 October 2023",
            "03 October 2023",
            "3 october 2023",
            "3 Oct 2023",
            "3rd October 2023",
            "3 October, 2023",
            "  3  OCTOBER   2023 ",
            "03/10/2023",
            "3/10/2023",
            "3.10.2023",
            "03-10-2023",
            "2023-10-03",
            "2023-10-3",
        ] {
            check_input(text, october_3.clone());
        }
        check_input("3 Sept 2023", Ok(ymd(2023, 9, 3)));
        check_input("", Err(DateInputError::Empty));
        check_input("   ", Err(DateInputError::Empty));
        check_input("03/10/23", Err(DateInputError::ShortYear));
        check_input("3 October 23", Err(DateInputError::ShortYear));
        check_input("31/02/2023", Err(DateInputError::NotReal));
        check_input("2023-13-01", Err(DateInputError::NotReal));
        check_input("2023-02-29", Err(DateInputError::NotReal));
        check_input("29 February 2024", Ok(ymd(2024, 2, 29)));
        check_input("yesterday", Err(DateInputError::NotADate));
        check_input("3 Octember 2023", Err(DateInputError::NotADate));
        check_input("10/2023", Err(DateInputError::NotADate));
        check_input("2023/10/03/01", Err(DateInputError::NotADate));
        check_input("20231003", Err(DateInputError::NotADate));
        check_input("3 October 20233", Err(DateInputError::NotADate));
        check_input("٣/١٠/٢٠٢٣", Err(DateInputError::NotADate));
        assert_eq!(
            DateInputError::NotReal.message("the start date"),
            "The start date must be a real date, for example 3 October 2023"
        );
        assert_eq!(
            DateInputError::NotADate.to_string(),
            "enter a date as 3 October 2023, 03/10/2023 or 2023-10-03"
        );
    }

    #[test]
    fn dates_of_birth_known_to_the_month_or_year() {
        let check = |text: &str, expected: Result<PartialDate, DateInputError>| {
            assert_eq!(parse_partial_date_input(text), expected, "input {text:?}");
        };
        check("2019", Ok(PartialDate::Year(2019)));
        check("March 2019", Ok(PartialDate::Month(2019, 3)));
        check("mar 2019", Ok(PartialDate::Month(2019, 3)));
        check("03/2019", Ok(PartialDate::Month(2019, 3)));
        check("2019-03", Ok(PartialDate::Month(2019, 3)));
        check("27/03/2019", Ok(PartialDate::Day(ymd(2019, 3, 27))));
        check("13/2019", Err(DateInputError::NotReal));
        check("19", Err(DateInputError::NotADate));
        check("", Err(DateInputError::Empty));
        check("spring 2019", Err(DateInputError::NotADate));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1000i32..=9999, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn every_written_form_of_a_date_reads_back(day in any_date()) {
            for text in [
                date(day),
                day.format("%d/%m/%Y").to_string(),
                day.format("%-d/%-m/%Y").to_string(),
                day.format("%Y-%m-%d").to_string(),
                day.format("%-d %b %Y").to_string(),
                day.format("%-d %B, %Y").to_string().to_uppercase(),
            ] {
                prop_assert_eq!(parse_date_input(&text), Ok(day), "{}", text);
            }
        }

        #[test]
        fn any_text_is_a_date_or_a_clear_error(text in "\\PC{0,50}") {
            match parse_date_input(&text) {
                Ok(day) => prop_assert!((1000..=9999).contains(&day.year())),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }

        #[test]
        fn date_like_text_never_panics(text in "[0-9 /.,a-zA-Z-]{0,30}") {
            let _ = parse_date_input(&text);
            let _ = parse_partial_date_input(&text);
        }

        #[test]
        fn a_full_date_is_a_day_known_to_the_day(day in any_date()) {
            prop_assert_eq!(parse_partial_date_input(&date(day)), Ok(PartialDate::Day(day)));
            let month_text = month(day.year(), day.month());
            prop_assert_eq!(
                parse_partial_date_input(&month_text),
                Ok(PartialDate::Month(day.year(), day.month()))
            );
        }

        #[test]
        fn the_clock_in_england_is_utc_or_an_hour_ahead(seconds in 0i64..4_102_444_800) {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let offset = london_offset_seconds(instant);
            prop_assert!(offset == 0 || offset == 3_600);
            // Winter months are GMT, high summer BST, from 1972.
            let month = instant.month();
            if instant.year() >= 1972 {
                if month == 1 || month == 2 || month == 12 {
                    prop_assert_eq!(offset, 0);
                }
                if (5..=9).contains(&month) {
                    prop_assert_eq!(offset, 3_600);
                }
            }
        }

        #[test]
        fn a_day_starts_at_local_midnight(day in any_date().prop_filter("modern", |d| d.year() >= 1972 && d.year() < 2100)) {
            let start = london_day_start(day);
            prop_assert_eq!(london(start).date(), day);
            prop_assert_eq!(london(start).time(), NaiveTime::MIN);
        }
    }
}
