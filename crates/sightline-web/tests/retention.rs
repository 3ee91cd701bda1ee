//! Retention approval against a real server with a fresh database, on every
//! backend: the server's daily pass (its ticker) writes a batch of the social
//! care records past the children's 25th birthday, leaving out (and counting)
//! the record of a child on legal hold; the privacy officer reads it by rule
//! and agency, drills down, is refused a decision without a sentence,
//! approves it with a reason (audited); a hold placed after the batch is
//! counted at approval as kept; a decided batch cannot be decided again;
//! casework staff are refused; each record page shows its retention date.
//! The approval erases the batch's records at once (keys destroyed, one
//! erasure row naming the batch), except the held one, which stays whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use sightline_access::Role;
use sightline_app::accounts::DemoAccount;
use sightline_app::controls::{By, HoldTarget};
use sightline_core::AgencyId;
use sightline_store::{NewRecord, Store};
use sightline_testkit::TestDatabase;
use sightline_testkit::server::{TestServer, browser, csrf_of, login_form, post_form, sync};
use std::sync::Arc;

const AGENCY: &str = "haringate-csc";
const RULE: &str = "social care: to the child's 25th birthday";
const APPROVE: &str = "Past the 25th birthday under the schedule; no review or inquiry is open.";

/// A child protection plan about one child (born `dob`), on `occurred`.
fn plan(record_id: &str, given: &str, dob: &str, occurred: &str) -> NewRecord {
    let body = serde_json::json!({
        "source": {"agency": AGENCY, "record_id": record_id, "version": 1},
        "kind": "social_care.plan",
        "occurred_at": occurred,
        "recorded_at": format!("{occurred}T12:00:00Z"),
        "persons": [
            {"ref": "c", "role": "subject", "given_names": given, "family_name": "Synthetic",
             "dob": dob, "sex": "female"}
        ],
        "outcome": {"plan": "child_protection", "status": "start", "category": "neglect"},
    });
    NewRecord {
        agency: AGENCY.into(),
        record_id: record_id.into(),
        version: 1,
        kind: "social_care.plan".into(),
        occurred_at: occurred.into(),
        occurred_start_us: 1_000_000_000_000_000,
        recorded_at_us: 1_000_000_000_000_000,
        received_at_us: 1_700_000_000_000_000,
        content_hash: sightline_app::content_hash(&body.to_string()),
        body: body.to_string(),
    }
}

fn person_of(record_id: &str) -> String {
    sightline_app::picture::person_id_for(&format!("{AGENCY}/{record_id}/c"))
}

struct App {
    base: String,
    store: Arc<dyn Store>,
    demo: Vec<DemoAccount>,
    _server: TestServer,
}

