//! The interchange format, v1.1 (`spec/interchange.md`): JSON array, JSON Lines and the
//! CSV profile, parsed into [`Record`]s with every problem reported at once.
//!
//! Invariant: a batch is all-or-nothing. `parse_batch` returns either every record
//! or the problems; never a part of the batch.

mod csv_profile;
mod json;
mod problem;
mod validate;

pub use problem::{BatchRejected, Position, Problem, ProblemSink};

use crate::record::Record;
use chrono::{DateTime, Utc};
use json::Json;
use serde_json::Value;
use serde_json::value::RawValue;
use validate::RecordValidator;

/// The encodings of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON document whose framing is read from its content (`.json` files,
    /// `application/json` bodies): an array when the first non-blank character
    /// is `[`; one record object, which may span lines (a pretty-printed
    /// record); otherwise JSON Lines. All three are batches the specification
    /// allows ("a JSON array of records or JSON Lines"; "one record is one JSON
    /// object"), and the same bytes get the same answer by file and by HTTP.
    Json,
    /// A JSON array of records.
    JsonArray,
    /// One record per line, blank lines ignored (`.jsonl`).
    JsonLines,
    /// The CSV profile (`.csv`).
    Csv,
}

impl Format {
    /// The format a file name's extension implies.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// Every limit the parser enforces. Units are last in the names.
#[derive(Debug, Clone)]
pub struct Limits {
    pub records_max: usize,
    pub persons_max: usize,
    pub findings_max: usize,
    pub relationships_max: usize,
    pub aliases_max: usize,
    pub address_lines_max: usize,
    /// The specification's limit on `narrative`.
    pub narrative_chars_max: usize,
    /// Names, ids, address lines and other short text.
    pub text_chars_max: usize,
    pub ref_chars_max: usize,
    /// Problems kept in a rejection; the rest are counted.
    pub problems_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            records_max: 2_000_000,
            persons_max: 100,
            findings_max: 100,
            relationships_max: 200,
            aliases_max: 20,
            address_lines_max: 10,
            narrative_chars_max: 20_000,
            text_chars_max: 500,
            ref_chars_max: 64,
            problems_max: 1_000,
        }
    }
}

/// A valid record with the text it arrived as.
#[derive(Debug, Clone)]
pub struct ParsedRecord {
    pub record: Record,
    /// The record's JSON as received (for CSV, the JSON object built from the row).
    pub body: String,
    pub position: Position,
}

/// Parses and validates a whole batch. `received_at` is when Sightline received
/// it: the default `recorded_at`, and the reference for "not in the future".
pub fn parse_batch(
    input: &[u8],
    format: Format,
    received_at: DateTime<Utc>,
    limits: &Limits,
) -> Result<Vec<ParsedRecord>, BatchRejected> {
    let mut sink = ProblemSink::new(limits.problems_max);
    let mut records = Vec::new();
    let mut on_record = |result: Result<ParsedRecord, Vec<Problem>>| match result {
        Ok(record) if sink.is_empty() => records.push(record),
        Ok(_) => {}
        Err(problems) => sink.add_record_problems(problems),
    };
    let n_records = for_each_record(input, format, received_at, limits, &mut on_record);
    check_batch_size(n_records, limits, &mut sink);
    sink.finish()?;
    Ok(records)
}

/// Parses a batch record by record, calling `on_record` with each record or its
/// problems, in batch order. Returns the number of records seen. The caller
/// decides what a problem means for the batch (see [`ProblemSink`]).
pub fn for_each_record(
    input: &[u8],
    format: Format,
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    match format {
        Format::Json => for_each_json_document(input, received_at, limits, on_record),
        Format::JsonLines => for_each_json_line(input, received_at, limits, on_record),
        Format::JsonArray => for_each_array_element(input, received_at, limits, on_record),
        Format::Csv => csv_profile::for_each_row(input, received_at, limits, on_record),
    }
}

/// Batch-level checks once every record has been seen. A batch of no records
/// (an empty JSON array, a JSON Lines file of blank lines, a CSV header alone) is
/// valid: the specification sets no lower bound, and an agency with nothing to
/// send in a period sends an empty file. It stores nothing.
pub fn check_batch_size(n_records: usize, limits: &Limits, sink: &mut ProblemSink) {
    if n_records > limits.records_max {
        sink.add_batch_problem(format!(
            "the batch holds {n_records} records (at most {})",
            limits.records_max
        ));
    }
}

/// Validates one record given as parsed JSON.
pub fn validate_record(
    value: &Value,
    position: Position,
    received_at: DateTime<Utc>,
    limits: &Limits,
) -> Result<Record, Vec<Problem>> {
    RecordValidator::new(position, received_at, limits).validate(&Json::from_value(value))
}

/// Parses a record read back from the log (it was valid when received).
pub fn parse_stored(body: &str, received_at: DateTime<Utc>) -> Result<Record, Vec<Problem>> {
    let value = Json::parse(body).map_err(|error| {
        vec![Problem {
            position: Position::Batch,
            path: String::new(),
            message: format!("stored record is not JSON: {error}"),
        }]
    })?;
    RecordValidator::new(Position::Batch, received_at, &Limits::default()).validate(&value)
}

fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

