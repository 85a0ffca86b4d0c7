//! Failed-login throttling, per username and per client address.
//!
//! Each key (a username, an address) counts its failures in a fixed window; past the limit the
//! key is locked until the window ends, and a locked key is refused before any password is
//! checked, so guessing costs the attacker time and the server no argon2 runs. A success clears
//! the username's count. A password check in progress holds a reservation ([`Attempt`]) that
//! counts as a failure until it ends, so guesses sent all at once are limited as strictly as
//! guesses sent one after another. The table has a fixed size: when full, expired keys go
//! first, then the whole table (an attacker flooding addresses only unlocks what it floods).

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
    /// Checks in progress (each counted as a failure until it ends).
    pending: u32,
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
            .filter(|c| c.pending > 0 || now < c.window_ends)
            .filter(|c| c.counted(now) >= limit)
            .map(|c| c.window_ends.max(now))
    }

    /// `key`'s count, in the current window (made when missing; the table kept bounded).
    fn with_count<R>(
        &self,
        key: K,
        limits: &ThrottleLimits,
        now: Instant,
        f: impl FnOnce(&mut Count) -> R,
    ) -> R {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= limits.capacity && !counts.contains_key(&key) {
            counts.retain(|_, c| c.pending > 0 || now < c.window_ends);
            if counts.len() >= limits.capacity {
                counts.clear();
            }
        }
        let count = counts.entry(key).or_insert(Count {
            failures: 0,
            pending: 0,
            window_ends: now + limits.window,
        });
        if now >= count.window_ends {
            count.failures = 0;
            count.window_ends = now + limits.window;
        }
        f(count)
    }

    fn fail(&self, key: K, limits: &ThrottleLimits, now: Instant) {
        self.with_count(key, limits, now, |c| {
            c.failures = c.failures.saturating_add(1);
        });
    }

    /// Counts a check in progress, unless `key` is locked (then when it may try again).
    fn reserve(
        &self,
        key: K,
        limits: &ThrottleLimits,
        limit: u32,
        now: Instant,
    ) -> Result<(), Instant> {
        self.with_count(key, limits, now, |c| {
            if c.counted(now) >= limit {
                Err(c.window_ends)
            } else {
                c.pending += 1;
                Ok(())
            }
        })
    }

    /// Ends a check in progress.
    fn release(&self, key: &K) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = counts.get_mut(key) {
            c.pending = c.pending.saturating_sub(1);
        }
    }

    /// Forgets `key`'s failures (checks still in progress keep counting).
    fn forgive(&self, key: &K) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get_mut(key) {
            Some(c) if c.pending > 0 => c.failures = 0,
            Some(_) => {
                counts.remove(key);
            }
            None => {}
        }
    }
}

impl Count {
    /// Failures in the window, and checks in progress.
    fn counted(&self, now: Instant) -> u32 {
        let failures = if now < self.window_ends {
            self.failures
        } else {
            0
        };
        failures.saturating_add(self.pending)
    }
}

/// A password check in progress, counted as a failure of its username and address until it
/// ends: [`Attempt::failed`] keeps the failure, [`Attempt::succeeded`] clears the username's,
/// and dropping it (the request went away) forgets it.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    username: String,
    address: Option<IpAddr>,
}

impl Attempt<'_> {
    pub fn failed(self, now: Instant) {
        self.throttle.failed(&self.username, self.address, now);
    }

    pub fn succeeded(self) {
        self.throttle.succeeded(&self.username);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.throttle.users.release(&self.username);
        if let Some(a) = &self.address {
            self.throttle.addresses.release(a);
        }
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

    /// Reserves a password check for this username from this address, or says how long until
    /// either may try again.
    pub fn reserve(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt<'_>, Duration> {
        let wait = |until: Instant| {
            until
                .saturating_duration_since(now)
                .max(Duration::from_secs(1))
        };
        let l = &self.limits;
        self.users
            .reserve(username.to_owned(), l, l.per_user, now)
            .map_err(wait)?;
        if let Some(a) = address
            && let Err(until) = self.addresses.reserve(a, l, l.per_address, now)
        {
            self.users.release(&username.to_owned());
            return Err(wait(until));
        }
        Ok(Attempt {
            throttle: self,
            username: username.to_owned(),
            address,
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
        self.users.forgive(&username.to_owned());
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
    fn checks_in_progress_count_until_they_end() {
        let t = LoginThrottle::new(limits());
        let ip: IpAddr = "192.0.2.9".parse().expect("ip");
        let now = Instant::now();
        let attempts: Vec<_> = (0..3)
            .map(|_| t.reserve("alice", Some(ip), now).expect("under the limit"))
            .collect();
        let wait = t
            .reserve("alice", Some(ip), now)
            .expect_err("three in flight");
        assert!(wait >= Duration::from_secs(1));
        assert!(t.retry_after("alice", None, now).is_some());
        // Dropped (the request went away): forgotten; failed: kept.
        let mut attempts = attempts.into_iter();
        drop(attempts.next());
        attempts.next().expect("second").failed(now);
        assert!(
            t.reserve("alice", Some(ip), now).is_ok(),
            "one slot came back"
        );
        let guess = t.reserve("alice", Some(ip), now).expect("a slot");
        attempts.next().expect("third").succeeded();
        assert!(
            t.retry_after("alice", None, now).is_none(),
            "success clears"
        );
        assert_eq!(
            t.users.counts.lock().expect("lock")["alice"].pending,
            1,
            "but not the checks still in progress"
        );
        drop(guess);
        // An address over its limit refuses, and gives back the user's reservation.
        for i in 0..5 {
            t.failed(&format!("u{i}"), Some(ip), now);
        }
        assert!(t.reserve("carol", Some(ip), now).is_err());
        assert!(t.users.counts.lock().expect("lock")["carol"].pending == 0);
    }

    #[test]
    fn concurrent_guesses_get_no_more_checks_than_the_limit() {
        let t = std::sync::Arc::new(LoginThrottle::new(limits()));
        let now = Instant::now();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let granted: usize = (0..16)
            .map(|_| {
                let (t, barrier) = (t.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    match t.reserve("alice", None, now) {
                        Ok(attempt) => {
                            std::thread::sleep(Duration::from_millis(20));
                            attempt.failed(now);
                            1
                        }
                        Err(_) => 0,
                    }
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .sum();
        assert_eq!(granted, 3, "per_user is 3");
        assert!(t.retry_after("alice", None, now).is_some());
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
