//! The linkage review pages against a real server with a fresh database: the
//! queue shows uncertain pairs with their waterfall, a decision needs a reason,
//! is stored in `linkage_decisions`, audited, applied (the pair leaves the queue)
//! and withdrawn by one more decision (the pair comes back); who may.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use sightline_access::Role;
use sightline_app::accounts::DemoAccount;
use sightline_core::AgencyId;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_store::{DecisionVerdict, Store};
use sightline_testkit::server::{TestServer, browser, csrf_of, login_form, post_form};
use std::sync::Arc;

/// One record of a synthetic child. The pair below has the same name, the day
/// and month of the date of birth swapped, another postcode and no NHS number:
/// between the thresholds (with the reference model), for a person to decide.
fn record(agency: &str, id: &str, given: &str, family: &str, dob: &str, postcode: &str) -> String {
    let mut person = serde_json::json!({"ref": "c", "role": "subject", "given_names": given,
        "family_name": family, "sex": "female",
        "address": {"lines": ["1 Synthetic Road"], "postcode": postcode}});
    if !dob.is_empty() {
        person["dob"] = serde_json::json!(dob);
    }
    serde_json::json!({
        "source": {"agency": agency, "record_id": id, "version": 1},
        "kind": "health.gp_consultation",
        "occurred_at": "2024-02-10",
        "recorded_at": "2024-02-10T10:00:00Z",
        "persons": [person],
        "narrative": "SYNTHETIC review pair",
    })
    .to_string()
}

struct App {
    base: String,
    store: Arc<dyn Store>,
    engine: sightline_app::SharedEngine,
    demo: Vec<DemoAccount>,
    _server: TestServer,
}

const LEFT: &str = "review-gp/REV-GP-1/c";
const RIGHT: &str = "review-school/REV-SCH-1/c";

async fn spawn() -> App {
    let mut demo = Vec::new();
    let server = TestServer::start_with(sightline_testkit::sqlite_database(), |store| {
        seed(store, &mut demo);
    })
    .await;
    App {
        base: server.base.clone(),
        store: server.store.clone(),
        engine: server.state.engine.clone(),
        demo,
        _server: server,
    }
}

/// Demo accounts, and the review pairs' records (through intake).
fn seed(store: &dyn Store, demo: &mut Vec<DemoAccount>) {
    *demo = sightline_app::accounts::create_demo_accounts(
        store,
        &AgencyId::parse("police").unwrap(),
        Utc::now(),
    )
    .unwrap();
    // Pairs of one child each, one record at a GP and one at a school, unlike in
    // one field (the linkage weighs names by how common they are in the log, so
    // the pair under test is among others, as in a region).
    let variants = [
        (
            "A",
            "Orla",
            "Quennell",
            "2016-05-04",
            "Orlagh",
            "2016-05-04",
        ),
        (
            "B",
            "Imogen",
            "Vantreight",
            "2017-08-19",
            "Imogen",
            "2017-09-19",
        ),
        (
            "C",
            "Tamsin",
            "Pelloe",
            "2015-01-23",
            "Tamsin",
            "2015-01-23",
        ),
        ("D", "Bryony", "Ashdown", "2016-11-02", "Bryony", "2016-11"),
        ("E", "Nerys", "Kitto", "2014-03-30", "Nerys", "2014-03-03"),
        ("F", "Wren", "Trethewey", "2018-06-06", "Wren", ""),
    ];
    let mut lines = Vec::new();
    for (tag, given, family, dob, other_given, other_dob) in variants {
        let (gp, school) = if tag == "E" {
            ("REV-GP-1".to_owned(), "REV-SCH-1".to_owned())
        } else {
            (format!("GP-{tag}"), format!("SCH-{tag}"))
        };
        lines.push(record("review-gp", &gp, given, family, dob, "ZZ1 1AA"));
        lines.push(record(
            "review-school",
            &school,
            other_given,
            family,
            other_dob,
            "ZZ9 9ZZ",
        ));
    }
    let lines = lines.join("\n");
    let at = Utc.with_ymd_and_hms(2024, 2, 12, 0, 0, 0).single().unwrap();
    let parsed = parse_batch(lines.as_bytes(), Format::JsonLines, at, &Limits::default()).unwrap();
    let engine = sightline_app::SharedEngine::load_default(store, at).unwrap();
    sightline_app::ingest_parsed(store, &engine, parsed, at).unwrap();
}

