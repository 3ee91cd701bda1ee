//! Sightline's HTTP shell: routes, authentication and the JSON error shape, over
//! the application layer. Handlers run store work on the blocking pool.
//!
//! Invariant: every route that reads or writes personal data requires a valid
//! credential; the OpenAPI document is generated from the handlers' annotations.
//!
//! Invariant: request logs name the matched route template, never the raw path or
//! query (which can carry record ids or names).

mod alerts;
mod auth;
mod clocks;
mod controls;
mod error;
mod extract;
mod fhir;
mod follow;
mod intake_gate;
mod metrics;
mod notices;
mod params;
mod persons;
mod records;

pub use error::{ApiError, ErrorBody};
pub use follow::{FollowerConfig, Lag, Role, refused as follower_refuses};
pub use intake_gate::IntakeLimits;
pub use metrics::{METRICS_TOKEN_CHARS_MIN, MetricsToken};
/// The web UI's session cookie over plain HTTP (a signed-in browser sends it).
pub use sightline_web::{SESSION_COOKIE, TrustedProxy};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::routing::get;
use sightline_core::interchange::Limits;
use sightline_store::Store;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Settings of the HTTP server. Every limit is explicit.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted (413 above it).
    pub body_bytes_max: usize,
    /// Limits of the interchange parser.
    pub limits: Limits,
    /// Intake batches in progress at once, per agency and in all (429 with
    /// `Retry-After` above either).
    pub intake: IntakeLimits,
    /// The web UI's settings (cookies, session timeouts, lock-out).
    pub web: sightline_web::WebConfig,
    /// How often the background ticker re-evaluates time-based rules and
    /// escalates overdue alerts.
    pub tick_interval: std::time::Duration,
    /// The engine's settings: due times by severity, the default duty team.
    pub engine: sightline_app::EngineConfig,
    /// How many record bodies the engine keeps in memory; the others are read
    /// from the database when a child is evaluated or a page is built
    /// (`sightline_app::bodies`). `None`: every body stays in memory.
    pub record_cache_records: Option<usize>,
    /// Where and with which key the audit log's signed checkpoints are
    /// written; `None`: not written (the audit log is then only as safe as
    /// the database file).
    pub audit_checkpoints: Option<AuditCheckpointConfig>,
    /// The bearer token a Prometheus scraper sends to read `/metrics`;
    /// `None`: `/metrics` answers 404 (per-agency counts stay private).
    pub metrics_token: Option<MetricsToken>,
    /// The writer (intake, rules, alerts, the ticker; one per database) or
    /// a read-only follower of the log (`follow`; docs/scaling.md).
    pub role: Role,
}

/// Signed checkpoints of the audit log (`sightline_app::audit_checkpoints`).
#[derive(Debug, Clone)]
pub struct AuditCheckpointConfig {
    /// The directory outside the database that receives them.
    pub dir: std::path::PathBuf,
    /// The signing key (read from a file, never from the database).
    pub signer: sightline_access::note::NoteSigner,
    /// How often one is written (at most a minute; and once more at shutdown).
    pub interval: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_bytes_max: 32 * 1024 * 1024,
            limits: Limits {
                records_max: 100_000,
                ..Limits::default()
            },
            intake: IntakeLimits::default(),
            web: sightline_web::WebConfig::default(),
            tick_interval: std::time::Duration::from_secs(60),
            engine: sightline_app::EngineConfig::default(),
            record_cache_records: Some(sightline_app::bodies::RECORD_CACHE_DEFAULT),
            audit_checkpoints: None,
            metrics_token: None,
            role: Role::Writer,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// The intake engine: every intake goes through it, and the ticker runs it.
    pub engine: sightline_app::SharedEngine,
    /// The intake batches in progress.
    pub intake: Arc<intake_gate::IntakeGate>,
    /// A follower's position in the log (`follow`).
    pub follow: Arc<follow::FollowState>,
}