impl App {
    async fn sign_in(&self, role: Role) -> (reqwest::Client, String) {
        let account = self
            .demo
            .iter()
            .find(|account| account.role == role)
            .unwrap();
        let client = browser();
        let response = login_form(&client, &self.base, &account.username, &account.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let response = client
            .get(format!("{}/my-work", self.base))
            .send()
            .await
            .unwrap();
        (client, csrf_of(&response.text().await.unwrap()))
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response
            .text()
            .await
            .unwrap()
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&amp;", "&");
        (status, text)
    }
}

async fn the_daily_pass_batches_what_is_due_and_the_privacy_officer_approves(db: TestDatabase) {
    let mut demo = Vec::new();
    let mut token = String::new();
    let server = TestServer::start_with(db, |store| {
        token = sightline_app::create_token(
            store,
            &AgencyId::parse(AGENCY).unwrap(),
            chrono::Utc::now(),
        )
        .unwrap()
        .secret;
        demo = sightline_app::accounts::create_demo_accounts(
            store,
            &AgencyId::parse(AGENCY).unwrap(),
            chrono::Utc::now(),
        )
        .unwrap();
        let mut tx = store.begin().unwrap();
        tx.append(&[
            plan("SC-AMY", "Amy", "1990-02-01", "2001-05-01"),
            plan("SC-BEA", "Bea", "1991-03-03", "2001-06-01"),
            plan("SC-CAL", "Cal", "1992-04-04", "2001-07-01"),
            plan("SC-DOT", "Dot", "2020-05-05", "2021-08-01"),
        ])
        .unwrap();
        tx.commit().unwrap();
        // Bea is on legal hold before the daily pass: counted, not batched.
        sightline_app::controls::place_hold(
            store,
            By::Operator,
            HoldTarget::Child,
            &person_of("SC-BEA"),
            "Held for the serious case review of the Synthetic family.",
            chrono::Utc::now(),
        )
        .unwrap();
    })
    .await;
    let app = App {
        base: server.base.clone(),
        store: server.store.clone(),
        demo,
        _server: server,
    };

    // The ticker's first pass of the day writes the batch.
    let mut batches = Vec::new();
    for _ in 0..100 {
        batches = sync(|| app.store.access().retention_batches(None, None, 10)).unwrap();
        if !batches.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(batches.len(), 1, "the daily pass wrote one batch");
    let batch = &batches[0];
    assert_eq!(batch.made_by, "job");
    assert_eq!(batch.n_records, 2, "Amy and Cal");
    assert_eq!(batch.n_blocked, 1, "Bea, on hold");
    let records =
        sync(|| sightline_app::retention::batch_records(app.store.as_ref(), batch.id)).unwrap();
    let ids: Vec<&str> = records
        .iter()
        .map(|record| record.record_id.as_str())
        .collect();
    assert_eq!(ids, vec!["SC-AMY", "SC-CAL"]);
    assert!(records.iter().all(|record| record.rule == RULE));
    assert_eq!(records[0].kept_until, "2015-02-01");

    // The privacy officer's list and the batch by rule and agency.
    let (privacy, csrf) = app.sign_in(Role::PrivacyOfficer).await;
    let (status, page) = app.get(&privacy, "/privacy/retention").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("1 batches waiting"), "{page}");
    let batch_path = format!("/privacy/retention/{}", batch.id);
    let (status, page) = app.get(&privacy, &batch_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(RULE) && page.contains("SC-AMY") && page.contains("SC-CAL"));
    assert!(
        !page.contains("SC-BEA"),
        "the held record is not in the batch"
    );
    assert!(page.contains("1 February 2015"), "kept until, in words");
    assert!(page.contains("Waiting for a decision"));
    let (_, page) = app
        .get(&privacy, &format!("{batch_path}?rule=no+such+rule"))
        .await;
    assert!(
        page.contains("0 records") && !page.contains("SC-AMY"),
        "{page}"
    );

    // Cal's child is put on hold after the batch was written.
    sync(|| {
        sightline_app::controls::place_hold(
            app.store.as_ref(),
            By::Operator,
            HoldTarget::Child,
            &person_of("SC-CAL"),
            "Held for care proceedings listed in the family court in March.",
            chrono::Utc::now(),
        )
    })
    .unwrap();

    let decide = |decision: &'static str, reason: &'static str| {
        let client = privacy.clone();
        let url = format!("{}{batch_path}/decision", app.base);
        let csrf = csrf.clone();
        async move {
            post_form(
                &client,
                &url,
                &[
                    ("csrf_token", csrf.as_str()),
                    ("decision", decision),
                    ("reason", reason),
                ],
            )
            .await
        }
    };
    let response = decide("approve", "ok").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("sentence"));
    let response = decide("erase everything", APPROVE).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Casework staff are refused.
    let (lead, lead_csrf) = app.sign_in(Role::SafeguardingLead).await;
    let (status, _) = app.get(&lead, "/privacy/retention").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = post_form(
        &lead,
        &format!("{}{batch_path}/decision", app.base),
        &[
            ("csrf_token", lead_csrf.as_str()),
            ("decision", "approve"),
            ("reason", APPROVE),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        sync(|| app.store.access().retention_decisions(None, 10))
            .unwrap()
            .is_empty()
    );

    // Approved: Amy's record is erased at once; Cal's (now held) is kept and counted.
    let response = decide("approve", APPROVE).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let decisions = sync(|| app.store.access().retention_decisions(Some(batch.id), 10)).unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].event.decision, "approved");
    assert_eq!(decisions[0].event.n_kept_held, 1);
    assert_eq!(decisions[0].event.reason, APPROVE);
    let (_, page) = app.get(&privacy, &batch_path).await;
    assert!(page.contains("Approved: the records were erased"), "{page}");
    assert!(page.contains("1 on legal hold were kept"), "{page}");
    assert!(
        !page.contains("Record the decision"),
        "no form once decided"
    );
    let response = decide("reject", APPROVE).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("already approved"));
    // Amy's record: its keys destroyed, so no readable version is left;
    // Cal's (held) intact.
    assert!(
        sync(|| app.store.record_versions(AGENCY, "SC-AMY"))
            .unwrap()
            .is_empty(),
        "SC-AMY erased"
    );
    let cal = sync(|| app.store.record_versions(AGENCY, "SC-CAL")).unwrap();
    assert_eq!(cal.len(), 1);
    assert!(cal[0].erased.is_none(), "SC-CAL kept under its hold");
    let erasures = sync(|| app.store.erasures()).unwrap();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0].n_records, 1);
    assert!(
        erasures[0]
            .reason
            .starts_with(&format!("retention batch {} approved: ", batch.id)),
        "{:?}",
        erasures[0].reason
    );

    // Audited: the batch by the job, the decision with its reason.
    let entries = sync(|| {
        app.store
            .access()
            .audit_search(&sightline_store::AuditQuery {
                resource_keys: Some(vec![format!("retention_batch:{}", batch.id)]),
                limit: 100,
                ..sightline_store::AuditQuery::default()
            })
    })
    .unwrap();
    assert!(
        entries
            .iter()
            .any(|row| row.action == "retention_batch" && row.actor_username == "job")
    );
    assert_eq!(
        entries
            .iter()
            .filter(|row| row.action == "retention_approved" && row.basis == APPROVE)
            .count(),
        1
    );

    // Each record page shows its retention (the lead's own agency's records).
    let (status, page) = app.get(&lead, &format!("/records/{AGENCY}/SC-DOT")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!("Kept until 5 May 2045 under the rule “{RULE}”")),
        "{page}"
    );
    let (_, page) = app.get(&lead, &format!("/records/{AGENCY}/SC-CAL")).await;
    assert!(
        page.contains("Kept until 4 April 2017") && page.contains("past that date"),
        "{page}"
    );
    // The erased record's page no longer shows the child's name.
    let (_, page) = app.get(&lead, &format!("/records/{AGENCY}/SC-AMY")).await;
    assert!(!page.contains("Amy"), "{page}");

    // And the record API view.
    let response = browser()
        .get(format!("{}/api/v1/records/{AGENCY}/SC-DOT", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let history: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(history["retention"]["kept_until"], "2045-05-05");
    assert_eq!(history["retention"]["rule"], RULE);
    assert_eq!(history["retention"]["past"], false);
}

sightline_testkit::on_every_backend!(
    the_daily_pass_batches_what_is_due_and_the_privacy_officer_approves
);
