//! The evaluator: a pack over a child's picture as of a logical time.
//!
//! Evaluation is a sweep over the events in arrival order (`recorded_at`, then the
//! evidence ref), stopping at `now`. Each arriving event is tested at the moment it
//! arrived, knowing only what was recorded by then; a pattern fires at the moment
//! the event that completes it arrives. Clocks fire at the moment their deadline
//! passed, unless a record meeting them had arrived by then. So the firings known at
//! time T are exactly the firings of the sweep up to T: evaluating once at the end
//! gives the same firings, with the same `raised_at`, as evaluating after every
//! record.

use crate::ast::*;
use crate::calendar::Span;
use crate::model::{ChildPicture, Event, EvidenceRef, PersonAround, Subject};
use crate::render::{RenderContext, render};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sightline_core::{AttributeValue, Attributes, FindingCode, Kind};
use std::collections::{BTreeMap, BTreeSet};

/// Whom a firing goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    AllocatedWorker(String),
    AllocatedTeam(String),
    DutyTeam,
    HealthSafeguardingLead,
    PoliceSafeguarding,
    TeamManager,
}

/// The dates a firing covers, for deduplication: from its earliest evidence to its
/// latest plus the rule's `group` span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateWindow {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateWindow {
    pub fn overlaps(&self, other: &DateWindow) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// What identifies an alert a firing may belong to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    pub rule_id: String,
    pub child_id: String,
    /// The person around the child a person rule fired about.
    pub person_id: Option<String>,
    pub window: DateWindow,
}

impl DedupKey {
    /// Whether a firing with key `other` belongs to the same alert as this one: the
    /// same rule and child, and overlapping windows. The caller then adds the
    /// firing's evidence to the open alert instead of opening a new one. One rule
    /// firing many times on one child is one alert that gains evidence: a person
    /// rule's firings about different people around the child join one alert too
    /// (the alert keeps the first person's id and explanation; the others'
    /// records are its evidence).
    pub fn matches(&self, other: &DedupKey) -> bool {
        self.rule_id == other.rule_id
            && self.child_id == other.child_id
            && self.window.overlaps(&other.window)
    }
}

/// A rule that became true for a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub rule_id: String,
    pub pack_name: String,
    pub pack_version: String,
    pub child_id: String,
    pub person_id: Option<String>,
    pub severity: Severity,
    pub title: String,
    /// Plain words naming the evidence.
    pub explanation: String,
    pub citation: String,
    pub route: Route,
    /// The record versions the firing rests on, sorted.
    pub evidence: Vec<EvidenceRef>,
    /// The logical time the rule became true.
    pub raised_at: DateTime<Utc>,
    pub window: DateWindow,
}

impl Firing {
    pub fn dedup_key(&self) -> DedupKey {
        DedupKey {
            rule_id: self.rule_id.clone(),
            child_id: self.child_id.clone(),
            person_id: self.person_id.clone(),
            window: self.window,
        }
    }
}

/// The most firings one evaluation returns; a picture that would produce more is
/// cut short (the earliest are kept) rather than flooding the queue.
pub const FIRINGS_MAX: usize = 10_000;

// ---------------------------------------------------------------------------
// The picture as the sweep sees it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Start(PlanState),
    End(PlanState),
    Removed,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct StateChange {
    pub arrival: usize,
    pub date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub change: Change,
}

/// A version of a record and when it arrived.
type VersionArrival = (i64, DateTime<Utc>);

/// The events recorded by `now`, and what is derived from them once.
pub(crate) struct View<'p> {
    pub picture: &'p ChildPicture,
    pub events: &'p [Event],
    /// When a higher version of each event's record arrived, if it has.
    superseded_at: Vec<Option<DateTime<Utc>>>,
    /// Changes of the child's social care status, sorted by (date, arrival).
    pub state_changes: Vec<StateChange>,
    /// Arrivals of events recording the child as not independently mobile.
    not_mobile: Vec<usize>,
    /// Per arrival: which facts other records' conditions read the event
    /// establishes (see [`Facts`]).
    facts: Vec<Facts>,
}

/// Kinds of fact one record can establish about others, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Facts(u8);

impl Facts {
    const PLAN: Facts = Facts(1);
    const MOBILITY: Facts = Facts(2);
    const LINKS: Facts = Facts(4);

    fn with(self, other: Facts) -> Facts {
        Facts(self.0 | other.0)
    }

    fn intersects(self, other: Facts) -> bool {
        self.0 & other.0 != 0
    }
}

fn state_changes_of(event: &Event) -> Vec<Change> {
    if !event.concerns_child() {
        return Vec::new();
    }
    let outcome = &event.outcome;
    match event.kind {
        Kind::SocialCarePlan => {
            let Some(state) = outcome.text("plan").and_then(PlanState::parse) else {
                return Vec::new();
            };
            if outcome.text("status") == Some("end") {
                vec![Change::End(state)]
            } else {
                vec![Change::Start(state)]
            }
        }
        Kind::SocialCareConference => match outcome.text("plan") {
            Some("start" | "continue") => vec![Change::Start(PlanState::ChildProtection)],
            Some("end") => vec![Change::End(PlanState::ChildProtection)],
            _ => Vec::new(),
        },
        Kind::SocialCarePlacement => {
            let starts = outcome.text("status") != Some("end");
            let away = outcome
                .text("placement_type")
                .is_some_and(|placement| placement != "parent");
            if starts && away {
                vec![Change::Removed]
            } else {
                Vec::new()
            }
        }
        Kind::SocialCareCaseClosed => vec![
            Change::End(PlanState::ChildProtection),
            Change::End(PlanState::ChildInNeed),
        ],
        _ => Vec::new(),
    }
}

