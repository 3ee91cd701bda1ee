//! Sightline's web UI for practitioners, managers, safeguarding leads, privacy
//! officers and administrators: server-rendered HTML (minijinja templates, no
//! JavaScript, own CSS after the GOV.UK Design System), mounted by
//! `sightline-server`'s router.
//!
//! Every route is declared once in [`ROUTES`] with who may use it; the router is
//! built from that table, and a test walks it.
//!
//! - Invariant: every route except the login pages (the form, and sign-in with
//!   a provider: `/login/oidc/...`) and the stylesheet needs a live
//!   session: without one, a page redirects to `/login` (an `/api` path gets 401).
//! - Invariant: every POST carries the session's CSRF token (the login form a
//!   token bound to a pre-session the server issued) or is refused with 403
//!   before its handler runs.
//! - Invariant: over HTTPS (configured, or `X-Forwarded-Proto: https` from a
//!   trusted proxy) cookies are `Secure` with the `__Host-` prefix, and only
//!   those are read. Forwarded headers from any other peer never reach a
//!   handler (`proxy.rs`).
//! - Invariant: access is decided by `sightline_access::authorize` and every
//!   decision about personal data is written to the audit log first.
//! - Invariant: every response carries the security headers of
//!   [`security_headers`]: a CSP without inline script, frame denial, no-store.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod agency_accounts;
mod alert_words;
mod alerts;
mod audit_view;
mod children;
mod clocks;
mod controls;
mod guard;
mod my_work;
mod names;
mod oidc;
mod pages;
mod privacy;
mod proxy;
mod record_view;
mod render;
mod retention_pages;
mod review;
mod sar_pages;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{MethodRouter, get, post};
use sightline_access::Action;
use sightline_app::accounts::SessionPolicy;
use sightline_store::Store;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use guard::{
    SECURE_SESSION_COOKIE, SESSION_COOKIE, is_secure_request, pre_session_cookie_name,
    session_cookie_name,
};
pub use proxy::{FORWARDED_HEADERS, TrustedProxy, drop_untrusted_forwarded_headers, is_trusted};

/// Settings of the web UI. Every limit is explicit.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Always mark cookies `Secure` (set when Sightline is served over TLS, or
    /// behind a proxy that terminates it). Cookies are also `Secure` on any
    /// request that arrives with `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// Timeouts, lock-out and break-glass duration.
    pub session: SessionPolicy,
    /// The largest form body accepted.
    pub form_bytes_max: usize,
    /// The most rows a page lists.
    pub page_rows_max: u32,
    /// When the access log flags a pattern of access.
    pub flags: sightline_app::privacy::FlagPolicy,
    /// The most entries one access-log CSV holds.
    pub access_log_csv_rows_max: usize,
    /// Reverse proxies (addresses or CIDR networks) whose forwarded headers
    /// are believed: `X-Forwarded-For` names the client for login throttling,
    /// `X-Forwarded-Proto: https` means HTTPS (Secure cookies, HSTS). From any
    /// other peer the server drops those headers before routing.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Sign-in with OpenID Connect providers, and whether local passwords
    /// are on (`sightline serve --sign-in FILE`).
    pub sign_in: sightline_app::sign_in::SignInConfig,
    /// The retention schedule: the date shown on each record page, and what
    /// the server's daily pass puts in a batch.
    pub retention_schedule: Arc<sightline_app::retention::Schedule>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            session: SessionPolicy::default(),
            form_bytes_max: 64 * 1024,
            page_rows_max: 50,
            flags: sightline_app::privacy::FlagPolicy::default(),
            access_log_csv_rows_max: 1_000_000,
            trusted_proxies: Vec::new(),
            sign_in: sightline_app::sign_in::SignInConfig::default(),
            retention_schedule: Arc::new(sightline_app::retention::Schedule::default()),
        }
    }
}

/// What every page handler can reach.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<dyn Store>,
    pub config: Arc<WebConfig>,
    /// The intake engine: linkage decisions made here are applied to it.
    pub engine: sightline_app::SharedEngine,
    templates: Arc<minijinja::Environment<'static>>,
    /// The organisation that names agencies, teams and routes on pages.
    organisation: Arc<sightline_core::org::Organisation>,
    /// The key of the login form's CSRF tokens (made at start).
    login_key: Arc<sightline_app::login_csrf::LoginCsrfKey>,
    /// Sign-ins with a provider waiting for their callback.
    flows: Arc<oidc::Flows>,
}

