//! The linkage review pages: the queue of uncertain pairs (both mentions side by
//! side, the match weight and the per-field waterfall, a match / not a match form
//! with a required reason) and the list of people's decisions with a withdraw
//! action.
//!
//! Who may: safeguarding leads and team managers (`Action::ReviewLinkage`, decided
//! and recorded by the guard before a handler runs). Each decision and withdrawal
//! is also written to the audit log with the pair it names, and so is each one
//! refused (outcome `refused`, the why as its basis).
//!
//! What may be decided (`persons::check_decision`, issue #15 finding 5): every
//! decision needs a reason of a sentence; "the same person" only for a pair the
//! queue offers (or one decided before, to turn the decision round), never for
//! any two records a reviewer names.
//!
//! The linked log with its decisions is the intake engine's
//! (`sightline_app::SharedEngine`, taken under its write lock and brought up to
//! date with the store on every request): a decision is stored first
//! (`linkage_decisions`, append-only) and then applied (`Engine::decide`), so
//! the child pages, alerts and every later re-link respect it. A withdrawal is one more decision (`withdrawn`):
//! nothing is ever edited or deleted.
//!
//! Order of the queue: `persons::review_queue`'s, most likely matches first
//! (highest match weight): the pairs whose merge would most change what
//! practitioners see come first.

use crate::WebState;
use crate::pages::{blocking, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_app::accounts::LiveSession;
use sightline_app::audit::{self, AuditActor};
use sightline_app::persons::{
    self, DecisionRefusal, FieldEvidence, MentionView, PersonsError, ReviewPair,
};
use sightline_app::{Engine, EngineError, SharedEngine};
use sightline_store::{DecisionVerdict, NewLinkageDecision, Store};

/// Pairs shown on one page of the queue (each with its waterfall).
pub const REVIEW_PAGE_PAIRS: usize = 10;
/// Decisions shown on the decisions page, newest first.
pub const DECISIONS_SHOWN: usize = 100;
/// Width in pixels of half a waterfall bar (for or against).
const BAR_HALF: f64 = 120.0;

/// Runs `work` on the intake engine under its write lock, up to date with the
/// log and the decisions other processes stored (the review pages and the
/// engine are one linked picture).
fn with_engine<T>(
    engine: &SharedEngine,
    store: &dyn Store,
    work: impl FnOnce(&mut Engine) -> Result<T, PersonsError>,
) -> Result<T, PersonsError> {
    let mut engine = engine.write(store, Utc::now()).map_err(persons_error)?;
    work(&mut engine)
}

fn persons_error(error: EngineError) -> PersonsError {
    match error {
        EngineError::Persons(error) => error,
        EngineError::Picture(error) => PersonsError::Picture(error),
        EngineError::Store(error) => PersonsError::Store(error),
        EngineError::Poisoned => PersonsError::BadRequest("the engine lock was poisoned"),
        // Only loading an engine checks its routes; a write never does.
        EngineError::UnreceivableRoutes(_) => {
            PersonsError::BadRequest("the rule pack's routes are not receivable")
        }
    }
}

// ---- views ----

/// One row of the waterfall: a field's part of the score, with its bar.
#[derive(Serialize)]
struct FieldRow {
    field: String,
    level: String,
    /// Signed, one decimal.
    weight: String,
    /// `for`, `against` or `neutral`: said in words, not colour only.
    direction: &'static str,
    /// The bar: where it starts and how wide it is (SVG user units).
    bar_x: String,
    bar_width: String,
}

#[derive(Serialize)]
struct PairView {
    /// Position on this page (1-based): makes form ids unique.
    n: usize,
    left: MentionView,
    right: MentionView,
    left_href: String,
    right_href: String,
    match_weight: String,
    probability_percent: String,
    fields: Vec<FieldRow>,
    bar_half: f64,
    /// The form as sent, and its errors, when this pair's form was refused.
    verdict: String,
    reason: String,
    verdict_error: Option<&'static str>,
    reason_error: Option<String>,
}

fn signed(weight: f64) -> String {
    if weight > 0.0 {
        format!("+{weight:.1}")
    } else if weight < 0.0 {
        format!("\u{2212}{:.1}", weight.abs())
    } else {
        "0.0".to_owned()
    }
}

fn direction(weight: f64) -> &'static str {
    if weight > 0.05 {
        "for"
    } else if weight < -0.05 {
        "against"
    } else {
        "neutral"
    }
}

