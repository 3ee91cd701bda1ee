//! Intake: validated records into the log, all-or-nothing per batch.

use crate::engine::{AlertsWritten, Engine, EngineError, SharedEngine};
use crate::picture::LoadedRecord;
use crate::relationships::IntakeSource;
use crate::to_micros;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use sightline_core::Record;
use sightline_core::interchange::{
    self, BatchRejected, Limits, ParsedRecord, Position, Problem, ProblemSink,
};
use sightline_store::{AppendOutcome, NewRecord, Store, StoreError, WriteTx};
use std::sync::RwLockWriteGuard;

/// What a stored batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    /// Records in the batch.
    pub records: u64,
    /// Records appended to the log (new records and new versions).
    pub stored: u64,
    /// Records already in the log with the same `(agency, record_id, version)`;
    /// nothing was written for them.
    pub duplicate: u64,
    /// Of the duplicates, those whose content differs from the stored copy. The
    /// stored copy is kept; the sender should send a higher version to correct it.
    pub duplicate_with_different_content: u64,
    /// Of the stored, those that replaced a lower version as the current one.
    pub superseded: u64,
    /// The alerts the batch raised or updated (in the same transaction).
    pub alerts: AlertsWritten,
    /// Open alerts whose recipient, head of service and duty team have no
    /// active account after the batch (checked when it raised or updated
    /// alerts; not logged here: the server warns of them).
    pub alerts_routed_to_nobody: u64,
}

