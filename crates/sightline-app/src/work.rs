//! My work: the open alerts a worker and their team hold, a keyset page at a
//! time, with counts per severity and overdue, filters (severity, rule, overdue,
//! whose), and the open follow-ups of their decisions. The web page and the API
//! both read it here.
//!
//! Every read is an indexed query of the alert store (`alerts_routed_to`,
//! `alerts_assigned_to`, the follow-up indexes): the cost of a page is its rows
//! and the counts of what the worker holds, not the size of the log.

use crate::accounts::Account;
use sightline_store::{
    AlertCounts, AlertCursor, AlertFilter, AlertRow, Assigned, FollowUpFilter, FollowUpRow, Holder,
    STATUS_OPEN, Store, StoreError,
};

/// The routings that reach `account`: their own (`user:NAME`), their team's
/// (`team:AGENCY/TEAM`) and their role's at their agency (`role:AGENCY/ROLE`),
/// as `sightline_core::org::routes_reaching` says. Routes without an agency
/// (the old `team:duty`) reach nobody: the engine reroutes them at start.
pub fn routes_of(account: &Account) -> Vec<String> {
    let mut routes = vec![format!("user:{}", account.username)];
    routes.extend(sightline_core::org::routes_reaching(
        account.agency.as_str(),
        account.team.as_deref(),
        account.role.as_str(),
    ));
    routes
}

/// What `account` holds: the alerts routed to them or their team, and those
/// assigned to them.
pub fn holder_of(account: &Account) -> Holder {
    Holder {
        routes: routes_of(account),
        user: account.username.clone(),
    }
}

/// Whose alerts a page lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Whose {
    /// Everything the worker and their team hold.
    #[default]
    All,
    /// Assigned to the worker.
    Me,
    /// Assigned to nobody yet (the team's).
    Unassigned,
}

impl Whose {
    pub const ALL: [Whose; 3] = [Whose::All, Whose::Me, Whose::Unassigned];

    pub fn as_str(self) -> &'static str {
        match self {
            Whose::All => "all",
            Whose::Me => "me",
            Whose::Unassigned => "unassigned",
        }
    }

    pub fn parse(text: &str) -> Option<Whose> {
        Whose::ALL.into_iter().find(|whose| whose.as_str() == text)
    }
}

/// The filters of My work. Every one set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkFilter {
    /// One of `sightline_store::SEVERITIES`.
    pub severity: Option<String>,
    pub rule_id: Option<String>,
    /// Only alerts past their due time.
    pub overdue: bool,
    pub whose: Whose,
}

impl WorkFilter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == WorkFilter::default()
    }
}

/// Which page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PageAt {
    #[default]
    First,
    /// The rows after this position.
    After(AlertCursor),
    /// The rows before this position.
    Before(AlertCursor),
}

/// One page of My work.
#[derive(Debug, Clone, Default)]
pub struct WorkPage {
    /// The page's alerts: overdue first, then severity, then due time.
    pub alerts: Vec<AlertRow>,
    /// The position of the next page, when rows follow.
    pub next: Option<AlertCursor>,
    /// The position of the page before, when rows precede.
    pub previous: Option<AlertCursor>,
    /// Every open alert the worker holds (not filtered), by severity and overdue.
    pub counts: AlertCounts,
    /// How many the filter matches (all pages).
    pub n_matching: u64,
    /// The rules of every open alert the worker holds, with how many each.
    pub rules: Vec<(String, u64)>,
}

/// The open alerts `account` holds.
fn base_filter(account: &Account, now_us: i64) -> AlertFilter {
    AlertFilter {
        status: Some(STATUS_OPEN.to_owned()),
        holder: Some(holder_of(account)),
        now_us: Some(now_us),
        ..AlertFilter::default()
    }
}

/// The store filter of `filter` for `account` at `now_us`.
pub fn alert_filter(account: &Account, filter: &WorkFilter, now_us: i64) -> AlertFilter {
    AlertFilter {
        severity: filter.severity.clone(),
        rule_id: filter.rule_id.clone(),
        overdue_at_us: filter.overdue.then_some(now_us),
        assigned: match filter.whose {
            Whose::All => None,
            Whose::Me => Some(Assigned::To(account.username.clone())),
            Whose::Unassigned => Some(Assigned::Nobody),
        },
        ..base_filter(account, now_us)
    }
}

