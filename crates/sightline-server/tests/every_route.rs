//! Every route of the whole router, anonymous: the API answers 401, the web UI
//! redirects to the login page, and every response carries the security headers.
//! (Wrong role or agency per web route: `sightline-web`'s tests.) On every backend.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_testkit::server::TestServer;

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

sightline_testkit::on_every_backend!(every_api_route_needs_a_token_and_every_page_a_session);