impl App {
    async fn sign_in(&self, role: Role) -> (reqwest::Client, String) {
        let client = browser();
        let account = self
            .demo
            .iter()
            .find(|account| account.role == role)
            .unwrap();
        let response = login_form(&client, &self.base, &account.username, &account.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = self.get(&client, "/my-work").await.1;
        (client, csrf_of(&page))
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        post_form(client, &format!("{}{path}", self.base), fields).await
    }

    /// The intake engine's person of a mention.
    fn engine_person(&self, key: &str) -> String {
        self.engine
            .read(|engine| {
                let linked = engine.linked();
                linked
                    .index
                    .record_of(key)
                    .and_then(|record| linked.person_of_mention.get(record as usize))
                    .cloned()
            })
            .unwrap()
            .unwrap()
    }

    fn decisions(&self) -> Vec<(String, String, DecisionVerdict, String, String)> {
        self.store
            .linkage()
            .decisions(0, 100)
            .unwrap()
            .into_iter()
            .map(|row| {
                (
                    row.left_key,
                    row.right_key,
                    row.verdict,
                    row.actor,
                    row.reason,
                )
            })
            .collect()
    }
}

/// Whether the page's forms name the pair (keys as the template escapes them).
fn in_queue(page: &str) -> bool {
    let escaped = |key: &str| key.replace('/', "&#x2f;");
    page.contains(&format!("name=\"left\" value=\"{}\"", escaped(LEFT)))
        && page.contains(&format!("name=\"right\" value=\"{}\"", escaped(RIGHT)))
}

#[tokio::test]
async fn a_lead_decides_a_pair_which_leaves_the_queue_and_a_withdrawal_brings_it_back() {
    let app = spawn().await;
    let (client, csrf) = app.sign_in(Role::SafeguardingLead).await;
    let (status, page) = app.get(&client, "/linkage/review").await;
    assert_eq!(status, StatusCode::OK);
    assert!(in_queue(&page), "the uncertain pair is queued: {page}");
    assert!(page.contains("1 pair to review"));
    // Both mentions, the NHS number not recorded, the waterfall with bars.
    assert!(page.contains("ZZ1 1AA") && page.contains("ZZ9 9ZZ"));
    assert!(page.contains("<svg"));
    assert!(page.contains("for a match"));
    assert!(page.contains("against a match"), "the postcodes differ");

    // No reason, no verdict: refused, nothing stored.
    for fields in [
        vec![("verdict", "match"), ("reason", "  ")],
        vec![("verdict", "maybe"), ("reason", "checked")],
    ] {
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("left", LEFT),
            ("right", RIGHT),
        ];
        form.extend(fields);
        let response = app.post(&client, "/linkage/review", &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("There is a problem")
        );
    }
    // An unknown mention: not found, nothing stored.
    let response = app
        .post(
            &client,
            "/linkage/review",
            &[
                ("csrf_token", &csrf),
                ("left", LEFT),
                ("right", "nobody/none/c"),
                ("verdict", "match"),
                ("reason", "Checked with both agencies by phone"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(app.decisions().is_empty());

    // Issue #15, finding 5: "the same person" is only for a pair the queue
    // offers (not Tamsin's GP record and Nerys's school one), and a reason is a
    // sentence, not "same".
    let response = app
        .post(
            &client,
            "/linkage/review",
            &[
                ("csrf_token", &csrf),
                ("left", "review-gp/GP-C/c"),
                ("right", RIGHT),
                ("verdict", "match"),
                ("reason", "Same child: checked with the school by phone"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("These records cannot be decided to be the same person"),
        "{page}"
    );
    let response = app
        .post(
            &client,
            "/linkage/review",
            &[
                ("csrf_token", &csrf),
                ("left", LEFT),
                ("right", RIGHT),
                ("verdict", "match"),
                ("reason", "same"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Give the reason in at least a sentence")
    );
    assert!(app.decisions().is_empty());
    let refused: Vec<(String, String)> = app
        .store
        .audit()
        .audit_entries(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "linkage_decision" && row.outcome == "refused")
        .map(|row| (row.resource_key, row.basis))
        .collect();
    let pair = format!("linkage:{LEFT}|{RIGHT}");
    assert_eq!(
        refused,
        vec![
            (pair.clone(), "reason_empty".to_owned()),
            (pair.clone(), "reason_too_short".to_owned()),
            (
                "linkage:nobody/none/c|review-gp/REV-GP-1/c".to_owned(),
                "unknown_mention".to_owned()
            ),
            (
                format!("linkage:review-gp/GP-C/c|{RIGHT}"),
                "not_offered_for_review".to_owned()
            ),
            (pair, "reason_too_short".to_owned()),
        ]
    );
    // The records shown side by side are audited (finding 11).
    let shown: Vec<String> = app
        .store
        .audit()
        .audit_entries(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "view_review_queue")
        .map(|row| row.resource_key)
        .collect();
    for record in [
        "record:review-gp/REV-GP-1",
        "record:review-school/REV-SCH-1",
    ] {
        assert!(shown.iter().any(|key| key == record), "{shown:?}");
    }

    let reason = "Different schools confirmed by phone (synthetic)";
    let response = app
        .post(
            &client,
            "/linkage/review",
            &[
                ("csrf_token", &csrf),
                ("left", LEFT),
                ("right", RIGHT),
                ("verdict", "non_match"),
                ("reason", reason),
                ("page", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/linkage/review?decided=non_match&page=1");
    let lead = app
        .demo
        .iter()
        .find(|account| account.role == Role::SafeguardingLead)
        .unwrap()
        .username
        .clone();
    assert_eq!(
        app.decisions(),
        vec![(
            LEFT.to_owned(),
            RIGHT.to_owned(),
            DecisionVerdict::NonMatch,
            lead.clone(),
            reason.to_owned()
        )]
    );
    let (_, page) = app.get(&client, &location).await;
    assert!(page.contains("Decision recorded"));
    assert!(!in_queue(&page), "the decided pair left the queue");
    assert!(page.contains("There are no pairs to review"));
    // The intake engine (and so the child pages and alerts) took the decision.
    assert_ne!(app.engine_person(LEFT), app.engine_person(RIGHT));

    // Audited: the decision with the pair it names.
    let audit = app.store.audit().audit_entries(0, 10_000).unwrap();
    assert!(audit.iter().any(|row| row.action == "linkage_decision"
        && row.resource_key == format!("linkage:{LEFT}|{RIGHT}")
        && row.outcome == "non_match"
        && row.actor_username == lead));
    assert!(
        audit
            .iter()
            .any(|row| row.action == "review_linkage" && row.outcome == "full")
    );

    // Listed with who, when and why; withdrawn by one more decision.
    let (status, page) = app.get(&client, "/linkage/decisions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(reason) && page.contains(&lead));
    assert!(page.contains("Withdraw decision 1"));
    let response = app
        .post(
            &client,
            "/linkage/decisions/withdraw",
            &[
                ("csrf_token", &csrf),
                ("seq", "1"),
                ("left", LEFT),
                ("right", RIGHT),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.decisions().len(), 1);
    let response = app
        .post(
            &client,
            "/linkage/decisions/withdraw",
            &[
                ("csrf_token", &csrf),
                ("seq", "1"),
                ("left", LEFT),
                ("right", RIGHT),
                ("reason", "Recorded on the wrong pair"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let decisions = app.decisions();
    assert_eq!(decisions.len(), 2, "never destructive: both stay");
    assert_eq!(decisions[1].2, DecisionVerdict::Withdrawn);
    let (_, page) = app.get(&client, "/linkage/decisions?withdrawn=1").await;
    assert!(page.contains("Decision withdrawn"));
    assert!(
        !page.contains("Withdraw decision"),
        "nothing left to withdraw"
    );
    let (_, page) = app.get(&client, "/linkage/review").await;
    assert!(in_queue(&page), "the withdrawn pair is back in the queue");

    // A match merges the pair: it leaves the queue again.
    let response = app
        .post(
            &client,
            "/linkage/review",
            &[
                ("csrf_token", &csrf),
                ("left", RIGHT),
                ("right", LEFT),
                ("verdict", "match"),
                ("reason", "Same child, moved house (synthetic)"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get(&client, "/linkage/review").await;
    assert!(!in_queue(&page));
}

#[tokio::test]
async fn only_leads_and_managers_may_review() {
    let app = spawn().await;
    for role in Role::ALL {
        let (client, csrf) = app.sign_in(role).await;
        let (status, page) = app.get(&client, "/linkage/review").await;
        let may = matches!(role, Role::SafeguardingLead | Role::TeamManager);
        assert_eq!(status == StatusCode::OK, may, "{role:?}: {status}");
        assert_eq!(
            page.contains("href=\"/linkage/review\""),
            may,
            "{role:?}: nav link"
        );
        if !may {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
            assert!(!page.contains("Kitto"), "{role:?}");
            let response = app
                .post(
                    &client,
                    "/linkage/review",
                    &[
                        ("csrf_token", &csrf),
                        ("left", LEFT),
                        ("right", RIGHT),
                        ("verdict", "match"),
                        ("reason", "checked"),
                    ],
                )
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?}");
        }
    }
    assert!(app.decisions().is_empty());
}

/// A child's school records, a police referral naming the grandfather beside
/// him, and a police log naming him by first name and the grandfather's
/// surname only, beside the grandfather: a possible record of the child.
fn seed_possible_record(store: &dyn Store, demo: &mut Vec<DemoAccount>) {
    *demo = sightline_app::accounts::create_demo_accounts(
        store,
        &AgencyId::parse("police").unwrap(),
        Utc::now(),
    )
    .unwrap();
    let child = serde_json::json!({"ref": "child", "role": "subject", "given_names": "Tyrese",
        "family_name": "Lindsay", "dob": "2003-01-11", "sex": "male",
        "address": {"lines": ["Flat 4, 27 Carlow Row"], "postcode": "E7 9QX"}});
    let grandfather = serde_json::json!({"ref": "grandfather", "role": "relative",
        "given_names": "Winston", "family_name": "Campbell", "sex": "male",
        "address": {"lines": ["12 Tennyson Walk"], "postcode": "E7 0DT"}});
    let record = |agency: &str, id: &str, persons: serde_json::Value| {
        let mut record = serde_json::json!({
            "source": {"agency": agency, "record_id": id, "version": 1},
            "kind": "education.concern", "occurred_at": "2016-05-01", "persons": persons,
        });
        if persons_len(&record) == 2 {
            record["relationships"] = serde_json::json!([{"from": "grandfather", "to": "child", "type": "grandparent_of"}]);
        }
        record.to_string()
    };
    let name_only = serde_json::json!({"ref": "child", "role": "subject", "given_names": "Tyrese", "family_name": "Campbell"});
    let lines = [
        record("kingsford-academy", "S-1", serde_json::json!([child])),
        record("kingsford-academy", "S-2", serde_json::json!([child])),
        record("kingsford-academy", "S-3", serde_json::json!([child])),
        record("kingsford-academy", "S-4", serde_json::json!([child])),
        record("police", "REF-1", serde_json::json!([child, grandfather])),
        record(
            "police",
            "CAD-1",
            serde_json::json!([name_only, grandfather]),
        ),
    ]
    .join("\n");
    let at = Utc.with_ymd_and_hms(2016, 7, 1, 0, 0, 0).single().unwrap();
    let parsed = parse_batch(lines.as_bytes(), Format::JsonLines, at, &Limits::default()).unwrap();
    let engine = sightline_app::SharedEngine::load_default(store, at).unwrap();
    sightline_app::ingest_parsed(store, &engine, parsed, at).unwrap();
}

fn persons_len(record: &serde_json::Value) -> usize {
    record["persons"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_possible_record_on_the_child_page_links_to_its_review_on_its_own() {
    let mut demo = Vec::new();
    let server = TestServer::start_with(sightline_testkit::sqlite_database(), |store| {
        seed_possible_record(store, &mut demo);
    })
    .await;
    let app = App {
        base: server.base.clone(),
        store: server.store.clone(),
        engine: server.state.engine.clone(),
        demo,
        _server: server,
    };
    let child = app.engine_person("kingsford-academy/S-1/child");
    assert_ne!(app.engine_person("police/CAD-1/child"), child);
    let (client, _) = app.sign_in(Role::SafeguardingLead).await;
    let (status, page) = app.get(&client, &format!("/children/{child}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Possible records"), "{page}");
    assert!(
        page.contains("named beside Winston Campbell, who is linked to this child&#x27;s grandfather in 1 record"),
        "{page}"
    );
    let unescape = |text: &str| text.replace("&#x2f;", "/").replace("&amp;", "&");
    let href_start = page
        .find("&#x2f;linkage&#x2f;review?left=")
        .expect("a link to the review");
    let href = &page[href_start..];
    let href = unescape(&href[..href.find('"').unwrap()]);
    let (status, review) = app.get(&client, &href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(review.contains("1 pair to review"), "{review}");
    assert!(review.contains("CAD-1"), "{review}");
    // A practitioner sees the possible record without the review link.
    let (client, _) = app.sign_in(Role::Practitioner).await;
    let (_, page) = app.get(&client, &format!("/children/{child}")).await;
    assert!(page.contains("Possible records"));
    assert!(!page.contains("review?left="));
}