/// The waterfall rows: the prior, then each field; bars scaled to the largest.
fn waterfall(prior_weight: f64, fields: &[FieldEvidence]) -> Vec<FieldRow> {
    let largest = fields
        .iter()
        .map(|field| field.weight.abs())
        .chain([prior_weight.abs(), 1.0])
        .filter(|weight| weight.is_finite())
        .fold(0.0_f64, f64::max);
    let row = |field: &str, level: &str, weight: f64| {
        let weight = if weight.is_finite() { weight } else { 0.0 };
        let width = (weight.abs() / largest * BAR_HALF).clamp(0.0, BAR_HALF);
        let x = if weight < 0.0 {
            BAR_HALF - width
        } else {
            BAR_HALF
        };
        FieldRow {
            field: sightline_core::labels::linkage_field_label(field),
            level: level.to_owned(),
            weight: signed(weight),
            direction: direction(weight),
            bar_x: format!("{x:.1}"),
            bar_width: format!("{width:.1}"),
        }
    };
    std::iter::once(row(
        "prior",
        "how likely any two records are one person",
        prior_weight,
    ))
    .chain(
        fields
            .iter()
            .map(|field| row(&field.field, &field.level, field.weight)),
    )
    .collect()
}

fn record_href(mention: &MentionView) -> String {
    format!(
        "/records/{}/{}",
        crate::pages::encode_path(&mention.agency),
        crate::pages::encode_path(&mention.record_id)
    )
}

fn pair_view(n: usize, pair: ReviewPair) -> PairView {
    let evidence = pair.evidence;
    PairView {
        n,
        left_href: record_href(&pair.left),
        right_href: record_href(&pair.right),
        left: pair.left,
        right: pair.right,
        match_weight: signed(evidence.match_weight),
        probability_percent: format!("{:.1}", evidence.match_probability * 100.0),
        fields: waterfall(evidence.prior_weight, &evidence.fields),
        bar_half: BAR_HALF,
        verdict: String::new(),
        reason: String::new(),
        verdict_error: None,
        reason_error: None,
    }
}

// ---- the queue ----

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    decided: Option<String>,
    /// With `right`: show only this pair (a child page's possible record).
    #[serde(default)]
    left: Option<String>,
    #[serde(default)]
    right: Option<String>,
}

/// The form of one pair.
#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    left: String,
    #[serde(default)]
    right: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    page: String,
}

/// A refused form, shown again on its pair.
struct Refused {
    form: DecisionForm,
    verdict_error: Option<&'static str>,
    reason_error: Option<String>,
}

fn page_number(text: Option<&str>) -> usize {
    text.and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, persons::REVIEW_PAIRS_MAX)
}

