//! The RFC 6962 Merkle hash tree over the audit log, kept as its right edge.
//!
//! A signed checkpoint (`checkpoint`) names a tree size and the root of the
//! tree of the first that many entries. The tree's leaves are the entries'
//! canonical bytes ([`crate::audit::canonical_bytes`]), so the root commits to
//! every field of every entry in order: an entry changed, removed, inserted or
//! moved before a checkpoint's size gives another root at that size, whatever
//! the chain's own hashes and head were rewritten to.
//!
//! [`Frontier`] is the compact form: one perfect-subtree hash per set bit of
//! the size (at most 64), so the root of a log of any length is kept in a few
//! hundred bytes and extended one entry at a time.

use sha2::{Digest, Sha256};

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> [u8; 32] {
    Sha256::digest([]).into()
}

/// The hash of a leaf: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The right edge of a Merkle tree: enough to give its root and to append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// The roots of the perfect subtrees the leaves so far split into, largest
    /// (leftmost) first; their heights are the set bits of `size`.
    subtrees: Vec<[u8; 32]>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf given its [`leaf_hash`].
    pub fn push_leaf_hash(&mut self, leaf: [u8; 32]) {
        let mut carry = leaf;
        // Each trailing one bit of the old size is a subtree of the height the
        // carry now has: merge them, as binary addition carries.
        let mut size = self.size;
        while size & 1 == 1 {
            match self.subtrees.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break,
            }
            size >>= 1;
        }
        self.subtrees.push(carry);
        self.size = self.size.saturating_add(1);
    }

    /// Appends a leaf given its data.
    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// The root of the tree of the leaves so far (RFC 6962 `MTH`).
    pub fn root(&self) -> [u8; 32] {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(smallest) = subtrees.next() else {
            return empty_root();
        };
        subtrees.fold(*smallest, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6962 section 2.1, written as the definition reads.
    fn reference_root(leaves: &[Vec<u8>]) -> [u8; 32] {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let mut split = 1;
                while split * 2 < n {
                    split *= 2;
                }
                node_hash(
                    &reference_root(&leaves[..split]),
                    &reference_root(&leaves[split..]),
                )
            }
        }
    }

    #[test]
    fn known_roots() {
        // RFC 6962's empty tree and the leaf hash of the empty string.
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut frontier = Frontier::new();
        frontier.push(b"");
        assert_eq!(
            hex::encode(frontier.root()),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    proptest! {
        #[test]
        fn the_frontier_gives_the_reference_root_at_every_size(
            leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..70),
        ) {
            let mut frontier = Frontier::new();
            prop_assert_eq!(frontier.root(), reference_root(&[]));
            for (count, leaf) in leaves.iter().enumerate() {
                frontier.push(leaf);
                prop_assert_eq!(frontier.size(), count as u64 + 1);
                prop_assert_eq!(frontier.root(), reference_root(&leaves[..=count]));
            }
        }
    }
}
