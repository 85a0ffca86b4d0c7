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
}
