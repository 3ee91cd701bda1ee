//! The privacy officer's tools over the audit log: the unusual patterns
//! flagged at the top of the access log (many break-glass grants by one user in
//! a day, many children viewed by one user in an hour), the break-glass reasons
//! behind entries, and the access log as CSV.
//!
//! - Invariant: the flags are computed from every grant and every entry about a
//!   child in the look-back period, up to [`FlagPolicy::scan_rows_max`]; a scan
//!   stopped by that limit says so ([`Patterns::scan_truncated`]).
//! - Invariant: the CSV export is audited (`export_access_log_csv`) before a
//!   byte of it is built, and its cells are formula-safe
//!   ([`crate::views::csv_cell`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sightline_access::Role;
use sightline_access::relationship::RecordBasis;
use sightline_access::words::{audit_action_label, audit_basis_label, audit_outcome_label};
use sightline_store::{
    AuditQuery, AuditRow, GrantGiven, NOTICE_BREAK_GLASS, NOTICE_CPIS_ACCESS,
    NOTICE_NEW_RELATIONSHIP, NOTICE_RELATIONSHIP_HELD, NewNotice, NoticeFilter, NoticeRow, Store,
    StoreError,
};

use crate::accounts::Account;
use crate::audit::{self, AuditActor};
use crate::views::csv_cell;

const HOUR_US: i64 = 3_600_000_000;
const MINUTE_US: i64 = 60_000_000;
/// Rows read per store call while scanning or exporting.
const PAGE_ROWS: u32 = 5_000;

/// When a pattern of access is flagged. Every threshold is explicit; the
/// server takes them from its command line (`sightline serve --flag-...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagPolicy {
    /// Flag a user given at least this many break-glass grants ...
    pub break_glass_min: u32,
    /// ... within this many hours.
    pub break_glass_window_hours: i64,
    /// Flag a user who looked at at least this many different children ...
    pub children_min: u32,
    /// ... within this many minutes.
    pub children_window_minutes: i64,
    /// How far back the flags look, in days.
    pub lookback_days: i64,
    /// The most grants and audit entries one computation reads.
    pub scan_rows_max: usize,
}

impl Default for FlagPolicy {
    fn default() -> Self {
        FlagPolicy {
            break_glass_min: 3,
            break_glass_window_hours: 24,
            children_min: 20,
            children_window_minutes: 60,
            lookback_days: 7,
            scan_rows_max: 500_000,
        }
    }
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlagKind {
    /// Many break-glass grants by one user.
    BreakGlass,
    /// Many different children looked at by one user.
    ManyChildren,
}

/// One user's busiest window of one kind, at or over its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub kind: FlagKind,
    pub username: String,
    /// Grants, or different children, in the window.
    pub count: usize,
    /// The first and last event of the window.
    pub first_us: i64,
    pub last_us: i64,
}

/// The flags of the look-back period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patterns {
    pub flags: Vec<Flag>,
    /// Grants and entries about children read.
    pub n_scanned: usize,
    /// The scan stopped at [`FlagPolicy::scan_rows_max`]: older events were
    /// not looked at.
    pub scan_truncated: bool,
}

/// For each user, the window of `window_us` holding the most events (by
/// `key`: distinct keys counted), kept when it reaches `min`. `events` are
/// `(username, at_us, key)` in any order.
fn busiest_windows(
    events: &[(&str, i64, &str)],
    window_us: i64,
    min: usize,
    kind: FlagKind,
) -> Vec<Flag> {
    let mut by_user: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for (username, at_us, key) in events {
        by_user.entry(username).or_default().push((*at_us, key));
    }
    let mut flags = Vec::new();
    for (username, mut times) in by_user {
        times.sort_unstable();
        let mut in_window: HashMap<&str, usize> = HashMap::new();
        let mut start = 0;
        let mut best: Option<(usize, i64, i64)> = None;
        for (at_us, key) in &times {
            *in_window.entry(key).or_default() += 1;
            while let Some((start_us, start_key)) = times.get(start)
                && at_us - start_us >= window_us
            {
                if let Some(count) = in_window.get_mut(start_key) {
                    *count -= 1;
                    if *count == 0 {
                        in_window.remove(start_key);
                    }
                }
                start += 1;
            }
            let distinct = in_window.len();
            if best.is_none_or(|(count, _, _)| distinct > count)
                && let Some((first_us, _)) = times.get(start)
            {
                best = Some((distinct, *first_us, *at_us));
            }
        }
        if let Some((count, first_us, last_us)) = best
            && count >= min
        {
            flags.push(Flag {
                kind,
                username: username.to_owned(),
                count,
                first_us,
                last_us,
            });
        }
    }
    flags
}

