//! The CSV profile: one record per row about one subject person. Each row is
//! turned into the equivalent JSON record and validated by the same code as JSON
//! input; problems are then named by row and column.

use super::json::Json;
use super::problem::{Position, Problem};
use super::validate::describe;
use super::{Limits, ParsedRecord, validate_record};
use crate::vocab::{did_you_mean, quoted_list};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The profile's columns, in the specification's order.
pub const COLUMNS: &[&str] = &[
    "agency",
    "record_id",
    "version",
    "kind",
    "occurred_at",
    "recorded_at",
    "given_names",
    "family_name",
    "dob",
    "sex",
    "nhs_number",
    "source_person_id",
    "address",
    "postcode",
    "findings",
    "narrative",
];

/// Columns every CSV batch must have, because their fields are required.
const REQUIRED_COLUMNS: &[&str] = &["agency", "record_id", "kind", "occurred_at"];

/// The ref and role given to the row's one person.
const SUBJECT_REF: &str = "subject";

pub(super) fn for_each_row(
    input: &[u8],
    received_at: DateTime<Utc>,
    limits: &Limits,
    on_record: &mut dyn FnMut(Result<ParsedRecord, Vec<Problem>>),
) -> usize {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = reader.byte_records().peekable();
    let header = match rows.next() {
        Some(Ok(header)) => header,
        Some(Err(error)) => {
            on_record(Err(row_problem(
                1,
                "",
                format!("is not valid CSV: {error}"),
            )));
            return 1;
        }
        // The profile requires a header row: a file without one (empty, or
        // blank lines only) is not a CSV batch, unlike a header alone.
        None => {
            on_record(Err(row_problem(
                1,
                "",
                "the header row is missing (a CSV batch starts with a row naming its columns)"
                    .to_owned(),
            )));
            return 1;
        }
    };
    if has_unpaired_quote(input, &header, rows.peek()) {
        on_record(Err(unpaired_quote_problem(1)));
        return 1;
    }
    let columns = match read_header(&header) {
        Ok(columns) => columns,
        Err(problems) => {
            on_record(Err(problems));
            return 1;
        }
    };
    let mut n_records = 0;
    let mut row_number = 1;
    while let Some(row) = rows.next() {
        row_number += 1;
        if let Ok(row) = &row
            && has_unpaired_quote(input, row, rows.peek())
        {
            n_records += 1;
            on_record(Err(unpaired_quote_problem(row_number)));
            continue;
        }
        // A row of empty cells (`,,,,`, as spreadsheets export rows that were
        // once formatted) carries nothing: like a blank line, it is not a
        // record. It still counts as a row, so row numbers match the sheet.
        if let Ok(row) = &row
            && row.iter().all(|cell| cell.trim_ascii().is_empty())
        {
            continue;
        }
        n_records += 1;
        let result = match row {
            Ok(row) => parse_row(&row, &columns, row_number, received_at, limits),
            Err(error) => Err(row_problem(
                row_number,
                "",
                format!("is not valid CSV: {error}"),
            )),
        };
        on_record(result);
    }
    n_records
}

/// Whether a row's text holds an odd number of `"`. RFC 4180 quotes come in
/// pairs (a quoted cell opens and closes; a `"` inside one is doubled), but
/// the reader is lenient: it keeps a stray `"` in an unquoted cell as text and
/// extends a quoted cell that is never closed to the end of the file,
/// swallowing every later row into one cell.
fn has_unpaired_quote(
    input: &[u8],
    row: &csv::ByteRecord,
    next: Option<&Result<csv::ByteRecord, csv::Error>>,
) -> bool {
    let start = row
        .position()
        .map_or(0, |position| position.byte() as usize);
    let end = next
        .and_then(|next| next.as_ref().ok())
        .and_then(csv::ByteRecord::position)
        .map_or(input.len(), |position| position.byte() as usize);
    input
        .get(start..end)
        .is_some_and(|text| text.iter().filter(|&&byte| byte == b'"').count() % 2 == 1)
}

fn unpaired_quote_problem(row: u64) -> Vec<Problem> {
    row_problem(
        row,
        "",
        "has an unpaired \" (a quoted cell must be closed before the row ends; a \" inside a cell is written \"\" in a quoted cell)".to_owned(),
    )
}

