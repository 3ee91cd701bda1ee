//! The privacy officer's subject access pages against a real server with a
//! fresh database, on every backend: find an adult by name and date of birth,
//! produce their bundle in the browser (the CLI's renderer, its stylesheet
//! linked), download it as HTML and JSON, third parties redacted; disclose one
//! third party of one record with a reason (CSRF, refusals, audited), and the
//! next bundle shows them in that record only and lists the disclosure;
//! casework staff refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_access::Role;
use sightline_app::accounts::DemoAccount;
use sightline_core::AgencyId;
use sightline_store::{NewRecord, Store};
use sightline_testkit::TestDatabase;
use sightline_testkit::server::{TestServer, browser, csrf_of, login_form, post_form, sync};
use std::sync::Arc;

struct App {
    base: String,
    store: Arc<dyn Store>,
    demo: Vec<DemoAccount>,
    _server: TestServer,
}

const SAR_REASON: &str = "Subject access request SAR-2026-041 received by letter on 1 December.";
const DISCLOSE_REASON: &str =
    "The requester named her partner in the request and he consented in writing.";

/// An ED attendance about Leo (a child), naming his mother Tina and her
/// partner Jason, whom the narrative also names.
fn record(agency: &str, record_id: &str) -> NewRecord {
    let body = serde_json::json!({
        "source": {"agency": agency, "record_id": record_id, "version": 1},
        "kind": "health.gp_consultation",
        "occurred_at": "2019-01-13",
        "recorded_at": "2019-01-13T11:00:00Z",
        "persons": [
            {"ref": "c", "role": "subject", "given_names": "Leo", "family_name": "Marsh",
             "dob": "2016-03-01", "sex": "male", "nhs_number": "9434765919"},
            {"ref": "m", "role": "parent", "given_names": "Tina", "family_name": "Marsh",
             "dob": "1981-09-20", "sex": "female"},
            {"ref": "j", "role": "other", "given_names": "Jason", "family_name": "Owen",
             "dob": "1979-02-03", "sex": "male", "nhs_number": "4010232137"}
        ],
        "narrative": "Tina Marsh brought Leo. Jason Owen waited outside.",
    });
    NewRecord {
        agency: agency.into(),
        record_id: record_id.into(),
        version: 1,
        kind: "health.gp_consultation".into(),
        occurred_at: "2019-01-13".into(),
        occurred_start_us: 1_547_337_600_000_000,
        recorded_at_us: 1_547_377_200_000_000,
        received_at_us: 1_547_380_800_000_000,
        content_hash: sightline_app::content_hash(&body.to_string()),
        body: body.to_string(),
    }
}

impl App {
    async fn spawn(db: TestDatabase) -> App {
        let mut demo = Vec::new();
        let server = TestServer::start_with(db, |store| {
            demo = sightline_app::accounts::create_demo_accounts(
                store,
                &AgencyId::parse("health").unwrap(),
                chrono::Utc::now(),
            )
            .unwrap();
            let mut tx = store.begin().unwrap();
            tx.append(&[record("health", "GP-1"), record("health", "GP-2")])
                .unwrap();
            tx.commit().unwrap();
        })
        .await;
        App {
            base: server.base.clone(),
            store: server.store.clone(),
            demo,
            _server: server,
        }
    }

    async fn sign_in(&self, role: Role) -> (reqwest::Client, String) {
        let account = self
            .demo
            .iter()
            .find(|account| account.role == role)
            .unwrap();
        let client = browser();
        let response = login_form(&client, &self.base, &account.username, &account.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = self.get(&client, "/my-work").await.1;
        (client, csrf_of(&page))
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, decoded(&response.text().await.unwrap()))
    }

    fn person(&self, given: &str) -> String {
        let snapshot = sync(|| sightline_app::views::Snapshot::load(self.store.as_ref())).unwrap();
        snapshot
            .facts
            .values()
            .find(|facts| facts.given_names.as_deref() == Some(given))
            .unwrap()
            .id
            .clone()
    }
}

