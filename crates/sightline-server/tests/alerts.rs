//! `/api/v1/alerts` against the real server with a fresh database: a record that
//! fires a rule is readable as an alert once its POST returns; staff sessions
//! authenticate; reads and decisions are authorised per child and audited.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_access::Role;
use sightline_core::AgencyId;
use sightline_testkit::server::TestServer;
use std::sync::Arc;

const GP: &str = "st-annes-gp";
/// The unconfigured organisation's duty team (of its default local authority).
const DUTY_TEAM: &str = "team:social-care/duty";

/// Bruises with an inconsistent explanation on a 10-month-old, recorded by a GP.
const INJURY: &str = r#"{"source": {"agency": "st-annes-gp", "record_id": "GP-2007-0113", "version": 1}, "kind": "health.gp_consultation", "occurred_at": "2007-01-13T10:20:00Z", "recorded_at": "2007-01-13T11:02:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "943 476 5919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male"}], "findings": [{"code": "injury", "type": "bruise", "site": "face", "count": 2, "explanation": "inconsistent"}]}"#;

struct TestApp {
    base: String,
    client: reqwest::Client,
    gp_token: String,
    store: Arc<dyn sightline_store::Store>,
    server: TestServer,
}

impl TestApp {
    /// Alerts go to the unconfigured organisation's duty team ([`DUTY_TEAM`]).
    async fn spawn(db: sightline_testkit::TestDatabase) -> TestApp {
        TestApp::spawn_configured(db, sightline_server::ServerConfig::default()).await
    }

    async fn spawn_configured(
        db: sightline_testkit::TestDatabase,
        config: sightline_server::ServerConfig,
    ) -> TestApp {
        let mut gp_token = String::new();
        let server = TestServer::start_configured(db, config, |store| {
            let gp = AgencyId::parse(GP).expect("agency");
            gp_token = sightline_app::create_token(store, &gp, chrono::Utc::now())
                .expect("token")
                .secret;
        })
        .await;
        TestApp {
            base: server.base.clone(),
            client: reqwest::Client::new(),
            gp_token,
            store: server.store.clone(),
            server,
        }
    }

    /// Creates a practitioner of `agency` (team duty) and signs them in: the
    /// session token and its CSRF token.
    fn session(&self, username: &str, agency: &str) -> (String, String) {
        let staff = self
            .server
            .staff_in_team(username, Role::Practitioner, agency, Some("duty"));
        (staff.secret, staff.csrf)
    }

