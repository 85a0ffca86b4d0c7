//! Embeds the built web UI (`ui/dist`) into the crate as a static table of files.
//!
//! With `ui/dist/index.html` present, `$OUT_DIR/assets.rs` lists every file with its bytes
//! (`include_bytes!`), content type, ETag and precompressed variants. Without it, a release build
//! fails with the command to run (unless `KEEL_ALLOW_NO_UI=1`), and any other build gets an empty
//! table, for which the server answers `/` with a 503 page naming the same command.
//!
//! `KEEL_UI_DIST` overrides the folder (absolute, or relative to this crate), e.g. to check the
//! embedding against a scratch folder without touching `ui/`.

#[path = "src/build_support.rs"]
mod build_support;

use std::path::{Path, PathBuf};

const NOT_BUILT: &str = "keel's web UI is not built: run scripts/build-ui.sh (npm ci && npm run \
     build in ui/) before cargo build --release, or set KEEL_ALLOW_NO_UI=1 to build without it";

fn main() {
    if let Err(e) = run() {
        eprintln!("keel-ui: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/build_support.rs");
    println!("cargo::rerun-if-env-changed=KEEL_ALLOW_NO_UI");
    println!("cargo::rerun-if-env-changed=KEEL_UI_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dist = match std::env::var_os("KEEL_UI_DIST") {
        Some(d) => manifest.join(d),
        None => manifest.join("../../ui/dist"),
    };
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("assets.rs");

    if dist.join("index.html").is_file() {
        // Cargo scans a watched folder recursively: any file added, changed or removed reruns
        // this script (`include_bytes!` alone would miss added and removed files).
        watch(&dist);
        let found = build_support::collect(&dist)?;
        std::fs::write(&out, build_support::render(Some(&found))?)?;
        return Ok(());
    }

    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let allowed = std::env::var("KEEL_ALLOW_NO_UI").is_ok_and(|v| v == "1");
    if release && !allowed {
        eprintln!("{NOT_BUILT}");
        std::process::exit(1);
    }
    // Notice the UI being built later. Cargo treats a watched path that does not exist as
    // changed on every build (rerunning this script and relinking `keel` each time), so watch
    // the nearest folder that exists and changes when `dist/index.html` appears: `dist` itself
    // when it exists (mid-build), else `ui/`, whose entry list gains `dist`. Watching `ui/`
    // scans `ui/node_modules` too, a cost paid only by builds without a UI. With neither
    // folder (a crate copied out of the repository) nothing more is watched.
    if dist.is_dir() {
        watch(&dist);
    } else if let Some(ui) = dist.parent().filter(|p| p.is_dir()) {
        watch(ui);
    }
    std::fs::write(&out, build_support::render(None)?)?;
    Ok(())
}

fn watch(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}
