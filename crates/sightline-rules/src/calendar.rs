//! The working-day calendar of England and Wales, and the lengths of time rules use.
//!
//! Bank holidays are computed, not looked up in a table that runs out: the fixed
//! days with their substitutes, Easter by the Gregorian computus, the May and August
//! Mondays, plus the one-off days proclaimed since 1995 (royal occasions and the
//! moved early May holidays of 1995 and 2020).
//!
//! Invariant: every function here is total: dates outside chrono's range saturate
//! instead of panicking.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use std::fmt;

/// Builds a date the caller knows is valid; saturates to `NaiveDate::MIN` otherwise.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// Easter Sunday in the Gregorian calendar (the anonymous computus).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

/// The `n`th (1-based) given weekday of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap_or(NaiveDate::MIN)
}

/// The last given weekday of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let mut date = ymd(next_year, next_month, 1)
        .pred_opt()
        .unwrap_or(NaiveDate::MIN);
    while date.weekday() != weekday && date > NaiveDate::MIN {
        date = date.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    date
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first weekday on or after `date`.
fn weekday_on_or_after(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    while is_weekend(day) {
        day = day.succ_opt().unwrap_or(NaiveDate::MAX);
    }
    day
}

/// Every bank holiday in England and Wales in `year`, sorted.
pub fn bank_holidays(year: i32) -> Vec<NaiveDate> {
    let mut days = Vec::with_capacity(10);
    days.push(weekday_on_or_after(ymd(year, 1, 1)));
    let easter = easter_sunday(year);
    days.push(
        easter
            .checked_sub_days(Days::new(2))
            .unwrap_or(NaiveDate::MIN),
    );
    days.push(
        easter
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX),
    );
    // Early May: the first Monday, except when moved for a VE Day anniversary.
    days.push(match year {
        1995 => ymd(1995, 5, 8),
        2020 => ymd(2020, 5, 8),
        _ => nth_weekday(year, 5, Weekday::Mon, 1),
    });
    // Spring: the last Monday of May, except when moved for a jubilee.
    match year {
        2002 => days.extend([ymd(2002, 6, 3), ymd(2002, 6, 4)]),
        2012 => days.extend([ymd(2012, 6, 4), ymd(2012, 6, 5)]),
        2022 => days.extend([ymd(2022, 6, 2), ymd(2022, 6, 3)]),
        _ => days.push(last_weekday(year, 5, Weekday::Mon)),
    }
    days.push(last_weekday(year, 8, Weekday::Mon));
    // Christmas and Boxing Day; a holiday on a weekend moves to the next free weekday.
    let christmas = ymd(year, 12, 25);
    let boxing_day = ymd(year, 12, 26);
    let christmas_observed = weekday_on_or_after(christmas);
    let mut boxing_observed = weekday_on_or_after(boxing_day);
    if boxing_observed <= christmas_observed {
        boxing_observed = weekday_on_or_after(
            christmas_observed
                .checked_add_days(Days::new(1))
                .unwrap_or(NaiveDate::MAX),
        );
    }
    days.push(christmas_observed);
    days.push(boxing_observed);
    // One-off days proclaimed for national occasions.
    let one_offs = [
        ymd(1999, 12, 31),
        ymd(2011, 4, 29),
        ymd(2022, 9, 19),
        ymd(2023, 5, 8),
    ];
    days.extend(one_offs.into_iter().filter(|day| day.year() == year));
    days.sort_unstable();
    days.dedup();
    days
}

/// Whether `date` is a bank holiday in England and Wales.
pub fn is_bank_holiday(date: NaiveDate) -> bool {
    bank_holidays(date.year()).contains(&date)
}

/// A working day: Monday to Friday and not a bank holiday.
pub fn is_working_day(date: NaiveDate) -> bool {
    !is_weekend(date) && !is_bank_holiday(date)
}

/// The `n`th working day after `date` (`date` itself never counts).
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut n_left = n;
    while n_left > 0 {
        let Some(next) = day.succ_opt() else {
            return NaiveDate::MAX;
        };
        day = next;
        if is_working_day(day) {
            n_left -= 1;
        }
    }
    day
}

/// The `n`th working day before `date`.
pub fn sub_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut n_left = n;
    while n_left > 0 {
        let Some(previous) = day.pred_opt() else {
            return NaiveDate::MIN;
        };
        day = previous;
        if is_working_day(day) {
            n_left -= 1;
        }
    }
    day
}

