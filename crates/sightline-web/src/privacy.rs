//! The privacy officer's pages (the access log with its filters, paging, flags
//! and CSV; who viewed a child) and the access notices page for the people a
//! notice tells. No case content: entries name records by kind, agency and
//! reference, children by their "who viewed" page.
//!
//! - Invariant: the access log and "who viewed this child" page through every
//!   matching entry by `seq` (`?before=`), `page_rows_max` at a time, with no
//!   other cap.
//! - Invariant: the CSV export, "who viewed this child" and the notices page
//!   are audited before they are read.

use crate::WebState;
use crate::audit_view::{self, AuditEntryView, Known};
use crate::children::{picture_of, valid_person_id, with_engine};
use crate::pages::{FieldError, optional_date};
use crate::pages::{blocking, encode_path, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Days, NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::Action;
use sightline_access::words::{OTHER_AUDIT_ACTIONS, audit_action_label};
use sightline_access::{Role, View};
use sightline_app::accounts::LiveSession;
use sightline_app::audit::{self, AuditActor};
use sightline_app::privacy::{self, FlagKind};
use sightline_app::views;
use sightline_core::Kind;
use sightline_core::dates::{count_of, date, london_day_start};
use sightline_store::{AuditQuery, AuditRow};
use std::collections::{BTreeMap, HashMap};

/// The longest username or action name a filter accepts.
const FILTER_TEXT_CHARS_MAX: usize = 64;
/// The days My work counts notices over.
pub(crate) const NOTICE_DAYS: i64 = 7;

/// The access log's filters and cursor, as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct AccessLogQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    child: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing)]
    before: String,
}

/// The filters read: the store query (without the child's keys) and the child.
struct ParsedLog {
    query: AuditQuery,
    child: Option<String>,
    errors: Vec<FieldError>,
}

