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

    async fn post(&self, session: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
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
        .get(Some(&gp_session), "/api/v1/alerts?child=p-0000000000000000")
        .await;
    assert_eq!(page["alerts"], json!([]));
    // Not a person id at all: refused, as the OpenAPI document's pattern says.
    let (status, page) = app
        .get(Some(&gp_session), "/api/v1/alerts?child=p-nobody")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
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
            json!({"decision": "police_referral", "reason": "Referred to the police as a crime"}),
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
        json!([{"agency": GP, "record_id": "GP-2007-0113", "version": 1, "restricted": false}])
    );
    assert_eq!(detail["events"][0]["kind"], "raised");
    let (status, _) = app
        .get(Some(&gp_session), "/api/v1/alerts/a-0000000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Decisions, by the duty team the alert is routed to: the vocabulary, a
    // reason of a sentence, and for a visit who and by when; once. Every
    // problem is named by its field.
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let visit = json!({"decision": "visit", "reason": "Home visit booked for tomorrow",
        "follow_up": {"owner": "duty.worker", "due": tomorrow}});
    for (bad, fields) in [
        (
            json!({"decision": "ignore", "reason": "no"}),
            vec!["decision", "reason"],
        ),
        (
            json!({"decision": "visit", "reason": "   "}),
            vec!["reason", "follow_up_owner", "follow_up_due"],
        ),
        (
            json!({"decision": "no_further_action", "reason": "ok"}),
            vec!["reason"],
        ),
        (
            json!({"decision": "visit", "reason": "Home visit booked for tomorrow",
                "follow_up": {"owner": "duty.worker", "due": "2007-01-01"}}),
            vec!["follow_up_due"],
        ),
        (
            json!({"decision": "visit", "reason": "Home visit booked for tomorrow",
                "follow_up": {"owner": "nobody.here", "due": tomorrow}}),
            vec!["follow_up_owner"],
        ),
    ] {
        let (status, body) = app.decide(&duty_session, &id, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_decision");
        let paths: Vec<&str> = body["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|problem| problem["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, fields, "{body}");
    }
    let (_, body) = app
        .decide(
            &duty_session,
            &id,
            json!({"decision": "no_further_action", "reason": "ok"}),
        )
        .await;
    assert_eq!(
        body["error"]["problems"][0]["message"],
        "Give the reason in at least a sentence (20 characters or more)"
    );
    let (status, _) = app
        .decide(&duty_session, "a-0000000000000000", visit.clone())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The GP's record makes the child the GP's too, but only the team the
    // alert is routed to decides it.
    let (status, _) = app.decide(&gp_session, &id, visit.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // By cookie, a POST needs the CSRF token.
    let by_cookie = |csrf: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/alerts/{id}/decision", app.base))
            .header("cookie", format!("sightline_session={duty_session}"))
            .json(&visit);
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
    assert_eq!(decided["follow_ups"][0]["owner"], "duty.worker");
    assert_eq!(decided["follow_ups"][0]["due"], tomorrow.as_str());
    assert_eq!(decided["follow_ups"][0]["done_by"], Value::Null);
    let (status, body) = app
        .decide(
            &duty_session,
            &id,
            json!({"decision": "police_referral", "reason": "Referred to the police again"}),
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
    // Deciding with an unknown follow-up owner, deciding by cookie, and again.
    assert_eq!(
        count("duty.worker", "decide_alert", "full"),
        3,
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
        "/api/v1/alerts/{id}/assignment",
        "/api/v1/alerts/{id}/reopen",
        "/api/v1/follow-ups",
        "/api/v1/follow-ups/{id}/done",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
    let parameters: Vec<&str> = document["paths"]["/api/v1/alerts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    for name in ["severity", "rule", "overdue", "mine", "assigned", "cursor"] {
        assert!(parameters.contains(&name), "{name}: {parameters:?}");
    }
    // Every request and answer has its own schema (two with one name would
    // leave one of them out of the document).
    let schemas = &document["components"]["schemas"];
    assert!(schemas["DecisionRequest"]["properties"]["verdict"].is_object());
    assert!(schemas["AlertPage"]["properties"]["counts"].is_object());
    assert!(
        schemas["AlertDecisionRequest"]["properties"]["follow_up"].is_object(),
        "{}",
        schemas["AlertDecisionRequest"]
    );
    assert!(schemas["AlertItem"]["properties"]["assigned_to"].is_object());
    assert!(document["components"]["securitySchemes"]["session"].is_object());
}

/// One's own work through the API: counts and filters, assigning to a worker
/// of the team, a decision's follow-up recorded done, reopening.
async fn my_work_counts_filters_assignment_follow_ups_and_reopening(
    db: sightline_testkit::TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    // The child has no social care record: the alert goes to the default
    // local authority's duty team, `team:social-care/duty`.
    let (worker, _) = app.session("sw.worker", "social-care");
    let (colleague, _) = app.session("sw.colleague", "social-care");
    let (outsider, _) = app.session("other.worker", "riverside-la");
    let nights = app.server.staff_in_team(
        "night.worker",
        Role::Practitioner,
        "social-care",
        Some("nights"),
    );
    assert_eq!(app.submit(INJURY).await["stored"], 1);
    // The intake answer says nothing of alerts: count them in the store.
    let raised = sightline_testkit::server::sync(|| {
        app.store.alerts().list(&sightline_store::AlertFilter {
            limit: 100,
            ..sightline_store::AlertFilter::default()
        })
    })
    .expect("alerts")
    .len() as u64;
    assert!(raised >= 1, "the injury raises an alert");

    let (status, page) = app.get(Some(&worker), "/api/v1/alerts?mine=true").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let counts = &page["counts"];
    assert_eq!(counts["total"], raised);
    let by_severity: u64 = ["critical", "high", "medium", "low"]
        .iter()
        .map(|severity| counts[severity].as_u64().unwrap())
        .sum();
    assert_eq!(by_severity, raised);
    assert_eq!(counts["overdue"], 0);
    let (_, page) = app.get(Some(&worker), "/api/v1/alerts").await;
    assert_eq!(
        page["counts"],
        Value::Null,
        "counts only for one's own work"
    );
    let (_, page) = app
        .get(Some(&nights.secret), "/api/v1/alerts?mine=true")
        .await;
    assert_eq!(page["counts"]["total"], 0, "another team holds none");
    assert_eq!(page["alerts"], json!([]));
    let (_, page) = app
        .get(
            Some(&worker),
            "/api/v1/alerts?mine=true&rule=injury_unexplained",
        )
        .await;
    assert_eq!(page["alerts"].as_array().unwrap().len(), 1);
    let id = page["alerts"][0]["id"].as_str().unwrap().to_owned();
    let (_, page) = app
        .get(
            Some(&worker),
            "/api/v1/alerts?mine=true&rule=cp_child_not_seen",
        )
        .await;
    assert_eq!(page["alerts"], json!([]));
    assert_eq!(page["counts"]["total"], 0);

    // Assigning: to a worker the alert is routed to, with an event; not to
    // another team; not by someone without a relationship to the child.
    let assignment = format!("/api/v1/alerts/{id}/assignment");
    let (status, body) = app
        .post(&worker, &assignment, json!({"assignee": "night.worker"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["problems"][0]["path"], "assignee");
    let (status, _) = app
        .post(&outsider, &assignment, json!({"assignee": "sw.worker"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(&colleague, &assignment, json!({"assignee": "sw.worker"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alert"]["assigned_to"], "sw.worker");
    let last = body["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("assigned"), Some("sw.colleague"))
    );
    assert_eq!(last["detail"]["to"], "sw.worker");
    let (_, page) = app
        .get(Some(&worker), "/api/v1/alerts?mine=true&assigned=me")
        .await;
    assert_eq!(page["counts"]["total"], 1);
    let (_, page) = app
        .get(Some(&worker), "/api/v1/alerts?mine=true&assigned=nobody")
        .await;
    assert_eq!(page["counts"]["total"], raised - 1);
    let (status, body) = app
        .post(&worker, &assignment, json!({"assignee": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["alert"]["assigned_to"], Value::Null);

    // A decision's follow-up: listed for the team until recorded done.
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string();
    let (status, decided) = app
        .decide(
            &worker,
            &id,
            json!({"decision": "strategy_discussion", "reason": "Two agencies' concerns: strategy discussion with police",
                "follow_up": {"owner": "sw.colleague", "due": due}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let (status, page) = app.get(Some(&worker), "/api/v1/follow-ups").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    let follow_up = page["follow_ups"][0].clone();
    assert_eq!(follow_up["owner"], "sw.colleague");
    assert_eq!(follow_up["decision"], "strategy_discussion");
    assert_eq!(follow_up["overdue"], false);
    let (_, page) = app.get(Some(&nights.secret), "/api/v1/follow-ups").await;
    assert_eq!(page["total"], 0);
    let done_path = format!("/api/v1/follow-ups/{}/done", follow_up["id"]);
    let (status, _) = app.post(&outsider, &done_path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, done) = app.post(&colleague, &done_path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["done_by"], "sw.colleague");
    let (status, _) = app.post(&colleague, &done_path, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .post(&colleague, "/api/v1/follow-ups/999999/done", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = app.get(Some(&worker), "/api/v1/follow-ups").await;
    assert_eq!(page["total"], 0);

    // Reopening: a decided alert, with a reason of a sentence.
    let reopen = format!("/api/v1/alerts/{id}/reopen");
    let (status, body) = app
        .post(&worker, &reopen, json!({"reason": "why not"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .post(
            &outsider,
            &reopen,
            json!({"reason": "The school has raised a new concern"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(
            &worker,
            &reopen,
            json!({"reason": "The school has raised a new concern"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alert"]["status"], "open");
    let kinds: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "raised",
            "assigned",
            "unassigned",
            "decided",
            "follow_up_done",
            "reopened"
        ]
    );
    let last = body["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "sw.worker");
    assert_eq!(last["reason"], "The school has raised a new concern");
    assert_eq!(body["follow_ups"][0]["done_by"], "sw.colleague");
    let (status, _) = app
        .post(
            &worker,
            &reopen,
            json!({"reason": "The school has raised a new concern"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, page) = app.get(Some(&worker), "/api/v1/alerts?mine=true").await;
    assert_eq!(page["counts"]["total"], raised);
}

sightline_testkit::on_every_backend!(
    my_work_counts_filters_assignment_follow_ups_and_reopening,
    an_alert_raised_at_intake_is_read_decided_once_and_audited,
    the_servers_due_times_and_duty_team_apply_to_alerts,
    the_alert_routes_appear_in_the_openapi_document,
);