fn row_problem(row: u64, column: &str, message: String) -> Vec<Problem> {
    vec![Problem {
        position: Position::Row(row),
        path: column.to_owned(),
        message,
    }]
}

fn read_header(header: &csv::ByteRecord) -> Result<Vec<&'static str>, Vec<Problem>> {
    // A header that is not UTF-8 (a UTF-16 or Latin-1 export) would otherwise be
    // reported as a column of garbled names each.
    if header
        .iter()
        .any(|field| std::str::from_utf8(field).is_err())
    {
        return Err(row_problem(
            1,
            "",
            "is not valid UTF-8 (the CSV profile is UTF-8 only; save the file as UTF-8)".to_owned(),
        ));
    }
    // One column whose name holds a semicolon or tab: another separator (as
    // spreadsheets in many locales export), not one unknown column.
    if let [only] = header.iter().collect::<Vec<_>>().as_slice()
        && let Some(separator) = [b';', b'\t', b'|']
            .into_iter()
            .find(|byte| only.contains(byte))
    {
        return Err(row_problem(
            1,
            "",
            format!(
                "the columns are separated by {:?}; the CSV profile separates them with commas",
                char::from(separator)
            ),
        ));
    }
    let mut problems = Vec::new();
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    for (column_idx, field) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(field).trim().to_owned();
        if name.is_empty() {
            problems.push(Problem {
                position: Position::Row(1),
                path: String::new(),
                message: format!("column {} has no name (a trailing comma?)", column_idx + 1),
            });
            columns.push("");
            continue;
        }
        match COLUMNS.iter().find(|column| **column == name) {
            Some(column) if columns.contains(column) => {
                problems.push(Problem {
                    position: Position::Row(1),
                    path: name.clone(),
                    message: "column appears twice".to_owned(),
                });
            }
            Some(column) => columns.push(column),
            None => {
                let message = match did_you_mean(&name, COLUMNS) {
                    Some(suggestion) => format!("unknown column (did you mean \"{suggestion}\"?)"),
                    None => format!("unknown column (known columns: {})", quoted_list(COLUMNS)),
                };
                problems.push(Problem {
                    position: Position::Row(1),
                    path: name,
                    message,
                });
                columns.push("");
            }
        }
    }
    for required in REQUIRED_COLUMNS {
        if !columns.contains(required) {
            problems.push(Problem {
                position: Position::Row(1),
                path: (*required).to_owned(),
                message: "required column is missing".to_owned(),
            });
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

fn parse_row(
    row: &csv::ByteRecord,
    columns: &[&'static str],
    row_number: u64,
    received_at: DateTime<Utc>,
    limits: &Limits,
) -> Result<ParsedRecord, Vec<Problem>> {
    let position = Position::Row(row_number);
    if row.len() != columns.len() {
        return Err(row_problem(
            row_number,
            "",
            format!("has {} fields; the header has {}", row.len(), columns.len()),
        ));
    }
    let mut cells: Map<String, Value> = Map::new();
    let mut problems = Vec::new();
    for (column, cell) in columns.iter().zip(row.iter()) {
        match std::str::from_utf8(cell) {
            Ok(text) if !text.trim().is_empty() => {
                cells.insert((*column).to_owned(), Value::String(text.trim().to_owned()));
            }
            Ok(_) => {}
            Err(_) => problems.push(Problem {
                position,
                path: (*column).to_owned(),
                message: "is not valid UTF-8".to_owned(),
            }),
        }
    }
    let record_json = match build_record(&cells, position) {
        Ok(record_json) if problems.is_empty() => record_json,
        Ok(_) => return Err(problems),
        Err(mut more) => {
            problems.append(&mut more);
            return Err(problems);
        }
    };
    match validate_record(&record_json, position, received_at, limits) {
        Ok(record) => Ok(ParsedRecord {
            record,
            body: record_json.to_string(),
            position,
        }),
        Err(problems) => Err(problems
            .into_iter()
            .map(|problem| to_column(problem, &record_json))
            .collect()),
    }
}

/// The JSON record a row stands for.
fn build_record(cells: &Map<String, Value>, position: Position) -> Result<Value, Vec<Problem>> {
    let cell = |name: &str| cells.get(name).cloned();
    let mut problems = Vec::new();
    let mut source = Map::new();
    for (column, field) in [("agency", "agency"), ("record_id", "record_id")] {
        if let Some(value) = cell(column) {
            source.insert(field.to_owned(), value);
        }
    }
    if let Some(Value::String(version)) = cell("version") {
        match version.parse::<u64>() {
            Ok(number) => {
                source.insert("version".to_owned(), json!(number));
            }
            Err(_) => problems.push(Problem {
                position,
                path: "version".to_owned(),
                message: format!(
                    "must be a positive whole number, found {}",
                    describe(&Json::String(version.as_str().into()))
                ),
            }),
        }
    }
    let mut person = Map::new();
    person.insert("ref".to_owned(), json!(SUBJECT_REF));
    person.insert("role".to_owned(), json!("subject"));
    for column in [
        "given_names",
        "family_name",
        "dob",
        "sex",
        "nhs_number",
        "source_person_id",
    ] {
        if let Some(value) = cell(column) {
            person.insert(column.to_owned(), value);
        }
    }
    let mut address = Map::new();
    if let Some(line) = cell("address") {
        address.insert("lines".to_owned(), json!([line]));
    }
    if let Some(postcode) = cell("postcode") {
        address.insert("postcode".to_owned(), postcode);
    }
    if !address.is_empty() {
        person.insert("address".to_owned(), Value::Object(address));
    }
    let mut record = Map::new();
    record.insert("source".to_owned(), Value::Object(source));
    for column in ["kind", "occurred_at", "recorded_at", "narrative"] {
        if let Some(value) = cell(column) {
            record.insert(column.to_owned(), value);
        }
    }
    record.insert("persons".to_owned(), json!([Value::Object(person)]));
    if let Some(Value::String(findings)) = cell("findings") {
        match parse_findings(&findings) {
            Ok(findings) => {
                record.insert("findings".to_owned(), Value::Array(findings));
            }
            Err(message) => problems.push(Problem {
                position,
                path: "findings".to_owned(),
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(record))
    } else {
        Err(problems)
    }
}

/// `injury:type=bruise,site=face;domestic_abuse:risk=high` as JSON findings.
fn parse_findings(text: &str) -> Result<Vec<Value>, String> {
    let mut findings = Vec::new();
    for item in text
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (code, details) = match item.split_once(':') {
            Some((code, details)) => (code.trim(), Some(details)),
            None => (item, None),
        };
        let mut finding = Map::new();
        finding.insert("code".to_owned(), json!(code));
        for pair in details
            .into_iter()
            .flat_map(|details| details.split(','))
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("\"{pair}\" in finding \"{code}\" is not key=value"));
            };
            let value = value.trim();
            let typed = match value {
                "true" => json!(true),
                "false" => json!(false),
                _ => value
                    .parse::<i64>()
                    .map(|number| json!(number))
                    .unwrap_or_else(|_| json!(value)),
            };
            finding.insert(key.trim().to_owned(), typed);
        }
        findings.push(Value::Object(finding));
    }
    Ok(findings)
}

/// Renames a JSON field path to the CSV column it came from.
fn to_column(mut problem: Problem, record_json: &Value) -> Problem {
    let path = problem.path.as_str();
    let column = if let Some(field) = path.strip_prefix("source.") {
        field.to_owned()
    } else if path == "persons[0].address.postcode" {
        "postcode".to_owned()
    } else if path.starts_with("persons[0].address") {
        "address".to_owned()
    } else if let Some(field) = path.strip_prefix("persons[0].") {
        field.to_owned()
    } else if path == "persons[0]" {
        problem.message = format!(
            "{} (columns given_names, family_name, nhs_number, source_person_id are all empty)",
            problem.message
        );
        String::new()
    } else if let Some(rest) = path.strip_prefix("findings[") {
        let index_text: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let index: usize = index_text.parse().unwrap_or(0);
        let code = record_json
            .pointer(&format!("/findings/{index}/code"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let detail = rest[index_text.len()..]
            .trim_start_matches(']')
            .trim_start_matches('.');
        problem.message = if detail.is_empty() || detail == "code" {
            format!("finding {} ({code}): {}", index + 1, problem.message)
        } else {
            format!(
                "finding {} ({code}) {detail}: {}",
                index + 1,
                problem.message
            )
        };
        "findings".to_owned()
    } else {
        path.to_owned()
    };
    problem.path = column;
    problem
}
