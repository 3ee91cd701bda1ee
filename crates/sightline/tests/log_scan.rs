//! No personal data in any log line (issue #15, deliverable 5; ASVS V14/V16).
//!
//! Runs `sightline demo` with every log target at `debug` (more than an
//! operator's `info`), then works it as its users do: every demo login signs in
//! and walks the pages its own pages link to, searches for a child by name and
//! date of birth (web and API), breaks glass, decides an alert through the API;
//! the agency token reads, resends and sends a batch that fails validation; a
//! sign-in is tried with a person's name as the username. Then the server is
//! stopped with SIGTERM, and every line it wrote (stderr and stdout) is searched
//! for every name, date of birth, NHS number, postcode and address line of the
//! region: the synthetic region's ground truth (`truth/persons.csv`) and every
//! person of every record the agencies sent; the server's own lines (stderr)
//! also for the agency token, every password and every session token. One hit
//! fails the test.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pages one login opens at most while walking its links.
const PAGES_PER_LOGIN_MAX: usize = 80;

#[test]
fn no_log_line_holds_a_name_date_of_birth_nhs_number_postcode_or_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo_dir = dir.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "demo",
            "--children",
            "120",
            "--addr",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(&demo_dir)
        .env("SIGHTLINE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let mut demo = Demo(child);

    // Every line, from both pipes, kept for the scan; and sent on for the start.
    let all_lines: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
    let (sender, receiver) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    for (from_stderr, pipe) in [
        (false, Box::new(stdout) as Box<dyn std::io::Read + Send>),
        (true, Box::new(stderr)),
    ] {
        let (sender, all_lines) = (sender.clone(), all_lines.clone());
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                all_lines.lock().unwrap().push((from_stderr, line.clone()));
                let _ = sender.send((from_stderr, line));
            }
        }));
    }
    drop(sender);

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
    let base = serving.expect("a URL");
    let token = after(&printed, "Police token:").to_owned();
    let heading = printed
        .iter()
        .position(|line| line.starts_with("Demo logins"))
        .expect("the logins");
    let logins: Vec<(String, String)> = printed[heading + 1..]
        .iter()
        .take_while(|line| !line.starts_with("Stop with Ctrl-C."))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() >= 3 && fields[1].starts_with("demo."))
        .map(|fields| (fields[1].to_owned(), fields[2].to_owned()))
        .collect();
    assert!(logins.len() >= 7, "the demo logins: {printed:#?}");

    let region = demo_dir.join("region");
    let terms = PersonalData::of_region(&region);
    let child = terms
        .a_child
        .clone()
        .expect("a child with a name and a date of birth");
    let http = Http::new(&base);
    let mut n_pages = 0;

    // The agency token: its records, one record's history, a batch resent (all
    // duplicates), a batch with a name and a broken date of birth (422).
    let page = http.get_json(&token, "/api/v1/records?limit=20");
    let first = &page["records"][0];
    let record_id = first["record_id"].as_str().expect("a record id");
    http.get_json(
        &token,
        &format!("/api/v1/records/police/{}", encode(record_id)),
    );
    let police_lines = std::fs::read_to_string(region.join("police.jsonl")).expect("police.jsonl");
    let batch: String = police_lines
        .lines()
        .take(20)
        .map(|line| format!("{line}\n"))
        .collect();
    let resent = http.post(
        &token,
        "/api/v1/records",
        "application/x-ndjson",
        batch.clone(),
    );
    assert_eq!(resent.0, 200, "{}", resent.1);
    // The first police record with a person, re-sent as a new version whose
    // first person has a date of birth that does not exist.
    let mut broken: serde_json::Value = police_lines
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a record"))
        .find(|record| record["persons"][0]["family_name"].is_string())
        .expect("a police record naming a person");
    broken["source"]["version"] = serde_json::json!(99);
    broken["persons"][0]["dob"] = serde_json::json!("2015-02-30");
    let broken = broken.to_string();
    let refused = http.post(&token, "/api/v1/records", "application/x-ndjson", broken);
    assert_eq!(refused.0, 422, "{}", refused.1);

    // A sign-in with a person's name for a username, and a wrong password.
    let refused = http.sign_in(&child.name, "not the password of anyone here");
    assert!(refused.is_none(), "no such user");

    // Credentials never reach a log line either (the banner on stdout prints
    // the token and passwords for the person who started the demo).
    let mut secrets: Vec<String> = vec![token.clone()];
    for (username, password) in &logins {
        let session = http
            .sign_in(username, password)
            .unwrap_or_else(|| panic!("{username} signs in"));
        secrets.push(password.clone());
        secrets.push(session.token.clone());
        // The pages the login's own pages link to, breadth first.
        let mut queue: VecDeque<String> = VecDeque::from([
            "/my-work".to_owned(),
            format!(
                "/search?name={}&dob={}",
                encode(&child.name),
                encode(&child.dob)
            ),
        ]);
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        let mut opened = 0;
        let mut break_glass_done = false;
        while let Some(path) = queue.pop_front() {
            if opened >= PAGES_PER_LOGIN_MAX {
                break;
            }
            let (status, html) = http.get_page(&session, &path);
            opened += 1;
            assert!(status < 500, "{username} GET {path}: {status}");
            if !break_glass_done && let Some(action) = form_action(&html, "/break-glass") {
                let csrf = session.csrf_of(&html);
                let (status, _) = http.post_form(
                    &session,
                    &action,
                    &[
                        ("csrf_token", csrf.as_str()),
                        (
                            "reason",
                            "The school reported a bruise today and I must see the plan.",
                        ),
                    ],
                );
                assert!(status < 500, "{username} POST {action}: {status}");
                break_glass_done = true;
            }
            for link in links(&html) {
                if seen.insert(link.clone()) {
                    queue.push_back(link);
                }
            }
        }
        n_pages += opened;

        // The staff API with the session: a search by name and date of birth,
        // and (where the login may) the alerts and a decision.
        let search = format!(
            "/api/v1/persons?name={}&dob={}",
            encode(&child.name),
            encode(&child.dob)
        );
        let (status, _) = http.get(&session.token, &search);
        assert!(status < 500, "{username} GET {search}: {status}");
        let (status, body) = http.get(&session.token, "/api/v1/alerts?mine=true&limit=5");
        assert!(status < 500, "{username} GET alerts: {status}");
        if status == 200 {
            let alerts: serde_json::Value = serde_json::from_str(&body).expect("json");
            if let Some(id) = alerts["alerts"][0]["id"].as_str() {
                let decision = serde_json::json!({
                    "decision": "no_further_action",
                    "reason": "Seen at home today with both parents; no concerns were found.",
                })
                .to_string();
                let (status, body) = http.post(
                    &session.token,
                    &format!("/api/v1/alerts/{id}/decision"),
                    "application/json",
                    decision,
                );
                assert!(status < 500, "{username} decision: {status} {body}");
            }
        }
    }
    assert!(n_pages >= 50, "the walk opened only {n_pages} pages");

    // Stopped as an operator stops it, so shutdown logs too.
    let pid = demo.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while demo.0.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the demo did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for reader in readers {
        reader.join().expect("reader");
    }

    // As an operator's terminal shows them (the text format colours fields).
    let lines: Vec<(bool, String)> = all_lines
        .lock()
        .unwrap()
        .iter()
        .map(|(from_stderr, line)| (*from_stderr, without_ansi(line)))
        .collect();
    assert!(
        lines.iter().any(|(_, line)| line.contains("DEBUG")),
        "debug lines were written"
    );
    assert!(
        lines
            .iter()
            .any(|(_, line)| line.contains("route=\"/my-work\"")),
        "the requests were logged: {lines:#?}"
    );
    let hits: Vec<String> = lines
        .iter()
        .filter_map(|(from_stderr, line)| {
            let secret = secrets
                .iter()
                .find(|secret| *from_stderr && line.contains(secret.as_str()));
            secret
                .map(|_| "a token, password or session".to_owned())
                .or_else(|| terms.find_in(line))
                .map(|term| format!("{term:?} in: {line}"))
        })
        .collect();
    assert!(
        hits.is_empty(),
        "{} of {} log lines hold personal data or credentials:\n{}",
        hits.len(),
        lines.len(),
        hits.join("\n")
    );
    // The scan can fail: the names it looks for are in the region's records.
    assert!(terms.find_in(&format!("x {} x", child.name)).is_some());
}