impl<'p> View<'p> {
    pub fn new(picture: &'p ChildPicture, now: DateTime<Utc>) -> View<'p> {
        let all = picture.events();
        let n_known = all.partition_point(|event| event.recorded_at <= now);
        let events = &all[..n_known];
        // Per record: the versions seen, to find each version's successor once.
        let mut versions: BTreeMap<(&str, &str), Vec<VersionArrival>> = BTreeMap::new();
        for event in events {
            versions
                .entry((&event.evidence.agency, &event.evidence.record_id))
                .or_default()
                .push((event.evidence.version, event.recorded_at));
        }
        let superseded_at = events
            .iter()
            .map(|event| {
                versions
                    .get(&(
                        event.evidence.agency.as_str(),
                        event.evidence.record_id.as_str(),
                    ))
                    .and_then(|known| {
                        known
                            .iter()
                            .filter(|(version, _)| *version > event.evidence.version)
                            .map(|(_, recorded_at)| *recorded_at)
                            .min()
                    })
            })
            .collect();
        let mut state_changes = Vec::new();
        for (arrival, event) in events.iter().enumerate() {
            for change in state_changes_of(event) {
                state_changes.push(StateChange {
                    arrival,
                    date: event.occurred,
                    recorded_at: event.recorded_at,
                    change,
                });
            }
        }
        state_changes.sort_by_key(|change| (change.date, change.arrival));
        let not_mobile: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, event)| {
                event.findings.iter().any(|finding| {
                    finding.code == FindingCode::NotIndependentlyMobile && finding.about_child()
                })
            })
            .map(|(idx, _)| idx)
            .collect();
        let mut facts: Vec<Facts> = events
            .iter()
            .map(|event| {
                if event.people.is_empty() {
                    Facts::default()
                } else {
                    Facts::LINKS
                }
            })
            .collect();
        for change in &state_changes {
            if let Some(fact) = facts.get_mut(change.arrival) {
                *fact = fact.with(Facts::PLAN);
            }
        }
        for idx in &not_mobile {
            if let Some(fact) = facts.get_mut(*idx) {
                *fact = fact.with(Facts::MOBILITY);
            }
        }
        View {
            picture,
            events,
            superseded_at,
            state_changes,
            not_mobile,
            facts,
        }
    }

    /// Which facts about others event `idx` establishes: a change of plan, a
    /// mobility finding, people (links).
    fn facts(&self, idx: usize) -> Facts {
        self.facts.get(idx).copied().unwrap_or_default()
    }

    fn superseded(&self, idx: usize, moment: DateTime<Utc>) -> bool {
        self.superseded_at
            .get(idx)
            .copied()
            .flatten()
            .is_some_and(|at| at <= moment)
    }

    /// The child's states on `date` as known at `moment`, with the arrival of the
    /// change that started each.
    pub fn states_at(&self, date: NaiveDate, moment: DateTime<Utc>) -> Vec<(PlanState, usize)> {
        let mut states: Vec<(PlanState, usize)> = Vec::new();
        for change in &self.state_changes {
            if change.date > date {
                break;
            }
            if change.recorded_at > moment {
                continue;
            }
            match change.change {
                Change::Start(state) => {
                    if !states.iter().any(|(known, _)| *known == state) {
                        states.push((state, change.arrival));
                    }
                }
                Change::End(state) => states.retain(|(known, _)| *known != state),
                Change::Removed => {}
            }
        }
        states
    }

    fn ever(&self, history: History, date: NaiveDate, moment: DateTime<Utc>) -> Option<usize> {
        self.state_changes
            .iter()
            .filter(|change| change.date <= date && change.recorded_at <= moment)
            .find(|change| match (history, change.change) {
                (History::Removed, Change::Removed) => true,
                (History::Plan(wanted), Change::Start(state)) => wanted == state,
                _ => false,
            })
            .map(|change| change.arrival)
    }

    /// Whether the child was recorded as not independently mobile within 60 days of
    /// `date`, by a record known at `moment`.
    pub fn not_mobile_near(&self, date: NaiveDate, moment: DateTime<Utc>) -> bool {
        let margin = Span::new(60, crate::calendar::SpanUnit::Days);
        self.not_mobile.iter().any(|idx| {
            self.events.get(*idx).is_some_and(|event| {
                event.recorded_at <= moment
                    && event.occurred >= margin.before(date)
                    && event.occurred <= margin.after(date)
            })
        })
    }
}

// ---------------------------------------------------------------------------
// Conditions.

fn value_matches(actual: &AttributeValue, expected: &Value) -> bool {
    match (actual, expected) {
        (AttributeValue::Bool(actual), Value::Bool(expected)) => actual == expected,
        (AttributeValue::Int(actual), Value::Int(expected)) => actual == expected,
        (AttributeValue::Enum(actual), Value::Word(expected)) => actual == expected,
        (AttributeValue::Text(actual), Value::Word(expected)) => actual == expected,
        (AttributeValue::Date(actual), Value::Word(expected)) => actual.to_string() == *expected,
        _ => false,
    }
}

/// A comparison with a missing attribute is false (except `exists`, which is the
/// test for it).
fn attribute_holds(attributes: &Attributes, condition: &AttributeCondition) -> bool {
    let Some(actual) = attributes.get(condition.name) else {
        return false;
    };
    let first = condition.values.first();
    match condition.comparison {
        Comparison::Exists => true,
        Comparison::Eq => first.is_some_and(|value| value_matches(actual, value)),
        Comparison::Ne => first.is_some_and(|value| !value_matches(actual, value)),
        Comparison::In => condition
            .values
            .iter()
            .any(|value| value_matches(actual, value)),
        Comparison::NotIn => !condition
            .values
            .iter()
            .any(|value| value_matches(actual, value)),
        Comparison::Lt | Comparison::Le | Comparison::Gt | Comparison::Ge => {
            let (AttributeValue::Int(actual), Some(Value::Int(expected))) = (actual, first) else {
                return false;
            };
            match condition.comparison {
                Comparison::Lt => actual < expected,
                Comparison::Le => actual <= expected,
                Comparison::Gt => actual > expected,
                _ => actual >= expected,
            }
        }
    }
}

/// `child.age OP SPAN` on `date`. The youngest the child could be is used when the
/// date of birth is partial, so an imprecise date never hides a young child; an
/// unknown date of birth satisfies no age test.
pub(crate) fn child_age_holds(
    picture: &ChildPicture,
    date: NaiveDate,
    comparison: Comparison,
    span: Span,
) -> bool {
    let Some(dob) = picture.child.dob else {
        return false;
    };
    let threshold = span.after(dob.latest());
    match comparison {
        Comparison::Lt => date < threshold,
        Comparison::Le => date <= threshold,
        Comparison::Gt => date > threshold,
        Comparison::Ge => date >= threshold,
        _ => false,
    }
}

/// The event an event condition is tested on, and when.
#[derive(Clone, Copy)]
pub(crate) struct EventContext<'v, 'p> {
    pub view: &'v View<'p>,
    pub idx: usize,
    pub moment: DateTime<Utc>,
    /// The record that started the clock, for `same_record`.
    pub clock_start: Option<&'v EvidenceRef>,
}

impl EventContext<'_, '_> {
    fn event(&self) -> Option<&Event> {
        self.view.events.get(self.idx)
    }
}