    async fn submit(&self, body: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/api/v1/records", self.base))
            .bearer_auth(&self.gp_token)
            .header("content-type", "application/x-ndjson")
            .body(body.to_owned())
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    async fn get(&self, session: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(session) = session {
            request = request.bearer_auth(session);
        }
        let response = request.send().await.expect("get");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn decide(&self, session: &str, id: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/alerts/{id}/decision", self.base))
            .bearer_auth(session)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn audit_actions(&self) -> Vec<(String, String, String)> {
        sightline_testkit::server::sync(|| {
            sightline_app::audit::recent_entries(self.store.as_ref(), None, 1_000)
        })
        .expect("audit")
        .into_iter()
        .map(|row| (row.actor_username, row.action, row.outcome))
        .collect()
    }
}

async fn an_alert_raised_at_intake_is_read_decided_once_and_audited(
    db: sightline_testkit::TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let (gp_session, _) = app.session("gp.worker", GP);
    let (duty_session, duty_csrf) = app.session("duty.worker", "social-care");
    let (other_session, _) = app.session("other.worker", "riverside-la");

    let (status, _) = app.get(None, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get(Some(&app.gp_token), "/api/v1/alerts").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an agency token is not a session"
    );

    // The sender is told what was stored, nothing about alerts (finding 4).
    let counts = app.submit(INJURY).await;
    assert_eq!(
        counts,
        json!({"records": 1, "stored": 1, "duplicate": 0, "duplicate_with_different_content": 0, "superseded": 0})
    );
    let stored = sightline_testkit::server::sync(|| {
        app.store.alerts().list(&sightline_store::AlertFilter {
            limit: 100,
            ..sightline_store::AlertFilter::default()
        })
    })
    .expect("alerts");
    assert!(!stored.is_empty());

    // Readable as soon as the POST returned: written in its transaction.
    let (status, page) = app.get(Some(&gp_session), "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let alerts = page["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), stored.len());
    let alert = alerts
        .iter()
        .find(|alert| alert["rule"] == "injury_unexplained")
        .expect("the unexplained injury alert");
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["restricted"], false);
    assert_eq!(alert["raised_at"], "2007-01-13T11:02:00Z");
    // No social care record places the child: the default local authority's
    // duty team (the unconfigured organisation's).
    assert_eq!(alert["routed_to"], DUTY_TEAM);
    assert!(alert["explanation"].as_str().expect("explanation").len() > 10);
    let id = alert["id"].as_str().expect("id").to_owned();
    let child = alert["child"].as_str().expect("child").to_owned();

    // Filters.
    let (_, page) = app
        .get(
            Some(&gp_session),
            &format!("/api/v1/alerts?child={child}&status=open"),
        )
        .await;
    assert_eq!(page["alerts"].as_array().unwrap().len(), alerts.len());
    let (_, page) = app
        .get(Some(&gp_session), "/api/v1/alerts?child=p-nobody")
        .await;
    assert_eq!(page["alerts"], json!([]));
    let (_, page) = app
        .get(Some(&gp_session), "/api/v1/alerts?overdue=true")
        .await;
    assert_eq!(page["alerts"], json!([]), "nothing is due yet");
    let (status, _) = app
        .get(Some(&gp_session), "/api/v1/alerts?severity=urgent")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .get(Some(&gp_session), "/api/v1/alerts?limit=1001")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another agency's practitioner, with no relationship to the child, is not
    // shown the alert (not its rule, child or person: finding 3), and cannot
    // open or decide it.
    let (status, page) = app.get(Some(&other_session), "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["alerts"], json!([]));
    let (status, _) = app
        .get(Some(&other_session), &format!("/api/v1/alerts/{id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .decide(
            &other_session,
            &id,
            json!({"decision": "visit", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The alert with its evidence and history.
    let (status, detail) = app
        .get(Some(&gp_session), &format!("/api/v1/alerts/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        detail["evidence"],
        json!([{"agency": GP, "record_id": "GP-2007-0113", "version": 1}])
    );
    assert_eq!(detail["events"][0]["kind"], "raised");
    let (status, _) = app
        .get(Some(&gp_session), "/api/v1/alerts/a-0000000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Decisions: the vocabulary and a reason, once.
    for bad in [
        json!({"decision": "ignore", "reason": "no"}),
        json!({"decision": "visit", "reason": "   "}),
    ] {
        let (status, body) = app.decide(&gp_session, &id, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_decision");
    }
    let (status, _) = app
        .decide(
            &gp_session,
            "a-0000000000000000",
            json!({"decision": "visit", "reason": "Home visit booked"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The GP's record makes the child the GP's too, but only the team the
    // alert is routed to decides it.
    let (status, _) = app
        .decide(
            &gp_session,
            &id,
            json!({"decision": "visit", "reason": "Home visit booked for tomorrow"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // By cookie, a POST needs the CSRF token.
    let by_cookie = |csrf: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/alerts/{id}/decision", app.base))
            .header("cookie", format!("sightline_session={duty_session}"))
            .json(&json!({"decision": "visit", "reason": "Home visit booked for tomorrow"}));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let response = by_cookie(None).await.expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = by_cookie(Some(&duty_csrf)).await.expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let decided: Value = response.json().await.expect("json");
    assert_eq!(decided["alert"]["status"], "decided");
    let last = decided["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "decided");
    assert_eq!(last["decision"], "visit");
    assert_eq!(last["actor"], "duty.worker");
    let (status, body) = app
        .decide(
            &duty_session,
            &id,
            json!({"decision": "medical", "reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, page) = app
        .get(Some(&gp_session), "/api/v1/alerts?status=decided")
        .await;
    assert_eq!(page["alerts"][0]["id"], id.as_str());

    // Every read and write was authorised and recorded.
    let audited = app.audit_actions();
    let count = |user: &str, action: &str, outcome: &str| {
        audited
            .iter()
            .filter(|(who, what, how)| who == user && what == action && how == outcome)
            .count()
    };
    // Each read names its view: the list (three reads) and the alert itself.
    assert_eq!(
        count("gp.worker", "view_alert_list", "full"),
        3,
        "{audited:?}"
    );
    assert_eq!(count("gp.worker", "view_alert", "full"), 1, "{audited:?}");
    assert_eq!(
        count("duty.worker", "decide_alert", "full"),
        2,
        "{audited:?}"
    );
    assert_eq!(count("gp.worker", "decide_alert", "deny"), 1, "{audited:?}");
    assert!(
        count("other.worker", "view_alert", "minimal")
            + count("other.worker", "view_alert_list", "minimal")
            >= 2,
        "{audited:?}"
    );
    assert_eq!(
        count("other.worker", "decide_alert", "deny"),
        1,
        "{audited:?}"
    );
}

/// `sightline serve --due-high 2h --org FILE` reach the engine that raises the
/// alerts: they go to the organisation's duty team, due by the server's times.
async fn the_servers_due_times_and_duty_team_apply_to_alerts(db: sightline_testkit::TestDatabase) {
    use sightline_app::engine::DuePeriod;
    let organisation = sightline_core::org::Organisation::parse(
        r#"name = "Night service"
[safeguarding_leads]
health = "role:night-health/safeguarding_lead"
police = "role:night-police/safeguarding_lead"
[[local_authority]]
id = "night"
name = "Night council"
duty_team = "team:night-social-care/out-of-hours"
head_of_service = "team:night-social-care/out-of-hours"
[[agency]]
id = "night-social-care"
name = "Out of hours social care"
type = "social_care"
teams = [{ id = "out-of-hours", name = "Out of hours" }]
[[agency]]
id = "night-health"
name = "Night health"
type = "health"
service = "safeguarding"
[[agency]]
id = "night-police"
name = "Night police"
type = "police"
"#,
    );
    let mut config = sightline_server::ServerConfig::default();
    config.engine.organisation = match organisation {
        Ok(organisation) => std::sync::Arc::new(organisation),
        Err(problems) => panic!("{problems:?}"),
    };
    config.engine.due.critical = DuePeriod::Hours(1);
    config.engine.due.high = DuePeriod::Hours(2);
    config.engine.due.medium = DuePeriod::Hours(3);
    config.engine.due.low = DuePeriod::Hours(5);
    let app = TestApp::spawn_configured(db, config).await;
    let staff = app.server.staff_in_team(
        "night.worker",
        Role::Practitioner,
        "night-social-care",
        Some("out-of-hours"),
    );
    assert_eq!(app.submit(INJURY).await["stored"], 1);
    let (status, page) = app.get(Some(&staff.secret), "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let alerts = page["alerts"].as_array().expect("alerts");
    assert!(!alerts.is_empty());
    for alert in alerts {
        assert_eq!(
            alert["routed_to"], "team:night-social-care/out-of-hours",
            "{alert}"
        );
        let hours = match alert["severity"].as_str().expect("severity") {
            "critical" => 1,
            "high" => 2,
            "medium" => 3,
            _ => 5,
        };
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(alert[field].as_str().expect(field)).unwrap()
        };
        // Due from when the alert was created (just now, so not yet updated),
        // not from when the record says it happened.
        assert_eq!(
            at("due_at") - at("updated_at"),
            chrono::Duration::hours(hours),
            "{alert}"
        );
    }
}

async fn the_alert_routes_appear_in_the_openapi_document(db: sightline_testkit::TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (status, document) = app.get(None, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/alerts",
        "/api/v1/alerts/{id}",
        "/api/v1/alerts/{id}/decision",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
    assert!(document["components"]["securitySchemes"]["session"].is_object());
}

sightline_testkit::on_every_backend!(
    an_alert_raised_at_intake_is_read_decided_once_and_audited,
    the_servers_due_times_and_duty_team_apply_to_alerts,
    the_alert_routes_appear_in_the_openapi_document,
);
