//! `sightline ingest FILE...`: one batch, all or nothing.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sightline_app::{BatchIngest, IngestError, IngestSummary, Preparation, PreparedRecord};
use sightline_core::interchange::{self, Format, Limits, Problem};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

/// How much of a JSON Lines file is validated and appended at a time.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

#[derive(clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    db: DbArg,
    /// Routes the batch's alerts by this organisation (as the server does).
    #[command(flatten)]
    org: OrgArg,
    /// Files to ingest: .json (array), .jsonl or .csv interchange batches, or
    /// .fhir.json FHIR R4 bundles (which need --agency).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The agency that sent the .fhir.json bundles (a FHIR bundle does not
    /// name its Sightline agency; over HTTP the token says it).
    #[arg(long)]
    agency: Option<String>,
}

/// Who sent the FHIR bundles of an ingest.
pub struct FhirSender {
    pub agency: sightline_core::AgencyId,
    /// Its health service in the organisation (what an ambulatory encounter is).
    pub service: Option<sightline_core::org::HealthService>,
}

/// How one file is read.
#[derive(Clone, Copy)]
enum FileKind {
    Interchange(Format),
    /// A FHIR R4 bundle (`.fhir.json`).
    Fhir,
}

impl FileKind {
    fn of(name: &str) -> Option<FileKind> {
        if name.to_ascii_lowercase().ends_with(".fhir.json") {
            return Some(FileKind::Fhir);
        }
        Format::from_file_name(name).map(FileKind::Interchange)
    }
}

/// Limits for files ingested by an operator: no cap on the number of records (files
/// are read in chunks, so memory stays bounded); every other limit as the parser's.
pub fn file_limits() -> Limits {
    Limits {
        records_max: usize::MAX,
        ..Limits::default()
    }
}

/// Validates and stores files as one batch, raising alerts through `engine` in
/// the same transaction (`None`: the log-only baseline of `sightline bench
/// ingest`); prints the problems on rejection.
pub fn ingest_files(
    store: &dyn sightline_store::Store,
    engine: Option<&sightline_app::SharedEngine>,
    files: &[PathBuf],
) -> anyhow::Result<Result<IngestSummary, u64>> {
    Ok(ingest_files_timed(store, engine, files)?.map(|(summary, _)| summary))
}

/// [`ingest_files`], also returning how long the final step took (the engine's
/// work on the stored records, if any, and the durable commit): `sightline bench
/// ingest` reports it apart.
pub fn ingest_files_timed(
    store: &dyn sightline_store::Store,
    engine: Option<&sightline_app::SharedEngine>,
    files: &[PathBuf],
) -> anyhow::Result<Result<(IngestSummary, std::time::Duration), u64>> {
    ingest_files_from(store, engine, files, None)
}

/// [`ingest_files_timed`] with the sender of any `.fhir.json` bundles.
pub fn ingest_files_from(
    store: &dyn sightline_store::Store,
    engine: Option<&sightline_app::SharedEngine>,
    files: &[PathBuf],
    fhir: Option<&FhirSender>,
) -> anyhow::Result<Result<(IngestSummary, std::time::Duration), u64>> {
    let mut formats = Vec::with_capacity(files.len());
    let mut total_bytes = 0u64;
    for path in files {
        let name = path.display().to_string();
        let format = FileKind::of(&name).with_context(|| {
            format!("{name}: unknown file type (use .json, .jsonl, .csv or .fhir.json)")
        })?;
        if matches!(format, FileKind::Fhir) && fhir.is_none() {
            anyhow::bail!(
                "{name}: a FHIR bundle needs --agency (the agency that sent it); nothing was stored"
            );
        }
        total_bytes += std::fs::metadata(path)
            .with_context(|| format!("{name}: cannot read"))?
            .len();
        formats.push(format);
    }
    let received_at = chrono::Utc::now();
    let progress = ProgressBar::new(total_bytes).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut batch = match engine {
        Some(engine) => BatchIngest::begin(store, engine, received_at, file_limits())?,
        None => BatchIngest::begin_log_only(store, received_at, file_limits())?,
    };
    // Reading and validating (on all cores) runs ahead of appending, a couple of
    // chunks at most, so the database and the parser work at the same time and
    // memory stays bounded.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Step>(2);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let preparation = batch.preparation();
        let producer =
            scope.spawn(move || read_files(files, formats, fhir, &preparation, &sender, &progress));
        for step in receiver {
            match step {
                Step::Chunk(results) => batch.push_prepared(results)?,
                Step::EndFile(name) => batch.end_file(&name),
            }
        }
        producer
            .join()
            .map_err(|_| anyhow::anyhow!("the file reader panicked"))??;
        Ok(())
    })?;
    let finish_started = Instant::now();
    match batch.finish() {
        Ok(summary) => Ok(Ok((summary, finish_started.elapsed()))),
        Err(IngestError::Rejected(files)) => {
            for file in &files {
                for problem in &file.rejected.problems {
                    eoutln!("{}: {problem}", file.file);
                }
                let n_shown = file.rejected.problems.len() as u64;
                if file.rejected.n_problems > n_shown {
                    eoutln!(
                        "{}: ... and {} more problem(s)",
                        file.file,
                        file.rejected.n_problems - n_shown
                    );
                }
            }
            Ok(Err(files.iter().map(|file| file.rejected.n_problems).sum()))
        }
        Err(IngestError::Store(error)) => {
            Err(error).context("the database failed; nothing was stored")
        }
        Err(IngestError::Engine(error)) => {
            Err(error).context("linking or evaluating the batch failed; nothing was stored")
        }
    }
}

pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.db)?;
    let started = Instant::now();
    let engine = super::load_engine_with(
        store.as_ref(),
        sightline_app::EngineConfig {
            organisation: super::load_organisation(&args.org)?,
            ..sightline_app::EngineConfig::default()
        },
    )?;
    let fhir = match &args.agency {
        Some(agency) => {
            let agency = sightline_core::AgencyId::parse(agency)
                .map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
            let service = engine
                .read(|engine| {
                    engine
                        .organisation()
                        .profile(&agency, std::iter::empty())
                        .service
                })
                .context("could not read the organisation")?;
            Some(FhirSender { agency, service })
        }
        None => None,
    };
    match ingest_files_from(store.as_ref(), Some(&engine), &args.files, fhir.as_ref())?
        .map(|(summary, _)| summary)
    {
        Ok(summary) => {
            let seconds = started.elapsed().as_secs_f64();
            outln!(
                "stored {} record(s) from {} file(s): {} new, {} duplicate ({} with different content), {} superseded an earlier version; {} alert(s) raised, {} updated; {:.1} s, {:.0} records/s",
                summary.records,
                args.files.len(),
                summary.stored,
                summary.duplicate,
                summary.duplicate_with_different_content,
                summary.superseded,
                summary.alerts.raised,
                summary.alerts.updated,
                seconds,
                summary.records as f64 / seconds.max(1e-9),
            );
            if summary.alerts_routed_to_nobody > 0 {
                outln!(
                    "note: {} open alert(s) have nobody with an active account to receive them yet: create the accounts (sightline user create); a server warns of them until then",
                    summary.alerts_routed_to_nobody
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(n_problems) => {
            eoutln!("rejected: {n_problems} problem(s); nothing was stored");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What the file reader hands to the appender.
enum Step {
    Chunk(Vec<Result<PreparedRecord, Vec<Problem>>>),
    EndFile(String),
}

/// Reads and validates every file in order, sending prepared chunks.
fn read_files(
    files: &[PathBuf],
    formats: Vec<FileKind>,
    fhir: Option<&FhirSender>,
    preparation: &Preparation,
    sender: &SyncSender<Step>,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    for (path, format) in files.iter().zip(formats) {
        let name = path.display().to_string();
        let mut file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
        match format {
            FileKind::Fhir => {
                let mut input = Vec::new();
                file.read_to_end(&mut input)
                    .with_context(|| format!("{name}: cannot read"))?;
                progress.inc(input.len() as u64);
                let Some(sender_agency) = fhir else {
                    anyhow::bail!("{name}: a FHIR bundle needs --agency");
                };
                let context = sightline_fhir::Context {
                    agency: &sender_agency.agency,
                    service: sender_agency.service,
                    received_at: preparation.received_at(),
                    limits: preparation.limits(),
                };
                let results = match sightline_fhir::map_bundle(&input, &context) {
                    Ok(mapped) => mapped
                        .records
                        .into_iter()
                        .map(|parsed| Ok(preparation.record(parsed)))
                        .collect(),
                    Err(problems) => problems
                        .iter()
                        .map(|problem| Err(vec![problem.to_problem()]))
                        .collect(),
                };
                if sender.send(Step::Chunk(results)).is_err() {
                    return Ok(());
                }
            }
            FileKind::Interchange(Format::JsonLines) => {
                let mut send = |chunk: &[u8], first_line_number: u64| {
                    let prepared = preparation.json_lines(chunk, first_line_number);
                    // A closed channel means the appender stopped on an error it reports.
                    sender.send(Step::Chunk(prepared)).is_ok()
                };
                read_json_line_chunks(&mut file, CHUNK_BYTES, progress, &mut send)
                    .with_context(|| format!("{name}: cannot read"))?;
            }
            FileKind::Interchange(format) => {
                let mut input = Vec::new();
                file.read_to_end(&mut input)
                    .with_context(|| format!("{name}: cannot read"))?;
                progress.inc(input.len() as u64);
                let mut results = Vec::new();
                interchange::for_each_record(
                    &input,
                    format,
                    preparation.received_at(),
                    preparation.limits(),
                    &mut |result| results.push(result.map(|parsed| preparation.record(parsed))),
                );
                if sender.send(Step::Chunk(results)).is_err() {
                    return Ok(());
                }
            }
        }
        if sender.send(Step::EndFile(name)).is_err() {
            return Ok(());
        }
    }
    progress.finish_and_clear();
    Ok(())
}

/// Reads a JSON Lines file in chunks of whole lines, calling `send` with each
/// chunk and the number of its first line; stops early when `send` says so. One
/// buffer is reused: the file is read straight into it and only the partial last
/// line is carried over to the next chunk.
fn read_json_line_chunks(
    file: &mut std::fs::File,
    chunk_bytes: usize,
    progress: &ProgressBar,
    send: &mut dyn FnMut(&[u8], u64) -> bool,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(chunk_bytes);
    let mut carried: Vec<u8> = Vec::new();
    let mut next_line_number = 1u64;
    loop {
        buffer.clear();
        buffer.extend_from_slice(&carried);
        carried.clear();
        // A chunk's worth, or as much again when a line is longer than a chunk.
        let wanted = chunk_bytes.saturating_sub(buffer.len()).max(buffer.len()) as u64;
        let n_read = (&mut *file).take(wanted).read_to_end(&mut buffer)?;
        progress.inc(n_read as u64);
        let at_end = n_read == 0;
        if !at_end {
            match memchr::memrchr(b'\n', &buffer) {
                Some(position) => {
                    carried.extend_from_slice(&buffer[position + 1..]);
                    buffer.truncate(position + 1);
                }
                // A line longer than a chunk: read on until it ends.
                None => {
                    std::mem::swap(&mut carried, &mut buffer);
                    continue;
                }
            }
        }
        let input: &[u8] = if next_line_number == 1 {
            buffer.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buffer)
        } else {
            &buffer
        };
        if !input.is_empty() && !send(input, next_line_number) {
            return Ok(());
        }
        next_line_number += memchr::memchr_iter(b'\n', &buffer).count() as u64;
        if at_end {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    /// The chunks of `content` read `chunk_bytes` at a time, with their first
    /// line numbers.
    fn chunks_of(content: &[u8], chunk_bytes: usize) -> Vec<(u64, Vec<u8>)> {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(content).expect("write");
        file.rewind().expect("rewind");
        let mut chunks = Vec::new();
        read_json_line_chunks(
            &mut file,
            chunk_bytes,
            &ProgressBar::hidden(),
            &mut |chunk, first_line_number| {
                chunks.push((first_line_number, chunk.to_vec()));
                true
            },
        )
        .expect("read");
        chunks
    }

    #[test]
    fn chunks_are_whole_lines_numbered_from_one() {
        let lines: Vec<String> = (0..200)
            .map(|index| "x".repeat(index % 37) + &format!("{index}"))
            .collect();
        let content = format!("\u{feff}{}\nlast-without-newline", lines.join("\n"));
        for chunk_bytes in [1, 7, 64, 1000, 1 << 20] {
            let chunks = chunks_of(content.as_bytes(), chunk_bytes);
            let joined: Vec<u8> = chunks.iter().flat_map(|(_, chunk)| chunk.clone()).collect();
            assert_eq!(joined, content.as_bytes()[3..], "chunk_bytes {chunk_bytes}");
            let mut expected_line = 1;
            for (index, (first_line_number, chunk)) in chunks.iter().enumerate() {
                assert_eq!(
                    *first_line_number, expected_line,
                    "chunk_bytes {chunk_bytes}"
                );
                if index + 1 < chunks.len() {
                    assert_eq!(chunk.last(), Some(&b'\n'), "chunk_bytes {chunk_bytes}");
                }
                expected_line += chunk.iter().filter(|&&byte| byte == b'\n').count() as u64;
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_read_whole() {
        let long = "y".repeat(5000);
        let content = format!("a\n{long}\nb\n");
        let chunks = chunks_of(content.as_bytes(), 16);
        assert!(
            chunks.iter().any(
                |(line, chunk)| *line == 2 && chunk.starts_with(format!("{long}\n").as_bytes())
            )
        );
        assert!(chunks.iter().all(|(_, chunk)| !chunk.is_empty()));
    }
}
