//! Measures `bundle::verify` throughput: writes a bundle of N realistic (~420-byte) canonical
//! JSON entries with a checkpoint every 100,000 entries, then times verifying it, with a
//! breakdown (reading lines; + leaf hashes and the frontier; + the canonical-JSON check; the
//! level-0 hash tiles read alone), and verifying it without its tiles (an older bundle) and with
//! its first tile hash altered (the slowest path: entries and tiles each rebuild a frontier from
//! index 0).
//!
//! `cargo run --release -p keel-audit --example verify_speed -- [N] [DIR]`
//! (N defaults to 1,000,000; DIR to a temporary directory, removed afterwards). A DIR that
//! already holds a bundle is measured again without being rewritten.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use keel_audit::bundle::{self, BundleWriter};
use keel_audit::canonical::{canonical_json, is_canonical};
use keel_audit::checkpoint::Checkpoint;
use keel_audit::hash::leaf_hash;
use keel_audit::note::NoteSigner;
use keel_audit::tile::{self, Tile};
use keel_audit::tree::Frontier;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHECKPOINT_EVERY: u64 = 100_000;

/// An audit entry, canonical by construction (keys sorted, no whitespace, plain integers).
fn entry(i: u64) -> String {
    format!(
        concat!(
            r#"{{"action":"models.update","actor":{{"id":"u-{:04}","kind":"user","name":"Ada Lövelace"}},"#,
            r#""at_ms":{},"details":{{"changed":["description","tags"],"version":{}}},"kind":"request","#,
            r#""outcome":"ok","request":{{"id":"req-{:08x}","ip":"203.0.113.7","method":"PATCH","#,
            r#""path":"/api/v1/models/m-{:06}","user_agent":"keel-cli/1.4.2"}},"#,
            r#""resource":{{"id":"m-{:06}","kind":"model","workspace":"research"}},"seq":{},"status":200,"v":1}}"#
        ),
        i % 17,
        1_767_225_600_000u64 + i * 1_250,
        i % 9 + 1,
        i,
        i,
        i,
        i
    )
}

fn write_bundle(dir: &Path, n: u64) -> Result<u64> {
    let signer = NoteSigner::new("keel.test/audit", SigningKey::from_bytes(&[42; 32]))?;
    let mut w = BundleWriter::create(dir)?;
    let mut frontier = Frontier::empty();
    let mut completed = Vec::new();
    let mut bytes = 0u64;
    for i in 0..n {
        let e = entry(i);
        if i < 1000 {
            // The template really is canonical.
            let v: serde_json::Value = serde_json::from_str(&e)?;
            if canonical_json(&v)? != e.as_bytes() || !is_canonical(e.as_bytes()) {
                return Err(format!("entry {i} is not canonical: {e}").into());
            }
        }
        bytes += e.len() as u64 + 1;
        w.entry(e.as_bytes())?;
        frontier.push(leaf_hash(e.as_bytes()), &mut completed);
        completed.clear();
        let size = frontier.size();
        if size % CHECKPOINT_EVERY == 0 || size == n {
            let cp = Checkpoint {
                origin: signer.name().to_owned(),
                size,
                root: frontier.root(),
                extensions: vec![],
            };
            w.checkpoint(size, &signer.sign(&cp.to_text())?)?;
        }
    }
    w.key(&signer.verifier_key())?;
    w.finish()?;
    Ok(bytes)
}

/// Reads every line; optionally hashes it into a frontier and checks it is canonical.
fn pass(path: &Path, hash: bool, canonical: bool) -> Result<(u64, u64)> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = Vec::new();
    let mut frontier = Frontier::empty();
    let mut completed = Vec::new();
    let mut lines = 0u64;
    let mut bad = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
        if hash {
            frontier.push(leaf_hash(bytes), &mut completed);
            completed.clear();
        }
        if canonical && !is_canonical(bytes) {
            bad += 1;
        }
        lines += 1;
    }
    if bad > 0 {
        return Err(format!("{bad} lines are not canonical").into());
    }
    Ok((lines, frontier.size()))
}

/// Nanoseconds this thread has run on a CPU (Linux), to measure per-core throughput even when
/// other processes compete for the cores.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `f`, returning its result, wall time and CPU time.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration, Option<Duration>)> {
    let cpu = cpu_time();
    let start = Instant::now();
    let out = f()?;
    let wall = start.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    Ok((out, wall, cpu))
}

