//! Routing that cannot lose an alert, against real databases: every route of
//! the default pack reaches a demo login of the demo organisation; an alert
//! whose recipient has no active account goes to the head of service at once,
//! or to the duty team when the head of service has nobody either;
//! old routes are rerouted when a server loads; a pack routing to a lead the
//! organisation does not name is refused.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use sightline_app::accounts::{NewAccount, Password, Team, Username, create_account};
use sightline_app::audit::AuditActor;
use sightline_app::routing::{check_pack_routes, escalation_target, receiving_routes, route_alert};
use sightline_app::{EngineConfig, EngineError, SharedEngine};
use sightline_core::AgencyId;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_core::org::Organisation;
use sightline_rules::{Route, RouteTarget};
use sightline_store::{AlertFilter, AlertRow, AlertUpsert, STATUS_OPEN, Store};
use std::sync::Arc;

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");

/// The organisation of examples/sample.jsonl (Haringate).
const HARINGATE: &str = include_str!("../../../examples/organisation.toml");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("instant")
}

fn haringate() -> Arc<Organisation> {
    Arc::new(Organisation::parse(HARINGATE).unwrap_or_else(|problems| panic!("{problems:?}")))
}

fn demo_organisation() -> Organisation {
    let config = sightline_synth::SynthConfig::defaults().expect("defaults");
    let text = sightline_synth::organisation_toml(&config).expect("organisation");
    Organisation::parse(&text).unwrap_or_else(|problems| panic!("{problems:?}"))
}

fn account(store: &dyn Store, username: &str, role: &str, agency: &str, team: Option<&str>) {
    create_account(
        store,
        &NewAccount {
            username: Username::parse(username).unwrap(),
            password: Password::parse("a long synthetic password").unwrap(),
            role: sightline_access::Role::parse(role).unwrap(),
            agency: AgencyId::parse(agency).unwrap(),
            team: team.map(|team| Team::parse(team).unwrap()),
        },
        &AuditActor::cli(),
        now(),
    )
    .expect("account");
}

fn engine(store: &dyn Store, organisation: Arc<Organisation>) -> SharedEngine {
    SharedEngine::load_configured(
        store,
        EngineConfig {
            organisation,
            ..EngineConfig::default()
        },
        now(),
    )
    .expect("engine")
}

fn ingest_sample(store: &dyn Store, engine: &SharedEngine) -> sightline_app::IngestSummary {
    let parsed = parse_batch(
        SAMPLE.as_bytes(),
        Format::JsonLines,
        now(),
        &Limits::default(),
    )
    .expect("valid sample");
    let summary = sightline_app::ingest_parsed(store, engine, parsed, now()).expect("ingest");
    assert!(summary.alerts.raised >= 1, "{summary:?}");
    summary
}

fn open_alerts(store: &dyn Store) -> Vec<AlertRow> {
    store
        .alerts()
        .list(&AlertFilter {
            status: Some(STATUS_OPEN.to_owned()),
            limit: 1_000,
            ..AlertFilter::default()
        })
        .expect("list")
}

