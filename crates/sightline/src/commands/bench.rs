//! `sightline bench ingest`: intake speed against the physical reference;
//! `bench alert-latency`: from acknowledgement to readable; `bench my-work`
//! (in `bench_my_work.rs`): My work over HTTP at scale.

use anyhow::Context;
use clap::Subcommand;
use sightline_store::ReferenceRow;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Generate a synthetic region, ingest it into a fresh database through the
    /// real intake path (validation, one transaction, durable commit) three
    /// times: log only, with the engine but no rules (linkage), and with the
    /// engine and the default pack (linkage, rules, alerts); then insert the
    /// same rows as a plain bulk insert with a unique key into another fresh
    /// database of the same kind (the physical reference). Prints the times,
    /// CPU seconds and rates.
    Ingest {
        /// Children in the synthetic region (about 17 records per child).
        #[arg(long, default_value_t = 60_000)]
        children: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory (region files and SQLite databases); replaced.
        #[arg(long, default_value = "target/bench-ingest")]
        work_dir: PathBuf,
        /// Database for Sightline's intake; a fresh SQLite file by default. A
        /// PostgreSQL URL must name an empty database.
        #[arg(long)]
        db: Option<String>,
        /// Database for the reference insert; a fresh SQLite file by default. A
        /// PostgreSQL URL must name an empty database.
        #[arg(long)]
        reference_db: Option<String>,
        /// Database for the log-only intake (no engine: no linkage, no rules); a
        /// fresh SQLite file by default. A PostgreSQL URL must name an empty database.
        #[arg(long)]
        log_only_db: Option<String>,
        /// Skip the physical reference insert.
        #[arg(long)]
        no_reference: bool,
        /// Skip the two ingests through the engine (log only against the
        /// reference).
        #[arg(long)]
        no_engine: bool,
    },
    /// Start the server in-process on a fresh database (optionally preloaded
    /// with a synthetic region through the engine), then POST records one at a
    /// time that each raise an alert, and after each acknowledgement poll
    /// `GET /api/v1/alerts?child=...` until the alert is there. Prints p50/p99
    /// of the POST and of acknowledgement-to-readable.
    AlertLatency {
        /// Records to POST (one alert each).
        #[arg(long, default_value_t = 300)]
        records: u64,
        /// Children of the synthetic region preloaded before measuring.
        #[arg(long, default_value_t = 2_000)]
        children: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory (region files and the SQLite database); replaced.
        #[arg(long, default_value = "target/bench-alert-latency")]
        work_dir: PathBuf,
        /// Database; a fresh SQLite file by default. A PostgreSQL URL must name
        /// an empty database.
        #[arg(long)]
        db: Option<String>,
    },
    /// Ingest one local authority's children (each with a referral decided for
    /// assessment; all but `--alerts` of them assessed in time) through the
    /// engine, start the server in-process, sign a duty worker of that
    /// authority in, and GET My work over HTTP `--requests` times (the first
    /// page and a filtered one in turn). Prints p50/p95/p99 of each. The team
    /// holds `--alerts` open alerts; the agency `--children` children.
    MyWork {
        /// Children of the agency.
        #[arg(long, default_value_t = 100_000)]
        children: u64,
        /// Open alerts of the duty team (children without a completed assessment).
        #[arg(long, default_value_t = 1_000)]
        alerts: u64,
        /// Requests to time (after five to warm up).
        #[arg(long, default_value_t = 400)]
        requests: u64,
        /// Working directory (the fixture and the SQLite database); replaced.
        #[arg(long, default_value = "target/bench-my-work")]
        work_dir: PathBuf,
        /// Database; a fresh SQLite file by default. A PostgreSQL URL must name
        /// an empty database.
        #[arg(long)]
        db: Option<String>,
        /// Only write the fixture (JSON Lines) and print its files.
        #[arg(long)]
        write_only: bool,
    },
    /// Load test of the real server: start `sightline serve` on a database
    /// (`--db` of one made from a synthetic region, or `--children N` to make
    /// one) as a child process, create accounts and agency tokens with the
    /// CLI, add one child with many records through the API, then drive
    /// signed-in users (My work, alerts, Find a child, child page, chronology,
    /// their API equivalents) and agency feeds (batches of new records about
    /// existing children) for `--seconds`. Prints per route count, errors and
    /// p50/p95/p99/max, the server's resident memory and followers' lag; exits
    /// 1 when any request failed (unless --allow-errors). See
    /// docs/benchmarks.md, "Load test".
    Serve(ServeArgs),
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// An existing database (made by `bench ingest` or `ingest` from the
    /// region in --region); with --children, the empty database to make.
    #[arg(long)]
    db: Option<String>,
    /// Make the database: a synthetic region of this many children, ingested
    /// through the engine (into --db, or a SQLite file in --work-dir).
    #[arg(long)]
    children: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory (the server's log; with --children, the region and
    /// the SQLite database, replaced).
    #[arg(long, default_value = "target/bench-serve")]
    work_dir: PathBuf,
    /// The region the database was made from (its records are the feeds'
    /// templates and its children the ones looked for); default
    /// WORK_DIR/region, as `bench ingest` leaves it.
    #[arg(long)]
    region: Option<PathBuf>,
    /// The organisation file; default REGION/organisation.toml.
    #[arg(long)]
    org: Option<PathBuf>,
    /// A server already running on --db: drive it instead of starting one (its
    /// memory is then not read).
    #[arg(long)]
    url: Option<String>,
    /// How long to drive the server.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Signed-in users at once.
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Agency feeds, each with its own token.
    #[arg(long, default_value_t = 10)]
    feeds: usize,
    /// Records in each feed's batch.
    #[arg(long, default_value_t = 100)]
    batch_records: usize,
    /// Each feed posts one batch this often (ms).
    #[arg(long, default_value_t = 2_000)]
    feed_interval_ms: u64,
    /// A user's pause between two requests (ms).
    #[arg(long, default_value_t = 500)]
    think_ms: u64,
    /// Records added about one child before the load (its child page and
    /// chronology are reported apart).
    #[arg(long, default_value_t = 1_000)]
    big_child_records: usize,
    /// Feeds that send a token the server never issued (every batch refused:
    /// checks that failures are counted).
    #[arg(long, default_value_t = 0)]
    invalid_token_feeds: usize,
    /// A read-only follower's base URL: its /readyz lag is sampled every
    /// second (repeatable).
    #[arg(long = "follower")]
    followers: Vec<String>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit 0 even when requests failed.
    #[arg(long)]
    allow_errors: bool,
    /// SIGHTLINE_LOG of the server started (default warn).
    #[arg(long)]
    server_log: Option<String>,
}