async fn queue_page(
    state: WebState,
    session: LiveSession,
    status: StatusCode,
    page_n: usize,
    decided: Option<&'static str>,
    refused: Option<Refused>,
    only: Option<(String, String)>,
) -> Response {
    let engine = state.engine.clone();
    let refused_pair = refused
        .as_ref()
        .map(|refused| (refused.form.left.clone(), refused.form.right.clone()));
    let by = AuditActor::of(&session.account);
    let account = session.account.clone();
    let loaded = blocking(&state, Some(&session), move |store| {
        // A pair with a record restricted away from the reviewer is not shown.
        let withheld = sightline_app::controls::withheld_from(store, &account)?;
        with_engine(&engine, store, |linked| {
            // The records shown side by side are audited (issue #15, finding 11).
            let record_shown = |pairs: &mut Vec<ReviewPair>| {
                pairs.retain(|pair| {
                    !withheld.contains(&pair.left.agency, &pair.left.record_id)
                        && !withheld.contains(&pair.right.agency, &pair.right.record_id)
                });
                audit::record_review_pairs_shown(store, &by, pairs, Utc::now())
            };
            if let Some((left, right)) = &only {
                // One pair, as a child page's possible record links to it.
                let mut pairs: Vec<ReviewPair> = persons::review_pair(linked.linked(), left, right)
                    .into_iter()
                    .collect();
                record_shown(&mut pairs)?;
                return Ok((pairs.len(), 1, 1, pairs));
            }
            let total = linked.linked().index.review_queue().len();
            let shown = total.min(persons::REVIEW_PAIRS_MAX);
            let last_page = shown.div_ceil(REVIEW_PAGE_PAIRS).max(1);
            let page_n = page_n.min(last_page);
            let mut pairs: Vec<ReviewPair> = persons::review_queue(linked.linked(), shown)
                .into_iter()
                .skip((page_n - 1) * REVIEW_PAGE_PAIRS)
                .take(REVIEW_PAGE_PAIRS)
                .collect();
            // A refused decision on a pair not on this page (one shown on its own).
            if let Some((left, right)) = &refused_pair {
                let on_page = pairs.iter().any(|pair| {
                    (&pair.left.key, &pair.right.key) == (left, right)
                        || (&pair.left.key, &pair.right.key) == (right, left)
                });
                if !on_page {
                    pairs.splice(0..0, persons::review_pair(linked.linked(), left, right));
                }
            }
            record_shown(&mut pairs)?;
            Ok((total, last_page, page_n, pairs))
        })
    })
    .await;
    let (total, last_page, page_n, pairs) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let first = (page_n - 1) * REVIEW_PAGE_PAIRS;
    let mut pairs: Vec<PairView> = pairs
        .into_iter()
        .enumerate()
        .map(|(idx, pair)| pair_view(idx + 1, pair))
        .collect();
    let mut error_anchor = None;
    if let Some(refused) = refused
        && let Some(pair) = pairs.iter_mut().find(|pair| {
            (pair.left.key == refused.form.left && pair.right.key == refused.form.right)
                || (pair.left.key == refused.form.right && pair.right.key == refused.form.left)
        })
    {
        error_anchor = Some(if refused.verdict_error.is_some() {
            format!("verdict-{}", pair.n)
        } else {
            format!("reason-{}", pair.n)
        });
        pair.verdict = refused.form.verdict;
        pair.reason = refused.form.reason;
        pair.verdict_error = refused.verdict_error;
        pair.reason_error = refused.reason_error;
    }
    let n_shown = pairs.len();
    page(
        &state,
        status,
        "review.html",
        context! {
            user => UserView::of(&session),
            page_title => if error_anchor.is_some() { "Error: Linkage review" } else { "Linkage review" },
            nav => "linkage",
            pairs => pairs,
            total => total,
            capped => total > persons::REVIEW_PAIRS_MAX,
            pairs_max => persons::REVIEW_PAIRS_MAX,
            first => first + 1,
            last => first + n_shown,
            page => page_n,
            last_page => last_page,
            previous_page => (page_n > 1).then(|| page_n - 1),
            next_page => (page_n < last_page).then(|| page_n + 1),
            decided => decided,
            error_anchor => error_anchor,
        },
    )
}

pub async fn queue(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<QueueQuery>,
) -> Response {
    let decided = match query.decided.as_deref() {
        Some("match") => Some("match"),
        Some("non_match") => Some("non_match"),
        _ => None,
    };
    let page_n = page_number(query.page.as_deref());
    let only = query.left.zip(query.right);
    queue_page(state, session, StatusCode::OK, page_n, decided, None, only).await
}

/// The pair in the store's canonical order (smaller key first), as the
/// decisions list, the withdraw form and the audit log name it.
fn canonical<'a>(left: &'a str, right: &'a str) -> (&'a str, &'a str) {
    if left <= right {
        (left, right)
    } else {
        (right, left)
    }
}

/// The most characters of a mention key a refusal records (a key the log
/// holds is at most 512 bytes; a refused form may name anything).
const AUDITED_KEY_CHARS_MAX: usize = 512;

