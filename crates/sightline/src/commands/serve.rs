//! `sightline serve`.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use sightline_app::engine::{DuePeriod, DueTimes};
use sightline_app::privacy::FlagPolicy;
use sightline_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    org: OrgArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().body_bytes_max)]
    body_bytes_max: usize,
    /// Mark session cookies Secure (serve behind TLS). Requests that arrive from
    /// a trusted proxy (--trusted-proxy) with `X-Forwarded-Proto: https` get
    /// Secure cookies and HSTS without it.
    #[arg(long)]
    secure_cookies: bool,
    /// A reverse proxy in front of Sightline, an address or a CIDR network
    /// (repeat for more; SIGHTLINE_TRUSTED_PROXIES takes a comma-separated
    /// list): only requests from it have their forwarded headers believed
    /// (`X-Forwarded-Proto: https` for Secure cookies and HSTS,
    /// `X-Forwarded-For` to throttle failed logins per client address). From
    /// any other peer those headers are dropped and the peer address counts.
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR[/PREFIX]",
        env = "SIGHTLINE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<sightline_server::TrustedProxy>,
    /// Intake batches one agency may have in progress at once (429 with
    /// Retry-After above it).
    #[arg(long, default_value_t = ServerConfig::default().intake.per_agency_max)]
    intake_concurrent_per_agency_max: usize,
    /// Intake batches in progress at once, all agencies together.
    #[arg(long, default_value_t = ServerConfig::default().intake.total_max)]
    intake_concurrent_max: usize,
    /// How many record bodies the engine keeps in memory (about 1 KB each);
    /// the others are read from the database when a child is evaluated or a
    /// page is built. 0: keep every body in memory.
    #[arg(long, default_value_t = sightline_app::bodies::RECORD_CACHE_DEFAULT)]
    record_cache: usize,
    /// Seconds between passes of the ticker (time-based rules, escalation).
    #[arg(long, default_value_t = 60)]
    tick_seconds: u64,
    /// How long a critical alert may stay undecided: `4h` (hours) or `1wd`
    /// (working days in England and Wales).
    #[arg(long, default_value = "4h", value_parser = due_period)]
    due_critical: DuePeriod,
    /// The same for a high alert.
    #[arg(long, default_value = "1wd", value_parser = due_period)]
    due_high: DuePeriod,
    /// The same for a medium alert.
    #[arg(long, default_value = "3wd", value_parser = due_period)]
    due_medium: DuePeriod,
    /// The same for a low alert.
    #[arg(long, default_value = "10wd", value_parser = due_period)]
    due_low: DuePeriod,
    /// A directory outside the database to write signed checkpoints of the
    /// audit log into, every minute and at shutdown (`audit verify
    /// --checkpoints`). Needs --audit-key.
    #[arg(
        long,
        env = "SIGHTLINE_AUDIT_CHECKPOINTS",
        requires = "audit_key",
        conflicts_with = "follow"
    )]
    audit_checkpoints: Option<std::path::PathBuf>,
    /// The checkpoints' signing key file, from `sightline audit keygen`.
    #[arg(long, env = "SIGHTLINE_AUDIT_KEY")]
    audit_key: Option<std::path::PathBuf>,
    /// Seconds between audit checkpoints (at most 60).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=60))]
    audit_checkpoint_seconds: u64,
    /// The access log flags a user given at least this many break-glass
    /// grants within --flag-break-glass-hours.
    #[arg(long, default_value_t = FlagPolicy::default().break_glass_min, value_parser = clap::value_parser!(u32).range(1..))]
    flag_break_glass_min: u32,
    /// The window of --flag-break-glass-min, in hours.
    #[arg(long, default_value_t = FlagPolicy::default().break_glass_window_hours, value_parser = clap::value_parser!(i64).range(1..=8760))]
    flag_break_glass_hours: i64,
    /// The access log flags a user who looked at at least this many different
    /// children within --flag-children-minutes.
    #[arg(long, default_value_t = FlagPolicy::default().children_min, value_parser = clap::value_parser!(u32).range(1..))]
    flag_children_min: u32,
    /// The window of --flag-children-min, in minutes.
    #[arg(long, default_value_t = FlagPolicy::default().children_window_minutes, value_parser = clap::value_parser!(i64).range(1..=10080))]
    flag_children_minutes: i64,
    /// How many days back the access log's flags look.
    #[arg(long, default_value_t = FlagPolicy::default().lookback_days, value_parser = clap::value_parser!(i64).range(1..=366))]
    flag_lookback_days: i64,
    /// A file holding the bearer token a Prometheus scraper sends to read
    /// /metrics (at least 32 characters, e.g. `openssl rand -hex 32`).
    /// Without it, /metrics answers 404.
    #[arg(long, env = "SIGHTLINE_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<std::path::PathBuf>,
    /// A TOML file of OpenID Connect providers staff sign in with (Entra ID,
    /// NHS CIS2, ...) and whether Sightline passwords stay on
    /// (docs/operators.md, "Signing in with Entra ID or NHS CIS2").
    #[arg(long, env = "SIGHTLINE_SIGN_IN")]
    sign_in: Option<std::path::PathBuf>,
    /// A retention schedule file (`[[rule]]` tables): the date each record
    /// page shows and what the daily retention pass batches. The documented
    /// defaults when not given (docs/data-protection.md, section 4).
    #[arg(long, env = "SIGHTLINE_RETENTION_SCHEDULE")]
    retention_schedule: Option<std::path::PathBuf>,
    /// Serve as a read-only follower of a database another `sightline serve`
    /// (the one writer) takes intake into: load the picture, then poll the
    /// log every --follow-poll-ms and apply what the writer appended. A
    /// follower serves pages and the API, writes sessions, audit entries and
    /// decisions on alerts, and refuses intake, linkage decisions and
    /// retention approvals with 421 (docs/scaling.md).
    #[arg(long)]
    follow: bool,
    /// A follower: milliseconds between polls of the log.
    #[arg(long, default_value_t = 200, requires = "follow", value_parser = clap::value_parser!(u64).range(10..=60_000))]
    follow_poll_ms: u64,
    /// A follower: the writer's URL, named in the answer to a refused write.
    #[arg(long, requires = "follow", value_name = "URL")]
    writer_url: Option<String>,
}

