//! Whom an alert goes to, by the organisation (`sightline_core::org`): every
//! route names an agency and a team or a role accounts can hold
//! (`team:AGENCY/TEAM`, `role:AGENCY/ROLE`), so no alert is routed to nobody.
//!
//! - **The child's local authority** ([`child_local_authority`]): the local
//!   authority of the agency of the child's most recent social care record,
//!   else of the agency of the child's most recent record that gives the child
//!   an address, else the organisation's default local authority. Only agencies
//!   the organisation names count (an unnamed agency says nothing about where a
//!   child lives).
//! - **A rule's route** ([`route_alert`]): `duty_team` (and `allocated_worker`,
//!   `allocated_team`: interchange carries no allocations yet) goes to the duty
//!   team of the child's local authority; `team_manager` to the team managers of
//!   that duty team's agency (`role:AGENCY/team_manager`);
//!   `health_safeguarding_lead` and `police_safeguarding` to the leads the
//!   organisation names (without one, the duty team: [`check_pack_routes`]
//!   refuses such a pack before a server starts).
//! - **Escalation** ([`escalation_target`]): the team managers of the agency the
//!   alert is routed to (level 1), then the head of service of that agency's
//!   local authority (level 2).
//! - **Nobody to receive it** ([`escalate_unreceivable`]): an open alert whose
//!   recipient no active account reaches goes at once to the head of service
//!   (level 2), with an `escalated` event saying why; when the head of service
//!   has no account either, to the local authority's duty team.
//!   [`unheld_recipients`] lists, at start and in `sightline org check --db`,
//!   the recipients no account reaches.
//! - **Old routes** ([`reroute_stored`]): at load, an open alert whose stored
//!   route the organisation cannot receive (`team:duty`,
//!   `role:health_safeguarding_lead`, a team the file does not name) is
//!   rerouted by its rule's route, with a `rerouted` event.

use crate::engine::EngineError;
use crate::picture::{LinkedRecords, PersonFacts};
use chrono::{DateTime, Utc};
use sightline_core::org::{LocalAuthority, Organisation, Recipient, TEAM_MANAGER_ROLE};
use sightline_rules::{Pack, Route, RouteTarget};
use sightline_store::{AlertFilter, ESCALATION_HEAD_OF_SERVICE, STATUS_OPEN, Store, StoreError};
use std::collections::BTreeSet;

/// The local authority of a child (see the module's rule).
pub fn child_local_authority<'o>(
    organisation: &'o Organisation,
    linked: &LinkedRecords,
    facts: &PersonFacts,
) -> &'o LocalAuthority {
    let named = |agency: &str| organisation.agency(agency).is_some();
    let mut social_care = None;
    let mut addressed = None;
    for mention in &facts.mentions {
        let Some(loaded) = linked.records.get(mention.record_idx) else {
            continue;
        };
        let agency = loaded.record.source.agency.as_str();
        if !named(agency) {
            continue;
        }
        let key = (loaded.record.recorded_at, loaded.seq);
        if loaded.record.kind.as_str().starts_with("social_care.")
            && social_care.is_none_or(|(best, _)| key > best)
        {
            social_care = Some((key, agency));
        }
        let has_address = loaded
            .record
            .persons
            .get(mention.person_idx)
            .is_some_and(|person| person.address.is_some());
        if has_address && addressed.is_none_or(|(best, _)| key > best) {
            addressed = Some((key, agency));
        }
    }
    match social_care.or(addressed) {
        Some((_, agency)) => organisation.local_authority_of(agency),
        None => organisation.default_local_authority(),
    }
}

/// The team managers of the agency of `recipient`.
fn team_managers_of(recipient: &Recipient) -> Recipient {
    Recipient::Role {
        agency: recipient.agency().clone(),
        role: TEAM_MANAGER_ROLE.to_owned(),
    }
}

/// Whom an alert with the rule's `route` goes to, for a child of
/// `local_authority`.
pub fn route_alert(
    route: &Route,
    local_authority: &LocalAuthority,
    organisation: &Organisation,
) -> Recipient {
    let duty_team = || local_authority.duty_team.clone();
    match route {
        Route::AllocatedWorker(_) | Route::AllocatedTeam(_) | Route::DutyTeam => duty_team(),
        Route::TeamManager => team_managers_of(&local_authority.duty_team),
        Route::HealthSafeguardingLead => organisation
            .health_safeguarding_lead()
            .cloned()
            .unwrap_or_else(duty_team),
        Route::PoliceSafeguarding => organisation
            .police_safeguarding()
            .cloned()
            .unwrap_or_else(duty_team),
    }
}

