//! `sightline demo`, the README's first command, as a newcomer runs it: it builds
//! a region, prints its URL, token and logins only once the server answers, and
//! what it prints works.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value after `label` on the line that holds it.
fn after<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting {label:?} in {lines:#?}"))
        .trim()
}

#[test]
fn the_demo_answers_with_what_it_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "demo",
            "--children",
            "150",
            "--addr",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let _demo = Demo(child);
    let (sender, receiver) = mpsc::channel::<(bool, String)>();
    let to_stderr = sender.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send((false, line));
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = to_stderr.send((true, line));
        }
    });

    // Everything printed until the server says it is serving and the banner
    // (on stdout, a separate pipe) has ended.
    let mut printed = Vec::new();
    let mut serving = None;
    let mut banner_done = false;
    while serving.is_none() || !banner_done {
        let (from_stderr, line) = receiver
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|_| panic!("the demo was not serving within 300 s: {printed:#?}"));
        if from_stderr && let Some(rest) = line.strip_prefix("Sightline is serving on ") {
            serving = rest.split_whitespace().next().map(str::to_owned);
        }
        banner_done |= !from_stderr && line.starts_with("Stop with Ctrl-C.");
        printed.push(line);
    }
    let serving = serving.expect("a URL");
    assert!(serving.starts_with("http://127.0.0.1:"), "{serving}");
    assert!(
        !serving.ends_with(":0"),
        "the bound port is printed: {serving}"
    );

    // The URLs printed point at the bound port, and answer.
    let web = after(&printed, "Web UI:");
    assert_eq!(web, format!("{serving}/login"));
    let client = reqwest::blocking::Client::new();
    let page = client.get(web).send().expect("GET /login");
    assert_eq!(page.status(), 200);
    assert!(page.text().expect("body").contains("<form"), "a login form");

    // The token reads the region's records.
    let token = after(&printed, "Police token:");
    let records: serde_json::Value = client
        .get(format!("{serving}/api/v1/records?limit=3"))
        .bearer_auth(token)
        .send()
        .expect("GET records")
        .json()
        .expect("json");
    assert_eq!(records["records"].as_array().expect("records").len(), 3);

    // The metrics line works as printed, shows every family, and (issue #17
    // item 5) no id of a child, person or record; without the token, 401.
    let metrics = after(&printed, "Metrics:");
    let (metrics_token, metrics_url) = metrics
        .strip_prefix("curl -H 'Authorization: Bearer ")
        .and_then(|rest| rest.split_once("' "))
        .unwrap_or_else(|| panic!("a curl command: {metrics}"));
    assert_eq!(metrics_url, format!("{serving}/metrics"));
    let refused = client.get(metrics_url).send().expect("GET /metrics");
    assert_eq!(refused.status(), 401);
    let text = client
        .get(metrics_url)
        .bearer_auth(metrics_token)
        .send()
        .expect("GET /metrics")
        .text()
        .expect("body");
    for family in [
        "sightline_http_request_duration_seconds_bucket{route=\"/login\",method=\"GET\",status=\"200\"",
        "route=\"/api/v1/records\"",
        "sightline_intake_batches_total{agency=\"police\",outcome=\"accepted\"} 0",
        "sightline_intake_records_total{agency=\"police\",outcome=\"stored\"} 0",
        "sightline_intake_linkage_seconds_count 0",
        "sightline_alerts_raised_total{severity=\"high\"}",
        "sightline_alerts_decided{severity=\"critical\"}",
        "sightline_alerts_overdue{severity=\"critical\"}",
        "sightline_engine_lag_records 0",
        "sightline_audit_chain_entries ",
    ] {
        assert!(text.contains(family), "no {family} in\n{text}");
    }
    for record in records["records"].as_array().expect("records") {
        let id = record["record_id"].as_str().expect("a record id");
        assert!(!text.contains(id), "{id} in /metrics");
    }

    // The logins are printed with what each is for, the one to start with
    // first; it signs in through the login form.
    let heading = printed
        .iter()
        .position(|line| line.starts_with("Demo logins"))
        .expect("the logins");
    assert!(
        printed[heading].contains("Start with the first"),
        "{printed:#?}"
    );
    let practitioner = &printed[heading + 1];
    assert!(
        practitioner.trim_start().starts_with("practitioner ")
            && practitioner.contains("social-care/duty")
            && practitioner.contains("start with this one"),
        "{practitioner}"
    );
    for expected in [
        "team_manager       demo.team-manager",
        "team_manager       demo.head-of-service",
        "safeguarding_lead  demo.health-lead",
        "practitioner       demo.police-officer",
        "safeguarding_lead  demo.school-dsl",
        "privacy_officer    demo.privacy-officer",
        "administrator      demo.administrator",
    ] {
        assert!(
            printed
                .iter()
                .any(|line| line.trim_start().starts_with(expected)),
            "{expected} in {printed:#?}"
        );
    }
    let fields: Vec<&str> = practitioner.split_whitespace().collect();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = client.get(web).send().expect("GET /login");
    let csrf_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("sightline_presession="))
        .and_then(|value| value.split(';').next())
        .expect("the login pre-session cookie")
        .to_owned();
    let html = form.text().expect("body");
    let csrf_token = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's CSRF token");
    let signed_in = client
        .post(web)
        .header("cookie", csrf_cookie)
        .form(&[
            ("username", fields[1]),
            ("password", fields[2]),
            ("csrf_token", csrf_token),
        ])
        .send()
        .expect("POST /login");
    assert_eq!(signed_in.status(), 303, "{practitioner}");
    assert_eq!(signed_in.headers()["location"], "/my-work");

    // The first login's My work is not empty: the duty team's alerts.
    let cookies: Vec<String> = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect();
    let my_work = client
        .get(format!("{serving}/my-work"))
        .header("cookie", cookies.join("; "))
        .send()
        .expect("GET /my-work");
    assert_eq!(my_work.status(), 200);
    let html = my_work.text().expect("body");
    // Paths are HTML-escaped (`/` as `&#x2f;`).
    let n_alerts = html
        .replace("&#x2f;", "/")
        .matches("href=\"/alerts/a-")
        .count();
    assert!(
        n_alerts >= 1,
        "no alert on the duty worker's My work:\n{html}"
    );
}