#[test]
fn every_route_of_the_default_pack_reaches_a_demo_login() {
    let organisation = demo_organisation();
    let pack = sightline_app::engine::default_pack().expect("pack");
    assert_eq!(
        check_pack_routes(&pack, &organisation),
        Vec::<String>::new()
    );
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("open");
        let logins = sightline_app::demo::create_demo_logins(store.as_ref(), &organisation, now())
            .expect("demo logins");
        assert!(logins.len() >= 8, "{logins:?}");
        let (receiving, complete) = receiving_routes(store.as_ref()).expect("routes");
        assert!(complete);
        let mut n_checked = 0;
        for rule in &pack.rules {
            let targets = if rule.route.is_empty() {
                vec![RouteTarget::DutyTeam]
            } else {
                rule.route.clone()
            };
            for target in targets {
                let route = match target {
                    RouteTarget::AllocatedWorker => Route::AllocatedWorker(String::new()),
                    RouteTarget::AllocatedTeam => Route::AllocatedTeam(String::new()),
                    RouteTarget::DutyTeam => Route::DutyTeam,
                    RouteTarget::HealthSafeguardingLead => Route::HealthSafeguardingLead,
                    RouteTarget::PoliceSafeguarding => Route::PoliceSafeguarding,
                    RouteTarget::TeamManager => Route::TeamManager,
                };
                for local_authority in organisation.local_authorities() {
                    let recipient = route_alert(&route, local_authority, &organisation);
                    assert!(
                        receiving.contains(&recipient.as_route()),
                        "{:?}: rule {} routes to {recipient}, which no demo login receives ({receiving:?})",
                        database.backend,
                        rule.id
                    );
                    // Escalation: the head of service of the recipient's
                    // agency's local authority always has a login (the team
                    // managers' level passes straight to it when nobody holds
                    // that role).
                    let head = escalation_target(&recipient.as_route(), 2, &organisation);
                    assert!(receiving.contains(&head.as_route()), "{head}");
                    n_checked += 1;
                }
            }
        }
        assert!(n_checked >= pack.rules.len());
    }
}

#[test]
fn a_pack_routing_to_a_lead_nobody_holds_is_refused() {
    let without_health = Organisation::parse(
        &HARINGATE.replace("health = \"role:haringate-icb/safeguarding_lead\"\n", ""),
    )
    .expect("valid without a health lead");
    let pack = sightline_app::engine::default_pack().expect("pack");
    let problems = check_pack_routes(&pack, &without_health);
    assert!(!problems.is_empty());
    for problem in &problems {
        assert!(
            problem.contains(
                "route health_safeguarding_lead: the organisation names no health safeguarding lead"
            ),
            "{problem}"
        );
    }
    let database = sightline_testkit::sqlite_database();
    let store = sightline_store::open(&database.url).expect("open");
    let refused = SharedEngine::load_configured(
        store.as_ref(),
        EngineConfig {
            organisation: Arc::new(without_health),
            ..EngineConfig::default()
        },
        now(),
    );
    match refused {
        Err(EngineError::UnreceivableRoutes(found)) => assert_eq!(found, problems),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a pack routing to a missing lead was loaded"),
    }
}

#[test]
fn an_alert_nobody_can_receive_goes_to_the_head_of_service_at_once() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("open");
        // Only the head of service has an account.
        account(
            store.as_ref(),
            "head.of.service",
            "team_manager",
            "haringate-csc",
            Some("head-of-service"),
        );
        let engine = engine(store.as_ref(), haringate());
        ingest_sample(store.as_ref(), &engine);
        let open = open_alerts(store.as_ref());
        assert!(!open.is_empty());
        for alert in &open {
            assert_eq!(
                alert.routed_to, "team:haringate-csc/head-of-service",
                "{alert:?}"
            );
            assert_eq!(alert.escalation_level, 2, "{alert:?}");
            let events = store.alerts().events(&alert.id).expect("events");
            let escalated = events
                .iter()
                .find(|event| event.kind == "escalated")
                .expect("an escalated event");
            let detail: serde_json::Value =
                serde_json::from_str(escalated.detail.as_deref().expect("detail")).expect("json");
            assert_eq!(detail["reason"], "no_active_account", "{detail}");
            assert!(
                detail["from"]
                    .as_str()
                    .expect("from")
                    .starts_with("team:haringate-csc/duty")
                    || detail["from"].as_str().expect("from").starts_with("role:"),
                "{detail}"
            );
        }
    }
}

