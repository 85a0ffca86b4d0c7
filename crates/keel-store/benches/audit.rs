//! The audit log at scale, on SQLite and (with `KEEL_BENCH_PG` set to an admin URL) PostgreSQL:
//! the cost of appending N request entries (`KEEL_BENCH_AUDIT_ENTRIES`, default 10,000,000) in
//! batches of 1,000 from 4 concurrent tasks while a sequencer task appends them to the Merkle
//! tree 4,096 at a time (as the server's does), then the latency of inclusion and consistency
//! proofs at tree size N through `AuditLog`, a sample of them verified.
//!
//! `append_us_per_entry` is the time callers spent in `append_entries` per entry (summed over
//! the concurrent tasks, so it is a caller's cost, not a share of the wall clock);
//! `sequence_us_per_entry` the time the sequencer spent in rounds that appended, per entry;
//! `entries_per_s` is N over the wall time until the tree held all N. Prints one `AUDITJSON`
//! line per backend and a short summary. `KEEL_BENCH_AUDIT_ONLY=sqlite` or `=postgres` runs one.

use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::note::NoteSigner;
use keel_audit::tree::{self, NodeId};
use keel_core::audit::{
    Actor, AuditLog, AuditRecord, AuditRow, AuditSettings, AuditStore, EventKind, Outcome,
    RequestFacts, Resource,
};
use keel_store::sqlite::SqliteStore;
use keel_store::{PostgresConfig, PostgresStore};
use sqlx::Connection as _;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Rows per `append_entries` call.
const BATCH: usize = 1_000;
/// Most entries per sequencing round (the server's `SEQUENCE_BATCH`).
const SEQUENCE_MAX: usize = 4_096;
/// The server's sequencer pauses this long once a round found fewer than `SEQUENCE_MAX`.
const SEQUENCE_PAUSE: Duration = Duration::from_millis(200);
/// Concurrent appending tasks.
const APPENDERS: usize = 4;
/// Timed proofs of each kind, after `WARMUP` untimed ones.
const PROOFS: usize = 1_000;
const WARMUP: usize = 50;
/// Proofs of each kind checked with the verifier.
const VERIFIED: usize = 100;
/// Throughput and costs are also reported per tenth of the run.
const PARTS: usize = 10;

