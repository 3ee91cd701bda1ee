//! The demo region's alerts reach people who can open them (#14.1, #14.8): a
//! synthetic region (sightline-synth) ingested under its organisation, with the
//! demo's logins. No open alert is routed to a team or role no demo login
//! holds, and every demo login opens every open alert routed to it through the
//! web UI, and the alert's evidence records, without break-glass. On every
//! backend.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_core::org::Organisation;
use sightline_store::{AlertFilter, AlertRow, STATUS_OPEN, Store};
use sightline_testkit::server::{TestServer, browser, login_form};
use std::sync::Arc;

/// Children in the region: enough for alerts to several recipients.
const CHILDREN: u64 = 80;

/// Every open alert, all pages.
fn open_alerts(store: &dyn Store) -> Vec<AlertRow> {
    let mut alerts: Vec<AlertRow> = Vec::new();
    loop {
        let page = store
            .alerts()
            .list(&AlertFilter {
                status: Some(STATUS_OPEN.to_owned()),
                after: alerts
                    .last()
                    .map(|last| sightline_store::AlertCursor::after(last, None)),
                limit: sightline_store::ALERT_LIST_LIMIT_MAX,
                ..AlertFilter::default()
            })
            .expect("alerts");
        let full = page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize;
        alerts.extend(page);
        if !full {
            return alerts;
        }
    }
}

/// A page shown in full: not the minimal view that offers break-glass.
fn open_in_full(html: &str) -> bool {
    !html.contains("not part of your work") && !html.contains("Break glass")
}

async fn every_demo_login_opens_every_alert_routed_to_it(db: sightline_testkit::TestDatabase) {
    let region = tempfile::tempdir().expect("temp dir");
    let mut config = sightline_synth::SynthConfig::defaults().expect("defaults");
    config.children = CHILDREN;
    config.seed = 7;
    let summary = sightline_synth::generate(&config, region.path()).expect("region");
    let organisation = Arc::new(
        Organisation::parse(
            &std::fs::read_to_string(region.path().join(sightline_synth::ORGANISATION_FILE))
                .expect("the region's organisation"),
        )
        .unwrap_or_else(|problems| panic!("{problems:?}")),
    );
    let engine_config = sightline_app::EngineConfig {
        organisation: organisation.clone(),
        ..sightline_app::EngineConfig::default()
    };
    let server_config = sightline_server::ServerConfig {
        engine: engine_config.clone(),
        ..sightline_server::ServerConfig::default()
    };
    let mut logins = Vec::new();
    let server = TestServer::start_configured(db, server_config, |store| {
        let now = chrono::Utc::now();
        let engine = sightline_app::SharedEngine::load_configured(store, engine_config, now)
            .expect("engine");
        for file in &summary.files {
            let text = std::fs::read(region.path().join(file)).expect("region file");
            let parsed = parse_batch(&text, Format::JsonLines, now, &Limits::default())
                .unwrap_or_else(|problems| panic!("{file}: {problems:?}"));
            sightline_app::ingest_parsed(store, &engine, parsed, now).expect("ingest");
        }
        logins = sightline_app::demo::create_demo_logins(store, &organisation, now)
            .expect("demo logins");
    })
    .await;
    let store = server.store.clone();
    let alerts = sightline_testkit::server::sync(|| open_alerts(store.as_ref()));
    assert!(alerts.len() >= 10, "{} open alerts", alerts.len());

    // The routes each login receives: its own, its team's, its role's.
    let routes_of = |account: &sightline_app::accounts::DemoAccount| {
        let mut routes = vec![format!("user:{}", account.username)];
        routes.extend(sightline_core::org::routes_reaching(
            account.agency.as_str(),
            account.team.as_deref(),
            account.role.as_str(),
        ));
        routes
    };
    // No alert is routed to nobody.
    for alert in &alerts {
        assert!(
            logins
                .iter()
                .any(|(_, account)| routes_of(account).contains(&alert.routed_to)),
            "{:?}: alert {} is routed to {}, which no demo login receives",
            server.backend,
            alert.id,
            alert.routed_to
        );
    }

    let mut n_opened = 0usize;
    let mut n_evidence = 0usize;
    for (position, (_, account)) in logins.iter().enumerate() {
        let routes = routes_of(account);
        let mine: Vec<&AlertRow> = alerts
            .iter()
            .filter(|alert| routes.contains(&alert.routed_to))
            .collect();
        if position == 0 {
            // The login the demo says to start with has work.
            assert!(!mine.is_empty(), "{}: nothing routed", account.username);
        }
        if mine.is_empty() {
            continue;
        }
        let client = browser();
        let signed_in =
            login_form(&client, &server.base, &account.username, &account.password).await;
        assert_eq!(
            signed_in.status(),
            StatusCode::SEE_OTHER,
            "{}",
            account.username
        );
        for alert in mine {
            let page = client
                .get(server.url(&format!("/alerts/{}", alert.id)))
                .send()
                .await
                .expect("GET alert");
            let status = page.status();
            let html = page.text().await.expect("body");
            assert_eq!(
                status,
                StatusCode::OK,
                "{:?}: {} could not open alert {} routed to {}:\n{html}",
                server.backend,
                account.username,
                alert.id,
                alert.routed_to
            );
            assert!(
                open_in_full(&html),
                "{}: alert {} is not open to them:\n{html}",
                account.username,
                alert.id
            );
            n_opened += 1;
            let evidence = sightline_testkit::server::sync(|| store.alerts().evidence(&alert.id))
                .expect("evidence");
            for record in evidence {
                let path = format!(
                    "/records/{}/{}",
                    record.agency,
                    record.record_id.replace('%', "%25").replace('/', "%2F")
                );
                let page = client
                    .get(server.url(&path))
                    .send()
                    .await
                    .expect("GET record");
                let status = page.status();
                let html = page.text().await.expect("body");
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{:?}: {} could not read {path}, evidence of alert {} routed to {}:\n{html}",
                    server.backend,
                    account.username,
                    alert.id,
                    alert.routed_to
                );
                assert!(
                    open_in_full(&html),
                    "{}: {path}, evidence of alert {}, needs break-glass:\n{html}",
                    account.username,
                    alert.id
                );
                n_evidence += 1;
            }
        }
    }
    // Every alert at least once (a team manager in the duty team opens its alerts too).
    assert!(n_opened >= alerts.len(), "{n_opened} of {}", alerts.len());
    assert!(n_evidence >= n_opened, "{n_evidence} evidence records read");
}

sightline_testkit::on_every_backend!(every_demo_login_opens_every_alert_routed_to_it);