#[test]
fn an_alert_with_a_recipient_stays_and_one_with_nobody_anywhere_is_counted() {
    for database in sightline_testkit::all_databases() {
        // A duty worker: alerts stay with the duty team.
        let store = sightline_store::open(&database.url).expect("open");
        account(
            store.as_ref(),
            "duty.worker",
            "practitioner",
            "haringate-csc",
            Some("duty"),
        );
        account(
            store.as_ref(),
            "health.lead",
            "safeguarding_lead",
            "haringate-icb",
            None,
        );
        account(
            store.as_ref(),
            "police.officer",
            "practitioner",
            "north-met-police",
            Some("public-protection"),
        );
        let engine = engine(store.as_ref(), haringate());
        ingest_sample(store.as_ref(), &engine);
        for alert in open_alerts(store.as_ref()) {
            assert_eq!(alert.escalation_level, 0, "{alert:?}");
            assert!(
                store
                    .alerts()
                    .events(&alert.id)
                    .expect("events")
                    .iter()
                    .all(|event| event.kind != "escalated")
            );
        }
    }
    // Nobody at all: nothing moves (the head of service could not see it
    // either), and each is counted as routed to nobody.
    let database = sightline_testkit::sqlite_database();
    let store = sightline_store::open(&database.url).expect("open");
    let organisation = haringate();
    let engine = engine(store.as_ref(), organisation.clone());
    let summary = ingest_sample(store.as_ref(), &engine);
    let n_open = open_alerts(store.as_ref()).len() as u64;
    // The count goes to the caller, which says so where it matters (the
    // server logs it; a replay with no accounts sums it up once).
    assert_eq!(summary.alerts_routed_to_nobody, n_open);
    let done = sightline_app::routing::escalate_unreceivable(store.as_ref(), &organisation, now())
        .expect("escalate");
    assert_eq!((done.escalated, done.routed_to_nobody), (0, n_open));
    let report = engine.tick(store.as_ref(), now()).expect("tick");
    assert_eq!(
        report.routed_to_nobody,
        open_alerts(store.as_ref()).len() as u64
    );
    assert!(report.routed_to_nobody > 0, "{report:?}");
}

#[test]
fn when_the_head_of_service_has_nobody_the_duty_team_receives_it() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("open");
        let organisation = haringate();
        let engine = engine(store.as_ref(), organisation.clone());
        // No account yet: the alerts stay where the rules routed them.
        ingest_sample(store.as_ref(), &engine);
        let before = open_alerts(store.as_ref());
        assert!(before.len() >= 2, "{before:?}");
        // One has been escalated to the head of service already.
        let at_head = &before[0];
        store
            .alerts()
            .escalate(
                &at_head.id,
                2,
                "team:haringate-csc/head-of-service",
                at_head.due_at_us,
                sightline_app::to_micros(now()),
                None,
            )
            .expect("escalate");
        // Then only a duty worker has an account.
        account(
            store.as_ref(),
            "duty.worker",
            "practitioner",
            "haringate-csc",
            Some("duty"),
        );
        let (receiving, complete) = receiving_routes(store.as_ref()).expect("routes");
        assert!(complete);
        let pack = sightline_app::engine::default_pack().expect("pack");
        let unheld: Vec<String> =
            sightline_app::routing::unheld_recipients(&pack, &organisation, &receiving)
                .iter()
                .map(|unheld| format!("{} {}", unheld.recipient, unheld.warning()))
                .collect();
        for expected in [
            "team:haringate-csc/head-of-service nobody with an active account receives the head of service of Haringate Council (team:haringate-csc/head-of-service): alerts nobody else can receive go to the local authority's duty team",
            "role:haringate-icb/safeguarding_lead nobody with an active account receives the health safeguarding lead (role:haringate-icb/safeguarding_lead): its alerts go to the head of service at once",
            "team:north-met-police/public-protection nobody with an active account receives the police safeguarding lead (team:north-met-police/public-protection): its alerts go to the head of service at once",
        ] {
            assert!(
                unheld.iter().any(|line| line.starts_with(expected)),
                "{expected} in {unheld:#?}"
            );
        }
        // The duty team is held.
        assert!(
            unheld
                .iter()
                .all(|line| !line.starts_with("team:haringate-csc/duty ")),
            "{unheld:#?}"
        );

        let done =
            sightline_app::routing::escalate_unreceivable(store.as_ref(), &organisation, now())
                .expect("escalate");
        let moved = before
            .iter()
            .filter(|alert| alert.id == at_head.id || alert.routed_to != "team:haringate-csc/duty")
            .count() as u64;
        assert_eq!(
            (done.escalated, done.to_duty_team, done.routed_to_nobody),
            (moved, moved, 0),
            "{:?}",
            database.backend
        );
        for alert in open_alerts(store.as_ref()) {
            assert_eq!(alert.routed_to, "team:haringate-csc/duty", "{alert:?}");
            let original = before.iter().find(|old| old.id == alert.id).expect("known");
            if alert.id != at_head.id && original.routed_to == "team:haringate-csc/duty" {
                assert_eq!(alert.escalation_level, 0, "{alert:?}");
                continue;
            }
            assert_eq!(alert.escalation_level, 2, "{alert:?}");
            let kind = if alert.id == at_head.id {
                "rerouted"
            } else {
                "escalated"
            };
            let events = store.alerts().events(&alert.id).expect("events");
            let event = events
                .iter()
                .rev()
                .find(|event| event.kind == kind)
                .unwrap_or_else(|| panic!("a {kind} event in {events:?}"));
            let detail: serde_json::Value =
                serde_json::from_str(event.detail.as_deref().expect("detail")).expect("json");
            assert_eq!(detail["reason"], "no_active_account", "{detail}");
            assert_eq!(
                detail["head_of_service"], "team:haringate-csc/head-of-service",
                "{detail}"
            );
        }
        // Settled: a second pass moves nothing.
        let again =
            sightline_app::routing::escalate_unreceivable(store.as_ref(), &organisation, now())
                .expect("escalate");
        assert_eq!(again.escalated, 0);
    }
}

