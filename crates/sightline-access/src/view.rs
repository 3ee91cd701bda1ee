//! Which view of personal data a read served, as the audit log names it. The
//! authorisation [`crate::Action`] says what was decided (reading a child, say);
//! the view says which page or API answer showed it, so the privacy officer can
//! tell a glance at a search hit from a chronology exported as CSV.

/// A view of personal data, recorded as the audit entry's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// The child page (identity, linked records, people around, plans, clocks).
    Child,
    /// The chronology table with its timeline.
    Chronology,
    /// The timeline of the chronology on its own.
    Timeline,
    /// The chronology exported as CSV.
    ChronologyCsv,
    /// A person through the persons API.
    Person,
    /// A search hit.
    Search,
    /// An alert (page or API).
    Alert,
    /// A list of alerts.
    AlertList,
    /// A child's statutory clocks, or the clocks due for a team.
    Clocks,
    /// One source record.
    Record,
}

impl View {
    /// Every view, for tests and documentation.
    pub const ALL: [View; 10] = [
        View::Child,
        View::Chronology,
        View::Timeline,
        View::ChronologyCsv,
        View::Person,
        View::Search,
        View::Alert,
        View::AlertList,
        View::Clocks,
        View::Record,
    ];

    /// The stable name written to the audit log's `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Child => "view_child",
            View::Chronology => "view_chronology",
            View::Timeline => "view_timeline",
            View::ChronologyCsv => "export_chronology_csv",
            View::Person => "view_person",
            View::Search => "view_search_hit",
            View::Alert => "view_alert",
            View::AlertList => "view_alert_list",
            View::Clocks => "view_clocks",
            View::Record => "view_record",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_view_has_its_own_name() {
        let names: BTreeSet<&str> = View::ALL.iter().map(|view| view.as_str()).collect();
        assert_eq!(names.len(), View::ALL.len());
    }
}