impl WebState {
    /// A state over `store` and the intake engine over it.
    pub fn new(
        store: Arc<dyn Store>,
        engine: sightline_app::SharedEngine,
        config: WebConfig,
    ) -> Self {
        let organisation = engine
            .read(|engine| engine.organisation().clone())
            .unwrap_or_else(|_| Arc::new(sightline_core::org::Organisation::unconfigured()));
        WebState {
            store,
            config: Arc::new(config),
            engine,
            templates: Arc::new(render::environment(organisation.clone())),
            organisation,
            login_key: Arc::new(sightline_app::login_csrf::LoginCsrfKey::random()),
            flows: Arc::new(oidc::Flows::new()),
        }
    }
}

impl WebState {
    /// An agency's display name.
    pub(crate) fn agency_name(&self, agency_id: &str) -> String {
        names::agency_name(&self.organisation, agency_id)
    }

    /// The organisation (for work on the blocking pool).
    pub(crate) fn organisation(&self) -> Arc<sightline_core::org::Organisation> {
        self.organisation.clone()
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login page, the stylesheet).
    Public,
    /// Any signed-in user; the handler asks `authorize` about the resource.
    SignedIn,
    /// A signed-in user whom `authorize` allows this action on the service.
    Service(Action),
}

/// One route of the web UI.
#[derive(Clone, Copy)]
pub struct RouteSpec {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The axum path template.
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
    /// A concrete path for tests (the template with example parameters).
    pub example_path: &'static str,
    handler: fn() -> MethodRouter<WebState>,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} {} ({:?})",
            self.method, self.path, self.access
        )
    }
}

macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:path) => {
        route!($method $path, $access, $handler, $path)
    };
    ($method:ident $path:literal, $access:expr, $handler:path, $example:literal) => {
        RouteSpec {
            method: const_method(stringify!($method)),
            path: $path,
            access: $access,
            example_path: $example,
            handler: || $method($handler),
        }
    };
}

