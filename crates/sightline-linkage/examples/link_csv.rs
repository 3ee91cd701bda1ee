//! Dedupe a CSV of person records with the built-in UK settings, for the
//! linkage benchmark (`scripts/bench-linkage`):
//! `cargo run --release -p sightline-linkage --example link_csv -- IN.csv OUT_PREFIX [SETTINGS.toml] [--model]`
//! (built-in `uk-persons` settings unless a settings file is given).
//!
//! The CSV has a header; `record_id` is the key, `person_id` (the truth) is
//! skipped, every other column is passed by its header name. Values hold no
//! commas or quotes (the generator writes none); a malformed row is an error.
//! Writes `OUT_PREFIX.pairs.csv` (`left,right`: record ids of automatic and
//! hard links), `OUT_PREFIX.clusters.csv` (`record_id,cluster`, for the
//! records of persons with more than one record; the others are persons on
//! their own) and, with `--model`, `OUT_PREFIX.model.toml` (the trained
//! model with its term-frequency tables: 18 MB at 1M records), and prints
//! one line with the seconds from opening the file to persons found
//! (read, train, predict, cluster), the candidate pairs, and, when the file
//! has a `person_id` column, blocking recall: the share of true pairs that
//! blocking made candidates (computed after the timed part).
//!
//! The file is read in blocks of whole lines, each shared by its rows: a
//! row is a line and its field bounds, handed to the index borrowed (no
//! string per value or key).

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sightline_linkage::{LinkKind, LinkScope, LinkageIndex, Mention, Settings};

/// The allocator of the `sightline` binary (many small values are made on
/// several threads and freed on another).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bytes read at a time (cut back to the last whole line).
const BLOCK_BYTES: usize = 1 << 22;
/// Most fields a row may have.
const FIELDS_MAX: usize = 32;
/// Lines written per parallel task.
const LINES_PER_TASK: usize = 1 << 15;

/// One CSV row: its line (in a block shared by the block's rows) and the end
/// of each field.
struct Row {
    block: Arc<str>,
    start: u32,
    ends: [u16; FIELDS_MAX],
    /// Field of each settings column, shared by every row.
    columns: Arc<[Option<usize>]>,
    key_at: usize,
}

impl Row {
    fn field(&self, at: usize) -> &str {
        let from = match at.checked_sub(1) {
            None => 0,
            Some(before) => usize::from(self.ends.get(before).copied().unwrap_or(0)) + 1,
        };
        let to = usize::from(self.ends.get(at).copied().unwrap_or(0));
        let start = self.start as usize;
        self.block.get(start + from..start + to).unwrap_or("")
    }
}

impl Mention for Row {
    fn key(&self) -> &str {
        self.field(self.key_at)
    }

    fn dataset(&self) -> u16 {
        0
    }

    fn value(&self, column: usize, _name: &str, _hint: &mut usize) -> Option<&str> {
        let at = self.columns.get(column).copied().flatten()?;
        Some(self.field(at))
    }
}

/// Blocks of whole lines from a reader.
struct Blocks<R> {
    reader: R,
    carry: Vec<u8>,
    done: bool,
}

impl<R: std::io::Read> Blocks<R> {
    fn next_block(&mut self) -> std::io::Result<Option<Arc<str>>> {
        while !self.done {
            let had = self.carry.len();
            self.carry.resize(had + BLOCK_BYTES, 0);
            let read = self.reader.read(&mut self.carry[had..])?;
            self.carry.truncate(had + read);
            if read == 0 {
                self.done = true;
                break;
            }
            if let Some(last) = self.carry.iter().rposition(|b| *b == b'\n') {
                let rest = self.carry.split_off(last + 1);
                let block = std::mem::replace(&mut self.carry, rest);
                return text(block).map(Some);
            }
        }
        if self.carry.is_empty() {
            return Ok(None);
        }
        text(std::mem::take(&mut self.carry)).map(Some)
    }
}

fn text(bytes: Vec<u8>) -> std::io::Result<Arc<str>> {
    String::from_utf8(bytes)
        .map(Arc::from)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}

