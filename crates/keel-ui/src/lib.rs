//! Keel's web UI: the files of `ui/dist`, embedded at build time by `build.rs`.
//!
//! This crate knows nothing of HTTP; the `keel` binary hands [`assets`] to `keel-server`, which
//! serves them. A build without `ui/dist` has an empty table ([`BUILT`] is false); release builds
//! refuse to build that way unless `KEEL_ALLOW_NO_UI=1`.

#[cfg(test)]
mod build_support;

/// One file of `ui/dist`.
#[derive(Clone, Copy)]
pub struct Asset {
    /// Relative to `ui/dist`, `/`-separated (`index.html`, `assets/index-3f2a.js`).
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// From the extension (`text/javascript; charset=utf-8`).
    pub content_type: &'static str,
    /// A strong ETag of `bytes`, quoted: `"0123456789abcdef"`.
    pub etag: &'static str,
    /// Under `assets/`, where Vite's file names carry a content hash: cacheable forever.
    pub immutable: bool,
    /// The Brotli-compressed bytes (`F.br`), when the build wrote them.
    pub br: Option<&'static [u8]>,
    /// The gzip-compressed bytes (`F.gz`), when the build wrote them.
    pub gz: Option<&'static [u8]>,
}

impl std::fmt::Debug for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asset")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .field("etag", &self.etag)
            .field("immutable", &self.immutable)
            .field("br", &self.br.map(<[u8]>::len))
            .field("gz", &self.gz.map(<[u8]>::len))
            .finish()
    }
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Every embedded file, sorted by path; empty when the UI was not built.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

#[cfg(test)]
mod tests {
    use super::build_support::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(etag(b"a"), "\"af63dc4c8601ec8c\"");
    }

    #[test]
    fn content_types_follow_the_extension_table() {
        for (path, want) in [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/index-3f2a.js", "text/javascript; charset=utf-8"),
            ("assets/worker.MJS", "text/javascript; charset=utf-8"),
            ("assets/index-3f2a.css", "text/css; charset=utf-8"),
            ("manifest.json", "application/json"),
            ("assets/index-3f2a.js.map", "application/json"),
            ("logo.svg", "image/svg+xml"),
            ("logo.png", "image/png"),
            ("favicon.ico", "image/x-icon"),
            ("assets/font.woff2", "font/woff2"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("README", "application/octet-stream"),
            ("data.bin", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), want, "{path}");
        }
    }

    #[test]
    fn collect_pairs_variants_and_render_writes_the_table() {
        let dir = std::env::temp_dir().join(format!("keel-ui-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |rel: &str, bytes: &[u8]| {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        };
        write("index.html", b"<!doctype html>");
        write("index.html.br", b"br");
        write("index.html.gz", b"gz");
        write("assets/app-1a2b.js", b"console.log(1)");
        write("assets/app-1a2b.js.gz", b"gz");
        write("data/archive.gz", b"a real .gz file");

        let found = collect(&dir).expect("collect");
        let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["assets/app-1a2b.js", "data/archive.gz", "index.html"]
        );
        assert!(found[0].br.is_none() && found[0].gz.is_some());
        assert!(found[1].br.is_none() && found[1].gz.is_none());
        assert!(found[2].br.is_some() && found[2].gz.is_some());

        let code = render(Some(&found)).expect("render");
        assert!(code.starts_with("pub const BUILT: bool = true;"), "{code}");
        assert!(code.contains(r#"path: "assets/app-1a2b.js""#), "{code}");
        assert!(code.contains("immutable: true"), "{code}");
        assert!(
            code.contains(&format!("{:?}", etag(b"<!doctype html>"))),
            "{code}"
        );
        assert!(code.contains("as &[u8])"), "{code}");
        assert!(code.contains("br: None"), "{code}");
        assert_eq!(code.matches("Asset {").count(), 3);
        let empty = render(None).expect("render");
        assert!(empty.contains("BUILT: bool = false") && empty.contains("&[]"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
