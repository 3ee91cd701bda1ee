//! `sightline ingest FILE...`: one batch, all or nothing.

use crate::DbArg;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sightline_app::{BatchIngest, IngestError};
use sightline_core::interchange::{self, Format, Limits};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// How much of a JSON Lines file is validated and appended at a time.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

#[derive(clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    db: DbArg,
    /// Files to ingest: .json (array), .jsonl or .csv.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let mut formats = Vec::with_capacity(args.files.len());
    let mut total_bytes = 0u64;
    for path in &args.files {
        let name = path.display().to_string();
        let format = Format::from_file_name(&name)
            .with_context(|| format!("{name}: unknown file type (use .json, .jsonl or .csv)"))?;
        total_bytes += std::fs::metadata(path)
            .with_context(|| format!("{name}: cannot read"))?
            .len();
        formats.push(format);
    }
    let store = super::open_store(&args.db)?;
    let started = Instant::now();
    let received_at = chrono::Utc::now();
    let progress = ProgressBar::new(total_bytes).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut batch = BatchIngest::begin(store.as_ref(), received_at, Limits::default())?;
    for (path, format) in args.files.iter().zip(formats) {
        let name = path.display().to_string();
        let mut file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
        match format {
            Format::JsonLines => push_json_lines(&mut batch, &mut file, &progress)
                .with_context(|| format!("{name}: cannot read"))?,
            Format::JsonArray | Format::Csv => {
                let mut input = Vec::new();
                file.read_to_end(&mut input)
                    .with_context(|| format!("{name}: cannot read"))?;
                progress.inc(input.len() as u64);
                let mut results = Vec::new();
                interchange::for_each_record(
                    &input,
                    format,
                    received_at,
                    &Limits::default(),
                    &mut |result| results.push(result),
                );
                batch.push_results(results)?;
            }
        }
        batch.end_file(&name);
    }
    progress.finish_and_clear();
    match batch.finish() {
        Ok(summary) => {
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "stored {} record(s) from {} file(s): {} new, {} duplicate ({} with different content), {} superseded an earlier version; {:.1} s, {:.0} records/s",
                summary.records,
                args.files.len(),
                summary.stored,
                summary.duplicate,
                summary.duplicate_with_different_content,
                summary.superseded,
                seconds,
                summary.records as f64 / seconds.max(1e-9),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(IngestError::Rejected(files)) => {
            for file in &files {
                for problem in &file.rejected.problems {
                    eprintln!("{}: {problem}", file.file);
                }
                let n_shown = file.rejected.problems.len() as u64;
                if file.rejected.n_problems > n_shown {
                    eprintln!(
                        "{}: ... and {} more problem(s)",
                        file.file,
                        file.rejected.n_problems - n_shown
                    );
                }
            }
            let n_problems: u64 = files.iter().map(|file| file.rejected.n_problems).sum();
            eprintln!("rejected: {n_problems} problem(s); nothing was stored");
            Ok(ExitCode::FAILURE)
        }
        Err(IngestError::Store(error)) => {
            Err(error).context("the database failed; nothing was stored")
        }
    }
}

/// Feeds a JSON Lines file to the batch in chunks of whole lines.
fn push_json_lines(
    batch: &mut BatchIngest<'_>,
    file: &mut std::fs::File,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES * 2);
    let mut next_line_number = 1u64;
    let mut read_buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let n_read = file.read(&mut read_buffer)?;
        progress.inc(n_read as u64);
        let at_end = n_read == 0;
        buffer.extend_from_slice(&read_buffer[..n_read]);
        if buffer.len() < CHUNK_BYTES && !at_end {
            continue;
        }
        let split_at = if at_end {
            buffer.len()
        } else {
            match buffer.iter().rposition(|&byte| byte == b'\n') {
                Some(position) => position + 1,
                None => continue,
            }
        };
        let chunk: Vec<u8> = buffer.drain(..split_at).collect();
        let input: &[u8] = if next_line_number == 1 {
            chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&chunk)
        } else {
            &chunk
        };
        batch.push_json_lines(input, next_line_number)?;
        next_line_number += chunk.iter().filter(|&&byte| byte == b'\n').count() as u64;
        if at_end {
            return Ok(());
        }
    }
}
