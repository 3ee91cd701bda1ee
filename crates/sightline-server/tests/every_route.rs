//! Every route of the whole router, anonymous: the API answers 401, the web UI
//! redirects to the login page, and every response carries the security headers.
//! (Wrong role or agency per web route: `sightline-web`'s tests.) And a record
//! its agency restricted is invisible on every route to every role outside the
//! named ones (issue #18 item 5). On every backend.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_access::Role;
use sightline_core::AgencyId;
use sightline_testkit::server::{StaffSession, TestServer, sync};

async fn spawn(db: sightline_testkit::TestDatabase) -> (String, TestServer) {
    let server = TestServer::start(db).await;
    (server.base.clone(), server)
}

fn example(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "synthetic-1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn assert_headers(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    for name in [
        "content-security-policy",
        "x-frame-options",
        "cache-control",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(headers.contains_key(name), "{what}: no {name}");
    }
    assert_eq!(headers["cache-control"], "no-store", "{what}");
}

async fn every_api_route_needs_a_token_and_every_page_a_session(
    db: sightline_testkit::TestDatabase,
) {
    let (base, _server) = spawn(db).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let openapi = sightline_server::openapi();
    let mut n_api_routes = 0;
    for (path, item) in &openapi.paths.paths {
        let operations = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("DELETE", item.delete.is_some()),
            ("PATCH", item.patch.is_some()),
        ];
        for (method, present) in operations {
            if !present {
                continue;
            }
            n_api_routes += 1;
            let url = format!("{base}{}", example(path));
            let response = client
                .request(method.parse().unwrap(), &url)
                .header("content-type", "application/json")
                .body("[]")
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            assert_headers(&response, &format!("{method} {path}"));
        }
    }
    assert!(
        n_api_routes >= 3,
        "the OpenAPI document lists the API routes"
    );

    for spec in sightline_web::ROUTES {
        let url = format!("{base}{}", spec.example_path);
        let response = if spec.method == "GET" {
            client.get(&url).send().await.unwrap()
        } else {
            client
                .post(&url)
                .form(&[("csrf_token", "")])
                .send()
                .await
                .unwrap()
        };
        assert_headers(&response, &format!("{spec:?}"));
        if spec.access == sightline_web::Access::Public {
            // Sign-in with a provider: no such provider is configured here,
            // and no sign-in is waiting for the example's state.
            let expected = match spec.path {
                "/login/oidc/{provider}" => Some(StatusCode::NOT_FOUND),
                "/login/oidc/callback" => Some(StatusCode::FORBIDDEN),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(response.status(), expected, "{spec:?}");
            }
            assert!(!response.status().is_server_error(), "{spec:?}");
            continue;
        }
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{spec:?}");
        assert_eq!(response.headers()["location"], "/login", "{spec:?}");
    }

    let unknown = client
        .get(format!("{base}/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_headers(&unknown, "fallback");
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_headers(&health, "/healthz");
    // Without a metrics token configured, /metrics is not there for anyone
    // (with one: api.rs, metrics_show_every_family_and_no_id).
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::NOT_FOUND);
    assert_headers(&metrics, "/metrics");
}

const GP: &str = "st-annes-gp";
const RESTRICTED_ID: &str = "GP-RESTRICTED-1";
/// Words only the restricted record holds (its narrative).
const MARKER: &str = "disclosed in confidence at the surgery";
/// A visitor only the restricted record names.
const VISITOR: &str = "Quillfeather";

/// Bruises with an inconsistent explanation on a 10-month-old (the injury
/// rule's alert cites it), told in confidence: the record the GP restricts.
const RESTRICTED_RECORD: &str = r#"{"source": {"agency": "st-annes-gp", "record_id": "GP-RESTRICTED-1", "version": 1}, "kind": "health.gp_consultation", "occurred_at": "2007-01-13T10:20:00Z", "recorded_at": "2007-01-13T11:02:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "943 476 5919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male", "address": {"lines": ["12 Example Road"], "postcode": "N17 6AA"}}, {"ref": "v", "role": "visitor", "given_names": "Dorian", "family_name": "Quillfeather", "dob": "1980-05-05", "sex": "male"}], "relationships": [{"from": "v", "to": "c", "type": "visits"}], "findings": [{"code": "injury", "subjects": ["c"], "type": "bruise", "site": "face", "count": 2, "explanation": "inconsistent"}], "narrative": "Mother disclosed in confidence at the surgery that she fears for her own safety."}"#;

