//! `keel audit export` and `keel audit verify`: the audit log as a bundle an auditor checks
//! offline with nothing but the standards (or this command).

use std::path::Path;

use anyhow::Context;
use keel_audit::bundle::{self, BundleWriter};

use crate::config::Config;

/// Entries read from the store per page.
const PAGE: usize = 1000;

pub fn export(config: Config, out: &Path) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    if !config.audit_log {
        anyhow::bail!("the audit log is turned off (audit_log = false): nothing to export");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let services = crate::stores::open(&config).await?;
        let log = crate::stores::audit_log(&config, services.audit_store)
            .await?
            .context("the audit log is turned off")?;
        let last = log
            .checkpoint_now()
            .await
            .map_err(|e| anyhow::anyhow!("cannot sign a checkpoint: {e}"))?;
        let mut writer = BundleWriter::create(out)
            .map_err(|e| anyhow::anyhow!("cannot create the bundle {}: {e}", out.display()))?;
        let mut next = 0u64;
        while next < last.tree_size {
            let page = log
                .entries(next, PAGE)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read entries: {e}"))?;
            if page.is_empty() {
                anyhow::bail!(
                    "the log ends at {next}, before its checkpoint's size {}",
                    last.tree_size
                );
            }
            for entry in page {
                if next >= last.tree_size {
                    break;
                }
                if entry.leaf_index != Some(next) {
                    anyhow::bail!("the log has no entry at index {next}");
                }
                writer
                    .entry(&entry.entry)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                next += 1;
            }
        }
        let mut from = 0u64;
        let mut checkpoints = 0u64;
        loop {
            let page = log
                .checkpoints(from, PAGE)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read checkpoints: {e}"))?;
            let Some(last_in_page) = page.last().map(|c| c.tree_size) else {
                break;
            };
            for c in page.into_iter().filter(|c| c.tree_size <= last.tree_size) {
                writer
                    .checkpoint(c.tree_size, &c.note)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if let Some(token) = &c.timestamp {
                    writer
                        .timestamp(c.tree_size, token)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                checkpoints += 1;
            }
            if last_in_page >= last.tree_size {
                break;
            }
            from = last_in_page + 1;
        }
        writer
            .key(&log.verifier_key())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        writer.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "exported {} entries and {checkpoints} checkpoints to {}",
            last.tree_size,
            out.display()
        );
        Ok(())
    })
}

pub fn verify(dir: &Path, key: Option<&Path>) -> anyhow::Result<()> {
    let report = match key {
        None => bundle::verify(dir),
        Some(path) => {
            let vkey = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the verifier key {}", path.display()))?;
            let verifier = keel_audit::note::NoteVerifier::parse(vkey.trim())
                .map_err(|e| anyhow::anyhow!("invalid verifier key {}: {e}", path.display()))?;
            bundle::verify_with_key(dir, &verifier)
        }
    }
    .map_err(|e| anyhow::anyhow!("cannot verify {}: {e}", dir.display()))?;
    match report.problem {
        None => {
            println!(
                "OK: {} entries, {} checkpoints verified (tree size {}), {} timestamps present",
                report.entries, report.checkpoints, report.verified_size, report.timestamps_present
            );
            Ok(())
        }
        Some(problem) => {
            eprintln!(
                "FAILED at index {}: {:?}: {}",
                problem.index, problem.kind, problem.detail
            );
            std::process::exit(1);
        }
    }
}
