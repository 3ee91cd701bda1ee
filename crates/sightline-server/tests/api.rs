//! The HTTP API against the real server on a free port, with a fresh database,
//! on every backend (SQLite, and PostgreSQL when it can run).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_core::AgencyId;
use sightline_server::ServerConfig;
use sightline_testkit::TestDatabase;
use sightline_testkit::server::{TestServer, sync};
use std::sync::Arc;

struct TestApp {
    base: String,
    client: reqwest::Client,
    gp_token: String,
    police_token: String,
    store: Arc<dyn sightline_store::Store>,
    _server: TestServer,
}

impl TestApp {
    async fn spawn(db: TestDatabase) -> TestApp {
        Self::spawn_with(db, ServerConfig::default()).await
    }

    async fn spawn_with(db: TestDatabase, config: ServerConfig) -> TestApp {
        let mut tokens = Vec::new();
        let server = TestServer::start_configured(db, config, |store| {
            for agency in ["st-annes-gp", "north-met-police"] {
                let agency = AgencyId::parse(agency).expect("agency");
                tokens.push(
                    sightline_app::create_token(store, &agency, chrono::Utc::now())
                        .expect("token")
                        .secret,
                );
            }
        })
        .await;
        let [gp_token, police_token] = <[String; 2]>::try_from(tokens).expect("two tokens");
        TestApp {
            base: server.base.clone(),
            client: reqwest::Client::new(),
            gp_token,
            police_token,
            store: server.store.clone(),
            _server: server,
        }
    }

    async fn post(
        &self,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/v1/records", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn count(&self) -> u64 {
        sync(|| self.store.count_records().expect("count"))
    }
}

