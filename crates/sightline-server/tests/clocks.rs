//! Statutory clocks on every surface (the `/api/v1/clocks` API, *My work* and
//! the child page) against the real server, on SQLite and PostgreSQL: the
//! clocks of the children an agency holds, overdue first; need-to-know for
//! another agency; every read audited under the `view_clocks` view.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_access::Role;
use sightline_core::AgencyId;
use sightline_rules::calendar::add_working_days;
use sightline_testkit::server::{StaffSession, TestServer, sync};

const COUNCIL: &str = "haringey-cs";

/// `days` days before today.
fn days_ago(days: i64) -> chrono::NaiveDate {
    (Utc::now() - Duration::days(days)).date_naive()
}

fn referral(record_id: &str, occurred: &str, recorded: &str, decision: Option<&str>) -> Value {
    let mut outcome = json!({"referrer_agency": "north-met-police"});
    if let Some(decision) = decision {
        outcome["decision"] = json!(decision);
    }
    json!({
        "source": {"agency": COUNCIL, "record_id": record_id, "version": 1},
        "kind": "social_care.referral",
        "occurred_at": occurred,
        "recorded_at": recorded,
        "persons": [{"ref": "c", "role": "subject", "source_person_id": "CSC-1",
                     "given_names": "Leo", "family_name": "Marsh", "dob": days_ago(900).to_string(),
                     "sex": "male"}],
        "outcome": outcome,
    })
}

