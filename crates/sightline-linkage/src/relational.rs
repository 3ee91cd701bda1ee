//! Relational evidence: the people named around a mention.
//!
//! A police log may name a child by name alone, beside the mother who rang;
//! other agencies' records about the child name the same mother. The model
//! compares two mentions field by field and finds little to go on; the
//! people named beside them say more. A caller gives each mention a
//! [`MentionContext`]: the group it belongs to (the record that names it and
//! the people beside it), whether it may count as evidence for the others of
//! its group, and its relationships to them. For a pair of mentions in two
//! groups, each person named beside one who is, by the model alone, the same
//! person as someone named beside the other (with relationships that do not
//! contradict each other: a mother beside one is not a partner beside the
//! other) adds `person_weight`; an address shared through the people a
//! mention lives with adds `address_weight`; together at most `weight_max`
//! ([`crate::settings::RelationalSettings`]).
//!
//! Invariant: relational evidence of a pair depends only on the frozen model
//! and the two mentions' groups (never on other records, links or clusters),
//! so batch and incremental linkage give it alike.
//! Invariant: it counts only where the model alone does not link the pair,
//! and never when the names disagree or the dates of birth conflict: it adds
//! to a pair's own agreement, it never replaces it.

use rustc_hash::FxHashMap;

/// How a person named in a record is related to another of its persons
/// (directed: `from` is `Kin` of `to`). Only the kinds that tell people
/// apart are distinguished; the rest are `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kin {
    /// Parent (step-parents too).
    ParentOf,
    /// Grandparent.
    GrandparentOf,
    /// Partner (either direction).
    PartnerOf,
    /// Brother or sister (either direction).
    SiblingOf,
    /// Cares for.
    CarerOf,
    /// Lives with (either direction).
    LivesWith,
    /// Any other relationship (a relative, a visitor).
    Other,
}

/// What a record says around one of its person mentions: the group of
/// mentions named together (one record), whether this mention may serve as
/// relational evidence for the others (not a professional named in passing),
/// and its relationships to the others, by their position in the group.
///
/// Mentions of one group are consecutive and share `group`; a group's
/// mentions are linked together ([`crate::LinkageIndex::add_group`], or
/// consecutively in a batch).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MentionContext {
    /// The caller's id of the group (e.g. the record's position in the log).
    pub group: u64,
    /// Whether this mention may be evidence about the others of its group.
    pub beside: bool,
    /// `(position of another mention of the group, how this one is related to it)`.
    pub relations: Vec<(u16, Kin)>,
}

/// The relationship of someone named beside a mention to that mention, as
/// far as it tells people apart: two mentions' relationships to one person
/// contradict each other only when both are known and differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KinClass {
    Unknown,
    Parent,
    Child,
    Partner,
    Sibling,
    Grandparent,
    Grandchild,
}

impl KinClass {
    /// The class of `kin` as the relationship of `from` to `to`, seen from
    /// `to` (`forward`) or from `from` (`!forward`: `to` is `kin` of the
    /// mention).
    fn of(kin: Kin, forward: bool) -> KinClass {
        match (kin, forward) {
            (Kin::ParentOf, true) => KinClass::Parent,
            (Kin::ParentOf, false) => KinClass::Child,
            (Kin::GrandparentOf, true) => KinClass::Grandparent,
            (Kin::GrandparentOf, false) => KinClass::Grandchild,
            (Kin::PartnerOf, _) => KinClass::Partner,
            (Kin::SiblingOf, _) => KinClass::Sibling,
            (Kin::CarerOf | Kin::LivesWith | Kin::Other, _) => KinClass::Unknown,
        }
    }

    pub(crate) fn compatible(self, other: KinClass) -> bool {
        self == KinClass::Unknown || other == KinClass::Unknown || self == other
    }
}

