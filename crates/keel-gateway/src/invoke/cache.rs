//! The exact-match response cache: an endpoint tagged `keel.cache.ttl_seconds` answers a
//! whole (not streamed) call it has answered within that many seconds from memory — the same
//! endpoint, kind of call and body (compared as RFC 8785 canonical JSON, so key order and
//! spacing do not matter) — without calling a provider, holding a limit or costing anything.
//! Each replica keeps its own cache, bounded in bytes; an answer larger than
//! [`MAX_ENTRY_BYTES`] is not kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Call;

/// The endpoint tag that turns the cache on, in seconds (1 to [`MAX_TTL`]).
pub const TTL_TAG: &str = "keel.cache.ttl_seconds";
/// The longest an answer is kept.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// The largest answer kept (as JSON text).
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;
/// All answers kept, at most (as JSON text).
pub const CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// An endpoint's cache lifetime from its tags (`None`: off, or a value that is not a whole
/// number of seconds from 1 to a day).
pub fn ttl_of(tags: &std::collections::BTreeMap<String, String>) -> Option<Duration> {
    let seconds: u64 = tags.get(TTL_TAG)?.trim().parse().ok()?;
    let ttl = Duration::from_secs(seconds);
    (seconds > 0 && ttl <= MAX_TTL).then_some(ttl)
}

/// A kept answer.
#[derive(Debug)]
pub struct Cached {
    pub answer: Value,
    pub provider: String,
    pub model: String,
    ttl: Duration,
    bytes: u32,
}

/// The key of a call: its endpoint, kind and canonical body.
pub type Key = [u8; 32];

/// The cache of every endpoint of this process.
pub struct ResponseCache {
    entries: moka::sync::Cache<Key, Arc<Cached>>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

/// Each answer lives for its endpoint's TTL.
struct PerEntry;

impl moka::Expiry<Key, Arc<Cached>> for PerEntry {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Arc<Cached>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, v: &Arc<Cached>| v.bytes)
                .expire_after(PerEntry)
                .build(),
        }
    }
}

impl ResponseCache {
    /// The key of `call` to `endpoint_id` with `body` (`None` when the body cannot be
    /// canonicalised, as a number JSON cannot hold: such a call is not cached).
    pub fn key(endpoint_id: &str, call: Call, body: &Map<String, Value>) -> Option<Key> {
        let canonical = serde_json_canonicalizer::to_vec(body).ok()?;
        let mut hash = Sha256::new();
        for part in [endpoint_id.as_bytes(), call.request_type().as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.update(&canonical);
        Some(hash.finalize().into())
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        self.entries.get(key)
    }

    /// Keeps `answer` for `ttl`, unless it is larger than [`MAX_ENTRY_BYTES`].
    pub fn put(&self, key: Key, answer: &Value, provider: &str, model: &str, ttl: Duration) {
        let bytes = answer.to_string().len();
        if bytes > MAX_ENTRY_BYTES {
            return;
        }
        self.entries.insert(
            key,
            Arc::new(Cached {
                answer: answer.clone(),
                provider: provider.to_owned(),
                model: model.to_owned(),
                ttl,
                bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn keys_ignore_key_order_but_not_the_endpoint_the_call_or_the_content() {
        let a = ResponseCache::key(
            "e-1",
            Call::UnifiedChat,
            &body(json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 0})),
        );
        let reordered = ResponseCache::key(
            "e-1",
            Call::UnifiedChat,
            &body(json!({"temperature": 0, "messages": [{"content": "hi", "role": "user"}]})),
        );
        assert_eq!(a, reordered);
        let other_endpoint = ResponseCache::key(
            "e-2",
            Call::UnifiedChat,
            &body(json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 0})),
        );
        assert_ne!(a, other_endpoint);
        let other_call = ResponseCache::key(
            "e-1",
            Call::OpenAiChat,
            &body(json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 0})),
        );
        assert_ne!(a, other_call);
    }

    #[test]
    fn the_ttl_tag_is_whole_seconds_up_to_a_day() {
        let tags = |v: &str| std::collections::BTreeMap::from([(TTL_TAG.to_owned(), v.to_owned())]);
        assert_eq!(ttl_of(&tags("60")), Some(Duration::from_secs(60)));
        for bad in ["0", "-1", "abc", "86401", "1.5"] {
            assert_eq!(ttl_of(&tags(bad)), None, "{bad}");
        }
        assert_eq!(ttl_of(&std::collections::BTreeMap::new()), None);
    }

    #[test]
    fn answers_are_kept_until_their_ttl_and_large_ones_not_at_all() {
        let cache = ResponseCache::default();
        let key = [1u8; 32];
        cache.put(
            key,
            &json!({"a": 1}),
            "openai",
            "m",
            Duration::from_millis(50),
        );
        assert_eq!(cache.get(&key).expect("hit").answer, json!({"a": 1}));
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get(&key).is_none(), "expired");
        let big = json!("x".repeat(MAX_ENTRY_BYTES + 1));
        cache.put([2u8; 32], &big, "openai", "m", Duration::from_secs(60));
        assert!(cache.get(&[2u8; 32]).is_none());
    }
}
