//! Failed-login throttling, per username and per client address.
//!
//! Each key (a username, an address) counts its failures in a fixed window; past the limit the
//! key is locked until the window ends, and a locked key is refused before any password is
//! checked, so guessing costs the attacker time and the server no argon2 runs. A success clears
//! the username's count. The table has a fixed size: when full, expired keys go first, then the
//! whole table (an attacker flooding addresses only unlocks what it floods).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits on failed logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures allowed per username in one window.
    pub per_user: u32,
    /// Failures allowed per client address in one window.
    pub per_address: u32,
    pub window: Duration,
    /// How many keys each table remembers.
    pub capacity: usize,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            per_user: 10,
            per_address: 50,
            window: Duration::from_secs(60),
            capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    window_ends: Instant,
}

#[derive(Debug)]
struct Table<K> {
    counts: Mutex<HashMap<K, Count>>,
}

impl<K: Hash + Eq> Table<K> {
    fn new() -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// When `key` may try again, if it is locked.
    fn locked_until(&self, key: &K, limit: u32, now: Instant) -> Option<Instant> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(key)
            .filter(|c| now < c.window_ends && c.failures >= limit)
            .map(|c| c.window_ends)
    }

    fn fail(&self, key: K, limits: &ThrottleLimits, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= limits.capacity && !counts.contains_key(&key) {
            counts.retain(|_, c| now < c.window_ends);
            if counts.len() >= limits.capacity {
                counts.clear();
            }
        }
        let count = counts.entry(key).or_insert(Count {
            failures: 0,
            window_ends: now + limits.window,
        });
        if now >= count.window_ends {
            *count = Count {
                failures: 0,
                window_ends: now + limits.window,
            };
        }
        count.failures = count.failures.saturating_add(1);
    }

    fn clear(&self, key: &K) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The failed-login counters of one server.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    users: Table<String>,
    addresses: Table<IpAddr>,
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            limits,
            users: Table::new(),
            addresses: Table::new(),
        }
    }

    /// How long until this username from this address may try again, if either is locked.
    pub fn retry_after(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let user = self
            .users
            .locked_until(&username.to_owned(), self.limits.per_user, now);
        let addr = address.and_then(|a| {
            self.addresses
                .locked_until(&a, self.limits.per_address, now)
        });
        user.into_iter().chain(addr).max().map(|until| {
            until
                .saturating_duration_since(now)
                .max(Duration::from_secs(1))
        })
    }

    /// Counts a failed login.
    pub fn failed(&self, username: &str, address: Option<IpAddr>, now: Instant) {
        self.users.fail(username.to_owned(), &self.limits, now);
        if let Some(a) = address {
            self.addresses.fail(a, &self.limits, now);
        }
    }

    /// A successful login clears its username's failures (not its address's: one good
    /// password must not reset a spray across many usernames).
    pub fn succeeded(&self, username: &str) {
        self.users.clear(&username.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            per_user: 3,
            per_address: 5,
            window: Duration::from_secs(60),
            capacity: 16,
        }
    }

    #[test]
    fn a_user_is_locked_after_its_limit_until_the_window_ends() {
        let t = LoginThrottle::new(limits());
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.retry_after("alice", None, now).is_none());
            t.failed("alice", None, now);
        }
        let wait = t.retry_after("alice", None, now).expect("locked");
        assert!(wait <= Duration::from_secs(60));
        assert!(t.retry_after("bob", None, now).is_none());
        assert!(
            t.retry_after("alice", None, now + Duration::from_secs(61))
                .is_none()
        );
    }

    #[test]
    fn an_address_spraying_usernames_is_locked() {
        let t = LoginThrottle::new(limits());
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let now = Instant::now();
        for i in 0..5 {
            t.failed(&format!("user{i}"), Some(ip), now);
        }
        assert!(t.retry_after("fresh", Some(ip), now).is_some());
        assert!(t.retry_after("fresh", None, now).is_none());
        t.succeeded("fresh");
        assert!(t.retry_after("fresh", Some(ip), now).is_some());
    }

    #[test]
    fn success_clears_the_user_and_the_table_stays_bounded() {
        let t = LoginThrottle::new(limits());
        let now = Instant::now();
        t.failed("alice", None, now);
        t.failed("alice", None, now);
        t.succeeded("alice");
        t.failed("alice", None, now);
        t.failed("alice", None, now);
        assert!(t.retry_after("alice", None, now).is_none());
        for i in 0..1000 {
            t.failed(&format!("u{i}"), None, now);
        }
        assert!(t.users.counts.lock().expect("lock").len() <= 16);
    }
}
