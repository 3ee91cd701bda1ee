//! `sightline demo`: a synthetic region in a fresh embedded database, served.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its region files and database (replaced on each run).
    #[arg(long, default_value = "sightline-demo")]
    dir: PathBuf,
    /// How many children the region holds.
    #[arg(long, default_value_t = 2_000)]
    children: u64,
    /// The region's seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let region_dir = args.dir.join("region");
    let db_path = args.dir.join("sightline-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
    }
    if region_dir.exists() {
        std::fs::remove_dir_all(&region_dir)
            .with_context(|| format!("{}: cannot remove", region_dir.display()))?;
    }
    eoutln!(
        "1/3 generating a synthetic region of {} children (seed {}) in {}",
        args.children,
        args.seed,
        region_dir.display()
    );
    let (summary, files) = super::synth::generate_region(args.children, args.seed, &region_dir)?;
    let db_url = format!("sqlite://{}", db_path.display());
    let store = sightline_store::open(&db_url).context("could not create the demo database")?;
    eoutln!(
        "2/3 ingesting {} records from {} agencies into {db_url}",
        summary.records,
        summary.files.len()
    );
    let organisation_path = region_dir.join(sightline_synth::ORGANISATION_FILE);
    let organisation = std::sync::Arc::new(
        sightline_app::organisation::read_organisation(&organisation_path)
            .context("the synthetic region's organisation")?,
    );
    let engine_config = sightline_app::EngineConfig {
        organisation,
        ..sightline_app::EngineConfig::default()
    };
    let engine = super::load_engine_with(store.as_ref(), engine_config.clone())?;
    eoutln!("    linking persons across agencies and raising alerts in the same transaction ...");
    let ingest = super::ingest::ingest_files(store.as_ref(), Some(&engine), &files)?.map_err(
        |n_problems| {
            anyhow::anyhow!("the synthetic region failed validation with {n_problems} problem(s)")
        },
    )?;
    let (n_mentions, n_persons, n_children) = engine.read(|engine| {
        (
            engine.linked().mentions.len(),
            engine.facts().len(),
            engine.children().count(),
        )
    })?;
    let n_high = store.alerts().count(&sightline_store::AlertFilter {
        status: Some(sightline_store::STATUS_OPEN.to_owned()),
        severity: Some("high".to_owned()),
        ..sightline_store::AlertFilter::default()
    })? + store.alerts().count(&sightline_store::AlertFilter {
        status: Some(sightline_store::STATUS_OPEN.to_owned()),
        severity: Some("critical".to_owned()),
        ..sightline_store::AlertFilter::default()
    })?;
    let n_alerts = store
        .alerts()
        .count(&sightline_store::AlertFilter::default())?;
    let police =
        sightline_core::AgencyId::parse("police").map_err(|error| anyhow::anyhow!("{error}"))?;
    let token = sightline_app::create_token(store.as_ref(), &police, chrono::Utc::now())?;
    let logins = super::user::create_demo_logins(store.as_ref(), &engine_config.organisation)?;
    // As a server does at start: anything routed to nobody goes to the head of
    // service (with the demo's logins, nothing is).
    engine.settle_routes(store.as_ref(), chrono::Utc::now())?;
    // The server takes the engine that linked and checked the region, rather
    // than reading and linking the whole log again.
    // The demo shows its metrics to whoever holds this token (printed below).
    let metrics_token = sightline_server::MetricsToken::generate();
    let state = sightline_server::AppState::new(
        Arc::from(store),
        sightline_server::ServerConfig {
            engine: engine_config,
            metrics_token: Some(metrics_token.clone()),
            ..sightline_server::ServerConfig::default()
        },
        engine,
    );
    eoutln!(
        "3/3 ready in {:.0} s: {} records stored",
        started.elapsed().as_secs_f64(),
        ingest.stored
    );
    super::serve::serve_state(state, args.addr, |addr| {
        outln!();
        outln!(
            "Sightline demo: {} synthetic children, {} households, {} records from {} agencies.",
            summary.children,
            summary.households,
            summary.records,
            summary.files.len()
        );
        outln!(
            "Linked {n_mentions} mentions into {n_persons} persons ({n_children} children); {n_alerts} alerts, {n_high} of them high or critical.",
        );
        outln!("  Alerts:        sightline alerts --db {db_url}");
        outln!("  API document:  http://{addr}/api/openapi.json");
        outln!("  Police token:  {}", token.secret);
        outln!(
            "  Try:           curl -H 'Authorization: Bearer {}' 'http://{addr}/api/v1/records?limit=3'",
            token.secret
        );
        outln!(
            "  Metrics:       curl -H 'Authorization: Bearer {}' http://{addr}/metrics",
            metrics_token.secret()
        );
        outln!("  Ground truth:  {}", region_dir.join("truth").display());
        outln!(
            "  Organisation:  {} (agencies, teams, duty team; check with: sightline org check FILE)",
            organisation_path.display()
        );
        outln!("  Web UI:        http://{addr}/login");
        super::user::print_demo_logins(&logins);
        outln!("Stop with Ctrl-C.");
        outln!();
    })
}