/// Another GP record about the child, not restricted: the pages still show it.
const OPEN_RECORD: &str = r#"{"source": {"agency": "st-annes-gp", "record_id": "GP-OPEN-1", "version": 1}, "kind": "health.gp_consultation", "occurred_at": "2007-02-20T09:00:00Z", "recorded_at": "2007-02-20T10:00:00Z", "persons": [{"ref": "c", "role": "subject", "nhs_number": "943 476 5919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01", "sex": "male", "address": {"lines": ["12 Example Road"], "postcode": "N17 6AA"}}]}"#;

fn fill(path: &str, child: &str, alert: &str) -> String {
    path.replace("{agency}", GP)
        .replace("{record_id}", RESTRICTED_ID)
        .replace("{person_id}", child)
        .replace(
            "{id}",
            if path.contains("/alerts/") {
                alert
            } else {
                child
            },
        )
        .replace("{alert_id}", alert)
        .replace("{follow_up_id}", "1")
        .replace("{batch_id}", "1")
        .replace("{user_id}", "999999")
        .replace("{token_id}", "999999")
}

struct Walker {
    server: TestServer,
    client: reqwest::Client,
}

impl Walker {
    async fn page(&self, session: &StaffSession, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(self.server.url(path))
            .header(
                "cookie",
                format!("{}={}", sightline_web::SESSION_COOKIE, session.secret),
            )
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn api(
        &self,
        session: &StaffSession,
        method: &str,
        path: &str,
        body: &Value,
    ) -> (StatusCode, String) {
        let response = self
            .client
            .request(method.parse().unwrap(), self.server.url(path))
            .bearer_auth(&session.secret)
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Every web route and every API route, as `session`: what each answered.
    async fn every_route(
        &self,
        session: &StaffSession,
        child: &str,
        alert: &str,
    ) -> Vec<(String, StatusCode, String)> {
        let mut answers = Vec::new();
        for spec in sightline_web::ROUTES {
            if spec.access == sightline_web::Access::Public || spec.path == "/logout" {
                continue;
            }
            let path = fill(spec.path, child, alert);
            let (status, body) = if spec.method == "GET" {
                self.page(session, &path).await
            } else {
                let response = self
                    .client
                    .post(self.server.url(&path))
                    .header(
                        "cookie",
                        format!("{}={}", sightline_web::SESSION_COOKIE, session.secret),
                    )
                    .form(&[
                        ("csrf_token", session.csrf.as_str()),
                        (
                            "reason",
                            "I need to see this now because the child may be at risk.",
                        ),
                    ])
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.text().await.unwrap())
            };
            answers.push((format!("{} {path}", spec.method), status, body));
        }
        for (path, item) in &sightline_server::openapi().paths.paths {
            let path = fill(path, child, alert);
            if item.get.is_some() {
                let (status, body) = self.api(session, "GET", &path, &Value::Null).await;
                answers.push((format!("GET {path}"), status, body));
            }
            if item.post.is_some() && !path.ends_with("/records") && !path.starts_with("/fhir") {
                let (status, body) = self.api(session, "POST", &path, &json!({})).await;
                answers.push((format!("POST {path}"), status, body));
            }
        }
        answers
    }
}

/// Issue #18 item 5, acceptance: the GP restricts its record to its own
/// safeguarding leads; everyone else (its own practitioner and manager, the
/// team the record's alert is routed to, a lead of another agency holding
/// that alert, an officer who broke glass on the child, the privacy officer
/// and the administrator) finds its content on no route, and its reference on
/// none but the ones that name it in the path.
async fn a_restricted_record_is_invisible_outside_its_roles_on_every_route(
    db: sightline_testkit::TestDatabase,
) {
    let mut token = String::new();
    let server = TestServer::start_with(db, |store| {
        token =
            sightline_app::create_token(store, &AgencyId::parse(GP).unwrap(), chrono::Utc::now())
                .unwrap()
                .secret;
    })
    .await;
    let walker = Walker {
        server,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let response = walker
        .client
        .post(walker.server.url("/api/v1/records"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(format!("{RESTRICTED_RECORD}\n{OPEN_RECORD}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let staff = |name: &str, role, agency: &str, team: Option<&str>| {
        walker.server.staff_in_team(name, role, agency, team)
    };
    let gp_lead = staff("gp.lead", Role::SafeguardingLead, GP, None);
    let gp_worker = staff("gp.worker", Role::Practitioner, GP, Some("north"));
    let gp_manager = staff("gp.manager", Role::TeamManager, GP, Some("north"));
    let duty_worker = staff(
        "duty.worker",
        Role::Practitioner,
        "social-care",
        Some("duty"),
    );
    let duty_lead = staff(
        "duty.lead",
        Role::SafeguardingLead,
        "social-care",
        Some("duty"),
    );
    let officer = staff(
        "pc.jones",
        Role::Practitioner,
        "north-met-police",
        Some("north"),
    );
    let privacy = staff("privacy.officer", Role::PrivacyOfficer, "council", None);
    let admin = staff("admin.one", Role::Administrator, "council", None);

    let (status, alerts) = walker
        .api(&duty_worker, "GET", "/api/v1/alerts", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let alerts: Value = serde_json::from_str(&alerts).unwrap();
    let alert = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["rule"] == "injury_unexplained")
        .expect("the injury alert")
        .clone();
    let child = alert["child"].as_str().unwrap().to_owned();
    let alert_id = alert["id"].as_str().unwrap().to_owned();

    // Before: the record is there for those with a need to know (so the walk
    // below can fail).
    let record_path = format!("/records/{GP}/{RESTRICTED_ID}");
    for reader in [&gp_worker, &duty_worker, &duty_lead] {
        let (status, page) = walker.page(reader, &record_path).await;
        assert_eq!(status, StatusCode::OK, "{}", reader.username);
        assert!(page.contains(MARKER), "{} before", reader.username);
    }
    let (_, detail) = walker
        .api(
            &duty_lead,
            "GET",
            &format!("/api/v1/alerts/{alert_id}"),
            &Value::Null,
        )
        .await;
    assert!(detail.contains(RESTRICTED_ID), "{detail}");

    // Only a manager or lead of the GP restricts it, with a reason of a sentence.
    let restriction_path = format!("/api/v1/records/{GP}/{RESTRICTED_ID}/restriction");
    let body = json!({
        "roles": ["safeguarding_lead"],
        "own_agency_only": true,
        "reason": "Sharing the mother's disclosure would put the child at greater risk.",
    });
    for refused in [&gp_worker, &duty_lead, &privacy, &admin] {
        let (status, answer) = walker.api(refused, "POST", &restriction_path, &body).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{}: {answer}",
            refused.username
        );
    }
    let (status, answer) = walker
        .api(
            &gp_lead,
            "POST",
            &restriction_path,
            &json!({"roles": ["safeguarding_lead"], "reason": "because"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = walker.api(&gp_lead, "POST", &restriction_path, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The officer breaks glass on the child (granted) and on the record (refused).
    let response = walker
        .client
        .post(walker.server.url(&format!("/children/{child}/break-glass")))
        .header(
            "cookie",
            format!("{}={}", sightline_web::SESSION_COOKIE, officer.secret),
        )
        .form(&[
            ("csrf_token", officer.csrf.as_str()),
            (
                "reason",
                "Officer attending the home tonight after a call about the baby.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The named role still reads it, and sees the restriction.
    let (status, page) = walker.page(&gp_lead, &record_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(MARKER) && page.contains("Restricted record"));
    let (_, page) = walker.page(&gp_lead, &format!("/children/{child}")).await;
    assert!(
        page.contains(RESTRICTED_ID),
        "the lead's child page lists it"
    );
    assert!(page.contains(VISITOR), "and the visitor it names");

    for outsider in [
        &gp_worker,
        &gp_manager,
        &duty_worker,
        &duty_lead,
        &officer,
        &privacy,
        &admin,
    ] {
        // The child's pages are still there in full for those with a basis.
        if ["gp.worker", "duty.worker", "pc.jones"].contains(&outsider.username.as_str()) {
            let (status, page) = walker.page(outsider, &format!("/children/{child}")).await;
            assert_eq!(status, StatusCode::OK, "{}", outsider.username);
            assert!(
                page.contains("GP-OPEN-1"),
                "{}: the child page in full",
                outsider.username
            );
        }
        let answers = walker.every_route(outsider, &child, &alert_id).await;
        assert!(answers.len() > 30, "{}", answers.len());
        for (route, status, body) in answers {
            // Subject access and retention are the privacy officer's alone;
            // the bundle the privacy officer produces withholds the record.
            if route.contains("/privacy/sar") || route.contains("/privacy/retention") {
                let expected = if outsider.username == privacy.username {
                    if route.starts_with("POST") && route.ends_with("/unredact") {
                        // No item: refused with the form again.
                        StatusCode::UNPROCESSABLE_ENTITY
                    } else if route.contains("/privacy/retention/1") {
                        // No batch was written: nothing is due in 2007's records.
                        StatusCode::NOT_FOUND
                    } else if !route.starts_with("POST") {
                        StatusCode::OK
                    } else {
                        status
                    }
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(status, expected, "{} on {route}", outsider.username);
            }
            if outsider.username == privacy.username && route.ends_with("/bundle") {
                assert_eq!(status, StatusCode::OK, "{route}: {body}");
                assert!(body.contains("Records withheld"), "{body}");
            }
            for content in [MARKER, VISITOR] {
                assert!(
                    !body.contains(content),
                    "{} found the restricted record's content ({content}) on {route} ({status})",
                    outsider.username
                );
            }
            // The privacy officer reviews restrictions and reads the access
            // log: record references are his to see, never content.
            if outsider.username != privacy.username && !route.contains(RESTRICTED_ID) {
                assert!(
                    !body.contains(RESTRICTED_ID),
                    "{} found the restricted record on {route} ({status})",
                    outsider.username
                );
            }
        }
    }
    // The evidence says "restricted record" to those the alert is routed to.
    let (_, page) = walker
        .page(&duty_worker, &format!("/alerts/{alert_id}"))
        .await;
    assert!(page.contains("Restricted record"), "{page}");
    let (_, detail) = walker
        .api(
            &duty_worker,
            "GET",
            &format!("/api/v1/alerts/{alert_id}"),
            &Value::Null,
        )
        .await;
    assert!(detail.contains("\"restricted\":true"), "{detail}");

    // The privacy officer reviews it; the event and the audit entry are kept.
    let (status, page) = walker.page(&privacy, "/privacy/restrictions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(RESTRICTED_ID) && page.contains("would put the child at greater risk"));
    let entries = sync(|| {
        sightline_app::audit::recent_entries(walker.server.store.as_ref(), None, 2_000).unwrap()
    });
    assert!(entries.iter().any(|row| row.action == "record_restricted"
        && row.actor_username == "gp.lead"
        && row.resource_key == format!("record:{GP}/{RESTRICTED_ID}")));

    // Lifted by the GP's manager (outside the roles, on the record's page), it
    // is back for those with a need to know.
    let response = walker
        .client
        .post(walker.server.url(&format!("{record_path}/restriction")))
        .header(
            "cookie",
            format!("{}={}", sightline_web::SESSION_COOKIE, gp_manager.secret),
        )
        .form(&[
            ("csrf_token", gp_manager.csrf.as_str()),
            ("action", "lift"),
            (
                "reason",
                "The family has moved and the risk in sharing has passed.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = walker.page(&gp_worker, &record_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(MARKER));

    // The manager restricts it again on the record's page, to practitioners
    // and managers of any agency with a need to know: the GP's practitioner
    // reads it, its lead (not named now) does not.
    let (_, page) = walker.page(&gp_manager, &record_path).await;
    assert!(
        page.contains("Restrict this record"),
        "the form for a manager"
    );
    let response = walker
        .client
        .post(walker.server.url(&format!("{record_path}/restriction")))
        .header(
            "cookie",
            format!("{}={}", sightline_web::SESSION_COOKIE, gp_manager.secret),
        )
        .form(&[
            ("csrf_token", gp_manager.csrf.as_str()),
            ("action", "restrict"),
            ("role_practitioner", "on"),
            ("role_team_manager", "on"),
            (
                "reason",
                "Sharing this disclosure beyond casework would harm the child.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = walker.page(&gp_worker, &record_path).await;
    assert!(page.contains(MARKER) && page.contains("Restricted record"));
    // The lead may still lift it: the restriction and the form, no content.
    let (status, page) = walker.page(&gp_lead, &record_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(MARKER) && page.contains("You are not among them"));
    assert!(page.contains("Lift the restriction"));
    let in_force = sync(|| {
        sightline_app::controls::restrictions_in_force(walker.server.store.as_ref()).unwrap()
    });
    assert_eq!(in_force.len(), 1);
    assert_eq!(
        in_force[0].event.roles,
        vec!["practitioner".to_owned(), "team_manager".to_owned()]
    );
    assert!(!in_force[0].event.own_agency_only);
    assert_eq!(in_force[0].event.by_username, "gp.manager");
}

sightline_testkit::on_every_backend!(
    every_api_route_needs_a_token_and_every_page_a_session,
    a_restricted_record_is_invisible_outside_its_roles_on_every_route
);
