//! The privacy officer's tools and the access notices against a real server
//! with a fresh database, on every backend: the access log pages through every
//! entry with filters by user, child, action and dates (typed as people type
//! them), flags unusual patterns and exports an audited, formula-safe CSV; who
//! viewed a child pages through every entry with names, roles, agencies and
//! break-glass reasons; the privacy officer finds a child and lands on who
//! viewed it; notices reach the child's lead agency's managers and the privacy
//! officer, on a page, on My work and through the API; the privacy officer
//! places and releases legal holds on `/privacy/holds` (CSRF, reasons,
//! audited; casework staff refused).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_access::Role;
use sightline_app::accounts::DemoAccount;
use sightline_app::audit::AuditActor;
use sightline_core::AgencyId;
use sightline_store::{NewRecord, Store};
use sightline_testkit::TestDatabase;
use sightline_testkit::server::{
    STAFF_PASSWORD, TestServer, browser, create_staff, csrf_of, login_form, post_form, sync,
};
use std::collections::BTreeSet;
use std::sync::Arc;

struct App {
    base: String,
    store: Arc<dyn Store>,
    demo: Vec<DemoAccount>,
    _server: TestServer,
}

/// A GP consultation about one synthetic child (NHS number given).
fn record(agency: &str, record_id: &str, given: &str, family: &str, nhs_number: &str) -> NewRecord {
    let body = serde_json::json!({
        "source": {"agency": agency, "record_id": record_id, "version": 1},
        "kind": "health.gp_consultation",
        "occurred_at": "2007-01-13",
        "recorded_at": "2007-01-13T11:00:00Z",
        "persons": [
            {"ref": "c", "role": "subject", "nhs_number": nhs_number, "given_names": given,
             "family_name": family, "dob": "2006-03-01", "sex": "female"}
        ],
        "narrative": "SYNTHETIC-CASE-CONTENT",
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

impl App {
    /// Ada is known to health and police, Bea to health only; a demo account
    /// per role at police.
    async fn spawn(db: TestDatabase) -> App {
        let mut demo = Vec::new();
        let server = TestServer::start_with(db, |store| {
            demo = sightline_app::accounts::create_demo_accounts(
                store,
                &AgencyId::parse("police").unwrap(),
                chrono::Utc::now(),
            )
            .unwrap();
            let mut tx = store.begin().unwrap();
            tx.append(&[
                record("health", "SYN-1", "Ada", "Synthetic", "9434765919"),
                record("police", "POL-1", "Ada", "Synthetic", "9434765919"),
                record("health", "SYN-2", "Bea", "Otherchild", "4010232137"),
            ])
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

    fn account(&self, role: Role) -> &DemoAccount {
        self.demo
            .iter()
            .find(|account| account.role == role)
            .unwrap()
    }

    async fn sign_in_as(&self, username: &str, password: &str) -> (reqwest::Client, String) {
        let client = browser();
        let response = login_form(&client, &self.base, username, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{username}");
        let page = self.get(&client, "/my-work").await.1;
        (client, csrf_of(&page))
    }

    async fn sign_in(&self, role: Role) -> (reqwest::Client, String) {
        let account = self.account(role);
        self.sign_in_as(&account.username.clone(), &account.password.clone())
            .await
    }

    /// The status and text of a GET (entities of attributes decoded).
    async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, decoded(&response.text().await.unwrap()))
    }

    async fn break_glass(&self, client: &reqwest::Client, csrf: &str, path: &str, reason: &str) {
        let response = post_form(
            client,
            &format!("{}{path}", self.base),
            &[("csrf_token", csrf), ("reason", reason)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }

    fn child(&self, given: &str) -> String {
        let snapshot = sync(|| sightline_app::views::Snapshot::load(self.store.as_ref())).unwrap();
        snapshot
            .facts
            .values()
            .find(|facts| facts.is_child && facts.given_names.as_deref() == Some(given))
            .unwrap()
            .id
            .clone()
    }

    /// Appends `n` audit entries of a bulk reader about `key`.
    fn bulk_entries(&self, n: usize, key: &str) {
        let actor = AuditActor {
            user_id: Some(999),
            username: "synthetic.bulk".to_owned(),
            role: "practitioner".to_owned(),
            agency: "health".to_owned(),
        };
        sync(|| {
            for _ in 0..n {
                sightline_app::audit::record(
                    self.store.as_ref(),
                    &actor,
                    "view_child",
                    key,
                    "own_agency",
                    "full",
                    chrono::Utc::now(),
                )
                .unwrap();
            }
        });
    }

    fn head(&self) -> i64 {
        sync(|| self.store.audit().audit_head()).unwrap().unwrap().0
    }
}

fn decoded(page: &str) -> String {
    page.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

/// The entry numbers listed on a page (the first cell of each row).
fn listed_seqs(page: &str) -> Vec<i64> {
    page.split("<td data-label=\"#\">")
        .skip(1)
        .filter_map(|rest| rest.split_once("</td>"))
        .map(|(seq, _)| seq.parse().unwrap())
        .collect()
}

/// The href of the link whose text is `text`.
fn link_to(page: &str, text: &str) -> Option<String> {
    let end = page.find(&format!("\">{text}</a>"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    page[start..end].split('"').next().map(str::to_owned)
}

/// Follows "Older entries" from `first` to the end: every entry listed, the
/// number of pages and the last page.
async fn every_page(app: &App, client: &reqwest::Client, first: &str) -> (Vec<i64>, usize, String) {
    let mut seqs = Vec::new();
    let mut path = first.to_owned();
    let mut n_pages = 0;
    loop {
        let (status, page) = app.get(client, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        n_pages += 1;
        assert!(n_pages <= 100, "paging does not end at {path}");
        let listed = listed_seqs(&page);
        assert!(listed.len() <= 50, "a page of at most 50");
        seqs.extend(listed);
        match link_to(&page, "Older entries") {
            Some(next) => path = next,
            None => return (seqs, n_pages, page),
        }
    }
}

const REASONS: [&str; 3] = [
    "Synthetic: the child is at the front desk now",
    "=HYPERLINK(\"http://example.invalid\") synthetic reason given here",
    "Synthetic: checking an address before a visit tonight",
];

async fn the_access_log_pages_filters_flags_and_exports(db: TestDatabase) {
    let app = App::spawn(db).await;
    let bea = app.child("Bea");
    let (police, csrf) = app.sign_in(Role::Practitioner).await;
    let practitioner = app.account(Role::Practitioner).username.clone();
    // Three break-glass grants in a day: flagged.
    app.break_glass(
        &police,
        &csrf,
        &format!("/children/{bea}/break-glass"),
        REASONS[0],
    )
    .await;
    app.break_glass(
        &police,
        &csrf,
        "/records/health/SYN-2/break-glass",
        REASONS[1],
    )
    .await;
    app.break_glass(
        &police,
        &csrf,
        "/records/health/SYN-1/break-glass",
        REASONS[2],
    )
    .await;
    let (status, _) = app.get(&police, &format!("/children/{bea}")).await;
    assert_eq!(status, StatusCode::OK);
    // 130 more entries: three pages and more.
    app.bulk_entries(130, "child:p-00000000000000aa");

    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let head = app.head();
    let (status, page) = app.get(&privacy, "/privacy/access-log").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(
            "{practitioner} was given 3 break-glass grants within 24 hours"
        )),
        "{page}"
    );
    assert!(!page.contains("SYNTHETIC-CASE-CONTENT"));
    let flag_href = link_to(&page, "Show these entries").unwrap();
    assert!(flag_href.contains("action=break_glass"), "{flag_href}");

    // Every entry once, newest first, through the pages (nothing capped).
    // (Each visit to the log is itself an entry: the first page lists those
    // made before it too.)
    let (seqs, n_pages, _) = every_page(&app, &privacy, "/privacy/access-log").await;
    assert!(seqs[0] > head);
    assert_eq!(seqs, (1..=seqs[0]).rev().collect::<Vec<_>>());
    assert!(n_pages >= 3);

    // By user and action: the practitioner's grants with their reasons.
    let (status, page) = app
        .get(
            &privacy,
            &format!("/privacy/access-log?user={practitioner}&action=break_glass"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed_seqs(&page).len(), 3, "{page}");
    for reason in REASONS {
        assert!(page.contains(reason), "{reason}");
    }
    // The flag's link shows the same entries.
    let (_, flagged) = app.get(&privacy, &flag_href).await;
    assert_eq!(listed_seqs(&flagged), listed_seqs(&page));

    // By child: the child and its records (the grant on SYN-2 and the page
    // read under the grant, with the grant's reason), nobody else's.
    let (status, page) = app
        .get(&privacy, &format!("/privacy/access-log?child={bea}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let about_bea = listed_seqs(&page);
    assert!(about_bea.len() >= 3, "{page}");
    assert!(!page.contains("synthetic.bulk"));
    assert!(page.contains(&format!("break glass: “{}”", REASONS[0])) || page.contains(REASONS[0]));

    // By dates, typed as people type them (in England's calendar).
    let today = sightline_core::dates::london(chrono::Utc::now()).date();
    let yesterday = today.pred_opt().unwrap();
    for (from, to, n_expected) in [
        (
            sightline_core::dates::date(today),
            today.format("%d/%m/%Y").to_string(),
            3,
        ),
        (today.format("%Y-%m-%d").to_string(), String::new(), 3),
        (String::new(), yesterday.format("%d/%m/%Y").to_string(), 0),
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("user", &practitioner)
            .append_pair("action", "break_glass")
            .append_pair("from", &from)
            .append_pair("to", &to)
            .finish();
        let (status, page) = app
            .get(&privacy, &format!("/privacy/access-log?{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(listed_seqs(&page).len(), n_expected, "{query}");
    }
    let (status, page) = app
        .get(&privacy, "/privacy/access-log?from=31%2F02%2F2023")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("The start date must be a real date"),
        "{page}"
    );
    let (status, page) = app
        .get(
            &privacy,
            "/privacy/access-log?from=3+October+2023&to=2+October+2023",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The end date must be the same as or after the start date"));

    // The CSV of the filtered log: machine formats, formula-safe, audited.
    let csv_response = privacy
        .get(format!(
            "{}/privacy/access-log.csv?user={practitioner}&action=break_glass",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv_response.status(), StatusCode::OK);
    assert!(
        csv_response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv_response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seq,at_utc,username,role,agency,action,"));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines
            .iter()
            .skip(1)
            .all(|line| line.contains(&practitioner))
    );
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://example.invalid\"\")"),
        "{csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    let exported = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                action: Some("export_access_log_csv".into()),
                limit: 10,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(
        exported[0].actor_username,
        app.account(Role::PrivacyOfficer).username
    );
    // The whole log: every entry but the export's own (written first, so
    // listed too).
    let all = privacy
        .get(format!("{}/privacy/access-log.csv", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        i64::try_from(all.lines().count()).unwrap(),
        app.head() + 1,
        "a header and every entry"
    );

    // Nobody else reads or downloads the log.
    for role in [Role::Practitioner, Role::TeamManager, Role::Administrator] {
        let (client, _) = app.sign_in(role).await;
        for path in ["/privacy/access-log", "/privacy/access-log.csv"] {
            let (status, _) = app.get(&client, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    assert!(
        sync(|| sightline_app::audit::verify_audit(app.store.as_ref()))
            .unwrap()
            .is_ok()
    );
}

async fn who_viewed_this_child_pages_with_names_roles_and_reasons(db: TestDatabase) {
    let app = App::spawn(db).await;
    let bea = app.child("Bea");
    let (police, csrf) = app.sign_in(Role::Practitioner).await;
    let practitioner = app.account(Role::Practitioner).username.clone();
    app.break_glass(
        &police,
        &csrf,
        &format!("/children/{bea}/break-glass"),
        REASONS[0],
    )
    .await;
    let (status, _) = app.get(&police, &format!("/children/{bea}")).await;
    assert_eq!(status, StatusCode::OK);
    // More than 5,000 would be the old cap; 120 show the paging.
    app.bulk_entries(120, &format!("child:{bea}"));
    app.bulk_entries(10, "child:p-00000000000000aa");

    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let first = format!("/privacy/children/{bea}");
    let (status, page) = app.get(&privacy, &first).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("SYNTHETIC-CASE-CONTENT"));
    let (seqs, n_pages, last) = every_page(&app, &privacy, &first).await;
    assert!(n_pages >= 3);
    let unique: BTreeSet<i64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "no entry twice");
    let about_bea = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                resource_keys: Some(vec![
                    format!("child:{bea}"),
                    "record:health/SYN-2".to_owned(),
                ]),
                limit: 10_000,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    let expected: BTreeSet<i64> = about_bea.iter().map(|row| row.seq).collect();
    // Every entry about the child, and each visit to this page (recorded as
    // it is read) up to the page that listed it.
    assert!(expected.len() > 120);
    assert!(unique.is_subset(&expected));
    assert!(
        expected
            .iter()
            .filter(|seq| !unique.contains(seq))
            .all(|seq| about_bea
                .iter()
                .any(|row| row.seq == *seq && row.action == "view_child_access_log")),
        "only this page's own later visits are missing"
    );

    // The viewer's name, role and agency, and the reason given for breaking
    // glass beside the reads made under the grant.
    assert!(last.contains(&practitioner), "{last}");
    assert!(last.contains("Practitioner"));
    assert!(
        last.contains(&format!("break glass: “{}”", REASONS[0])),
        "{last}"
    );
    assert!(!last.contains("break_glass"));
}

async fn the_privacy_officer_finds_a_child_and_reaches_who_viewed(db: TestDatabase) {
    let app = App::spawn(db).await;
    let bea = app.child("Bea");
    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let privacy_officer = app.account(Role::PrivacyOfficer).username.clone();
    let (status, page) = app
        .get(&privacy, "/search?name=Bea+Otherchild&dob=01%2F03%2F2006")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Bea Otherchild"), "{page}");
    assert!(
        page.contains(&format!("href=\"/privacy/children/{bea}\"")),
        "{page}"
    );
    assert!(!page.contains(&format!("href=\"/children/{bea}\"")));
    assert!(!page.contains("SYNTHETIC-CASE-CONTENT"));
    // The search and the child it showed are in the log.
    let entries = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                actor_username: Some(privacy_officer.clone()),
                limit: 100,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    assert!(
        entries
            .iter()
            .any(|row| row.action == "search_children" && row.outcome == "ok")
    );
    assert!(
        entries.iter().any(
            |row| row.action == "view_search_hit" && row.resource_key == format!("child:{bea}")
        )
    );
    // The link leads to who viewed the child; the child's page stays shut.
    let (status, _) = app.get(&privacy, &format!("/privacy/children/{bea}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = app.get(&privacy, &format!("/children/{bea}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("SYNTHETIC-CASE-CONTENT"));
    // The header offers Find a child to the privacy officer, not the administrator.
    let (_, my_work) = app.get(&privacy, "/my-work").await;
    assert!(my_work.contains("href=\"/search\""));
    let (admin, _) = app.sign_in(Role::Administrator).await;
    let (status, _) = app.get(&admin, "/search?name=Bea+Otherchild").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Casework still reaches the child's own page.
    let (police, _) = app.sign_in(Role::Practitioner).await;
    let (_, page) = app
        .get(&police, "/search?name=Bea+Otherchild&dob=2006-03-01")
        .await;
    assert!(
        page.contains(&format!("href=\"/children/{bea}\"")),
        "{page}"
    );
}

async fn notices_reach_the_lead_agency_managers_and_the_privacy_officer(db: TestDatabase) {
    let app = App::spawn(db).await;
    let bea = app.child("Bea");
    let (police, csrf) = app.sign_in(Role::Practitioner).await;
    let practitioner = app.account(Role::Practitioner).username.clone();
    app.break_glass(
        &police,
        &csrf,
        &format!("/children/{bea}/break-glass"),
        REASONS[0],
    )
    .await;
    let notices = sync(|| {
        app.store.access().notices(&sightline_store::NoticeFilter {
            limit: 10,
            ..sightline_store::NoticeFilter::default()
        })
    })
    .unwrap();
    assert_eq!(notices.len(), 1);
    let told = notices[0].notice.to_agency.clone().unwrap();
    assert_eq!(told, "health", "Bea's lead agency");
    let store = app.store.clone();
    sync(move || {
        create_staff(
            store.as_ref(),
            "health.manager",
            Role::TeamManager,
            "health",
            None,
        );
        create_staff(
            store.as_ref(),
            "health.worker",
            Role::Practitioner,
            "health",
            None,
        );
    });

    // The lead agency's manager: who, which child by name, why, when.
    let (manager, _) = app.sign_in_as("health.manager", STAFF_PASSWORD).await;
    let (_, my_work) = app.get(&manager, "/my-work").await;
    assert!(
        my_work.contains("<strong>1</strong> notice of new access"),
        "{my_work}"
    );
    assert!(my_work.contains("href=\"/notices\""));
    let (status, page) = app.get(&manager, "/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Bea Otherchild"), "{page}");
    assert!(page.contains(&format!("href=\"/children/{bea}\"")));
    assert!(page.contains(&practitioner));
    assert!(page.contains(&format!("broke glass, giving the reason: {}", REASONS[0])));
    assert!(!page.contains("break_glass") && !page.contains("child:"));

    // The privacy officer: every notice, the child as a link to who viewed it.
    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let (status, page) = app.get(&privacy, "/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"/privacy/children/{bea}\"")),
        "{page}"
    );
    assert!(!page.contains("Bea Otherchild"));
    assert!(page.contains(REASONS[0]));

    // Another agency's manager is not told; a practitioner is told only of
    // CP-IS reads of their children (none here): no link on My work.
    let (police_manager, _) = app.sign_in(Role::TeamManager).await;
    let (status, page) = app.get(&police_manager, "/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No notices.") && !page.contains("Bea Otherchild"));
    let (worker, _) = app.sign_in_as("health.worker", STAFF_PASSWORD).await;
    let (status, page) = app.get(&worker, "/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No notices.") && !page.contains("Bea Otherchild"));
    let (_, my_work) = app.get(&worker, "/my-work").await;
    assert!(!my_work.contains("href=\"/notices\""));

    // The API: the same notices, in machine formats; 403 and 401 otherwise.
    let response = manager
        .get(format!("{}/api/v1/notices", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let listed = body["notices"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["kind"], "break_glass");
    assert_eq!(listed[0]["child_id"], bea.as_str());
    assert_eq!(listed[0]["to_agency"], "health");
    assert_eq!(listed[0]["about_username"], practitioner.as_str());
    assert_eq!(listed[0]["detail"], REASONS[0]);
    assert!(listed[0]["at"].as_str().unwrap().ends_with('Z'));
    let response = police_manager
        .get(format!("{}/api/v1/notices?limit=5", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(body["notices"].as_array().unwrap().is_empty());
    let response = worker
        .get(format!("{}/api/v1/notices", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(body["notices"].as_array().unwrap().is_empty(), "{body}");
    let (admin, _) = app.sign_in(Role::Administrator).await;
    for (client, expected) in [
        (&admin, StatusCode::FORBIDDEN),
        (&browser(), StatusCode::UNAUTHORIZED),
    ] {
        let response = client
            .get(format!("{}/api/v1/notices", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    let response = manager
        .get(format!("{}/api/v1/notices?limit=0", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Each read is audited.
    let reads = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                action: Some("view_notices".into()),
                limit: 100,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    assert!(
        reads
            .iter()
            .any(|row| row.actor_username == "health.worker" && row.outcome == "ok")
    );
    let admin_name = app.account(Role::Administrator).username.clone();
    assert!(
        reads
            .iter()
            .any(|row| row.actor_username == admin_name && row.outcome == "deny")
    );
    assert!(
        reads
            .iter()
            .any(|row| row.actor_username == "health.manager" && row.outcome == "ok")
    );
}

async fn the_privacy_officer_places_and_releases_a_legal_hold(db: TestDatabase) {
    let app = App::spawn(db).await;
    let bea = app.child("Bea");
    let ada = app.child("Ada");
    let privacy_officer = app.account(Role::PrivacyOfficer).username.clone();
    let (privacy, _) = app.sign_in(Role::PrivacyOfficer).await;
    let (status, page) = app.get(&privacy, "/privacy/holds").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Place the hold"), "{page}");
    assert!(page.contains("No hold is in force."));
    let csrf = csrf_of(&page);
    let url = format!("{}/privacy/holds", app.base);
    let on_hold = |person: &str| {
        sync(|| sightline_app::controls::is_on_hold(app.store.as_ref(), person)).unwrap()
    };
    const REASON: &str = "Serious case review of the Otherchild family, panel of 2025.";
    const RELEASE: &str = "The review has reported and the panel has closed its file.";

    // Refused: no CSRF token, a reason that is not a sentence, an unknown
    // id, a person id that is not a child's id shape.
    let response = post_form(
        &privacy,
        &url,
        &[
            ("action", "place"),
            ("target", "child"),
            ("person_id", &bea),
            ("reason", REASON),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    for (person, reason, expected) in [
        (bea.as_str(), "review", "sentence"),
        ("p-0123456789abcdef", REASON, "no child has this id"),
        ("<script>", REASON, "no child has this id"),
    ] {
        let response = post_form(
            &privacy,
            &url,
            &[
                ("csrf_token", &csrf),
                ("action", "place"),
                ("target", "child"),
                ("person_id", person),
                ("reason", reason),
            ],
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{person}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("There is a problem"), "{page}");
        assert!(page.contains(expected), "{expected}: {page}");
        assert!(!page.contains("<script>"), "the refused id is escaped");
    }
    assert!(!on_hold(&bea));

    // Casework staff may not place one (the route refuses them).
    let (police, police_csrf) = app.sign_in(Role::SafeguardingLead).await;
    let response = post_form(
        &police,
        &url,
        &[
            ("csrf_token", &police_csrf),
            ("action", "place"),
            ("target", "child"),
            ("person_id", &ada),
            ("reason", REASON),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!on_hold(&ada));

    // Placed: on the list with the reason and who.
    let response = post_form(
        &privacy,
        &url,
        &[
            ("csrf_token", &csrf),
            ("action", "place"),
            ("target", "child"),
            ("person_id", &bea),
            ("reason", REASON),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(on_hold(&bea));
    assert!(!on_hold(&ada));
    let (_, page) = app.get(&privacy, "/privacy/holds").await;
    assert!(page.contains("1 holds in force"), "{page}");
    assert!(page.contains(REASON));
    assert!(page.contains(&privacy_officer));
    assert!(page.contains(&format!("Why release the hold on {bea}?")));

    // Release needs a reason; then the hold is gone and both events listed.
    let release = |reason: &'static str| {
        let fields = [
            ("csrf_token", csrf.clone()),
            ("action", "release".to_owned()),
            ("person_id", bea.clone()),
            ("reason", reason.to_owned()),
        ];
        let client = privacy.clone();
        let url = url.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            post_form(&client, &url, &fields).await
        }
    };
    let response = release("done").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(on_hold(&bea));
    let response = release(RELEASE).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!on_hold(&bea));
    let response = release(RELEASE).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("there is no hold on this person")
    );
    let (_, page) = app.get(&privacy, "/privacy/holds").await;
    assert!(page.contains("No hold is in force."), "{page}");
    assert!(page.contains("Released") && page.contains("Placed"));
    assert!(page.contains(RELEASE));

    // Audited: placed and released by the privacy officer, on the child.
    let entries = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                actor_username: Some(privacy_officer.clone()),
                limit: 200,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    for action in ["legal_hold_placed", "legal_hold_released"] {
        assert_eq!(
            entries
                .iter()
                .filter(|row| row.action == action && row.resource_key == format!("child:{bea}"))
                .count(),
            1,
            "{action}"
        );
    }
    let events = sync(|| app.store.access().hold_events(None, 10)).unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|row| row.event.by_username == privacy_officer)
    );
}

sightline_testkit::on_every_backend!(
    the_access_log_pages_filters_flags_and_exports,
    who_viewed_this_child_pages_with_names_roles_and_reasons,
    the_privacy_officer_finds_a_child_and_reaches_who_viewed,
    notices_reach_the_lead_agency_managers_and_the_privacy_officer,
    the_privacy_officer_places_and_releases_a_legal_hold,
);
