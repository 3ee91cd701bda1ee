//! `POST /fhir/R4` against the real server on a free port, with a fresh
//! database, on every backend: a FHIR bundle raises the same alert as the
//! interchange record it is equivalent to; a malformed bundle gets 422 with
//! FHIR paths and stores nothing; the token, body limit and media types of
//! intake apply as they do to `/api/v1/records`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sightline_access::Role;
use sightline_core::AgencyId;
use sightline_server::ServerConfig;
use sightline_testkit::server::{TestServer, sync};
use sightline_testkit::{TestBackend, TestDatabase};

/// The emergency department of the test bundles.
const ED: &str = "exmere-ed";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../tests/fixtures/fhir/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

struct TestApp {
    client: reqwest::Client,
    token: String,
    server: TestServer,
}

impl TestApp {
    async fn spawn(db: TestDatabase, config: ServerConfig) -> TestApp {
        let mut token = String::new();
        let server = TestServer::start_configured(db, config, |store| {
            let agency = AgencyId::parse(ED).expect("agency");
            token = sightline_app::create_token(store, &agency, chrono::Utc::now())
                .expect("token")
                .secret;
        })
        .await;
        TestApp {
            client: reqwest::Client::new(),
            token,
            server,
        }
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = self
            .client
            .post(self.server.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("post");
        let (status, headers) = (response.status(), response.headers().clone());
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post_bundle(&self, body: String) -> (StatusCode, HeaderMap, Value) {
        self.post("/fhir/R4", Some(&self.token), "application/fhir+json", body)
            .await
    }

    /// The alerts a practitioner of the emergency department reads, without
    /// what names the records (ids, evidence, the child's person id) or the
    /// wall clock (`due_at`, `updated_at`: when the batch arrived).
    async fn alerts(&self) -> Vec<Value> {
        let staff = self
            .server
            .staff_in_team("ed-nurse", Role::Practitioner, ED, Some("duty"));
        let response = self
            .client
            .get(self.server.url("/api/v1/alerts"))
            .bearer_auth(&staff.secret)
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("json");
        let mut alerts = page["alerts"].as_array().expect("alerts").clone();
        for alert in &mut alerts {
            let alert = alert.as_object_mut().expect("object");
            for key in ["id", "evidence", "updated_at", "child", "due_at"] {
                alert.remove(key);
            }
        }
        alerts.sort_by_key(|alert| alert["rule"].to_string());
        alerts
    }

    fn count(&self) -> u64 {
        sync(|| self.server.store.count_records().expect("count"))
    }
}

/// A fresh database of the same backend as `db`.
fn another(db: &TestDatabase) -> TestDatabase {
    match db.backend {
        TestBackend::Sqlite => sync(sightline_testkit::sqlite_database),
        TestBackend::Postgres => {
            sync(sightline_testkit::postgres_database).expect("PostgreSQL ran a moment ago")
        }
    }
}

fn is_fhir_json(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/fhir+json"))
}

/// Issue #17's acceptance: an emergency department attendance of a
/// 4-month-old with unexplained bruising, as a FHIR bundle, raises the same
/// alerts as the interchange record written by hand.
async fn an_ed_bundle_raises_the_same_alert_as_the_interchange_record(db: TestDatabase) {
    let by_hand = TestApp::spawn(another(&db), ServerConfig::default()).await;
    let (status, _, summary) = by_hand
        .post(
            "/api/v1/records",
            Some(&by_hand.token),
            "application/x-ndjson",
            fixture("ed-infant-injury.jsonl"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let expected = by_hand.alerts().await;
    assert!(
        !expected.is_empty(),
        "the interchange record raises an alert"
    );

    let fhir = TestApp::spawn(db, ServerConfig::default()).await;
    let (status, headers, outcome) = fhir
        .post_bundle(fixture("ed-infant-injury.fhir.json"))
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert!(is_fhir_json(&headers));
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let words = outcome["issue"][0]["diagnostics"].as_str().expect("words");
    assert!(words.starts_with("stored 1 record(s): 1 new"), "{words}");
    // Like the interchange answer, nothing about alerts (issue #15, finding 4).
    assert!(!words.contains("alert"), "{words}");
    assert_eq!(fhir.count(), 1);
    assert_eq!(fhir.alerts().await, expected);

    // The same bundle again is a duplicate: nothing new, no new alert.
    let (status, _, outcome) = fhir
        .post_bundle(fixture("ed-infant-injury.fhir.json"))
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let words = outcome["issue"][0]["diagnostics"].as_str().expect("words");
    assert!(words.contains("0 new, 1 duplicate"), "{words}");
    assert_eq!(fhir.count(), 1);
}

/// A bundle with a problem in nearly every entry: 422, an OperationOutcome
/// whose issues name each problem's FHIR path, and nothing stored.
async fn a_malformed_bundle_gets_422_with_fhir_paths_and_stores_nothing(db: TestDatabase) {
    let app = TestApp::spawn(db, ServerConfig::default()).await;
    let (status, headers, outcome) = app.post_bundle(fixture("malformed.fhir.json")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(is_fhir_json(&headers));
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let issues = outcome["issue"].as_array().expect("issues");
    assert!(issues.len() > 3, "{outcome}");
    for issue in issues {
        assert_eq!(issue["severity"], "error");
        assert_eq!(issue["code"], "invalid");
        let path = issue["expression"][0].as_str().expect("a FHIR path");
        assert!(path.starts_with("Bundle.entry["), "{path}");
    }
    let paths: Vec<&str> = issues
        .iter()
        .map(|issue| issue["expression"][0].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|path| path.ends_with(".resource.birthDate")),
        "{paths:?}"
    );
    assert_eq!(app.count(), 0);

    // Not JSON, not a Bundle, not a bundle type Sightline takes.
    for (body, path) in [
        ("{not json", "Bundle"),
        (r#"{"resourceType": "Patient"}"#, "Bundle.resourceType"),
        (
            r#"{"resourceType": "Bundle", "type": "searchset", "entry": []}"#,
            "Bundle.type",
        ),
    ] {
        let (status, _, outcome) = app.post_bundle(body.to_owned()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {outcome}"
        );
        assert_eq!(
            outcome["issue"][0]["expression"][0], path,
            "{body}: {outcome}"
        );
    }
    assert_eq!(app.count(), 0);
}

/// The token, the body limit and the media types are intake's, answered as
/// OperationOutcomes; the records are the token's agency's.
async fn intakes_token_and_limits_apply_to_fhir(db: TestDatabase) {
    let app = TestApp::spawn(
        db,
        ServerConfig {
            body_bytes_max: 2_000,
            ..ServerConfig::default()
        },
    )
    .await;
    let bundle = fixture("ed-infant-injury.fhir.json");
    for token in [None, Some("slt_not-a-real-token")] {
        let (status, headers, outcome) = app
            .post("/fhir/R4", token, "application/fhir+json", bundle.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert!(is_fhir_json(&headers));
        assert_eq!(outcome["issue"][0]["code"], "login");
    }
    let (status, headers, outcome) = app.post_bundle(bundle.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{outcome}");
    assert!(is_fhir_json(&headers));
    assert_eq!(outcome["issue"][0]["code"], "too-costly");
    let (status, _, outcome) = app
        .post("/fhir/R4", Some(&app.token), "text/csv", "a,b".to_owned())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(outcome["issue"][0]["code"], "not-supported");
    assert_eq!(app.count(), 0);

    // Small enough, with application/json: stored as the token's agency's.
    let empty = r#"{"resourceType": "Bundle", "type": "batch", "entry": []}"#;
    let (status, _, outcome) = app
        .post(
            "/fhir/R4",
            Some(&app.token),
            "application/json",
            empty.to_owned(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");

    let response = app
        .client
        .get(app.server.url("/fhir/R4/metadata"))
        .send()
        .await
        .expect("get");
    let status = response.status();
    let metadata: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["resourceType"], "CapabilityStatement");
    assert_eq!(metadata["fhirVersion"], "4.0.1");
}

sightline_testkit::on_every_backend!(
    an_ed_bundle_raises_the_same_alert_as_the_interchange_record,
    a_malformed_bundle_gets_422_with_fhir_paths_and_stores_nothing,
    intakes_token_and_limits_apply_to_fhir,
);
