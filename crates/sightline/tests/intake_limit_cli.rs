//! Issue #15, finding 15: intake had no concurrency limit. With a batch of an
//! agency still arriving, a second batch of that agency gets 429 with
//! `Retry-After` before its body is read, another agency still gets in, and
//! the place is freed when the first request goes away. `POST /fhir/R4` goes
//! through the same gate: a FHIR bundle of that agency is refused too.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sightline(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Sends a batch and returns the answer (status line, headers, body).
fn post(address: &str, token: &str, body: &str) -> String {
    post_to(
        address,
        "/api/v1/records",
        "application/x-ndjson",
        token,
        body,
    )
}

fn post_to(address: &str, path: &str, content_type: &str, token: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Begins a batch of `token`'s agency whose body is still arriving.
fn hold(address: &str, token: &str) -> TcpStream {
    let mut held = TcpStream::connect(address).unwrap();
    write!(
        held,
        "POST /api/v1/records HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{{\"source\""
    )
    .unwrap();
    held.flush().unwrap();
    held
}

/// What the server has answered on a held connection, if anything yet.
fn answered(held: &mut TcpStream) -> Option<String> {
    held.set_nonblocking(true).unwrap();
    let mut buffer = [0_u8; 4096];
    let read = held.read(&mut buffer);
    held.set_nonblocking(false).unwrap();
    match read {
        Ok(0) => Some("(connection closed)".to_owned()),
        Ok(n) => Some(String::from_utf8_lossy(&buffer[..n]).into_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => None,
        Err(error) => Some(format!("(read error: {error})")),
    }
}

fn record(agency: &str, record_id: &str) -> String {
    format!(
        "{{\"source\": {{\"agency\": \"{agency}\", \"record_id\": \"{record_id}\"}}, \"kind\": \"other.note\", \"occurred_at\": \"2007-03-01\", \"persons\": [{{\"ref\": \"c\", \"role\": \"subject\", \"given_names\": \"Leo\"}}]}}\n"
    )
}

#[test]
fn a_second_concurrent_batch_of_an_agency_gets_429_with_retry_after() {
    let db = sightline_testkit::sqlite_database();
    let gp = sightline(&[
        "token",
        "create",
        "--agency",
        "st-annes-gp",
        "--db",
        &db.url,
    ]);
    let police = sightline(&[
        "token",
        "create",
        "--agency",
        "north-met-police",
        "--db",
        &db.url,
    ]);
    let mut server = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db.url,
            "--intake-concurrent-per-agency-max",
            "1",
            "--intake-concurrent-max",
            "2",
            "--org",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/organisation.toml"
            ),
        ])
        .env("SIGHTLINE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(rest) = line.split("serving on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    // A batch that has begun and whose body is still arriving. Under a loaded
    // machine the server may answer the held request itself (say, a database
    // busy for longer than its timeout) before it holds its place: then that
    // answer is kept for the failure message and a new batch is held.
    let mut held = hold(&address, &gp);
    let mut held_answers: Vec<String> = Vec::new();
    let started = Instant::now();
    let refused = loop {
        let answer = post(&address, &gp, &record("st-annes-gp", "R-1"));
        if answer.starts_with("HTTP/1.1 429") {
            break answer;
        }
        if let Some(held_answer) = answered(&mut held) {
            held_answers.push(held_answer);
            held = hold(&address, &gp);
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never refused: {answer}\nthe held batches were answered {} time(s): {held_answers:?}",
            held_answers.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        held_answers.len() < 5,
        "the held batch was answered before its body arrived {} times: {held_answers:?}",
        held_answers.len()
    );
    let refused = refused.to_ascii_lowercase();
    assert!(refused.contains("retry-after: 1\r\n"), "{refused}");
    assert!(refused.contains("\"too_many_requests\""), "{refused}");
    // The FHIR endpoint is the same intake: refused as well, in FHIR's words.
    let bundle = r#"{"resourceType": "Bundle", "type": "batch", "entry": []}"#;
    let refused =
        post_to(&address, "/fhir/R4", "application/fhir+json", &gp, bundle).to_ascii_lowercase();
    assert!(refused.starts_with("http/1.1 429"), "{refused}");
    assert!(refused.contains("retry-after: 1\r\n"), "{refused}");
    assert!(refused.contains("\"throttled\""), "{refused}");
    // Another agency gets in.
    let other = post(&address, &police, &record("north-met-police", "P-1"));
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    let other = post_to(
        &address,
        "/fhir/R4",
        "application/fhir+json",
        &police,
        bundle,
    );
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // The place is freed when the held request goes away.
    drop(held);
    let started = Instant::now();
    loop {
        let answer = post(&address, &gp, &record("st-annes-gp", "R-1"));
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never freed: {answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