pub fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ingest {
            children,
            seed,
            work_dir,
            db,
            reference_db,
            log_only_db,
            no_reference,
            no_engine,
        } => ingest(IngestBench {
            children,
            seed,
            work_dir,
            db,
            reference_db,
            log_only_db,
            no_reference,
            no_engine,
        }),
        BenchCommand::AlertLatency {
            records,
            children,
            seed,
            work_dir,
            db,
        } => alert_latency(records, children, seed, &work_dir, db),
        BenchCommand::MyWork {
            children,
            alerts,
            requests,
            work_dir,
            db,
            write_only,
        } => super::bench_my_work::run(super::bench_my_work::MyWorkBench {
            children,
            alerts,
            requests,
            work_dir,
            db,
            write_only,
        }),
        BenchCommand::Serve(args) => super::bench_serve::run(super::bench_serve::ServeBench {
            db: args.db,
            children: args.children,
            seed: args.seed,
            work_dir: args.work_dir,
            region: args.region,
            org: args.org,
            url: args.url,
            seconds: args.seconds,
            users: args.users,
            feeds: args.feeds,
            batch_records: args.batch_records,
            feed_interval_ms: args.feed_interval_ms,
            think_ms: args.think_ms,
            big_child_records: args.big_child_records,
            invalid_token_feeds: args.invalid_token_feeds,
            followers: args.followers,
            json: args.json,
            allow_errors: args.allow_errors,
            server_log: args.server_log,
        }),
    }
}

struct IngestBench {
    children: u64,
    seed: u64,
    work_dir: PathBuf,
    db: Option<String>,
    reference_db: Option<String>,
    log_only_db: Option<String>,
    no_reference: bool,
    no_engine: bool,
}