/// The route name stored with an alert (`duty_team`, ...) as a route.
fn route_of_name(name: &str) -> Option<Route> {
    Some(match name.split(':').next()? {
        "allocated_worker" | "allocated_team" | "duty_team" => Route::DutyTeam,
        "team_manager" => Route::TeamManager,
        "health_safeguarding_lead" => Route::HealthSafeguardingLead,
        "police_safeguarding" => Route::PoliceSafeguarding,
        _ => return None,
    })
}

/// Where an alert routed to `routed_to` escalates at `level`: the team
/// managers of its agency (level 1), then the head of service of that agency's
/// local authority (level 2). A route the organisation cannot read escalates to
/// the default local authority's head of service.
pub fn escalation_target(routed_to: &str, level: i64, organisation: &Organisation) -> Recipient {
    match Recipient::parse(routed_to) {
        Ok(recipient) if level < ESCALATION_HEAD_OF_SERVICE => team_managers_of(&recipient),
        _ => local_authority_of_route(routed_to, organisation)
            .head_of_service
            .clone(),
    }
}

/// The local authority of the agency an alert is routed to (the default one
/// for a route the organisation cannot read).
fn local_authority_of_route<'o>(
    routed_to: &str,
    organisation: &'o Organisation,
) -> &'o LocalAuthority {
    match Recipient::parse(routed_to) {
        Ok(recipient) => organisation.local_authority_of(recipient.agency().as_str()),
        Err(_) => organisation.default_local_authority(),
    }
}

/// The route a rule's target resolves to (allocations are not known yet).
fn route_of_target(target: RouteTarget) -> Route {
    match target {
        RouteTarget::AllocatedWorker => Route::AllocatedWorker(String::new()),
        RouteTarget::AllocatedTeam => Route::AllocatedTeam(String::new()),
        RouteTarget::DutyTeam => Route::DutyTeam,
        RouteTarget::HealthSafeguardingLead => Route::HealthSafeguardingLead,
        RouteTarget::PoliceSafeguarding => Route::PoliceSafeguarding,
        RouteTarget::TeamManager => Route::TeamManager,
    }
}

/// Every route of every rule of `pack` checked against `organisation`: each
/// problem says which rule names a route nobody in the organisation can
/// receive (a safeguarding lead the file does not name). Empty when every
/// route resolves to an agency and a team or role of the organisation.
pub fn check_pack_routes(pack: &Pack, organisation: &Organisation) -> Vec<String> {
    let mut problems = Vec::new();
    for rule in &pack.rules {
        let mut targets: Vec<RouteTarget> = rule.route.clone();
        if targets.is_empty() {
            // A rule without a route goes to the duty team.
            targets.push(RouteTarget::DutyTeam);
        }
        for target in targets {
            let missing = match target {
                RouteTarget::HealthSafeguardingLead => organisation
                    .health_safeguarding_lead()
                    .is_none()
                    .then_some("health_safeguarding_lead: the organisation names no health safeguarding lead ([safeguarding_leads] health = \"role:AGENCY/safeguarding_lead\")"),
                RouteTarget::PoliceSafeguarding => organisation
                    .police_safeguarding()
                    .is_none()
                    .then_some("police_safeguarding: the organisation names no police safeguarding lead ([safeguarding_leads] police = \"team:AGENCY/TEAM\")"),
                _ => None,
            };
            if let Some(missing) = missing {
                problems.push(format!(
                    "rule {}: route {missing}, so nobody can receive it",
                    rule.id
                ));
                continue;
            }
            for local_authority in organisation.local_authorities() {
                let recipient =
                    route_alert(&route_of_target(target), local_authority, organisation);
                if let Err(problem) = organisation.check_recipient(&recipient) {
                    problems.push(format!(
                        "rule {}: route resolves to {recipient} in {}: {problem}",
                        rule.id, local_authority.name
                    ));
                }
            }
        }
    }
    problems.dedup();
    problems
}

/// A recipient the organisation routes alerts to that no active account
/// reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unheld {
    /// What it is, in words: "the duty team of Haringate".
    pub what: String,
    /// The route (`team:AGENCY/TEAM`, `role:AGENCY/ROLE`).
    pub recipient: Recipient,
    /// Whether it is a head of service (whose alerts go to the duty team).
    pub head_of_service: bool,
}

impl Unheld {
    /// The operator's warning: who, and where its alerts go instead.
    pub fn warning(&self) -> String {
        let instead = if self.head_of_service {
            "alerts nobody else can receive go to the local authority's duty team"
        } else {
            "its alerts go to the head of service at once"
        };
        format!(
            "nobody with an active account receives {} ({}): {instead}; create an account that does (sightline user create)",
            self.what, self.recipient
        )
    }
}