/// The field ends of `line`, when it has exactly `n_fields` fields.
fn field_ends(line: &str, n_fields: usize) -> Option<[u16; FIELDS_MAX]> {
    let mut ends = [0u16; FIELDS_MAX];
    let mut n = 0;
    for (at, byte) in line.bytes().enumerate() {
        if byte == b',' {
            *ends.get_mut(n)? = u16::try_from(at).ok()?;
            n += 1;
        }
    }
    *ends.get_mut(n)? = u16::try_from(line.len()).ok()?;
    (n + 1 == n_fields).then_some(ends)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: link_csv IN.csv OUT_PREFIX [SETTINGS.toml] [--model]";
    let all_args: Vec<String> = std::env::args().skip(1).collect();
    let write_model = all_args.iter().any(|arg| arg == "--model");
    let mut args = all_args.into_iter().filter(|arg| arg != "--model");
    let input = args.next().ok_or(usage)?;
    let prefix = args.next().ok_or(usage)?;
    let settings = match args.next() {
        Some(path) => Settings::from_toml(&std::fs::read_to_string(path)?)?,
        None => Settings::uk_persons()?,
    };
    let started = Instant::now();
    let mut blocks = Blocks {
        reader: std::fs::File::open(&input)?,
        carry: Vec::new(),
        done: false,
    };
    let first = blocks.next_block()?.ok_or("empty CSV")?;
    let header_end = first.find('\n').unwrap_or(first.len());
    let header: Vec<String> = first
        .get(..header_end)
        .unwrap_or("")
        .trim_end_matches('\r')
        .split(',')
        .map(str::to_owned)
        .collect();
    if header.len() > FIELDS_MAX {
        return Err(format!("more than {FIELDS_MAX} columns").into());
    }
    let key_at = header
        .iter()
        .position(|h| h == "record_id")
        .ok_or("no record_id column")?;
    let truth_at = header.iter().position(|h| h == "person_id");
    let columns: Arc<[Option<usize>]> = settings
        .columns
        .iter()
        .map(|column| {
            header
                .iter()
                .position(|h| *h == column.name)
                .filter(|at| *at != key_at && Some(*at) != truth_at)
        })
        .collect();
    // Rows stream into the index a block at a time, parsed on a thread of
    // their own while the index prepares the previous block; the first bad
    // row stops the stream and is reported after it.
    let n_fields = header.len();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Row>>(2);
    let read_rows = move || -> Option<String> {
        let mut row_number = 1usize;
        let mut block = Some((first, header_end + 1));
        loop {
            let (text, offset) = match block.take() {
                Some(current) => current,
                None => match blocks.next_block() {
                    Ok(Some(next)) => (next, 0),
                    Ok(None) => return None,
                    Err(err) => return Some(format!("after row {row_number}: {err}")),
                },
            };
            let mut parsed = Vec::new();
            let mut start = offset;
            let mut bad_row = None;
            while start < text.len() {
                let end = text
                    .get(start..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(text.len(), |at| start + at);
                let line = text.get(start..end).unwrap_or("").trim_end_matches('\r');
                row_number += 1;
                let (Some(ends), Ok(at)) = (field_ends(line, n_fields), u32::try_from(start))
                else {
                    bad_row = Some(format!("row {row_number} is malformed"));
                    break;
                };
                parsed.push(Row {
                    block: Arc::clone(&text),
                    start: at,
                    ends,
                    columns: Arc::clone(&columns),
                    key_at,
                });
                start = end + 1;
            }
            if !parsed.is_empty() && sender.send(parsed).is_err() {
                return None;
            }
            if bad_row.is_some() {
                return bad_row;
            }
        }
    };
    let (linked, bad_row) = std::thread::scope(|scope| {
        let reader = scope.spawn(read_rows);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let linked = LinkageIndex::train_and_link(
            settings,
            LinkScope::Dedupe,
            receiver.into_iter().flatten(),
            &[],
            &mut rng,
        );
        let bad_row = reader
            .join()
            .unwrap_or_else(|_| Some("the reader failed".to_string()));
        (linked, bad_row)
    });
    if let Some(bad) = bad_row {
        return Err(bad.into());
    }
    let (index, report) = linked?;
    let link_seconds = started.elapsed().as_secs_f64();

    // Outputs and blocking recall after the timed part, side by side.
    let (written, blocking_recall) = rayon::join(
        || write_outputs(&index, &prefix, write_model),
        || blocking_recall(&index, &input, truth_at),
    );
    written?;
    let blocking_recall = match blocking_recall? {
        Some(recall) => format!("{recall:.4}"),
        None => "n/a".to_string(),
    };
    println!(
        "read+train+predict+cluster {link_seconds:.2} candidates {} blocking_recall {blocking_recall} em {:?}",
        index.candidate_pairs(),
        report.em_sessions
    );
    std::io::stdout().flush()?;
    // The process ends here: leave the index's memory to the operating system
    // instead of freeing a million records one allocation at a time.
    std::mem::forget(index);
    Ok(())
}

/// Write the pairs, the clusters of persons with more than one record, and
/// (when asked) the model, each on its own thread, lines formatted in parallel.
fn write_outputs(index: &LinkageIndex, prefix: &str, write_model: bool) -> Result<(), String> {
    let links: Vec<(u32, u32)> = index
        .links()
        .iter()
        .filter(|l| l.kind != LinkKind::Review)
        .map(|l| (l.left, l.right))
        .collect();
    let persons = index.persons();
    let mut shared = vec![false; persons.len()];
    for (record, person) in persons.iter().enumerate() {
        if *person as usize != record
            && let Some(flag) = shared.get_mut(*person as usize)
        {
            *flag = true;
        }
    }
    let clustered: Vec<(u32, u32)> = persons
        .iter()
        .enumerate()
        .filter(|(record, person)| **person as usize != *record || shared[*record])
        .map(|(record, person)| (u32::try_from(record).unwrap_or(u32::MAX), *person))
        .collect();
    let ((pairs, clusters), model) = rayon::join(
        || {
            rayon::join(
                || {
                    write_lines(
                        &format!("{prefix}.pairs.csv"),
                        "left,right",
                        &links,
                        |(left, right), text| {
                            text.push_str(index.key_of(*left));
                            text.push(',');
                            text.push_str(index.key_of(*right));
                        },
                    )
                },
                || {
                    write_lines(
                        &format!("{prefix}.clusters.csv"),
                        "record_id,cluster",
                        &clustered,
                        |(record, person), text| {
                            text.push_str(index.key_of(*record));
                            text.push(',');
                            text.push_str(&person.to_string());
                        },
                    )
                },
            )
        },
        || {
            if !write_model {
                return Ok(());
            }
            index
                .model()
                .to_toml()
                .map_err(|err| err.to_string())
                .and_then(|toml| {
                    std::fs::write(format!("{prefix}.model.toml"), toml)
                        .map_err(|err| err.to_string())
                })
        },
    );
    pairs.and(clusters).and(model)
}

/// Write `header` and one line per item.
fn write_lines<T: Sync>(
    path: &str,
    header: &str,
    items: &[T],
    line: impl Fn(&T, &mut String) + Sync,
) -> Result<(), String> {
    let parts: Vec<String> = items
        .par_chunks(LINES_PER_TASK)
        .map(|chunk| {
            let mut text = String::with_capacity(chunk.len() * 16);
            for item in chunk {
                line(item, &mut text);
                text.push('\n');
            }
            text
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    writeln!(out, "{header}").map_err(|e| e.to_string())?;
    for part in parts {
        out.write_all(part.as_bytes()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Blocking recall: the share of true pairs (records with one `person_id`)
/// that blocking made candidates; `None` without a truth column. The file
/// is read again for the truth; record `i` is the file's row `i`.
fn blocking_recall(
    index: &LinkageIndex,
    input: &str,
    truth_at: Option<usize>,
) -> Result<Option<f64>, String> {
    let Some(truth_at) = truth_at else {
        return Ok(None);
    };
    let mut text = String::new();
    std::fs::File::open(input)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    let body = text.split_once('\n').map_or("", |(_, body)| body);
    let lines: Vec<&str> = body.par_lines().collect();
    // (truth, record), sorted: each person's records are one run.
    let mut truths: Vec<(&str, u32)> = lines
        .par_iter()
        .enumerate()
        .filter_map(|(record, line)| {
            let truth = line.split(',').nth(truth_at)?;
            Some((truth, u32::try_from(record).ok()?))
        })
        .collect();
    truths.par_sort_unstable();
    let mut runs: Vec<&[(&str, u32)]> = Vec::new();
    let mut start = 0;
    for at in 1..=truths.len() {
        if truths.get(at).map(|t| t.0) != truths.get(start).map(|t| t.0) {
            if at - start > 1 {
                runs.extend(truths.get(start..at));
            }
            start = at;
        }
    }
    let (true_pairs, blocked) = runs
        .par_iter()
        .map(|records| {
            let (mut pairs, mut blocked) = (0usize, 0usize);
            for (at, (_, right)) in records.iter().enumerate() {
                for (_, left) in records.get(..at).unwrap_or_default() {
                    pairs += 1;
                    blocked += usize::from(index.blocked_together(*left, *right));
                }
            }
            (pairs, blocked)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    Ok((true_pairs > 0).then(|| blocked as f64 / true_pairs as f64))
}
