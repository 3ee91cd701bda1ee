//! Sign-in with OpenID Connect providers, the parts a Rust test reaches
//! without a provider (the end-to-end suite, e2e/tests/sign_in.test.mjs, signs
//! in through a real one): local passwords turned off, the provider buttons,
//! an unreachable provider, a discovery document of another issuer, a
//! callback no sign-in waits for, each refused with its page and audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_testkit::server::{ServerConfig, TestServer, sync};

const SIGN_IN: &str = r#"
public_url = "http://127.0.0.1:9"
local_passwords = false

[[provider]]
name = "entra"
preset = "entra"
label = "Sign in with your council account"
# Nothing listens on port 9 (discard): the provider cannot be reached.
issuer = "http://127.0.0.1:9/tenant/v2.0"
client_id = "sightline"

[[provider.role]]
value = "Sightline.Practitioner"
role = "practitioner"
agency = "police"
"#;

fn config(text: &str) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.web.sign_in =
        sightline_app::sign_in::parse_sign_in_config(text, &|_| None, &|_| None).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_off_shows_only_providers_and_refusals_are_audited() {
    for database in sightline_testkit::server::all_databases() {
        let server = TestServer::start_configured(database, config(SIGN_IN), |_| {}).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        let login = client.get(server.url("/login")).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::OK);
        let page = login.text().await.unwrap();
        assert!(page.contains(r#"href="/login/oidc/entra""#), "{page}");
        assert!(page.contains("Sign in with your council account"));
        assert!(
            !page.contains(r#"name="password""#),
            "no password form: {page}"
        );

        // POST /login refuses, whatever it carries.
        let refused = client
            .post(server.url("/login"))
            .form(&[
                ("username", "demo.practitioner"),
                ("password", "x"),
                ("csrf_token", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("passwords are turned off")
        );

        // The provider cannot be reached: a clear page, audited.
        let start = client
            .get(server.url("/login/oidc/entra"))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::BAD_GATEWAY);
        assert!(start.text().await.unwrap().contains("could not be reached"));

        // A callback no sign-in waits for (forged, or replayed after use).
        let callback = client
            .get(server.url("/login/oidc/callback?state=forged&code=anything"))
            .send()
            .await
            .unwrap();
        assert_eq!(callback.status(), StatusCode::FORBIDDEN);
        assert!(
            callback
                .text()
                .await
                .unwrap()
                .contains("This sign-in has expired")
        );

        let unknown = client
            .get(server.url("/login/oidc/okta"))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

        let store = server.store.clone();
        let audit: Vec<(String, String, String, String)> = sync(move || {
            store
                .audit()
                .audit_entries(0, 100)
                .unwrap()
                .into_iter()
                .map(|row| (row.action, row.resource_key, row.basis, row.outcome))
                .collect()
        });
        let failed = |basis: &str, outcome: &str| {
            (
                "login_failed".to_owned(),
                "user:unknown".to_owned(),
                basis.to_owned(),
                outcome.to_owned(),
            )
        };
        assert_eq!(
            audit,
            vec![
                failed("oidc:entra", "unreachable"),
                failed("oidc:unknown", "bad_state"),
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_passwords_on_the_form_stays_beside_the_providers() {
    let text = SIGN_IN.replace("local_passwords = false", "local_passwords = true");
    let server =
        TestServer::start_configured(sightline_testkit::sqlite_database(), config(&text), |_| {})
            .await;
    let page = reqwest::get(server.url("/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"href="/login/oidc/entra""#));
    assert!(page.contains(r#"name="password""#));
    assert!(page.contains("Or sign in with a Sightline password"));
}

/// A server on loopback whose discovery document names another issuer than
/// the one it is reached at (a provider configured wrongly, or an impostor):
/// sign-in stops there, before the browser is sent anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_discovery_document_of_another_issuer_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let impostor = format!("http://{}", listener.local_addr().unwrap());
    let document = serde_json::json!({
        "issuer": "https://login.example.invalid/another-tenant/v2.0",
        "authorization_endpoint": format!("{impostor}/authorize"),
        "token_endpoint": format!("{impostor}/token"),
        "jwks_uri": format!("{impostor}/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .route(
            "/keys",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"keys": []})) }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });

    let text = SIGN_IN.replace("http://127.0.0.1:9/tenant/v2.0", &impostor);
    let server =
        TestServer::start_configured(sightline_testkit::sqlite_database(), config(&text), |_| {})
            .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = client
        .get(server.url("/login/oidc/entra"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::BAD_GATEWAY);
    assert!(start.headers().get("location").is_none(), "sent nowhere");
    assert!(
        start
            .text()
            .await
            .unwrap()
            .contains("The sign-in service is not the one expected")
    );
    let store = server.store.clone();
    let outcomes: Vec<String> = sync(move || {
        store
            .audit()
            .audit_entries(0, 100)
            .unwrap()
            .into_iter()
            .map(|row| format!("{} {} {}", row.action, row.basis, row.outcome))
            .collect()
    });
    assert_eq!(outcomes, ["login_failed oidc:entra wrong_issuer"]);
}