fn rate(n: u64, wall: Duration, cpu: Option<Duration>) -> String {
    let per_s = |d: Duration| n as f64 / d.as_secs_f64();
    match cpu {
        Some(cpu) => format!(
            "{:>10.0} entries/s of CPU time ({:.3} s); {:>10.0} entries/s wall ({:.3} s)",
            per_s(cpu),
            cpu.as_secs_f64(),
            per_s(wall),
            wall.as_secs_f64()
        ),
        None => format!(
            "{:>10.0} entries/s ({:.3} s)",
            per_s(wall),
            wall.as_secs_f64()
        ),
    }
}

/// Reads every hash of the level-0 tiles, in order: full tiles, then the partial one.
fn read_tiles(dir: &Path, n: u64) -> Result<u64> {
    let mut count = 0u64;
    let mut x = 0u8;
    for t in 0..Tile::full_tiles(0, n) {
        let bytes = std::fs::read(dir.join(Tile::full(0, t).path()))?;
        x ^= bytes[bytes.len() - 1];
        count += bytes.len() as u64 / 32;
    }
    for t in Tile::right_edge(n).iter().filter(|t| t.level == 0) {
        count += std::fs::read(dir.join(t.path()))?.len() as u64 / 32;
    }
    std::hint::black_box(x);
    Ok(count)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = match args.next() {
        Some(n) => n.replace('_', "").parse()?,
        None => 1_000_000,
    };
    let tmp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::TempDir::new()?;
            tmp.path().join("bundle")
        }
    };

    if dir.join("key.vkey").exists() {
        println!("measuring the bundle in {}", dir.display());
    } else {
        let start = Instant::now();
        let bytes = write_bundle(&dir, n)?;
        println!(
            "wrote {n} entries ({:.1} bytes each, {:.0} MB) in {:.1} s",
            bytes as f64 / n.max(1) as f64,
            bytes as f64 / 1e6,
            start.elapsed().as_secs_f64()
        );
    }

    let entries = dir.join("entries.jsonl");
    // Warm the page cache so the passes measure CPU, not the first read from disk.
    pass(&entries, false, false)?;
    let ((lines, _), wall, cpu) = timed(|| pass(&entries, false, false))?;
    println!("read lines only:             {}", rate(lines, wall, cpu));
    let (_, wall, cpu) = timed(|| pass(&entries, true, false))?;
    println!("+ leaf hash + frontier:      {}", rate(lines, wall, cpu));
    let (_, wall, cpu) = timed(|| pass(&entries, false, true))?;
    println!("read + canonical check only: {}", rate(lines, wall, cpu));
    let (report, wall, cpu) = timed(|| Ok(bundle::verify(&dir)?))?;
    println!(
        "bundle::verify:              {}",
        rate(report.entries, wall, cpu)
    );
    println!("{report:?}");
    if !report.is_ok() || report.verified_size != report.entries {
        return Err("the bundle did not verify".into());
    }

    let (tiles, wall, cpu) = timed(|| read_tiles(&dir, report.entries))?;
    println!("read level-0 tiles only:     {}", rate(tiles, wall, cpu));

    // Without tiles, as an older bundle.
    let tile_dir = dir.join(tile::DIR);
    let moved = dir.with_extension("tiles-moved");
    std::fs::rename(&tile_dir, &moved)?;
    let without = timed(|| Ok(bundle::verify(&dir)?));
    std::fs::rename(&moved, &tile_dir)?;
    let (report, wall, cpu) = without?;
    println!(
        "verify, no tiles:            {}",
        rate(report.entries, wall, cpu)
    );
    if !report.is_ok() {
        return Err(format!("{report:?}").into());
    }

    // The first tile hash altered: entries and tiles differ from index 0 on.
    let first = dir.join(Tile::full(0, 0).path());
    let original = std::fs::read(&first).ok();
    if let Some(bytes) = &original {
        let mut altered = bytes.clone();
        altered[0] ^= 1;
        std::fs::write(&first, &altered)?;
        let result = timed(|| Ok(bundle::verify(&dir)?));
        std::fs::write(&first, bytes)?;
        let (report, wall, cpu) = result?;
        println!(
            "verify, tile 0 altered:      {}",
            rate(report.entries, wall, cpu)
        );
        let problem = report.problem.ok_or("the altered tile was not found")?;
        println!(
            "  {:?} at {}: {}",
            problem.kind, problem.index, problem.detail
        );
    }
    Ok(())
}
