//! My work: the open alerts routed to the user and their team, a keyset page of
//! `page_rows_max` at a time with the counts per severity and overdue at the
//! top and filters (severity, rule, overdue, whose); the open follow-ups of
//! their and their team's decisions; the statutory clocks due soon of the
//! children their agency holds; and the agency's newest records.
//!
//! The alerts and follow-ups are indexed queries (`sightline_app::work`); the
//! clocks come from the engine's clock book; names, ages and rule titles from
//! the engine's picture and pack. Nothing here sweeps the agency's children.

use crate::WebState;
use crate::alert_words::{
    age_words, due_words, follow_up_due_words, follow_up_words, severity_label, time_words,
    whose_words,
};
use crate::clocks::{ClockView, MY_WORK_CLOCKS_WITHIN_DAYS};
use crate::pages::{blocking, encode_path, time};
use crate::render::{UserView, page};
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Resource, View};
use sightline_app::accounts::{Account, LiveSession};
use sightline_app::audit;
use sightline_app::decisions::follow_up_due_day;
use sightline_app::work::{self, PageAt, Whose, WorkFilter, WorkPage};
use sightline_app::{Engine, SharedEngine};
use sightline_store::{AlertCursor, AlertRow, FollowUpRow, SEVERITIES, STATUS_OPEN, Store};

/// The query of `/my-work`: filters, the page, and which action just succeeded.
#[derive(Deserialize, Default)]
pub struct MyWorkQuery {
    severity: Option<String>,
    rule: Option<String>,
    overdue: Option<String>,
    whose: Option<String>,
    after: Option<String>,
    before: Option<String>,
    decided: Option<String>,
    follow_up_done: Option<String>,
}

impl MyWorkQuery {
    /// The filters; unknown values are ignored (the page lists all).
    fn filter(&self) -> WorkFilter {
        let known_rule = |rule: &&String| {
            !rule.is_empty()
                && rule.len() <= 64
                && rule
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-'))
        };
        WorkFilter {
            severity: self
                .severity
                .clone()
                .filter(|severity| SEVERITIES.contains(&severity.as_str())),
            rule_id: self.rule.as_ref().filter(known_rule).cloned(),
            overdue: self.overdue.as_deref() == Some("1"),
            whose: self
                .whose
                .as_deref()
                .and_then(Whose::parse)
                .unwrap_or_default(),
        }
    }

    /// The page; a cursor this page did not give means the first page.
    fn page_at(&self) -> PageAt {
        let cursor = |token: &Option<String>| token.as_deref().and_then(AlertCursor::from_token);
        match (cursor(&self.after), cursor(&self.before)) {
            (Some(after), _) => PageAt::After(after),
            (None, Some(before)) => PageAt::Before(before),
            (None, None) => PageAt::First,
        }
    }
}

/// `/my-work?...` with `filter` and then `extra` (already encoded pairs).
fn work_href(filter: &WorkFilter, extra: &[(&str, String)]) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(severity) = &filter.severity {
        pairs.push(("severity", severity.clone()));
    }
    if let Some(rule) = &filter.rule_id {
        pairs.push(("rule", rule.clone()));
    }
    if filter.overdue {
        pairs.push(("overdue", "1".to_owned()));
    }
    if filter.whose != Whose::All {
        pairs.push(("whose", filter.whose.as_str().to_owned()));
    }
    pairs.extend(extra.iter().cloned());
    if pairs.is_empty() {
        return "/my-work".to_owned();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode_path(value)))
        .collect();
    format!("/my-work?{}", query.join("&"))
}

/// One alert row of My work.
#[derive(Serialize)]
struct WorkRow {
    href: String,
    title: String,
    severity: String,
    severity_label: &'static str,
    child_href: String,
    child_name: String,
    child_age: Option<String>,
    due: String,
    overdue: bool,
    escalated: bool,
    whose: String,
    assigned: bool,
}

