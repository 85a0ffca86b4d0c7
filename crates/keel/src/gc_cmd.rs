//! `keel gc`: permanently remove runs and experiments deleted more than a given age ago, with
//! their artifacts, and the API tokens and web UI sessions that expired or were revoked that long
//! ago; drop multipart uploads abandoned for over a day, and (with `--traces-older-than`) remove
//! traces past their retention. `--dry-run` lists what would go and
//! changes nothing.

use keel_artifacts::{ArtifactPath, ArtifactStore, proxied_path};
use keel_core::store::Garbage;

use crate::config::Config;

/// Parses ages like `30d`, `1d12h`, `90m`, `45s` or `0` into milliseconds.
pub fn parse_age(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit_ms: i64 = match c {
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1_000,
            _ => anyhow::bail!("invalid age '{text}': unknown unit '{c}' (use d, h, m, s)"),
        };
        let n: i64 = number.parse().map_err(|_| {
            anyhow::anyhow!("invalid age '{text}': a number must come before '{c}'")
        })?;
        total = n
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| anyhow::anyhow!("invalid age '{text}': too large"))?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        anyhow::bail!("invalid age '{text}': end with a unit, e.g. 30d or 12h");
    }
    Ok(total)
}

pub fn run(
    config: Config,
    older_than: &str,
    traces_older_than: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let age_ms = parse_age(older_than)?;
    let trace_age_ms = traces_older_than.map(parse_age).transpose()?;
    crate::logging::init("warn", config.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let crate::stores::Services {
            tracking,
            traces,
            artifacts,
            identity,
            ..
        } = crate::stores::open(&config).await?;
        if let Some(trace_age_ms) = trace_age_ms {
            expire_traces(&traces, artifacts.as_ref(), trace_age_ms, dry_run).await?;
        }
        let garbage = tracking
            .find_garbage(age_ms)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if dry_run {
            report("would remove", &garbage);
            println!(
                "would remove the API tokens and web UI sessions that ended over {older_than} ago"
            );
            return Ok(());
        }
        let cutoff = now_millis().saturating_sub(age_ms);
        let tokens = identity
            .purge_tokens(cutoff)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "removed {tokens} API token(s) and web UI session(s) that expired or were revoked"
        );
        let purged = tracking
            .purge(&garbage)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        report("removed", &purged);
        remove_artifacts(artifacts.as_ref(), &purged).await;
        remove_stale_uploads(artifacts.as_ref()).await;
        Ok(())
    })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn report(verb: &str, garbage: &Garbage) {
    println!(
        "{verb} {} experiment(s), {} run(s) and {} logged model(s)",
        garbage.experiments.len(),
        garbage.runs.len(),
        garbage.logged_models.len()
    );
    for (id, location) in &garbage.experiments {
        println!("  experiment {id}  {location}");
    }
    for (id, location) in &garbage.runs {
        println!("  run {id}  {location}");
    }
    for (id, location) in &garbage.logged_models {
        println!("  logged model {id}  {location}");
    }
}

/// Deletes artifact folders, but only where Keel itself placed them: `<experiment_id>` for an
/// experiment, `.../<run_id>/artifacts` for a run and `.../models/<model_id>/artifacts` for a
/// logged model. A location a client chose could be shared with other experiments, so it is
/// reported and left in place.
async fn remove_artifacts(artifacts: &dyn ArtifactStore, purged: &Garbage) {
    let runs = purged
        .runs
        .iter()
        .chain(&purged.logged_models)
        .map(|(id, uri)| (id, uri, run_folder(id, uri)));
    let experiments = purged
        .experiments
        .iter()
        .map(|(id, uri)| (id, uri, experiment_folder(id, uri)));
    for (id, uri, folder) in runs.chain(experiments) {
        match folder {
            Some(path) => match artifacts.delete(&path).await {
                Ok(()) => {}
                Err(e) if e.code == keel_core::ErrorCode::ResourceDoesNotExist => {}
                Err(e) => eprintln!("  could not remove artifacts of {id} at {uri}: {e}"),
            },
            None => eprintln!(
                "  left artifacts of {id} in place: {uri} is not a location Keel assigned"
            ),
        }
    }
}

/// Traces purged per transaction.
const TRACE_BATCH: u64 = 500;