/// A page of at most `page_rows` of `account`'s open alerts matching `filter`,
/// at `at`, with the counts.
pub fn my_work(
    store: &dyn Store,
    account: &Account,
    filter: &WorkFilter,
    at: &PageAt,
    now_us: i64,
    page_rows: u32,
) -> Result<WorkPage, StoreError> {
    let page_rows = page_rows.clamp(1, sightline_store::ALERT_LIST_LIMIT_MAX - 1);
    let base = base_filter(account, now_us);
    let matching = alert_filter(account, filter, now_us);
    let counts = store.alerts().counts(&base)?;
    let n_matching = if filter.is_empty() {
        counts.total
    } else {
        store.alerts().count(&matching)?
    };
    let rules = store.alerts().rule_counts(&base)?;
    // One row more than a page says whether another page follows.
    let read = |after: Option<AlertCursor>, before: Option<AlertCursor>| {
        store.alerts().list(&AlertFilter {
            after,
            before,
            limit: page_rows + 1,
            ..matching.clone()
        })
    };
    let cursor_of = |row: &AlertRow| AlertCursor::after(row, Some(now_us));
    let page_rows = page_rows as usize;
    let (alerts, more_after, more_before) = match at {
        PageAt::Before(cursor) => {
            let mut rows = read(None, Some(cursor.clone()))?;
            if rows.len() > page_rows {
                rows.remove(0);
                (rows, true, true)
            } else {
                // Back at the start: the first page, full.
                let mut rows = read(None, None)?;
                let more = rows.len() > page_rows;
                rows.truncate(page_rows);
                (rows, more, false)
            }
        }
        PageAt::After(cursor) => {
            let mut rows = read(Some(cursor.clone()), None)?;
            let more = rows.len() > page_rows;
            rows.truncate(page_rows);
            (rows, more, true)
        }
        PageAt::First => {
            let mut rows = read(None, None)?;
            let more = rows.len() > page_rows;
            rows.truncate(page_rows);
            (rows, more, false)
        }
    };
    let next = more_after.then(|| alerts.last().map(cursor_of)).flatten();
    let previous = more_before.then(|| alerts.first().map(cursor_of)).flatten();
    Ok(WorkPage {
        alerts,
        next,
        previous,
        counts,
        n_matching,
        rules,
    })
}

/// The open follow-ups `account` owns or their team's alerts set, by due date,
/// at most `limit`, with how many there are in all.
pub fn my_follow_ups(
    store: &dyn Store,
    account: &Account,
    limit: u32,
) -> Result<(Vec<FollowUpRow>, u64), StoreError> {
    let filter = FollowUpFilter {
        holder: holder_of(account),
        after: None,
        limit,
    };
    let rows = store.alerts().follow_ups(&filter)?;
    let total = if (rows.len() as u64) < u64::from(limit) {
        rows.len() as u64
    } else {
        store.alerts().count_follow_ups(&filter)?
    };
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_reach_the_user_and_their_team() {
        let account = Account {
            id: 1,
            username: "synthetic.worker".to_owned(),
            role: sightline_access::Role::Practitioner,
            agency: sightline_core::AgencyId::parse("children-services").unwrap(),
            team: Some("duty".to_owned()),
        };
        assert_eq!(
            routes_of(&account),
            vec![
                "user:synthetic.worker",
                "team:children-services/duty",
                "role:children-services/practitioner"
            ]
        );
        let manager = Account {
            role: sightline_access::Role::TeamManager,
            team: None,
            ..account
        };
        assert_eq!(
            routes_of(&manager),
            vec![
                "user:synthetic.worker",
                "role:children-services/team_manager"
            ]
        );
        for whose in Whose::ALL {
            assert_eq!(Whose::parse(whose.as_str()), Some(whose));
        }
        assert!(WorkFilter::default().is_empty());
    }
}
