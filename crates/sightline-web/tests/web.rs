//! The web UI against a real server on a free port with a fresh database: every
//! route's guard, CSRF, login back-off, headers, cookies, the minimal view and break
//! glass, administration.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use sightline_access::{AccessContext, Actor, Resource, Role, authorize};
use sightline_app::accounts::DemoAccount;
use sightline_core::AgencyId;
use sightline_store::{NewRecord, Store};
use sightline_testkit::TestDatabase;
use sightline_testkit::server::{TestServer, csrf_of, login_form, post_form, sync};
use sightline_web::{Access, ROUTES};
use std::sync::Arc;

struct TestApp {
    base: String,
    store: Arc<dyn Store>,
    demo: Vec<DemoAccount>,
    _server: TestServer,
}

impl TestApp {
    /// The real server (API and web UI) over `db`, holding two synthetic
    /// children's records and a demo account per role.
    async fn spawn(db: TestDatabase) -> TestApp {
        TestApp::spawn_configured(db, sightline_testkit::server::ServerConfig::default()).await
    }

    /// [`TestApp::spawn`] with the server's settings.
    async fn spawn_configured(
        db: TestDatabase,
        config: sightline_testkit::server::ServerConfig,
    ) -> TestApp {
        let mut demo = Vec::new();
        let server = TestServer::start_configured(db, config, |store| {
            let police = AgencyId::parse("police").unwrap();
            demo =
                sightline_app::accounts::create_demo_accounts(store, &police, chrono::Utc::now())
                    .unwrap();
            let mut tx = store.begin().unwrap();
            tx.append(&[
                synthetic_record(
                    "health",
                    "SYN-1",
                    "Ada",
                    "Synthetic",
                    "9434765919",
                    "SYNTHETIC-BODY",
                ),
                synthetic_record(
                    "police",
                    "POL-1",
                    "Ada",
                    "Synthetic",
                    "9434765919",
                    "=HYPERLINK(\"http://example.invalid\")",
                ),
                synthetic_record(
                    "health",
                    "SYN-2",
                    "Bea",
                    "Otherchild",
                    "4010232137",
                    "SYNTHETIC-SECOND-BODY",
                ),
            ])
            .unwrap();
            tx.commit().unwrap();
        })
        .await;
        TestApp {
            base: server.base.clone(),
            store: server.store.clone(),
            demo,
            _server: server,
        }
    }

    fn client() -> reqwest::Client {
        sightline_testkit::server::browser()
    }

    fn account(&self, role: Role) -> &DemoAccount {
        self.demo
            .iter()
            .find(|account| account.role == role)
            .unwrap()
    }

    /// A client signed in as the demo account of `role`, and its CSRF token.
    async fn sign_in(&self, role: Role) -> (reqwest::Client, String) {
        let client = Self::client();
        let account = self.account(role);
        let response = self
            .login(&client, &account.username, &account.password)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = client
            .get(format!("{}/my-work", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (client, csrf_of(&page))
    }

    async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        login_form(client, &self.base, username, password).await
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        post_form(client, &format!("{}{path}", self.base), fields).await
    }

    async fn request(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        csrf: &str,
    ) -> reqwest::Response {
        if method == "GET" {
            client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap()
        } else {
            self.post(
                client,
                path,
                &[
                    ("csrf_token", csrf),
                    ("reason", "synthetic reason for the test"),
                ],
            )
            .await
        }
    }
}

/// A valid interchange record about one synthetic child (and the child's
/// mother), stored as sent.
fn synthetic_record(
    agency: &str,
    record_id: &str,
    given: &str,
    family: &str,
    nhs_number: &str,
    narrative: &str,
) -> NewRecord {
    // Each child's own mother, unlike the other's in name and date of birth.
    let (mother, mother_dob) = if given == "Ada" {
        ("Mum", "1981-09-20")
    } else {
        ("Cara", "1990-12-02")
    };
    let body = serde_json::json!({
        "source": {"agency": agency, "record_id": record_id, "version": 1},
        "kind": "health.gp_consultation",
        "occurred_at": "2007-01-13",
        "recorded_at": "2007-01-13T11:00:00Z",
        "persons": [
            {"ref": "c", "role": "subject", "nhs_number": nhs_number, "given_names": given,
             "family_name": family, "dob": "2006-03-01", "sex": "female"},
            {"ref": "m", "role": "parent", "given_names": mother, "family_name": family,
             "dob": mother_dob, "sex": "female"}
        ],
        "relationships": [{"from": "m", "to": "c", "type": "parent_of"}],
        "narrative": narrative,
    });
    NewRecord {
        agency: agency.into(),
        record_id: record_id.into(),
        version: 1,
        kind: "health.gp_consultation".into(),
        occurred_at: "2007-01-13".into(),
        occurred_start_us: 1_168_646_400_000_000,
        recorded_at_us: 1_168_686_000_000_000,
        received_at_us: 1_168_732_800_000_000,
        content_hash: sightline_app::content_hash(&body.to_string()),
        body: body.to_string(),
    }
}

/// The person id of the child called `given`.
fn child_id(store: &dyn Store, given: &str) -> String {
    let snapshot = sync(|| sightline_app::views::Snapshot::load(store)).unwrap();
    snapshot
        .facts
        .values()
        .find(|facts| facts.is_child && facts.given_names.as_deref() == Some(given))
        .unwrap_or_else(|| panic!("no child {given}"))
        .id
        .clone()
}

fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    let csp = csp.to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && !csp.contains("unsafe-inline")
            && !csp.contains("script-src"),
        "{what}: {csp}"
    );
    assert_eq!(headers.get("x-frame-options").unwrap(), "DENY", "{what}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store", "{what}");
    assert_eq!(
        headers.get("x-content-type-options").unwrap(),
        "nosniff",
        "{what}"
    );
    assert_eq!(
        headers.get("referrer-policy").unwrap(),
        "no-referrer",
        "{what}"
    );
}

async fn every_route_sends_anonymous_callers_to_login(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let client = TestApp::client();
    for spec in ROUTES {
        let response = app
            .request(&client, spec.method, spec.example_path, "")
            .await;
        assert_security_headers(response.headers(), &format!("{spec:?}"));
        if spec.access == Access::Public {
            // Sign-in with a provider: none is configured here (404), and no
            // sign-in waits for the callback's state (403).
            let no_provider =
                spec.path == "/login/oidc/{provider}" && response.status() == StatusCode::NOT_FOUND;
            assert!(
                response.status().is_success()
                    || response.status() == StatusCode::FORBIDDEN
                    || no_provider,
                "{spec:?}: {}",
                response.status()
            );
            assert_ne!(location(&response), "/login", "{spec:?}");
        } else {
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{spec:?}");
            assert_eq!(location(&response), "/login", "{spec:?}");
        }
    }
    // A stale or forged session cookie is the same as none.
    let forged = client
        .get(format!("{}/my-work", app.base))
        .header("cookie", format!("sightline_session={}", "ab".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&forged), "/login");
}

