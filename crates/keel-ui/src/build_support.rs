//! What `build.rs` computes for each file of `ui/dist`, kept apart so it can be unit-tested
//! (`lib.rs` compiles this file only under `cfg(test)`): the walk, the content type, the ETag
//! and the generated table.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A strong ETag for `bytes`: the quoted hex FNV-1a hash.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{:016x}\"", fnv1a64(bytes))
}

/// The `Content-Type` of a file by its extension (docs/ui-notes.md §4).
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One file to serve, with its precompressed siblings `F.br` and `F.gz` when they exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Relative to the dist folder, `/`-separated.
    pub path: String,
    pub file: PathBuf,
    pub br: Option<PathBuf>,
    pub gz: Option<PathBuf>,
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|name| {
            io::Error::other(format!("a file name in ui/dist is not UTF-8: {name:?}"))
        })?;
        let path = entry.path();
        let rel = format!("{prefix}{name}");
        // `metadata` follows symbolic links, as a copy of the folder would.
        if std::fs::metadata(&path)?.is_dir() {
            walk(&path, &format!("{rel}/"), out)?;
        } else {
            out.push((rel, path));
        }
    }
    Ok(())
}

/// Every file under `dist`, sorted by path; `F.br` and `F.gz` next to a file `F` are its
/// variants, not files of their own.
pub fn collect(dist: &Path) -> io::Result<Vec<Found>> {
    let mut files = Vec::new();
    walk(dist, "", &mut files)?;
    files.sort();
    let has = |p: &str| {
        files
            .binary_search_by(|(rel, _)| rel.as_str().cmp(p))
            .is_ok()
    };
    let sibling = |rel: &str, suffix: &str| {
        let name = format!("{rel}{suffix}");
        files
            .binary_search_by(|(r, _)| r.as_str().cmp(&name))
            .ok()
            .map(|i| files[i].1.clone())
    };
    Ok(files
        .iter()
        .filter(|(rel, _)| {
            let variant_of = rel.strip_suffix(".br").or_else(|| rel.strip_suffix(".gz"));
            !variant_of.is_some_and(has)
        })
        .map(|(rel, file)| Found {
            path: rel.clone(),
            file: file.clone(),
            br: sibling(rel, ".br"),
            gz: sibling(rel, ".gz"),
        })
        .collect())
}

fn bytes_expr(file: &Path) -> io::Result<String> {
    let abs = std::fs::canonicalize(file)?;
    let abs = abs
        .to_str()
        .ok_or_else(|| io::Error::other(format!("a path is not UTF-8: {abs:?}")))?;
    // `{:?}` writes a Rust string literal with every needed escape.
    Ok(format!("include_bytes!({abs:?})"))
}

/// The Rust source of the asset table (`ASSETS` and `BUILT`) for `found`; `None` is the empty
/// table of a build without the UI.
pub fn render(found: Option<&[Found]>) -> io::Result<String> {
    let Some(found) = found else {
        return Ok("pub const BUILT: bool = false;\npub static ASSETS: &[Asset] = &[];\n".into());
    };
    let mut out = String::from("pub const BUILT: bool = true;\npub static ASSETS: &[Asset] = &[\n");
    for f in found {
        let bytes = std::fs::read(&f.file)?;
        let variant = |p: &Option<PathBuf>| -> io::Result<String> {
            Ok(match p {
                Some(p) => format!("Some({} as &[u8])", bytes_expr(p)?),
                None => "None".to_owned(),
            })
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "    Asset {{ path: {path:?}, bytes: {bytes}, content_type: {ct:?}, etag: {etag:?}, \
             immutable: {immutable}, br: {br}, gz: {gz} }},",
            path = f.path,
            bytes = bytes_expr(&f.file)?,
            ct = content_type(&f.path),
            etag = etag(&bytes),
            immutable = f.path.starts_with("assets/"),
            br = variant(&f.br)?,
            gz = variant(&f.gz)?,
        );
    }
    out.push_str("];\n");
    Ok(out)
}