/// Users with at least `break_glass_min` grants within any
/// `break_glass_window_hours` (each grant counted once).
pub fn break_glass_flags(grants: &[GrantGiven], policy: &FlagPolicy) -> Vec<Flag> {
    let ids: Vec<String> = grants.iter().map(|grant| grant.id.to_string()).collect();
    let events: Vec<(&str, i64, &str)> = grants
        .iter()
        .zip(&ids)
        .map(|(grant, id)| (grant.username.as_str(), grant.granted_at_us, id.as_str()))
        .collect();
    busiest_windows(
        &events,
        policy.break_glass_window_hours.saturating_mul(HOUR_US),
        usize::try_from(policy.break_glass_min.max(1)).unwrap_or(usize::MAX),
        FlagKind::BreakGlass,
    )
}

/// Users who looked at at least `children_min` different children within any
/// `children_window_minutes` (entries of the command line are not counted).
pub fn many_children_flags(entries: &[AuditRow], policy: &FlagPolicy) -> Vec<Flag> {
    let events: Vec<(&str, i64, &str)> = entries
        .iter()
        .filter(|row| row.actor_user_id.is_some() && row.resource_key.starts_with("child:"))
        .map(|row| {
            (
                row.actor_username.as_str(),
                row.at_us,
                row.resource_key.as_str(),
            )
        })
        .collect();
    busiest_windows(
        &events,
        policy.children_window_minutes.saturating_mul(MINUTE_US),
        usize::try_from(policy.children_min.max(1)).unwrap_or(usize::MAX),
        FlagKind::ManyChildren,
    )
}

/// The flags of the `lookback_days` before `now`, most events first.
pub fn unusual_patterns(
    store: &dyn Store,
    policy: &FlagPolicy,
    now: DateTime<Utc>,
) -> Result<Patterns, StoreError> {
    let since_us =
        crate::to_micros(now).saturating_sub(policy.lookback_days.saturating_mul(24 * HOUR_US));
    let mut n_scanned = 0;
    let mut scan_truncated = false;

    let mut grants = Vec::new();
    let mut after_id = 0;
    loop {
        let page = store.access().grants_since(since_us, after_id, PAGE_ROWS)?;
        let Some(last) = page.last() else { break };
        after_id = last.id;
        n_scanned += page.len();
        grants.extend(page);
        if n_scanned >= policy.scan_rows_max {
            scan_truncated = true;
            break;
        }
    }

    let mut entries = Vec::new();
    let mut before_seq = None;
    while !scan_truncated {
        let page = store.access().audit_search(&AuditQuery {
            children_only: true,
            from_us: Some(since_us),
            before_seq,
            limit: PAGE_ROWS,
            ..AuditQuery::default()
        })?;
        let Some(last) = page.last() else { break };
        before_seq = Some(last.seq);
        n_scanned += page.len();
        entries.extend(page);
        if n_scanned >= policy.scan_rows_max {
            scan_truncated = true;
        }
    }

    let mut flags = break_glass_flags(&grants, policy);
    flags.extend(many_children_flags(&entries, policy));
    flags.sort_by(|left, right| {
        (left.kind, std::cmp::Reverse(left.count), &left.username).cmp(&(
            right.kind,
            std::cmp::Reverse(right.count),
            &right.username,
        ))
    });
    Ok(Patterns {
        flags,
        n_scanned,
        scan_truncated,
    })
}

/// The reasons given for the break-glass grants that `rows` name as their basis
/// (`break_glass:ID`), by grant id.
pub fn break_glass_reasons(
    store: &dyn Store,
    rows: &[AuditRow],
) -> Result<HashMap<i64, String>, StoreError> {
    let mut ids: Vec<i64> = rows
        .iter()
        .filter_map(|row| grant_id_of(&row.basis))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut reasons = HashMap::new();
    for chunk in ids.chunks(sightline_store::GRANT_IDS_MAX) {
        reasons.extend(store.access().grant_reasons(chunk)?);
    }
    Ok(reasons)
}

/// The grant id of a basis `break_glass:ID` (or the older `break_glass:ID:
/// reason`).
pub fn grant_id_of(basis: &str) -> Option<i64> {
    let rest = basis.strip_prefix("break_glass:")?;
    let id = rest.split_once(':').map_or(rest, |(id, _)| id);
    id.trim().parse().ok()
}