fn due_period(text: &str) -> Result<DuePeriod, String> {
    DuePeriod::parse(text).ok_or_else(|| format!("\"{text}\" is not a period like 4h or 3wd"))
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = ServerConfig {
        body_bytes_max: args.body_bytes_max,
        tick_interval: std::time::Duration::from_secs(args.tick_seconds.max(1)),
        intake: sightline_server::IntakeLimits {
            per_agency_max: args.intake_concurrent_per_agency_max.max(1),
            total_max: args.intake_concurrent_max.max(1),
        },
        record_cache_records: (args.record_cache > 0).then_some(args.record_cache),
        role: if args.follow {
            sightline_server::Role::Follower(sightline_server::FollowerConfig {
                poll_interval: std::time::Duration::from_millis(args.follow_poll_ms),
                writer_url: args.writer_url.clone(),
            })
        } else {
            sightline_server::Role::Writer
        },
        ..ServerConfig::default()
    };
    config.engine.due = DueTimes {
        critical: args.due_critical,
        high: args.due_high,
        medium: args.due_medium,
        low: args.due_low,
    };
    let Some(org_path) = &args.org.org else {
        anyhow::bail!(
            "no organisation: give the file of agencies, teams, duty teams and safeguarding leads with --org FILE or SIGHTLINE_ORG (docs/operators.md, \"The organisation\"; `sightline synth --out DIR` writes an example)"
        );
    };
    config.engine.organisation =
        std::sync::Arc::new(sightline_app::organisation::read_organisation(org_path)?);
    if let Some(path) = &args.sign_in {
        let sign_in = sightline_app::sign_in::read_sign_in_config(path)
            .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))?;
        for provider in &sign_in.providers {
            for rule in &provider.rules {
                if config
                    .engine
                    .organisation
                    .agency(rule.agency.as_str())
                    .is_none()
                {
                    anyhow::bail!(
                        "{}: provider {}: agency {} is not in the organisation",
                        path.display(),
                        provider.name,
                        rule.agency.as_str()
                    );
                }
            }
        }
        tracing::info!(
            providers = sign_in.providers.len(),
            local_passwords = sign_in.local_passwords,
            "sign-in configured"
        );
        config.web.sign_in = sign_in;
    }
    if let Some(path) = &args.retention_schedule {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("could not read {}: {error}", path.display()))?;
        config.web.retention_schedule =
            std::sync::Arc::new(sightline_app::retention::Schedule::parse(&text)?);
    }
    config.web.secure_cookies = args.secure_cookies;
    config.web.trusted_proxies = args.trusted_proxies.clone();
    config.web.flags = FlagPolicy {
        break_glass_min: args.flag_break_glass_min,
        break_glass_window_hours: args.flag_break_glass_hours,
        children_min: args.flag_children_min,
        children_window_minutes: args.flag_children_minutes,
        lookback_days: args.flag_lookback_days,
        ..FlagPolicy::default()
    };
    if let Some(path) = &args.metrics_token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read the metrics token file {}", path.display()))?;
        let token = sightline_server::MetricsToken::parse(&text)
            .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))?;
        config.metrics_token = Some(token);
    }
    if let (Some(dir), Some(key)) = (args.audit_checkpoints, args.audit_key) {
        let signer = sightline_app::audit_checkpoints::read_signing_key(&key)?;
        config.audit_checkpoints = Some(sightline_server::AuditCheckpointConfig {
            dir,
            signer,
            interval: std::time::Duration::from_secs(args.audit_checkpoint_seconds),
        });
    }
    serve_blocking(&args.db.db, args.addr, config)
}

