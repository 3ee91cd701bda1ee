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

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
mod authorize;
pub mod relationship;
mod role;
mod view;
pub mod words;

pub use authorize::{
    AccessContext, Action, Actor, Basis, BreakGlassGrant, BreakGlassReason, Decision, Relationship,
    Resource, authorize,
};
pub use relationship::{Corroboration, MentionIdentity, RecordBasis, corroborated};
pub use role::{Role, RoleParseError};
pub use view::View;