/// Every recipient the rules of `pack` route to under `organisation` (for
/// each local authority), and each local authority's head of service, that no
/// route in `receiving` (from [`receiving_routes`]) reaches: alerts for them
/// go to the head of service at once, or to the duty team when the head of
/// service has nobody either ([`escalate_unreceivable`]). Each recipient once.
pub fn unheld_recipients(
    pack: &Pack,
    organisation: &Organisation,
    receiving: &BTreeSet<String>,
) -> Vec<Unheld> {
    let mut targets: Vec<RouteTarget> = Vec::new();
    for rule in &pack.rules {
        let rule_targets: &[RouteTarget] = if rule.route.is_empty() {
            &[RouteTarget::DutyTeam]
        } else {
            &rule.route
        };
        for target in rule_targets {
            if !targets.contains(target) {
                targets.push(*target);
            }
        }
    }
    let mut unheld: Vec<Unheld> = Vec::new();
    let mut add = |what: String, recipient: Recipient, head_of_service: bool| {
        let held = receiving.contains(&recipient.as_route());
        if !held && !unheld.iter().any(|known| known.recipient == recipient) {
            unheld.push(Unheld {
                what,
                recipient,
                head_of_service,
            });
        }
    };
    for local_authority in organisation.local_authorities() {
        for target in &targets {
            let what = match target {
                RouteTarget::AllocatedWorker
                | RouteTarget::AllocatedTeam
                | RouteTarget::DutyTeam => format!("the duty team of {}", local_authority.name),
                RouteTarget::TeamManager => {
                    format!("the duty team's managers of {}", local_authority.name)
                }
                RouteTarget::HealthSafeguardingLead => "the health safeguarding lead".to_owned(),
                RouteTarget::PoliceSafeguarding => "the police safeguarding lead".to_owned(),
            };
            add(
                what,
                route_alert(&route_of_target(*target), local_authority, organisation),
                false,
            );
        }
        add(
            format!("the head of service of {}", local_authority.name),
            local_authority.head_of_service.clone(),
            true,
        );
    }
    unheld
}

/// The routes the active accounts of the store receive, and whether every
/// account was read (an organisation with more accounts than one list call
/// returns is read in part).
pub fn receiving_routes(store: &dyn Store) -> Result<(BTreeSet<String>, bool), StoreError> {
    let limit = sightline_store::ACCOUNT_LIST_LIMIT_MAX;
    let users = store.accounts().list_users(limit)?;
    let complete = users.len() < limit as usize;
    let mut routes = BTreeSet::new();
    for user in users.iter().filter(|user| user.disabled_at_us.is_none()) {
        routes.extend(sightline_core::org::routes_reaching(
            &user.agency,
            user.team.as_deref(),
            &user.role,
        ));
    }
    Ok((routes, complete))
}

/// Every recipient the engine can route to or escalate to under
/// `organisation`: duty teams, heads of service, leads, and the team managers
/// of each of their agencies.
fn possible_recipients(organisation: &Organisation) -> BTreeSet<Recipient> {
    let mut recipients: BTreeSet<Recipient> = BTreeSet::new();
    for recipient in organisation.named_recipients() {
        recipients.insert(team_managers_of(recipient));
        recipients.insert(recipient.clone());
    }
    recipients
}

/// What [`escalate_unreceivable`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unreceivable {
    /// Open alerts sent to the head of service (or, when nobody holds that
    /// either, to the duty team) because nobody held their route.
    pub escalated: u64,
    /// Of those, the ones sent to the duty team of the local authority because
    /// its head of service has no active account either.
    pub to_duty_team: u64,
    /// Open alerts whose head of service has no active account either.
    pub routed_to_nobody: u64,
}

