//! CP-IS notices against real databases: the example family (Leo, put on a
//! child protection plan by Haringate's children's services), a child looked
//! after and then no longer (on no plan) and an unborn child on a child
//! protection plan; the emergency department, a silent GP practice and social care's
//! own staff read them in full.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use sightline_access::{Role, View};
use sightline_app::accounts::{Account, NewAccount, Password, Team, Username, create_account};
use sightline_app::audit::AuditActor;
use sightline_app::cpis::{self, PlanStatus};
use sightline_app::privacy::{self, NoticeScope};
use sightline_app::views::Picture;
use sightline_app::{EngineConfig, SharedEngine};
use sightline_core::AgencyId;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_core::org::Organisation;
use sightline_store::{AlertFilter, Assignment, NOTICE_CPIS_ACCESS, Store};
use std::sync::Arc;

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");
const HARINGATE: &str = include_str!("../../../examples/organisation.toml");

/// Leo's child protection plan, and Mia: an emergency attendance, no plan.
const MORE: &str = r#"{"source": {"agency": "haringate-csc", "record_id": "PLAN-2007-0601", "version": 1}, "kind": "social_care.plan", "occurred_at": "2007-06-01", "recorded_at": "2007-06-01T12:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "9434765919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male"}], "outcome": {"plan": "child_protection", "status": "start", "category": "physical_abuse"}}
{"source": {"agency": "north-general-ed", "record_id": "ED-90001", "version": 1}, "kind": "health.ed_attendance", "occurred_at": "2007-06-02T10:00:00Z", "recorded_at": "2007-06-02T11:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "4010232137", "given_names": "Mia", "family_name": "Stone", "dob": "2015-02-03", "sex": "female"}]}
{"source": {"agency": "st-annes-gp", "record_id": "GP-2007-0602", "version": 1}, "kind": "health.gp_consultation", "occurred_at": "2007-06-02T09:00:00Z", "recorded_at": "2007-06-02T09:30:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "9434765919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male"}]}
{"source": {"agency": "haringate-csc", "record_id": "PLAN-2007-0610", "version": 1}, "kind": "social_care.plan", "occurred_at": "2007-06-10", "recorded_at": "2007-06-10T12:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "4010232137", "given_names": "Mia", "family_name": "Stone", "dob": "2015-02-03", "sex": "female"}], "outcome": {"plan": "looked_after", "status": "start"}}
{"source": {"agency": "haringate-csc", "record_id": "PLAN-2007-0620", "version": 1}, "kind": "social_care.plan", "occurred_at": "2007-06-20", "recorded_at": "2007-06-20T12:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "4010232137", "given_names": "Mia", "family_name": "Stone", "dob": "2015-02-03", "sex": "female"}], "outcome": {"plan": "looked_after", "status": "end"}}
{"source": {"agency": "haringate-csc", "record_id": "PLAN-2026-0101", "version": 1}, "kind": "social_care.plan", "occurred_at": "2026-01-10", "recorded_at": "2026-01-10T12:00:00Z", "persons": [{"ref": "c", "role": "subject", "given_names": "Baby", "family_name": "Quill", "sex": "unknown"}], "outcome": {"plan": "child_protection", "status": "start"}}
"#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// Haringate, its GP practice silent as CP-IS allows planned care.
fn organisation() -> Arc<Organisation> {
    let text = HARINGATE.replace(
        "service = \"gp\"\n",
        "service = \"gp\"\naccess_notice = \"silent\"\n",
    );
    Arc::new(Organisation::parse(&text).unwrap_or_else(|problems| panic!("{problems:?}")))
}

fn account(store: &dyn Store, username: &str, role: Role, agency: &str, team: &str) -> Account {
    create_account(
        store,
        &NewAccount {
            username: Username::parse(username).unwrap(),
            password: Password::parse("a long synthetic password").unwrap(),
            role,
            agency: AgencyId::parse(agency).unwrap(),
            team: Some(Team::parse(team).unwrap()),
        },
        &AuditActor::cli(),
        now(),
    )
    .unwrap()
}

fn ingest(store: &dyn Store, engine: &SharedEngine, text: &str) {
    let parsed = parse_batch(
        text.as_bytes(),
        Format::JsonLines,
        now(),
        &Limits::default(),
    )
    .expect("valid records");
    sightline_app::ingest_parsed(store, engine, parsed, now()).expect("ingest");
}

/// The person id of the child named `given`.
fn child(engine: &SharedEngine, given: &str) -> String {
    engine
        .read(|engine| {
            engine
                .facts()
                .values()
                .find(|facts| facts.is_child && facts.given_names.as_deref() == Some(given))
                .map(|facts| facts.id.clone())
        })
        .unwrap()
        .unwrap_or_else(|| panic!("no child {given}"))
}

fn read(
    store: &dyn Store,
    engine: &SharedEngine,
    account: &Account,
    child_id: &str,
    view: View,
    at: DateTime<Utc>,
) -> Option<sightline_store::NoticeRow> {
    engine
        .read(|engine| cpis::after_full_read(store, engine, account, child_id, view, at))
        .unwrap()
        .unwrap()
}

#[test]
fn reads_of_a_child_on_a_plan_tell_the_allocated_worker_or_the_duty_team() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        let store = store.as_ref();
        let engine = SharedEngine::load_configured(
            store,
            EngineConfig {
                organisation: organisation(),
                ..EngineConfig::default()
            },
            now(),
        )
        .unwrap();
        ingest(store, &engine, SAMPLE);
        ingest(store, &engine, MORE);
        let leo = child(&engine, "Leo");
        let mia = child(&engine, "Mia");
        engine
            .read(|engine| {
                let picture = Picture {
                    linked: engine.linked(),
                    facts: engine.facts(),
                    addresses: engine.addresses(),
                };
                let status = |id: &str| {
                    cpis::plan_status(picture, picture.child(id).unwrap(), now().date_naive())
                };
                assert_eq!(status(&leo), Some(PlanStatus::ChildProtectionPlan));
                // Looked after, then no longer: on no plan.
                assert_eq!(status(&mia), None);
                // A child protection plan of a child not yet born.
                let baby = engine
                    .facts()
                    .values()
                    .find(|facts| facts.is_child && facts.given_names.as_deref() == Some("Baby"))
                    .expect("the unborn child");
                assert_eq!(
                    cpis::plan_status(picture, baby, now().date_naive()),
                    Some(PlanStatus::UnbornChildProtectionPlan)
                );
            })
            .unwrap();

        let ed = account(
            store,
            "ed.nurse",
            Role::Practitioner,
            "north-general-ed",
            "majors",
        );
        let gp = account(
            store,
            "gp.doctor",
            Role::Practitioner,
            "st-annes-gp",
            "partners",
        );
        let csc = account(
            store,
            "csc.worker",
            Role::Practitioner,
            "haringate-csc",
            "duty",
        );
        let colleague = account(
            store,
            "csc.other",
            Role::Practitioner,
            "haringate-csc",
            "duty",
        );
        let police = account(
            store,
            "pc.reed",
            Role::Practitioner,
            "north-met-police",
            "cid",
        );

        // The emergency department opens Leo: his duty team is told (no worker
        // is allocated yet), once a day.
        let notice = read(store, &engine, &ed, &leo, View::Child, now()).expect("a notice");
        let told = &notice.notice;
        assert_eq!(told.kind, NOTICE_CPIS_ACCESS);
        assert_eq!(told.resource_key, format!("child:{leo}"));
        assert_eq!(told.to_agency.as_deref(), Some("haringate-csc"));
        assert_eq!(told.to_team.as_deref(), Some("team:haringate-csc/duty"));
        assert_eq!(told.to_user_id, None);
        assert_eq!(told.about_agency, "north-general-ed");
        assert_eq!(told.about_username.as_deref(), Some("ed.nurse"));
        assert_eq!(told.subject, "view_child");
        assert_eq!(
            told.detail,
            "child_protection_plan;practitioner;unscheduled_care"
        );
        assert_eq!(
            privacy::notice_why(told),
            "opened the child's page as a practitioner (Emergency and urgent care); the child is on a child protection plan"
        );
        assert_eq!(
            read(
                store,
                &engine,
                &ed,
                &leo,
                View::Chronology,
                now() + Duration::hours(3)
            ),
            None,
            "one notice per user, child and day"
        );
        // Another agency's user the same day is told about; so is the next day.
        assert!(read(store, &engine, &police, &leo, View::Person, now()).is_some());
        let next_day = now() + Duration::days(1);
        assert!(read(store, &engine, &ed, &leo, View::Chronology, next_day).is_some());

        // A silent GP practice, social care's own staff, a child on no plan:
        // nobody is told.
        assert_eq!(read(store, &engine, &gp, &leo, View::Child, now()), None);
        assert_eq!(read(store, &engine, &csc, &leo, View::Child, now()), None);
        assert_eq!(read(store, &engine, &ed, &mia, View::Child, now()), None);

        // An open alert about Leo assigned to a worker of the lead agency: the
        // allocated worker is told from then on.
        let alerts = store
            .alerts()
            .list(&AlertFilter {
                child_id: Some(leo.clone()),
                limit: 100,
                ..AlertFilter::default()
            })
            .unwrap();
        let alert = alerts
            .iter()
            .find(|alert| alert.routed_to == "team:haringate-csc/duty" && alert.status == "open")
            .expect("an open alert about Leo at the duty team");
        store
            .alerts()
            .assign(&Assignment {
                alert_id: alert.id.clone(),
                assignee: Some("csc.worker".into()),
                actor: "csc.worker".into(),
                at_us: sightline_app::to_micros(now()),
            })
            .unwrap();
        let later = now() + Duration::days(2);
        let notice = read(store, &engine, &ed, &leo, View::Child, later).expect("a notice");
        assert_eq!(notice.notice.to_user_id, Some(csc.id));
        assert_eq!(notice.notice.to_team, None);

        // Who reads them: the worker theirs (the one to them and those to their
        // team), the lead agency's managers all, another agency none.
        let told_scope = |account: &Account| privacy::notice_scope(account).unwrap();
        let worker_scope = told_scope(&csc);
        assert_eq!(
            worker_scope,
            NoticeScope::Told {
                user_id: csc.id,
                team: Some("team:haringate-csc/duty".into())
            }
        );
        assert_eq!(
            privacy::notices(store, &worker_scope, None, 100)
                .unwrap()
                .len(),
            4
        );
        let colleague_notices =
            privacy::notices(store, &told_scope(&colleague), None, 100).unwrap();
        assert_eq!(
            colleague_notices.len(),
            3,
            "the duty team's, not the worker's"
        );
        assert!(
            privacy::notices(store, &told_scope(&police), None, 100)
                .unwrap()
                .is_empty()
        );
        let manager = account(
            store,
            "csc.manager",
            Role::TeamManager,
            "haringate-csc",
            "duty",
        );
        assert_eq!(
            privacy::notices(store, &told_scope(&manager), None, 100)
                .unwrap()
                .iter()
                .filter(|row| row.notice.kind == NOTICE_CPIS_ACCESS)
                .count(),
            4
        );
        assert_eq!(
            privacy::count_recent_notices(store, &worker_scope, 7, later).unwrap(),
            4
        );
    }
}
