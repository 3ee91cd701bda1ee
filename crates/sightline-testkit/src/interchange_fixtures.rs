//! The interchange conformance fixtures (`tests/fixtures/interchange/`): files
//! written to `spec/interchange.md` (v1.1) as an agency system would write
//! them, each beside a `.expected` file with what Sightline must answer: `ok N`
//! (a valid batch of N records) or every problem, one line each, as
//! `position: path: message`. The parser's tests, `sightline ingest` and
//! `POST /api/v1/records` all read the same files, so the three surfaces cannot
//! drift apart.

use std::path::{Path, PathBuf};

/// One fixture file and the answer it must get.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The file name, such as `spec-errors.jsonl`.
    pub name: String,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// `["ok N"]`, or the problem lines with `(received RECEIVED)` where the
    /// message names the time the batch was received.
    pub expected: Vec<String>,
}

impl Fixture {
    /// Whether the batch is valid (its expected answer is `ok N`).
    pub fn is_valid(&self) -> bool {
        self.expected
            .first()
            .is_some_and(|line| line.starts_with("ok "))
    }
}

/// The fixture directory.
pub fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/interchange")
}

/// Every fixture (`.json`, `.jsonl`, `.csv` with a `.expected` beside it), by name.
pub fn all() -> Vec<Fixture> {
    let mut fixtures: Vec<Fixture> = std::fs::read_dir(directory())
        .expect("the fixture directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|extension| extension.to_str()),
                Some("json" | "jsonl" | "csv")
            )
        })
        .map(|path| {
            let expected_path = path.with_extension("expected");
            let expected = std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|error| panic!("{}: {error}", expected_path.display()))
                .lines()
                .map(str::to_owned)
                .collect();
            Fixture {
                name: path
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned(),
                bytes: std::fs::read(&path).expect("the fixture"),
                path,
                expected,
            }
        })
        .collect();
    fixtures.sort_by(|left, right| left.name.cmp(&right.name));
    assert!(fixtures.len() >= 30, "the fixtures are missing");
    fixtures
}

/// A problem line with the receipt time a message names replaced by
/// `RECEIVED`, so answers given at different times compare equal.
pub fn without_receipt_time(line: &str) -> String {
    const MARKER: &str = "(received ";
    match line.find(MARKER) {
        Some(start) => {
            let rest = &line[start + MARKER.len()..];
            let end = rest.find(')').unwrap_or(rest.len());
            format!("{}RECEIVED{}", &line[..start + MARKER.len()], &rest[end..])
        }
        None => line.to_owned(),
    }
}
