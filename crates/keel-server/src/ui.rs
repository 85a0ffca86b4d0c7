//! The web UI's files as the server holds them: a table handed in by the `keel` binary (from the
//! `keel-ui` crate, which this crate does not depend on) or by tests, looked up by exact path.

use std::collections::HashMap;
use std::sync::Arc;

/// One file of the built UI (`ui/dist`), with what serving it needs.
#[derive(Clone, Copy)]
pub struct UiAsset {
    /// Relative to `ui/dist`, `/`-separated: `index.html`, `assets/index-3f2a.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// A strong ETag of `bytes`, quoted.
    pub etag: &'static str,
    /// A content-hashed file name (`assets/`): cached for a year without revalidation.
    pub immutable: bool,
    /// Precompressed variants, when the build wrote them.
    pub br: Option<&'static [u8]>,
    pub gz: Option<&'static [u8]>,
}

/// The UI's files by path; empty when the binary was built without the UI.
#[derive(Clone, Default)]
pub struct UiAssets {
    by_path: Arc<HashMap<&'static str, UiAsset>>,
}

impl std::fmt::Debug for UiAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiAssets")
            .field("files", &self.by_path.len())
            .finish()
    }
}

impl UiAssets {
    pub fn new(assets: impl IntoIterator<Item = UiAsset>) -> Self {
        Self {
            by_path: Arc::new(assets.into_iter().map(|a| (a.path, a)).collect()),
        }
    }

    /// The file at exactly `path` (relative to `ui/dist`).
    pub fn get(&self, path: &str) -> Option<&UiAsset> {
        self.by_path.get(path)
    }

    /// The page served at `/`; `None` when the UI is not built.
    pub fn index(&self) -> Option<&UiAsset> {
        self.get("index.html")
    }

    /// These files as served under `prefix` (`--static-prefix`, e.g. `/mlflow`): `index.html`
    /// refers to `<prefix>/static-files/...` and names the prefix in `<meta name="keel-base">`,
    /// where the UI's scripts read it. The rewritten page lives as long as the process (it is
    /// built once, at start-up), and has no precompressed variants.
    pub fn mounted_at(self, prefix: &str) -> Self {
        let Some(index) = self.index().copied().filter(|_| !prefix.is_empty()) else {
            return self;
        };
        let html = String::from_utf8_lossy(index.bytes)
            .replace("\"/static-files/", &format!("\"{prefix}/static-files/"))
            .replacen(
                "<head>",
                &format!("<head>\n    <meta name=\"keel-base\" content=\"{prefix}\" />"),
                1,
            );
        let digest = ring::digest::digest(&ring::digest::SHA256, html.as_bytes());
        let etag: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mounted = UiAsset {
            bytes: Box::leak(html.into_bytes().into_boxed_slice()),
            etag: Box::leak(format!("\"{etag}\"").into_boxed_str()),
            br: None,
            gz: None,
            ..index
        };
        let mut by_path = (*self.by_path).clone();
        by_path.insert(mounted.path, mounted);
        Self {
            by_path: Arc::new(by_path),
        }
    }
}
