//! A JSON object's members in the order written, as serde_json's `preserve_order` map keeps
//! them: a repeated key keeps its first place and takes its last value.
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

use super::Value;

/// Up to this many members a lookup reads them in turn; past it a hash index over the members
/// keeps inserting and finding by name constant-time (uci replies carry thousands of sections,
/// and a LAN device's JSON chooses its own keys, so the index hashes with std's random keys).
const SMALL: usize = 8;

/// Only `Map<String, Value>` exists; the parameters keep serde_json's spelling of the type.
#[derive(Clone)]
pub struct Map<K, V> {
    entries: Vec<(K, V)>,
    index: Option<Box<Index>>,
}

/// Open addressing over `entries`: each slot is 0 (free) or an entry's place + 1. At most half
/// full.
#[derive(Clone)]
struct Index {
    hasher: RandomState,
    slots: Vec<u32>,
}

impl Index {
    /// The slot `key` is in, or the free slot where it would go.
    fn slot(&self, entries: &[(String, Value)], key: &str) -> (usize, Option<usize>) {
        let mask = self.slots.len() - 1;
        let mut at = self.hasher.hash_one(key) as usize & mask;
        loop {
            match self.slots[at] {
                0 => return (at, None),
                s if entries[s as usize - 1].0 == key => return (at, Some(s as usize - 1)),
                _ => at = (at + 1) & mask,
            }
        }
    }
}

impl Default for Map<String, Value> {
    fn default() -> Self {
        Map::new()
    }
}

impl Map<String, Value> {
    pub fn new() -> Self {
        Map {
            entries: Vec::new(),
            index: None,
        }
    }

    pub fn with_capacity(n: usize) -> Self {
        Map {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            None => self.entries.iter().position(|(k, _)| k == key),
            Some(index) => index.slot(&self.entries, key).1,
        }
    }

    /// Builds the index afresh (or drops it, small again) after members moved.
    fn reindex(&mut self) {
        let n = self.entries.len();
        if n <= SMALL {
            self.index = None;
            return;
        }
        let mut index = match self.index.take() {
            Some(mut index) => {
                index.slots.clear();
                index
            }
            None => Box::new(Index {
                hasher: RandomState::new(),
                slots: Vec::new(),
            }),
        };
        index.slots.resize((n * 4).next_power_of_two(), 0);
        for (i, (key, _)) in self.entries.iter().enumerate() {
            let (at, _) = index.slot(&self.entries[..i], key);
            index.slots[at] = i as u32 + 1;
        }
        self.index = Some(index);
    }

    /// The old value when `key` was there (its place is kept), else None.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        let free = match &self.index {
            None => match self.find(&key) {
                Some(i) => return Some(std::mem::replace(&mut self.entries[i].1, value)),
                None => None,
            },
            Some(index) => match index.slot(&self.entries, &key) {
                (_, Some(i)) => return Some(std::mem::replace(&mut self.entries[i].1, value)),
                (at, None) => Some(at),
            },
        };
        self.entries.push((key, value));
        let n = self.entries.len();
        match (&mut self.index, free) {
            (Some(index), Some(at)) if n * 2 <= index.slots.len() => index.slots[at] = n as u32,
            _ if n > SMALL => self.reindex(),
            _ => {}
        }
        None
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.find(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// serde_json's `remove` under `preserve_order`: the last member takes the removed one's
    /// place.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.swap_remove(key)
    }

    pub fn swap_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key)?;
        let (_, value) = self.entries.swap_remove(i);
        self.reindex();
        Some(value)
    }

    /// Removes `key`, the members after it moving up: the order stays as written.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key)?;
        let (_, value) = self.entries.remove(i);
        self.reindex();
        Some(value)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
        self.reindex();
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut(self.entries.iter_mut())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

/// Equal when both have the same keys with equal values, in whatever order (as serde_json's
/// maps compare).
impl PartialEq for Map<String, Value> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Map<String, Value> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Map<String, Value> {
    type Output = Value;

    /// Panics when `key` is not there, as serde_json's map does.
    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("no entry found for key")
    }
}

impl FromIterator<(String, Value)> for Map<String, Value> {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut map = Map::new();
        map.extend(iter);
        map
    }
}

impl Extend<(String, Value)> for Map<String, Value> {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

pub struct Iter<'a>(std::slice::Iter<'a, (String, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

pub struct IterMut<'a>(std::slice::IterMut<'a, (String, Value)>);

impl<'a> Iterator for IterMut<'a> {
    type Item = (&'a String, &'a mut Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&*k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IterMut<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&*k, v))
    }
}

impl ExactSizeIterator for IterMut<'_> {}

impl<'a> IntoIterator for &'a Map<String, Value> {
    type Item = (&'a String, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Map<String, Value> {
    type Item = (&'a String, &'a mut Value);
    type IntoIter = IterMut<'a>;

    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

impl IntoIterator for Map<String, Value> {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}