fn eval_event(expr: &Expr, context: EventContext<'_, '_>) -> bool {
    match expr {
        Expr::Atom(atom) => eval_event_atom(atom, context),
        Expr::Not(inner) => !eval_event(inner, context),
        Expr::And(parts) => parts.iter().all(|part| eval_event(part, context)),
        Expr::Or(parts) => parts.iter().any(|part| eval_event(part, context)),
    }
}

fn eval_event_atom(atom: &Atom, context: EventContext<'_, '_>) -> bool {
    let Some(event) = context.event() else {
        return false;
    };
    let view = context.view;
    match atom {
        Atom::KindIn(kinds) => kinds.contains(&event.kind),
        Atom::AgencyTypeIn(types) => types.contains(&event.agency_type),
        Atom::Has {
            code,
            about,
            conditions,
        } => event.findings.iter().any(|finding| {
            let about_ok = match about {
                About::Child => finding.about_child(),
                About::Anyone => true,
                About::Others => finding
                    .subjects
                    .iter()
                    .any(|subject| *subject != Subject::Child),
            };
            finding.code == *code
                && about_ok
                && conditions
                    .iter()
                    .all(|condition| attribute_holds(&finding.attributes, condition))
        }),
        Atom::Outcome(condition) => attribute_holds(&event.outcome, condition),
        Atom::ChildAge { comparison, span } => {
            child_age_holds(view.picture, event.occurred, *comparison, *span)
        }
        Atom::ChildNotMobile => view.not_mobile_near(event.occurred, context.moment),
        Atom::ChildPresent => event.child_role.is_some(),
        Atom::ChildRoleIn(roles) => event.child_role.is_some_and(|role| roles.contains(&role)),
        Atom::ChildPlanIn(states) => view
            .states_at(event.occurred, context.moment)
            .iter()
            .any(|(state, _)| states.contains(state)),
        Atom::ChildEverIn(histories) => histories.iter().any(|history| {
            view.ever(*history, event.occurred, context.moment)
                .is_some()
        }),
        Atom::SameRecord => context
            .clock_start
            .is_some_and(|start| start.same_record(&event.evidence)),
        Atom::SubjectLinkIn(connections) => event
            .people
            .iter()
            .filter(|person| person.role == sightline_core::Role::Subject)
            .filter_map(|person| view.picture.person(&person.person_id))
            .any(|person| {
                person.links.iter().any(|link| {
                    link.recorded_at <= context.moment && connections.contains(&link.connection)
                })
            }),
        Atom::SubjectOffenceAgainstChild => event
            .people
            .iter()
            .filter(|person| person.role == sightline_core::Role::Subject)
            .filter_map(|person| view.picture.person(&person.person_id))
            .any(|person| {
                person
                    .offences
                    .iter()
                    .any(|offence| offence.recorded_at <= context.moment && offence.against_child())
            }),
        Atom::PersonLinkIn(_)
        | Atom::PersonKnownToSocialCare
        | Atom::PersonOffenceIn(_)
        | Atom::PersonOffenceAgainstChild
        | Atom::PersonReleasedWithin(_)
        | Atom::PersonAdult => false,
    }
}

/// Whether a record could match once more is known: `expr` in three-valued logic,
/// with every atom that reads facts in `unknown` taken as unknown. `Some(false)`
/// means no later record can make it match.
fn could_match_later(expr: &Expr, context: EventContext<'_, '_>, unknown: Facts) -> Option<bool> {
    match expr {
        Expr::Atom(atom) => {
            let reads = match atom {
                Atom::ChildPlanIn(_) | Atom::ChildEverIn(_) => Facts::PLAN,
                Atom::ChildNotMobile => Facts::MOBILITY,
                // An offence is recorded by a record naming the person, which
                // establishes links too.
                Atom::SubjectLinkIn(_) | Atom::SubjectOffenceAgainstChild => Facts::LINKS,
                _ => Facts::default(),
            };
            if reads.intersects(unknown) {
                None
            } else {
                Some(eval_event_atom(atom, context))
            }
        }
        Expr::Not(inner) => could_match_later(inner, context, unknown).map(|value| !value),
        Expr::And(parts) => {
            let mut result = Some(true);
            for part in parts {
                match could_match_later(part, context, unknown) {
                    Some(false) => return Some(false),
                    None => result = None,
                    Some(true) => {}
                }
            }
            result
        }
        Expr::Or(parts) => {
            let mut result = Some(false);
            for part in parts {
                match could_match_later(part, context, unknown) {
                    Some(true) => return Some(true),
                    None => result = None,
                    Some(false) => {}
                }
            }
            result
        }
    }
}

/// A person around the child, tested at a moment.
#[derive(Clone, Copy)]
pub(crate) struct PersonContext<'v, 'p> {
    pub view: &'v View<'p>,
    pub person: &'p PersonAround,
    pub moment: DateTime<Utc>,
}

fn eval_person(expr: &Expr, context: PersonContext<'_, '_>) -> bool {
    match expr {
        Expr::Atom(atom) => eval_person_atom(atom, context),
        Expr::Not(inner) => !eval_person(inner, context),
        Expr::And(parts) => parts.iter().all(|part| eval_person(part, context)),
        Expr::Or(parts) => parts.iter().any(|part| eval_person(part, context)),
    }
}