impl AppState {
    /// Opens the engine over `store` (reads and links the whole log) with the
    /// default rule pack and `config.engine` (due times, the organisation),
    /// refusing a pack whose routes nobody in the organisation can receive,
    /// then settles the stored alerts with the organisation (old routes
    /// rerouted, alerts nobody can receive sent to the head of service).
    /// A follower ([`Role::Follower`]) loads the same engine and settles
    /// nothing: it writes no alert.
    pub fn load(
        store: Arc<dyn Store>,
        config: ServerConfig,
    ) -> Result<AppState, sightline_app::EngineError> {
        // Installed before anything is recorded (the load's own time first).
        let _ = metrics::handle();
        let now = chrono::Utc::now();
        let started = std::time::Instant::now();
        let mut engine_config = config.engine.clone();
        engine_config.follower = config.role.is_follower();
        if let Some(records_max) = config.record_cache_records {
            engine_config.record_cache = Some(sightline_app::bodies::BodyCacheConfig {
                store: store.clone(),
                records_max,
            });
        }
        let engine =
            sightline_app::SharedEngine::load_configured(store.as_ref(), engine_config, now)?;
        metrics::engine_loaded(started.elapsed().as_secs_f64());
        if !config.role.is_follower() {
            engine.settle_routes(store.as_ref(), now)?;
        }
        Ok(AppState::new(store, config, engine))
    }

    /// A state over an engine already loaded.
    pub fn new(
        store: Arc<dyn Store>,
        config: ServerConfig,
        engine: sightline_app::SharedEngine,
    ) -> AppState {
        let _ = metrics::handle();
        metrics::register_intake_series(&config.engine.organisation);
        let intake = Arc::new(intake_gate::IntakeGate::new(config.intake));
        AppState {
            store,
            config: Arc::new(config),
            engine,
            intake,
            follow: Arc::new(follow::FollowState::default()),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sightline API",
        description = "Multi-agency safeguarding: intake of interchange v1 records and the views over them.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "records", description = "Intake (interchange batches, FHIR R4 bundles) and the record log"),
        (name = "alerts", description = "Alerts raised at intake, and decisions on them (staff sessions)"),
        (name = "persons", description = "Persons across agencies and clerical review of the linkage (staff session)"),
        (name = "clocks", description = "Statutory clocks of Working Together 2023 (staff session)"),
        (name = "access", description = "Access notices: who gained access to a child, and why (staff session)"),
    ),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An agency token from `sightline token create --agency ID`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff session token (the value of the sightline_session cookie after logging in); the cookie itself is accepted too, with X-CSRF-Token on POST",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API routes and their OpenAPI document.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(records::submit_records, records::list_records))
        .routes(routes!(records::record_history))
        .routes(routes!(controls::restrict))
        .routes(routes!(controls::lift))
        .routes(routes!(fhir::submit_bundle))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::decide_alert))
        .routes(routes!(alerts::assign_alert))
        .routes(routes!(alerts::reopen_alert))
        .routes(routes!(alerts::list_follow_ups))
        .routes(routes!(alerts::follow_up_done))
        .routes(routes!(persons::get_person))
        .routes(routes!(persons::search))
        .routes(routes!(persons::review, persons::record_decision))
        .routes(routes!(clocks::clocks_due))
        .routes(routes!(clocks::child_clocks_of))
        .routes(routes!(notices::list_notices))
        .split_for_parts();
    (router, optional_intake_body(openapi))
}

/// An agency with nothing to send sends an empty batch, or no body at all
/// (the specification sets no lower bound): the intake body is optional.
fn optional_intake_body(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    if let Some(body) = openapi
        .paths
        .paths
        .get_mut("/api/v1/records")
        .and_then(|item| item.post.as_mut())
        .and_then(|operation| operation.request_body.as_mut())
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    openapi
}