/// The access log matching `query` (its cursor and limit ignored: every
/// matching entry, newest first, up to `rows_max`) as CSV, audited first as
/// `export_access_log_csv` by `by` about `resource_key` (`service`, or the
/// child the export is filtered to). Machine formats: times in RFC 3339 UTC,
/// stored names beside their words.
pub fn export_access_log_csv(
    store: &dyn Store,
    by: &AuditActor,
    query: &AuditQuery,
    resource_key: &str,
    rows_max: usize,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    audit::record(
        store,
        by,
        "export_access_log_csv",
        resource_key,
        &format!("role:{}", by.role),
        "ok",
        now,
    )?;
    let mut csv = String::from(
        "seq,at_utc,username,role,agency,action,action_in_words,resource,basis,basis_in_words,break_glass_reason,outcome,outcome_in_words\r\n",
    );
    let mut before_seq = None;
    let mut n_rows = 0;
    while n_rows < rows_max {
        let page = store.access().audit_search(&AuditQuery {
            before_seq,
            limit: PAGE_ROWS,
            ..query.clone()
        })?;
        let Some(last) = page.last() else { break };
        before_seq = Some(last.seq);
        let reasons = break_glass_reasons(store, &page)?;
        for row in page.iter().take(rows_max - n_rows) {
            let reason = grant_id_of(&row.basis)
                .and_then(|id| reasons.get(&id))
                .map_or("", String::as_str);
            let cells = [
                row.seq.to_string(),
                crate::from_micros(row.at_us).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                row.actor_username.clone(),
                row.actor_role.clone(),
                row.actor_agency.clone(),
                row.action.clone(),
                audit_action_label(&row.action),
                row.resource_key.clone(),
                row.basis.clone(),
                audit_basis_label(&row.basis),
                reason.to_owned(),
                row.outcome.clone(),
                audit_outcome_label(&row.outcome),
            ];
            let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
            csv.push_str(&line.join(","));
            csv.push_str("\r\n");
            n_rows += 1;
        }
    }
    Ok(csv)
}

// ---- access notices ----

/// Whose notices a user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeScope {
    /// Every notice: the privacy officer.
    All,
    /// The notices telling this agency: its team managers and safeguarding
    /// leads.
    Agency(String),
    /// The CP-IS notices telling this user (the child's allocated worker) or
    /// their team (`team:AGENCY/TEAM`, a duty team): practitioners.
    Told { user_id: i64, team: Option<String> },
}

impl NoticeScope {
    /// Whether the reader is told of every notice of an agency (or all):
    /// the pages link to the notices for them whether or not there are any.
    pub fn is_agency_wide(&self) -> bool {
        !matches!(self, NoticeScope::Told { .. })
    }
}

/// The notices `account` is told, or `None` when it is told none
/// (administrators).
pub fn notice_scope(account: &Account) -> Option<NoticeScope> {
    match account.role {
        Role::PrivacyOfficer => Some(NoticeScope::All),
        Role::TeamManager | Role::SafeguardingLead => {
            Some(NoticeScope::Agency(account.agency.as_str().to_owned()))
        }
        Role::Practitioner => Some(NoticeScope::Told {
            user_id: account.id,
            team: account
                .team
                .as_ref()
                .map(|team| format!("team:{}/{team}", account.agency)),
        }),
        Role::Administrator => None,
    }
}