fn eval_person_atom(atom: &Atom, context: PersonContext<'_, '_>) -> bool {
    let person = context.person;
    let moment = context.moment;
    let date = moment.date_naive();
    match atom {
        Atom::PersonLinkIn(connections) => person
            .links
            .iter()
            .any(|link| link.recorded_at <= moment && connections.contains(&link.connection)),
        Atom::PersonKnownToSocialCare => person
            .known_to_social_care_since
            .is_some_and(|since| since <= moment),
        Atom::PersonOffenceIn(categories) => person
            .offences
            .iter()
            .any(|offence| offence.recorded_at <= moment && categories.contains(&offence.category)),
        Atom::PersonOffenceAgainstChild => person
            .offences
            .iter()
            .any(|offence| offence.recorded_at <= moment && offence.against_child()),
        Atom::PersonReleasedWithin(span) => person.releases.iter().any(|release| {
            release.recorded_at <= moment
                && release.occurred >= span.before(date)
                && release.occurred <= date
        }),
        Atom::PersonAdult => match person.dob {
            None => true,
            Some(dob) => {
                date >= Span::new(18, crate::calendar::SpanUnit::Years).after(dob.earliest())
            }
        },
        Atom::ChildAge { comparison, span } => {
            child_age_holds(context.view.picture, date, *comparison, *span)
        }
        Atom::ChildPlanIn(states) => context
            .view
            .states_at(date, moment)
            .iter()
            .any(|(state, _)| states.contains(state)),
        Atom::ChildEverIn(histories) => histories
            .iter()
            .any(|history| context.view.ever(*history, date, moment).is_some()),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Rules.

fn in_scope(scope: Scope, event: &Event) -> bool {
    match scope {
        Scope::Child => event.concerns_child(),
        Scope::Household => true,
    }
}

fn resolve_route(rule: &Rule, picture: &ChildPicture) -> Route {
    for target in &rule.route {
        let route = match target {
            RouteTarget::AllocatedWorker => picture
                .child
                .allocated_worker
                .clone()
                .map(Route::AllocatedWorker),
            RouteTarget::AllocatedTeam => picture
                .child
                .allocated_team
                .clone()
                .map(Route::AllocatedTeam),
            RouteTarget::DutyTeam => Some(Route::DutyTeam),
            RouteTarget::HealthSafeguardingLead => Some(Route::HealthSafeguardingLead),
            RouteTarget::PoliceSafeguarding => Some(Route::PoliceSafeguarding),
            RouteTarget::TeamManager => Some(Route::TeamManager),
        };
        if let Some(route) = route {
            return route;
        }
    }
    Route::DutyTeam
}

/// Everything needed to emit one firing.
struct Emit<'a> {
    rule: &'a Rule,
    pack: &'a Pack,
    severity: Severity,
    evidence_idx: Vec<usize>,
    extra_evidence: Vec<EvidenceRef>,
    raised_at: DateTime<Utc>,
    window_start: NaiveDate,
    window_last: NaiveDate,
    render: RenderContext<'a>,
    person_id: Option<String>,
}

fn emit(view: &View<'_>, emit: Emit<'_>) -> Firing {
    let mut evidence: BTreeSet<EvidenceRef> = emit
        .evidence_idx
        .iter()
        .filter_map(|idx| view.events.get(*idx))
        .map(|event| event.evidence.clone())
        .collect();
    evidence.extend(emit.extra_evidence);
    let explanation = render(&emit.rule.explain, view, &emit.render);
    Firing {
        rule_id: emit.rule.id.clone(),
        pack_name: emit.pack.name.clone(),
        pack_version: emit.pack.version.clone(),
        child_id: view.picture.child.person_id.clone(),
        person_id: emit.person_id,
        severity: emit.severity,
        title: emit.rule.title.clone(),
        explanation,
        citation: emit.rule.cite.clone(),
        route: resolve_route(emit.rule, view.picture),
        evidence: evidence.into_iter().collect(),
        raised_at: emit.raised_at,
        window: DateWindow {
            start: emit.window_start,
            end: emit.rule.group.after(emit.window_last),
        },
    }
}

/// The key a `from at least` clause counts distinct values of.
fn distinct_value(event: &Event, key: DistinctKey) -> String {
    match key {
        DistinctKey::Agency => event.agency().to_owned(),
        DistinctKey::AgencyType => event.agency_type.as_str().to_owned(),
        DistinctKey::Source => {
            let referrer = event
                .outcome
                .text("referrer_agency")
                .unwrap_or(event.agency());
            let by = event
                .findings
                .iter()
                .find(|finding| finding.code == FindingCode::Allegation)
                .and_then(|finding| finding.attributes.text("by"))
                .unwrap_or("");
            format!("{referrer}|{by}")
        }
    }
}

/// The first window of length `within` holding the trigger and enough matching
/// events (and distinct values), as arrival indexes.
fn find_window(
    view: &View<'_>,
    matched: &BTreeSet<(NaiveDate, usize)>,
    trigger: usize,
    moment: DateTime<Utc>,
    count: CountClause,
    distinct: Option<DistinctClause>,
) -> Option<Vec<usize>> {
    let trigger_date = view.events.get(trigger)?.occurred;
    let lowest = count.within.before(trigger_date);
    let highest = count.within.after(trigger_date);
    let candidates: Vec<(NaiveDate, usize)> = matched
        .range((lowest, 0)..=(highest, usize::MAX))
        .copied()
        .filter(|(_, idx)| *idx == trigger || !view.superseded(*idx, moment))
        .collect();
    for (start, _) in candidates.iter().filter(|(date, _)| *date <= trigger_date) {
        let end = count.within.after(*start);
        if end < trigger_date {
            continue;
        }
        let members: Vec<usize> = candidates
            .iter()
            .filter(|(date, _)| date >= start && *date <= end)
            .map(|(_, idx)| *idx)
            .collect();
        if members.len() < count.n_min as usize {
            continue;
        }
        if let Some(distinct) = distinct {
            let values: BTreeSet<String> = members
                .iter()
                .filter_map(|idx| view.events.get(*idx))
                .map(|event| distinct_value(event, distinct.key))
                .collect();
            if values.len() < distinct.n_min as usize {
                continue;
            }
        }
        return Some(members);
    }
    None
}

/// The arrivals of the state changes that make `child.plan`/`child.ever` true, for
/// evidence.
fn state_evidence(
    view: &View<'_>,
    expr: &Expr,
    date: NaiveDate,
    moment: DateTime<Utc>,
) -> Vec<usize> {
    let mut arrivals = Vec::new();
    let mentions_plan = expr.mentions(&|atom| matches!(atom, Atom::ChildPlanIn(_)));
    if mentions_plan {
        arrivals.extend(
            view.states_at(date, moment)
                .into_iter()
                .map(|(_, arrival)| arrival),
        );
    }
    let mut histories = Vec::new();
    collect_histories(expr, &mut histories);
    for history in histories {
        arrivals.extend(view.ever(history, date, moment));
    }
    arrivals
}

fn collect_histories(expr: &Expr, out: &mut Vec<History>) {
    match expr {
        Expr::Atom(Atom::ChildEverIn(list)) => out.extend(list.iter().copied()),
        Expr::Atom(_) => {}
        Expr::Not(inner) => collect_histories(inner, out),
        Expr::And(parts) | Expr::Or(parts) => {
            for part in parts {
                collect_histories(part, out);
            }
        }
    }
}

fn severity_for(rule: &Rule, holds: &dyn Fn(&Expr) -> bool) -> Severity {
    rule.raises
        .iter()
        .filter(|raise| holds(&raise.when))
        .map(|raise| raise.severity)
        .fold(rule.severity, Severity::max)
}

/// An event rule's parts, borrowed from the pack.
struct EventRule<'a> {
    pack: &'a Pack,
    rule: &'a Rule,
    matcher: &'a Expr,
    count: Option<CountClause>,
    distinct: Option<DistinctClause>,
    earlier: Option<&'a EarlierClause>,
}