/// A line without its ANSI colour sequences (`ESC [ ... m`).
fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value after `label` on the line that holds it.
fn after<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting {label:?} in {lines:#?}"))
        .trim()
}

/// Percent-encoding of a query value or path segment.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// An HTML attribute value as text (the templates escape `/`, `&`, quotes).
fn unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The same-origin links of a page worth a GET (not signing out, not a
/// download's twin of a page already walked).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .filter(|link| link.starts_with('/') && !link.starts_with("//"))
        .map(|link| link.split('#').next().unwrap_or_default().to_owned())
        .filter(|link| !link.is_empty() && !link.starts_with("/static") && link != "/logout")
        .collect()
}

/// The action of the first form whose action ends with `suffix`.
fn form_action(html: &str, suffix: &str) -> Option<String> {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .find(|action| action.ends_with(suffix))
}

struct Session {
    /// The session token (the session cookie's value).
    token: String,
    cookies: String,
}

impl Session {
    fn csrf_of(&self, html: &str) -> String {
        html.split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF token on the page")
            .to_owned()
    }
}

struct Http {
    base: String,
    client: reqwest::blocking::Client,
}

impl Http {
    fn new(base: &str) -> Http {
        Http {
            base: base.to_owned(),
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    fn get(&self, bearer: &str, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .send()
            .expect("GET");
        (response.status().as_u16(), response.text().expect("body"))
    }

    fn get_json(&self, bearer: &str, path: &str) -> serde_json::Value {
        let (status, body) = self.get(bearer, path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    fn post(&self, bearer: &str, path: &str, content_type: &str, body: String) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("POST");
        (response.status().as_u16(), response.text().expect("body"))
    }

    fn get_page(&self, session: &Session, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &session.cookies)
            .send()
            .expect("GET page");
        (response.status().as_u16(), response.text().expect("body"))
    }

    fn post_form(&self, session: &Session, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &session.cookies)
            .form(form)
            .send()
            .expect("POST form");
        (response.status().as_u16(), response.text().expect("body"))
    }

    /// Signs in through the login form; `None` when refused.
    fn sign_in(&self, username: &str, password: &str) -> Option<Session> {
        let form = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .expect("GET /login");
        let presession = cookies_of(&form);
        let html = form.text().expect("body");
        let csrf = html
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the login form's CSRF token")
            .to_owned();
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .header("cookie", presession.join("; "))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf_token", &csrf),
            ])
            .send()
            .expect("POST /login");
        if response.status().as_u16() != 303 {
            return None;
        }
        let cookies = cookies_of(&response);
        let token = cookies
            .iter()
            .find_map(|cookie| cookie.strip_prefix("sightline_session="))
            .expect("the session cookie")
            .to_owned();
        Some(Session {
            token,
            cookies: cookies.join("; "),
        })
    }
}

