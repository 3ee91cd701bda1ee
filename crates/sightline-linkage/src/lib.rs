//! # sightline-linkage
//!
//! Pure record linkage: one person across agencies. No files, sockets or
//! clocks; randomness comes in as a seeded RNG.
//!
//! The journey of a mention: a caller builds a [`MentionInput`] (key, raw
//! values by column name), or implements [`Mention`] over its own records
//! (values by settings column, borrowed) -> [`RecordStore`] interns the key
//! and prepares each distinct value once ([`normalise`]) -> [`BlockIndex`] finds earlier records that share
//! a block key under any rule -> the frozen Fellegi-Sunter [`Model`] scores each
//! candidate pair field by field ([`Explanation`] is the waterfall) -> hard
//! identity rules and human decisions override the model -> links above the
//! link threshold are clustered into persons under cannot-link constraints.
//!
//! Settings (columns, comparison levels, blocking rules, limits, thresholds) come
//! from TOML; two are built in: [`Settings::uk_persons`] and [`Settings::febrl`].
//!
//! Entry points: [`LinkageIndex::train_and_link`] (batch, training a model with
//! a seeded RNG), [`LinkageIndex::batch`] (batch with a frozen [`Model`]),
//! [`LinkageIndex::add`] (one mention at intake), [`LinkageIndex::add_group`]
//! (one record's mentions, with the people beside each), [`LinkageIndex::decide`]
//! (a person's match / non-match), [`LinkageIndex::explain`] (the waterfall),
//! [`LinkageIndex::search`] (fuzzy search), [`Model::to_toml`] /
//! [`Model::from_toml`] (freeze a model), [`evaluate_febrl`] (quality report).
//!
//! ```
//! use rand::SeedableRng;
//! use sightline_linkage::{LinkScope, LinkageIndex, MentionInput, Settings};
//!
//! let mentions = vec![
//!     MentionInput::new("gp/1/c").with("given_names", "Peter").with("family_name", "Smith").with("dob", "2006-03-01"),
//!     MentionInput::new("police/9/c").with("given_names", "Pete").with("family_name", "SMITH").with("dob", "2006-01-03"),
//!     MentionInput::new("school/4/c").with("given_names", "Amelia").with("family_name", "Hughes").with("dob", "2015-06-02"),
//! ];
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let settings = Settings::uk_persons()?;
//! let (mut index, _report) = LinkageIndex::train_and_link(settings, LinkScope::Dedupe, &mentions, &[], &mut rng)?;
//! let explanation = index.explain(0, 1).ok_or("no such records")?;
//! for field in &explanation.fields {
//!     println!("{:>12} {:<28} {:+.2}", field.field, field.level, field.weight);
//! }
//! let later = MentionInput::new("ed/7/c").with("given_names", "Amelia").with("family_name", "Hughes");
//! let outcome = index.add(&later)?;
//! println!("record {} is person {} with {} links", outcome.record, outcome.person, outcome.links.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Invariant: a person (cluster) never holds two different valid strong identifiers (NHS numbers).
//! Invariant: a person never holds two different source person ids of one agency unless a person decided they match.
//! Invariant: two mentions a person decided are different are never in one person.
//! Invariant: the same valid strong identifier links two mentions unless that merge would break one of the above.
//! Invariant: with the same frozen model, adding mentions one by one gives the same links and persons as a batch over them in the same order.
//! Invariant: a block key admits at most `block_records_max` records; the rest are counted, never silently compared.
//! Invariant: scores depend only on the frozen model, the two records and the people named beside them in their groups (relational evidence, [`relational`]), never on other records, links or persons in the index.
//! Invariant: relational evidence counts only where the model alone does not link a pair, never when the given names disagree or are missing or the dates of birth conflict, only beyond what an overlapping evidence group (the household) counts for the pair, and at most below the prior ([`settings::RelationalSettings`]): never enough alone.
//! Invariant: a group's mentions (one record's persons) are linked together: [`LinkageIndex::add_group`] gives the links and persons of a batch over the same mentions in the same order.
//! Invariant: the comparisons of one evidence group (a household's surname, address and postcode) add only their strongest agreement, at most the group's `weight_max`, and only their strongest disagreement; when the group's `when_unknown` comparison (date of birth) is unknown for the pair, all their agreements add, at most its `weight_max`. When the group's `when_apart` comparison (given names) disagrees entirely, the agreements add at most that smaller `weight_max`.
//! Invariant: a batch's records, blocks, candidate pairs, model, links and persons do not depend on the number of threads that prepared, trained, scored, classified and clustered it.

pub mod eval;
pub mod index;
pub mod memory;
mod metaphone;
pub mod model;
pub mod normalise;
pub mod relational;
pub mod settings;
pub mod similarity;
pub mod store;
pub mod uk;

pub use eval::{EvalReport, FebrlDataset, PairMetrics, evaluate_febrl};
pub use index::{
    AddOutcome, BlockIndex, Conflict, HardRule, Link, LinkKind, LinkageIndex, Verdict,
};
pub use model::{Explanation, FieldContribution, LinkScope, Model, TrainingReport, train};
pub use relational::{Kin, MentionContext, NotCounted, RelationalEvidence};
pub use settings::Settings;
pub use store::{Mention, MentionInput, RecordStore};
pub use uk::UkPersonMention;

/// Errors of the linkage layer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkageError {
    /// The settings TOML is malformed or inconsistent.
    #[error("linkage settings: {0}")]
    Settings(String),
    /// Input data could not be read.
    #[error("linkage data: {0}")]
    Data(String),
    /// A mention key was added twice.
    #[error("mention key {0:?} is already in the index")]
    DuplicateKey(String),
    /// A decision named a key not in the index.
    #[error("no mention with key {0:?}")]
    UnknownKey(String),
    /// The index is full (record ids are 32-bit).
    #[error("the linkage index is full")]
    TooManyRecords,
}