/// The OpenAPI 3.1 document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api_routes, openapi) = api();
    let openapi_json = Arc::new(openapi);
    let web_config = Arc::new(state.config.web.clone());
    let state_for_refusals = state.clone();
    let web = sightline_web::router(sightline_web::WebState::new(
        state.store.clone(),
        state.engine.clone(),
        state.config.web.clone(),
    ));
    let app = api_routes
        // An API path no route matches answers in the API's error shape,
        // not with the web UI's HTML page.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .route("/healthz", get(healthz))
        .route("/readyz", get(follow::readyz))
        .route("/metrics", get(metrics::render))
        .route("/fhir/R4/metadata", get(fhir::capability_statement))
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi_json = openapi_json.clone();
                async move { axum::Json(openapi_json.as_ref().clone()) }
            }),
        )
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
        // The web UI brings its own security headers and HTML error pages.
        .merge(web)
        // After routing (a layer on the router wraps each route), so the route
        // template is known; on the merged router, so web pages are timed too.
        .layer(axum::middleware::from_fn(metrics::time_request))
        // A follower refuses intake, linkage decisions and retention
        // approvals before anything reads their body (421, naming the writer).
        .layer(axum::middleware::from_fn_with_state(
            state_for_refusals,
            follow::refuse_writes,
        ));
    // And the API gets the same headers (CSP, frame denial, no-store...).
    let app = sightline_web::security_headers()
        .into_iter()
        .fold(app, |app, (name, value)| {
            app.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        });
    // Over HTTPS, browsers are told to use nothing else (HSTS).
    let proxies = web_config.trusted_proxies.clone();
    let app = app.layer(axum::middleware::from_fn(
        move |request: Request, next: axum::middleware::Next| {
            let secure = sightline_web::is_secure_request(&web_config, request.headers());
            async move {
                let mut response = next.run(request).await;
                if secure {
                    response.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    );
                }
                response
            }
        },
    ));
    // Outermost: forwarded headers (`X-Forwarded-Proto`, `X-Forwarded-For`,
    // `Forwarded`...) are believed only from a trusted proxy; from any other
    // peer, or an unknown one, they are dropped before anything reads them.
    app.layer(axum::middleware::from_fn(
        move |mut request: Request, next: axum::middleware::Next| {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|connect| connect.0.ip());
            sightline_web::drop_untrusted_forwarded_headers(&proxies, peer, request.headers_mut());
            next.run(request)
        },
    ))
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no such API operation (see /api/openapi.json)")
}

/// Two years, subdomains included: the value browsers' preload lists ask for.
const HSTS: &str = "max-age=63072000; includeSubDomains";

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok", "backend": state.store.backend().to_string()}))
}

/// Serves until `shutdown` resolves, with the ticker (and the audit
/// checkpointer, when configured) running in the background. At shutdown the
/// checkpointer signs one last checkpoint of everything the server wrote.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Installed before the first request (and the first tick) records anything.
    let _ = metrics::handle();
    // The writer runs the ticker and the audit checkpointer; a follower
    // follows the log.
    let ticker = match &state.config.role {
        Role::Writer => tokio::spawn(run_ticker(state.clone())),
        Role::Follower(config) => tokio::spawn(follow::run_follower(state.clone(), config.clone())),
    };
    let checkpointer = match state.config.role {
        Role::Writer => checkpointer(&state),
        Role::Follower(_) => None,
    };
    let checkpoints = checkpointer
        .clone()
        .map(|checkpointer| tokio::spawn(run_checkpointer(state.clone(), checkpointer)));
    // With the peer's address, which login throttling counts failures by.
    let served = axum::serve(
        listener,
        router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    ticker.abort();
    let _ = ticker.await;
    if let (Some(task), Some(checkpointer)) = (checkpoints, checkpointer) {
        task.abort();
        let _ = task.await;
        checkpoint_once(&state, &checkpointer).await;
    }
    // The store may be the last reference: PostgreSQL's synchronous client
    // closes its connections with a blocking call, which must not run on a
    // runtime thread.
    let _ = tokio::task::spawn_blocking(move || drop(state)).await;
    served
}

type SharedCheckpointer = Arc<std::sync::Mutex<sightline_app::audit_checkpoints::Checkpointer>>;

fn checkpointer(state: &AppState) -> Option<SharedCheckpointer> {
    let config = state.config.audit_checkpoints.as_ref()?;
    match sightline_app::audit_checkpoints::Checkpointer::new(config.signer.clone(), &config.dir) {
        Ok(checkpointer) => Some(Arc::new(std::sync::Mutex::new(checkpointer))),
        Err(error) => {
            tracing::error!(error = %error, "audit checkpoints cannot be written");
            None
        }
    }
}