/// The unit of a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanUnit {
    Days,
    WorkingDays,
    Weeks,
    Months,
    Years,
}

impl SpanUnit {
    /// The singular and plural words.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            SpanUnit::Days => ("day", "days"),
            SpanUnit::WorkingDays => ("working day", "working days"),
            SpanUnit::Weeks => ("week", "weeks"),
            SpanUnit::Months => ("month", "months"),
            SpanUnit::Years => ("year", "years"),
        }
    }

    /// The largest amount a rule may use in this unit (about three years).
    pub fn amount_max(self) -> u32 {
        match self {
            SpanUnit::Days => 1_100,
            SpanUnit::WorkingDays => 780,
            SpanUnit::Weeks => 156,
            SpanUnit::Months => 36,
            SpanUnit::Years => 3,
        }
    }
}

/// A length of calendar time as a rule writes it: `90 days`, `10 working days`,
/// `6 months`. Adding months keeps the day of the month, clamped to the month's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub amount: u32,
    pub unit: SpanUnit,
}

impl Span {
    pub const fn new(amount: u32, unit: SpanUnit) -> Span {
        Span { amount, unit }
    }

    /// `date` plus this span; saturates at the end of the calendar.
    pub fn after(self, date: NaiveDate) -> NaiveDate {
        let amount = u64::from(self.amount);
        let result = match self.unit {
            SpanUnit::Days => date.checked_add_days(Days::new(amount)),
            SpanUnit::Weeks => date.checked_add_days(Days::new(amount * 7)),
            SpanUnit::WorkingDays => Some(add_working_days(date, self.amount)),
            SpanUnit::Months => date.checked_add_months(Months::new(self.amount)),
            SpanUnit::Years => date.checked_add_months(Months::new(self.amount * 12)),
        };
        result.unwrap_or(NaiveDate::MAX)
    }

