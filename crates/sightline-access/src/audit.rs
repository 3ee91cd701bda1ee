//! The maths of the audit log: a canonical encoding of each entry, its SHA-256
//! over that encoding and the previous entry's hash, and a verifier that walks the
//! chain in order.
//!
//! An entry commits to everything before it: changing, removing, inserting or
//! moving any entry breaks the link of the entry after it (or, for the newest
//! entry, the recorded head). Storage (the `audit_log` table and its head row)
//! lives in `sightline-store`; this module never does IO.

use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Names the encoding, so a future version cannot be confused with this one.
const DOMAIN: &[u8] = b"sightline-audit-v1";

/// One audited access, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain: 1, 2, 3... without gaps.
    pub seq: i64,
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
    /// The acting user, or `None` for the command line or the system.
    pub actor_user_id: Option<i64>,
    /// The acting user's username (or `cli`, `system`).
    pub actor_username: String,
    /// The actor's role (stable name), empty for the system.
    pub actor_role: String,
    /// The actor's agency, empty for the system.
    pub actor_agency: String,
    /// What was done: the view or action, e.g. `view_record`, `login`.
    pub action: String,
    /// Which person or record it concerned (a resource key such as
    /// `record:police/DA-1`, `child:P-1`, `user:12`, or `service`).
    pub resource_key: String,
    /// Under which relationship or break-glass grant (`own_agency`,
    /// `break_glass:3`, `role:administrator`), or the break-glass reason for a
    /// grant.
    pub basis: String,
    /// The decision or result: `full`, `minimal`, `deny`, `ok`.
    pub outcome: String,
}

/// An entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEntry {
    /// The entry.
    pub entry: AuditEntry,
    /// The hash of the entry before it ([`GENESIS_HASH`] for the first).
    pub prev_hash: [u8; 32],
    /// [`entry_hash`] of this entry and `prev_hash`.
    pub entry_hash: [u8; 32],
}

/// The newest entry as recorded beside the chain (the store's head row, or an
/// anchor kept elsewhere by an operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The newest entry's `seq`.
    pub seq: i64,
    /// The newest entry's hash.
    pub entry_hash: [u8; 32],
}

fn push_field(bytes: &mut Vec<u8>, tag: u8, value: &[u8]) {
    bytes.push(tag);
    bytes.extend_from_slice(&(value.len() as u64).to_be_bytes());
    bytes.extend_from_slice(value);
}

/// The canonical bytes of an entry: the domain, then each field as a tag byte, a
/// big-endian u64 length and the bytes. Unambiguous: no two entries share them.
pub fn canonical_bytes(entry: &AuditEntry) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    push_field(&mut bytes, 0, DOMAIN);
    push_field(&mut bytes, 1, &entry.seq.to_be_bytes());
    push_field(&mut bytes, 2, &entry.at_us.to_be_bytes());
    match entry.actor_user_id {
        Some(user_id) => push_field(&mut bytes, 3, &user_id.to_be_bytes()),
        None => push_field(&mut bytes, 4, &[]),
    }
    push_field(&mut bytes, 5, entry.actor_username.as_bytes());
    push_field(&mut bytes, 6, entry.actor_role.as_bytes());
    push_field(&mut bytes, 7, entry.actor_agency.as_bytes());
    push_field(&mut bytes, 8, entry.action.as_bytes());
    push_field(&mut bytes, 9, entry.resource_key.as_bytes());
    push_field(&mut bytes, 10, entry.basis.as_bytes());
    push_field(&mut bytes, 11, entry.outcome.as_bytes());
    bytes
}

/// SHA-256 over the previous entry's hash and this entry's canonical bytes.
pub fn entry_hash(prev_hash: &[u8; 32], entry: &AuditEntry) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical_bytes(entry));
    hasher.finalize().into()
}

/// Seals `entry` after the entry whose hash is `prev_hash`.
pub fn seal(prev_hash: [u8; 32], entry: AuditEntry) -> SealedEntry {
    let entry_hash = entry_hash(&prev_hash, &entry);
    SealedEntry {
        entry,
        prev_hash,
        entry_hash,
    }
}

/// What is wrong at the first broken entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The entry's `seq` is not the one after the previous entry's (an entry was
    /// removed, inserted or moved).
    UnexpectedSeq {
        /// The `seq` that should have come next.
        expected: i64,
    },
    /// `prev_hash` is not the previous entry's hash.
    BrokenLink,
    /// The stored hash does not match the entry's content (it was changed).
    ContentChanged,
    /// The recorded head names an entry the chain does not end with.
    HeadMismatch {
        /// The `seq` the chain ends with (0 when empty).
        last_seq: i64,
    },
    /// Entries exist but no head was recorded.
    HeadMissing,
}