/// Records a refused decision in the audit log: the pair as named (each key
/// cut to [`AUDITED_KEY_CHARS_MAX`]), `refused`, and why as the basis.
fn record_refusal(
    store: &dyn Store,
    session: &LiveSession,
    left: &str,
    right: &str,
    why: &str,
) -> Result<(), sightline_store::StoreError> {
    let (left, right) = canonical(left, right);
    let clip = |key: &str| -> String { key.chars().take(AUDITED_KEY_CHARS_MAX).collect() };
    audit::record(
        store,
        &AuditActor::of(&session.account),
        "linkage_decision",
        &format!("linkage:{}|{}", clip(left), clip(right)),
        why,
        "refused",
        Utc::now(),
    )
    .map(|_| ())
}

/// What became of a decision.
enum Stored {
    Recorded,
    /// A mention the log does not hold.
    UnknownMention,
    Refused(DecisionRefusal),
}

/// Stores a decision about a pair (through `Engine::decide`, which checks it
/// and applies it to the engine) and records it, or its refusal, in the audit
/// log.
fn store_decision(
    store: &dyn Store,
    engine: &SharedEngine,
    session: &LiveSession,
    left: &str,
    right: &str,
    verdict: DecisionVerdict,
    reason: String,
) -> Result<Stored, PersonsError> {
    let now = Utc::now();
    let by = AuditActor::of(&session.account);
    with_engine(engine, store, |linked| {
        for key in [left, right] {
            if linked.linked().index.record_of(key).is_none() {
                record_refusal(store, session, left, right, "unknown_mention")?;
                return Ok(Stored::UnknownMention);
            }
        }
        let (left, right) = canonical(left, right);
        let decision = NewLinkageDecision {
            left_key: left.to_owned(),
            right_key: right.to_owned(),
            verdict,
            actor: session.account.username.clone(),
            reason,
            at_us: sightline_app::to_micros(now),
        };
        let row = match linked.decide(store, &decision, now) {
            Ok((row, _)) => row,
            Err(EngineError::Persons(PersonsError::Refused(refusal))) => {
                record_refusal(store, session, left, right, refusal.code())?;
                return Ok(Stored::Refused(refusal));
            }
            Err(error) => return Err(persons_error(error)),
        };
        audit::record(
            store,
            &by,
            "linkage_decision",
            &format!("linkage:{}|{}", row.left_key, row.right_key),
            &format!("role:{}", by.role),
            row.verdict.as_str(),
            now,
        )?;
        Ok(Stored::Recorded)
    })
}

/// The page for a "same person" decision about a pair the queue does not offer.
fn not_offered() -> ErrorPage {
    ErrorPage {
        status: StatusCode::BAD_REQUEST,
        title: "These records cannot be decided to be the same person",
        message: "Only a pair the linkage review queue offers can be decided to be the same person. Nothing was changed, and this attempt has been recorded.",
    }
}

pub async fn decide(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let page_n = page_number(Some(&form.page));
    let verdict = match form.verdict.as_str() {
        "match" => Ok(DecisionVerdict::Match),
        "non_match" => Ok(DecisionVerdict::NonMatch),
        _ => Err("Select whether these are the same person"),
    };
    let reason = persons::check_decision_reason(&form.reason);
    let (verdict, reason) = match (verdict, reason) {
        (Ok(verdict), Ok(reason)) => (verdict, reason),
        (verdict, reason) => {
            let why = match &reason {
                Err(refusal) => refusal.code(),
                Ok(_) => "verdict_missing",
            };
            let (left, right, who) = (form.left.clone(), form.right.clone(), session.clone());
            if let Err(response) = blocking(&state, Some(&session), move |store| {
                record_refusal(store, &who, &left, &right, why)
            })
            .await
            {
                return response;
            }
            let refused = Refused {
                verdict_error: verdict.err(),
                reason_error: reason.err().map(|refusal| refusal.to_string()),
                form,
            };
            return queue_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                page_n,
                None,
                Some(refused),
                None,
            )
            .await;
        }
    };
    let engine = state.engine.clone();
    let who = session.clone();
    let (left, right) = (form.left.clone(), form.right.clone());
    let stored = blocking(&state, Some(&session), move |store| {
        store_decision(store, &engine, &who, &left, &right, verdict, reason)
    })
    .await;
    match stored {
        Ok(Stored::Recorded) => Redirect::to(&format!(
            "/linkage/review?decided={}&page={page_n}",
            verdict.as_str()
        ))
        .into_response(),
        Ok(Stored::UnknownMention) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Ok(Stored::Refused(DecisionRefusal::NotOffered)) => {
            error_page(&state, Some(&session), not_offered())
        }
        Ok(Stored::Refused(refusal)) => {
            let refused = Refused {
                verdict_error: None,
                reason_error: Some(refusal.to_string()),
                form,
            };
            queue_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                page_n,
                None,
                Some(refused),
                None,
            )
            .await
        }
        Err(response) => response,
    }
}

