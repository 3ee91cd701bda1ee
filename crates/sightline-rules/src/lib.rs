//! Sightline's early-warning rules: a small rule language a safeguarding lead can
//! read, the default pack, and a pure evaluator over one child's multi-agency
//! picture.
//!
//! # Why a small line-oriented language, not TOML
//!
//! Rules are reviewed by safeguarding leads, not programmers. A rule reads as a
//! short indented block of English-like clauses (`match has injury and child.age <
//! 2 years`, `count at least 2 within 90 days`, `due 10 working days`), one clause
//! per line, with `#` comments. TOML would wrap every condition in a quoted string
//! inside a table, so the part a reviewer cares about would be a second language
//! hidden in strings, and the positions of errors inside those strings would be
//! offsets into an escaped value. Our own grammar is about as small as the
//! expression grammar TOML would need anyway, needs no dependency, and lets every
//! error name the exact line and column (`default.rules:12:7: unknown finding code
//! "brusie" (did you mean "bruise"?)`). `RULES.md` describes the format.
//!
//! # Entry points
//!
//! - [`check`] parses and lints a pack: `Err` with every error, or a [`Pack`] whose
//!   `warnings` hold the lint findings.
//! - [`default_pack`] is the built-in pack (`rules/default.rules`).
//! - [`evaluate`] runs a pack over a [`ChildPicture`] as of a logical time `now`.
//! - [`clocks`] reports the statutory clocks of a pack's clock rules for a child
//!   as of `now` (running, met, overdue), from the same sweep.
//!
//! Invariant: this crate does no IO, reads no clock and starts no task; `now` is
//! always a parameter.
//!
//! Invariant: evaluation as of T sees only events with `recorded_at <= T`; the
//! firings as of T are a prefix of the firings as of any later time, with the same
//! `raised_at` (incremental evaluation equals batch evaluation).
//!
//! Invariant: a [`Pack`] exists only if it passed [`check`]: every kind, finding
//! code, attribute and value in it is in the interchange vocabulary (v1.1), every rule
//! cites guidance, and every limit in [`limits`] holds.
//!
//! Invariant: no function here panics on any input; sizes are bounded by
//! [`limits`], [`ChildPicture::EVENTS_MAX`] and [`FIRINGS_MAX`].

mod ast;
pub mod calendar;
mod eval;
mod model;
mod parse;
mod render;

pub use ast::{
    About, Atom, AttributeCondition, Body, ClockStart, Comparison, CountClause, DistinctClause,
    DistinctKey, EarlierClause, Expr, History, Pack, Piece, Placeholder, PlanState, Raise,
    RouteTarget, Rule, Scope, Severity, Value,
};
pub use calendar::{Span, SpanUnit};
pub use eval::{
    ClockReport, ClockStatus, DateWindow, DedupKey, FIRINGS_MAX, Firing, Route, clocks, evaluate,
};
pub use model::{
    AgencyType, Child, ChildPicture, Connection, Event, EventFinding, EventPerson, EvidenceRef,
    Link, Offence, OffenceSource, PersonAround, PictureError, Release, Subject,
};
pub use parse::{Level, RuleError, check, limits};
pub use render::{Reference, UNNAMED_PERSON, kind_words, resolve_explanation};

/// The text of the default rule pack.
pub const DEFAULT_PACK_TEXT: &str = include_str!("../rules/default.rules");

/// The default rule pack, checked.
pub fn default_pack() -> Result<Pack, Vec<RuleError>> {
    check(DEFAULT_PACK_TEXT)
}