fn main() -> BenchResult<()> {
    let entries: u64 = match std::env::var("KEEL_BENCH_AUDIT_ENTRIES") {
        Ok(v) => v.replace('_', "").parse()?,
        Err(_) => 10_000_000,
    };
    if entries < 2 {
        return Err("KEEL_BENCH_AUDIT_ENTRIES must be at least 2".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // `KEEL_BENCH_AUDIT_ONLY=sqlite` or `=postgres` runs one backend.
    let only = std::env::var("KEEL_BENCH_AUDIT_ONLY").ok();
    runtime.block_on(async {
        if only.as_deref() != Some("postgres") {
            sqlite(entries).await?;
        }
        if only.as_deref() == Some("sqlite") {
            return Ok(());
        }
        if let Ok(admin) = std::env::var("KEEL_BENCH_PG") {
            postgres(&admin, entries).await?;
        }
        Ok(())
    })
}

async fn sqlite(entries: u64) -> BenchResult<()> {
    let dir = tempfile::Builder::new()
        .prefix("keel-bench-audit")
        .tempdir()?;
    let path = dir.path().join("keel.db");
    let store = SqliteStore::open(&path).await?;
    let report = run("sqlite", Arc::new(store), entries).await?;
    let bytes: u64 = ["keel.db", "keel.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    report.print(bytes);
    Ok(())
}

async fn postgres(admin_url: &str, entries: u64) -> BenchResult<()> {
    let name = format!("keel_bench_audit_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&name);
    let config = PostgresConfig::parse(url.as_str())?;
    // Run in a task of its own so that a failed assertion still drops the database.
    let outcome = tokio::spawn(async move {
        let store = PostgresStore::open(&config).await?;
        let report = run("postgres", Arc::new(store.clone()), entries).await;
        store.close().await;
        report
    })
    .await;
    let size: Option<(i64,)> = sqlx::query_as("SELECT pg_database_size($1)")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .ok()
        .flatten();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    match outcome {
        Ok(report) => {
            let bytes = size.and_then(|(s,)| u64::try_from(s).ok()).unwrap_or(0);
            report?.print(bytes);
            Ok(())
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(e.into()),
    }
}

/// What one backend measured.
struct Report {
    backend: &'static str,
    entries: u64,
    entry_bytes: f64,
    encode_us: f64,
    append_us: f64,
    sequence_us: f64,
    fill_s: f64,
    appended_s: f64,
    max_backlog: u64,
    batch_ms: Vec<f64>,
    append_us_by_part: Vec<f64>,
    sequence_us_by_part: Vec<f64>,
    rate_by_part: Vec<f64>,
    inclusion_us: Vec<f64>,
    consistency_us: Vec<f64>,
    inclusion_hashes: f64,
    consistency_hashes: f64,
    proofs_s: f64,
}

async fn run(backend: &'static str, store: Arc<dyn AuditStore>, n: u64) -> BenchResult<Report> {
    eprintln!("{backend}: appending {n} entries ({APPENDERS} tasks, batches of {BATCH})");
    let fill = fill(backend, store.clone(), n).await?;
    eprintln!(
        "{backend}: {n} entries appended and sequenced in {:.1} s; proofs",
        fill.wall.as_secs_f64()
    );
    let started = Instant::now();
    let proofs = proofs(store, n).await?;
    let per_entry_us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let part = n / PARTS as u64;
    // Per-tenth figures only mean something when a tenth spans many sequencing rounds.
    let tenths = part >= 4 * SEQUENCE_MAX as u64;
    let per_part = |nanos: &[u64]| -> Vec<f64> {
        nanos
            .iter()
            .enumerate()
            .filter(|_| tenths)
            .map(|(i, &ns)| ns as f64 / 1e3 / part_len(i, part, n) as f64)
            .collect()
    };
    Ok(Report {
        backend,
        entries: n,
        entry_bytes: fill.entry_bytes as f64 / n as f64,
        encode_us: per_entry_us(fill.encode),
        append_us: per_entry_us(fill.append),
        sequence_us: per_entry_us(fill.sequence),
        fill_s: fill.wall.as_secs_f64(),
        appended_s: fill.appended.as_secs_f64(),
        max_backlog: fill.max_backlog,
        batch_ms: sorted(fill.batch_ms),
        append_us_by_part: per_part(&fill.append_by_part),
        sequence_us_by_part: per_part(&fill.sequence_by_part),
        rate_by_part: fill
            .part_secs
            .iter()
            .enumerate()
            .filter(|_| tenths)
            .map(|(i, s)| part_len(i, part, n) as f64 / s)
            .collect(),
        inclusion_us: sorted(proofs.inclusion_us),
        consistency_us: sorted(proofs.consistency_us),
        inclusion_hashes: proofs.inclusion_hashes as f64 / PROOFS as f64,
        consistency_hashes: proofs.consistency_hashes as f64 / PROOFS as f64,
        proofs_s: started.elapsed().as_secs_f64(),
    })
}

/// The number of entries in tenth `i` of a run of `n` (the last takes the remainder).
fn part_len(i: usize, part: u64, n: u64) -> u64 {
    if i + 1 == PARTS {
        n - part * (PARTS as u64 - 1)
    } else {
        part
    }
}

/// Which tenth of a run of `n` entry `index` falls in.
fn part_of(index: u64, n: u64) -> usize {
    usize::try_from(index * PARTS as u64 / n)
        .unwrap_or(PARTS - 1)
        .min(PARTS - 1)
}

struct Fill {
    wall: Duration,
    /// When the last append returned.
    appended: Duration,
    /// Most entries appended but not yet sequenced, as the sequencer saw after a round.
    max_backlog: u64,
    encode: Duration,
    append: Duration,
    sequence: Duration,
    entry_bytes: u64,
    batch_ms: Vec<f64>,
    append_by_part: Vec<u64>,
    sequence_by_part: Vec<u64>,
    part_secs: Vec<f64>,
}

struct Appended {
    encode: Duration,
    append: Duration,
    entry_bytes: u64,
    batch_ms: Vec<f64>,
    by_part: Vec<u64>,
}

struct SequencerRun {
    busy: Duration,
    max_backlog: u64,
    by_part: Vec<u64>,
    part_secs: Vec<f64>,
}

/// Appends `n` entries from `APPENDERS` tasks while a sequencer task keeps the tree up; returns
/// once the tree holds all of them.
async fn fill(backend: &'static str, store: Arc<dyn AuditStore>, n: u64) -> BenchResult<Fill> {
    let batches = n.div_ceil(BATCH as u64);
    let next = Arc::new(AtomicU64::new(0));
    let appended = Arc::new(AtomicU64::new(0));
    let base_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let started = Instant::now();
    let sequencer = tokio::spawn(sequencer(
        backend,
        store.clone(),
        n,
        appended.clone(),
        started,
    ));
    let mut appenders = Vec::with_capacity(APPENDERS);
    for _ in 0..APPENDERS {
        let store = store.clone();
        let next = next.clone();
        let appended = appended.clone();
        appenders.push(tokio::spawn(async move {
            let mut out = Appended {
                encode: Duration::ZERO,
                append: Duration::ZERO,
                entry_bytes: 0,
                batch_ms: Vec::new(),
                by_part: vec![0; PARTS],
            };
            loop {
                let batch = next.fetch_add(1, Ordering::Relaxed);
                if batch >= batches {
                    return Ok::<_, keel_core::Error>(out);
                }
                let first = batch * BATCH as u64;
                let last = (first + BATCH as u64).min(n);
                let t0 = Instant::now();
                let rows = (first..last)
                    .map(|i| record(i, base_ms).to_row())
                    .collect::<keel_core::Result<Vec<AuditRow>>>()?;
                out.encode += t0.elapsed();
                out.entry_bytes += rows.iter().map(|r| r.entry.len() as u64).sum::<u64>();
                let t1 = Instant::now();
                store.append_entries(rows).await?;
                let dt = t1.elapsed();
                appended.fetch_add(last - first, Ordering::Relaxed);
                out.append += dt;
                out.batch_ms.push(dt.as_secs_f64() * 1e3);
                out.by_part[part_of(first, n)] += u64::try_from(dt.as_nanos()).unwrap_or(0);
            }
        }));
    }
    let mut fill = Fill {
        wall: Duration::ZERO,
        appended: Duration::ZERO,
        max_backlog: 0,
        encode: Duration::ZERO,
        append: Duration::ZERO,
        sequence: Duration::ZERO,
        entry_bytes: 0,
        batch_ms: Vec::new(),
        append_by_part: vec![0; PARTS],
        sequence_by_part: Vec::new(),
        part_secs: Vec::new(),
    };
    for task in appenders {
        let a = task.await??;
        fill.encode += a.encode;
        fill.append += a.append;
        fill.entry_bytes += a.entry_bytes;
        fill.batch_ms.extend(a.batch_ms);
        for (sum, ns) in fill.append_by_part.iter_mut().zip(a.by_part) {
            *sum += ns;
        }
    }
    fill.appended = started.elapsed();
    let s = sequencer.await??;
    fill.max_backlog = s.max_backlog;
    fill.wall = started.elapsed();
    fill.sequence = s.busy;
    fill.sequence_by_part = s.by_part;
    fill.part_secs = s.part_secs;
    Ok(fill)
}

/// Sequences rounds of `SEQUENCE_MAX` until the tree holds `n`, pausing like the server's
/// sequencer once a round comes back short. Times the rounds that appended something.
async fn sequencer(
    backend: &'static str,
    store: Arc<dyn AuditStore>,
    n: u64,
    appended: Arc<AtomicU64>,
    started: Instant,
) -> keel_core::Result<SequencerRun> {
    let mut run = SequencerRun {
        busy: Duration::ZERO,
        max_backlog: 0,
        by_part: vec![0; PARTS],
        part_secs: Vec::with_capacity(PARTS),
    };
    let mut part_started = started;
    loop {
        let t0 = Instant::now();
        let round = store.sequence(SEQUENCE_MAX).await?;
        let dt = t0.elapsed();
        let backlog = appended
            .load(Ordering::Relaxed)
            .saturating_sub(round.head.size);
        run.max_backlog = run.max_backlog.max(backlog);
        if round.appended > 0 {
            run.busy += dt;
            let before = round.head.size - round.appended;
            run.by_part[part_of(before, n)] += u64::try_from(dt.as_nanos()).unwrap_or(0);
        }
        // The time each tenth of the run took to be sequenced (at the first round that
        // reached it: meaningful when a tenth spans many rounds).
        let reached = run.part_secs.len();
        while run.part_secs.len() < PARTS
            && round.head.size >= n * (run.part_secs.len() as u64 + 1) / PARTS as u64
        {
            let now = Instant::now();
            run.part_secs
                .push(now.duration_since(part_started).as_secs_f64());
            part_started = now;
        }
        if run.part_secs.len() > reached {
            eprintln!(
                "{backend}: {} entries sequenced after {:.1} s",
                round.head.size,
                started.elapsed().as_secs_f64()
            );
        }
        if round.head.size >= n {
            return Ok(run);
        }
        if round.appended < SEQUENCE_MAX as u64 {
            tokio::time::sleep(SEQUENCE_PAUSE).await;
        }
    }
}

/// The entry of request `i`: an update of one of many runs by one of ~100 users.
fn record(i: u64, base_ms: i64) -> AuditRecord {
    let user = i % 97;
    let mut r = AuditRecord::new(
        EventKind::Request,
        base_ms + i64::try_from(i / 8).unwrap_or(0),
        Actor {
            id: Some((1_000 + user).to_string()),
            kind: "user",
            name: format!("user{user:02}@example.com"),
        },
        "runs.update",
        Resource {
            id: Some(format!("{:016x}{:016x}", mix(i / 50), mix(!(i / 50)))),
            kind: "Run".into(),
        },
        Outcome::Success,
    );
    r.workspace = Some("default".into());
    r.request = Some(RequestFacts {
        body_sha256: Some(hex(&leaf_hash(&i.to_le_bytes()))),
        client: Some(format!("10.20.{}.{}", user / 4, 10 + user % 200)),
        id: format!("{:016x}{:016x}", mix(i), mix(i ^ 0x5bd1_e995)),
        method: "POST".into(),
        path: "/api/2.0/mlflow/runs/update".into(),
        user_agent: Some("mlflow-python-client/3.1.1 (Python 3.12.3; Linux x86_64)".into()),
    });
    r
}

fn hex(h: &Hash) -> String {
    h.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SplitMix64's output function: a well-mixed 64-bit value of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 stream.
struct Rng(u64);

impl Rng {
    /// Uniform in `[0, bound)` (the modulo bias is negligible for these bounds).
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0) % bound
    }
}

struct Proofs {
    inclusion_us: Vec<f64>,
    consistency_us: Vec<f64>,
    inclusion_hashes: usize,
    consistency_hashes: usize,
}

async fn proofs(store: Arc<dyn AuditStore>, n: u64) -> BenchResult<Proofs> {
    let signer = NoteSigner::from_pem("bench.keel.local/audit", &NoteSigner::generate_pem()?)?;
    let verifier = signer.verifier();
    let log = AuditLog::open(store.clone(), signer, AuditSettings::default()).await?;
    let checkpoint = log.checkpoint_now().await?;
    assert_eq!(checkpoint.tree_size, n, "the checkpoint covers every entry");
    verifier.open(&checkpoint.note)?;
    let root = checkpoint.root;
    let mut rng = Rng(0x6b65_656c);

    let mut out = Proofs {
        inclusion_us: Vec::with_capacity(PROOFS),
        consistency_us: Vec::with_capacity(PROOFS),
        inclusion_hashes: 0,
        consistency_hashes: 0,
    };
    let mut to_verify = Vec::with_capacity(VERIFIED);
    for k in 0..WARMUP + PROOFS {
        let index = rng.below(n);
        let t0 = Instant::now();
        let proof = log.inclusion_proof(index, n).await?;
        let dt = t0.elapsed();
        if k >= WARMUP {
            out.inclusion_us.push(dt.as_secs_f64() * 1e6);
            out.inclusion_hashes += proof.len();
            if to_verify.len() < VERIFIED {
                to_verify.push((index, proof));
            }
        }
    }
    for (index, hashes) in &to_verify {
        let entry = log
            .entries(*index, 1)
            .await?
            .pop()
            .ok_or("a sequenced entry is missing")?;
        assert_eq!(
            entry.leaf_index,
            Some(*index),
            "entries() returns the leaf asked"
        );
        tree::verify_inclusion(&leaf_hash(&entry.entry), *index, n, hashes, &root)?;
    }
    // The verifier is no rubber stamp: a proof with one bit flipped fails.
    if let Some((index, hashes)) = to_verify.first_mut() {
        if let Some(h) = hashes.first_mut() {
            h[0] ^= 1;
            let entry = log.entries(*index, 1).await?;
            let leaf = leaf_hash(&entry.first().ok_or("a sequenced entry is missing")?.entry);
            assert!(
                tree::verify_inclusion(&leaf, *index, n, hashes, &root).is_err(),
                "a tampered inclusion proof must not verify"
            );
        }
    }

    let mut to_verify = Vec::with_capacity(VERIFIED);
    for k in 0..WARMUP + PROOFS {
        let first = 1 + rng.below(n - 1);
        let t0 = Instant::now();
        let proof = log.consistency_proof(first, n).await?;
        let dt = t0.elapsed();
        if k >= WARMUP {
            out.consistency_us.push(dt.as_secs_f64() * 1e6);
            out.consistency_hashes += proof.len();
            if to_verify.len() < VERIFIED {
                to_verify.push((first, proof));
            }
        }
    }
    for (first, hashes) in &to_verify {
        let first_root = root_of(store.as_ref(), *first).await?;
        tree::verify_consistency(*first, n, &first_root, &root, hashes)?;
    }
    Ok(out)
}

/// The root of the tree's first `size` entries, from its stored perfect subtrees.
async fn root_of(store: &dyn AuditStore, size: u64) -> BenchResult<Hash> {
    let mut nodes: Vec<(NodeId, Hash)> = store.nodes(&tree::root_plan(size)).await?;
    nodes.sort_unstable_by_key(|(id, _)| *id);
    let root = tree::root(size, |id| {
        nodes
            .binary_search_by_key(&id, |(n, _)| *n)
            .ok()
            .map(|i| nodes[i].1)
    })?;
    Ok(root)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn list(v: &[f64], decimals: usize) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.decimals$}")).collect();
    format!("[{}]", items.join(","))
}

impl Report {
    fn print(&self, db_bytes: u64) {
        let n = self.entries;
        let rate = n as f64 / self.fill_s;
        let (inc, con) = (&self.inclusion_us, &self.consistency_us);
        println!(
            "AUDITJSON {{\"backend\":\"{}\",\"entries\":{n},\"entry_bytes_avg\":{:.1},\
             \"encode_us_per_entry\":{:.3},\"append_us_per_entry\":{:.3},\
             \"sequence_us_per_entry\":{:.3},\"entries_per_s\":{:.0},\"fill_s\":{:.2},\"appended_s\":{:.2},\"max_backlog\":{},\
             \"append_batch_p50_ms\":{:.2},\"append_batch_p99_ms\":{:.2},\
             \"inclusion_p50_us\":{:.1},\"inclusion_p90_us\":{:.1},\"inclusion_p99_us\":{:.1},\
             \"consistency_p50_us\":{:.1},\"consistency_p90_us\":{:.1},\
             \"consistency_p99_us\":{:.1},\"inclusion_hashes_avg\":{:.1},\
             \"consistency_hashes_avg\":{:.1},\"proofs_s\":{:.2},\"db_mb\":{:.0},\
             \"append_us_per_entry_by_tenth\":{},\"sequence_us_per_entry_by_tenth\":{},\
             \"entries_per_s_by_tenth\":{}}}",
            self.backend,
            self.entry_bytes,
            self.encode_us,
            self.append_us,
            self.sequence_us,
            rate,
            self.fill_s,
            self.appended_s,
            self.max_backlog,
            pct(&self.batch_ms, 0.50),
            pct(&self.batch_ms, 0.99),
            pct(inc, 0.50),
            pct(inc, 0.90),
            pct(inc, 0.99),
            pct(con, 0.50),
            pct(con, 0.90),
            pct(con, 0.99),
            self.inclusion_hashes,
            self.consistency_hashes,
            self.proofs_s,
            db_bytes as f64 / 1e6,
            list(&self.append_us_by_part, 3),
            list(&self.sequence_us_by_part, 3),
            list(&self.rate_by_part, 0),
        );
        println!(
            "{}: {n} entries of {:.0} bytes in {:.1} s ({rate:.0}/s): append {:.2} µs/entry \
             (a {BATCH}-row batch p50 {:.1} ms, p99 {:.1} ms; all appended after {:.1} s), \
             sequence {:.2} µs/entry (backlog at most {}); \
             inclusion proof p50/p90/p99 {:.0}/{:.0}/{:.0} µs, consistency {:.0}/{:.0}/{:.0} µs; \
             database {:.0} MB",
            self.backend,
            self.entry_bytes,
            self.fill_s,
            self.append_us,
            pct(&self.batch_ms, 0.50),
            pct(&self.batch_ms, 0.99),
            self.appended_s,
            self.sequence_us,
            self.max_backlog,
            pct(inc, 0.50),
            pct(inc, 0.90),
            pct(inc, 0.99),
            pct(con, 0.50),
            pct(con, 0.90),
            pct(con, 0.99),
            db_bytes as f64 / 1e6,
        );
        if !self.rate_by_part.is_empty() {
            println!(
                "{}: by tenth of the run: entries/s {}, append µs/entry {}, sequence µs/entry {}",
                self.backend,
                list(&self.rate_by_part, 0),
                list(&self.append_us_by_part, 1),
                list(&self.sequence_us_by_part, 1),
            );
        }
    }
}