fn cookies_of(response: &reqwest::blocking::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// A child to search for: as recorded.
#[derive(Clone)]
struct Searched {
    name: String,
    dob: String,
}

/// What must never be logged, from the region's files.
#[derive(Default)]
struct PersonalData {
    /// Names, word by word (given names, family names, aliases): matched as
    /// whole words, case as written.
    name_words: HashSet<String>,
    /// Dates of birth, NHS numbers (as written, and spaced 3-3-4), postcodes
    /// (as written, and without the space) and address lines: matched as
    /// substrings.
    phrases: BTreeSet<String>,
    a_child: Option<Searched>,
}

impl PersonalData {
    fn of_region(region: &Path) -> PersonalData {
        let mut data = PersonalData::default();
        // The ground truth: one row per true person.
        let truth =
            std::fs::read_to_string(region.join("truth").join("persons.csv")).expect("persons.csv");
        let mut rows = truth.lines().map(csv_fields);
        let header = rows.next().expect("a header");
        let column = |name: &str| {
            header
                .iter()
                .position(|field| field == name)
                .unwrap_or_else(|| panic!("no {name} column"))
        };
        let (given, family, dob, nhs) = (
            column("given_names"),
            column("family_name"),
            column("dob"),
            column("nhs_number"),
        );
        let mut n_persons = 0;
        for row in rows {
            data.add_name(&row[given]);
            data.add_name(&row[family]);
            data.add_phrase(&row[dob]);
            data.add_nhs_number(&row[nhs]);
            n_persons += 1;
        }
        assert!(n_persons > 100, "{n_persons} persons in the ground truth");
        // Every person of every record, as the agencies wrote them (with their
        // variants, aliases and addresses).
        for entry in std::fs::read_dir(region).expect("region") {
            let path = entry.expect("entry").path();
            if path
                .extension()
                .is_none_or(|extension| extension != "jsonl")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("records");
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                let record: serde_json::Value = serde_json::from_str(line).expect("a record");
                for person in record["persons"].as_array().into_iter().flatten() {
                    data.add_person(person);
                }
            }
        }
        assert!(data.a_child.is_some(), "a child to search for");
        data
    }

    fn add_person(&mut self, person: &serde_json::Value) {
        let text = |field: &str| person[field].as_str().unwrap_or_default().to_owned();
        let (given, family, dob) = (text("given_names"), text("family_name"), text("dob"));
        self.add_name(&given);
        self.add_name(&family);
        for alias in person["aliases"].as_array().into_iter().flatten() {
            for field in ["given_names", "family_name"] {
                self.add_name(alias[field].as_str().unwrap_or_default());
            }
            self.add_name(alias.as_str().unwrap_or_default());
        }
        self.add_phrase(&dob);
        self.add_phrase(&text("expected_dob"));
        self.add_nhs_number(&text("nhs_number"));
        let address = &person["address"];
        for line in address["lines"].as_array().into_iter().flatten() {
            self.add_phrase(line.as_str().unwrap_or_default());
        }
        let postcode = address["postcode"].as_str().unwrap_or_default();
        self.add_phrase(postcode);
        self.add_phrase(&postcode.replace(' ', ""));
        if self.a_child.is_none()
            && person["role"] == "subject"
            && dob.len() == 10
            && !given.is_empty()
            && !family.is_empty()
        {
            self.a_child = Some(Searched {
                name: format!("{given} {family}"),
                dob,
            });
        }
    }

    fn add_name(&mut self, name: &str) {
        for word in words(name) {
            // Initials are not names.
            if word.chars().count() >= 2 {
                self.name_words.insert(word.to_owned());
            }
        }
    }

    fn add_phrase(&mut self, phrase: &str) {
        let phrase = phrase.trim();
        if phrase.chars().count() >= 4 {
            self.phrases.insert(phrase.to_owned());
        }
    }

    fn add_nhs_number(&mut self, nhs_number: &str) {
        let digits: String = nhs_number.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 10 {
            self.add_phrase(&format!(
                "{} {} {}",
                &digits[..3],
                &digits[3..6],
                &digits[6..]
            ));
            self.phrases.insert(digits);
        }
    }

    /// The first personal datum in `line` (its leading timestamp left out).
    fn find_in(&self, line: &str) -> Option<String> {
        let line = match line.split_once(char::is_whitespace) {
            Some((first, rest)) if first.starts_with("20") && first.contains('T') => rest,
            _ => line,
        };
        if let Some(word) = words(line).find(|word| self.name_words.contains(*word)) {
            return Some(word.to_owned());
        }
        self.phrases
            .iter()
            .find(|phrase| line.contains(phrase.as_str()))
            .cloned()
    }
}

/// The words of a text: runs of letters, apostrophes and hyphens.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
        .map(|word| word.trim_matches(|c| c == '\'' || c == '-'))
        .filter(|word| !word.is_empty())
}

/// The fields of one CSV line (quoted fields may hold commas and `""`).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}