/// One follow-up on My work.
#[derive(Serialize)]
struct FollowUpView {
    what: String,
    alert_href: String,
    child_href: String,
    child_name: String,
    owner: String,
    mine: bool,
    due: String,
    overdue: bool,
    set_by: String,
    set_on: String,
    done_action: String,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct SeverityCount {
    severity: &'static str,
    label: &'static str,
    count: u64,
    href: String,
}

#[derive(Serialize, Default)]
struct AlertsSection {
    rows: Vec<WorkRow>,
    total: u64,
    n_overdue: u64,
    overdue_href: String,
    severities: Vec<SeverityCount>,
    n_matching: u64,
    filtered: bool,
    severity_choices: Vec<Choice>,
    rule_choices: Vec<Choice>,
    whose_choices: Vec<Choice>,
    overdue_checked: bool,
    next_href: Option<String>,
    previous_href: Option<String>,
}

#[derive(Serialize)]
struct RecordRow {
    href: String,
    record_id: String,
    kind: String,
    occurred_at: String,
    received: String,
}

#[derive(Default)]
struct Loaded {
    alerts: AlertsSection,
    follow_ups: Vec<FollowUpView>,
    n_follow_ups: u64,
    clocks: Vec<ClockView>,
    records: Option<Vec<RecordRow>>,
}

/// The rule's title in the pack the engine runs (the alert's own title when the
/// pack no longer has the rule).
fn rule_title(engine: &Engine, rule_id: &str, fallback: &str) -> String {
    engine
        .pack()
        .rules
        .iter()
        .find(|rule| rule.id == rule_id)
        .map_or_else(|| fallback.to_owned(), |rule| rule.title.clone())
}

/// The child's name and age (today) from the engine's picture.
fn child_words(engine: &Engine, child_id: &str, now: DateTime<Utc>) -> (String, Option<String>) {
    match engine.facts().get(child_id) {
        Some(facts) => (
            sightline_app::views::display_name(facts),
            age_words(
                facts
                    .dob
                    .and_then(|dob| sightline_app::views::age_years(dob, now.date_naive())),
            ),
        ),
        None => ("Name not known".to_owned(), None),
    }
}

fn alerts_section(
    engine: &Engine,
    page: WorkPage,
    filter: &WorkFilter,
    now: DateTime<Utc>,
) -> AlertsSection {
    let now_us = sightline_app::to_micros(now);
    let row = |alert: &AlertRow| {
        let (child_name, child_age) = child_words(engine, &alert.child_id, now);
        let overdue = alert.status == STATUS_OPEN && alert.due_at_us < now_us;
        WorkRow {
            href: format!("/alerts/{}", encode_path(&alert.id)),
            title: rule_title(engine, &alert.rule_id, &alert.title),
            severity: alert.severity.clone(),
            severity_label: severity_label(&alert.severity),
            child_href: format!("/children/{}", encode_path(&alert.child_id)),
            child_name,
            child_age,
            due: due_words(alert.due_at_us, now_us),
            overdue,
            escalated: alert.escalation_level > 0,
            whose: whose_words(
                engine.organisation(),
                alert.assigned_to.as_deref(),
                &alert.routed_to,
            ),
            assigned: alert.assigned_to.is_some(),
        }
    };
    let severities = SEVERITIES
        .iter()
        .enumerate()
        .rev()
        .map(|(rank, severity)| SeverityCount {
            severity,
            label: severity_label(severity),
            count: page.counts.by_severity.get(rank).copied().unwrap_or(0),
            href: work_href(
                &WorkFilter {
                    severity: Some((*severity).to_owned()),
                    ..WorkFilter::default()
                },
                &[],
            ),
        })
        .collect();
    let mut severity_choices = vec![Choice {
        value: String::new(),
        label: "All severities".to_owned(),
        selected: filter.severity.is_none(),
    }];
    severity_choices.extend(SEVERITIES.iter().rev().map(|severity| Choice {
        value: (*severity).to_owned(),
        label: severity_label(severity).to_owned(),
        selected: filter.severity.as_deref() == Some(*severity),
    }));
    let mut rule_choices = vec![Choice {
        value: String::new(),
        label: "All rules".to_owned(),
        selected: filter.rule_id.is_none(),
    }];
    rule_choices.extend(page.rules.iter().map(|(rule_id, count)| Choice {
        label: format!("{} ({count})", rule_title(engine, rule_id, rule_id)),
        selected: filter.rule_id.as_deref() == Some(rule_id.as_str()),
        value: rule_id.clone(),
    }));
    let whose_choices = Whose::ALL
        .into_iter()
        .map(|whose| Choice {
            value: whose.as_str().to_owned(),
            label: match whose {
                Whose::All => "Everyone's in your team",
                Whose::Me => "Assigned to you",
                Whose::Unassigned => "Not assigned to anyone",
            }
            .to_owned(),
            selected: filter.whose == whose,
        })
        .collect();
    AlertsSection {
        rows: page.alerts.iter().map(row).collect(),
        total: page.counts.total,
        n_overdue: page.counts.overdue,
        overdue_href: work_href(
            &WorkFilter {
                overdue: true,
                ..WorkFilter::default()
            },
            &[],
        ),
        severities,
        n_matching: page.n_matching,
        filtered: !filter.is_empty(),
        severity_choices,
        rule_choices,
        whose_choices,
        overdue_checked: filter.overdue,
        next_href: page
            .next
            .map(|cursor| work_href(filter, &[("after", cursor.to_token())])),
        previous_href: page
            .previous
            .map(|cursor| work_href(filter, &[("before", cursor.to_token())])),
    }
}

fn follow_up_view(
    engine: &Engine,
    account: &Account,
    row: &FollowUpRow,
    now: DateTime<Utc>,
) -> FollowUpView {
    let (child_name, _) = child_words(engine, &row.child_id, now);
    let due = follow_up_due_day(row);
    FollowUpView {
        what: follow_up_words(&row.decision),
        alert_href: format!("/alerts/{}", encode_path(&row.alert_id)),
        child_href: format!("/children/{}", encode_path(&row.child_id)),
        child_name,
        mine: row.owner == account.username,
        owner: row.owner.clone(),
        due: follow_up_due_words(due, now.date_naive()),
        overdue: due < now.date_naive(),
        set_by: row.set_by.clone(),
        set_on: time_words(row.set_at_us),
        done_action: format!("/follow-ups/{}/done", row.id),
    }
}

/// Everything My work shows a caseworker, read in one blocking task.
fn load(
    store: &dyn Store,
    engine: &SharedEngine,
    account: &Account,
    filter: &WorkFilter,
    at: &PageAt,
    now: DateTime<Utc>,
    page_rows: u32,
) -> Result<Loaded, String> {
    let now_us = sightline_app::to_micros(now);
    let mut loaded = Loaded::default();
    let decision = audit::authorize_and_record(
        store,
        account,
        Action::ViewMyWork,
        &Resource::Service,
        &Default::default(),
        now,
    )
    .map_err(|error| error.to_string())?;
    if decision.is_full() {
        let page = work::my_work(store, account, filter, at, now_us, page_rows)
            .map_err(|error| error.to_string())?;
        let (follow_ups, n_follow_ups) =
            work::my_follow_ups(store, account, page_rows).map_err(|error| error.to_string())?;
        let (alerts, follow_ups) = crate::children::with_engine(engine, |engine| {
            Ok((
                alerts_section(engine, page, filter, now),
                follow_ups
                    .iter()
                    .map(|row| follow_up_view(engine, account, row, now))
                    .collect(),
            ))
        })?;
        loaded.alerts = alerts;
        loaded.follow_ups = follow_ups;
        loaded.n_follow_ups = n_follow_ups;
    }
    loaded.clocks = my_clocks(
        store,
        engine,
        account,
        now,
        usize::try_from(page_rows).unwrap_or(usize::MAX),
    )?;
    let decision = audit::authorize_and_record(
        store,
        account,
        Action::ListAgencyRecords,
        &Resource::Agency(account.agency.clone()),
        &Default::default(),
        now,
    )
    .map_err(|error| error.to_string())?;
    if decision.is_full() {
        // The agency's records restricted away from this reader are not listed.
        let withheld = sightline_app::controls::withheld_from(store, account)
            .map_err(|error| error.to_string())?;
        loaded.records = Some(
            store
                .accounts()
                .recent_records(account.agency.as_str(), page_rows)
                .map_err(|error| error.to_string())?
                .into_iter()
                .filter(|record| !withheld.contains(&record.agency, &record.record_id))
                .map(|record| RecordRow {
                    href: format!(
                        "/records/{}/{}",
                        record.agency,
                        encode_path(&record.record_id)
                    ),
                    record_id: record.record_id,
                    kind: sightline_core::Kind::parse(&record.kind)
                        .map_or(record.kind, |kind| kind.label().to_owned()),
                    occurred_at: sightline_core::dates::occurred_text(&record.occurred_at),
                    received: time(record.received_at_us),
                })
                .collect(),
        );
    }
    Ok(loaded)
}

/// The statutory clocks due soon (or overdue) of the children the user's agency
/// holds, from the engine's clock book, authorised and audited as a read of the
/// agency's caseload.
fn my_clocks(
    store: &dyn Store,
    engine: &SharedEngine,
    account: &Account,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClockView>, String> {
    let decision = audit::authorize_view_and_record(
        store,
        account,
        Action::ListAgencyRecords,
        Some(View::Clocks),
        &Resource::Agency(account.agency.clone()),
        &Default::default(),
        now,
    )
    .map_err(|error| error.to_string())?;
    if !decision.is_full() {
        return Ok(Vec::new());
    }
    crate::children::with_engine(engine, |engine| {
        Ok(sightline_app::clocks::agency_clocks_due(
            engine,
            account.agency.as_str(),
            now,
            MY_WORK_CLOCKS_WITHIN_DAYS,
            limit,
        )
        .into_iter()
        .map(|entry| {
            let name = engine
                .facts()
                .get(&entry.child_id)
                .map(sightline_app::views::display_name);
            ClockView::of(entry, name)
        })
        .collect())
    })
}

pub async fn my_work(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<MyWorkQuery>,
) -> Response {
    let casework = session.account.role.does_casework();
    let filter = query.filter();
    let loaded = if casework {
        let account = session.account.clone();
        let engine = state.engine.clone();
        let page_rows = state.config.page_rows_max;
        let now = Utc::now();
        let (filter, at) = (filter.clone(), query.page_at());
        match blocking(&state, Some(&session), move |store| {
            load(store, &engine, &account, &filter, &at, now, page_rows)
        })
        .await
        {
            Ok(loaded) => loaded,
            Err(response) => return response,
        }
    } else {
        Loaded::default()
    };
    // Those told of new access see how many notices the last days brought.
    let scope = sightline_app::privacy::notice_scope(&session.account);
    let notices_told = scope.as_ref().is_some_and(|scope| !scope.is_agency_wide());
    let n_notices = match scope {
        Some(scope) => {
            let now = Utc::now();
            match blocking(&state, Some(&session), move |store| {
                sightline_app::privacy::count_recent_notices(
                    store,
                    &scope,
                    crate::privacy::NOTICE_DAYS,
                    now,
                )
            })
            .await
            {
                Ok(count) => Some(count),
                Err(response) => return response,
            }
        }
        None => None,
    };
    let n_clocks_overdue = loaded
        .clocks
        .iter()
        .filter(|clock| clock.status == "overdue")
        .count();
    page(
        &state,
        StatusCode::OK,
        "my_work.html",
        context! {
            user => UserView::of(&session),
            page_title => "My work",
            nav => "my-work",
            casework => casework,
            decided => query.decided.is_some(),
            follow_up_done => query.follow_up_done.is_some(),
            alerts => loaded.alerts,
            clear_href => work_href(&WorkFilter::default(), &[]),
            follow_ups => loaded.follow_ups,
            n_follow_ups => loaded.n_follow_ups,
            records => loaded.records,
            clocks => loaded.clocks,
            n_clocks_overdue => n_clocks_overdue,
            clocks_within_days => MY_WORK_CLOCKS_WITHIN_DAYS,
            // A practitioner sees the count only when they were told of some.
            n_notices => n_notices.filter(|count| !notices_told || *count > 0),
            notices_told => notices_told,
            notice_days => crate::privacy::NOTICE_DAYS,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_pages_travel_in_the_query() {
        let query = MyWorkQuery {
            severity: Some("high".to_owned()),
            rule: Some("injury_not_mobile".to_owned()),
            overdue: Some("1".to_owned()),
            whose: Some("me".to_owned()),
            after: Some("0.1.5.a-01".to_owned()),
            ..MyWorkQuery::default()
        };
        let filter = query.filter();
        assert_eq!(filter.whose, Whose::Me);
        assert!(matches!(query.page_at(), PageAt::After(_)));
        assert_eq!(
            work_href(&filter, &[("after", "0.1.5.a-01".to_owned())]),
            "/my-work?severity=high&rule=injury_not_mobile&overdue=1&whose=me&after=0.1.5.a-01"
        );
        // Junk is ignored, not an error: the page lists everything.
        let junk = MyWorkQuery {
            severity: Some("urgent".to_owned()),
            rule: Some("<script>".to_owned()),
            whose: Some("everyone".to_owned()),
            before: Some("not-a-cursor".to_owned()),
            ..MyWorkQuery::default()
        };
        assert!(junk.filter().is_empty());
        assert_eq!(junk.page_at(), PageAt::First);
        assert_eq!(work_href(&WorkFilter::default(), &[]), "/my-work");
    }
}