/// The first broken entry of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {problem}")]
pub struct ChainBreak {
    /// The `seq` of the first entry that does not verify (for a head problem, the
    /// head's `seq`).
    pub seq: i64,
    /// What is wrong there.
    pub problem: Problem,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnexpectedSeq { expected } => write!(
                formatter,
                "expected entry {expected} here (an entry was removed, inserted or moved)"
            ),
            Problem::BrokenLink => {
                formatter.write_str("prev_hash does not match the previous entry's hash")
            }
            Problem::ContentChanged => {
                formatter.write_str("the stored hash does not match the entry's content")
            }
            Problem::HeadMismatch { last_seq } => write!(
                formatter,
                "the recorded head does not match the newest entry ({last_seq})"
            ),
            Problem::HeadMissing => formatter.write_str("entries exist but no head is recorded"),
        }
    }
}

/// How a verified chain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    /// How many entries were checked.
    pub n_entries: u64,
    /// The newest entry, `None` when empty.
    pub head: Option<Head>,
}

/// Walks a chain in `seq` order, one entry at a time (so a caller can page
/// through a large log), and stops at the first broken entry.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: [u8; 32],
    n_entries: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting entry 1 after [`GENESIS_HASH`].
    pub fn new() -> Self {
        ChainVerifier {
            next_seq: 1,
            prev_hash: GENESIS_HASH,
            n_entries: 0,
        }
    }

    /// Checks the next entry.
    pub fn push(&mut self, sealed: &SealedEntry) -> Result<(), ChainBreak> {
        let seq = sealed.entry.seq;
        let broken = |problem| Err(ChainBreak { seq, problem });
        if seq != self.next_seq {
            return broken(Problem::UnexpectedSeq {
                expected: self.next_seq,
            });
        }
        if sealed.prev_hash != self.prev_hash {
            return broken(Problem::BrokenLink);
        }
        if entry_hash(&sealed.prev_hash, &sealed.entry) != sealed.entry_hash {
            return broken(Problem::ContentChanged);
        }
        self.next_seq = seq.saturating_add(1);
        self.prev_hash = sealed.entry_hash;
        self.n_entries += 1;
        Ok(())
    }

    /// The `seq` of the last entry checked (0 before any).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// Checks that the chain ends where the recorded head says it does.
    pub fn finish(self, recorded_head: Option<Head>) -> Result<ChainSummary, ChainBreak> {
        let last_seq = self.next_seq - 1;
        let head = (self.n_entries > 0).then_some(Head {
            seq: last_seq,
            entry_hash: self.prev_hash,
        });
        match (recorded_head, head) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(ChainBreak {
                    seq: last_seq,
                    problem: Problem::HeadMissing,
                });
            }
            (Some(recorded), actual) if Some(recorded) != actual => {
                return Err(ChainBreak {
                    seq: recorded.seq,
                    problem: Problem::HeadMismatch { last_seq },
                });
            }
            (Some(_), _) => {}
        }
        Ok(ChainSummary {
            n_entries: self.n_entries,
            head,
        })
    }
}

