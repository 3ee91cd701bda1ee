//! `sightline serve`.

use crate::DbArg;
use anyhow::Context;
use sightline_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().body_bytes_max)]
    body_bytes_max: usize,
    /// Mark session cookies Secure (serve behind TLS). Requests that arrive with
    /// `X-Forwarded-Proto: https` get Secure cookies without it.
    #[arg(long)]
    secure_cookies: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = ServerConfig {
        body_bytes_max: args.body_bytes_max,
        ..ServerConfig::default()
    };
    config.web.secure_cookies = args.secure_cookies;
    serve_blocking(&args.db.db, args.addr, config)
}

/// Opens the store and serves until Ctrl-C or SIGTERM.
pub fn serve_blocking(
    db_url: &str,
    addr: SocketAddr,
    config: ServerConfig,
) -> anyhow::Result<ExitCode> {
    let store = sightline_store::open(db_url).context("could not open the database")?;
    let backend = store.backend();
    let store: Arc<dyn sightline_store::Store> = Arc::from(store);
    let state = AppState::load(store, config).context("could not load the picture from the log")?;
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
        eprintln!("Sightline is serving on http://{local_addr} ({backend})");
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