/// Sends every open alert below level 2 whose route no active account reaches
/// to the head of service of its agency's local authority at once (level 2,
/// an `escalated` event with the reason `no_active_account`), when an active
/// account receives what goes to that head of service; when none does, to
/// that local authority's duty team (the event's detail also names the
/// `head_of_service`; an alert already at level 2 is rerouted there, with a
/// `rerouted` event). Counts the open alerts that nobody at all can receive,
/// without logging them: the caller says so where it matters (the server, at
/// start, after an upload and at each tick: [`warn_routed_to_nobody`]), while a
/// replay with no accounts (`sightline evaluate --cases`) sums them up once.
/// Does nothing when the accounts could not all be read.
pub fn escalate_unreceivable(
    store: &dyn Store,
    organisation: &Organisation,
    now: DateTime<Utc>,
) -> Result<Unreceivable, StoreError> {
    let (receiving, complete) = receiving_routes(store)?;
    let mut done = Unreceivable::default();
    if !complete {
        tracing::warn!(
            "more accounts than one list returns: alerts are not checked for recipients without an account"
        );
        return Ok(done);
    }
    let unreceivable: Vec<String> = possible_recipients(organisation)
        .into_iter()
        .map(|recipient| recipient.as_route())
        .filter(|route| !receiving.contains(route))
        .collect();
    if unreceivable.is_empty() {
        return Ok(done);
    }
    let now_us = crate::to_micros(now);
    let mut after = None;
    loop {
        let page = store.alerts().list(&AlertFilter {
            status: Some(STATUS_OPEN.to_owned()),
            routed_to: Some(unreceivable.clone()),
            after: after.clone(),
            limit: sightline_store::ALERT_LIST_LIMIT_MAX,
            ..AlertFilter::default()
        })?;
        for row in &page {
            let local_authority = local_authority_of_route(&row.routed_to, organisation);
            let head = local_authority.head_of_service.as_route();
            let duty = local_authority.duty_team.as_route();
            let below_head = row.escalation_level < ESCALATION_HEAD_OF_SERVICE;
            let (target, detail) = if below_head && receiving.contains(&head) {
                let detail = serde_json::json!({
                    "from": row.routed_to,
                    "reason": "no_active_account",
                });
                (head, detail)
            } else if receiving.contains(&duty) && row.routed_to != duty {
                // The head of service has nobody either: the duty team of the
                // local authority sees it rather than nobody.
                let detail = serde_json::json!({
                    "from": row.routed_to,
                    "reason": "no_active_account",
                    "head_of_service": head,
                });
                (duty.clone(), detail)
            } else {
                // Nobody there either: moving it would not make it seen.
                done.routed_to_nobody += 1;
                continue;
            };
            let detail = detail.to_string();
            let moved = if below_head {
                store.alerts().escalate(
                    &row.id,
                    ESCALATION_HEAD_OF_SERVICE,
                    &target,
                    row.due_at_us,
                    now_us,
                    Some(&detail),
                )
            } else {
                store
                    .alerts()
                    .reroute(&row.id, &target, now_us, Some(&detail))
            };
            match moved {
                Ok(_) => {
                    done.escalated += 1;
                    if target == duty {
                        done.to_duty_team += 1;
                    }
                }
                Err(StoreError::AlertNotOpen | StoreError::EscalationNotHigher { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        match page.last() {
            Some(last) if page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize => {
                after = Some(sightline_store::AlertCursor::after(last, None));
            }
            _ => break,
        }
    }
    Ok(done)
}

/// Warns the operator (the server's log) when `routed_to_nobody` open alerts
/// have nobody with an active account to receive them.
pub fn warn_routed_to_nobody(routed_to_nobody: u64) {
    if routed_to_nobody > 0 {
        tracing::warn!(
            alerts = routed_to_nobody,
            "open alerts whose recipient, head of service and duty team have no active account: create one (sightline user create)"
        );
    }
}

/// Reroutes every open alert whose stored route the organisation cannot
/// receive (an old `team:duty` or `role:health_safeguarding_lead`, a team or
/// agency the file does not name) by its rule's route for its child
/// (`route_for(child_id, route)`), each with a `rerouted` event. Returns how
/// many were rerouted.
pub fn reroute_stored(
    store: &dyn Store,
    organisation: &Organisation,
    route_for: &dyn Fn(&str, &Route) -> Recipient,
    now: DateTime<Utc>,
) -> Result<u64, EngineError> {
    let now_us = crate::to_micros(now);
    let mut rerouted = 0u64;
    let mut after = None;
    let mut moves: Vec<(String, String, String)> = Vec::new();
    loop {
        let page = store.alerts().list(&AlertFilter {
            status: Some(STATUS_OPEN.to_owned()),
            after: after.clone(),
            limit: sightline_store::ALERT_LIST_LIMIT_MAX,
            ..AlertFilter::default()
        })?;
        for row in &page {
            let receivable = Recipient::parse(&row.routed_to)
                .ok()
                .is_some_and(|recipient| organisation.check_recipient(&recipient).is_ok());
            if receivable {
                continue;
            }
            let route = if row.escalation_level >= ESCALATION_HEAD_OF_SERVICE {
                None
            } else {
                route_of_name(&row.route)
            };
            let target = match route {
                Some(route) => route_for(&row.child_id, &route),
                None => escalation_target(&row.routed_to, ESCALATION_HEAD_OF_SERVICE, organisation),
            };
            moves.push((row.id.clone(), row.routed_to.clone(), target.as_route()));
        }
        match page.last() {
            Some(last) if page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize => {
                after = Some(sightline_store::AlertCursor::after(last, None));
            }
            _ => break,
        }
    }
    for (id, from, to) in moves {
        let detail = serde_json::json!({"from": from, "reason": "organisation"}).to_string();
        match store.alerts().reroute(&id, &to, now_us, Some(&detail)) {
            Ok(_) => rerouted += 1,
            Err(StoreError::AlertNotOpen) => {}
            Err(error) => return Err(error.into()),
        }
    }
    if rerouted > 0 {
        tracing::info!(
            alerts = rerouted,
            "open alerts rerouted to the organisation's recipients"
        );
    }
    Ok(rerouted)
}
