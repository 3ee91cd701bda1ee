//! `sightline`: the one binary. A thin shell: argument parsing, logging, files and
//! terminals; everything else is in the library crates.

/// `println!` through the terminal-safe printer: record data (names,
/// addresses, narratives) can hold escape sequences and bidirectional
/// controls, so everything the CLI prints goes through
/// `sightline_core::terminal::safe` (issue #15, finding 12).
macro_rules! outln {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", sightline_core::terminal::safe(&format!($($arg)*)))
    };
}

/// `eprintln!` through the terminal-safe printer.
macro_rules! eoutln {
    () => {
        eprintln!()
    };
    ($($arg:tt)*) => {
        eprintln!("{}", sightline_core::terminal::safe(&format!($($arg)*)))
    };
}

mod commands;

/// mimalloc: intake allocates many small values on several threads and frees them
/// on another; glibc malloc spent about a third of intake time on that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Sightline: multi-agency safeguarding. One picture of each child from every agency's records.
#[derive(Parser)]
#[command(name = "sightline", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Where the database is: `sqlite://path.db` (embedded, created on first use) or
/// `postgres://user@host/db`.
#[derive(clap::Args, Clone)]
pub struct DbArg {
    #[arg(long, env = "SIGHTLINE_DB", default_value = "sqlite://sightline.db")]
    db: String,
}

/// The organisation file: agencies, teams, duty teams, safeguarding leads
/// (docs/operators.md, "The organisation").
#[derive(clap::Args, Clone)]
pub struct OrgArg {
    #[arg(long, env = "SIGHTLINE_ORG")]
    org: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Build a synthetic region into a fresh embedded database and serve it: the
    /// first thing to run.
    Demo(commands::demo::DemoArgs),
    /// Write a synthetic region (interchange files per agency, and ground truth).
    Synth(commands::synth::SynthArgs),
    /// Serve the HTTP API.
    Serve(Box<commands::serve::ServeArgs>),
    /// Validate and store interchange files (.json, .jsonl, .csv) and FHIR R4
    /// bundles (.fhir.json, with --agency) as one batch: all of them or, on any
    /// invalid record, none.
    Ingest(commands::ingest::IngestArgs),
    /// List stored records (no personal data unless --json).
    Records(commands::records::RecordsArgs),
    /// The persons the log's records mention, linked across agencies.
    Persons(commands::persons::PersonsArgs),
    /// Linkage of the log: rebuild persons (--rebuild), the clerical review
    /// queue, and people's match / non-match decisions.
    Link(commands::link::LinkArgs),
    /// Link the FEBRL data sets and score the result against their truth.
    LinkEval(commands::persons::LinkEvalArgs),
    /// The stored alerts (raised at intake); `--as-of` or `--rules` recompute them.
    Alerts(commands::alerts::AlertsArgs),
    /// Replay the log in logical time up to a date: the alerts as they would have
    /// been raised then.
    Replay(commands::alerts::ReplayArgs),
    /// One pass of the server's ticker: re-evaluate time-based rules that fell
    /// due and escalate overdue alerts (for cron and tests).
    Escalate(commands::alerts::EscalateArgs),
    /// Score linkage and alerts against a synthetic region's ground truth.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// The organisation file: check it (and which agencies in the log it does
    /// not name).
    Org {
        #[command(subcommand)]
        command: commands::org::OrgCommand,
    },
    /// Rule packs.
    Rules {
        #[command(subcommand)]
        command: commands::alerts::RulesCommand,
    },
    /// Write an online backup of the database (safe while the server runs):
    /// SQLite through its backup API, PostgreSQL through pg_dump.
    Backup(commands::backup::BackupArgs),
    /// Restore a backup from `sightline backup` into a new database, then
    /// verify its audit chain and count its records.
    Restore(commands::restore::RestoreArgs),
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// Benchmarks (results go into docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        command: commands::bench::BenchCommand,
    },
    /// Subject access: everything held about one person (records, linkage,
    /// alerts, who viewed), third parties redacted, as sar.json and sar.html.
    /// Audited.
    Sar(commands::sar::SarArgs),
    /// Children's social care of one local authority in the DfE's formats:
    /// Standard Safeguarding Dataset CSV (ssd), the DfE children's social care
    /// API payload (dfe-api) or the Children in Need census XML (cin-census),
    /// with a report of what could not be filled. Audited.
    Export(commands::export::ExportArgs),
    /// Restrict a record to named roles, or lift its restriction. Audited.
    Record {
        #[command(subcommand)]
        command: commands::record::RecordCommand,
    },
    /// Legal holds on a child or person: they block retention and erasure.
    /// Audited.
    Hold {
        #[command(subcommand)]
        command: commands::hold::HoldCommand,
    },
    /// Erase a person's mentions or whole records by destroying their data
    /// keys; refused while a legal hold covers them. Audited.
    Erase(commands::erase::EraseArgs),
    /// The retention schedule: which records are past the date their rule
    /// keeps them to (listing only; nothing is deleted).
    Retention {
        #[command(subcommand)]
        command: commands::retention::RetentionCommand,
    },
    /// Manage agency API tokens.
    Token {
        #[command(subcommand)]
        command: commands::token::TokenCommand,
    },
    /// Manage web UI users.
    User {
        #[command(subcommand)]
        command: commands::user::UserCommand,
    },
    /// Check the append-only, hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: commands::audit::AuditCommand,
    },
}

/// Log level per target from `SIGHTLINE_LOG` (`info`, `warn,sightline_server=debug`),
/// `info` when unset, empty or not understood. A target filter, not
/// tracing-subscriber's `EnvFilter`, which brings a regex engine into the build.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("SIGHTLINE_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    // The formatter's own level cap is INFO unless told: open it fully, so
    // that `SIGHTLINE_LOG` alone decides (`sightline_server=debug` did
    // nothing before).
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.finish().with(filter).init(),
        LogFormat::Json => builder.json().finish().with(filter).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::Serve(args) => commands::serve::run(*args),
        Command::Ingest(args) => commands::ingest::run(args),
        Command::Records(args) => commands::records::run(args),
        Command::Persons(args) => commands::persons::run(args),
        Command::Link(args) => commands::link::run(args),
        Command::LinkEval(args) => commands::persons::link_eval(args),
        Command::Alerts(args) => commands::alerts::run(args),
        Command::Replay(args) => commands::alerts::replay(args),
        Command::Escalate(args) => commands::alerts::escalate(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Org { command } => commands::org::run(command),
        Command::Rules { command } => commands::alerts::rules(command),
        Command::Backup(args) => commands::backup::run(args),
        Command::Restore(args) => commands::restore::run(args),
        Command::Migrate { db } => commands::migrate(&db),
        Command::Sar(args) => commands::sar::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Record { command } => commands::record::run(command),
        Command::Hold { command } => commands::hold::run(command),
        Command::Retention { command } => commands::retention::run(command),
        Command::Erase(args) => commands::erase::run(args),
        Command::Token { command } => commands::token::run(command),
        Command::User { command } => commands::user::run(command),
        Command::Audit { command } => commands::audit::run(command),
        Command::Bench { command } => commands::bench::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eoutln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