fn ingest(bench: IngestBench) -> anyhow::Result<ExitCode> {
    let IngestBench {
        children,
        seed,
        work_dir,
        db,
        reference_db,
        log_only_db,
        no_reference,
        no_engine,
    } = bench;
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir)
            .with_context(|| format!("{}: cannot remove", work_dir.display()))?;
    }
    let region_dir = work_dir.join("region");
    eoutln!("generating a region of {children} children ...");
    let (summary, files) = super::synth::generate_region(children, seed, &region_dir)?;
    let bytes: u64 = files
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|metadata| metadata.len())
        .sum();

    // The same intake without the engine (log only), then with it: the
    // difference is what linkage and rule evaluation in the transaction cost.
    let log_only_url = log_only_db
        .unwrap_or_else(|| format!("sqlite://{}", work_dir.join("log-only.db").display()));
    let store =
        sightline_store::open(&log_only_url).context("could not open the log-only database")?;
    let backend = store.backend();
    eoutln!(
        "ingesting {} records ({} MB) into {backend} without the engine ...",
        summary.records,
        bytes / 1_000_000
    );
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let (log_only, commit) = super::ingest::ingest_files_timed(store.as_ref(), None, &files)?
        .map_err(|n_problems| {
            anyhow::anyhow!("the region failed validation with {n_problems} problem(s)")
        })?;
    let log_only_seconds = started.elapsed().as_secs_f64();
    let log_only_cpu_seconds = cpu_since(cpu_started);
    // The records are acknowledged (the WAL is synced); closing the store waits
    // for the WAL checkpoint that runs after the acknowledgement.
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    drop(store);
    let close_seconds = started.elapsed().as_secs_f64();
    let close_cpu_seconds = cpu_since(cpu_started);

    if !no_engine {
        engine_runs(
            &work_dir,
            db,
            &files,
            &log_only,
            log_only_seconds,
            log_only_cpu_seconds,
        )?;
    }
    let ingest_seconds = log_only_seconds;
    let ingest_cpu_seconds = log_only_cpu_seconds;
    let ingest = log_only;
    let ingest_rate = ingest.records as f64 / ingest_seconds;
    // CPU time per record tells the work apart from the machine's load: wall
    // time on a shared machine depends on what else runs.
    let per_record_us = |cpu_seconds: Option<f64>, n: u64| {
        cpu_seconds.map_or_else(
            || "n/a".to_owned(),
            |seconds| format!("{:.1}", seconds * 1e6 / n.max(1) as f64),
        )
    };
    if no_reference {
        outln!(
            "| backend | records | Sightline intake s (of which commit s) | Sightline records/s | Sightline CPU µs/record | checkpoint after acknowledgement s (CPU s) |"
        );
        outln!("|---|---|---|---|---|---|");
        outln!(
            "| {backend} | {} | {ingest_seconds:.1} ({:.2}) | {ingest_rate:.0} | {} | {close_seconds:.1} ({}) |",
            ingest.records,
            commit.as_secs_f64(),
            per_record_us(ingest_cpu_seconds, ingest.records),
            format_cpu(close_cpu_seconds),
        );
        return Ok(ExitCode::SUCCESS);
    }

    eoutln!("loading the same rows for the reference insert ...");
    let bodies = read_bodies(&files)?;
    let keys: Vec<(String, String, i64)> = bodies
        .iter()
        .map(|body| key_of(body))
        .collect::<anyhow::Result<_>>()?;
    let rows: Vec<ReferenceRow<'_>> = keys
        .iter()
        .zip(&bodies)
        .map(|((agency, record_id, version), body)| ReferenceRow {
            agency,
            record_id,
            version: *version,
            body,
        })
        .collect();
    let reference_url = reference_db
        .unwrap_or_else(|| format!("sqlite://{}", work_dir.join("reference.db").display()));
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let n_reference = sightline_store::reference_bulk_insert(&reference_url, &rows)?;
    let reference_seconds = started.elapsed().as_secs_f64();
    let reference_cpu_seconds = cpu_since(cpu_started);
    let reference_rate = n_reference as f64 / reference_seconds;
    outln!(
        "| backend | records | Sightline intake s (of which commit s) | Sightline records/s | reference rows/s | reference / Sightline | Sightline CPU µs/record | reference CPU µs/row | checkpoint after acknowledgement s (CPU s) |"
    );
    outln!("|---|---|---|---|---|---|---|---|---|");
    outln!(
        "| {backend} | {} | {ingest_seconds:.1} ({:.2}) | {ingest_rate:.0} | {reference_rate:.0} | {:.2} | {} | {} | {close_seconds:.1} ({}) |",
        ingest.records,
        commit.as_secs_f64(),
        reference_rate / ingest_rate,
        per_record_us(ingest_cpu_seconds, ingest.records),
        per_record_us(reference_cpu_seconds, n_reference),
        format_cpu(close_cpu_seconds),
    );
    Ok(ExitCode::SUCCESS)
}