/// A server holding two referrals about a two-year-old: one from 30 days ago
/// never decided (its 1-working-day clock overdue) and one from yesterday that
/// led to an assessment (its 45-working-day clock running).
async fn council_with_clocks(db: sightline_testkit::TestDatabase) -> TestServer {
    let mut token = String::new();
    let server = TestServer::start_with(db, |store| {
        let agency = AgencyId::parse(COUNCIL).unwrap();
        token = sightline_app::create_token(store, &agency, Utc::now())
            .unwrap()
            .secret;
    })
    .await;
    let recorded = (Utc::now() - Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let month_ago = days_ago(30).to_string();
    let body = [
        referral(
            "REF-OLD-1",
            &month_ago,
            &format!("{month_ago}T15:00:00Z"),
            None,
        ),
        referral(
            "REF-NOW-2",
            &days_ago(1).to_string(),
            &recorded,
            Some("assessment"),
        ),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/records"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    server
}

async fn get_json(
    server: &TestServer,
    staff: Option<&StaffSession>,
    path: &str,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(staff) = staff {
        request = request.bearer_auth(&staff.secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_page(server: &TestServer, staff: &StaffSession, path: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .header(
            "cookie",
            format!("{}={}", sightline_web::SESSION_COOKIE, staff.secret),
        )
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

fn rules_and_statuses(list: &Value) -> Vec<(String, String)> {
    list["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|clock| {
            (
                clock["rule"].as_str().unwrap().to_owned(),
                clock["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn audit_actions(server: &TestServer, username: &str) -> Vec<String> {
    sync(|| sightline_app::audit::recent_entries(server.store.as_ref(), None, 1_000))
        .unwrap()
        .into_iter()
        .filter(|row| row.actor_username == username)
        .map(|row| row.action)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn clocks_due_for_an_agency_overdue_first_on_every_backend() {
    for db in sightline_testkit::server::all_databases() {
        let server = council_with_clocks(db).await;
        let backend = server.backend;
        let worker = server.staff("worker", Role::Practitioner, COUNCIL);

        // The default window (10 days): only the overdue clock.
        let (status, list) = get_json(&server, Some(&worker), "/api/v1/clocks").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {list}");
        assert_eq!(
            rules_and_statuses(&list),
            vec![("referral_decision_overdue".to_owned(), "overdue".to_owned())],
            "{backend:?}"
        );
        let overdue = &list["clocks"][0];
        assert_eq!(overdue["started_by"]["record_id"], "REF-OLD-1");
        assert_eq!(overdue["since"], days_ago(30).to_string());
        assert_eq!(
            overdue["deadline"],
            add_working_days(days_ago(30), 1).to_string()
        );
        let late = overdue["working_days_left"].as_i64().unwrap();
        assert!((-22..=-15).contains(&late), "{late}");

        // 100 days ahead: the running assessment clock too, after the overdue one.
        let (_, list) =
            get_json(&server, Some(&worker), "/api/v1/clocks?due_within_days=100").await;
        assert_eq!(
            rules_and_statuses(&list),
            vec![
                ("referral_decision_overdue".to_owned(), "overdue".to_owned()),
                ("assessment_overdue".to_owned(), "running".to_owned()),
            ],
            "{backend:?}"
        );
        let yesterday = days_ago(1);
        let running = &list["clocks"][1];
        assert_eq!(
            running["deadline"],
            add_working_days(yesterday, 45).to_string()
        );
        assert_eq!(running["period"], "45 working days");
        let left = running["working_days_left"].as_i64().unwrap();
        assert!((43..=45).contains(&left), "{left}");

        let (status, _) =
            get_json(&server, Some(&worker), "/api/v1/clocks?due_within_days=401").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = get_json(&server, None, "/api/v1/clocks").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The child's clocks: the same two.
        let child = overdue["child"].as_str().unwrap().to_owned();
        let (status, mine) = get_json(
            &server,
            Some(&worker),
            &format!("/api/v1/children/{child}/clocks"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(rules_and_statuses(&mine), rules_and_statuses(&list));

        // Another agency has no relationship with the child: no clocks of it.
        let police = server.staff("officer", Role::Practitioner, "north-met-police");
        let (status, theirs) =
            get_json(&server, Some(&police), "/api/v1/clocks?due_within_days=100").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(theirs["clocks"], json!([]));
        let (status, _) = get_json(
            &server,
            Some(&police),
            &format!("/api/v1/children/{child}/clocks"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A role without casework gets no caseload.
        let admin = server.staff("admin", Role::Administrator, COUNCIL);
        let (status, _) = get_json(&server, Some(&admin), "/api/v1/clocks").await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Every read is audited under the clocks view; the chain still verifies.
        let actions = audit_actions(&server, "worker");
        assert_eq!(
            actions
                .iter()
                .filter(|action| *action == "view_clocks")
                .count(),
            3,
            "{actions:?}"
        );
        let officer_actions = audit_actions(&server, "officer");
        assert_eq!(
            officer_actions
                .iter()
                .filter(|action| *action == "view_clocks")
                .count(),
            2,
            "{officer_actions:?}"
        );
        assert!(
            sync(|| sightline_app::audit::verify_audit(server.store.as_ref()))
                .unwrap()
                .is_ok()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn my_work_and_the_child_page_show_the_clocks_on_every_backend() {
    for db in sightline_testkit::server::all_databases() {
        let server = council_with_clocks(db).await;
        let backend = server.backend;
        let worker = server.staff("worker", Role::Practitioner, COUNCIL);
        let (status, page) = get_page(&server, &worker, "/my-work").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}");
        let section = &page[page
            .find("Statutory clocks due soon")
            .expect("clocks section")..];
        assert!(section.contains("Referral without a decision within 1 working day"));
        assert!(section.contains("Leo Marsh"), "{section}");
        assert!(section.contains("Overdue by"), "{section}");
        // Running clocks further than 10 days away wait for the child page.
        assert!(
            !section[..section.find("</section>").unwrap()].contains("Child and family assessment")
        );

        let (_, list) = get_json(&server, Some(&worker), "/api/v1/clocks").await;
        let child = list["clocks"][0]["child"].as_str().unwrap().to_owned();
        let (status, page) = get_page(&server, &worker, &format!("/children/{child}")).await;
        assert_eq!(status, StatusCode::OK);
        let section = &page[page.find("Statutory clocks").expect("clocks section")..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(
            section.contains("Child and family assessment not completed within 45 working days")
        );
        assert!(section.contains(">Running<"), "{section}");
        assert!(section.contains(">Overdue<"), "{section}");
        assert!(section.contains("REF-NOW-2"));

        let actions = audit_actions(&server, "worker");
        assert!(actions.contains(&"view_child".to_owned()), "{actions:?}");
        assert!(actions.contains(&"view_clocks".to_owned()), "{actions:?}");
    }
}