/// The notices of `scope` with `seq < before_seq`, newest first, at most `limit`.
pub fn notices(
    store: &dyn Store,
    scope: &NoticeScope,
    before_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<NoticeRow>, StoreError> {
    let mut filter = NoticeFilter {
        before_seq,
        limit,
        ..NoticeFilter::default()
    };
    match scope {
        NoticeScope::All => {}
        NoticeScope::Agency(agency) => filter.to_agency = Some(agency.clone()),
        NoticeScope::Told { user_id, team } => {
            filter.to_user_id = Some(*user_id);
            filter.to_team = team.clone();
        }
    }
    store.access().notices(&filter)
}

/// How many notices of `scope` were given in the `days` before `now`.
pub fn count_recent_notices(
    store: &dyn Store,
    scope: &NoticeScope,
    days: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let since_us = crate::to_micros(now).saturating_sub(days.saturating_mul(24 * HOUR_US));
    match scope {
        NoticeScope::All => store.access().count_notices(None, since_us),
        NoticeScope::Agency(agency) => store.access().count_notices(Some(agency), since_us),
        NoticeScope::Told { user_id, team } => {
            store
                .access()
                .count_notices_told(*user_id, team.as_deref(), since_us)
        }
    }
}

/// Why a notice was given, in words, after the name of who gained access:
/// "broke glass, giving the reason: ...", "gained access: its record carried
/// the child's whole NHS number".
pub fn notice_why(notice: &NewNotice) -> String {
    let basis = || {
        RecordBasis::parse(&notice.detail).map_or_else(
            || notice.detail.replace('_', " "),
            |basis| basis.label().to_owned(),
        )
    };
    match notice.kind.as_str() {
        NOTICE_BREAK_GLASS => format!("broke glass, giving the reason: {}", notice.detail),
        NOTICE_CPIS_ACCESS => crate::cpis::notice_words(&notice.subject, &notice.detail),
        NOTICE_NEW_RELATIONSHIP => format!("gained access because {}", basis()),
        NOTICE_RELATIONSHIP_HELD => format!(
            "would gain access because {}, but its agency is over its daily limit of new relationships: held until it is under the limit",
            basis()
        ),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: i64, username: &str, at_hours: i64) -> GrantGiven {
        GrantGiven {
            id,
            user_id: 1,
            username: username.to_owned(),
            granted_at_us: at_hours * HOUR_US,
        }
    }

    fn view(username: &str, at_minutes: i64, child: &str) -> AuditRow {
        AuditRow {
            seq: 1,
            at_us: at_minutes * MINUTE_US,
            actor_user_id: Some(1),
            actor_username: username.to_owned(),
            actor_role: "practitioner".to_owned(),
            actor_agency: "police".to_owned(),
            action: "view_child".to_owned(),
            resource_key: format!("child:{child}"),
            basis: String::new(),
            outcome: "minimal".to_owned(),
            prev_hash: [0; 32],
            entry_hash: [0; 32],
        }
    }

    #[test]
    fn break_glass_is_flagged_at_the_threshold_within_the_window() {
        let policy = FlagPolicy::default();
        // ann: three within 23 hours; bob: three spread over 49 hours.
        let grants = [
            grant(1, "ann", 0),
            grant(2, "bob", 0),
            grant(3, "ann", 10),
            grant(4, "bob", 25),
            grant(5, "ann", 23),
            grant(6, "bob", 49),
        ];
        let flags = break_glass_flags(&grants, &policy);
        assert_eq!(
            flags,
            vec![Flag {
                kind: FlagKind::BreakGlass,
                username: "ann".into(),
                count: 3,
                first_us: 0,
                last_us: 23 * HOUR_US,
            }]
        );
        // Exactly 24 hours apart is outside the window.
        let edge = [grant(1, "cy", 0), grant(2, "cy", 12), grant(3, "cy", 24)];
        assert!(break_glass_flags(&edge, &policy).is_empty());
        let lower = FlagPolicy {
            break_glass_min: 2,
            ..policy
        };
        assert_eq!(break_glass_flags(&edge, &lower)[0].count, 2);
    }

    #[test]
    fn many_children_counts_different_children_in_an_hour() {
        let policy = FlagPolicy {
            children_min: 3,
            ..FlagPolicy::default()
        };
        // dee: the same child five times (one child), then three children in
        // 59 minutes; eve: three children over two hours; the command line
        // is never flagged.
        let mut rows = vec![
            view("dee", 0, "a"),
            view("dee", 1, "a"),
            view("dee", 2, "a"),
            view("dee", 3, "a"),
            view("dee", 200, "a"),
            view("dee", 230, "b"),
            view("dee", 259, "c"),
            view("eve", 0, "a"),
            view("eve", 61, "b"),
            view("eve", 122, "c"),
        ];
        let mut cli = view("cli", 0, "x");
        cli.actor_user_id = None;
        rows.push(cli.clone());
        rows.push(view("dee", 240, "record-not-child"));
        if let Some(last) = rows.last_mut() {
            last.resource_key = "record:police/R-1".to_owned();
        }
        let flags = many_children_flags(&rows, &policy);
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0].username, "dee");
        assert_eq!(flags[0].count, 3);
        assert_eq!(
            (flags[0].first_us, flags[0].last_us),
            (200 * MINUTE_US, 259 * MINUTE_US)
        );
        assert!(many_children_flags(&rows, &FlagPolicy::default()).is_empty());
    }

    #[test]
    fn notices_read_as_words() {
        let notice = |kind: &str, detail: &str| NewNotice {
            at_us: 0,
            kind: kind.to_owned(),
            resource_key: "child:p-0123456789abcdef".to_owned(),
            to_agency: None,
            about_agency: "police".to_owned(),
            about_user_id: None,
            about_username: None,
            subject: "relationship:1".to_owned(),
            detail: detail.to_owned(),
            to_user_id: None,
            to_team: None,
        };
        assert_eq!(
            notice_why(&notice("new_relationship", "nhs_number")),
            "gained access because its record carried the child's whole NHS number"
        );
        assert_eq!(
            notice_why(&notice(
                "break_glass",
                "Synthetic: a call at the door tonight"
            )),
            "broke glass, giving the reason: Synthetic: a call at the door tonight"
        );
        assert!(notice_why(&notice("relationship_held", "address")).contains("held until"));
        for basis in RecordBasis::ALL {
            assert!(!notice_why(&notice("new_relationship", basis.as_str())).contains('_'));
        }
    }

    #[test]
    fn grant_ids_are_read_from_bases() {
        assert_eq!(grant_id_of("break_glass:12"), Some(12));
        assert_eq!(grant_id_of("break_glass:3: At the door"), Some(3));
        assert_eq!(grant_id_of("own_agency"), None);
        assert_eq!(grant_id_of("break_glass:x"), None);
    }
}