async fn every_route_refuses_the_wrong_role_and_shows_other_agencies_minimal(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    for role in Role::ALL {
        let (client, csrf) = app.sign_in(role).await;
        let actor = Actor {
            user_id: 0,
            role,
            agency: AgencyId::parse("police").unwrap(),
            team: None,
        };
        for spec in ROUTES {
            if spec.path == "/logout" || spec.access == Access::Public {
                continue; // Logout would end this session; it and login are covered below.
            }
            let response = app
                .request(&client, spec.method, spec.example_path, &csrf)
                .await;
            let status = response.status();
            assert_security_headers(response.headers(), &format!("{role:?} {spec:?}"));
            assert_ne!(location(&response), "/login", "{role:?} {spec:?}");
            match spec.access {
                Access::Service(action) => {
                    let allowed = authorize(
                        &actor,
                        action,
                        &Resource::Service,
                        &AccessContext::default(),
                        0,
                    )
                    .is_full();
                    assert_eq!(
                        status == StatusCode::FORBIDDEN,
                        !allowed,
                        "{role:?} {spec:?}: {status}"
                    );
                }
                Access::SignedIn if spec.path.starts_with("/children/") => {
                    // The example child does not exist: casework may look
                    // (404), but not break glass on nothing (404, finding 8);
                    // no other role may do either.
                    let expected = if role.does_casework() {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(status, expected, "{role:?} {spec:?}");
                }
                Access::SignedIn if spec.path.starts_with("/alerts/") => {
                    // The example alert does not exist.
                    assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} {spec:?}");
                }
                Access::SignedIn if spec.path == "/search" => {
                    // The privacy officer searches too (its results lead to who
                    // viewed the child).
                    let expected = if role.does_casework() || role == Role::PrivacyOfficer {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(status, expected, "{role:?} {spec:?}");
                }
                Access::SignedIn if spec.path == "/notices" => {
                    // Told of new access: the privacy officer, team managers
                    // and safeguarding leads; practitioners of CP-IS reads.
                    let expected = if matches!(
                        role,
                        Role::PrivacyOfficer
                            | Role::TeamManager
                            | Role::SafeguardingLead
                            | Role::Practitioner
                    ) {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(status, expected, "{role:?} {spec:?}");
                }
                Access::SignedIn if spec.path.starts_with("/records/") => {
                    // The example record would belong to police (it does not
                    // exist): casework may look (404), but not break glass on
                    // nothing (404); no other role may do either.
                    let expected = if role.does_casework() {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(status, expected, "{role:?} {spec:?}");
                }
                _ => assert!(
                    status.is_success()
                        || status.is_redirection()
                        || status == StatusCode::NOT_FOUND,
                    "{role:?} {spec:?}: {status}"
                ),
            }
        }
        // A child only another agency knows: minimal view for casework (no
        // case content, no download), nothing for the rest.
        let other_child = child_id(app.store.as_ref(), "Bea");
        for path in [
            format!("/children/{other_child}"),
            format!("/children/{other_child}/chronology"),
        ] {
            let response = client
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let page = response.text().await.unwrap();
            assert!(!page.contains("SYNTHETIC-SECOND-BODY"), "{role:?} {path}");
            if role.does_casework() {
                assert_eq!(status, StatusCode::OK, "{role:?} {path}");
                assert!(page.contains("not part of your work"), "{role:?} {path}");
                assert!(page.contains("Break glass and view the child"));
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {path}");
            }
        }
        let csv = client
            .get(format!(
                "{}/children/{other_child}/chronology.csv",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), StatusCode::FORBIDDEN, "{role:?}");
        // Another agency's record: minimal view for casework, nothing for the rest.
        let response = client
            .get(format!("{}/records/health/SYN-1", app.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let page = response.text().await.unwrap();
        assert!(!page.contains("SYNTHETIC-BODY"), "{role:?}");
        if role.does_casework() {
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("belongs to another agency"), "{role:?}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        }
    }
}

async fn break_glass_needs_a_reason_then_shows_the_record_and_is_logged(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (client, csrf) = app.sign_in(Role::Practitioner).await;
    let short = app
        .post(
            &client,
            "/records/health/SYN-1/break-glass",
            &[("csrf_token", &csrf), ("reason", "now")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 20 characters")
    );
    // Not a sentence (finding 8: "xxxxxxxxxx" was accepted).
    let token = app
        .post(
            &client,
            "/records/health/SYN-1/break-glass",
            &[
                ("csrf_token", &csrf),
                ("reason", "xxxxxxxxxxxxxxxxxxxxxxxx"),
            ],
        )
        .await;
    assert_eq!(token.status(), StatusCode::BAD_REQUEST);
    // Nothing to break glass on: a record or child that does not exist.
    for path in [
        "/records/health/NO-SUCH-RECORD/break-glass",
        "/children/p-0123456789abcdef/break-glass",
    ] {
        let missing = app
            .post(
                &client,
                path,
                &[
                    ("csrf_token", &csrf),
                    ("reason", "Synthetic: child at the emergency department"),
                ],
            )
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(
        sync(|| app.store.accounts().list_grants(10))
            .unwrap()
            .is_empty()
    );
    let granted = app
        .post(
            &client,
            "/records/health/SYN-1/break-glass",
            &[
                ("csrf_token", &csrf),
                ("reason", "Synthetic: child at the emergency department"),
            ],
        )
        .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let page = client
        .get(format!("{}/records/health/SYN-1", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("SYNTHETIC-BODY") && page.contains("because you broke glass"),
        "{page}"
    );
    // The privacy officer sees the grant and the reason, not the content.
    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let log = privacy
        .get(format!("{}/privacy/access-log", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("Synthetic: child at the emergency department"));
    // The record in words, with its reference at the agency; no stored key.
    assert!(log.contains("Reference SYN-1"), "{log}");
    assert!(!log.contains("record:health"), "{log}");
    assert!(log.contains("break glass: Synthetic: child at the emergency department"));
    assert!(!log.contains("SYNTHETIC-BODY"));
    assert!(
        sync(|| sightline_app::audit::verify_audit(app.store.as_ref()))
            .unwrap()
            .is_ok()
    );
    // The record's agency is told at once.
    let notices = sync(|| {
        app.store.access().notices(&sightline_store::NoticeFilter {
            to_agency: Some("health".to_owned()),
            limit: 10,
            ..sightline_store::NoticeFilter::default()
        })
    })
    .unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].notice.kind, "break_glass");
}

async fn forms_without_the_csrf_token_are_refused(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (client, csrf) = app.sign_in(Role::Administrator).await;
    for token in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let response = app.post(&client, "/logout", &[("csrf_token", token)]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = app
            .post(
                &client,
                "/admin/users",
                &[
                    ("csrf_token", token),
                    ("username", "synthetic.new"),
                    ("password", "a long synthetic password"),
                    ("role", "practitioner"),
                    ("agency", "police"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(
        sync(|| app.store.accounts().user_by_username("synthetic.new"))
            .unwrap()
            .is_none()
    );
    // Still signed in; with the token, logout works and ends the session.
    assert_eq!(
        client
            .get(format!("{}/my-work", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let response = app.post(&client, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(location(&response), "/login?signed_out=1");
    assert_eq!(
        response.headers()["clear-site-data"],
        "\"cache\", \"cookies\", \"storage\""
    );
    let after = client
        .get(format!("{}/my-work", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&after), "/login");
    // The login form's own token: a post without the login cookie is refused.
    let fresh = TestApp::client();
    let account = app.account(Role::Practitioner);
    let response = app
        .post(
            &fresh,
            "/login",
            &[
                ("csrf_token", &"a".repeat(64)),
                ("username", &account.username),
                ("password", &account.password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// A browser whose requests a trusted proxy forwards from `address`.
fn browser_from(address: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Issue #15, finding 9: back-off per account and per source, not a fixed lock.
/// One source guessing at many accounts is slowed (whatever name it tries
/// next); guesses at one account from many sources delay it by a doubling,
/// capped, delay, after which its owner signs in from elsewhere; success
/// resets the account's count; every refusal is audited. The old fixed lock
/// (five failures, 15 minutes, no source limit) fails every step.
async fn failed_logins_back_off_per_source_and_account_without_locking_out_the_owner(
    db: TestDatabase,
) {
    let mut config = sightline_testkit::server::ServerConfig::default();
    // The test's requests come through a "proxy" at 127.0.0.1 that names the
    // client; short delays so that the test waits seconds, not minutes.
    config.web.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    config.web.session.throttle = sightline_store::ThrottlePolicy {
        window_us: 600_000_000,
        free_failures: 3,
        delay_first_us: 1_000_000,
        delay_max_us: 2_000_000,
    };
    config.web.session.source_throttle = sightline_store::ThrottlePolicy {
        window_us: 600_000_000,
        free_failures: 6,
        delay_first_us: 60_000_000,
        delay_max_us: 120_000_000,
    };
    let app = TestApp::spawn_configured(db, config).await;
    let victim = app.account(Role::Practitioner).clone();
    let throttle_of = |key: String| {
        let store = app.store.clone();
        sync(move || store.accounts().login_throttle(&key)).unwrap()
    };

    // One source guessing at many accounts: six free failures, then slowed.
    let guesser = browser_from("198.51.100.7");
    for guess in 0..6 {
        let response = app
            .login(
                &guesser,
                &format!("synthetic.guess{guess}"),
                "wrong password 123",
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Enter a correct username and password"),
            "{guess}"
        );
    }
    let response = app
        .login(&guesser, "synthetic.guess6", "wrong password 123")
        .await;
    assert!(response.text().await.unwrap().contains("too many attempts"));
    // While it waits, nothing it sends is checked, not even a right password.
    let response = app
        .login(&guesser, &victim.username, &victim.password)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("too many attempts"));
    let source = throttle_of("source:198.51.100.7".to_owned()).unwrap();
    assert_eq!(
        source.n_failures, 7,
        "the refusal while waiting is not counted"
    );
    assert_eq!(
        throttle_of(victim.username.clone()),
        None,
        "a refusal while the source waits does not touch the account"
    );

    // Guesses at one account from many sources: three free, then a delay that
    // doubles up to the cap.
    let mut delays_us = Vec::new();
    for guess in 0..6 {
        let from = browser_from(&format!("203.0.113.{guess}"));
        let response = app
            .login(&from, &victim.username, "wrong password 123")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let page = response.text().await.unwrap();
        let row = throttle_of(victim.username.clone()).unwrap();
        assert_eq!(row.n_failures, guess + 1);
        let delay_us = row
            .locked_until_us
            .map_or(0, |until| until - row.last_failure_us);
        assert_eq!(page.contains("too many attempts"), delay_us > 0, "{guess}");
        delays_us.push(delay_us);
        if delay_us > 0 {
            tokio::time::sleep(std::time::Duration::from_micros(
                u64::try_from(delay_us).unwrap() + 100_000,
            ))
            .await;
        }
    }
    assert_eq!(
        delays_us,
        [0, 0, 0, 1_000_000, 2_000_000, 2_000_000],
        "the delay grows and is capped"
    );

    // One more guess (the last delay has passed) delays the account again; the
    // owner, from another source, is refused while it waits, then signs in
    // once the delay has passed.
    let from = browser_from("203.0.113.99");
    let guess = app
        .login(&from, &victim.username, "wrong password 123")
        .await;
    assert!(guess.text().await.unwrap().contains("too many attempts"));
    let owner = browser_from("192.0.2.50");
    let response = app.login(&owner, &victim.username, &victim.password).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("too many attempts"));
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let response = app.login(&owner, &victim.username, &victim.password).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the owner signs in"
    );

    // Success resets the account's count: the next mistake is free again.
    assert_eq!(throttle_of(victim.username.clone()), None);
    let response = app
        .login(&owner, &victim.username, "wrong password 123")
        .await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Enter a correct username and password")
    );
    assert_eq!(throttle_of(victim.username.clone()).unwrap().n_failures, 1);

    // Every refusal while waiting is audited, by account and by source.
    let store = app.store.clone();
    let entries =
        sync(move || sightline_app::audit::recent_entries(store.as_ref(), None, 200)).unwrap();
    let throttled: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.action == "login_throttled")
        .map(|entry| entry.basis.as_str())
        .collect();
    assert_eq!(
        throttled
            .iter()
            .filter(|basis| **basis == "throttle:source")
            .count(),
        1,
        "the guesser's right password while it waited"
    );
    assert_eq!(
        throttled
            .iter()
            .filter(|basis| **basis == "throttle:account")
            .count(),
        1,
        "the owner's attempt while the account waited"
    );
}

/// A direct client (not a trusted proxy) that sends `X-Forwarded-Proto: https`
/// over plain HTTP gets plain HTTP's answer: no HSTS, cookies without
/// `Secure` or the `__Host-` prefix, and the plain session cookie is the one
/// read. Without any `--trusted-proxy`, and with proxies that do not include
/// the client's address.
async fn forwarded_proto_is_believed_only_from_a_trusted_proxy(db: TestDatabase) {
    let mut config = sightline_testkit::server::ServerConfig::default();
    config.web.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
    let app = TestApp::spawn_configured(db, config).await;
    for headers in [
        vec![("x-forwarded-proto", "https")],
        vec![("forwarded", "proto=https"), ("x-forwarded-proto", "HTTPS")],
    ] {
        let mut request = TestApp::client().get(format!("{}/login", app.base));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let page = request.send().await.unwrap();
        assert!(
            page.headers().get("strict-transport-security").is_none(),
            "{headers:?}"
        );
        let cookie = page.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("sightline_presession=") && !cookie.contains("Secure"),
            "{cookie}"
        );
    }
    // Signed in over plain HTTP, the session is read from the plain cookie
    // even by a request claiming HTTPS; the __Host- name is not believed.
    let account = app.account(Role::Practitioner).clone();
    let response = app
        .login(&TestApp::client(), &account.username, &account.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let secret = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("sightline_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("sightline_session=")
        .to_owned();
    for (name, expected) in [
        ("sightline_session", StatusCode::OK),
        ("__Host-sightline_session", StatusCode::SEE_OTHER),
    ] {
        let response = TestApp::client()
            .get(format!("{}/my-work", app.base))
            .header("x-forwarded-proto", "https")
            .header("cookie", format!("{name}={secret}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{name}");
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none()
        );
    }
}

async fn cookies_are_http_only_strict_and_secure_behind_tls(db: TestDatabase) {
    // The test's client plays the proxy: it connects from 127.0.0.1.
    let mut config = sightline_testkit::server::ServerConfig::default();
    config.web.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let app = TestApp::spawn_configured(db, config).await;
    let client = TestApp::client();
    let plain = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("strict-transport-security").is_none());
    let cookie = plain
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("sightline_presession=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    // Over HTTPS (here: said by the proxy), the cookies are Secure with the
    // __Host- prefix, and the answer carries HSTS (issue #15, finding 14).
    let tls = TestApp::client();
    let page = tls
        .get(format!("{}/login", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    let pre_session = page.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        pre_session.starts_with("__Host-sightline_presession=")
            && pre_session.contains("Secure")
            && pre_session.contains("Path=/")
            && !pre_session.contains("Domain"),
        "{pre_session}"
    );
    let page = page.text().await.unwrap();
    let account = app.account(Role::Practitioner);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf_token", csrf_of(&page).as_str()),
            ("username", &account.username),
            ("password", &account.password),
        ])
        .finish();
    let response = client
        .post(format!("{}/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .header("cookie", pre_session.split(';').next().unwrap())
        .body(body)
        .send()
        .await
        .unwrap();
    let session_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("__Host-sightline_session="))
        .unwrap()
        .to_owned();
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("SameSite=Strict")
            && session_cookie.contains("Secure")
            && session_cookie.contains("Path=/"),
        "{session_cookie}"
    );
    // Over HTTPS only the __Host- session cookie counts.
    let secret = session_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-sightline_session=")
        .to_owned();
    for (name, expected) in [
        ("__Host-sightline_session", StatusCode::OK),
        ("sightline_session", StatusCode::SEE_OTHER),
    ] {
        let response = TestApp::client()
            .get(format!("{}/my-work", app.base))
            .header("x-forwarded-proto", "https")
            .header("cookie", format!("{name}={secret}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{name}");
    }
}

/// Issue #15, finding 14: the login form's CSRF was double-submit, so a cookie
/// and field pair the attacker chose was accepted.
async fn the_login_token_is_bound_to_a_pre_session_the_server_issued(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let account = app.account(Role::Practitioner).clone();
    let chosen = "a".repeat(64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for cookie in [
        format!("sightline_presession={chosen}"),
        format!("sightline_presession={chosen}.{now}"),
        format!("sightline_login_csrf={chosen}"),
    ] {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf_token", chosen.as_str()),
                ("username", &account.username),
                ("password", &account.password),
            ])
            .finish();
        let response = TestApp::client()
            .post(format!("{}/login", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.clone())
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{cookie}");
    }
    // The pair the server issued signs in.
    let response = app
        .login(&TestApp::client(), &account.username, &account.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn an_administrator_creates_a_user_whom_a_lead_activates_and_disables_it(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (client, csrf) = app.sign_in(Role::Administrator).await;
    let bad = app
        .post(
            &client,
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "X"),
                ("password", "short"),
                ("role", "boss"),
                ("agency", "police"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let page = bad.text().await.unwrap();
    assert!(page.contains("There is a problem") && page.contains("Select a role"));
    // Issue #15, finding 10: a casework account an administrator creates is
    // inactive until a team manager or safeguarding lead of its agency
    // activates it; the administrator cannot sign in as it meanwhile.
    let created = app
        .post(
            &client,
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "synthetic.worker2"),
                ("password", "a long synthetic password"),
                ("role", "practitioner"),
                ("agency", "police"),
                ("team", ""),
            ],
        )
        .await;
    assert_eq!(location(&created), "/admin/users?created=inactive");
    let listed = client
        .get(format!("{}/admin/users?created=inactive", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("synthetic.worker2") && listed.contains("must activate the account"));
    let worker = TestApp::client();
    let refused = app
        .login(&worker, "synthetic.worker2", "a long synthetic password")
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let worker_id = sync(|| app.store.accounts().user_by_username("synthetic.worker2"))
        .unwrap()
        .unwrap()
        .id;

    // A token for police, which police's leads see with who created it.
    let made = app
        .post(
            &client,
            "/admin/tokens",
            &[("csrf_token", &csrf), ("agency", "police")],
        )
        .await;
    let page = made.text().await.unwrap();
    assert!(page.contains("slt_"));
    let secret = page
        .split("<code class=\"secret\" id=\"new-token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let token_id = sync(|| app.store.accounts().list_tokens(1)).unwrap()[0].id;
    let listed = client
        .get(format!("{}/admin/tokens", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("police") && !listed.contains("slt_"));

    // A lead of another agency may not activate police's account.
    sync(|| {
        sightline_testkit::server::create_staff(
            app.store.as_ref(),
            "health.lead",
            Role::SafeguardingLead,
            "health",
            None,
        )
    });
    let health_lead = TestApp::client();
    app.login(
        &health_lead,
        "health.lead",
        sightline_testkit::server::STAFF_PASSWORD,
    )
    .await;
    let health_csrf = csrf_of(
        &health_lead
            .get(format!("{}/agency/accounts", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let response = app
        .post(
            &health_lead,
            &format!("/agency/accounts/{worker_id}/activate"),
            &[("csrf_token", &health_csrf)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Police's lead sees the account and the token (and who created them),
    // and activates the account.
    let (lead, lead_csrf) = app.sign_in(Role::SafeguardingLead).await;
    let page = lead
        .get(format!("{}/agency/accounts", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Activate synthetic.worker2"), "{page}");
    assert!(page.contains("created an agency token"), "{page}");
    assert!(page.contains(&format!("agency token {token_id}")), "{page}");
    let admin_name = app.account(Role::Administrator).username.clone();
    assert!(page.contains(&admin_name), "who created them: {page}");
    let response = app
        .post(
            &lead,
            &format!("/agency/accounts/{worker_id}/activate"),
            &[("csrf_token", &lead_csrf)],
        )
        .await;
    assert_eq!(location(&response), "/agency/accounts?activated=1");
    assert_eq!(
        app.login(&worker, "synthetic.worker2", "a long synthetic password")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let my_work = |client: reqwest::Client| {
        let url = format!("{}/my-work", app.base);
        async move { client.get(url).send().await.unwrap() }
    };
    assert_eq!(my_work(worker.clone()).await.status(), StatusCode::OK);

    // The administrator disables the account: its session ends at once and it
    // cannot sign in again.
    let response = app
        .post(
            &client,
            &format!("/admin/users/{worker_id}/disable"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(location(&response), "/admin/users?disabled=1");
    assert_eq!(location(&my_work(worker.clone()).await), "/login");
    assert_eq!(
        app.login(&worker, "synthetic.worker2", "a long synthetic password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // The administrator revokes the token from the page: refused at once.
    assert!(
        sync(|| sightline_app::token_agency(app.store.as_ref(), &secret))
            .unwrap()
            .is_some()
    );
    let response = app
        .post(
            &client,
            &format!("/admin/tokens/{token_id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(location(&response), "/admin/tokens?revoked=1");
    assert!(
        sync(|| sightline_app::token_agency(app.store.as_ref(), &secret))
            .unwrap()
            .is_none()
    );

    let audited: Vec<(String, String, String)> =
        sync(|| app.store.audit().audit_entries(0, 10_000))
            .unwrap()
            .into_iter()
            .filter(|row| {
                matches!(
                    row.action.as_str(),
                    "create_user" | "activate_user" | "disable_user" | "revoke_token"
                ) && row.actor_username != "cli"
            })
            .map(|row| (row.actor_username, row.action, row.outcome))
            .collect();
    let lead_name = app.account(Role::SafeguardingLead).username.clone();
    assert_eq!(
        audited,
        vec![
            (
                admin_name.clone(),
                "create_user".to_owned(),
                "inactive".to_owned()
            ),
            (
                "health.lead".to_owned(),
                "activate_user".to_owned(),
                "deny".to_owned()
            ),
            (lead_name, "activate_user".to_owned(), "ok".to_owned()),
            (
                admin_name.clone(),
                "disable_user".to_owned(),
                "ok".to_owned()
            ),
            (admin_name, "revoke_token".to_owned(), "ok".to_owned()),
        ]
    );
    assert!(
        sync(|| sightline_app::audit::verify_audit(app.store.as_ref()))
            .unwrap()
            .is_ok()
    );
}

async fn a_child_with_a_relationship_in_full_with_chronology_timeline_and_csv(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let child = child_id(app.store.as_ref(), "Ada");
    // Police contributed a record about Ada: the police practitioner sees her in full.
    let (client, _) = app.sign_in(Role::Practitioner).await;
    let get = |path: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move { client.get(format!("{base}{path}")).send().await.unwrap() }
    };
    let response = get(format!("/children/{child}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(response.headers(), "child");
    let page = response.text().await.unwrap();
    assert!(page.contains("Ada Synthetic"));
    assert!(
        page.contains(
            "because your agency&#x27;s record established a relationship with the child"
        ),
        "the basis is the relationship, in words"
    );
    assert!(
        page.contains("Match evidence"),
        "the second mention has its waterfall"
    );
    assert!(
        page.contains("Mum Synthetic"),
        "the mother is around the child"
    );

    let response = get(format!("/children/{child}/chronology")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<svg"), "the timeline is drawn");
    assert_eq!(
        page.matches("class=\"timeline__lane\"").count(),
        2,
        "health and police"
    );
    assert!(
        page.contains("SYNTHETIC-BODY"),
        "the narrative is in the table"
    );
    assert!(
        !page.contains("SYNTHETIC-SECOND-BODY"),
        "another child's record is not"
    );
    assert!(
        page.contains("=HYPERLINK(") && !page.contains("HYPERLINK(\"http"),
        "the narrative is shown, escaped"
    );

    let filtered = get(format!("/children/{child}/chronology?agency=police")).await;
    let page = filtered.text().await.unwrap();
    assert!(page.contains("Showing 1 of 2 records"));
    assert_eq!(page.matches("class=\"timeline__lane\"").count(), 1);
    assert!(page.contains("chronology.csv?agency=police"));
    // Dates as people type them; a clear message otherwise.
    for from in ["13%2F01%2F2007", "13+January+2007", "2007-01-13"] {
        let dated = get(format!("/children/{child}/chronology?from={from}")).await;
        assert_eq!(dated.status(), StatusCode::OK, "from={from}");
    }
    for (from, message) in [
        (
            "soon",
            "Enter the start date as 3 October 2023, 03&#x2f;10&#x2f;2023 or 2023-10-03",
        ),
        ("31%2F02%2F2007", "The start date must be a real date"),
        ("13%2F01%2F07", "Enter the year of the start date in full"),
    ] {
        let bad_date = get(format!("/children/{child}/chronology?from={from}")).await;
        assert_eq!(bad_date.status(), StatusCode::BAD_REQUEST, "from={from}");
        let page = bad_date.text().await.unwrap();
        assert!(page.contains(message), "from={from}");
    }

    let csv = get(format!("/children/{child}/chronology.csv")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(csv.headers().get("cache-control").unwrap(), "no-store");
    let body = csv.text().await.unwrap();
    assert_eq!(body.lines().count(), 3, "header and two records");
    assert!(
        body.contains("\"'=HYPERLINK(\"\"http://example.invalid\"\")\""),
        "{body}"
    );

    // Unknown and malformed ids.
    assert_eq!(
        get("/children/p-ffffffffffffffff".to_owned())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("/children/..%2Fetc".to_owned()).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn search_shows_the_minimal_view_without_a_relationship_and_break_glass_opens_the_child(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let other = child_id(app.store.as_ref(), "Bea");
    let (client, csrf) = app.sign_in(Role::Practitioner).await;
    let search = client
        .get(format!(
            "{}/search?name=Bea+Otherchild&dob=2006-03-01",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), StatusCode::OK);
    let page = search.text().await.unwrap();
    assert!(page.contains(&format!("/children/{other}")));
    assert!(page.contains("Not part of your work"));
    assert!(
        !page.contains("Born 2006-03-01"),
        "no date of birth in the minimal view"
    );
    let ada = client
        .get(format!("{}/search?name=Ada+Synthetic&dob=2006", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ada.contains("Born 1 March 2006"), "a related child in full");
    let bad = client
        .get(format!("{}/search?name=+&dob=yesterday", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let no_date = client
        .get(format!("{}/search?name=Ada+Synthetic&dob=", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_date.status(), StatusCode::BAD_REQUEST);
    assert!(no_date.text().await.unwrap().contains("href=\"#dob\""));

    let short = app
        .post(
            &client,
            &format!("/children/{other}/break-glass"),
            &[("csrf_token", &csrf), ("reason", "now")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 20 characters")
    );
    let granted = app
        .post(
            &client,
            &format!("/children/{other}/break-glass"),
            &[
                ("csrf_token", &csrf),
                (
                    "reason",
                    "Synthetic: the child is in the emergency department",
                ),
            ],
        )
        .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&granted), format!("/children/{other}"));
    let page = client
        .get(format!("{}/children/{other}/chronology", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("SYNTHETIC-SECOND-BODY"),
        "break glass opens the chronology"
    );

    // The privacy officer sees who looked, on what basis, and no case content.
    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let viewers = privacy
        .get(format!("{}/privacy/children/{other}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(viewers.status(), StatusCode::OK);
    let page = viewers.text().await.unwrap();
    assert!(!page.contains("SYNTHETIC-SECOND-BODY") && !page.contains("Otherchild"));
    let practitioner = &app.account(Role::Practitioner).username;
    assert!(page.contains(practitioner.as_str()));
    // In words, not the log's stored names.
    assert!(
        page.contains("Minimal view only"),
        "the search and the refused view"
    );
    assert!(page.contains("break glass"), "the grant's basis");
    assert!(
        page.contains("read who viewed a child"),
        "this visit itself"
    );
    // (Links may carry the child's id; the words the reader reads do not.)
    let words: String = page
        .split("href=\"")
        .enumerate()
        .map(|(idx, part)| {
            if idx == 0 {
                part
            } else {
                part.split_once('"').map_or(part, |(_, rest)| rest)
            }
        })
        .collect();
    for stored in [
        "minimal",
        "break_glass",
        "view_child",
        "child:",
        other.as_str(),
    ] {
        assert!(!words.contains(stored), "{stored} on the page");
    }
    // Other roles cannot open it.
    let (manager, _) = app.sign_in(Role::TeamManager).await;
    let refused = manager
        .get(format!("{}/privacy/children/{other}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// Stores an open alert about `child` routed to `routed_to`, citing `evidence`.
fn raise_alert(
    store: &dyn Store,
    id: &str,
    child: &str,
    routed_to: &str,
    evidence: &[(&str, &str)],
    due_at_us: i64,
) {
    let now_us = sightline_app::to_micros(chrono::Utc::now());
    let alert = sightline_store::AlertRow {
        id: id.to_owned(),
        child_id: child.to_owned(),
        person_id: None,
        rule_id: "synthetic_rule".to_owned(),
        pack_name: "default".to_owned(),
        pack_version: "1".to_owned(),
        severity: "high".to_owned(),
        title: format!("Synthetic alert {id}"),
        explanation: "SYNTHETIC-EXPLANATION: two injuries within six months".to_owned(),
        citation: "Synthetic guidance, paragraph 1".to_owned(),
        route: "allocated_worker".to_owned(),
        routed_to: routed_to.to_owned(),
        raised_at_us: now_us,
        updated_at_us: now_us,
        due_at_us,
        status: "open".to_owned(),
        escalation_level: 0,
        decided_at_us: None,
        assigned_to: None,
    };
    let evidence = evidence
        .iter()
        .map(|(agency, record_id)| sightline_store::EvidenceRow {
            agency: (*agency).to_owned(),
            record_id: (*record_id).to_owned(),
            version: 1,
        })
        .collect();
    sync(|| {
        let mut tx = store.begin().unwrap();
        tx.upsert_alerts(&[sightline_store::AlertUpsert { alert, evidence }], now_us)
            .unwrap();
        tx.commit().unwrap();
    });
}

async fn an_alert_is_decided_and_leaves_my_work(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let ada = child_id(app.store.as_ref(), "Ada");
    let bea = child_id(app.store.as_ref(), "Bea");
    let practitioner = app.account(Role::Practitioner).username.clone();
    let now_us = sightline_app::to_micros(chrono::Utc::now());
    let hour = 3_600_000_000;
    raise_alert(
        app.store.as_ref(),
        "a-00000000000000a1",
        &ada,
        "team:police/north",
        &[("health", "SYN-1"), ("police", "POL-1")],
        now_us + 30 * hour,
    );
    raise_alert(
        app.store.as_ref(),
        "a-00000000000000a2",
        &ada,
        "team:police/north",
        &[("police", "POL-1")],
        now_us - hour,
    );
    raise_alert(
        app.store.as_ref(),
        "a-00000000000000b1",
        &bea,
        "team:children-services/duty",
        &[("health", "SYN-2")],
        now_us + hour,
    );
    let (client, csrf) = app.sign_in(Role::Practitioner).await;
    let get = |path: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move { client.get(format!("{base}{path}")).send().await.unwrap() }
    };

    let page = get("/my-work".to_owned()).await.text().await.unwrap();
    let first = page
        .find("a-00000000000000a2")
        .expect("the overdue alert is listed");
    let second = page
        .find("a-00000000000000a1")
        .expect("the other alert is listed");
    assert!(first < second, "overdue first");
    assert!(
        !page.contains("a-00000000000000b1"),
        "another team's alert is not"
    );
    assert!(page.contains("1 overdue"));

    let response = get("/alerts/a-00000000000000a1".to_owned()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("SYNTHETIC-EXPLANATION"));
    assert!(page.contains("Synthetic guidance, paragraph 1"));
    assert!(
        page.contains("/records/health/SYN-1")
            || page.contains("&#x2f;records&#x2f;health&#x2f;SYN-1")
    );
    assert!(page.contains("Record decision"));
    assert!(page.contains("Ada Synthetic"));

    // A decision needs a known word and a reason; nothing changes otherwise.
    let refused = app
        .post(
            &client,
            "/alerts/a-00000000000000a1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "visit"),
                ("reason", "  "),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Enter the reason for your decision")
    );
    let refused = app
        .post(
            &client,
            "/alerts/a-00000000000000a1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "drop_table"),
                ("reason", "synthetic"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        sync(|| app.store.alerts().get("a-00000000000000a1"))
            .unwrap()
            .unwrap()
            .status,
        "open"
    );

    let next_week = (chrono::Utc::now().date_naive() + chrono::Days::new(7))
        .format("%-d %B %Y")
        .to_string();
    let decided = app
        .post(
            &client,
            "/alerts/a-00000000000000a1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "strategy_discussion"),
                (
                    "reason",
                    "Synthetic: two injuries, convene a strategy discussion",
                ),
                ("follow_up_owner", &practitioner),
                ("follow_up_due", &next_week),
            ],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    assert!(location(&decided).starts_with("/my-work?decided="));
    let page = get("/my-work?decided=1".to_owned())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your decision was recorded"));
    let alerts_part = &page[..page.find("follow-ups-heading").unwrap()];
    assert!(
        !alerts_part.contains("a-00000000000000a1"),
        "the decided alert left the list"
    );
    assert!(
        page.contains("Hold the strategy discussion"),
        "its follow-up is listed"
    );
    assert!(page.contains("a-00000000000000a2"));
    let stored = sync(|| app.store.alerts().get("a-00000000000000a1"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "decided");
    let events = sync(|| app.store.alerts().events("a-00000000000000a1")).unwrap();
    let decision = events.iter().find(|event| event.kind == "decided").unwrap();
    assert_eq!(decision.actor.as_deref(), Some(practitioner.as_str()));
    assert_eq!(decision.decision.as_deref(), Some("strategy_discussion"));

    // Decided: the page shows the history and no form; deciding again is refused.
    let page = get("/alerts/a-00000000000000a1".to_owned())
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Record decision") && page.contains("Strategy discussion"));
    let again = app
        .post(
            &client,
            "/alerts/a-00000000000000a1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "police_referral"),
                ("reason", "Synthetic: deciding the same alert again"),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The chronology marks the alerts and the decision.
    let page = get(format!("/children/{ada}/chronology"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Alerts and decisions"));
    assert!(page.contains("decision strategy discussion on Synthetic alert a-00000000000000a1"));

    // Another team's alert about a child police never recorded: minimal view, no decision.
    let page = get("/alerts/a-00000000000000b1".to_owned()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(!page.contains("SYNTHETIC-EXPLANATION") && page.contains("not part of your work"));
    let refused = app
        .post(
            &client,
            "/alerts/a-00000000000000b1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "police_referral"),
                ("reason", "Synthetic reason of a sentence"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        sync(|| app.store.alerts().get("a-00000000000000b1"))
            .unwrap()
            .unwrap()
            .status,
        "open"
    );

    // Break glass lets one read the child, not decide.
    let granted = app
        .post(
            &client,
            &format!("/children/{bea}/break-glass"),
            &[
                ("csrf_token", &csrf),
                ("reason", "Synthetic: urgent concern tonight"),
            ],
        )
        .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let page = get("/alerts/a-00000000000000b1".to_owned())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("SYNTHETIC-EXPLANATION") && !page.contains("Record decision"));
    let refused = app
        .post(
            &client,
            "/alerts/a-00000000000000b1/decision",
            &[
                ("csrf_token", &csrf),
                ("decision", "police_referral"),
                ("reason", "Synthetic reason of a sentence"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // An administrator cannot read alerts.
    let (admin, _) = app.sign_in(Role::Administrator).await;
    let refused = admin
        .get(format!("{}/alerts/a-00000000000000a2", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// A duty team of children's services: two workers and their manager, signed
/// in through the login form.
async fn duty_team(app: &TestApp) -> Vec<(reqwest::Client, String)> {
    let store = app.store.clone();
    sync(move || {
        for (username, role) in [
            ("sw.one", Role::Practitioner),
            ("sw.two", Role::Practitioner),
        ] {
            sightline_testkit::server::create_staff(
                store.as_ref(),
                username,
                role,
                "children-services",
                Some("duty"),
            );
        }
    });
    let mut signed_in = Vec::new();
    for username in ["sw.one", "sw.two"] {
        let client = TestApp::client();
        let response = app
            .login(&client, username, sightline_testkit::server::STAFF_PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = client
            .get(format!("{}/my-work", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        signed_in.push((client, csrf_of(&page)));
    }
    signed_in
}

/// Stores `n` open alerts about `child` routed to the duty team, with
/// severities, rules and due times cycling (every third one overdue).
fn raise_many(store: &dyn Store, child: &str, n: usize) {
    let now_us = sightline_app::to_micros(chrono::Utc::now());
    let hour = 3_600_000_000_i64;
    let upserts: Vec<sightline_store::AlertUpsert> = (0..n)
        .map(|idx| {
            let idx_i64 = i64::try_from(idx).unwrap();
            sightline_store::AlertUpsert {
                alert: sightline_store::AlertRow {
                    id: format!("a-{idx:016x}"),
                    child_id: child.to_owned(),
                    person_id: None,
                    rule_id: ["injury_not_mobile", "domestic_abuse_under_5"][idx % 2].to_owned(),
                    pack_name: "default".to_owned(),
                    pack_version: "1".to_owned(),
                    severity: ["low", "medium", "high", "critical"][idx % 4].to_owned(),
                    title: format!("Synthetic alert {idx}"),
                    explanation: "SYNTHETIC-EXPLANATION".to_owned(),
                    citation: "Synthetic guidance".to_owned(),
                    route: "duty_team".to_owned(),
                    routed_to: "team:children-services/duty".to_owned(),
                    raised_at_us: now_us,
                    updated_at_us: now_us,
                    due_at_us: if idx % 3 == 0 {
                        now_us - hour
                    } else {
                        now_us + (idx_i64 + 1) * hour
                    },
                    status: "open".to_owned(),
                    escalation_level: 0,
                    decided_at_us: None,
                    assigned_to: None,
                },
                evidence: vec![sightline_store::EvidenceRow {
                    agency: "health".to_owned(),
                    record_id: "SYN-1".to_owned(),
                    version: 1,
                }],
            }
        })
        .collect();
    sync(|| {
        let mut tx = store.begin().unwrap();
        tx.upsert_alerts(&upserts, now_us).unwrap();
        tx.commit().unwrap();
    });
}

/// A page with the entities the templates write in attributes decoded.
fn decoded(page: &str) -> String {
    page.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&#x3d;", "=")
}

/// The alert ids a My work page lists, in order.
fn listed_alerts(page: &str) -> Vec<String> {
    decoded(page)
        .split("href=\"/alerts/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The href of a link whose text starts with `text` (entities decoded).
fn link_to(page: &str, text: &str) -> Option<String> {
    let page = decoded(page);
    let at = page.find(&format!(">{text}"))?;
    let start = page[..at].rfind("href=\"")? + 6;
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_owned())
}

async fn my_work_pages_counts_filters_and_assignment(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    // Bea: a child only health has recorded.
    let bea = child_id(app.store.as_ref(), "Bea");
    raise_many(app.store.as_ref(), &bea, 120);
    let team = duty_team(&app).await;
    let (client, csrf) = &team[0];
    let get = |path: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.text().await.unwrap()
        }
    };

    // Counts at the top, the child named, pages of 50 through every alert.
    let page = get("/my-work".to_owned()).await;
    assert!(page.contains("120 open alerts"), "{page}");
    assert!(page.contains("<strong>40 overdue</strong>"));
    for count in [
        "30 <span class=\"tag tag--severity-critical\">Critical</span>",
        "30 <span class=\"tag tag--severity-low\">Low</span>",
    ] {
        assert!(page.contains(count), "{count}");
    }
    assert!(page.contains("Bea Otherchild"));
    assert!(
        page.contains("Injury or bruise in a child who is not independently mobile"),
        "the rule's title"
    );
    assert!(page.contains("Overdue by 60 minutes") && page.contains("Due in "));
    assert!(page.contains("Duty team, children-services"));
    let mut seen = listed_alerts(&page);
    assert_eq!(seen.len(), 50);
    assert!(link_to(&page, "Previous page").is_none());
    let mut next = link_to(&page, "Next page").expect("a next page");
    let mut pages = vec![seen.clone()];
    loop {
        let page = get(next.clone()).await;
        let rows = listed_alerts(&page);
        assert!(!rows.is_empty() && rows.len() <= 50);
        pages.push(rows.clone());
        seen.extend(rows);
        match link_to(&page, "Next page") {
            Some(href) => next = href,
            None => {
                // Back one page from the last: the page before it.
                let previous = link_to(&page, "Previous page").expect("a previous page");
                let back = listed_alerts(&get(previous).await);
                assert_eq!(back, pages[pages.len() - 2]);
                break;
            }
        }
    }
    assert_eq!(pages.len(), 3);
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 120, "every open alert is reachable, once");
    // Overdue first, then critical before low.
    let overdue_first = listed_alerts(&get("/my-work".to_owned()).await);
    let index_of = |id: &str| seen.iter().position(|seen| seen == id).unwrap();
    assert!(index_of(&overdue_first[0]) < index_of("a-0000000000000001"));

    // Filters: severity, rule, overdue; the counts stay those of all the work.
    let page = get("/my-work?severity=critical".to_owned()).await;
    assert!(page.contains("30 of 120 open alerts match these filters"));
    let page = get("/my-work?rule=domestic_abuse_under_5&overdue=1".to_owned()).await;
    assert!(page.contains("20 of 120 open alerts match"), "{page}");
    assert!(listed_alerts(&page).iter().all(|id| {
        let idx = usize::from_str_radix(id.trim_start_matches("a-"), 16).unwrap();
        idx % 2 == 1 && idx % 3 == 0
    }));
    let page = get("/my-work?severity=urgent&whose=everyone&after=junk".to_owned()).await;
    assert_eq!(listed_alerts(&page).len(), 50, "junk filters are ignored");

    // Assigning: to a worker of the team, with an event; whose filters follow.
    let id = "a-0000000000000005";
    let assigned = app
        .post(
            client,
            &format!("/alerts/{id}/assignment"),
            &[("csrf_token", csrf), ("assignee", "sw.two")],
        )
        .await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&assigned), format!("/alerts/{id}?assigned=1"));
    let page = get(format!("/alerts/{id}?assigned=1")).await;
    assert!(page.contains("Whose this alert is was recorded"));
    assert!(
        page.contains("<td data-label=\"What\">Assigned</td><td data-label=\"Who\">sw.one</td><td data-label=\"Details\">To sw.two</td>"),
        "{page}"
    );
    let (other, _) = &team[1];
    let mine = other
        .get(format!("{}/my-work?whose=me", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(listed_alerts(&mine), [id]);
    let page = get("/my-work?whose=unassigned".to_owned()).await;
    assert!(page.contains("119 of 120 open alerts match"));
    assert!(
        get("/my-work?whose=me".to_owned())
            .await
            .contains("No open alert matches these filters")
    );
    // Not to someone outside the team; not by someone without a relationship.
    let demo = app.account(Role::Practitioner).username.clone();
    let refused = app
        .post(
            client,
            &format!("/alerts/{id}/assignment"),
            &[("csrf_token", csrf), ("assignee", &demo)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Select someone of the team this alert is routed to")
    );
    let (police, police_csrf) = app.sign_in(Role::Practitioner).await;
    let refused = app
        .post(
            &police,
            "/alerts/a-0000000000000006/assignment",
            &[("csrf_token", &police_csrf), ("assignee", "sw.one")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Back to the team.
    let back = app
        .post(
            client,
            &format!("/alerts/{id}/assignment"),
            &[("csrf_token", csrf), ("assignee", "")],
        )
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let stored = sync(|| app.store.alerts().get(id)).unwrap().unwrap();
    assert_eq!(stored.assigned_to, None);
}

async fn decisions_set_follow_ups_and_alerts_reopen_on_the_pages(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let ada = child_id(app.store.as_ref(), "Ada");
    raise_many(app.store.as_ref(), &ada, 3);
    let team = duty_team(&app).await;
    let (client, csrf) = &team[0];
    let get = |path: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move { client.get(format!("{base}{path}")).send().await.unwrap() }
    };
    let id = "a-0000000000000002";
    let decide = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{}/alerts/{id}/decision", app.base);
        let csrf = csrf.clone();
        async move {
            let mut fields = fields;
            fields.push(("csrf_token", csrf));
            client.post(url).form(&fields).send().await.unwrap()
        }
    };
    let today = chrono::Utc::now().date_naive();
    let words = |day: chrono::NaiveDate| day.format("%-d %B %Y").to_string();

    // The decision form sits beside the explanation, before the evidence.
    let page = get(format!("/alerts/{id}")).await.text().await.unwrap();
    let why = page.find("Why Sightline raised this").unwrap();
    let form = page.find("Record your decision").unwrap();
    let evidence = page.find("<h2 class=\"heading-l\">Evidence</h2>").unwrap();
    assert!(why < form && form < evidence, "explanation, form, evidence");
    assert!(page.contains("class=\"alert-layout\""));

    // A reason of a sentence; for a visit, who and by when.
    for (fields, message) in [
        (
            vec![
                ("decision", "no_further_action".to_owned()),
                ("reason", "ok".to_owned()),
            ],
            "Give the reason in at least a sentence (20 characters or more)",
        ),
        (
            vec![
                ("decision", "visit".to_owned()),
                ("reason", "Seen at school; visiting at home".to_owned()),
            ],
            "Enter the date by which it will be done",
        ),
        (
            vec![
                ("decision", "visit".to_owned()),
                ("reason", "Seen at school; visiting at home".to_owned()),
                ("follow_up_owner", "sw.two".to_owned()),
                ("follow_up_due", "31/02/2030".to_owned()),
            ],
            "The date by which it will be done must be a real date, for example 3 October 2023",
        ),
        (
            vec![
                ("decision", "visit".to_owned()),
                ("reason", "Seen at school; visiting at home".to_owned()),
                ("follow_up_owner", "sw.two".to_owned()),
                ("follow_up_due", words(today - chrono::Days::new(1))),
            ],
            "The date by which it will be done must be today or later",
        ),
        (
            vec![
                ("decision", "visit".to_owned()),
                ("reason", "Seen at school; visiting at home".to_owned()),
                ("follow_up_owner", "demo.practitioner".to_owned()),
                ("follow_up_due", words(today)),
            ],
            "Who will do it must be an active account of your agency",
        ),
    ] {
        let refused = decide(fields).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{message}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(page.contains("There is a problem"));
    }
    assert_eq!(
        sync(|| app.store.alerts().get(id)).unwrap().unwrap().status,
        "open"
    );
    let decided = decide(vec![
        ("decision", "visit".to_owned()),
        ("reason", "Seen at school; visiting at home".to_owned()),
        ("follow_up_owner", "sw.two".to_owned()),
        ("follow_up_due", words(today + chrono::Days::new(2))),
    ])
    .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);

    // The follow-up shows on My work (for the team) until recorded done.
    let page = get("/my-work".to_owned()).await.text().await.unwrap();
    assert!(page.contains("Visit the child"), "{page}");
    assert!(
        page.contains("sw.two")
            && page.contains(&format!("Due {}", words(today + chrono::Days::new(2))))
    );
    let done_action = {
        let page = decoded(&page);
        let at = page.find("action=\"/follow-ups/").unwrap() + 8;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    let (colleague, colleague_csrf) = &team[1];
    let done = app
        .post(colleague, &done_action, &[("csrf_token", colleague_csrf)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(location(&done).starts_with("/my-work?follow_up_done="));
    let page = get("/my-work?follow_up_done=1".to_owned())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The follow-up was recorded as done"));
    assert!(!page.contains("Visit the child"));
    let page = get(format!("/alerts/{id}")).await.text().await.unwrap();
    assert!(page.contains("Done, recorded by sw.two on"), "{page}");
    assert!(
        page.contains(
            "<td data-label=\"What\">Follow-up done</td><td data-label=\"Who\">sw.two</td>"
        )
    );
    let bogus = app
        .post(
            colleague,
            "/follow-ups/999999/done",
            &[("csrf_token", colleague_csrf)],
        )
        .await;
    assert_eq!(bogus.status(), StatusCode::NOT_FOUND);

    // Reopening a decided alert: a reason of a sentence, an event naming the person.
    assert!(page.contains("Reopen this alert"));
    let refused = app
        .post(
            client,
            &format!("/alerts/{id}/reopen"),
            &[("csrf_token", csrf), ("reopen_reason", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Enter why you are reopening this alert")
    );
    let reopened = app
        .post(
            client,
            &format!("/alerts/{id}/reopen"),
            &[
                ("csrf_token", csrf),
                ("reopen_reason", "A second school report came in today"),
            ],
        )
        .await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    let page = get(format!("/alerts/{id}?reopened=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The alert is open again"));
    assert!(
        page.contains("<td data-label=\"What\">Reopened</td><td data-label=\"Who\">sw.one</td><td data-label=\"Details\">A second school report came in today")
    );
    assert!(page.contains("Record decision"));
    let stored = sync(|| app.store.alerts().get(id)).unwrap().unwrap();
    assert_eq!(stored.status, "open");
    let again = app
        .post(
            client,
            &format!("/alerts/{id}/reopen"),
            &[
                ("csrf_token", csrf),
                ("reopen_reason", "A second school report came in today"),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let listed = listed_alerts(&get("/my-work".to_owned()).await.text().await.unwrap());
    assert!(listed.iter().any(|listed| listed == id), "back on My work");
}

sightline_testkit::on_every_backend!(
    my_work_pages_counts_filters_and_assignment,
    decisions_set_follow_ups_and_alerts_reopen_on_the_pages,
    every_route_sends_anonymous_callers_to_login,
    every_route_refuses_the_wrong_role_and_shows_other_agencies_minimal,
    break_glass_needs_a_reason_then_shows_the_record_and_is_logged,
    forms_without_the_csrf_token_are_refused,
    failed_logins_back_off_per_source_and_account_without_locking_out_the_owner,
    cookies_are_http_only_strict_and_secure_behind_tls,
    forwarded_proto_is_believed_only_from_a_trusted_proxy,
    the_login_token_is_bound_to_a_pre_session_the_server_issued,
    an_administrator_creates_a_user_whom_a_lead_activates_and_disables_it,
    a_child_with_a_relationship_in_full_with_chronology_timeline_and_csv,
    search_shows_the_minimal_view_without_a_relationship_and_break_glass_opens_the_child,
    an_alert_is_decided_and_leaves_my_work,
);