/// The groups of the records in an index: empty (no cost) until a mention
/// brings a context.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contexts {
    /// Per record: the first record of its group.
    group_start: Vec<u32>,
    /// Per record: may be evidence for the others of its group.
    beside: Vec<bool>,
    /// Relations within groups: `(from, to)` records -> kin.
    kin: FxHashMap<(u32, u32), Kin>,
    /// The caller's id of the last record's group (`None` for a mention without context).
    last_group: Option<u64>,
}

impl Contexts {
    /// Estimated heap bytes ([`crate::memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map_bytes, vec_bytes};
        vec_bytes(&self.group_start) + vec_bytes(&self.beside) + hash_map_bytes(&self.kin)
    }

    /// True while no mention has brought a context.
    pub(crate) fn is_empty(&self) -> bool {
        self.group_start.is_empty()
    }

    /// Note record `record` (the next one) with its context.
    pub(crate) fn push(&mut self, record: u32, context: Option<&MentionContext>) {
        let Some(context) = context else {
            if !self.group_start.is_empty() {
                self.group_start.push(record);
                self.beside.push(false);
            }
            self.last_group = None;
            return;
        };
        if self.group_start.is_empty() {
            self.group_start.extend(0..record);
            self.beside.resize(record as usize, false);
        }
        let start = match (self.last_group, record.checked_sub(1)) {
            (Some(last), Some(previous)) if last == context.group => self
                .group_start
                .get(previous as usize)
                .copied()
                .unwrap_or(record),
            _ => record,
        };
        self.group_start.push(start);
        self.beside.push(context.beside);
        for (position, kin) in &context.relations {
            let other = start.saturating_add(u32::from(*position));
            if other != record {
                self.kin.insert((record, other), *kin);
            }
        }
        self.last_group = Some(context.group);
    }

    /// The caller's group id of the last record, if it had a context.
    pub(crate) fn last_group(&self) -> Option<u64> {
        self.last_group
    }

    /// The first record of `record`'s group.
    pub(crate) fn group_start(&self, record: u32) -> u32 {
        self.group_start
            .get(record as usize)
            .copied()
            .unwrap_or(record)
    }

    /// The records of `record`'s group, in order (at most `max + 1`, so a
    /// caller can tell a group larger than `max`).
    pub(crate) fn members(&self, record: u32, max: usize) -> std::ops::Range<u32> {
        let start = self.group_start(record);
        let mut end = start.saturating_add(1);
        while self.group_start.get(end as usize) == Some(&start) && (end - start) as usize <= max {
            end += 1;
        }
        start..end
    }

    /// Whether `record` may be evidence for the others of its group.
    pub(crate) fn beside(&self, record: u32) -> bool {
        self.beside.get(record as usize).copied().unwrap_or(false)
    }

    /// How `other` (named beside `record` in its group) is related to `record`.
    pub(crate) fn kin_to(&self, other: u32, record: u32) -> KinClass {
        if let Some(kin) = self.kin.get(&(other, record)) {
            KinClass::of(*kin, true)
        } else if let Some(kin) = self.kin.get(&(record, other)) {
            KinClass::of(*kin, false)
        } else {
            KinClass::Unknown
        }
    }

    /// Whether `other` (named beside `record`) lives with it as far as the
    /// record says: a parent or carer of it, or living with it.
    pub(crate) fn lives_with(&self, other: u32, record: u32) -> bool {
        matches!(
            self.kin.get(&(other, record)),
            Some(Kin::ParentOf | Kin::CarerOf | Kin::LivesWith)
        ) || matches!(self.kin.get(&(record, other)), Some(Kin::LivesWith))
    }
}

/// Why relational evidence found for a pair does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCounted {
    /// The model links the pair on its own evidence.
    LinkedWithout,
    /// The names disagree: the people around them cannot make them one.
    NamesDisagree,
    /// Both dates of birth are known and conflict.
    DatesConflict,
}