/// Removes traces logged more than `age_ms` ago, in batches, with the artifact folders Keel
/// assigned them (`.../traces/<id>/artifacts`, where old clients uploaded `traces.json`).
async fn expire_traces(
    traces: &keel_core::traces::Traces,
    artifacts: &dyn ArtifactStore,
    age_ms: i64,
    dry_run: bool,
) -> anyhow::Result<()> {
    let fail = |e: keel_core::Error| anyhow::anyhow!("{e}");
    if dry_run {
        let old = traces
            .traces_older_than(age_ms, u64::MAX)
            .await
            .map_err(fail)?;
        println!("would remove {} trace(s)", old.len());
        for (id, _) in old.iter().take(20) {
            println!("  trace {}", id.as_str());
        }
        return Ok(());
    }
    let mut removed = 0;
    loop {
        let batch = traces
            .traces_older_than(age_ms, TRACE_BATCH)
            .await
            .map_err(fail)?;
        if batch.is_empty() {
            break;
        }
        let ids: Vec<_> = batch.iter().map(|(id, _)| id.clone()).collect();
        removed += traces.purge_traces(&ids).await.map_err(fail)?;
        for (id, location) in &batch {
            let Some(folder) = location
                .as_deref()
                .and_then(|l| trace_folder(id.as_str(), l))
            else {
                continue;
            };
            match artifacts.delete(&folder).await {
                Ok(()) => {}
                Err(e) if e.code == keel_core::ErrorCode::ResourceDoesNotExist => {}
                Err(e) => eprintln!("  could not remove artifacts of trace {}: {e}", id.as_str()),
            }
        }
    }
    println!("removed {removed} trace(s)");
    Ok(())
}

/// `<...>/traces/<trace_id>/artifacts` → the `<...>/traces/<trace_id>` folder.
fn trace_folder(trace_id: &str, uri: &str) -> Option<ArtifactPath> {
    let path = proxied_path(uri).ok()?;
    match path.segments() {
        [.., traces, id, last] if traces == "traces" && id == trace_id && last == "artifacts" => {
            Some(path.parent())
        }
        _ => None,
    }
}

/// Multipart uploads untouched for this long were abandoned by their client.
const STALE_UPLOAD_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Drops the staged parts of multipart uploads abandoned more than a day ago.
async fn remove_stale_uploads(artifacts: &dyn ArtifactStore) {
    match artifacts.purge_stale_uploads(STALE_UPLOAD_AGE).await {
        Ok(0) => {}
        Ok(n) => println!("removed {n} abandoned multipart upload(s)"),
        Err(e) => eprintln!("  could not remove abandoned multipart uploads: {e}"),
    }
}

/// `<...>/<id>/artifacts` → the `<...>/<id>` folder (of a run or a logged model).
fn run_folder(run_id: &str, uri: &str) -> Option<ArtifactPath> {
    let path = proxied_path(uri).ok()?;
    match path.segments() {
        [.., id, last] if id == run_id && last == "artifacts" => Some(path.parent()),
        _ => None,
    }
}

/// `mlflow-artifacts:/<experiment_id>` (or, for an experiment of a workspace,
/// `mlflow-artifacts:/workspaces/<workspace>/<experiment_id>`) → that folder.
fn experiment_folder(experiment_id: &str, uri: &str) -> Option<ArtifactPath> {
    let path = proxied_path(uri).ok()?;
    let keel_placed = match path.segments() {
        [id] => id == experiment_id,
        [workspaces, _, id] => workspaces == "workspaces" && id == experiment_id,
        _ => false,
    };
    keel_placed.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("0").ok(), Some(0));
        assert_eq!(parse_age("0s").ok(), Some(0));
        assert_eq!(parse_age("30d").ok(), Some(30 * 86_400_000));
        assert_eq!(
            parse_age("1d2h3m4s").ok(),
            Some(86_400_000 + 7_200_000 + 180_000 + 4_000)
        );
        for bad in ["", "5", "d", "3w", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_locations_keel_assigned_are_removed() {
        assert_eq!(
            run_folder("abc", "mlflow-artifacts:/5/abc/artifacts")
                .map(|p| p.as_string())
                .as_deref(),
            Some("5/abc")
        );
        assert!(run_folder("abc", "mlflow-artifacts:/5/other/artifacts").is_none());
        assert!(run_folder("abc", "s3://bucket/5/abc/artifacts").is_none());
        assert_eq!(
            experiment_folder("5", "mlflow-artifacts:/5")
                .map(|p| p.as_string())
                .as_deref(),
            Some("5")
        );
        assert!(experiment_folder("5", "mlflow-artifacts:/0").is_none());
        assert_eq!(
            experiment_folder("5", "mlflow-artifacts:/workspaces/team-a/5")
                .map(|p| p.as_string())
                .as_deref(),
            Some("workspaces/team-a/5")
        );
        assert!(experiment_folder("5", "mlflow-artifacts:/workspaces/team-a").is_none());
        assert!(experiment_folder("5", "mlflow-artifacts:/other/team-a/5").is_none());
        assert_eq!(
            trace_folder("tr-1", "mlflow-artifacts:/5/traces/tr-1/artifacts")
                .map(|p| p.as_string())
                .as_deref(),
            Some("5/traces/tr-1")
        );
        assert!(trace_folder("tr-1", "mlflow-artifacts:/5/traces/tr-2/artifacts").is_none());
        assert!(trace_folder("tr-1", "s3://b/5/traces/tr-1/artifacts").is_none());
        assert!(experiment_folder("5", "mlflow-artifacts:/").is_none());
    }
}