fn gp_record(record_id: &str, version: i64) -> Value {
    json!({
        "source": {"agency": "st-annes-gp", "record_id": record_id, "version": version},
        "kind": "health.gp_consultation",
        "occurred_at": "2007-03-01T10:00:00Z",
        "persons": [{"ref": "c", "role": "subject", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01"}],
        "findings": [{"code": "injury", "type": "bruise", "site": "face", "explanation": "inconsistent"}]
    })
}

fn jsonl(records: &[Value]) -> String {
    records
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn health_and_openapi_need_no_token(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app.get(None, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, openapi) = app.get(None, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        openapi["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1")
    );
    for path in ["/api/v1/records", "/api/v1/records/{agency}/{record_id}"] {
        assert!(openapi["paths"][path].is_object(), "{path} documented");
    }
}

async fn every_records_route_needs_a_valid_token(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = jsonl(&[gp_record("A", 1)]);
    for token in [None, Some("slt_not-a-real-token"), Some("garbage")] {
        let (status, error) = app.post(token, "application/x-ndjson", body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["error"]["code"], "unauthorized");
        assert_eq!(
            app.get(token, "/api/v1/records").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get(token, "/api/v1/records/st-annes-gp/A").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.count(), 0);
}

async fn a_valid_batch_is_stored_once_and_versions_supersede(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = jsonl(&[gp_record("A", 1), gp_record("B", 1)]);
    let (status, counts) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        counts,
        json!({"records": 2, "stored": 2, "duplicate": 0, "duplicate_with_different_content": 0, "superseded": 0})
    );
    let (_, counts) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(
        (counts["stored"].clone(), counts["duplicate"].clone()),
        (json!(0), json!(2))
    );
    // A JSON array with a new version of A.
    let array = Value::Array(vec![gp_record("A", 2)]).to_string();
    let (status, counts) = app
        .post(Some(&app.gp_token), "application/json", array)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts["superseded"], 1);
    let (status, history) = app
        .get(Some(&app.gp_token), "/api/v1/records/st-annes-gp/A")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["current_version"], 2);
    assert_eq!(history["versions"].as_array().expect("versions").len(), 2);
    assert_eq!(history["versions"][0]["record"]["source"]["version"], 1);
    assert_eq!(app.count(), 3);
}

/// Timestamps as versions (issue #2): any positive version up to `i64::MAX`
/// is stored and read back exactly, and a higher timestamp supersedes.
async fn timestamp_versions_are_stored_exactly_and_supersede(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let over_u32: i64 = 4_294_967_296;
    let epoch_ms: i64 = 1_732_700_000_000;
    let yyyymmddhhmmss: i64 = 20_071_231_235_959;
    let body = jsonl(&[gp_record("T", over_u32), gp_record("T", epoch_ms)]);
    let (status, counts) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (counts["stored"].clone(), counts["superseded"].clone()),
        (json!(2), json!(1))
    );
    let body = jsonl(&[gp_record("T", yyyymmddhhmmss), gp_record("M", i64::MAX)]);
    let (status, counts) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (counts["stored"].clone(), counts["superseded"].clone()),
        (json!(2), json!(1))
    );
    let (status, history) = app
        .get(Some(&app.gp_token), "/api/v1/records/st-annes-gp/T")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["current_version"], yyyymmddhhmmss);
    let versions: Vec<(Value, Value)> = history["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|version| {
            (
                version["version"].clone(),
                version["record"]["source"]["version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [over_u32, epoch_ms, yyyymmddhhmmss]
            .map(|v| (json!(v), json!(v)))
            .to_vec()
    );
    let (_, history) = app
        .get(Some(&app.gp_token), "/api/v1/records/st-annes-gp/M")
        .await;
    assert_eq!(history["current_version"], i64::MAX);

    let mut too_high = gp_record("X", 1);
    too_high["source"]["version"] = json!(i64::MAX.unsigned_abs() + 1);
    let (status, error) = app
        .post(
            Some(&app.gp_token),
            "application/x-ndjson",
            jsonl(&[too_high]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["problems"][0]["path"], "source.version");
    assert_eq!(
        error["error"]["problems"][0]["message"],
        "the number 9223372036854775808 is over the largest version Sightline accepts (9223372036854775807)"
    );
    assert_eq!(app.count(), 4);
}

async fn an_empty_batch_is_valid_and_stores_nothing(db: TestDatabase) {
    // The specification sets no lower bound on a batch: an agency with nothing
    // to send sends an empty array or an empty JSON Lines body.
    let app = TestApp::spawn(db).await;
    for (content_type, body) in [("application/json", "[]"), ("application/x-ndjson", "\n\n")] {
        let (status, counts) = app.post(Some(&app.gp_token), content_type, body).await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {counts}");
        assert_eq!(
            (counts["records"].clone(), counts["stored"].clone()),
            (json!(0), json!(0))
        );
    }
    assert_eq!(app.count(), 0);
}

async fn an_invalid_batch_gets_422_with_every_problem_and_stores_nothing(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let mut bad_date = gp_record("B", 1);
    bad_date["occurred_at"] = json!("2007-02-30");
    let mut bad_kind = gp_record("C", 1);
    bad_kind["kind"] = json!("health.ed_visit");
    let mut bad_nhs = gp_record("D", 1);
    bad_nhs["persons"][0]["nhs_number"] = json!("943 476 5918");
    let mut bad_code = gp_record("E", 1);
    bad_code["findings"][0]["code"] = json!("injurry");
    let mut dangling = gp_record("F", 1);
    dangling["relationships"] = json!([{"from": "dad", "to": "c", "type": "parent_of"}]);
    let body = jsonl(&[
        gp_record("A", 1),
        bad_date,
        bad_kind,
        bad_nhs,
        bad_code,
        dangling,
    ]);
    let (status, error) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["code"], "invalid_batch");
    assert_eq!(error["error"]["n_problems"], 5);
    let problems: Vec<(Value, String)> = error["error"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|problem| {
            (
                problem["position"].clone(),
                problem["path"].as_str().expect("path").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (json!({"line": 2}), "occurred_at".to_owned()),
            (json!({"line": 3}), "kind".to_owned()),
            (json!({"line": 4}), "persons[0].nhs_number".to_owned()),
            (json!({"line": 5}), "findings[0].code".to_owned()),
            (json!({"line": 6}), "relationships[0].from".to_owned()),
        ]
    );
    assert!(
        error["error"]["problems"][1]["message"]
            .as_str()
            .expect("message")
            .contains("did you mean \"health.ed_attendance\"")
    );
    assert_eq!(app.count(), 0, "nothing stored");

    let array = Value::Array(vec![gp_record("A", 1), json!(7)]).to_string();
    let (status, error) = app
        .post(Some(&app.gp_token), "application/json", array)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error["error"]["problems"][0]["position"],
        json!({"index": 1})
    );
}

async fn another_agencys_record_is_forbidden_and_nothing_is_stored(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = jsonl(&[gp_record("A", 1)]);
    let (status, error) = app
        .post(Some(&app.police_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "forbidden");
    assert_eq!(app.count(), 0);
    let (_, _) = app
        .post(
            Some(&app.gp_token),
            "application/x-ndjson",
            jsonl(&[gp_record("A", 1)]),
        )
        .await;
    assert_eq!(
        app.get(Some(&app.police_token), "/api/v1/records/st-annes-gp/A")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(
            Some(&app.police_token),
            "/api/v1/records?agency=st-annes-gp"
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(Some(&app.gp_token), "/api/v1/records/st-annes-gp/ZZZ")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(Some(&app.gp_token), "/api/v1/records/st-annes-gp/A")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(Some(&app.gp_token), "/api/v1/records").await.0,
        StatusCode::OK
    );
    // Every read with a token, and every refused one, is audited by the
    // token's id and agency (issue #15, finding 11).
    let audited: Vec<(String, String, String, String, String)> =
        sync(|| app.store.audit().audit_entries(0, 1_000))
            .unwrap()
            .into_iter()
            .filter(|row| row.actor_role == "agency_system")
            .map(|row| {
                (
                    row.actor_username,
                    row.actor_agency,
                    row.action,
                    row.resource_key,
                    row.outcome,
                )
            })
            .collect();
    let row = |token: i64, agency: &str, action: &str, resource: &str, outcome: &str| {
        (
            format!("token:{token}"),
            agency.to_owned(),
            action.to_owned(),
            resource.to_owned(),
            outcome.to_owned(),
        )
    };
    // Tokens 1 (the GP's) and 2 (the police's), created in that order.
    assert_eq!(
        audited,
        vec![
            row(
                2,
                "north-met-police",
                "view_record_history",
                "record:st-annes-gp/A",
                "deny"
            ),
            row(
                2,
                "north-met-police",
                "list_agency_records",
                "agency:st-annes-gp",
                "deny"
            ),
            row(
                1,
                "st-annes-gp",
                "view_record_history",
                "record:st-annes-gp/ZZZ",
                "not_found"
            ),
            row(
                1,
                "st-annes-gp",
                "view_record_history",
                "record:st-annes-gp/A",
                "ok"
            ),
            row(
                1,
                "st-annes-gp",
                "list_agency_records",
                "agency:st-annes-gp",
                "ok"
            ),
        ]
    );
}

async fn bodies_over_the_limit_get_413(db: TestDatabase) {
    let app = TestApp::spawn_with(
        db,
        ServerConfig {
            body_bytes_max: 1_000,
            ..ServerConfig::default()
        },
    )
    .await;
    let body = jsonl(
        &(0..20)
            .map(|index| gp_record(&format!("R{index}"), 1))
            .collect::<Vec<_>>(),
    );
    let (status, error) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "body_too_large");
    assert_eq!(app.count(), 0);
}

/// Issue #15, finding 13: a repeated key was accepted and stored raw (a police
/// record's body also saying `"agency": "social-care"`).
async fn a_record_with_a_repeated_key_is_rejected(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = r#"{"source": {"agency": "st-annes-gp", "record_id": "R-1", "agency": "social-care"}, "kind": "health.gp_consultation", "occurred_at": "2007-03-01", "persons": [{"ref": "c", "role": "subject", "given_names": "Leo"}]}"#;
    let (status, error) = app
        .post(Some(&app.gp_token), "application/x-ndjson", body)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["problems"][0]["path"], "source.agency");
    assert_eq!(app.count(), 0);
}

async fn csv_batches_and_media_types(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let csv = "agency,record_id,kind,occurred_at,given_names,family_name,dob,postcode,findings\nst-annes-gp,CSV-1,health.gp_consultation,2007-03-01,Leo,Marsh,2006-03-01,n176aa,\"injury:type=bruise,site=face\"\n";
    let (status, counts) = app
        .post(Some(&app.gp_token), "text/csv; charset=utf-8", csv)
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["stored"], 1);
    let bad_csv = "agency,record_id,kind,occurred_at,family_name\nst-annes-gp,CSV-2,health.gp_consultation,2007-13,Marsh\n";
    let (status, error) = app.post(Some(&app.gp_token), "text/csv", bad_csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["problems"][0]["position"], json!({"row": 2}));
    assert_eq!(error["error"]["problems"][0]["path"], "occurred_at");
    let (status, _) = app
        .post(Some(&app.gp_token), "application/xml", "<x/>")
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn listing_pages_with_a_cursor_and_filters(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let records: Vec<Value> = (0..25)
        .map(|index| gp_record(&format!("R{index:02}"), 1))
        .collect();
    app.post(Some(&app.gp_token), "application/x-ndjson", jsonl(&records))
        .await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .get(
                Some(&app.gp_token),
                &format!("/api/v1/records?limit=10&cursor={cursor}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        for record in page["records"].as_array().expect("records") {
            seen.push(record["record_id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|index| format!("R{index:02}")).collect();
    assert_eq!(seen, expected);
    let (_, page) = app
        .get(
            Some(&app.gp_token),
            "/api/v1/records?kind=health.ed_attendance",
        )
        .await;
    assert_eq!(page["records"].as_array().expect("records").len(), 0);
    assert_eq!(
        app.get(Some(&app.gp_token), "/api/v1/records?limit=1001")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get(Some(&app.gp_token), "/api/v1/records?since=yesterday")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (_, page) = app
        .get(
            Some(&app.gp_token),
            "/api/v1/records?since=2999-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(page["records"].as_array().expect("records").len(), 0);
}

/// Issue #17 item 5: `/metrics` for the holder of the metrics token, with every
/// family, and no child, person, record or alert id anywhere in it.
async fn metrics_show_every_family_and_no_id(db: TestDatabase) {
    let metrics_token = sightline_server::MetricsToken::parse(&"m".repeat(40)).expect("token");
    let app = TestApp::spawn_with(
        db,
        ServerConfig {
            metrics_token: Some(metrics_token),
            ..ServerConfig::default()
        },
    )
    .await;
    let record_id = "GP-METRICS-7731";
    let (status, counts) = app
        .post(
            Some(&app.gp_token),
            "application/x-ndjson",
            jsonl(&[gp_record(record_id, 1)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["stored"], 1);
    let (status, _) = app
        .post(Some(&app.gp_token), "application/x-ndjson", "{not json")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The raw path carries the record id; the label must be the template.
    let (status, _) = app
        .get(
            Some(&app.gp_token),
            &format!("/api/v1/records/st-annes-gp/{record_id}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let scrape = |token: Option<String>| {
        let mut request = app.client.get(format!("{}/metrics", app.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for wrong in [None, Some("m".repeat(39)), Some(app.gp_token.clone())] {
        let response = scrape(wrong.clone()).await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    // The recorder is the process's: counts add up over every server the
    // process started (this test runs once per backend), so only the families
    // and their labels are asserted here, and the gauges read from the store.
    let families = [
        "sightline_http_request_duration_seconds_bucket{",
        "route=\"/api/v1/records\"",
        "route=\"/api/v1/records/{agency}/{record_id}\"",
        "status=\"422\"",
        "sightline_intake_batches_total{agency=\"st-annes-gp\",outcome=\"accepted\"} ",
        "sightline_intake_batches_total{agency=\"st-annes-gp\",outcome=\"rejected\"} ",
        "sightline_intake_records_total{agency=\"st-annes-gp\",outcome=\"stored\"} ",
        "sightline_intake_linkage_seconds_count ",
        "sightline_engine_load_seconds ",
        "sightline_alerts_raised_total{severity=\"critical\"}",
        "sightline_alerts_decided{severity=\"high\"}",
        "sightline_alerts_open{severity=\"low\"}",
        "sightline_alerts_overdue{severity=\"critical\"}",
        "sightline_engine_lag_records 0",
        "sightline_audit_chain_entries ",
    ];
    // The overdue gauge comes from the ticker's first pass, which runs at start
    // on the blocking pool: wait for it (a few seconds at most).
    let mut text = String::new();
    for _ in 0..100 {
        let response = scrape(Some("m".repeat(40))).await.expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("content type")
                .starts_with("text/plain; version=0.0.4")
        );
        text = response.text().await.expect("body");
        if families.iter().all(|family| text.contains(family)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for family in families {
        assert!(text.contains(family), "no {family} in\n{text}");
    }
    let audit_entries =
        sync(|| app.store.audit().audit_head().expect("audit head")).map_or(0, |(seq, _)| seq);
    assert!(
        text.contains(&format!("sightline_audit_chain_entries {audit_entries}\n")),
        "audit chain length {audit_entries}"
    );
    let (children, persons): (Vec<String>, Vec<String>) = app
        ._server
        .state
        .engine
        .read(|engine| {
            (
                engine.children().map(str::to_owned).collect(),
                engine.facts().keys().cloned().collect(),
            )
        })
        .expect("engine");
    assert!(!children.is_empty(), "the record's subject is a child");
    let alerts = sync(|| {
        app.store
            .alerts()
            .list(&sightline_store::AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .expect("alerts")
    });
    let ids = children
        .iter()
        .chain(&persons)
        .cloned()
        .chain(
            alerts
                .iter()
                .flat_map(|alert| [alert.id.clone(), alert.child_id.clone()]),
        )
        .chain([record_id.to_owned()]);
    for id in ids {
        assert!(!text.contains(&id), "{id} appears in /metrics");
    }
}

sightline_testkit::on_every_backend!(
    health_and_openapi_need_no_token,
    every_records_route_needs_a_valid_token,
    a_valid_batch_is_stored_once_and_versions_supersede,
    timestamp_versions_are_stored_exactly_and_supersede,
    an_empty_batch_is_valid_and_stores_nothing,
    an_invalid_batch_gets_422_with_every_problem_and_stores_nothing,
    another_agencys_record_is_forbidden_and_nothing_is_stored,
    bodies_over_the_limit_get_413,
    csv_batches_and_media_types,
    listing_pages_with_a_cursor_and_filters,
    a_record_with_a_repeated_key_is_rejected,
    metrics_show_every_family_and_no_id,
);
