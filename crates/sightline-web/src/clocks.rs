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
    /// The agency whose record started the clock (templates name it with
    /// `agency_name`) and that record's id.
    pub started_by_agency: String,
    pub started_by_record: String,
    pub started_by_href: String,
    pub child_id: String,
    pub child_href: String,
    /// The child's name, on lists of several children's clocks.
    pub child_name: Option<String>,
}

use sightline_core::dates::date;

fn left_words(working_days_left: Option<i64>) -> String {
    working_days_left.map_or_else(String::new, |left| {
        let words = sightline_core::dates::working_days_words(left);
        let mut chars = words.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    })
}

impl ClockView {
    pub(crate) fn of(entry: ClockEntry, child_name: Option<String>) -> ClockView {
        let (status_label, tag) = match entry.status {
            "overdue" => ("Overdue", "tag--red"),
            "running" => ("Running", "tag--yellow"),
            "met" => ("Met", "tag--green"),
            "met_late" => ("Met late", "tag--grey"),
            "superseded" => ("Missed, then replaced by a later period", "tag--grey"),
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
            started_by_agency: entry.started_by_agency,
            started_by_record: entry.started_by_record_id,
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
        assert_eq!(left_words(Some(1)), "Due in 1 working day");
        assert_eq!(left_words(Some(12)), "Due in 12 working days");
        assert_eq!(left_words(Some(-1)), "Overdue by 1 working day");
        assert_eq!(left_words(Some(-4)), "Overdue by 4 working days");
    }
}
