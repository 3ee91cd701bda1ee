//! The guard in front of every non-public route: session, CSRF, and for
//! service pages the authorisation decision (recorded in the audit log).

use crate::render::{self, ErrorPage};
use crate::{Access, RouteSpec, WebState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sightline_access::{AccessContext, Resource};
use sightline_app::accounts::{LiveSession, tokens_match};

/// The session cookie over plain HTTP (a development server). HttpOnly,
/// SameSite=Strict, Path=/.
pub const SESSION_COOKIE: &str = "sightline_session";
/// The session cookie over HTTPS: also Secure, and the `__Host-` prefix makes
/// the browser refuse it unless it was set by this host over TLS with Path=/
/// and no Domain, so a sibling subdomain cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-sightline_session";
/// The login page's pre-session cookie (its form's CSRF token is bound to it:
/// `sightline_app::login_csrf`), over plain HTTP and over HTTPS.
pub const PRE_SESSION_COOKIE: &str = "sightline_presession";
pub const SECURE_PRE_SESSION_COOKIE: &str = "__Host-sightline_presession";

/// The session cookie's name for a request over TLS or not.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The pre-session cookie's name for a request over TLS or not.
pub fn pre_session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_PRE_SESSION_COOKIE
    } else {
        PRE_SESSION_COOKIE
    }
}
/// The form field every POST carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// Whether the request came over TLS (directly configured, or said by a
/// trusted proxy: the server drops `X-Forwarded-Proto` from any other peer
/// before routing, `proxy::drop_untrusted_forwarded_headers`).
pub fn is_secure(state: &WebState, headers: &HeaderMap) -> bool {
    is_secure_request(&state.config, headers)
}

/// [`is_secure`] from the configuration and the headers that reached routing.
pub fn is_secure_request(config: &crate::WebConfig, headers: &HeaderMap) -> bool {
    config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value with Sightline's cookie attributes.
pub fn set_cookie(name: &str, value: &str, secure: bool, clear: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if clear {
        cookie.push_str("; Max-Age=0");
    }
    cookie
}

/// The value of one field of a url-encoded form.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn anonymous(request: &Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Redirect::to("/login").into_response()
}

/// Checks the session (and, for a POST, its CSRF token; for a service page, the
/// authorisation decision) before the handler runs.
pub async fn guard(
    State((state, spec)): State<(WebState, RouteSpec)>,
    request: Request,
    next: Next,
) -> Response {
    let secure = is_secure(&state, request.headers());
    let Some(cookie_value) = cookie(request.headers(), session_cookie_name(secure)) else {
        return anonymous(&request);
    };
    let store = state.store.clone();
    let policy = state.config.session;
    let now = chrono::Utc::now();
    let looked_up = tokio::task::spawn_blocking(move || {
        sightline_app::accounts::session_account(store.as_ref(), &cookie_value, now, &policy)
    })
    .await;
    let session: LiveSession = match looked_up {
        Ok(Ok(Some(session))) => session,
        Ok(Ok(None)) => return anonymous(&request),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "session lookup failed");
            return render::error_page(&state, None, ErrorPage::internal());
        }
        Err(error) => {
            tracing::error!(error = %error, "session lookup task failed");
            return render::error_page(&state, None, ErrorPage::internal());
        }
    };

    let request = if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, state.config.form_bytes_max).await else {
            return render::error_page(&state, Some(&session), ErrorPage::too_large());
        };
        let given = form_field(&bytes, CSRF_FIELD).unwrap_or_default();
        if !tokens_match(&session.csrf_token, &given) {
            tracing::warn!(
                route = spec.path,
                "form refused: CSRF token missing or wrong"
            );
            return render::error_page(&state, Some(&session), ErrorPage::csrf());
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };

    if let Access::Service(action) = spec.access {
        let store = state.store.clone();
        let account = session.account.clone();
        let decided = tokio::task::spawn_blocking(move || {
            sightline_app::audit::authorize_and_record(
                store.as_ref(),
                &account,
                action,
                &Resource::Service,
                &AccessContext::default(),
                now,
            )
        })
        .await;
        match decided {
            Ok(Ok(decision)) if decision.is_full() => {}
            Ok(Ok(_)) => return render::error_page(&state, Some(&session), ErrorPage::forbidden()),
            Ok(Err(error)) => {
                tracing::error!(error = %error, "audit write failed");
                return render::error_page(&state, Some(&session), ErrorPage::internal());
            }
            Err(error) => {
                tracing::error!(error = %error, "authorisation task failed");
                return render::error_page(&state, Some(&session), ErrorPage::internal());
            }
        }
    }

    let mut request = request;
    request.extensions_mut().insert(session);
    next.run(request).await
}