/// The most records an event rule keeps for re-testing when later records change
/// what was known about them (oldest dropped first).
const PENDING_MAX: usize = 2_000;

impl EventRule<'_> {
    /// The facts other records establish that the rule's `match` reads (the
    /// child's plans, mobility, a subject's links): a later record establishing
    /// one can make an earlier record match.
    fn facts_read(&self) -> Facts {
        let mut facts = Facts::default();
        let reads = |test: &dyn Fn(&Atom) -> bool| self.matcher.mentions(test);
        if reads(&|atom| matches!(atom, Atom::ChildPlanIn(_) | Atom::ChildEverIn(_))) {
            facts = facts.with(Facts::PLAN);
        }
        if reads(&|atom| matches!(atom, Atom::ChildNotMobile)) {
            facts = facts.with(Facts::MOBILITY);
        }
        if reads(&|atom| {
            matches!(
                atom,
                Atom::SubjectLinkIn(_) | Atom::SubjectOffenceAgainstChild
            )
        }) {
            facts = facts.with(Facts::LINKS);
        }
        facts
    }

    fn evaluate(&self, view: &View<'_>, firings: &mut Vec<Firing>) {
        let mut matched: BTreeSet<(NaiveDate, usize)> = BTreeSet::new();
        let mut earlier_matched: BTreeSet<(NaiveDate, usize)> = BTreeSet::new();
        let facts_read = self.facts_read();
        let retest = facts_read != Facts::default();
        let mut pending: Vec<usize> = Vec::new();
        for (idx, event) in view.events.iter().enumerate() {
            let moment = event.recorded_at;
            let context = EventContext {
                view,
                idx,
                moment,
                clock_start: None,
            };
            let scoped = in_scope(self.rule.scope, event);
            let is_match = scoped && eval_event(self.matcher, context);
            let is_earlier = scoped
                && self
                    .earlier
                    .is_some_and(|clause| eval_event(&clause.matcher, context));
            if is_match {
                matched.insert((event.occurred, idx));
                if let Some(firing) = self.try_firing(view, idx, moment, &matched, &earlier_matched)
                {
                    firings.push(firing);
                }
            }
            if is_earlier {
                earlier_matched.insert((event.occurred, idx));
            }
            if !retest {
                continue;
            }
            // A record that changes what is known about others (a plan dated
            // earlier, a mobility finding, a link) may complete an earlier pattern
            // now: the pattern fires at this record's arrival.
            let facts_here = view.facts(idx);
            if facts_here.intersects(facts_read) {
                // New links matter only to records naming one of the same people.
                let links_only = !facts_here.intersects(Facts::PLAN.with(Facts::MOBILITY));
                let mut still_pending = Vec::with_capacity(pending.len());
                for earlier_idx in std::mem::take(&mut pending) {
                    if view.superseded(earlier_idx, moment) {
                        continue;
                    }
                    let shares_a_person = || {
                        view.events.get(earlier_idx).is_some_and(|earlier| {
                            earlier.people.iter().any(|person| {
                                event
                                    .people
                                    .iter()
                                    .any(|other| other.person_id == person.person_id)
                            })
                        })
                    };
                    if links_only && !shares_a_person() {
                        still_pending.push(earlier_idx);
                        continue;
                    }
                    let earlier_context = EventContext {
                        idx: earlier_idx,
                        ..context
                    };
                    if !eval_event(self.matcher, earlier_context) {
                        still_pending.push(earlier_idx);
                        continue;
                    }
                    let Some(earlier_event) = view.events.get(earlier_idx) else {
                        continue;
                    };
                    matched.insert((earlier_event.occurred, earlier_idx));
                    if let Some(firing) =
                        self.try_firing(view, earlier_idx, moment, &matched, &earlier_matched)
                    {
                        firings.push(firing);
                    }
                }
                pending = still_pending;
            }
            if scoped
                && !is_match
                && could_match_later(self.matcher, context, facts_read) != Some(false)
            {
                if pending.len() >= PENDING_MAX {
                    pending.remove(0);
                }
                pending.push(idx);
            }
        }
    }

    /// The firing event `idx` completes at `moment` (its arrival, or the arrival of
    /// a record that made it match), if any.
    fn try_firing(
        &self,
        view: &View<'_>,
        idx: usize,
        moment: DateTime<Utc>,
        matched: &BTreeSet<(NaiveDate, usize)>,
        earlier_matched: &BTreeSet<(NaiveDate, usize)>,
    ) -> Option<Firing> {
        let (pack, rule, matcher) = (self.pack, self.rule, self.matcher);
        let (count, distinct, earlier) = (self.count, self.distinct, self.earlier);
        let event = view.events.get(idx)?;
        let mut evidence = vec![idx];
        if let Some(count) = count {
            evidence = find_window(view, matched, idx, moment, count, distinct)?;
        }
        if let Some(clause) = earlier {
            let lowest = clause.within.before(event.occurred);
            let earlier_idx: Vec<usize> = earlier_matched
                .range((lowest, 0)..=(event.occurred, usize::MAX))
                .map(|(_, other)| *other)
                .filter(|other| !view.superseded(*other, moment))
                .filter(|other| {
                    view.events
                        .get(*other)
                        .is_some_and(|other| !other.evidence.same_record(&event.evidence))
                })
                .collect();
            if earlier_idx.len() < clause.n_min as usize {
                return None;
            }
            evidence.extend(earlier_idx);
        }
        let context = EventContext {
            view,
            idx,
            moment,
            clock_start: None,
        };
        let severity = severity_for(rule, &|expr| eval_event(expr, context));
        let n_pattern = evidence.len();
        evidence.extend(state_evidence(view, matcher, event.occurred, moment));
        evidence.sort_unstable();
        evidence.dedup();
        let dates = evidence
            .iter()
            .filter_map(|other| view.events.get(*other))
            .map(|other| other.occurred);
        let window_start = dates
            .clone()
            .min()
            .unwrap_or(event.occurred)
            .min(event.occurred);
        let window_last = dates.max().unwrap_or(event.occurred).max(event.occurred);
        let window = count
            .map(|count| count.within)
            .or(earlier.map(|clause| clause.within));
        Some(emit(
            view,
            Emit {
                rule,
                pack,
                severity,
                evidence_idx: evidence.clone(),
                extra_evidence: Vec::new(),
                raised_at: moment,
                window_start,
                window_last,
                render: RenderContext {
                    trigger: Some(idx),
                    evidence_idx: evidence,
                    n_pattern,
                    window,
                    moment,
                    person: None,
                    clock: None,
                },
                person_id: None,
            },
        ))
    }
}