/// Verifies a whole chain held in memory.
pub fn verify<'a>(
    entries: impl IntoIterator<Item = &'a SealedEntry>,
    recorded_head: Option<Head>,
) -> Result<ChainSummary, ChainBreak> {
    let mut verifier = ChainVerifier::new();
    for sealed in entries {
        verifier.push(sealed)?;
    }
    verifier.finish(recorded_head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(seq: i64, action: &str) -> AuditEntry {
        AuditEntry {
            seq,
            at_us: 1_700_000_000_000_000 + seq,
            actor_user_id: Some(3),
            actor_username: "synthetic.worker".into(),
            actor_role: "practitioner".into(),
            actor_agency: "police".into(),
            action: action.into(),
            resource_key: format!("record:police/R-{seq}"),
            basis: "own_agency".into(),
            outcome: "full".into(),
        }
    }

    fn chain(entries: Vec<AuditEntry>) -> (Vec<SealedEntry>, Option<Head>) {
        let mut prev_hash = GENESIS_HASH;
        let mut sealed = Vec::new();
        for mut entry in entries {
            entry.seq = sealed.len() as i64 + 1;
            let next = seal(prev_hash, entry);
            prev_hash = next.entry_hash;
            sealed.push(next);
        }
        let head = sealed.last().map(|last| Head {
            seq: last.entry.seq,
            entry_hash: last.entry_hash,
        });
        (sealed, head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (sealed, head) = chain((1..=5).map(|seq| entry(seq, "view_record")).collect());
        let summary = verify(&sealed, head).unwrap();
        assert_eq!(summary.n_entries, 5);
        assert_eq!(summary.head, head);
        assert_eq!(verify(&[], None).unwrap().n_entries, 0);
    }

    #[test]
    fn the_first_broken_entry_is_named() {
        let (mut sealed, head) = chain((1..=5).map(|seq| entry(seq, "view_record")).collect());
        sealed[2].entry.outcome = "deny".into();
        let error = verify(&sealed, head).unwrap_err();
        assert_eq!(error.seq, 3);
        assert_eq!(error.problem, Problem::ContentChanged);
        assert!(
            error
                .to_string()
                .starts_with("audit chain broken at entry 3")
        );
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = entry(1, "view");
        let mut b = entry(1, "view");
        a.actor_username = "ab".into();
        a.actor_role = "c".into();
        b.actor_username = "a".into();
        b.actor_role = "bc".into();
        assert_ne!(canonical_bytes(&a), canonical_bytes(&b));
        let mut c = entry(1, "view");
        c.actor_user_id = None;
        assert_ne!(canonical_bytes(&c), canonical_bytes(&entry(1, "view")));
    }

    #[derive(Debug, Clone)]
    enum Tamper {
        /// Change one field of one entry (index, field, new text).
        Update(usize, usize, String),
        /// Remove one entry.
        Delete(usize),
        /// Insert an entry at a position, sealed against the entry before it
        /// (the strongest forgery without rewriting the rest of the chain).
        Insert(usize, String),
        /// Swap two entries.
        Swap(usize, usize),
    }

    fn tamper_strategy() -> impl Strategy<Value = Tamper> {
        prop_oneof![
            (any::<usize>(), 0usize..13, "[a-z]{0,8}")
                .prop_map(|(i, f, t)| Tamper::Update(i, f, t)),
            any::<usize>().prop_map(Tamper::Delete),
            (any::<usize>(), "[a-z]{1,8}").prop_map(|(i, t)| Tamper::Insert(i, t)),
            (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Tamper::Swap(i, j)),
        ]
    }

    /// Applies a tampering; `false` when it would change nothing (e.g. an update
    /// to the same value), which is not tampering.
    fn apply(sealed: &mut Vec<SealedEntry>, tamper: &Tamper) -> bool {
        let n = sealed.len();
        match tamper {
            Tamper::Update(i, field, text) => {
                let target = &mut sealed[i % n];
                let before = target.clone();
                let number = text.len() as i64 + 1_000;
                let hash = [text.len() as u8 + 1; 32];
                match field {
                    0 => target.entry.seq = number,
                    1 => target.entry.at_us = number,
                    2 => target.entry.actor_user_id = Some(number),
                    3 => target.entry.actor_user_id = None,
                    4 => target.entry.actor_username = text.clone(),
                    5 => target.entry.actor_role = text.clone(),
                    6 => target.entry.actor_agency = text.clone(),
                    7 => target.entry.action = text.clone(),
                    8 => target.entry.resource_key = text.clone(),
                    9 => target.entry.basis = text.clone(),
                    10 => target.entry.outcome = text.clone(),
                    11 => target.prev_hash = hash,
                    _ => target.entry_hash = hash,
                }
                *target != before
            }
            Tamper::Delete(i) => {
                sealed.remove(i % n);
                true
            }
            Tamper::Insert(i, action) => {
                let position = i % (n + 1);
                let prev_hash = if position == 0 {
                    GENESIS_HASH
                } else {
                    sealed[position - 1].entry_hash
                };
                let forged = seal(prev_hash, entry(position as i64 + 1, action));
                sealed.insert(position, forged);
                true
            }
            Tamper::Swap(i, j) => {
                let (i, j) = (i % n, j % n);
                if i == j {
                    return false;
                }
                sealed.swap(i, j);
                true
            }
        }
    }

    proptest! {
        #[test]
        fn any_tampering_is_detected(
            actions in proptest::collection::vec("[a-z_]{1,12}", 1..20),
            tamper in tamper_strategy(),
        ) {
            let (mut sealed, head) = chain(actions.iter().enumerate().map(|(i, a)| entry(i as i64 + 1, a)).collect());
            prop_assert!(verify(&sealed, head).is_ok());
            if apply(&mut sealed, &tamper) {
                prop_assert!(verify(&sealed, head).is_err(), "undetected: {:?}", tamper);
            }
        }
    }
}