/// Every `audit_checkpoints.interval`: sign and write a checkpoint when the
/// audit log grew. The first runs at once (it reads and checks the whole log).
async fn run_checkpointer(state: AppState, checkpointer: SharedCheckpointer) {
    let period = state
        .config
        .audit_checkpoints
        .as_ref()
        .map_or(std::time::Duration::from_secs(60), |config| config.interval);
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        checkpoint_once(&state, &checkpointer).await;
    }
}

async fn checkpoint_once(state: &AppState, checkpointer: &SharedCheckpointer) {
    let (store, checkpointer) = (state.store.clone(), checkpointer.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        let mut checkpointer = checkpointer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        checkpointer.checkpoint(store.as_ref())
    })
    .await;
    use sightline_app::audit_checkpoints::CheckpointOutcome;
    match outcome {
        Ok(Ok(CheckpointOutcome::Written { size })) => {
            tracing::debug!(size, "audit checkpoint written");
        }
        Ok(Ok(CheckpointOutcome::Unchanged { .. })) => {}
        Ok(Ok(CheckpointOutcome::Refused(failure))) => {
            tracing::error!(problem = %failure, "audit log does not verify: no checkpoint signed");
        }
        Ok(Err(error)) => tracing::error!(error = %error, "audit checkpoint failed"),
        Err(error) => tracing::error!(error = %error, "audit checkpoint task failed"),
    }
}

/// Once a day (the first tick of each UTC day): the retention pass writes a
/// batch of what the schedule makes due for the privacy officer
/// (`sightline_app::retention::make_batch`; a batch of the day already there
/// is left alone, so restarts do not double it).
async fn run_retention_pass(state: &AppState, today: chrono::NaiveDate) {
    let (engine, store) = (state.engine.clone(), state.store.clone());
    let schedule = state.config.web.retention_schedule.clone();
    let made = tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        engine.read(|engine| {
            sightline_app::retention::make_batch(
                store.as_ref(),
                engine.linked(),
                engine.facts(),
                engine.organisation(),
                &schedule,
                today,
                &sightline_app::retention::job_actor(),
                now,
            )
        })
    })
    .await;
    match made {
        Ok(Ok(Ok(sightline_app::retention::BatchOutcome::Made { batch, .. }))) => {
            tracing::info!(
                batch.id = batch.id,
                records = batch.n_records,
                blocked = batch.n_blocked,
                "retention batch written"
            );
        }
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(error))) => tracing::error!(error = %error, "retention pass failed"),
        Ok(Err(error)) => tracing::error!(error = %error, "retention pass failed"),
        Err(error) => tracing::error!(error = %error, "retention pass task failed"),
    }
}

/// Every `tick_interval` (wall clock): time-based re-evaluation and escalation
/// ([`sightline_app::SharedEngine::tick`]). The first pass runs at once, so
/// clocks that fell due while the server was down fire on start.
async fn run_ticker(state: AppState) {
    let mut interval = tokio::time::interval(state.config.tick_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention_day: Option<chrono::NaiveDate> = None;
    loop {
        interval.tick().await;
        let today = chrono::Utc::now().date_naive();
        if retention_day != Some(today) {
            retention_day = Some(today);
            run_retention_pass(&state, today).await;
        }
        let (engine, store) = (state.engine.clone(), state.store.clone());
        let ticked = tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now();
            let report = engine.tick(store.as_ref(), now);
            metrics::update_overdue(store.as_ref(), sightline_app::to_micros(now));
            report
        })
        .await;
        match ticked {
            Ok(Ok(report)) => {
                sightline_app::routing::warn_routed_to_nobody(report.routed_to_nobody);
                if report.alerts.raised > 0
                    || report.alerts.updated > 0
                    || report.escalated_to_team_manager > 0
                    || report.escalated_to_head_of_service > 0
                {
                    tracing::info!(
                        children = report.alerts.children,
                        raised = report.alerts.raised,
                        updated = report.alerts.updated,
                        escalated_to_team_manager = report.escalated_to_team_manager,
                        escalated_to_head_of_service = report.escalated_to_head_of_service,
                        "tick"
                    );
                }
            }
            Ok(Err(error)) => tracing::error!(error = %error, "tick failed"),
            Err(error) => tracing::error!(error = %error, "tick task failed"),
        }
    }
}