#[test]
fn old_routes_are_rerouted_when_a_server_loads() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("open");
        account(
            store.as_ref(),
            "duty.worker",
            "practitioner",
            "haringate-csc",
            Some("duty"),
        );
        account(
            store.as_ref(),
            "health.lead",
            "safeguarding_lead",
            "haringate-icb",
            None,
        );
        let engine = engine(store.as_ref(), haringate());
        ingest_sample(store.as_ref(), &engine);
        // Two alerts as an old database holds them: routed to no agency.
        let model = open_alerts(store.as_ref()).remove(0);
        let evidence = store.alerts().evidence(&model.id).expect("evidence");
        let old = |id: &str, route: &str, routed_to: &str| AlertUpsert {
            alert: AlertRow {
                id: id.to_owned(),
                route: route.to_owned(),
                routed_to: routed_to.to_owned(),
                ..model.clone()
            },
            evidence: evidence.clone(),
        };
        let mut tx = store.begin().expect("begin");
        tx.upsert_alerts(
            &[
                old("a-00000000000000d1", "duty_team", "team:duty"),
                old(
                    "a-00000000000000d2",
                    "health_safeguarding_lead",
                    "role:health_safeguarding_lead",
                ),
            ],
            sightline_app::to_micros(now()),
        )
        .expect("upsert");
        tx.commit().expect("commit");

        let (rerouted, _) = engine.settle_routes(store.as_ref(), now()).expect("settle");
        assert_eq!(rerouted, 2, "{:?}", database.backend);
        for (id, expected) in [
            ("a-00000000000000d1", "team:haringate-csc/duty"),
            ("a-00000000000000d2", "role:haringate-icb/safeguarding_lead"),
        ] {
            let alert = store.alerts().get(id).expect("get").expect("alert");
            assert_eq!(alert.routed_to, expected);
            let events = store.alerts().events(id).expect("events");
            let rerouted = events
                .iter()
                .find(|event| event.kind == "rerouted")
                .expect("a rerouted event");
            assert!(
                rerouted
                    .detail
                    .as_deref()
                    .unwrap_or("")
                    .contains("\"from\":\"team:duty\"")
                    || rerouted
                        .detail
                        .as_deref()
                        .unwrap_or("")
                        .contains("\"from\":\"role:health_safeguarding_lead\""),
                "{rerouted:?}"
            );
        }
        // Settled: nothing more to move.
        let (again, _) = engine.settle_routes(store.as_ref(), now()).expect("settle");
        assert_eq!(again, 0);
    }
}