fn decoded(page: &str) -> String {
    page.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

async fn the_privacy_officer_answers_a_subject_access_request(db: TestDatabase) {
    let app = App::spawn(db).await;
    let tina = app.person("Tina");
    let (privacy, csrf) = app.sign_in(Role::PrivacyOfficer).await;

    // Found by name and date of birth (an adult), and by id.
    let (status, page) = app
        .get(&privacy, "/privacy/sar?name=Tina+Marsh&dob=20%2F09%2F1981")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("/privacy/sar/{tina}")), "{page}");
    let response = privacy
        .get(format!("{}/privacy/sar?person={tina}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = app
        .get(&privacy, "/privacy/sar?person=p-0123456789abcdef")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("No person has this id"), "{page}");

    // The person's page lists the third parties as items, without values.
    let (status, page) = app.get(&privacy, &format!("/privacy/sar/{tina}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("health/GP-1#j"), "{page}");
    assert!(page.contains("health/GP-1#c"), "{page}");
    assert!(!page.contains("Jason") && !page.contains("Owen"), "{page}");

    let bundle_url = format!("{}/privacy/sar/{tina}/bundle", app.base);
    let unredact_url = format!("{}/privacy/sar/{tina}/unredact", app.base);
    // Refused: no CSRF token; a reason that is not a sentence.
    let response = post_form(
        &privacy,
        &bundle_url,
        &[("reason", SAR_REASON), ("format", "page")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post_form(
        &privacy,
        &bundle_url,
        &[("csrf_token", &csrf), ("reason", "sar"), ("format", "page")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("There is a problem")
    );

    // The bundle in the browser: third parties redacted, the stylesheet linked.
    let response = post_form(
        &privacy,
        &bundle_url,
        &[
            ("csrf_token", &csrf),
            ("reason", SAR_REASON),
            ("format", "page"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = decoded(&response.text().await.unwrap());
    assert!(
        page.contains("<h1>Subject access: what Sightline holds about person"),
        "{page}"
    );
    assert!(page.contains("href=\"/static/sar.css\""), "{page}");
    assert!(!page.contains("<style>"));
    assert!(page.contains("Tina"));
    for leaked in ["Jason", "Owen", "1979-02-03", "4010232137", "Leo"] {
        assert!(!page.contains(leaked), "{leaked} in {page}");
    }
    assert!(page.contains("[redacted: third party]"));
    assert!(page.contains("(item health/GP-1#j)"), "{page}");
    let (status, css) = app.get(&privacy, "/static/sar.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains("@media print"));

    // Disclosing: refused without a sentence, for an item that is not one of
    // hers, and for the subject herself.
    for (item, reason, expected) in [
        ("health/GP-1#j", "ok", "sentence"),
        ("health/GP-9#j", DISCLOSE_REASON, "No third party"),
        ("health/GP-1#m", DISCLOSE_REASON, "No third party"),
        ("<script>", DISCLOSE_REASON, "No third party"),
    ] {
        let response = post_form(
            &privacy,
            &unredact_url,
            &[("csrf_token", &csrf), ("item", item), ("reason", reason)],
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{item}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(expected), "{expected}: {page}");
        assert!(!page.contains("<script>"));
    }
    let response = post_form(
        &privacy,
        &unredact_url,
        &[
            ("csrf_token", &csrf),
            ("item", "health/GP-1#j"),
            ("reason", DISCLOSE_REASON),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get(&privacy, &format!("/privacy/sar/{tina}")).await;
    assert!(page.contains("1 disclosed"), "{page}");
    assert!(page.contains(DISCLOSE_REASON));

    // The JSON: Jason shown in GP-1 only, Leo still redacted, the disclosure listed.
    let response = post_form(
        &privacy,
        &bundle_url,
        &[
            ("csrf_token", &csrf),
            ("reason", SAR_REASON),
            ("format", "json"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(&format!("sar-{tina}.json"))
    );
    let json: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(json["disclosures"].as_array().unwrap().len(), 1);
    assert_eq!(json["disclosures"][0]["item"], "health/GP-1#j");
    assert_eq!(json["disclosures"][0]["reason"], DISCLOSE_REASON);
    let records = json["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    for record in records {
        let text = record["body"].to_string();
        assert!(!text.contains("Leo"), "{text}");
        let jason = record["third_parties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|third| third["ref"] == "j")
            .unwrap();
        if record["record_id"] == "GP-1" {
            assert_eq!(jason["disclosed"], true);
            assert!(
                text.contains("Jason") && text.contains("4010232137"),
                "{text}"
            );
            assert!(text.contains("Jason Owen waited outside"), "{text}");
        } else {
            assert_eq!(jason["disclosed"], false);
            assert!(!text.contains("Jason") && !text.contains("Owen"), "{text}");
        }
    }

    // The HTML download stands alone (stylesheet inside) and lists the disclosure.
    let response = post_form(
        &privacy,
        &bundle_url,
        &[
            ("csrf_token", &csrf),
            ("reason", SAR_REASON),
            ("format", "html"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(&format!("sar-{tina}.html"))
    );
    let html = decoded(&response.text().await.unwrap());
    assert!(html.contains("<style>"));
    assert!(html.contains("Third parties disclosed") && html.contains(DISCLOSE_REASON));

    // Casework staff are refused every page.
    let (lead, lead_csrf) = app.sign_in(Role::SafeguardingLead).await;
    let (status, _) = app.get(&lead, "/privacy/sar").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&lead, &format!("/privacy/sar/{tina}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = post_form(
        &lead,
        &unredact_url,
        &[
            ("csrf_token", &lead_csrf),
            ("item", "health/GP-1#c"),
            ("reason", DISCLOSE_REASON),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Audited: three bundles with their reason, one disclosure with its item
    // and reason, the page views; one un-redaction stored.
    let entries = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                resource_keys: Some(vec![format!("person:{tina}")]),
                limit: 200,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    let count = |action: &str| entries.iter().filter(|row| row.action == action).count();
    assert_eq!(count("subject_access"), 3);
    assert!(
        entries
            .iter()
            .filter(|row| row.action == "subject_access")
            .all(|row| row.basis == format!("subject_access: {SAR_REASON}"))
    );
    assert_eq!(count("sar_unredact"), 1);
    let unredact = entries
        .iter()
        .find(|row| row.action == "sar_unredact")
        .unwrap();
    assert_eq!(
        unredact.basis,
        format!("sar_unredact health/GP-1#j: {DISCLOSE_REASON}")
    );
    assert!(count("view_subject_access") >= 2);
    assert!(count("sar_search") >= 1);
    let stored = sync(|| app.store.access().unredactions(&tina, 10)).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event.person_ref, "j");
}

sightline_testkit::on_every_backend!(the_privacy_officer_answers_a_subject_access_request);