    /// `date` minus this span; saturates at the start of the calendar.
    pub fn before(self, date: NaiveDate) -> NaiveDate {
        let amount = u64::from(self.amount);
        let result = match self.unit {
            SpanUnit::Days => date.checked_sub_days(Days::new(amount)),
            SpanUnit::Weeks => date.checked_sub_days(Days::new(amount * 7)),
            SpanUnit::WorkingDays => Some(sub_working_days(date, self.amount)),
            SpanUnit::Months => date.checked_sub_months(Months::new(self.amount)),
            SpanUnit::Years => date.checked_sub_months(Months::new(self.amount * 12)),
        };
        result.unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = self.unit.words();
        if self.amount == 1 {
            write!(f, "1 {one}")
        } else {
            write!(f, "{} {many}", self.amount)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(texts: &[&str]) -> Vec<NaiveDate> {
        texts
            .iter()
            .map(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap())
            .collect()
    }

    fn check_year(year: i32, expected: &[&str]) {
        assert_eq!(
            bank_holidays(year),
            dates(expected),
            "bank holidays of {year}"
        );
    }

    #[test]
    fn bank_holidays_of_known_years() {
        check_year(
            1995,
            &[
                "1995-01-02",
                "1995-04-14",
                "1995-04-17",
                "1995-05-08",
                "1995-05-29",
                "1995-08-28",
                "1995-12-25",
                "1995-12-26",
            ],
        );
        check_year(
            1999,
            &[
                "1999-01-01",
                "1999-04-02",
                "1999-04-05",
                "1999-05-03",
                "1999-05-31",
                "1999-08-30",
                "1999-12-27",
                "1999-12-28",
                "1999-12-31",
            ],
        );
        check_year(
            2007,
            &[
                "2007-01-01",
                "2007-04-06",
                "2007-04-09",
                "2007-05-07",
                "2007-05-28",
                "2007-08-27",
                "2007-12-25",
                "2007-12-26",
            ],
        );
        check_year(
            2010,
            &[
                "2010-01-01",
                "2010-04-02",
                "2010-04-05",
                "2010-05-03",
                "2010-05-31",
                "2010-08-30",
                "2010-12-27",
                "2010-12-28",
            ],
        );
        check_year(
            2011,
            &[
                "2011-01-03",
                "2011-04-22",
                "2011-04-25",
                "2011-04-29",
                "2011-05-02",
                "2011-05-30",
                "2011-08-29",
                "2011-12-26",
                "2011-12-27",
            ],
        );
        check_year(
            2012,
            &[
                "2012-01-02",
                "2012-04-06",
                "2012-04-09",
                "2012-05-07",
                "2012-06-04",
                "2012-06-05",
                "2012-08-27",
                "2012-12-25",
                "2012-12-26",
            ],
        );
        check_year(
            2016,
            &[
                "2016-01-01",
                "2016-03-25",
                "2016-03-28",
                "2016-05-02",
                "2016-05-30",
                "2016-08-29",
                "2016-12-26",
                "2016-12-27",
            ],
        );
        check_year(
            2020,
            &[
                "2020-01-01",
                "2020-04-10",
                "2020-04-13",
                "2020-05-08",
                "2020-05-25",
                "2020-08-31",
                "2020-12-25",
                "2020-12-28",
            ],
        );
        check_year(
            2022,
            &[
                "2022-01-03",
                "2022-04-15",
                "2022-04-18",
                "2022-05-02",
                "2022-06-02",
                "2022-06-03",
                "2022-08-29",
                "2022-09-19",
                "2022-12-26",
                "2022-12-27",
            ],
        );
        check_year(
            2023,
            &[
                "2023-01-02",
                "2023-04-07",
                "2023-04-10",
                "2023-05-01",
                "2023-05-08",
                "2023-05-29",
                "2023-08-28",
                "2023-12-25",
                "2023-12-26",
            ],
        );
        check_year(
            2025,
            &[
                "2025-01-01",
                "2025-04-18",
                "2025-04-21",
                "2025-05-05",
                "2025-05-26",
                "2025-08-25",
                "2025-12-25",
                "2025-12-26",
            ],
        );
        check_year(
            2026,
            &[
                "2026-01-01",
                "2026-04-03",
                "2026-04-06",
                "2026-05-04",
                "2026-05-25",
                "2026-08-31",
                "2026-12-25",
                "2026-12-28",
            ],
        );
    }

    #[test]
    fn easter_of_known_years() {
        for (year, expected) in [
            (2000, "2000-04-23"),
            (2007, "2007-04-08"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), dates(&[expected])[0]);
        }
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let day = |text: &str| dates(&[text])[0];
        // Friday 2007-04-05 is followed by Good Friday and Easter Monday.
        assert_eq!(add_working_days(day("2007-04-05"), 1), day("2007-04-10"));
        // A Friday plus one working day is the Monday.
        assert_eq!(add_working_days(day("2007-03-02"), 1), day("2007-03-05"));
        // Ten working days from a Monday is the Monday two weeks on.
        assert_eq!(add_working_days(day("2007-03-05"), 10), day("2007-03-19"));
        // Over Christmas 2022: the 23rd (Fri) plus 1 is Wednesday the 28th.
        assert_eq!(add_working_days(day("2022-12-23"), 1), day("2022-12-28"));
        assert_eq!(sub_working_days(day("2022-12-28"), 1), day("2022-12-23"));
        assert_eq!(add_working_days(day("2007-03-05"), 0), day("2007-03-05"));
    }

    #[test]
    fn the_calendar_is_total_at_the_ends_of_the_date_range() {
        // Working-day arithmetic and holidays near chrono's first and last
        // representable dates saturate instead of panicking.
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = is_working_day(date);
            let _ = bank_holidays(date.year());
            let _ = add_working_days(date, 45);
            let _ = sub_working_days(date, 45);
            let _ = Span::new(6, SpanUnit::Months).after(date);
            let _ = Span::new(6, SpanUnit::Months).before(date);
        }
    }

    #[test]
    fn spans_add_and_subtract() {
        let day = |text: &str| dates(&[text])[0];
        assert_eq!(
            Span::new(3, SpanUnit::Months).after(day("2007-11-30")),
            day("2008-02-29")
        );
        assert_eq!(
            Span::new(90, SpanUnit::Days).before(day("2007-04-01")),
            day("2007-01-01")
        );
        assert_eq!(
            Span::new(10, SpanUnit::WorkingDays).to_string(),
            "10 working days"
        );
        assert_eq!(
            Span::new(1, SpanUnit::WorkingDays).to_string(),
            "1 working day"
        );
        assert_eq!(
            Span::new(5, SpanUnit::Years).after(NaiveDate::MAX),
            NaiveDate::MAX
        );
    }
}