// ---- the decisions ----

#[derive(Serialize)]
struct DecisionRowView {
    n: usize,
    seq: i64,
    left: String,
    right: String,
    verdict: &'static str,
    verdict_words: &'static str,
    actor: String,
    reason: String,
    when: String,
    /// Whether this is the pair's standing decision and can be withdrawn.
    standing: bool,
}

fn verdict_words(verdict: DecisionVerdict) -> &'static str {
    match verdict {
        DecisionVerdict::Match => "Same person",
        DecisionVerdict::NonMatch => "Not the same person",
        DecisionVerdict::Withdrawn => "Withdrawn",
    }
}

#[derive(Deserialize, Default)]
pub struct DecisionsQuery {
    #[serde(default)]
    withdrawn: Option<String>,
}

async fn decisions_page(
    state: WebState,
    session: LiveSession,
    status: StatusCode,
    withdrawn: bool,
    refused: Option<(i64, String, String)>,
) -> Response {
    let engine = state.engine.clone();
    let loaded = blocking(&state, Some(&session), move |store| {
        with_engine(&engine, store, |linked| {
            let rows = persons::load_decisions(store)?;
            let standing = linked.decisions().standing();
            Ok(rows
                .into_iter()
                .rev()
                .take(DECISIONS_SHOWN)
                .enumerate()
                .map(|(idx, row)| {
                    let is_standing = row.verdict != DecisionVerdict::Withdrawn
                        && standing.iter().any(|(left, right, _)| {
                            *left == row.left_key && *right == row.right_key
                        });
                    DecisionRowView {
                        n: idx + 1,
                        seq: row.seq,
                        left: row.left_key,
                        right: row.right_key,
                        verdict: row.verdict.as_str(),
                        verdict_words: verdict_words(row.verdict),
                        actor: row.actor,
                        reason: row.reason,
                        when: time(row.at_us),
                        standing: is_standing,
                    }
                })
                .collect::<Vec<_>>())
        })
    })
    .await;
    let mut rows = match loaded {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    // Only the newest decision about a pair can be withdrawn.
    let mut seen = std::collections::BTreeSet::new();
    for row in rows.iter_mut() {
        if !seen.insert((row.left.clone(), row.right.clone())) {
            row.standing = false;
        }
    }
    let (error_seq, error, reason) = match refused {
        Some((seq, error, reason)) => (Some(seq), Some(error), reason),
        None => (None, None, String::new()),
    };
    page(
        &state,
        status,
        "review_decisions.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { "Error: Linkage decisions" } else { "Linkage decisions" },
            nav => "linkage",
            decisions => rows,
            shown_max => DECISIONS_SHOWN,
            withdrawn => withdrawn,
            error_seq => error_seq,
            error => error,
            reason => reason,
        },
    )
}

pub async fn decisions(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<DecisionsQuery>,
) -> Response {
    decisions_page(
        state,
        session,
        StatusCode::OK,
        query.withdrawn.is_some(),
        None,
    )
    .await
}

/// The withdraw form of one decision.
#[derive(Deserialize, Default)]
pub struct WithdrawForm {
    #[serde(default)]
    seq: String,
    #[serde(default)]
    left: String,
    #[serde(default)]
    right: String,
    #[serde(default)]
    reason: String,
}