/// Ingests the region twice more through the engine, with rules off (linkage
/// only) and with the default pack, into fresh databases, and prints both
/// against the log-only ingest.
fn engine_runs(
    work_dir: &std::path::Path,
    db: Option<String>,
    files: &[PathBuf],
    log_only: &sightline_app::IngestSummary,
    log_only_seconds: f64,
    log_only_cpu_seconds: Option<f64>,
) -> anyhow::Result<()> {
    // The engine with an empty rule pack (linkage, persons' facts, no rule
    // evaluation), then with the default pack (rules and alerts): their
    // difference is what rule evaluation adds (issue #5: at most 20%).
    let linkage_url = format!("sqlite://{}", work_dir.join("linkage-only.db").display());
    let store =
        sightline_store::open(&linkage_url).context("could not open the linkage-only database")?;
    eoutln!("ingesting the same records with the engine, rules off (linkage only) ...");
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let mut no_rules = sightline_app::engine::default_pack()?;
    no_rules.rules.clear();
    let engine = sightline_app::SharedEngine::new(
        sightline_app::engine::Engine::load(
            store.as_ref(),
            no_rules,
            sightline_app::engine::EngineConfig::default(),
            chrono::Utc::now(),
        )
        .context("could not load the picture from the log")?,
    );
    super::ingest::ingest_files(store.as_ref(), Some(&engine), files)?.map_err(|n_problems| {
        anyhow::anyhow!("the region failed validation with {n_problems} problem(s)")
    })?;
    let linkage_seconds = started.elapsed().as_secs_f64();
    let linkage_cpu_seconds = cpu_since(cpu_started);
    drop(engine);
    drop(store);

    let db_url =
        db.unwrap_or_else(|| format!("sqlite://{}", work_dir.join("sightline.db").display()));
    let store: std::sync::Arc<dyn sightline_store::Store> = std::sync::Arc::from(
        sightline_store::open(&db_url).context("could not open the benchmark database")?,
    );
    let backend = store.backend();
    eoutln!(
        "ingesting the same records with the engine (linkage, rules, alerts; at most {} record bodies kept, as serve does by default) ...",
        sightline_app::bodies::RECORD_CACHE_DEFAULT
    );
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let engine = super::load_engine_with(
        store.as_ref(),
        sightline_app::EngineConfig {
            record_cache: Some(sightline_app::bodies::BodyCacheConfig {
                store: store.clone(),
                records_max: sightline_app::bodies::RECORD_CACHE_DEFAULT,
            }),
            ..sightline_app::EngineConfig::default()
        },
    )?;
    let ingest = super::ingest::ingest_files(store.as_ref(), Some(&engine), files)?.map_err(
        |n_problems| anyhow::anyhow!("the region failed validation with {n_problems} problem(s)"),
    )?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    let ingest_cpu_seconds = cpu_since(cpu_started);
    // Where the engine's memory goes, against what the process holds.
    let report = engine.read(|engine| engine.memory_report())?;
    outln!(
        "Engine memory after intake ({} records), estimated from capacities:",
        ingest.records
    );
    outln!("{report}");
    outln!("{}", resident_memory_line());
    drop(engine);
    drop(store);
    let share = |part: Option<f64>, whole: Option<f64>| match (part, whole) {
        (Some(part), Some(whole)) if whole > 0.0 => {
            format!("{:+.0}%", (part / whole - 1.0) * 100.0)
        }
        _ => "n/a".to_owned(),
    };
    outln!(
        "| backend | records | log only s (CPU s) | log + linkage s (CPU s) | log + linkage + rules + alerts s (CPU s) | rules over linkage (wall, CPU) | engine over log (wall, CPU) | alerts raised |"
    );
    outln!("|---|---|---|---|---|---|---|---|");
    outln!(
        "| {backend} | {} | {log_only_seconds:.1} ({}) | {linkage_seconds:.1} ({}) | {ingest_seconds:.1} ({}) | {}, {} | {}, {} | {} |",
        log_only.records,
        format_cpu(log_only_cpu_seconds),
        format_cpu(linkage_cpu_seconds),
        format_cpu(ingest_cpu_seconds),
        share(Some(ingest_seconds), Some(linkage_seconds)),
        share(ingest_cpu_seconds, linkage_cpu_seconds),
        share(Some(ingest_seconds), Some(log_only_seconds)),
        share(ingest_cpu_seconds, log_only_cpu_seconds),
        ingest.alerts.raised
    );
    Ok(())
}

