//! A small bounded map whose entries expire: what the identity caches are made of. When full,
//! expired entries go first, then everything (a flood of distinct keys only costs misses).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TtlMap<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Hash + Eq, V: Clone> TtlMap<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The live value under `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(expires, _)| Instant::now() < *expires)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl, value));
    }

    /// The live value under `key`, else what `lookup` finds, remembered. Nothing is remembered
    /// when `lookup` finds nothing (what is missing now may be created next) or fails.
    pub async fn get_or_lookup<E, F>(&self, key: K, lookup: F) -> Result<Option<V>, E>
    where
        F: Future<Output = Result<Option<V>, E>>,
    {
        if let Some(found) = self.get(&key) {
            return Ok(Some(found));
        }
        let found = lookup.await?;
        if let Some(value) = &found {
            self.insert(key, value.clone());
        }
        Ok(found)
    }

    /// [`Self::get_or_lookup`] for a lookup that cannot fail, only find nothing.
    pub async fn get_or_find<F>(&self, key: K, find: F) -> Option<V>
    where
        F: Future<Output = Option<V>>,
    {
        let found = self.get_or_lookup(key, async { Ok::<_, ()>(find.await) });
        found.await.ok().flatten()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let m = TtlMap::new(Duration::from_millis(30), 4);
        m.insert(1, "a");
        assert_eq!(m.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(m.get(&1), None);
        for i in 0..100 {
            m.insert(i, "x");
        }
        assert!(m.entries.lock().expect("lock").len() <= 4);
        m.clear();
        assert_eq!(m.get(&99), None);
    }

    #[tokio::test]
    async fn lookups_are_remembered_only_when_they_find_something() {
        let m = TtlMap::new(Duration::from_secs(60), 4);
        let missing = m.get_or_lookup(1, async { Ok::<_, ()>(None) }).await;
        assert_eq!(missing, Ok(None));
        let failed = m.get_or_lookup(1, async { Err(()) }).await;
        assert_eq!(failed, Err(()));
        assert_eq!(
            m.get(&1),
            None,
            "neither a miss nor a failure is remembered"
        );
        let found = m.get_or_lookup(1, async { Ok::<_, ()>(Some("a")) }).await;
        assert_eq!(found, Ok(Some("a")));
        let cached = m
            .get_or_lookup(1, async { panic!("the remembered value answers") })
            .await;
        assert_eq!(cached, Ok::<_, ()>(Some("a")));
    }
}