const fn const_method(name: &'static str) -> &'static str {
    match name.as_bytes() {
        b"get" => "GET",
        _ => "POST",
    }
}

/// Every route of the web UI. The router is built from this table.
pub const ROUTES: &[RouteSpec] = &[
    route!(get "/static/sightline.css", Access::Public, pages::stylesheet),
    route!(get "/static/sar.css", Access::Public, sar_pages::stylesheet),
    route!(get "/login", Access::Public, pages::login_form),
    route!(post "/login", Access::Public, pages::login_submit),
    route!(get "/login/oidc/callback", Access::Public, oidc::callback, "/login/oidc/callback?state=x&code=y"),
    route!(get "/login/oidc/{provider}", Access::Public, oidc::start, "/login/oidc/entra"),
    route!(get "/", Access::SignedIn, pages::home),
    route!(post "/logout", Access::SignedIn, pages::logout),
    route!(get "/my-work", Access::SignedIn, my_work::my_work),
    route!(
        get "/records/{agency}/{record_id}",
        Access::SignedIn,
        pages::record,
        "/records/police/SYN-1"
    ),
    route!(
        post "/records/{agency}/{record_id}/restriction",
        Access::SignedIn,
        controls::record_restriction,
        "/records/police/SYN-1/restriction"
    ),
    route!(
        post "/records/{agency}/{record_id}/break-glass",
        Access::SignedIn,
        pages::record_break_glass,
        "/records/police/SYN-1/break-glass"
    ),
    route!(
        get "/children/{person_id}",
        Access::SignedIn,
        children::child,
        "/children/p-0123456789abcdef"
    ),
    route!(
        post "/children/{person_id}/break-glass",
        Access::SignedIn,
        children::child_break_glass,
        "/children/p-0123456789abcdef/break-glass"
    ),
    route!(
        get "/children/{person_id}/chronology",
        Access::SignedIn,
        children::chronology,
        "/children/p-0123456789abcdef/chronology"
    ),
    route!(
        get "/children/{person_id}/chronology.csv",
        Access::SignedIn,
        children::chronology_csv,
        "/children/p-0123456789abcdef/chronology.csv"
    ),
    route!(get "/search", Access::SignedIn, children::search, "/search?name=Leo+Marsh&dob=2006-03-01"),
    route!(
        get "/alerts/{alert_id}",
        Access::SignedIn,
        alerts::alert,
        "/alerts/a-0123456789abcdef"
    ),
    route!(
        post "/alerts/{alert_id}/decision",
        Access::SignedIn,
        alerts::decide,
        "/alerts/a-0123456789abcdef/decision"
    ),
    route!(
        post "/alerts/{alert_id}/assignment",
        Access::SignedIn,
        alerts::assign,
        "/alerts/a-0123456789abcdef/assignment"
    ),
    route!(
        post "/alerts/{alert_id}/reopen",
        Access::SignedIn,
        alerts::reopen,
        "/alerts/a-0123456789abcdef/reopen"
    ),
    route!(
        post "/follow-ups/{follow_up_id}/done",
        Access::SignedIn,
        alerts::follow_up_done,
        "/follow-ups/1/done"
    ),
    route!(get "/linkage/review", Access::Service(Action::ReviewLinkage), review::queue),
    route!(post "/linkage/review", Access::Service(Action::ReviewLinkage), review::decide),
    route!(get "/linkage/decisions", Access::Service(Action::ReviewLinkage), review::decisions),
    route!(
        post "/linkage/decisions/withdraw",
        Access::Service(Action::ReviewLinkage),
        review::withdraw
    ),
    route!(get "/admin/users", Access::Service(Action::ManageUsers), pages::users),
    route!(post "/admin/users", Access::Service(Action::ManageUsers), pages::create_user),
    route!(
        post "/admin/users/{user_id}/disable",
        Access::Service(Action::ManageUsers),
        pages::disable_user,
        "/admin/users/999999/disable"
    ),
    route!(get "/admin/tokens", Access::Service(Action::ManageTokens), pages::tokens),
    route!(post "/admin/tokens", Access::Service(Action::ManageTokens), pages::create_token),
    route!(
        post "/admin/tokens/{token_id}/revoke",
        Access::Service(Action::ManageTokens),
        pages::revoke_token,
        "/admin/tokens/999999/revoke"
    ),
    route!(
        get "/agency/accounts",
        Access::Service(Action::ManageAgencyAccounts),
        agency_accounts::accounts_page
    ),
    route!(
        post "/agency/accounts/{user_id}/activate",
        Access::Service(Action::ManageAgencyAccounts),
        agency_accounts::activate,
        "/agency/accounts/999999/activate"
    ),
    route!(get "/privacy/access-log", Access::Service(Action::ViewAccessLog), privacy::access_log),
    route!(
        get "/privacy/access-log.csv",
        Access::Service(Action::ViewAccessLog),
        privacy::access_log_csv
    ),
    route!(
        get "/privacy/children/{person_id}",
        Access::Service(Action::ViewAccessLog),
        privacy::child_viewers,
        "/privacy/children/p-0123456789abcdef"
    ),
    route!(get "/privacy/restrictions", Access::Service(Action::ViewAccessLog), controls::restrictions),
    route!(get "/privacy/holds", Access::Service(Action::ViewAccessLog), controls::holds),
    route!(post "/privacy/holds", Access::Service(Action::ManageLegalHolds), controls::change_hold),
    route!(get "/privacy/sar", Access::Service(Action::SubjectAccess), sar_pages::find),
    route!(
        get "/privacy/sar/{person_id}",
        Access::Service(Action::SubjectAccess),
        sar_pages::person,
        "/privacy/sar/p-0123456789abcdef"
    ),
    route!(
        post "/privacy/sar/{person_id}/bundle",
        Access::Service(Action::SubjectAccess),
        sar_pages::produce,
        "/privacy/sar/p-0123456789abcdef/bundle"
    ),
    route!(
        post "/privacy/sar/{person_id}/unredact",
        Access::Service(Action::SubjectAccess),
        sar_pages::disclose,
        "/privacy/sar/p-0123456789abcdef/unredact"
    ),
    route!(get "/privacy/retention", Access::Service(Action::ApproveRetention), retention_pages::batches),
    route!(
        get "/privacy/retention/{batch_id}",
        Access::Service(Action::ApproveRetention),
        retention_pages::batch,
        "/privacy/retention/1"
    ),
    route!(
        post "/privacy/retention/{batch_id}/decision",
        Access::Service(Action::ApproveRetention),
        retention_pages::decide,
        "/privacy/retention/1/decision"
    ),
    route!(get "/notices", Access::SignedIn, privacy::notices),
];

/// The security headers set on every response of the web UI.
pub fn security_headers() -> [(HeaderName, &'static str); 8] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ]
}

/// The web UI's routes, with their guards, security headers and a fallback HTML
/// 404 page.
pub fn router(state: WebState) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        let method_router = (spec.handler)();
        let method_router = match spec.access {
            Access::Public => method_router,
            Access::SignedIn | Access::Service(_) => method_router.route_layer(
                axum::middleware::from_fn_with_state((state.clone(), *spec), guard::guard),
            ),
        };
        router = router.route(spec.path, method_router);
    }
    // Request logs name the route template, never the raw path (which can hold a
    // record id).
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or("unmatched");
        tracing::info_span!("request", method = %request.method(), route)
    });
    let mut router = router
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(state.config.form_bytes_max))
        .layer(trace);
    for (name, value) in security_headers() {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router.with_state(state)
}