/// CPU time (user and system, all threads) this process has used so far, from
/// `/proc/self/stat` (Linux; `None` elsewhere). Its unit is USER_HZ, 100 per
/// second on every Linux the kernel ABI documents.
fn process_cpu_seconds() -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime field 14 and stime field 15.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// The process's resident memory now and at its peak, in MB, from
/// `/proc/self/status` (`VmRSS`, `VmHWM`; Linux, else `None`).
pub(crate) fn resident_memory_mb() -> Option<(f64, f64)> {
    memory_mb_of("/proc/self/status")
}

/// Resident memory now and at its peak, in MB, of the process whose
/// `/proc/PID/status` is at `status_path` (`VmRSS`, `VmHWM`; `None` when the
/// file or a field cannot be read).
pub(crate) fn memory_mb_of(status_path: &str) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kilobytes: f64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kilobytes * 1024.0 / 1e6)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// "resident memory: 812 MB now, 1,204 MB at the peak" (or "n/a").
pub(crate) fn resident_memory_line() -> String {
    match resident_memory_mb() {
        Some((now, peak)) => {
            format!("resident memory (VmRSS): {now:.0} MB now, {peak:.0} MB at the peak (VmHWM)")
        }
        None => "resident memory: n/a".to_owned(),
    }
}

/// CPU seconds to one decimal, or "n/a".
fn format_cpu(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "n/a".to_owned(), |seconds| format!("{seconds:.1}"))
}

fn cpu_since(started: Option<f64>) -> Option<f64> {
    Some(process_cpu_seconds()? - started?)
}

fn read_bodies(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut bodies = Vec::new();
    for file in files {
        let reader = std::io::BufReader::new(std::fs::File::open(file)?);
        for line in reader.lines() {
            let line = line?;
            if !line.trim().is_empty() {
                bodies.push(line);
            }
        }
    }
    Ok(bodies)
}

fn key_of(body: &str) -> anyhow::Result<(String, String, i64)> {
    #[derive(serde::Deserialize)]
    struct Source {
        agency: String,
        record_id: String,
        version: Option<i64>,
    }
    #[derive(serde::Deserialize)]
    struct Keyed {
        source: Source,
    }
    let keyed: Keyed = serde_json::from_str(body).context("a region record has no source")?;
    Ok((
        keyed.source.agency,
        keyed.source.record_id,
        keyed.source.version.unwrap_or(1),
    ))
}

/// The `q` quantile (0..=1) of sorted milliseconds.
pub(super) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(idx).copied().unwrap_or(f64::NAN)
}

