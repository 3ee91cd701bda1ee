//! Who may see what, and the proof of who did: staff roles, the one authorisation
//! function ([`authorize`]) that decides every read and write, break-glass grants,
//! and the maths of the append-only audit hash chain ([`audit`]).
//!
//! Pure: no IO, no clock (`now` is a parameter), no randomness, no panics.
//!
//! - Invariant: every read and write of personal data is decided by [`authorize`];
//!   anything it does not explicitly allow is [`Decision::Deny`] (fail closed).
//! - Invariant: a break-glass grant only counts for its own user, its own
//!   resource, and before it expires.
//! - Invariant: an audit chain verifies only if no entry was changed, removed,
//!   inserted or moved (see [`audit::ChainVerifier`]).
//! - Invariant: a signed checkpoint ([`checkpoint`], C2SP tlog-checkpoint in a
//!   [`note`]) commits to the RFC 6962 root ([`merkle`]) of the entries it
//!   covers, so a rewrite of any of them is found even with every hash redone.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
mod authorize;
pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod relationship;
mod role;
mod view;
pub mod words;

pub use authorize::{
    AccessContext, Action, Actor, Basis, BreakGlassGrant, BreakGlassReason, Decision, Relationship,
    Resource, Restriction, authorize, route_reaches,
};
pub use relationship::{Corroboration, MentionIdentity, RecordBasis, corroborated};
pub use role::{Role, RoleParseError};
pub use view::View;
