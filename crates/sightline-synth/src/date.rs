//! Calendar arithmetic on whole days and minutes since 1970-01-01 (UTC), small and
//! fast enough to format tens of millions of timestamps.

use std::fmt::Write as _;

/// A calendar day, counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

/// Minutes in a day.
pub const MINUTES_PER_DAY: i64 = 1_440;

impl Day {
    /// The day for a year, month (1-12) and day of month (1-31), without range checks.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Day {
        // Howard Hinnant's days_from_civil.
        let year = if month <= 2 { year - 1 } else { year };
        let era = if year >= 0 { year } else { year - 399 } / 400;
        let year_of_era = (year - era * 400) as u32;
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Day(era * 146_097 + day_of_era as i32 - 719_468)
    }

    /// Year, month (1-12) and day of month.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let day_of_era = (z - era * 146_097) as u32;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era as i32 + era * 400;
        (if month <= 2 { year + 1 } else { year }, month, day)
    }

    /// Parses `YYYY-MM-DD`, checking the month and the day of that month.
    pub fn parse(text: &str) -> Option<Day> {
        let mut parts = text.split('-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || text.len() != 10 || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Day::from_ymd(year, month, day))
    }

    pub fn plus(self, days: i32) -> Day {
        Day(self.0 + days)
    }

    /// The same calendar date `years` later (earlier when negative); 29 February
    /// becomes 28 February in a common year.
    pub fn plus_years(self, years: i32) -> Day {
        let (year, month, day) = self.ymd();
        let target_year = year + years;
        Day::from_ymd(
            target_year,
            month,
            day.min(days_in_month(target_year, month)),
        )
    }

    /// Monday is 0, Sunday is 6.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.0 + 3).rem_euclid(7) as u32
    }

    /// The day `working_days` weekdays later (bank holidays are not modelled).
    pub fn plus_working_days(self, working_days: u32) -> Day {
        let mut day = self;
        let mut remaining = working_days;
        while remaining > 0 {
            day = day.plus(1);
            if day.weekday() < 5 {
                remaining -= 1;
            }
        }
        day
    }

    /// Whole years of age on `on` for someone born on `self`.
    pub fn age_years_on(self, on: Day) -> i32 {
        let (birth_year, birth_month, birth_day) = self.ymd();
        let (year, month, day) = on.ymd();
        let mut age = year - birth_year;
        if (month, day) < (birth_month, birth_day) {
            age -= 1;
        }
        age
    }

    pub fn start_minute(self) -> i64 {
        i64::from(self.0) * MINUTES_PER_DAY
    }

    /// `YYYY-MM-DD`.
    pub fn format(self) -> String {
        let mut text = String::with_capacity(10);
        self.write_date(&mut text);
        text
    }

    /// `YYYY-MM`.
    pub fn format_month(self) -> String {
        let (year, month, _) = self.ymd();
        format!("{year:04}-{month:02}")
    }

    fn write_date(self, text: &mut String) {
        let (year, month, day) = self.ymd();
        let _ = write!(text, "{year:04}-{month:02}-{day:02}");
    }
}

/// Days in a month of a year (Gregorian).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:00Z` for a minute since the epoch.
pub fn format_minute(minute: i64) -> String {
    let day = Day(minute.div_euclid(MINUTES_PER_DAY) as i32);
    let minute_of_day = minute.rem_euclid(MINUTES_PER_DAY);
    let mut text = String::with_capacity(20);
    day.write_date(&mut text);
    let _ = write!(
        text,
        "T{:02}:{:02}:00Z",
        minute_of_day / 60,
        minute_of_day % 60
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_days() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::from_ymd(2000, 3, 1).ymd(), (2000, 3, 1));
        for number in -800_000..800_000 {
            if number % 997 != 0 {
                continue;
            }
            let (year, month, day) = Day(number).ymd();
            assert_eq!(Day::from_ymd(year, month, day), Day(number));
        }
        assert_eq!(
            Day::parse("2025-12-31").map(Day::format),
            Some("2025-12-31".to_owned())
        );
        assert_eq!(Day::parse("2024-02-30"), None);
        assert_eq!(Day::parse("2025-1-01"), None);
        // 2025-12-31 is a Wednesday.
        assert_eq!(Day::from_ymd(2025, 12, 31).weekday(), 2);
        assert_eq!(
            Day::from_ymd(2024, 2, 29).plus_years(1).format(),
            "2025-02-28"
        );
        assert_eq!(
            format_minute(Day::from_ymd(2007, 4, 12).start_minute() + 22 * 60 + 40),
            "2007-04-12T22:40:00Z"
        );
        assert_eq!(
            Day::from_ymd(2010, 6, 1).age_years_on(Day::from_ymd(2012, 5, 31)),
            1
        );
        assert_eq!(
            Day::from_ymd(2025, 12, 26).plus_working_days(1).weekday(),
            0
        );
    }
}
