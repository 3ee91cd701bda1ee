//! A team manager's or safeguarding lead's view of their agency's accounts and
//! agency tokens (`/agency/accounts`, `Action::ManageAgencyAccounts`), and the
//! activation of the casework accounts an administrator created (issue #15,
//! finding 10: an administrator could create a practitioner, sign in as it and
//! read case content; now such an account waits for a manager or lead of its
//! agency, the second person, to activate it).
//!
//! The page also lists the agency's tokens and the audit entries about its
//! accounts and tokens (who created, revoked, disabled or activated what), so
//! a token an administrator creates for the agency is seen by its leads.

use crate::WebState;
use crate::audit_view;
use crate::pages::{blocking, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::Role;
use sightline_app::accounts::{self, Activation, Activator, LiveSession};
use std::collections::HashMap;

/// The most audit entries about the agency's accounts and tokens shown.
pub const CHANGES_SHOWN_MAX: u32 = 100;

#[derive(Serialize)]
struct AccountView {
    id: i64,
    username: String,
    role: &'static str,
    team: String,
    active: bool,
    /// Inactive, and this reader may activate it.
    may_activate: bool,
}

#[derive(Serialize)]
struct TokenView {
    id: i64,
    created: String,
    revoked: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountsQuery {
    activated: Option<String>,
}

pub async fn accounts_page(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<AccountsQuery>,
) -> Response {
    let limit = state.config.page_rows_max.max(1_000);
    let reader = session.account.clone();
    let agency = reader.agency.as_str().to_owned();
    let loaded = blocking(&state, Some(&session), move |store| {
        let users: Vec<_> = store
            .accounts()
            .list_users(limit)?
            .into_iter()
            .filter(|user| user.agency == agency)
            .collect();
        let tokens: Vec<_> = store
            .accounts()
            .list_tokens(limit)?
            .into_iter()
            .filter(|token| token.agency == agency)
            .collect();
        let mut keys: Vec<String> = vec![format!("agency:{agency}")];
        keys.extend(tokens.iter().map(|token| format!("token:{}", token.id)));
        keys.extend(users.iter().map(|user| format!("user:{}", user.id)));
        let changes: Vec<_> = store
            .audit()
            .audit_about(&keys, CHANGES_SHOWN_MAX * 4)?
            .into_iter()
            .filter(|row| {
                matches!(
                    row.action.as_str(),
                    "create_user"
                        | "disable_user"
                        | "activate_user"
                        | "create_token"
                        | "revoke_token"
                )
            })
            .take(CHANGES_SHOWN_MAX as usize)
            .collect();
        Ok::<_, sightline_store::StoreError>((users, tokens, changes))
    })
    .await;
    let (users, tokens, changes) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let usernames: HashMap<i64, String> = users
        .iter()
        .map(|user| (user.id, user.username.clone()))
        .collect();
    let organisation = state.organisation();
    let known = audit_view::Known {
        record_kinds: None,
        usernames: Some(&usernames),
    };
    let changes: Vec<audit_view::AuditEntryView> = changes
        .into_iter()
        .map(|row| audit_view::entry_view(&organisation, &known, row))
        .collect();
    let accounts: Vec<AccountView> = users
        .iter()
        .map(|user| AccountView {
            id: user.id,
            username: user.username.clone(),
            role: Role::parse(&user.role).map_or("Unknown role", Role::label),
            team: user.team.clone().unwrap_or_default(),
            active: user.disabled_at_us.is_none(),
            may_activate: user.disabled_at_us.is_some()
                && accounts::may_activate(&session.account, user),
        })
        .collect();
    let tokens: Vec<TokenView> = tokens
        .into_iter()
        .map(|token| TokenView {
            id: token.id,
            created: time(token.created_at_us),
            revoked: token.revoked_at_us.map(time),
        })
        .collect();
    page(
        &state,
        StatusCode::OK,
        "agency_accounts.html",
        context! {
            user => UserView::of(&session),
            page_title => "Agency accounts",
            nav => "agency-accounts",
            agency => session.account.agency.to_string(),
            accounts => accounts,
            tokens => tokens,
            changes => changes,
            activated => query.activated.is_some(),
        },
    )
}

/// Activates an inactive account of the reader's agency (audited; refused
/// with 403 for an account the reader may not activate).
pub async fn activate(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(user_id): Path<String>,
) -> Response {
    let Ok(user_id) = user_id.parse::<i64>() else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let by = session.account.clone();
    let activated = blocking(&state, Some(&session), move |store| {
        accounts::activate_account(store, user_id, Activator::User(&by), Utc::now())
    })
    .await;
    match activated {
        Ok(Activation::Activated) => Redirect::to("/agency/accounts?activated=1").into_response(),
        Ok(Activation::NotFound) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Ok(Activation::NotAllowed) => error_page(&state, Some(&session), ErrorPage::forbidden()),
        Err(response) => response,
    }
}