fn alert_latency(
    n_records: u64,
    children: u64,
    seed: u64,
    work_dir: &std::path::Path,
    db: Option<String>,
) -> anyhow::Result<ExitCode> {
    if work_dir.exists() {
        std::fs::remove_dir_all(work_dir)
            .with_context(|| format!("{}: cannot remove", work_dir.display()))?;
    }
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("{}: cannot create", work_dir.display()))?;
    let db_url =
        db.unwrap_or_else(|| format!("sqlite://{}", work_dir.join("sightline.db").display()));
    let store: std::sync::Arc<dyn sightline_store::Store> = std::sync::Arc::from(
        sightline_store::open(&db_url).context("could not open the benchmark database")?,
    );
    let engine = super::load_engine(store.as_ref())?;
    if children > 0 {
        let region_dir = work_dir.join("region");
        eoutln!("preloading a region of {children} children through the engine ...");
        let (_, files) = super::synth::generate_region(children, seed, &region_dir)?;
        super::ingest::ingest_files(store.as_ref(), Some(&engine), &files)?.map_err(
            |n_problems| {
                anyhow::anyhow!("the region failed validation with {n_problems} problem(s)")
            },
        )?;
    }
    let agency =
        sightline_core::AgencyId::parse("bench-gp").map_err(|error| anyhow::anyhow!("{error}"))?;
    let token = sightline_app::create_token(store.as_ref(), &agency, chrono::Utc::now())?.secret;
    let session = bench_session(store.as_ref(), &agency)?;
    let state = sightline_server::AppState::new(
        store.clone(),
        sightline_server::ServerConfig::default(),
        engine,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let (post_ms, readable_ms) = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(sightline_server::serve(listener, state, std::future::pending()));
        let mut client = super::http::Connection::open(addr).await?;
        let mut post_ms = Vec::new();
        let mut readable_ms = Vec::new();
        for record_idx in 0..n_records {
            let record_id = format!("LAT-{record_idx}");
            let record = serde_json::json!({
                "source": {"agency": "bench-gp", "record_id": record_id},
                "kind": "health.gp_consultation",
                "occurred_at": "2026-01-05",
                "recorded_at": "2026-01-05T10:00:00Z",
                "persons": [{"ref": "c", "role": "subject", "source_person_id": record_id, "given_names": format!("Bench{record_idx}"), "family_name": "Latency", "dob": "2025-12-01"}],
                "findings": [{"code": "injury", "type": "bruise", "site": "face", "explanation": "none"}]
            });
            let child = sightline_app::picture::person_id_for(&format!("bench-gp/{record_id}/c"));
            let started = Instant::now();
            let (status, _) = client
                .send(
                    hyper::Method::POST,
                    "/api/v1/records",
                    &token,
                    Some(&serde_json::json!([record])),
                )
                .await?;
            anyhow::ensure!(status.is_success(), "POST answered {status}");
            let acknowledged = Instant::now();
            post_ms.push((acknowledged - started).as_secs_f64() * 1_000.0);
            loop {
                let (status, body) = client
                    .send(
                        hyper::Method::GET,
                        &format!("/api/v1/alerts?child={child}"),
                        &session,
                        None,
                    )
                    .await?;
                anyhow::ensure!(status.is_success(), "GET alerts answered {status}");
                let page: serde_json::Value = serde_json::from_slice(&body)?;
                if page["alerts"].as_array().is_some_and(|alerts| !alerts.is_empty()) {
                    break;
                }
                anyhow::ensure!(
                    acknowledged.elapsed() < std::time::Duration::from_secs(10),
                    "the alert of {record_id} was not readable within 10 s"
                );
            }
            readable_ms.push(acknowledged.elapsed().as_secs_f64() * 1_000.0);
        }
        Ok::<_, anyhow::Error>((post_ms, readable_ms))
    })?;
    let mut post_ms = post_ms;
    let mut readable_ms = readable_ms;
    post_ms.sort_by(f64::total_cmp);
    readable_ms.sort_by(f64::total_cmp);
    outln!(
        "| records | preloaded children | POST p50 ms | POST p99 ms | acknowledged to readable p50 ms | p99 ms |"
    );
    outln!("|---|---|---|---|---|---|");
    outln!(
        "| {n_records} | {children} | {:.1} | {:.1} | {:.1} | {:.1} |",
        quantile(&post_ms, 0.5),
        quantile(&post_ms, 0.99),
        quantile(&readable_ms, 0.5),
        quantile(&readable_ms, 0.99)
    );
    Ok(ExitCode::SUCCESS)
}

/// A practitioner of `agency` signed in: the session token the bench reads with.
fn bench_session(
    store: &dyn sightline_store::Store,
    agency: &sightline_core::AgencyId,
) -> anyhow::Result<String> {
    bench_session_in(store, agency, "duty")
}

/// A practitioner of `agency` in `team` signed in: the session token.
pub(super) fn bench_session_in(
    store: &dyn sightline_store::Store,
    agency: &sightline_core::AgencyId,
    team: &str,
) -> anyhow::Result<String> {
    use sightline_app::accounts::{LoginOutcome, NewAccount, Password, Team, Username};
    let password = sightline_app::accounts::random_token();
    let now = chrono::Utc::now();
    sightline_app::accounts::create_account(
        store,
        &NewAccount {
            username: Username::parse("bench.reader")?,
            password: Password::parse(&password)?,
            role: sightline_access::Role::Practitioner,
            agency: agency.clone(),
            team: Some(Team::parse(team)?),
        },
        &sightline_app::audit::AuditActor::cli(),
        now,
    )?;
    match sightline_app::accounts::login(
        store,
        "bench.reader",
        &password,
        None,
        now,
        &sightline_web_session_policy(),
    )? {
        LoginOutcome::SignedIn { secret, .. } => Ok(secret.as_str().to_owned()),
        LoginOutcome::Refused { .. } => anyhow::bail!("the bench account could not sign in"),
    }
}

fn sightline_web_session_policy() -> sightline_app::accounts::SessionPolicy {
    sightline_server::ServerConfig::default().web.session
}
