//! The verified-password cache: steady-state requests with HTTP Basic credentials never re-run
//! argon2.
//!
//! An entry says "this password matched this stored hash", keyed by an HMAC (with a key made
//! at start, never stored) of the stored PHC string and the password, so the cache holds no
//! password and an entry cannot outlive a password change: the new hash has other keys. Entries
//! live a short time and the cache has a fixed size, so an attacker sending many different
//! credentials only evicts entries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keel_core::{Error, Result};
use ring::hmac;
use ring::rand::SystemRandom;

/// How long a verified password is trusted without re-running argon2.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// How many verified credentials are remembered.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Remembers recently verified (stored hash, password) pairs.
#[derive(Debug)]
pub struct CredentialCache {
    key: hmac::Key,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration, capacity: usize) -> Result<Self> {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| Error::internal("the system's random source failed"))?;
        Ok(Self {
            key,
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the pair under `key` was verified within the TTL.
    pub fn is_verified(&self, key: &CredentialKey, now: Instant) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&key.0).is_some_and(|&expires| now < expires)
    }

    /// Remembers that the pair under `key` matched.
    pub fn remember(&self, key: &CredentialKey, now: Instant) {
        let key = key.0;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, &mut expires| now < expires);
            if entries.len() >= self.capacity {
                // Still full of live entries: start over rather than grow (a few extra argon2
                // runs are the only cost).
                entries.clear();
            }
        }
        entries.insert(key, now + self.ttl);
    }

    /// Forgets every entry (an administrator changed passwords or users in bulk).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The key of a (stored hash, password) pair: an HMAC, so it reveals neither.
    pub fn key(&self, stored: &str, password: &str) -> CredentialKey {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(stored.len() as u64).to_be_bytes());
        ctx.update(stored.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        CredentialKey(out)
    }
}

/// What the cache knows a (stored hash, password) pair by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialKey([u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_pair_until_it_expires() {
        let cache = CredentialCache::new(Duration::from_secs(10), 4).expect("key");
        let t0 = Instant::now();
        let k = |stored: &str, pw: &str| cache.key(stored, pw);
        assert!(!cache.is_verified(&k("$h1", "pw"), t0));
        cache.remember(&k("$h1", "pw"), t0);
        assert!(cache.is_verified(&k("$h1", "pw"), t0));
        assert!(!cache.is_verified(&k("$h1", "pw2"), t0), "other password");
        assert!(
            !cache.is_verified(&k("$h2", "pw"), t0),
            "changed password hash"
        );
        assert!(!cache.is_verified(&k("$h1", "pw"), t0 + Duration::from_secs(11)));
    }

    #[test]
    fn a_full_cache_does_not_grow() {
        let cache = CredentialCache::new(Duration::from_secs(10), 3).expect("key");
        let t0 = Instant::now();
        for i in 0..100 {
            cache.remember(&cache.key("$h", &format!("pw{i}")), t0);
        }
        assert!(cache.entries.lock().expect("lock").len() <= 3);
        assert!(cache.is_verified(&cache.key("$h", "pw99"), t0));
    }

    #[test]
    fn concatenations_do_not_collide() {
        let cache = CredentialCache::new(Duration::from_secs(10), 8).expect("key");
        let t0 = Instant::now();
        cache.remember(&cache.key("$ab", "c"), t0);
        assert!(!cache.is_verified(&cache.key("$a", "bc"), t0));
    }
}