fn evaluate_person_rule(
    pack: &Pack,
    rule: &Rule,
    view: &View<'_>,
    matcher: &Expr,
    now: DateTime<Utc>,
    firings: &mut Vec<Firing>,
) {
    let state_moments: Vec<DateTime<Utc>> = view
        .state_changes
        .iter()
        .map(|change| change.recorded_at)
        .collect();
    for person in view.picture.people() {
        let mut moments: Vec<DateTime<Utc>> = state_moments.clone();
        moments.extend(person.links.iter().map(|link| link.recorded_at));
        moments.extend(person.offences.iter().map(|offence| offence.recorded_at));
        moments.extend(person.releases.iter().map(|release| release.recorded_at));
        moments.extend(person.known_to_social_care_since);
        moments.retain(|moment| *moment <= now);
        moments.sort_unstable();
        moments.dedup();
        let mut was_true = false;
        for moment in moments {
            let context = PersonContext {
                view,
                person,
                moment,
            };
            let is_true = eval_person(matcher, context);
            if is_true && !was_true {
                firings.push(person_firing(pack, rule, view, matcher, context));
            }
            was_true = is_true;
        }
    }
}

fn person_firing(
    pack: &Pack,
    rule: &Rule,
    view: &View<'_>,
    matcher: &Expr,
    context: PersonContext<'_, '_>,
) -> Firing {
    let person = context.person;
    let moment = context.moment;
    let date = moment.date_naive();
    let mut extra: Vec<EvidenceRef> = person
        .links
        .iter()
        .filter(|link| link.recorded_at <= moment)
        .map(|link| link.evidence.clone())
        .collect();
    let mentions_offence = matcher.mentions(&|atom| {
        matches!(
            atom,
            Atom::PersonOffenceIn(_) | Atom::PersonOffenceAgainstChild
        )
    }) || rule.raises.iter().any(|raise| {
        raise.when.mentions(&|atom| {
            matches!(
                atom,
                Atom::PersonOffenceIn(_) | Atom::PersonOffenceAgainstChild
            )
        })
    });
    if mentions_offence {
        extra.extend(
            person
                .offences
                .iter()
                .filter(|offence| offence.recorded_at <= moment)
                .map(|offence| offence.evidence.clone()),
        );
    }
    if matcher.mentions(&|atom| matches!(atom, Atom::PersonReleasedWithin(_))) {
        extra.extend(
            person
                .releases
                .iter()
                .filter(|release| release.recorded_at <= moment)
                .map(|release| release.evidence.clone()),
        );
    }
    let state_idx = state_evidence(view, matcher, date, moment);
    let severity = severity_for(rule, &|expr| eval_person(expr, context));
    emit(
        view,
        Emit {
            rule,
            pack,
            severity,
            evidence_idx: state_idx.clone(),
            extra_evidence: extra,
            raised_at: moment,
            window_start: date,
            window_last: date,
            render: RenderContext {
                trigger: None,
                evidence_idx: state_idx,
                n_pattern: 0,
                window: None,
                moment,
                person: Some(person),
                clock: None,
            },
            person_id: Some(person.person_id.clone()),
        },
    )
}

/// A running clock.
#[derive(Debug, Clone)]
struct Chain {
    start: usize,
    anchor: NaiveDate,
    period: Span,
    known_at: DateTime<Utc>,
    last_met: Option<usize>,
    /// The ledger's report of this chain's latest period that went overdue and
    /// has not been met, stopped or superseded since (repeating clocks only;
    /// only when a ledger is kept).
    open_overdue: Option<usize>,
}

/// The first instant after the end of `date` (UTC midnight).
fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    match date.succ_opt() {
        Some(next) => Utc.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN)),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

impl Chain {
    fn deadline(&self) -> NaiveDate {
        self.period.after(self.anchor)
    }

    /// The moment the deadline passed, or the moment the clock became known if
    /// that was later (a late-recorded start is overdue on arrival).
    fn overdue_at(&self) -> DateTime<Utc> {
        end_of_day(self.deadline()).max(self.known_at)
    }
}

/// Information a clock firing's explanation can name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClockInfo {
    pub deadline: NaiveDate,
    pub due: Span,
    pub since: NaiveDate,
    pub last: Option<NaiveDate>,
}

/// The most times one clock fires in one evaluation (a repeating clock left unmet
/// for decades stops here).
const CLOCK_FIRINGS_MAX: usize = 1_000;

struct ClockRule<'a> {
    pack: &'a Pack,
    rule: &'a Rule,
    start: &'a ClockStart,
    due: Span,
    met: &'a Expr,
    repeat: Option<Span>,
    reset: Option<&'a Expr>,
    cancel: Option<&'a Expr>,
}

