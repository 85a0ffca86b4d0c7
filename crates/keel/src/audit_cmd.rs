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
        // Timestamped and published like the server's checkpoints, when so configured.
        if let Err(e) = log.deliver().await {
            eprintln!("warning: {e}");
        }
        let mut writer = BundleWriter::create(out)
            .map_err(|e| anyhow::anyhow!("cannot create the bundle {}: {e}", out.display()))?;
        // Entries pruned by retention are given by their leaf hashes, which the tree keeps.
        let pruned = log
            .pruned_below()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the pruned mark: {e}"))?
            .min(last.tree_size);
        let mut next = 0u64;
        while next < pruned {
            let count = (pruned - next).min(PAGE as u64);
            for hash in log
                .leaf_hashes(next, count)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read leaf hashes: {e}"))?
            {
                writer
                    .pruned_leaf(hash)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            next += count;
        }
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
        if let Some(path) = &config.audit_timestamp_ca {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            writer.tsa_ca(&pem).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        writer
            .key(&log.verifier_key())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        writer.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "exported {} entries ({pruned} before them pruned by retention) and {checkpoints} \
             checkpoints to {}",
            last.tree_size - pruned,
            out.display()
        );
        Ok(())
    })
}

pub fn verify(dir: &Path, key: Option<&Path>, tsa_ca: Option<&Path>) -> anyhow::Result<()> {
    let key = key
        .map(|path| {
            let vkey = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the verifier key {}", path.display()))?;
            keel_audit::note::NoteVerifier::parse(vkey.trim())
                .map_err(|e| anyhow::anyhow!("invalid verifier key {}: {e}", path.display()))
        })
        .transpose()?;
    let tsa_ca = tsa_ca
        .map(|path| {
            let pem = std::fs::read(path).with_context(|| {
                format!("cannot read the timestamp authority CA {}", path.display())
            })?;
            keel_audit::timestamp::TrustAnchors::from_pem(&pem).map_err(|e| {
                anyhow::anyhow!("invalid timestamp authority CA {}: {e}", path.display())
            })
        })
        .transpose()?;
    let trust = bundle::Trust {
        key: key.as_ref(),
        tsa_ca: tsa_ca.as_ref(),
    };
    let report = bundle::verify_with(dir, trust)
        .map_err(|e| anyhow::anyhow!("cannot verify {}: {e}", dir.display()))?;
    match report.problem {
        None => {
            let against = match &tsa_ca {
                Some(_) => "against the given CA",
                None => "against the bundle's own tsa-ca.pem (pin one with --tsa-ca)",
            };
            println!(
                "OK: {} entries, {} checkpoints verified (tree size {}), {} timestamps present, \
                 {} verified {against}",
                report.entries,
                report.checkpoints,
                report.verified_size,
                report.timestamps_present,
                report.timestamps_verified
            );
            if report.pruned > 0 {
                println!(
                    "{} earlier entries were pruned by retention: their leaf hashes, from the \
                     tiles, are verified by the checkpoints",
                    report.pruned
                );
            }
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