fn single_problem(position: Position, message: String) -> Vec<Problem> {
    vec![Problem {
        position,
        path: String::new(),
        message,
    }]
}

/// Calls `on_record` for each non-blank line of a JSON Lines batch, in order,
/// starting at line `first_line_number`. Returns the number of records seen.
pub fn for_each_json_line_from(
    input: &[u8],
    first_line_number: u64,
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    let input = if first_line_number == 1 {
        strip_bom(input)
    } else {
        input
    };
    if first_line_number == 1
        && let Some(problems) = json_lines_framing_problem(input)
    {
        on_record(Err(problems));
        return 1;
    }
    let mut n_records = 0;
    for (line_idx, line) in input.split(|&byte| byte == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        n_records += 1;
        let position = Position::Line(first_line_number + line_idx as u64);
        on_record(parse_json_record(line, position, received_at, limits));
    }
    n_records
}

/// A record object that fills the whole input, written over several lines.
struct SpannedRecord {
    /// Offset of its opening brace.
    start: usize,
    first_line: u64,
    last_line: u64,
}

/// The 1-based line of the byte at `offset`.
fn line_at(input: &[u8], offset: usize) -> u64 {
    1 + input[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count() as u64
}

/// The record when the input is one JSON object written over several lines (a
/// pretty-printed record). Cheap when it is not: a first line that ends like a
/// complete object rules it out, and JSON Lines fails to parse as one value
/// right after its first record.
fn record_over_several_lines(input: &[u8]) -> Option<SpannedRecord> {
    let start = input.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let end = input.iter().rposition(|byte| !byte.is_ascii_whitespace())?;
    let value = &input[start..=end];
    let first_line_end = value.iter().position(|&byte| byte == b'\n')?;
    if value[0] != b'{' || value[..first_line_end].trim_ascii_end().ends_with(b"}") {
        return None;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(value).ok()?;
    Some(SpannedRecord {
        start,
        first_line: line_at(input, start),
        last_line: line_at(input, end),
    })
}

/// The one problem of a JSON Lines batch that is a single record written over
/// several lines (a pretty-printed record), instead of a problem per line.
/// `input` is the batch from its first line.
pub fn json_lines_framing_problem(input: &[u8]) -> Option<Vec<Problem>> {
    let record = record_over_several_lines(strip_bom(input))?;
    Some(single_problem(
        Position::Line(record.first_line),
        format!(
            "this record spans lines {} to {}: JSON Lines holds each record on one line \
             (write it on one line, or send it as a .json file or application/json)",
            record.first_line, record.last_line
        ),
    ))
}

/// A [`Format::Json`] document: an array, one record object, or JSON Lines.
fn for_each_json_document(
    input: &[u8],
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    let input = strip_bom(input);
    if input.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return for_each_array_element(input, received_at, limits, on_record);
    }
    match record_over_several_lines(input) {
        Some(record) => {
            on_record(parse_json_record(
                &input[record.start..],
                Position::Line(record.first_line),
                received_at,
                limits,
            ));
            1
        }
        None => for_each_json_line(input, received_at, limits, on_record),
    }
}

fn for_each_json_line(
    input: &[u8],
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    for_each_json_line_from(input, 1, received_at, limits, on_record)
}

/// Parses and validates one record given as JSON text (a line of a JSON Lines
/// batch or an element of an array).
pub fn parse_json_record(
    bytes: &[u8],
    position: Position,
    received_at: DateTime<Utc>,
    limits: &Limits,
) -> Result<ParsedRecord, Vec<Problem>> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        single_problem(
            position,
            format!("is not valid UTF-8 (at byte {})", error.valid_up_to()),
        )
    })?;
    // Validated from a tree that borrows the text (see `json`), not a
    // serde_json::Value that would copy every key and string.
    let value = Json::parse(text)
        .map_err(|error| single_problem(position, format!("is not valid JSON: {error}")))?;
    let repeated = value.repeated_keys();
    if !repeated.is_empty() {
        return Err(repeated
            .into_iter()
            .map(|repeat| Problem {
                position,
                path: repeat.path,
                message: format!(
                    "{:?} is given more than once in one object (each field once: readers disagree on which value counts)",
                    repeat.key
                ),
            })
            .collect());
    }
    let record = RecordValidator::new(position, received_at, limits).validate(&value)?;
    Ok(ParsedRecord {
        record,
        body: text.trim().to_owned(),
        position,
    })
}

fn for_each_array_element(
    input: &[u8],
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    let input = strip_bom(input);
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(error) => {
            on_record(Err(single_problem(
                Position::Line(line_at(input, error.valid_up_to())),
                "is not valid UTF-8".to_owned(),
            )));
            return 1;
        }
    };
    let elements: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(elements) => elements,
        Err(error) => {
            let message = if error.classify() == serde_json::error::Category::Data {
                "a .json batch must be a JSON array of record objects".to_owned()
            } else {
                format!("is not valid JSON: {error}")
            };
            on_record(Err(single_problem(
                Position::Line(error.line() as u64),
                message,
            )));
            return 1;
        }
    };
    for (index, element) in elements.iter().enumerate() {
        on_record(parse_json_record(
            element.get().as_bytes(),
            Position::Index(index as u64),
            received_at,
            limits,
        ));
    }
    elements.len()
}

#[cfg(test)]
mod tests;
