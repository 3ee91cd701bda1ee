//! The persons and review API against the real server on a free port, with a
//! fresh database holding the example family's records: staff sessions,
//! need-to-know views, the review decisions stored and applied, every call
//! audited.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_access::Role;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_testkit::server::{StaffSession as Staff, TestServer};
use std::sync::Arc;

/// The session cookie of `staff`, as a browser sends it.
fn cookie(staff: &Staff) -> String {
    format!("{}={}", sightline_web::SESSION_COOKIE, staff.secret)
}

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");
const POLICE: &str = "north-met-police/DA-2007-0412/c";
const REFERRAL: &str = "haringate-csc/REF-2007-0301/c";

struct TestApp {
    base: String,
    client: reqwest::Client,
    store: Arc<dyn sightline_store::Store>,
    server: TestServer,
}

impl TestApp {
    async fn spawn(db: sightline_testkit::TestDatabase) -> TestApp {
        let server = TestServer::start_with(db, |store| {
            let now = chrono::Utc::now();
            let records = parse_batch(
                SAMPLE.as_bytes(),
                Format::JsonLines,
                now,
                &Limits::default(),
            )
            .expect("valid sample");
            let engine = sightline_app::SharedEngine::load_default(store, now).expect("engine");
            sightline_app::ingest_parsed(store, &engine, records, now).expect("stored");
        })
        .await;
        TestApp {
            base: server.base.clone(),
            client: reqwest::Client::new(),
            store: server.store.clone(),
            server,
        }
    }

    fn staff(&self, username: &str, role: Role, agency: &str) -> Staff {
        self.server.staff(username, role, agency)
    }