impl IngestSummary {
    fn count(&mut self, outcome: AppendOutcome) {
        self.records += 1;
        match outcome {
            AppendOutcome::Stored { superseded, .. } => {
                self.stored += 1;
                self.superseded += u64::from(superseded);
            }
            AppendOutcome::Duplicate { same_content, .. } => {
                self.duplicate += 1;
                self.duplicate_with_different_content += u64::from(!same_content);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Some files had invalid records; nothing was stored.
    #[error("{} file(s) had invalid records; nothing was stored", .0.len())]
    Rejected(Vec<FileRejected>),
    /// The store failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine failed (linkage or reading the log); nothing was stored.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A validated record's log row, ready to append, with the parsed record (which
/// the engine adds to the picture once it is stored).
#[derive(Debug)]
pub struct PreparedRecord {
    pub position: Position,
    pub row: NewRecord,
    /// `None` in a batch that keeps no records (the log-only baseline of the
    /// intake benchmark): dropped on the thread that parsed it.
    pub record: Option<Record>,
}

/// The content hash of a record body: BLAKE3, which tells whether a re-sent
/// duplicate differs from the stored copy (fast enough to hash every record).
pub fn content_hash(body: &str) -> [u8; 32] {
    *blake3::hash(body.as_bytes()).as_bytes()
}

/// Builds the log row of a validated record (hashing its body).
pub fn prepare(parsed: ParsedRecord, received_at: DateTime<Utc>) -> PreparedRecord {
    let ParsedRecord {
        record,
        body,
        position,
    } = parsed;
    let row = NewRecord {
        agency: record.source.agency.as_str().to_owned(),
        record_id: record.source.record_id.as_str().to_owned(),
        version: record.source.version,
        kind: record.kind.as_str().to_owned(),
        occurred_at: record.occurred_at.to_string(),
        occurred_start_us: to_micros(record.occurred_at.start()),
        recorded_at_us: to_micros(record.recorded_at),
        received_at_us: to_micros(received_at),
        content_hash: content_hash(&body),
        body,
    };
    PreparedRecord {
        position,
        row,
        record: Some(record),
    }
}

/// How the records of one batch are prepared, on any thread (a file reader's
/// too): taken from [`BatchIngest::preparation`], so records are prepared as
/// that batch needs them.
#[derive(Debug, Clone)]
pub struct Preparation {
    received_at: DateTime<Utc>,
    limits: Limits,
    /// Whether the parsed records are kept for the engine. When not, each is
    /// dropped where it was parsed, not on the appending thread (freeing memory
    /// on another thread than the one that allocated it costs more).
    keep_records: bool,
}

impl Preparation {
    /// When the batch started (every record's `received_at`).
    pub fn received_at(&self) -> DateTime<Utc> {
        self.received_at
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Builds the log row of a validated record (see [`prepare`]).
    pub fn record(&self, parsed: ParsedRecord) -> PreparedRecord {
        let mut prepared = prepare(parsed, self.received_at);
        if !self.keep_records {
            prepared.record = None;
        }
        prepared
    }

    /// Parses, validates and prepares a chunk of JSON Lines (whole lines;
    /// `first_line_number` is the 1-based number of its first line) on all
    /// cores.
    pub fn json_lines(
        &self,
        chunk: &[u8],
        first_line_number: u64,
    ) -> Vec<Result<PreparedRecord, Vec<Problem>>> {
        if first_line_number == 1
            && let Some(problems) = interchange::json_lines_framing_problem(chunk)
        {
            return vec![Err(problems)];
        }
        let lines = non_blank_lines(chunk, first_line_number);
        lines
            .par_iter()
            .with_min_len(256)
            .map(|(line_number, line)| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                interchange::parse_json_record(
                    line,
                    Position::Line(*line_number),
                    self.received_at,
                    &self.limits,
                )
                .map(|parsed| self.record(parsed))
            })
            .collect()
    }
}

/// The non-blank lines of a chunk with their 1-based numbers (`\r` still on).
fn non_blank_lines(chunk: &[u8], first_line_number: u64) -> Vec<(u64, &[u8])> {
    let mut lines = Vec::new();
    let mut start = 0;
    // memchr finds the line ends many bytes at a time.
    let ends = memchr::memchr_iter(b'\n', chunk).chain(std::iter::once(chunk.len()));
    for (line_number, end) in (first_line_number..).zip(ends) {
        let line = &chunk[start..end];
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push((line_number, line));
        }
        start = end + 1;
    }
    lines
}

/// Stores an already validated batch in one transaction, with the alerts it
/// raises (see [`crate::engine`]), as an operator's intake (relationships it
/// establishes are not limited).
pub fn ingest_parsed(
    store: &dyn Store,
    engine: &SharedEngine,
    records: Vec<ParsedRecord>,
    received_at: DateTime<Utc>,
) -> Result<IngestSummary, IngestError> {
    ingest_from(store, engine, records, received_at, IntakeSource::Operator)
}

/// [`ingest_parsed`] for a batch an agency's system sent with its token: the
/// relationships it establishes count against the agency's daily limit.
pub fn ingest_from_agency(
    store: &dyn Store,
    engine: &SharedEngine,
    records: Vec<ParsedRecord>,
    received_at: DateTime<Utc>,
) -> Result<IngestSummary, IngestError> {
    ingest_from(store, engine, records, received_at, IntakeSource::Agency)
}

fn ingest_from(
    store: &dyn Store,
    engine: &SharedEngine,
    records: Vec<ParsedRecord>,
    received_at: DateTime<Utc>,
    source: IntakeSource,
) -> Result<IngestSummary, IngestError> {
    let prepared: Vec<PreparedRecord> = records
        .into_par_iter()
        .map(|parsed| prepare(parsed, received_at))
        .collect();
    let mut batch = BatchIngest::begin(store, engine, received_at, Limits::default())?;
    batch.source = source;
    batch.append_valid(prepared)?;
    batch.finish()
}

/// Appends the rows of prepared records in one call, counts the outcomes and
/// keeps the stored records (`parsed`, in the same order) for the engine.
fn append_chunk(
    tx: &mut dyn WriteTx,
    rows: &[NewRecord],
    parsed: Vec<Option<Record>>,
    summary: &mut IngestSummary,
    mut stored: Option<&mut Vec<LoadedRecord>>,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (outcome, record) in tx.append(rows)?.into_iter().zip(parsed) {
        summary.count(outcome);
        if let (AppendOutcome::Stored { seq, .. }, Some(stored), Some(record)) =
            (outcome, stored.as_mut(), record)
        {
            stored.push(LoadedRecord {
                seq,
                record,
                received_at,
            });
        }
    }
    Ok(())
}

/// A batch of one or more files fed in chunks (so a file need not fit in memory),
/// stored in one transaction that commits only if every record of every file was
/// valid.
pub struct BatchIngest<'s> {
    store: &'s dyn Store,
    tx: Box<dyn WriteTx + 's>,
    /// Held from before the transaction begins until it commits, so batches reach
    /// the engine in log order and readers never see uncommitted records.
    /// `None` only for the log-only baseline of the intake benchmark.
    engine: Option<RwLockWriteGuard<'s, Engine>>,
    /// The records stored so far (current or not: the engine decides).
    stored: Vec<LoadedRecord>,
    /// Problems of the file being read.
    problems: ProblemSink,
    /// Files already read that had problems.
    rejected_files: Vec<FileRejected>,
    summary: IngestSummary,
    /// Records of the file being read.
    n_records_in_file: usize,
    received_at: DateTime<Utc>,
    limits: Limits,
    /// Who sent the batch: how the relationships it establishes are limited.
    source: IntakeSource,
}

/// The problems of one file of a batch.
#[derive(Debug)]
pub struct FileRejected {
    pub file: String,
    pub rejected: BatchRejected,
}

impl<'s> BatchIngest<'s> {
    pub fn begin(
        store: &'s dyn Store,
        engine: &'s SharedEngine,
        received_at: DateTime<Utc>,
        limits: Limits,
    ) -> Result<Self, IngestError> {
        let engine = engine.write(store, received_at)?;
        Ok(BatchIngest {
            store,
            tx: store.begin()?,
            engine: Some(engine),
            stored: Vec::new(),
            problems: ProblemSink::new(limits.problems_max),
            rejected_files: Vec::new(),
            summary: IngestSummary::default(),
            n_records_in_file: 0,
            received_at,
            limits,
            source: IntakeSource::Operator,
        })
    }

    /// A batch that only appends to the log, raising no alerts: the baseline
    /// `sightline bench ingest --no-engine` measures the engine against. Not for
    /// real intake, which must raise alerts in the records' transaction.
    pub fn begin_log_only(
        store: &'s dyn Store,
        received_at: DateTime<Utc>,
        limits: Limits,
    ) -> Result<Self, IngestError> {
        Ok(BatchIngest {
            store,
            tx: store.begin()?,
            engine: None,
            stored: Vec::new(),
            problems: ProblemSink::new(limits.problems_max),
            rejected_files: Vec::new(),
            summary: IngestSummary::default(),
            n_records_in_file: 0,
            received_at,
            limits,
            source: IntakeSource::Operator,
        })
    }

    /// How this batch's records are to be prepared (on any thread).
    pub fn preparation(&self) -> Preparation {
        Preparation {
            received_at: self.received_at,
            limits: self.limits.clone(),
            keep_records: self.engine.is_some(),
        }
    }

    fn is_valid_so_far(&self) -> bool {
        self.problems.is_empty() && self.rejected_files.is_empty()
    }

    /// Validates a chunk of JSON Lines on all cores and appends it while the batch
    /// is still valid (see [`Preparation::json_lines`]).
    pub fn push_json_lines(
        &mut self,
        chunk: &[u8],
        first_line_number: u64,
    ) -> Result<(), StoreError> {
        let results = self.preparation().json_lines(chunk, first_line_number);
        self.push_prepared(results)
    }

    /// Adds parsed results (valid records or their problems) in file order.
    pub fn push_results(
        &mut self,
        results: Vec<Result<ParsedRecord, Vec<Problem>>>,
    ) -> Result<(), StoreError> {
        let preparation = self.preparation();
        let prepared = results
            .into_par_iter()
            .map(|result| result.map(|parsed| preparation.record(parsed)))
            .collect();
        self.push_prepared(prepared)
    }

    /// Adds prepared results (valid records or their problems) in file order.
    pub fn push_prepared(
        &mut self,
        results: Vec<Result<PreparedRecord, Vec<Problem>>>,
    ) -> Result<(), StoreError> {
        self.n_records_in_file += results.len();
        // Split straight into what the store and the engine take (each record
        // is moved once on this thread, the appending one).
        let mut rows = Vec::with_capacity(results.len());
        let mut parsed = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(prepared) => {
                    rows.push(prepared.row);
                    parsed.push(prepared.record);
                }
                Err(problems) => self.problems.add_record_problems(problems),
            }
        }
        // Once the batch is known to be invalid nothing more is appended: the
        // transaction will be rolled back, and the rest is only validated.
        if self.is_valid_so_far() {
            self.append_rows(&rows, parsed)?;
        }
        Ok(())
    }

