//! CP-IS notices against a real server with a fresh database, on every
//! backend: the example family (Leo on a child protection plan at Haringate)
//! and Mia (on no plan). An emergency department nurse opens Leo: the duty
//! worker's My work counts the notice and links to it, /notices and the API
//! list it; the silent GP practice opens Leo: no notice, the read audited; the
//! nurse opens Mia: no notice; another nurse opens the department's record of
//! Leo: a notice naming the record page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_access::Role;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_core::org::Organisation;
use sightline_store::{AuditQuery, NOTICE_CPIS_ACCESS, NoticeFilter};
use sightline_testkit::TestDatabase;
use sightline_testkit::server::ServerConfig;
use sightline_testkit::server::{StaffSession, TestServer, sync};
use std::sync::Arc;

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");
const HARINGATE: &str = include_str!("../../../examples/organisation.toml");

/// Leo's child protection plan, Mia's emergency attendance, and Leo's GP
/// consultation (so the GP practice reads him in full).
const MORE: &str = r#"{"source": {"agency": "haringate-csc", "record_id": "PLAN-2007-0601", "version": 1}, "kind": "social_care.plan", "occurred_at": "2007-06-01", "recorded_at": "2007-06-01T12:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "9434765919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male"}], "outcome": {"plan": "child_protection", "status": "start", "category": "physical_abuse"}}
{"source": {"agency": "north-general-ed", "record_id": "ED-90001", "version": 1}, "kind": "health.ed_attendance", "occurred_at": "2007-06-02T10:00:00Z", "recorded_at": "2007-06-02T11:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "4010232137", "given_names": "Mia", "family_name": "Stone", "dob": "2015-02-03", "sex": "female"}]}
"#;

fn cookie(staff: &StaffSession) -> String {
    format!("{}={}", sightline_web::SESSION_COOKIE, staff.secret)
}

async fn get(server: &TestServer, staff: &StaffSession, path: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .header("cookie", cookie(staff))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn child_id(server: &TestServer, given: &str) -> String {
    server
        .state
        .engine
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

fn cpis_notices(server: &TestServer) -> Vec<sightline_store::NoticeRow> {
    sync(|| {
        server.store.access().notices(&NoticeFilter {
            limit: 100,
            ..NoticeFilter::default()
        })
    })
    .unwrap()
    .into_iter()
    .filter(|row| row.notice.kind == NOTICE_CPIS_ACCESS)
    .collect()
}

async fn an_emergency_read_of_a_child_on_a_plan_reaches_the_duty_workers_my_work(db: TestDatabase) {
    let text = HARINGATE.replace(
        "service = \"gp\"\n",
        "service = \"gp\"\naccess_notice = \"silent\"\n",
    );
    let organisation = Arc::new(Organisation::parse(&text).unwrap());
    let mut config = ServerConfig::default();
    config.engine.organisation = organisation.clone();
    let server = TestServer::start_configured(db, config, |store| {
        let now = chrono::Utc::now();
        let engine = sightline_app::SharedEngine::load_configured(
            store,
            sightline_app::EngineConfig {
                organisation,
                ..sightline_app::EngineConfig::default()
            },
            now,
        )
        .unwrap();
        for text in [SAMPLE, MORE] {
            let records = parse_batch(text.as_bytes(), Format::JsonLines, now, &Limits::default())
                .expect("valid records");
            sightline_app::ingest_parsed(store, &engine, records, now).expect("stored");
        }
    })
    .await;
    let leo = child_id(&server, "Leo");
    let mia = child_id(&server, "Mia");
    let duty = server.staff_in_team(
        "csc.duty",
        Role::Practitioner,
        "haringate-csc",
        Some("duty"),
    );
    let nurse = server.staff("ed.nurse", Role::Practitioner, "north-general-ed");
    let gp = server.staff("gp.doctor", Role::Practitioner, "st-annes-gp");

    // Nothing yet: the duty worker's My work has no notices section.
    let (_, my_work) = get(&server, &duty, "/my-work").await;
    assert!(!my_work.contains("href=\"/notices\""), "{my_work}");

    // The silent GP practice opens Leo in full: no notice, the read audited.
    let (status, page) = get(&server, &gp, &format!("/children/{leo}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Leo"), "{page}");
    assert!(cpis_notices(&server).is_empty());
    let gp_reads = sync(|| {
        server.store.access().audit_search(&AuditQuery {
            action: Some("view_child".into()),
            limit: 100,
            ..AuditQuery::default()
        })
    })
    .unwrap();
    assert!(
        gp_reads.iter().any(|row| row.actor_username == "gp.doctor"
            && row.resource_key == format!("child:{leo}")
            && row.outcome == "full"),
        "{gp_reads:?}"
    );

    // The nurse opens Mia (on no plan): no notice.
    let (status, _) = get(&server, &nurse, &format!("/children/{mia}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cpis_notices(&server).is_empty());

    // The nurse opens Leo, then his chronology: one notice to the duty team.
    let (status, _) = get(&server, &nurse, &format!("/children/{leo}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&server, &nurse, &format!("/children/{leo}/chronology")).await;
    assert_eq!(status, StatusCode::OK);
    let notices = cpis_notices(&server);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].notice.to_team.as_deref(),
        Some("team:haringate-csc/duty")
    );

    // The duty worker: My work counts it and links to it; /notices says who,
    // where, which page and why, and links to Leo.
    let (_, my_work) = get(&server, &duty, "/my-work").await;
    assert!(my_work.contains("href=\"/notices\""), "{my_work}");
    assert!(
        my_work.contains("<strong>1</strong> notice in the last"),
        "{my_work}"
    );
    let (status, page) = get(&server, &duty, "/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("ed.nurse (North General Hospital emergency department)"),
        "{page}"
    );
    assert!(
        page.contains(
            "opened the child&#x27;s page as a practitioner (Emergency and urgent care); the child is on a child protection plan"
        ),
        "{page}"
    );
    // minijinja escapes the slashes of the link.
    assert!(
        page.contains(&format!("href=\"&#x2f;children&#x2f;{leo}\"")),
        "{page}"
    );
    assert!(page.contains("Leo Marsh"), "{page}");

    // The API says the same.
    let (status, body) = get(&server, &duty, "/api/v1/notices").await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listed = body["notices"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["kind"], "cpis_access");
    assert_eq!(listed[0]["child_id"], leo.as_str());
    assert_eq!(listed[0]["about_username"], "ed.nurse");
    assert_eq!(listed[0]["about_agency"], "north-general-ed");
    assert_eq!(listed[0]["told"], "duty_team");
    assert_eq!(listed[0]["to_team"], "team:haringate-csc/duty");
    assert_eq!(listed[0]["subject"], "view_child");

    // Another nurse opens the emergency department's record of Leo: a
    // notice naming the record page.
    let colleague = server.staff("ed.colleague", Role::Practitioner, "north-general-ed");
    let (status, _) = get(&server, &colleague, "/records/north-general-ed/ED-77813").await;
    assert_eq!(status, StatusCode::OK);
    let notices = cpis_notices(&server);
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!(notices[0].notice.subject, "view_record");
    assert_eq!(
        notices[0].notice.about_username.as_deref(),
        Some("ed.colleague")
    );
    assert_eq!(notices[0].notice.resource_key, format!("child:{leo}"));
    let (_, my_work) = get(&server, &duty, "/my-work").await;
    assert!(
        my_work.contains("<strong>2</strong> notices in the last"),
        "{my_work}"
    );

    // Others are not told: the nurse's own notices are none.
    let (_, body) = get(&server, &nurse, "/api/v1/notices").await;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(body["notices"].as_array().unwrap().is_empty(), "{body}");
}

sightline_testkit::on_every_backend!(
    an_emergency_read_of_a_child_on_a_plan_reaches_the_duty_workers_my_work
);