impl<'a> ClockRule<'a> {
    /// The clock of a clock rule; `None` for other rules.
    fn of(pack: &'a Pack, rule: &'a Rule) -> Option<ClockRule<'a>> {
        let Body::Clock {
            start,
            due,
            met,
            repeat,
            reset,
            cancel,
        } = &rule.body
        else {
            return None;
        };
        Some(ClockRule {
            pack,
            rule,
            start,
            due: *due,
            met,
            repeat: *repeat,
            reset: reset.as_ref(),
            cancel: cancel.as_ref(),
        })
    }

    fn holds(&self, expr: &Expr, view: &View<'_>, idx: usize, start: Option<&EvidenceRef>) -> bool {
        let Some(event) = view.events.get(idx) else {
            return false;
        };
        in_scope(self.rule.scope, event)
            && eval_event(
                expr,
                EventContext {
                    view,
                    idx,
                    moment: event.recorded_at,
                    clock_start: start,
                },
            )
    }

    fn fire_due(
        &self,
        view: &View<'_>,
        chains: &mut Vec<Chain>,
        due_by: &dyn Fn(DateTime<Utc>) -> bool,
        firings: &mut Vec<Firing>,
        mut ledger: Option<&mut Ledger>,
    ) {
        chains.retain_mut(|chain| {
            for _ in 0..CLOCK_FIRINGS_MAX {
                let overdue_at = chain.overdue_at();
                if !due_by(overdue_at) {
                    return true;
                }
                firings.push(self.clock_firing(view, chain, overdue_at));
                if let Some(ledger) = ledger.as_deref_mut() {
                    // A later period that went overdue replaces the earlier one:
                    // a chain is overdue once, for its latest missed deadline.
                    ledger.resolve(
                        chain.open_overdue.take(),
                        ClockStatus::Superseded {
                            on: chain.deadline(),
                        },
                    );
                    let status = ClockStatus::Overdue { since: overdue_at };
                    let report_idx = ledger.report(self, view, chain, status);
                    if self.repeat.is_none() {
                        if let Some(report_idx) = report_idx {
                            ledger.late.push((chain.clone(), report_idx));
                        }
                    } else {
                        chain.open_overdue = report_idx;
                    }
                }
                match self.repeat {
                    Some(repeat) => {
                        chain.anchor = chain.deadline();
                        chain.period = repeat;
                    }
                    None => return false,
                }
            }
            false
        });
    }

    fn clock_firing(&self, view: &View<'_>, chain: &Chain, overdue_at: DateTime<Utc>) -> Firing {
        let deadline = chain.deadline();
        let mut evidence = vec![chain.start];
        evidence.extend(chain.last_met);
        let severity = severity_for(self.rule, &|expr| {
            view.events.get(chain.start).is_some_and(|event| {
                eval_event(
                    expr,
                    EventContext {
                        view,
                        idx: chain.start,
                        moment: event.recorded_at,
                        clock_start: None,
                    },
                )
            })
        });
        emit(
            view,
            Emit {
                rule: self.rule,
                pack: self.pack,
                severity,
                evidence_idx: evidence.clone(),
                extra_evidence: Vec::new(),
                raised_at: overdue_at,
                window_start: deadline,
                window_last: deadline,
                render: RenderContext {
                    trigger: Some(chain.start),
                    evidence_idx: evidence,
                    n_pattern: 1,
                    window: None,
                    moment: overdue_at,
                    person: None,
                    clock: Some(ClockInfo {
                        deadline,
                        due: chain.period,
                        since: chain.anchor,
                        last: chain
                            .last_met
                            .and_then(|idx| view.events.get(idx))
                            .map(|event| event.occurred),
                    }),
                },
                person_id: None,
            },
        )
    }

    /// Applies a meeting record to a chain; `false` when the chain is finished.
    fn meet(&self, chain: &mut Chain, idx: usize, date: NaiveDate, at: DateTime<Utc>) -> bool {
        match self.repeat {
            Some(repeat) => {
                chain.anchor = chain.anchor.max(date);
                chain.period = repeat;
                chain.known_at = chain.known_at.max(at);
                chain.last_met = Some(idx);
                true
            }
            None => false,
        }
    }

    fn evaluate(
        &self,
        view: &View<'_>,
        now: DateTime<Utc>,
        firings: &mut Vec<Firing>,
        mut ledger: Option<&mut Ledger>,
    ) {
        let mut chains: Vec<Chain> = Vec::new();
        for (idx, event) in view.events.iter().enumerate() {
            let moment = event.recorded_at;
            self.fire_due(
                view,
                &mut chains,
                &|at| at < moment,
                firings,
                ledger.as_deref_mut(),
            );
            let ends_state = match self.start {
                ClockStart::During(state) => view
                    .state_changes
                    .iter()
                    .any(|change| change.arrival == idx && change.change == Change::End(*state)),
                ClockStart::Event { .. } => false,
            };
            if let Some(ledger) = ledger.as_deref_mut() {
                self.follow_late(view, ledger, idx, ends_state);
            }
            chains.retain_mut(|chain| {
                let start_ref = view.events.get(chain.start).map(|start| &start.evidence);
                if ends_state
                    || self
                        .cancel
                        .is_some_and(|cancel| self.holds(cancel, view, idx, start_ref))
                {
                    if let Some(ledger) = ledger.as_deref_mut() {
                        let status = ClockStatus::Stopped {
                            on: event.occurred,
                            by: event.evidence.clone(),
                        };
                        ledger.resolve(chain.open_overdue.take(), status.clone());
                        ledger.report(self, view, chain, status);
                    }
                    return false;
                }
                if event.occurred >= chain.anchor && self.holds(self.met, view, idx, start_ref) {
                    if let Some(ledger) = ledger.as_deref_mut() {
                        ledger.resolve(
                            chain.open_overdue.take(),
                            ClockStatus::MetLate {
                                on: event.occurred,
                                by: event.evidence.clone(),
                            },
                        );
                        let status = ClockStatus::Met {
                            on: event.occurred,
                            by: event.evidence.clone(),
                        };
                        ledger.report(self, view, chain, status);
                    }
                    return self.meet(chain, idx, event.occurred, moment);
                }
                if let Some(reset) = self.reset
                    && event.occurred >= chain.anchor
                    && self.holds(reset, view, idx, start_ref)
                {
                    chain.anchor = event.occurred;
                    chain.period = self.due;
                    chain.known_at = moment;
                }
                true
            });
            let (starts, each) = match self.start {
                ClockStart::Event { matcher, each } => {
                    (self.holds(matcher, view, idx, None), *each)
                }
                ClockStart::During(state) => (
                    view.state_changes.iter().any(|change| {
                        change.arrival == idx && change.change == Change::Start(*state)
                    }),
                    false,
                ),
            };
            if !starts {
                continue;
            }
            if each || chains.is_empty() {
                let mut chain = Chain {
                    start: idx,
                    anchor: event.occurred,
                    period: self.due,
                    known_at: moment,
                    last_met: None,
                    open_overdue: None,
                };
                // Records that arrived before the clock started but meet it.
                let mut alive = true;
                for (earlier_idx, earlier) in view.events.iter().enumerate().take(idx) {
                    if earlier.occurred >= chain.anchor
                        && self.holds(self.met, view, earlier_idx, Some(&event.evidence))
                    {
                        if let Some(ledger) = ledger.as_deref_mut() {
                            let status = ClockStatus::Met {
                                on: earlier.occurred,
                                by: earlier.evidence.clone(),
                            };
                            ledger.report(self, view, &chain, status);
                        }
                        alive = self.meet(&mut chain, earlier_idx, earlier.occurred, moment);
                        if !alive {
                            break;
                        }
                    }
                }
                if alive {
                    chains.push(chain);
                }
            } else if matches!(self.start, ClockStart::Event { .. }) {
                for chain in &mut chains {
                    chain.anchor = chain.anchor.max(event.occurred);
                    chain.period = self.due;
                    chain.known_at = moment;
                }
            }
        }
        self.fire_due(
            view,
            &mut chains,
            &|at| at <= now,
            firings,
            ledger.as_deref_mut(),
        );
        if let Some(ledger) = ledger {
            for chain in &chains {
                ledger.report(self, view, chain, ClockStatus::Running);
            }
        }
    }

    /// Follows the clocks that went overdue (and, not repeating, left the sweep):
    /// a later record meeting one marks it met late; a cancelling record or the
    /// end of its state stops it.
    fn follow_late(&self, view: &View<'_>, ledger: &mut Ledger, idx: usize, ends_state: bool) {
        let Some(event) = view.events.get(idx) else {
            return;
        };
        let Ledger { reports, late } = ledger;
        late.retain(|(chain, report_idx)| {
            let start_ref = view.events.get(chain.start).map(|start| &start.evidence);
            let status = if ends_state
                || self
                    .cancel
                    .is_some_and(|cancel| self.holds(cancel, view, idx, start_ref))
            {
                ClockStatus::Stopped {
                    on: event.occurred,
                    by: event.evidence.clone(),
                }
            } else if event.occurred >= chain.anchor && self.holds(self.met, view, idx, start_ref) {
                ClockStatus::MetLate {
                    on: event.occurred,
                    by: event.evidence.clone(),
                }
            } else {
                return true;
            };
            if let Some(report) = reports.get_mut(*report_idx) {
                report.status = status;
            }
            false
        });
    }
}