    fn append_valid(&mut self, valid: Vec<PreparedRecord>) -> Result<(), StoreError> {
        let (rows, parsed): (Vec<NewRecord>, Vec<Option<Record>>) = valid
            .into_iter()
            .map(|prepared| (prepared.row, prepared.record))
            .unzip();
        self.append_rows(&rows, parsed)
    }

    fn append_rows(
        &mut self,
        rows: &[NewRecord],
        parsed: Vec<Option<Record>>,
    ) -> Result<(), StoreError> {
        // The log-only baseline keeps nothing for an engine.
        let stored = self.engine.is_some().then_some(&mut self.stored);
        append_chunk(
            self.tx.as_mut(),
            rows,
            parsed,
            &mut self.summary,
            stored,
            self.received_at,
        )
    }

    /// When the batch started (every record's `received_at`).
    pub fn received_at(&self) -> DateTime<Utc> {
        self.received_at
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Closes the file being read (named `file` in problem reports).
    pub fn end_file(&mut self, file: &str) {
        let mut problems = std::mem::replace(
            &mut self.problems,
            ProblemSink::new(self.limits.problems_max),
        );
        interchange::check_batch_size(self.n_records_in_file, &self.limits, &mut problems);
        self.n_records_in_file = 0;
        if let Err(rejected) = problems.finish() {
            self.rejected_files.push(FileRejected {
                file: file.to_owned(),
                rejected,
            });
        }
    }

    /// Commits when every record was valid; otherwise rolls back and returns the
    /// problems of each file that had any.
    ///
    /// Before the commit the engine adds the stored records and writes the alerts
    /// they raise in the same transaction (evaluated at `received_at`). If
    /// anything fails from there on, the engine is marked stale and reloads from
    /// the log before its next use. After the commit, an alert whose recipient
    /// has no active account goes to the head of service
    /// ([`crate::routing::escalate_unreceivable`]).
    pub fn finish(self) -> Result<IngestSummary, IngestError> {
        let BatchIngest {
            store,
            mut tx,
            mut engine,
            stored,
            rejected_files,
            mut summary,
            received_at,
            source,
            ..
        } = self;
        if !rejected_files.is_empty() {
            // Dropping the transaction rolls it back; the engine saw nothing.
            return Err(IngestError::Rejected(rejected_files));
        }
        let Some(engine) = engine.as_mut() else {
            tx.commit()?;
            return Ok(summary);
        };
        let committed = engine
            .on_intake(tx.as_mut(), stored, received_at, source)
            .and_then(|alerts| {
                tx.commit()?;
                Ok(alerts)
            });
        match committed {
            Ok(alerts) => {
                // The batch is in the log: its bodies may leave memory.
                engine.committed();
                summary.alerts = alerts;
                if alerts.raised + alerts.updated > 0 {
                    // An alert nobody can receive goes to the head of service
                    // now, not at the next tick. The batch is committed: a
                    // failure here is left to the ticker.
                    let organisation = engine.config().organisation.clone();
                    match crate::routing::escalate_unreceivable(store, &organisation, received_at) {
                        Ok(done) => summary.alerts_routed_to_nobody = done.routed_to_nobody,
                        Err(error) => {
                            tracing::warn!(%error, "could not check the new alerts' recipients");
                        }
                    }
                }
                Ok(summary)
            }
            Err(error) => {
                engine.mark_stale();
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn received_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2007, 8, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    fn line(record_id: &str, version: i64, dob: &str) -> String {
        format!(
            r#"{{"source": {{"agency": "st-annes-gp", "record_id": "{record_id}", "version": {version}}}, "kind": "health.gp_consultation", "occurred_at": "2007-03-01", "persons": [{{"ref": "c", "role": "subject", "family_name": "Smith", "dob": "{dob}"}}]}}"#
        )
    }

    fn store() -> (tempfile::TempDir, Box<dyn Store>, SharedEngine) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        let store = sightline_store::open(&url).expect("open");
        let engine = SharedEngine::load_default(store.as_ref(), received_at()).expect("engine");
        (dir, store, engine)
    }

    #[test]
    fn lines_are_numbered_and_blank_ones_skipped() {
        for chunk in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\n\n  \t\nb\n\nc",
            b"\n\n x\n",
        ] {
            let expected: Vec<(u64, &[u8])> = chunk
                .split(|&byte| byte == b'\n')
                .enumerate()
                .map(|(line_idx, line)| (7 + line_idx as u64, line))
                .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
                .collect();
            assert_eq!(non_blank_lines(chunk, 7), expected, "{chunk:?}");
        }
        assert_eq!(
            non_blank_lines(b"a\n\nb", 1),
            vec![(1, &b"a"[..]), (3, &b"b"[..])]
        );
    }

    #[test]
    fn chunks_commit_together_or_not_at_all() {
        let (_dir, store, engine) = store();
        let good = [line("A", 1, "2006-03-01"), line("B", 1, "2006-03-01")].join("\n");
        let mut batch =
            BatchIngest::begin(store.as_ref(), &engine, received_at(), Limits::default())
                .expect("begin");
        batch.push_json_lines(good.as_bytes(), 1).expect("push");
        batch
            .push_json_lines(line("C", 1, "2006-13-01").as_bytes(), 3)
            .expect("push");
        batch.end_file("a.jsonl");
        let error = batch.finish().expect_err("invalid");
        let IngestError::Rejected(files) = error else {
            panic!("expected a rejection");
        };
        assert_eq!(files[0].file, "a.jsonl");
        assert_eq!(
            files[0].rejected.problems[0].to_string(),
            "line 3: persons[0].dob: \"2006-13-01\" is not a date (month 13)"
        );
        assert_eq!(store.count_records().expect("count"), 0, "nothing stored");

        let mut batch =
            BatchIngest::begin(store.as_ref(), &engine, received_at(), Limits::default())
                .expect("begin");
        batch.push_json_lines(good.as_bytes(), 1).expect("push");
        batch.end_file("a.jsonl");
        let summary = batch.finish().expect("valid");
        assert_eq!((summary.records, summary.stored), (2, 2));
    }

    #[test]
    fn duplicates_and_versions_are_counted() {
        let (_dir, store, engine) = store();
        let batch = [
            line("A", 1, "2006-03-01"),
            line("A", 2, "2006-03-02"),
            line("A", 2, "2006-03-02"),
        ]
        .join("\n");
        let parsed = interchange::parse_batch(
            batch.as_bytes(),
            interchange::Format::JsonLines,
            received_at(),
            &Limits::default(),
        )
        .expect("valid");
        let summary =
            ingest_parsed(store.as_ref(), &engine, parsed, received_at()).expect("stored");
        assert_eq!(
            summary,
            IngestSummary {
                records: 3,
                stored: 2,
                duplicate: 1,
                duplicate_with_different_content: 0,
                superseded: 1,
                alerts: summary.alerts,
                alerts_routed_to_nobody: summary.alerts_routed_to_nobody,
            }
        );
        let changed = interchange::parse_batch(
            line("A", 1, "2006-04-01").as_bytes(),
            interchange::Format::JsonLines,
            received_at(),
            &Limits::default(),
        )
        .expect("valid");
        let summary =
            ingest_parsed(store.as_ref(), &engine, changed, received_at()).expect("stored");
        assert_eq!(summary.duplicate_with_different_content, 1);
    }
}
