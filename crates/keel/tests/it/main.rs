//! Integration tests of the `keel` binary: configuration layering and the server process.

mod accounts;
mod audit;
mod config;
mod gc;
mod process;
mod replicas;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `keel` with `args` in `dir`, with only the given `KEEL_*` variables set.
pub fn keel(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("KEEL_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("run keel")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
