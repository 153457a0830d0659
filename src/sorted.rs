//! Sets and maps as sorted Vecs: the order, the uniqueness and the logarithmic lookups of
//! `BTreeSet`/`BTreeMap`, for a fraction of the code (on the router every B-tree key type
//! brings its own insert, remove, search, iteration and drop code).
use std::borrow::Borrow;
use std::ops::{Deref, Index};

use serde::ser::{Serialize, Serializer};

/// Sorted, without repeats: iterates as a `BTreeSet` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedSet<T>(Vec<T>);

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet(Vec::new())
    }
}

impl<T: Ord> SortedSet<T> {
    pub fn new() -> Self {
        SortedSet(Vec::new())
    }

    /// Sorts and drops repeats: O(n log n) however many there are.
    pub fn from_vec(mut items: Vec<T>) -> Self {
        items.sort_unstable();
        items.dedup();
        SortedSet(items)
    }

    pub fn contains<Q: Ord + ?Sized>(&self, item: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.0.binary_search_by(|t| t.borrow().cmp(item)).is_ok()
    }

    /// Inserts in place, true when it was not there. Linear per insert: for sets of a few
    /// (configs, files); a set that grows with the LAN is built with `from_vec`.
    pub fn insert(&mut self, item: T) -> bool {
        match self.0.binary_search(&item) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, item);
                true
            }
        }
    }
}

impl<T> Deref for SortedSet<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        SortedSet::from_vec(iter.into_iter().collect())
    }
}

impl<T> IntoIterator for SortedSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: Serialize> Serialize for SortedSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

/// Sorted by key, one entry per key: iterates, and serializes, as a `BTreeMap` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn new() -> Self {
        SortedMap(Vec::new())
    }

    /// Sorts by key; of a repeated key the last value wins, as with `BTreeMap::insert`.
    /// O(n log n) however many there are.
    pub fn from_vec(mut entries: Vec<(K, V)>) -> Self {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        SortedMap(entries)
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// The old value when `key` was there. Linear per new key: for maps of a few, or of a
    /// bounded number of entries; one that grows with the LAN is built with `from_vec`.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        Some(self.0.remove(i).1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl<K, V> SortedMap<K, V> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        SortedMap::from_vec(entries.into())
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        SortedMap::from_vec(iter.into_iter().collect())
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> Index<&Q> for SortedMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<K: Serialize, V: Serialize> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn a_set_iterates_sorted_without_repeats_as_a_btree_set() {
        let items = ["b", "a", "c", "a", "b", "", "c"];
        let set: SortedSet<&str> = items.iter().copied().collect();
        let btree: BTreeSet<&str> = items.iter().copied().collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            btree.iter().collect::<Vec<_>>()
        );
        assert_eq!(set.len(), 4);
        assert!(set.contains("a") && set.contains("") && !set.contains("d"));
    }

    #[test]
    fn a_set_inserts_in_order_once() {
        let mut set = SortedSet::new();
        assert!(set.insert("c".to_owned()));
        assert!(set.insert("a".to_owned()));
        assert!(!set.insert("c".to_owned()));
        assert!(set.insert("b".to_owned()));
        assert_eq!(&*set, ["a", "b", "c"]);
        assert!(set.contains("b"));
        let btree: BTreeSet<String> = set.iter().rev().cloned().collect();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, serde_json::to_string(&btree).unwrap());
        assert_eq!(json, r#"["a","b","c"]"#);
    }

    #[test]
    fn a_map_keeps_the_last_value_of_a_key_as_a_btree_map() {
        let entries = [(3, "x"), (1, "a"), (3, "y"), (2, "b"), (1, "c"), (3, "z")];
        let map: SortedMap<u8, &str> = entries.into();
        let btree: BTreeMap<u8, &str> = entries.into();
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            btree.iter().collect::<Vec<_>>()
        );
        assert_eq!(map.get(&1), Some(&"c"));
        assert_eq!(map[&3], "z");
        assert_eq!(map.get(&4), None);
        assert!(map.contains_key(&2) && !map.contains_key(&0));
    }

    #[test]
    fn a_map_inserts_in_order_and_replaces() {
        let mut map = SortedMap::new();
        assert_eq!(map.insert("b".to_owned(), 1), None);
        assert_eq!(map.insert("a".to_owned(), 2), None);
        assert_eq!(map.insert("b".to_owned(), 3), Some(1));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(map.values().collect::<Vec<_>>(), [&2, &3]);
        assert_eq!(map.get("b"), Some(&3));
        *map.get_mut("a").unwrap() += 5;
        assert_eq!(map.get_mut("c"), None);
        assert_eq!(map.remove("a"), Some(7));
        assert_eq!(map.remove("a"), None);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn a_map_serializes_as_a_btree_map() {
        let entries = [
            ("b".to_owned(), 1),
            ("a".to_owned(), 2),
            ("b".to_owned(), 3),
        ];
        let map: SortedMap<String, u8> = entries.clone().into();
        let btree: BTreeMap<String, u8> = entries.into();
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, serde_json::to_string(&btree).unwrap());
        assert_eq!(json, r#"{"a":2,"b":3}"#);
    }
}