impl AccessLogQuery {
    fn parse(&self, limit: u32) -> ParsedLog {
        let mut errors = Vec::new();
        let text = |value: &str, field: &'static str, what: &str, errors: &mut Vec<FieldError>| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            if value.chars().count() > FILTER_TEXT_CHARS_MAX {
                errors.push(FieldError {
                    field,
                    message: format!("Enter {what} of at most {FILTER_TEXT_CHARS_MAX} characters"),
                });
                return None;
            }
            Some(value.to_owned())
        };
        let user = text(&self.user, "user", "a username", &mut errors);
        let action = text(&self.action, "action", "an action", &mut errors);
        let child = match self.child.trim() {
            "" => None,
            child if valid_person_id(child) => Some(child.to_owned()),
            _ => {
                errors.push(FieldError {
                    field: "child",
                    message: "That link to a child is not valid: find the child again".to_owned(),
                });
                None
            }
        };
        let from = optional_date(&self.from, "from", "the start date", &mut errors);
        let to = optional_date(&self.to, "to", "the end date", &mut errors);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push(FieldError {
                field: "to",
                message: "The end date must be the same as or after the start date".to_owned(),
            });
        }
        let day_start = |day: NaiveDate| sightline_app::to_micros(london_day_start(day));
        ParsedLog {
            query: AuditQuery {
                actor_username: user,
                resource_keys: None,
                children_only: false,
                action,
                from_us: from.map(day_start),
                // The end date is included: up to the start of the day after.
                until_us: to.and_then(|to| to.checked_add_days(Days::new(1)).map(day_start)),
                before_seq: self.before.trim().parse().ok(),
                limit,
            },
            child,
            errors,
        }
    }

    /// The filters as a query string (without the cursor).
    fn query_string(&self) -> String {
        crate::pages::filter_query_string(&[
            ("user", &self.user),
            ("child", &self.child),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }

    fn is_filtered(&self) -> bool {
        !self.query_string().is_empty()
    }
}

/// The audit keys of a child (itself and the records that mention it, with
/// their kinds), from the engine's picture; only the child's own key for a
/// child the picture does not hold (any more).
fn child_keys(
    engine: &sightline_app::SharedEngine,
    person_id: &str,
) -> Result<BTreeMap<String, Option<Kind>>, String> {
    with_engine(engine, |engine| {
        let picture = picture_of(engine);
        Ok(match picture.child(person_id) {
            Some(facts) => views::audit_keys_of(picture, facts),
            None => BTreeMap::from([(format!("child:{person_id}"), None)]),
        })
    })
}

/// Every audit action with its words, by words (the action filter's options).
#[derive(Serialize)]
struct ActionOption {
    value: String,
    label: String,
}

fn action_options() -> Vec<ActionOption> {
    let mut names: Vec<&str> = View::ALL.iter().map(|view| view.as_str()).collect();
    names.extend(Action::ALL.iter().map(|action| action.as_str()));
    names.extend(OTHER_AUDIT_ACTIONS.iter().map(|(name, _)| *name));
    names.sort_unstable();
    names.dedup();
    let mut options: Vec<ActionOption> = names
        .into_iter()
        .map(|name| {
            let mut label = audit_action_label(name);
            if let Some(first) = label.get(..1) {
                label.replace_range(..1, &first.to_uppercase());
            }
            ActionOption {
                value: name.to_owned(),
                label,
            }
        })
        .collect();
    options.sort_by(|left, right| left.label.cmp(&right.label));
    options.dedup_by(|left, right| left.label == right.label);
    options
}

/// One flagged pattern, in words, with the log filtered to it.
#[derive(Serialize)]
struct FlagView {
    text: String,
    href: String,
}

fn window_words(minutes: i64) -> String {
    if minutes % 60 == 0 {
        count_of(minutes / 60, "hour", "hours")
    } else {
        count_of(minutes, "minute", "minutes")
    }
}

fn flag_view(flag: &privacy::Flag, policy: &privacy::FlagPolicy) -> FlagView {
    let first = sightline_app::from_micros(flag.first_us);
    let last = sightline_app::from_micros(flag.last_us);
    let count = i64::try_from(flag.count).unwrap_or(i64::MAX);
    let (text, action) = match flag.kind {
        FlagKind::BreakGlass => (
            format!(
                "{} was given {} within {}, from {} to {}",
                flag.username,
                count_of(count, "break-glass grant", "break-glass grants"),
                window_words(policy.break_glass_window_hours.saturating_mul(60)),
                time(flag.first_us),
                time(flag.last_us),
            ),
            Action::BreakGlass.as_str(),
        ),
        FlagKind::ManyChildren => (
            format!(
                "{} looked at {} within {}, from {} to {}",
                flag.username,
                count_of(count, "different child", "different children"),
                window_words(policy.children_window_minutes),
                time(flag.first_us),
                time(flag.last_us),
            ),
            "",
        ),
    };
    let london_day = |instant| sightline_core::dates::london(instant).date();
    let query = AccessLogQuery {
        user: flag.username.clone(),
        action: action.to_owned(),
        from: date(london_day(first)),
        to: date(london_day(last)),
        ..AccessLogQuery::default()
    };
    FlagView {
        text,
        href: format!("/privacy/access-log?{}", query.query_string()),
    }
}

#[derive(Serialize)]
struct GrantView {
    username: String,
    /// What the grant opens, in words, with its reference or page.
    resource: audit_view::ResourceView,
    reason: String,
    granted: String,
    expires: String,
    live: bool,
}

/// Entries in words, with the reasons of the break-glass grants they were
/// read under.
fn entry_views(
    state: &WebState,
    known: &Known<'_>,
    rows: Vec<AuditRow>,
    reasons: &HashMap<i64, String>,
) -> Vec<AuditEntryView> {
    let organisation = state.organisation();
    rows.into_iter()
        .map(|row| {
            let reason = privacy::grant_id_of(&row.basis)
                .filter(|_| !row.basis.contains(": "))
                .and_then(|id| reasons.get(&id).cloned());
            audit_view::entry_view(&organisation, known, row).with_reason(reason)
        })
        .collect()
}

/// The href of the page after one ending at `last_seq`, if there is one.
fn next_href(base: &str, query_string: &str, more: bool, last_seq: Option<i64>) -> Option<String> {
    let last_seq = last_seq.filter(|_| more)?;
    Some(if query_string.is_empty() {
        format!("{base}?before={last_seq}")
    } else {
        format!("{base}?{query_string}&before={last_seq}")
    })
}

pub async fn access_log(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(form): Query<AccessLogQuery>,
) -> Response {
    let page_rows = state.config.page_rows_max;
    let parsed = form.parse(page_rows.saturating_add(1));
    let now = Utc::now();
    let engine = state.engine.clone();
    let policy = state.config.flags;
    let grants_max = state.config.page_rows_max;
    let ParsedLog {
        mut query,
        child,
        errors,
    } = parsed;
    let has_errors = !errors.is_empty();
    let loaded = blocking(&state, Some(&session), move |store| {
        let kinds = match &child {
            Some(person_id) => {
                let keys = child_keys(&engine, person_id)?;
                query.resource_keys = Some(keys.keys().cloned().collect());
                Some(keys)
            }
            None => None,
        };
        let entries = if has_errors {
            Vec::new()
        } else {
            store
                .access()
                .audit_search(&query)
                .map_err(|error| error.to_string())?
        };
        let reasons =
            privacy::break_glass_reasons(store, &entries).map_err(|error| error.to_string())?;
        let patterns =
            privacy::unusual_patterns(store, &policy, now).map_err(|error| error.to_string())?;
        let grants = store
            .accounts()
            .list_grants(grants_max)
            .map_err(|error| error.to_string())?;
        let users = store
            .accounts()
            .list_users(sightline_store::ACCOUNT_LIST_LIMIT_MAX)
            .map_err(|error| error.to_string())?;
        Ok::<_, String>((entries, reasons, patterns, grants, users, kinds))
    })
    .await;
    let (mut entries, reasons, patterns, grants, users, kinds) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let more = entries.len() > usize::try_from(page_rows).unwrap_or(usize::MAX);
    entries.truncate(usize::try_from(page_rows).unwrap_or(usize::MAX));
    let last_seq = entries.last().map(|row| row.seq);
    let usernames: HashMap<i64, String> = users
        .into_iter()
        .map(|user| (user.id, user.username))
        .collect();
    let known = Known {
        record_kinds: kinds.as_ref(),
        usernames: Some(&usernames),
    };
    let organisation = state.organisation();
    let now_us = sightline_app::to_micros(now);
    let grants: Vec<GrantView> = grants
        .into_iter()
        .map(|grant| GrantView {
            username: grant.username,
            resource: audit_view::resource_words(&organisation, &known, &grant.resource_key),
            reason: grant.reason,
            granted: time(grant.granted_at_us),
            expires: time(grant.expires_at_us),
            live: grant.expires_at_us > now_us,
        })
        .collect();
    let entries = entry_views(&state, &known, entries, &reasons);
    let flags: Vec<FlagView> = patterns
        .flags
        .iter()
        .map(|flag| flag_view(flag, &policy))
        .collect();
    let query_string = form.query_string();
    let csv_href = if query_string.is_empty() {
        "/privacy/access-log.csv".to_owned()
    } else {
        format!("/privacy/access-log.csv?{query_string}")
    };
    let status = if has_errors {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let field_error = |field: &str| {
        errors
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.clone())
    };
    page(
        &state,
        status,
        "access_log.html",
        context! {
            user => UserView::of(&session),
            page_title => if has_errors { "Error: Access log" } else { "Access log" },
            nav => "privacy",
            entries => entries,
            grants => grants,
            flags => flags,
            scan_truncated => patterns.scan_truncated,
            lookback_days => policy.lookback_days,
            break_glass_min => policy.break_glass_min,
            break_glass_window => window_words(policy.break_glass_window_hours.saturating_mul(60)),
            children_min => policy.children_min,
            children_window => window_words(policy.children_window_minutes),
            actions => action_options(),
            query => form,
            filtered => form.is_filtered(),
            without_child_href => {
                let without = AccessLogQuery { child: String::new(), ..form.clone() };
                let query_string = without.query_string();
                if query_string.is_empty() { "/privacy/access-log".to_owned() } else { format!("/privacy/access-log?{query_string}") }
            },
            user_error => field_error("user"),
            child_error => field_error("child"),
            action_error => field_error("action"),
            from_error => field_error("from"),
            to_error => field_error("to"),
            errors => errors,
            first_page => form.before.trim().is_empty(),
            first_href => if query_string.is_empty() { "/privacy/access-log".to_owned() } else { format!("/privacy/access-log?{query_string}") },
            next_href => next_href("/privacy/access-log", &query_string, more, last_seq),
            csv_href => csv_href,
        },
    )
}

pub async fn access_log_csv(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(form): Query<AccessLogQuery>,
) -> Response {
    let ParsedLog {
        mut query,
        child,
        errors,
    } = form.parse(0);
    if !errors.is_empty() {
        // The page says what is wrong with the filters.
        let query_string = form.query_string();
        return Redirect::to(&format!("/privacy/access-log?{query_string}")).into_response();
    }
    query.before_seq = None;
    let by = AuditActor::of(&session.account);
    let engine = state.engine.clone();
    let rows_max = state.config.access_log_csv_rows_max;
    let now = Utc::now();
    let resource_key = child
        .as_ref()
        .map_or_else(|| "service".to_owned(), |child| format!("child:{child}"));
    let csv = blocking(&state, Some(&session), move |store| {
        if let Some(person_id) = &child {
            let keys = child_keys(&engine, person_id)?;
            query.resource_keys = Some(keys.keys().cloned().collect());
        }
        privacy::export_access_log_csv(store, &by, &query, &resource_key, rows_max, now)
            .map_err(|error| error.to_string())
    })
    .await;
    match csv {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"access-log.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(response) => response,
    }
}

// ---- who viewed this child ----

#[derive(Deserialize, Default)]
pub struct ViewersQuery {
    #[serde(default)]
    before: String,
}

pub async fn child_viewers(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Query(paging): Query<ViewersQuery>,
) -> Response {
    if !valid_person_id(&person_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let by = AuditActor::of(&session.account);
    let engine = state.engine.clone();
    let id = person_id.clone();
    let now = Utc::now();
    let page_rows = state.config.page_rows_max;
    let before_seq: Option<i64> = paging.before.trim().parse().ok();
    let loaded = blocking(&state, Some(&session), move |store| {
        let keys = child_keys(&engine, &id)?;
        audit::record(
            store,
            &by,
            "view_child_access_log",
            &format!("child:{id}"),
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(|error| error.to_string())?;
        // Only the entries about the child and its records (an index by
        // resource key), newest first, one page after the cursor.
        let rows = store
            .access()
            .audit_search(&AuditQuery {
                resource_keys: Some(keys.keys().cloned().collect()),
                before_seq,
                limit: page_rows.saturating_add(1),
                ..AuditQuery::default()
            })
            .map_err(|error| error.to_string())?;
        let reasons =
            privacy::break_glass_reasons(store, &rows).map_err(|error| error.to_string())?;
        // The restrictions on the child's records and the hold on the child,
        // for the privacy officer to review beside who viewed.
        let restrictions: Vec<crate::controls::RestrictionView> =
            sightline_app::controls::restrictions_in_force(store)
                .map_err(|error| error.to_string())?
                .iter()
                .filter(|row| {
                    keys.contains_key(&format!(
                        "record:{}/{}",
                        row.event.agency, row.event.record_id
                    ))
                })
                .map(crate::controls::RestrictionView::of)
                .collect();
        let hold = sightline_app::controls::hold_of(store, &id)
            .map_err(|error| error.to_string())?
            .map(|row| crate::controls::HoldView::of(&row));
        Ok::<_, String>((rows, reasons, keys, (restrictions, hold)))
    })
    .await;
    let (mut rows, reasons, kinds, (restrictions, hold)) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let more = rows.len() > usize::try_from(page_rows).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(page_rows).unwrap_or(usize::MAX));
    let last_seq = rows.last().map(|row| row.seq);
    let known = Known {
        record_kinds: Some(&kinds),
        usernames: None,
    };
    let entries = entry_views(&state, &known, rows, &reasons);
    let base = format!("/privacy/children/{}", encode_path(&person_id));
    page(
        &state,
        StatusCode::OK,
        "child_viewers.html",
        context! {
            user => UserView::of(&session),
            page_title => "Who viewed this child",
            nav => "privacy",
            person_id => person_id,
            restrictions => restrictions,
            hold => hold,
            entries => entries,
            first_page => before_seq.is_none(),
            first_href => base.clone(),
            next_href => next_href(&base, "", more, last_seq),
        },
    )
}

// ---- access notices ----

#[derive(Serialize)]
struct NoticeView {
    when: String,
    /// Who gained access: a user and their agency, or an agency.
    who: String,
    /// Why, in words.
    why: String,
    /// The child by name (casework) or "A child" (the privacy officer).
    what: String,
    /// The child's page (casework) or who viewed it (the privacy officer).
    href: Option<String>,
    /// A record's reference at its agency.
    reference: Option<String>,
    /// The agency told (the privacy officer sees every notice).
    told: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoticesQuery {
    #[serde(default)]
    before: String,
}

pub async fn notices(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(paging): Query<NoticesQuery>,
) -> Response {
    let account = session.account.clone();
    let by = AuditActor::of(&account);
    let now = Utc::now();
    let Some(scope) = privacy::notice_scope(&account) else {
        let _ = blocking(&state, Some(&session), move |store| {
            audit::record(store, &by, "view_notices", "service", "", "deny", now)
        })
        .await;
        return error_page(&state, Some(&session), ErrorPage::forbidden());
    };
    let page_rows = state.config.page_rows_max;
    let before_seq: Option<i64> = paging.before.trim().parse().ok();
    let engine = state.engine.clone();
    let casework = account.role.does_casework();
    let told = !scope.is_agency_wide();
    let loaded = blocking(&state, Some(&session), move |store| {
        audit::record(
            store,
            &by,
            "view_notices",
            "service",
            &format!("role:{}", by.role),
            "ok",
            now,
        )
        .map_err(|error| error.to_string())?;
        let rows = privacy::notices(store, &scope, before_seq, page_rows.saturating_add(1))
            .map_err(|error| error.to_string())?;
        // Casework readers see the children by name (the minimal view's
        // name, which any casework user may see).
        let names: HashMap<String, String> = if casework {
            with_engine(&engine, |engine| {
                let picture = picture_of(engine);
                Ok(rows
                    .iter()
                    .filter_map(|row| row.notice.resource_key.strip_prefix("child:"))
                    .filter_map(|id| {
                        picture
                            .child(id)
                            .map(|facts| (id.to_owned(), views::display_name(facts)))
                    })
                    .collect())
            })?
        } else {
            HashMap::new()
        };
        Ok::<_, String>((rows, names))
    })
    .await;
    let (mut rows, names) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let more = rows.len() > usize::try_from(page_rows).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(page_rows).unwrap_or(usize::MAX));
    let last_seq = rows.last().map(|row| row.seq);
    let notices: Vec<NoticeView> =
        rows.into_iter()
            .map(|row| {
                let notice = row.notice;
                let agency = state.agency_name(&notice.about_agency);
                let who = match &notice.about_username {
                    Some(username) => format!("{username} ({agency})"),
                    None => agency,
                };
                let (what, href, reference) =
                    if let Some(child_id) = notice.resource_key.strip_prefix("child:") {
                        if casework {
                            (
                                names.get(child_id).cloned().unwrap_or_else(|| {
                                    "A child no longer in the picture".to_owned()
                                }),
                                Some(format!("/children/{}", encode_path(child_id))),
                                None,
                            )
                        } else {
                            (
                                "A child".to_owned(),
                                Some(format!("/privacy/children/{}", encode_path(child_id))),
                                None,
                            )
                        }
                    } else if let Some(record) = notice.resource_key.strip_prefix("record:") {
                        let (agency, record_id) = record.split_once('/').unwrap_or(("", record));
                        (
                            format!("A record from {}", state.agency_name(agency)),
                            casework.then(|| {
                                format!(
                                    "/records/{}/{}",
                                    encode_path(agency),
                                    encode_path(record_id)
                                )
                            }),
                            Some(record_id.to_owned()),
                        )
                    } else {
                        (String::new(), None, None)
                    };
                NoticeView {
                    when: time(notice.at_us),
                    why: privacy::notice_why(&notice),
                    who,
                    what,
                    href,
                    reference,
                    told: (!casework).then(|| {
                        let agency = notice.to_agency.as_deref().map_or_else(
                            || "The privacy officer only".to_owned(),
                            |agency| state.agency_name(agency),
                        );
                        if notice.to_user_id.is_some() {
                            format!("{agency}: the allocated worker")
                        } else if notice.to_team.is_some() {
                            format!("{agency}: the duty team")
                        } else {
                            agency
                        }
                    }),
                }
            })
            .collect();
    page(
        &state,
        StatusCode::OK,
        "notices.html",
        context! {
            user => UserView::of(&session),
            page_title => "Access notices",
            nav => "notices",
            notices => notices,
            privacy_officer => account.role == Role::PrivacyOfficer,
            told => told,
            first_page => before_seq.is_none(),
            first_href => "/notices",
            next_href => next_href("/notices", "", more, last_seq),
        },
    )
}