    async fn get(&self, staff: Option<&Staff>, path: &str) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(staff) = staff {
            request = request.header("cookie", cookie(staff));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn decide(&self, staff: &Staff, csrf: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/v1/linkage/review", self.base))
            .header("cookie", cookie(staff))
            .json(&body);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn audited_actions(&self) -> Vec<(String, String, String)> {
        sightline_testkit::server::sync(|| self.store.audit().audit_entries(0, 10_000))
            .unwrap()
            .into_iter()
            .map(|row| (row.actor_username, row.action, row.outcome))
            .collect()
    }
}

fn search_path(name: &str, dob: &str) -> String {
    format!(
        "/api/v1/persons?name={}&dob={dob}",
        name.replace(' ', "%20")
    )
}

async fn without_a_session_nothing_is_answered(db: sightline_testkit::TestDatabase) {
    let app = TestApp::spawn(db).await;
    for path in [
        "/api/v1/persons/p-0000000000000000",
        "/api/v1/persons?name=Leo",
        "/api/v1/linkage/review",
    ] {
        let (status, body) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "unauthorized", "{path}: {body}");
    }
    let response = app
        .client
        .post(format!("{}/api/v1/linkage/review", app.base))
        .header("cookie", "sightline_session=forged")
        .json(&json!({"left": POLICE, "right": REFERRAL, "verdict": "match", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        sightline_testkit::server::sync(|| app.store.linkage().decisions(0, 10))
            .unwrap()
            .is_empty()
    );
}

async fn practitioners_search_and_see_persons_on_a_need_to_know_basis(
    db: sightline_testkit::TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let practitioner = app.staff("csc.worker", Role::Practitioner, "haringate-csc");
    let (status, body) = app
        .get(Some(&practitioner), &search_path("leo marsh", "2006-03-01"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let leo = body["persons"][0].clone();
    assert_eq!(leo["identity"]["given_names"], "Leo");
    assert_eq!(leo["identity"]["nhs_number"], "*** *** *919");
    let leo_id = leo["id"].as_str().unwrap().to_owned();

    // Social care recorded Leo: the full view, with every mention and the evidence.
    let (status, body) = app
        .get(Some(&practitioner), &format!("/api/v1/persons/{leo_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["view"], "full");
    assert_eq!(body["detail"]["mentions"].as_array().unwrap().len(), 5);
    assert_eq!(body["detail"]["identity"]["nhs_number"], "943 476 5919");
    let links = body["detail"]["links"].as_array().unwrap();
    assert!(!links.is_empty());
    assert!(
        links
            .iter()
            .all(|link| !link["fields"].as_array().unwrap().is_empty())
    );

    // A name alone finds Tina (searched in every birth year the log holds).
    let (status, body) = app
        .get(Some(&practitioner), &search_path("Tina Marsh", ""))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["persons"][0]["identity"]["given_names"], "Tina",
        "{body}"
    );

    // Jason (no date of birth) was only recorded by the ED: minimal view for
    // social care.
    let jason_id = {
        let state = sightline_testkit::server::sync(|| {
            sightline_app::persons::LinkedState::load(app.store.as_ref())
        })
        .unwrap();
        let persons = sightline_app::persons::partition(&state.linked);
        persons
            .iter()
            .find(|(_, keys)| {
                keys.iter()
                    .any(|key| key == "north-general-ed/ED-77813/nok")
            })
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let (status, body) = app
        .get(Some(&practitioner), &format!("/api/v1/persons/{jason_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["view"], "minimal");
    assert!(body["detail"].is_null());
    assert_eq!(body["summary"]["agencies"], json!(["north-general-ed"]));

    let (status, _) = app
        .get(Some(&practitioner), "/api/v1/persons/p-0000000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing asked, nothing found (a parameter set the OpenAPI document
    // allows is answered; it cannot say "a name or a date of birth").
    let (status, body) = app.get(Some(&practitioner), "/api/v1/persons").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["persons"], json!([]));
    // What the document forbids is refused.
    for query in [
        "dob=2015-02-30",
        "dob=15",
        "limit=0",
        "limit=51",
        "name=%07x",
    ] {
        let (status, body) = app
            .get(Some(&practitioner), &format!("/api/v1/persons?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    // Only leads review the linkage.
    let (status, _) = app.get(Some(&practitioner), "/api/v1/linkage/review").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Roles without casework never search.
    let admin = app.staff("it.admin", Role::Administrator, "haringate-csc");
    let (status, _) = app
        .get(Some(&admin), &search_path("leo marsh", "2006-03-01"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let audited = app.audited_actions();
    // Each search hit is audited on the person it names (finding 11).
    let hits: Vec<(String, String)> =
        sightline_testkit::server::sync(|| app.store.audit().audit_entries(0, 10_000))
            .unwrap()
            .into_iter()
            .filter(|row| row.action == "view_search_hit" && row.actor_username == "csc.worker")
            .map(|row| (row.resource_key, row.outcome))
            .collect();
    assert!(
        hits.contains(&(format!("child:{leo_id}"), "full".to_owned())),
        "{hits:?}"
    );
    for (user, action, outcome) in [
        ("csc.worker", "search_persons", "full"),
        ("csc.worker", "view_person", "full"),
        ("csc.worker", "view_person", "minimal"),
        ("csc.worker", "review_linkage", "deny"),
        ("it.admin", "search_persons", "deny"),
    ] {
        assert!(
            audited
                .iter()
                .any(|row| row == &(user.to_owned(), action.to_owned(), outcome.to_owned())),
            "{user} {action} {outcome} not audited: {audited:?}"
        );
    }
}

async fn a_lead_splits_a_person_and_undoes_it(db: sightline_testkit::TestDatabase) {
    let app = TestApp::spawn(db).await;
    let lead = app.staff("csc.lead", Role::SafeguardingLead, "haringate-csc");
    let (status, body) = app.get(Some(&lead), "/api/v1/linkage/review").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["pairs"].is_array());

    let split = json!({"left": POLICE, "right": REFERRAL, "verdict": "non_match",
        "reason": "different child: checked date of birth with the school"});
    // No CSRF token, or a wrong one: refused, nothing stored.
    for csrf in [None, Some("wrong")] {
        let (status, _) = app.decide(&lead, csrf, split.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert!(
        sightline_testkit::server::sync(|| app.store.linkage().decisions(0, 10))
            .unwrap()
            .is_empty()
    );

    let (status, body) = app.decide(&lead, Some(&lead.csrf), split).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["decision"]["verdict"], "non_match");
    assert_eq!(body["decision"]["actor"], "csc.lead");
    assert_ne!(body["left_person"], body["right_person"]);
    let referral_person = body["decision"]["left"].clone();
    assert_eq!(referral_person, REFERRAL);

    // The search sees the split: two Leos now.
    let (_, found) = app
        .get(Some(&lead), &search_path("leo marsh", "2006-03-01"))
        .await;
    let leos = found["persons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|person| person["identity"]["given_names"] == "Leo")
        .count();
    assert_eq!(leos, 2, "{found}");

    let (status, body) = app
        .decide(
            &lead,
            Some(&lead.csrf),
            json!({"left": REFERRAL, "right": POLICE, "verdict": "withdrawn", "reason": "the school had it wrong"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["left_person"], body["right_person"]);
    assert_eq!(
        sightline_testkit::server::sync(|| app.store.linkage().decisions(0, 10))
            .unwrap()
            .len(),
        2
    );

    for (bad, code) in [
        (
            json!({"left": POLICE, "right": "nobody/1/c", "verdict": "match", "reason": "same"}),
            "unknown_mention",
        ),
        (
            json!({"left": POLICE, "right": REFERRAL, "verdict": "perhaps", "reason": "same"}),
            "invalid_decision",
        ),
        (
            json!({"left": POLICE, "right": REFERRAL, "verdict": "match", "reason": "  "}),
            "invalid_decision",
        ),
    ] {
        let (status, body) = app.decide(&lead, Some(&lead.csrf), bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    assert_eq!(
        sightline_testkit::server::sync(|| app.store.linkage().decisions(0, 10))
            .unwrap()
            .len(),
        2
    );
    let decided: Vec<_> = app
        .audited_actions()
        .into_iter()
        .filter(|(_, action, _)| action == "decide_linkage")
        .map(|(_, _, outcome)| outcome)
        .collect();
    // The three unusable requests were refused, and audited as refused.
    assert_eq!(
        decided,
        vec!["non_match", "withdrawn", "refused", "refused", "refused"]
    );
}

async fn the_openapi_document_lists_the_persons_api(db: sightline_testkit::TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app.get(None, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/persons/{id}",
        "/api/v1/persons",
        "/api/v1/linkage/review",
    ] {
        assert!(body["paths"][path].is_object(), "{path} missing");
    }
    assert!(body["paths"]["/api/v1/linkage/review"]["post"].is_object());
    assert!(body["components"]["securitySchemes"]["session"].is_object());
}

/// Erasing Tina in the server (as the retention workflow does): search,
/// the persons API and the record page forget her at once; the record page
/// says who was erased, when and why; the audit chain verifies.
async fn an_erased_person_is_gone_from_search_and_pages(db: sightline_testkit::TestDatabase) {
    let app = TestApp::spawn(db).await;
    let practitioner = app.staff("gp.worker", Role::Practitioner, "st-annes-gp");
    let (status, body) = app
        .get(
            Some(&practitioner),
            &search_path("Tina Marsh", "1981-09-20"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tina_id = body["persons"][0]["id"].as_str().unwrap().to_owned();
    let record_page = |app: &TestApp| {
        let request = app
            .client
            .get(format!("{}/records/st-annes-gp/GP-2007-0113", app.base))
            .header("cookie", cookie(&practitioner));
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, before) = record_page(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(before.contains("Tina Marsh"), "{before}");

    let now = chrono::Utc::now();
    let reason = "Erasure request ER-2026-14 from the data subject, approved by the DPO";
    let erased = sightline_testkit::server::sync(|| {
        sightline_app::erasure::erase_person_in(
            &app.server.state.engine,
            app.store.as_ref(),
            &tina_id,
            reason,
            &sightline_app::audit::AuditActor::cli(),
            now,
        )
    })
    .unwrap();
    assert_eq!(erased.n_records, 2);
    assert_eq!(erased.n_keys, 2);

    for path in [
        search_path("Tina Marsh", "1981-09-20"),
        search_path("Tina Marsh", ""),
        search_path("Marsh", "1981-09-20"),
    ] {
        let (status, body) = app.get(Some(&practitioner), &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body.to_string().contains("Tina"), "{path}: {body}");
        assert!(!body.to_string().contains("1981-09-20"), "{path}: {body}");
    }
    // Her mentions remain as a person with no identifying value.
    let (status, body) = app
        .get(Some(&practitioner), &format!("/api/v1/persons/{tina_id}"))
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::OK,
        "{status}"
    );
    for value in ["Tina", "1981-09-20", "Marsh"] {
        assert!(!body.to_string().contains(value), "{value} in {body}");
    }
    let (status, after) = record_page(&app).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert!(!after.contains("Tina"), "{after}");
    assert!(!after.contains("20 September 1981"), "{after}");
    let on = sightline_core::dates::date_of(now);
    assert!(
        after.contains(&format!("Parent, erased on {on} ({reason})")),
        "{after}"
    );
    assert!(after.contains("Leo Marsh"), "{after}");
    let verified =
        sightline_testkit::server::sync(|| sightline_app::audit::verify_audit(app.store.as_ref()));
    assert!(matches!(verified, Ok(Ok(_))), "{verified:?}");
    assert!(
        app.audited_actions()
            .iter()
            .any(|(actor, action, outcome)| actor == "cli"
                && action == "erase_person"
                && outcome == "ok")
    );
}

sightline_testkit::on_every_backend!(
    an_erased_person_is_gone_from_search_and_pages,
    without_a_session_nothing_is_answered,
    practitioners_search_and_see_persons_on_a_need_to_know_basis,
    a_lead_splits_a_person_and_undoes_it,
    the_openapi_document_lists_the_persons_api,
);