/// Where a statutory clock stands as of the evaluation's `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockStatus {
    /// Started, not met, deadline not yet passed.
    Running,
    /// Met by a record on or before the deadline.
    Met { on: NaiveDate, by: EvidenceRef },
    /// The deadline passed unmet (the rule fired at `since`).
    Overdue { since: DateTime<Utc> },
    /// Went overdue, then a record met it.
    MetLate { on: NaiveDate, by: EvidenceRef },
    /// Cancelled by a record (or the end of the state it runs in: the plan
    /// ended, the case closed, a section 47 found nothing) before it was met.
    Stopped { on: NaiveDate, by: EvidenceRef },
    /// Went overdue, then a later period of the same repeating clock went
    /// overdue in its turn (on the day of that later deadline): the clock is
    /// overdue once, for its latest missed deadline.
    Superseded { on: NaiveDate },
}

/// One period of one clock rule for a child: when it started, when it is due,
/// and where it stands. A repeating clock gives one report per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockReport {
    pub rule_id: String,
    pub title: String,
    /// The record that started the clock.
    pub started_by: EvidenceRef,
    /// The date the period runs from (the start, the last meeting record, or the
    /// previous deadline of a repeating clock).
    pub since: NaiveDate,
    /// The period's length.
    pub due: Span,
    /// The last day on which a meeting record is on time.
    pub deadline: NaiveDate,
    pub status: ClockStatus,
    /// When this period went overdue (its rule fired), whatever happened after:
    /// every firing of a clock rule has exactly one report with this set.
    pub overdue_since: Option<DateTime<Utc>>,
}

/// The reports of one clock rule's sweep, kept only for [`clocks`].
#[derive(Default)]
struct Ledger {
    reports: Vec<ClockReport>,
    /// Overdue clocks that no longer run, with the index of their report.
    late: Vec<(Chain, usize)>,
}

impl Ledger {
    fn report(
        &mut self,
        rule: &ClockRule<'_>,
        view: &View<'_>,
        chain: &Chain,
        status: ClockStatus,
    ) -> Option<usize> {
        if self.reports.len() >= CLOCK_REPORTS_MAX {
            return None;
        }
        let start = view.events.get(chain.start)?;
        let overdue_since = match &status {
            ClockStatus::Overdue { since } => Some(*since),
            _ => None,
        };
        self.reports.push(ClockReport {
            rule_id: rule.rule.id.clone(),
            title: rule.rule.title.clone(),
            started_by: start.evidence.clone(),
            since: chain.anchor,
            due: chain.period,
            deadline: chain.deadline(),
            status,
            overdue_since,
        });
        Some(self.reports.len() - 1)
    }

    /// Ends an overdue period's report (met late, stopped or superseded).
    fn resolve(&mut self, report_idx: Option<usize>, status: ClockStatus) {
        if let Some(report) = report_idx.and_then(|idx| self.reports.get_mut(idx))
            && matches!(report.status, ClockStatus::Overdue { .. })
        {
            report.status = status;
        }
    }
}

/// The most clock reports one rule gives for one child.
const CLOCK_REPORTS_MAX: usize = 1_000;

/// Every clock of `pack`'s clock rules for the child as of `now`, computed by the
/// same sweep as [`evaluate`] (so a clock reported overdue is exactly one whose
/// rule fired): running, met, met late, stopped and overdue, by rule in pack
/// order, then in the order they started or ended.
pub fn clocks(pack: &Pack, picture: &ChildPicture, now: DateTime<Utc>) -> Vec<ClockReport> {
    let view = View::new(picture, now);
    let mut reports = Vec::new();
    for rule in &pack.rules {
        let Some(clock) = ClockRule::of(pack, rule) else {
            continue;
        };
        let mut ledger = Ledger::default();
        let mut firings = Vec::new();
        clock.evaluate(&view, now, &mut firings, Some(&mut ledger));
        reports.extend(ledger.reports);
    }
    reports
}

/// Evaluates every rule of `pack` over `picture` as of the logical time `now`:
/// records recorded after `now` are ignored, and clocks whose deadline passes
/// after `now` have not fired yet. Firings are sorted by `raised_at`, then rule.
pub fn evaluate(pack: &Pack, picture: &ChildPicture, now: DateTime<Utc>) -> Vec<Firing> {
    let view = View::new(picture, now);
    let mut firings = Vec::new();
    for rule in &pack.rules {
        match &rule.body {
            Body::Event {
                matcher,
                count,
                distinct,
                earlier,
            } => EventRule {
                pack,
                rule,
                matcher,
                count: *count,
                distinct: *distinct,
                earlier: earlier.as_ref(),
            }
            .evaluate(&view, &mut firings),
            Body::Person { matcher } => {
                evaluate_person_rule(pack, rule, &view, matcher, now, &mut firings);
            }
            Body::Clock { .. } => {
                if let Some(clock) = ClockRule::of(pack, rule) {
                    clock.evaluate(&view, now, &mut firings, None);
                }
            }
        }
        if firings.len() >= FIRINGS_MAX {
            break;
        }
    }
    firings.sort_by(|left, right| {
        (left.raised_at, &left.rule_id, &left.evidence).cmp(&(
            right.raised_at,
            &right.rule_id,
            &right.evidence,
        ))
    });
    firings.truncate(FIRINGS_MAX);
    firings
}