pub async fn withdraw(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Form(form): Form<WithdrawForm>,
) -> Response {
    let reason = match persons::check_decision_reason(&form.reason) {
        Ok(reason) => reason,
        Err(refusal) => {
            let (left, right, who) = (form.left.clone(), form.right.clone(), session.clone());
            if let Err(response) = blocking(&state, Some(&session), move |store| {
                record_refusal(store, &who, &left, &right, refusal.code())
            })
            .await
            {
                return response;
            }
            let seq = form.seq.trim().parse().unwrap_or(0);
            return decisions_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                false,
                Some((
                    seq,
                    format!("{refusal} to withdraw this decision"),
                    form.reason,
                )),
            )
            .await;
        }
    };
    let engine = state.engine.clone();
    let who = session.clone();
    let (left, right) = (form.left.clone(), form.right.clone());
    let stored = blocking(&state, Some(&session), move |store| {
        store_decision(
            store,
            &engine,
            &who,
            &left,
            &right,
            DecisionVerdict::Withdrawn,
            reason,
        )
    })
    .await;
    match stored {
        Ok(Stored::Recorded) => Redirect::to("/linkage/decisions?withdrawn=1").into_response(),
        Ok(Stored::UnknownMention) => error_page(&state, Some(&session), ErrorPage::not_found()),
        // A withdrawal's reason was checked above, and any pair may be withdrawn.
        Ok(Stored::Refused(refusal)) => {
            let seq = form.seq.trim().parse().unwrap_or(0);
            decisions_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                false,
                Some((seq, refusal.to_string(), form.reason)),
            )
            .await
        }
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waterfall_bars_scale_to_the_largest_weight_and_say_the_direction() {
        let fields = vec![
            FieldEvidence {
                field: "dob".to_owned(),
                level: "exact".to_owned(),
                weight: 8.0,
            },
            FieldEvidence {
                field: "postcode".to_owned(),
                level: "else".to_owned(),
                weight: -4.0,
            },
            FieldEvidence {
                field: "nhs_number".to_owned(),
                level: "null".to_owned(),
                weight: 0.0,
            },
        ];
        let rows = waterfall(-2.0, &fields);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].field, "Before comparing");
        assert_eq!(rows[0].direction, "against");
        assert_eq!(rows[1].direction, "for");
        assert_eq!(rows[1].weight, "+8.0");
        assert_eq!(rows[1].bar_x, "120.0");
        assert_eq!(rows[1].bar_width, "120.0");
        assert_eq!(rows[2].weight, "\u{2212}4.0");
        assert_eq!(rows[2].bar_x, "60.0");
        assert_eq!(rows[2].bar_width, "60.0");
        assert_eq!(rows[3].direction, "neutral");
        assert_eq!(rows[3].bar_width, "0.0");
    }

    #[test]
    fn a_non_finite_weight_draws_no_bar() {
        let fields = vec![FieldEvidence {
            field: "dob".to_owned(),
            level: "exact".to_owned(),
            weight: f64::NAN,
        }];
        let rows = waterfall(f64::INFINITY, &fields);
        assert!(rows.iter().all(|row| row.bar_width == "0.0"));
    }

    #[test]
    fn reasons_are_a_sentence_and_bounded() {
        let check = persons::check_decision_reason;
        let max = sightline_store::DECISION_REASON_BYTES_MAX;
        assert_eq!(check("   "), Err(DecisionRefusal::EmptyReason));
        assert_eq!(check(" same "), Err(DecisionRefusal::ReasonTooShort));
        assert_eq!(
            check(" Same school, same address, checked by phone ").unwrap(),
            "Same school, same address, checked by phone"
        );
        assert_eq!(
            check(&"x".repeat(max + 1)),
            Err(DecisionRefusal::ReasonTooLong)
        );
        assert!(check(&"x".repeat(max)).is_ok());
    }

    #[test]
    fn page_numbers_are_clamped() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("-3")), 1);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("4")), 4);
        assert_eq!(page_number(Some("99999999999")), persons::REVIEW_PAIRS_MAX);
    }
}
