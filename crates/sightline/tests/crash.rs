//! Durability: the server is killed with SIGKILL during a stream of submissions,
//! repeatedly, on each backend; after a restart every acknowledged record is
//! there, and none is there twice; and no alert is lost: the stored alerts are
//! exactly those a fresh batch evaluation of the stored records raises (each
//! batch carries an injury to a baby, which raises one).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};
use sightline_testkit::TestDatabase;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AGENCY: &str = "st-annes-gp";
const ROUNDS: usize = 3;
const CLIENTS: usize = 3;
const RECORDS_PER_BATCH: usize = 25;

fn sightline() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.env("SIGHTLINE_LOG", "warn");
    command
}

fn create_token(db: &TestDatabase) -> String {
    let output = sightline()
        .args(["token", "create", "--agency", AGENCY, "--db", &db.url])
        .output()
        .expect("run token create");
    assert!(
        output.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Starts `sightline serve` on a free port and returns it with its base URL.
fn start_server(db: &TestDatabase) -> (Child, String) {
    let mut child = sightline()
        // Its clients send concurrently, over the default per-agency limit.
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db.url,
            "--intake-concurrent-per-agency-max",
            "8",
            "--org",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/organisation.toml"
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server exited before serving")
            .expect("read stderr");
        if let Some(rest) = line.split("serving on ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

fn batch(client_idx: usize, batch_idx: u64) -> (Vec<String>, String) {
    let mut ids = Vec::with_capacity(RECORDS_PER_BATCH);
    let mut body = String::new();
    for record_idx in 0..RECORDS_PER_BATCH {
        let record_id = format!("C{client_idx}-B{batch_idx}-R{record_idx}");
        let record = json!({
            "source": {"agency": AGENCY, "record_id": record_id},
            "kind": "health.gp_consultation",
            "occurred_at": "2007-03-01",
            "persons": [{"ref": "c", "role": "subject", "given_names": "Synthetic", "family_name": format!("Person{record_idx}")}]
        });
        body.push_str(&record.to_string());
        body.push('\n');
        ids.push(record_id);
    }
    // A bruised two-month-old: raises an alert in the batch's transaction.
    // Its own source person id: a different child from every other batch's.
    let record_id = format!("C{client_idx}-B{batch_idx}-INJURY");
    let record = json!({
        "source": {"agency": AGENCY, "record_id": record_id},
        "kind": "health.gp_consultation",
        "occurred_at": "2007-03-01",
        "persons": [{"ref": "c", "role": "subject", "source_person_id": record_id, "given_names": format!("Baby{client_idx}x{batch_idx}"), "family_name": "Injured", "dob": "2007-01-01"}],
        "findings": [{"code": "injury", "type": "bruise", "site": "face", "explanation": "none"}]
    });
    body.push_str(&record.to_string());
    body.push('\n');
    ids.push(record_id);
    (ids, body)
}

/// `sightline alerts --json` with extra arguments, as (id, severity, evidence).
fn alerts(db: &TestDatabase, extra: &[&str]) -> BTreeSet<(String, String, Vec<String>)> {
    let output = sightline()
        .args(["alerts", "--json", "--db", &db.url])
        .args(extra)
        .output()
        .expect("run alerts");
    assert!(
        output.status.success(),
        "alerts: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let items: Value = serde_json::from_slice(&output.stdout).expect("json");
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|item| {
            let mut evidence: Vec<String> = item["evidence"]
                .as_array()
                .expect("evidence")
                .iter()
                .map(|evidence| format!("{}/{}", evidence["agency"], evidence["record_id"]))
                .collect();
            evidence.sort();
            (
                item["id"].as_str().expect("id").to_owned(),
                item["severity"].as_str().expect("severity").to_owned(),
                evidence,
            )
        })
        .collect()
}

fn stored_ids(base: &str, token: &str) -> Vec<String> {
    let client = reqwest::blocking::Client::new();
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = client
            .get(format!("{base}/api/v1/records?limit=1000&cursor={cursor}"))
            .bearer_auth(token)
            .send()
            .expect("list")
            .json()
            .expect("json");
        for record in page["records"].as_array().expect("records") {
            ids.push(record["record_id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
}

fn crash_repeatedly(db: &TestDatabase) {
    let token = create_token(db);
    let acknowledged: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let next_batch = Arc::new(AtomicU64::new(0));
    for round in 0..ROUNDS {
        let (mut server, base) = start_server(db);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client_idx| {
                let (base, token, stop, acknowledged, next_batch) = (
                    base.clone(),
                    token.clone(),
                    stop.clone(),
                    acknowledged.clone(),
                    next_batch.clone(),
                );
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .expect("client");
                    while !stop.load(Ordering::Relaxed) {
                        let (ids, body) =
                            batch(client_idx, next_batch.fetch_add(1, Ordering::Relaxed));
                        let response = client
                            .post(format!("{base}/api/v1/records"))
                            .bearer_auth(&token)
                            .header("content-type", "application/x-ndjson")
                            .body(body)
                            .send();
                        match response {
                            Ok(response) if response.status().is_success() => {
                                acknowledged.lock().expect("lock").extend(ids);
                            }
                            Ok(response) => panic!("unexpected status {}", response.status()),
                            // The server was killed: this batch was never acknowledged.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // Let a good number of batches through, then kill the server mid-stream.
        let started = Instant::now();
        let acknowledged_before = acknowledged.lock().expect("lock").len();
        while acknowledged.lock().expect("lock").len() < acknowledged_before + 200
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(37 * (round as u64 + 1)));
        server.kill().expect("SIGKILL the server");
        server.wait().expect("reap");
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.join().expect("client thread");
        }
        assert!(
            acknowledged.lock().expect("lock").len() > acknowledged_before,
            "round {round} acknowledged nothing"
        );
    }

    let (mut server, base) = start_server(db);
    let stored = stored_ids(&base, &token);
    server.kill().expect("stop server");
    server.wait().expect("reap");
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "{:?}: a record is stored twice",
        db.backend
    );
    let acknowledged = acknowledged.lock().expect("lock");
    let lost: Vec<&String> = acknowledged.difference(&stored_set).collect();
    assert!(
        lost.is_empty(),
        "{:?}: {} acknowledged record(s) lost, e.g. {:?}",
        db.backend,
        lost.len(),
        lost.first()
    );
    let persisted = alerts(db, &[]);
    let recomputed = alerts(db, &["--as-of", "2100-01-01"]);
    assert!(
        persisted.len() >= 200 / RECORDS_PER_BATCH,
        "{:?}: only {} alert(s) stored",
        db.backend,
        persisted.len()
    );
    let lost: Vec<_> = recomputed.difference(&persisted).collect();
    let extra: Vec<_> = persisted.difference(&recomputed).collect();
    assert!(
        lost.is_empty() && extra.is_empty(),
        "{:?}: {} alert(s) lost (e.g. {:?}), {} stored without their records (e.g. {:?})",
        db.backend,
        lost.len(),
        lost.first(),
        extra.len(),
        extra.first()
    );
    eprintln!(
        "{:?}: {} acknowledged, {} stored, {} alerts after {ROUNDS} kills",
        db.backend,
        acknowledged.len(),
        stored.len(),
        persisted.len()
    );
}

#[test]
fn sigkill_during_submissions_loses_no_acknowledged_record_on_sqlite() {
    crash_repeatedly(&sightline_testkit::sqlite_database());
}

#[test]
fn sigkill_during_submissions_loses_no_acknowledged_record_on_postgres() {
    if let Some(db) = sightline_testkit::postgres_database() {
        crash_repeatedly(&db);
    }
}