/// Opens the store and serves until Ctrl-C or SIGTERM.
pub fn serve_blocking(
    db_url: &str,
    addr: SocketAddr,
    config: ServerConfig,
) -> anyhow::Result<ExitCode> {
    let store = sightline_store::open(db_url).context("could not open the database")?;
    let store: Arc<dyn sightline_store::Store> = Arc::from(store);
    let started = std::time::Instant::now();
    let state = AppState::load(store, config).context("could not load the picture from the log")?;
    let engine_bytes = state
        .engine
        .read(|engine| engine.memory_report().total_bytes())
        .unwrap_or(0);
    let (resident_mb, peak_mb) = super::bench::resident_memory_mb().unwrap_or((0.0, 0.0));
    tracing::info!(
        role = state.config.role.name(),
        load_ms = started.elapsed().as_millis() as u64,
        engine_mb = engine_bytes / 1_000_000,
        resident_mb = resident_mb as u64,
        peak_resident_mb = peak_mb as u64,
        "engine loaded from the log"
    );
    serve_state(state, addr, |_| {})
}

/// Serves `state` until Ctrl-C or SIGTERM. `on_listening` runs once the port is
/// bound, so whatever it prints (a URL, logins) already answers.
pub fn serve_state(
    state: AppState,
    addr: SocketAddr,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<ExitCode> {
    let backend = state.store.backend();
    let role = match state.config.role {
        sightline_server::Role::Writer => String::new(),
        sightline_server::Role::Follower(_) => ", read-only follower".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("could not listen on {}", addr))?;
        let local_addr = listener.local_addr().context("no local address")?;
        tracing::info!(addr = %local_addr, backend = %backend, "serving");
        on_listening(local_addr);
        eoutln!("Sightline is serving on http://{local_addr} ({backend}{role})");
        sightline_server::serve(listener, state, shutdown_signal())
            .await
            .context("server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}
