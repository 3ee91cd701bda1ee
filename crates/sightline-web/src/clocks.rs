//! Statutory clocks as the pages show them: on the child page every clock of the
//! child, on *My work* the clocks due soon for the children the user's agency
//! holds. The clocks themselves come from `sightline_app::clocks`.

use crate::pages::encode_path;
use serde::Serialize;
use sightline_app::clocks::ClockEntry;

/// How far ahead *My work* looks for clocks due soon (calendar days).
pub const MY_WORK_CLOCKS_WITHIN_DAYS: u32 = 10;

/// One clock, worded for a page.
#[derive(Serialize)]
pub(crate) struct ClockView {
    pub title: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub tag: &'static str,
    pub since: String,
    pub deadline: String,
    pub period: String,
    /// "3 working days left", "Due today", "Overdue by 2 working days".
    pub left: String,
    pub ended_on: Option<String>,
    pub started_by: String,
    pub started_by_href: String,
    pub child_id: String,
    pub child_href: String,
    /// The child's name, on lists of several children's clocks.
    pub child_name: Option<String>,
}

fn date(day: chrono::NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

fn left_words(working_days_left: Option<i64>) -> String {
    match working_days_left {
        None => String::new(),
        Some(0) => "Due today".to_owned(),
        Some(1) => "1 working day left".to_owned(),
        Some(n) if n > 1 => format!("{n} working days left"),
        Some(-1) => "Overdue by 1 working day".to_owned(),
        Some(n) => format!("Overdue by {} working days", n.unsigned_abs()),
    }
}

impl ClockView {
    pub(crate) fn of(entry: ClockEntry, child_name: Option<String>) -> ClockView {
        let (status_label, tag) = match entry.status {
            "overdue" => ("Overdue", "tag--red"),
            "running" => ("Running", "tag--yellow"),
            "met" => ("Met", "tag--green"),
            "met_late" => ("Met late", "tag--grey"),
            _ => ("Stopped", "tag--grey"),
        };
        ClockView {
            title: entry.title,
            status: entry.status,
            status_label,
            tag,
            since: date(entry.since),
            deadline: date(entry.deadline),
            period: entry.period,
            left: left_words(entry.working_days_left),
            ended_on: entry.ended_on.map(date),
            started_by_href: format!(
                "/records/{}/{}",
                entry.started_by_agency,
                encode_path(&entry.started_by_record_id)
            ),
            started_by: format!("{} {}", entry.started_by_agency, entry.started_by_record_id),
            child_href: format!("/children/{}", entry.child_id),
            child_id: entry.child_id,
            child_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_left_read_as_plain_words() {
        assert_eq!(left_words(None), "");
        assert_eq!(left_words(Some(0)), "Due today");
        assert_eq!(left_words(Some(1)), "1 working day left");
        assert_eq!(left_words(Some(12)), "12 working days left");
        assert_eq!(left_words(Some(-1)), "Overdue by 1 working day");
        assert_eq!(left_words(Some(-4)), "Overdue by 4 working days");
    }
}