/// The people named around two mentions, as evidence about the pair: shown
/// in the waterfall ([`crate::Explanation::relational`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RelationalEvidence {
    /// `(named beside left, named beside right)`: pairs of people named
    /// beside the two mentions whom the model finds to be one person (record
    /// indexes), at most one pair per person.
    pub shared_people: Vec<(u32, u32)>,
    /// An address the two share through the people one of them lives with:
    /// `(record holding it on the left, on the right)` (a mention's own
    /// record when the address is its own).
    pub shared_address: Option<(u32, u32)>,
    /// What it adds to the match weight (log2; 0 when it does not count).
    pub weight: f64,
    /// What it would add if it counted (at most `weight_max`).
    pub weight_found: f64,
    /// The part of `weight_found` the overlapping evidence group (the
    /// household) already counts for the pair, so not counted again.
    pub already_counted: f64,
    /// The name of that group (`household`), when one is configured.
    pub overlaps: Option<String>,
    /// Why it does not count, when it does not.
    pub not_counted: Option<NotCounted>,
}

impl RelationalEvidence {
    /// The waterfall label of the evidence ("1 person named beside both; same address").
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        match self.shared_people.len() {
            0 => {}
            1 => parts.push("1 person named beside both".to_owned()),
            n => parts.push(format!("{n} people named beside both")),
        }
        if self.shared_address.is_some() {
            parts.push("an address shared through the people they live with".to_owned());
        }
        if parts.is_empty() {
            parts.push("no one named beside both".to_owned());
        }
        let mut label = parts.join("; ");
        match self.not_counted {
            Some(NotCounted::LinkedWithout) if self.weight_found > 0.0 => {
                label.push_str("; not needed: linked on its own evidence");
            }
            Some(NotCounted::NamesDisagree) if self.weight_found > 0.0 => {
                label.push_str("; not counted: the names disagree");
            }
            Some(NotCounted::DatesConflict) if self.weight_found > 0.0 => {
                label.push_str("; not counted: the dates of birth conflict");
            }
            None if self.already_counted > 0.0 && self.weight_found > 0.0 => {
                let group = self.overlaps.as_deref().unwrap_or("other");
                if self.weight <= 0.0 {
                    label.push_str(&format!("; already counted as {group} evidence"));
                } else {
                    label.push_str(&format!(
                        "; beyond what the {group} evidence counts ({:.1})",
                        self.already_counted
                    ));
                }
            }
            _ => {}
        }
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(group: u64, relations: Vec<(u16, Kin)>) -> MentionContext {
        MentionContext {
            group,
            beside: true,
            relations,
        }
    }

    #[test]
    fn groups_are_runs_of_one_group_id() {
        let mut contexts = Contexts::default();
        contexts.push(0, None);
        assert!(contexts.is_empty());
        contexts.push(1, Some(&context(7, vec![])));
        contexts.push(2, Some(&context(7, vec![(0, Kin::ParentOf)])));
        contexts.push(3, Some(&context(8, vec![])));
        contexts.push(4, None);
        contexts.push(5, Some(&context(8, vec![])));
        assert_eq!(contexts.members(0, 16), 0..1);
        assert_eq!(contexts.members(2, 16), 1..3);
        assert_eq!(contexts.members(1, 16), 1..3);
        assert_eq!(contexts.members(3, 16), 3..4);
        assert_eq!(contexts.members(4, 16), 4..5);
        // A group interrupted by a mention without context starts again.
        assert_eq!(contexts.members(5, 16), 5..6);
        assert_eq!(contexts.kin_to(2, 1), KinClass::Parent);
        assert_eq!(contexts.kin_to(1, 2), KinClass::Child);
        assert!(contexts.lives_with(2, 1));
        assert!(!contexts.lives_with(1, 2));
        assert_eq!(
            contexts.members(1, 1),
            1..3,
            "one more than max tells a large group"
        );
    }

    #[test]
    fn relationships_contradict_only_when_both_are_known() {
        use KinClass::*;
        assert!(Parent.compatible(Parent));
        assert!(Parent.compatible(Unknown));
        assert!(Unknown.compatible(Partner));
        assert!(!Parent.compatible(Partner));
        assert!(!Parent.compatible(Child));
        assert_eq!(KinClass::of(Kin::CarerOf, true), Unknown);
    }
}
