//! Memory accounting: how many heap bytes a structure holds, estimated from
//! the capacities of its containers (what was allocated, not what is used),
//! so a resident-memory figure can be explained part by part.
//!
//! The estimates leave out the allocator's own overhead (size-class rounding,
//! free pages it keeps): a process's resident memory is larger than their sum.
//! A hash map is counted as hashbrown lays it out (buckets, a power of two at
//! least 8/7 of the capacity, of one entry and one control byte each); a
//! `BTreeMap` as its entries at two thirds node fill plus a pointer per entry.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::size_of;

/// One part of a structure's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPart {
    /// What it holds, as a path (`linkage/links`).
    pub name: String,
    /// Estimated bytes (heap, plus the inline size of the elements it counts).
    pub bytes: u64,
    /// How many items it holds (records, mentions, entries), for bytes per item.
    pub items: u64,
}

impl MemoryPart {
    pub fn new(name: impl Into<String>, bytes: usize, items: usize) -> MemoryPart {
        MemoryPart {
            name: name.into(),
            bytes: bytes as u64,
            items: items as u64,
        }
    }
}

/// Makes room for `additional` more elements, growing by an eighth of the
/// length rather than doubling: for the lists an index keeps for its life
/// (one entry per mention or link), where doubling leaves up to half the
/// buffer unused. Still amortised constant time per element.
pub fn reserve_gently<T>(vec: &mut Vec<T>, additional: usize) {
    if vec.capacity() - vec.len() < additional {
        vec.reserve_exact(additional.max(vec.len() / 8).max(64));
    }
}

/// Bytes a `Vec`'s buffer holds (its elements' inline size; not their heap).
pub fn vec_bytes<T>(vec: &Vec<T>) -> usize {
    vec.capacity() * size_of::<T>()
}

/// Bytes a `VecDeque`'s buffer holds.
pub fn deque_bytes<T>(deque: &VecDeque<T>) -> usize {
    deque.capacity() * size_of::<T>()
}

/// Bytes a `String` holds on the heap.
pub fn string_bytes(text: &String) -> usize {
    text.capacity()
}

/// Heap bytes of an optional string.
pub fn option_string_bytes(text: &Option<String>) -> usize {
    text.as_ref().map_or(0, String::capacity)
}

/// Bytes of a hashbrown table of `capacity` entries of `entry_bytes` each.
pub fn hash_table_bytes(capacity: usize, entry_bytes: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        if capacity < 4 { 4 } else { 8 }
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    // Control bytes: one per bucket plus a group's width.
    buckets * entry_bytes + buckets + 16
}

/// Bytes a `HashMap`'s table holds (keys and values inline; not their heap).
pub fn hash_map_bytes<K, V, S>(map: &HashMap<K, V, S>) -> usize {
    hash_table_bytes(map.capacity(), size_of::<(K, V)>())
}

/// Bytes a `HashSet`'s table holds.
pub fn hash_set_bytes<T, S>(set: &HashSet<T, S>) -> usize {
    hash_table_bytes(set.capacity(), size_of::<T>())
}

/// Bytes of a B-tree of `len` entries of `entry_bytes` each (estimate).
pub fn btree_bytes(len: usize, entry_bytes: usize) -> usize {
    // Nodes hold up to 11 entries and are about two thirds full; each node
    // has a header and internal nodes a pointer per child.
    (len * entry_bytes * 3).div_ceil(2) + len * size_of::<usize>()
}

/// Bytes a `BTreeMap` holds (keys and values inline; not their heap).
pub fn btree_map_bytes<K, V>(map: &BTreeMap<K, V>) -> usize {
    btree_bytes(map.len(), size_of::<(K, V)>())
}

/// Bytes a `BTreeSet` holds.
pub fn btree_set_bytes<T>(set: &BTreeSet<T>) -> usize {
    btree_bytes(set.len(), size_of::<T>())
}

/// Bytes of a `Vec<Vec<T>>`: the outer buffer and every inner one.
pub fn nested_vec_bytes<T>(vecs: &Vec<Vec<T>>) -> usize {
    vec_bytes(vecs) + vecs.iter().map(vec_bytes).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_count_capacity_not_length() {
        let mut numbers: Vec<u64> = Vec::with_capacity(100);
        numbers.push(1);
        assert_eq!(vec_bytes(&numbers), 800);
        let nested = vec![vec![1u32; 10], Vec::new()];
        assert_eq!(nested_vec_bytes(&nested), 2 * size_of::<Vec<u32>>() + 40);
        assert_eq!(hash_table_bytes(0, 16), 0);
        // 1,000 entries need 2,048 buckets at hashbrown's 7/8 load.
        assert_eq!(hash_table_bytes(1_000, 16), 2_048 * 17 + 16);
        let mut map: HashMap<u32, u32> = HashMap::new();
        map.insert(1, 2);
        assert!(hash_map_bytes(&map) >= 4 * 8);
        assert_eq!(btree_bytes(0, 48), 0);
        assert!(btree_bytes(100, 48) > 100 * 48);
    }

    #[test]
    fn gentle_growth_leaves_at_most_an_eighth_unused() {
        let mut ids: Vec<u32> = Vec::new();
        for id in 0..100_000 {
            reserve_gently(&mut ids, 1);
            ids.push(id);
            assert!(ids.capacity() <= ids.len() + (ids.len() / 8).max(64));
        }
    }
}
