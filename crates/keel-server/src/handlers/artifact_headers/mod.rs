//! The headers of an artifact download, as the reference server sends them: the media type of
//! the file's name (`text/plain` for the extensions it lists, else what Python's `mimetypes`
//! says, else `application/octet-stream`) and `Content-Disposition: attachment` with the name
//! quoted as Werkzeug quotes it. Keel adds `nosniff` ([`mark_attachment`]) and a sandboxing
//! CSP (see `artifacts::serve_file`), so active content (HTML, SVG) never runs as a page of this
//! origin.

mod mime_table;

use axum::http::{HeaderMap, HeaderValue, header};
use unicode_normalization::UnicodeNormalization;

/// Extensions (or, for a name without one, whole names) served as `text/plain`, matched
/// case-sensitively as the reference matches them.
const TEXT_EXTENSIONS: &[&str] = &[
    "txt",
    "log",
    "err",
    "cfg",
    "conf",
    "cnf",
    "cf",
    "ini",
    "properties",
    "prop",
    "hocon",
    "toml",
    "yaml",
    "yml",
    "xml",
    "json",
    "js",
    "py",
    "py3",
    "csv",
    "tsv",
    "md",
    "rst",
    "ipynb",
    "MLmodel",
    "mlproject",
];

/// The media type of a download named `name` (a file name, not a path).
pub fn content_type(name: &str) -> &'static str {
    let ext = match split_ext(name).1 {
        "" => name,
        ext => &ext[1..],
    };
    if TEXT_EXTENSIONS.contains(&ext) {
        return "text/plain";
    }
    guess_type(name).unwrap_or("application/octet-stream")
}

/// The media type Python's `mimetypes` guesses for `path` (a file name or a path), else
/// `application/octet-stream`: what the reference's S3 store signs into an upload URL.
pub fn guessed_type(path: &str) -> &'static str {
    guess_type(path).unwrap_or("application/octet-stream")
}

/// `(root, ".ext")` as Python's `posixpath.splitext`: the last dot starts the extension unless
/// only dots precede it (`.bashrc` has none).
fn split_ext(name: &str) -> (&str, &str) {
    let component = name.rfind('/').map_or(0, |i| i + 1);
    match name.rfind('.') {
        Some(dot) if dot > component && name[component..dot].bytes().any(|b| b != b'.') => {
            name.split_at(dot)
        }
        _ => (name, ""),
    }
}

/// Python's `mimetypes.guess_type(name)[0]` in strict mode (a `data:` name, which Python
/// reads as a data URL, gets none).
fn guess_type(name: &str) -> Option<&'static str> {
    // Python drops a leading `scheme:` first.
    let name = match name.split_once(':') {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("data") => return None,
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('/') => rest,
        _ => name,
    };
    // Compound suffixes are rewritten until none is left (`.tgz` is `.tar.gz`).
    let mut current = name.to_owned();
    loop {
        let (base, ext) = split_ext(&current);
        match mime_table::SUFFIXES
            .iter()
            .find(|(suffix, _)| suffix.eq_ignore_ascii_case(ext))
        {
            Some((_, full)) => current = format!("{base}{full}"),
            None => break,
        }
    }
    let (base, ext) = split_ext(&current);
    lookup_after_encoding(base, ext)
}

/// The type of `ext`, skipping one compression suffix first (`.tar.gz` is a tar archive).
fn lookup_after_encoding(base: &str, ext: &str) -> Option<&'static str> {
    let ext = if mime_table::ENCODINGS.contains(&ext) {
        split_ext(base).1
    } else {
        ext
    };
    let ext = ext.to_ascii_lowercase();
    mime_table::TYPES
        .binary_search_by(|(e, _)| (*e).cmp(ext.as_str()))
        .ok()
        .map(|i| mime_table::TYPES[i].1)
}

/// Marks a response as a download named `name` that a browser must save, never sniff and run:
/// its `Content-Disposition` and `X-Content-Type-Options: nosniff`.
pub fn mark_attachment(headers: &mut HeaderMap, name: &str) {
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// `attachment; filename=...` for a download named `name`, as the reference writes it: the
/// name bare when it is a token, else quoted; a non-ASCII name as an ASCII fallback plus its
/// RFC 8187 `filename*`.
pub fn content_disposition(name: &str) -> String {
    if name.is_ascii() {
        return format!("attachment; filename={}", quote_header_value(name));
    }
    let fallback: String = name.nfkd().filter(char::is_ascii).collect();
    let fallback = if fallback.is_empty() {
        "download".to_owned()
    } else {
        fallback
    };
    format!(
        "attachment; filename={}; filename*=UTF-8''{}",
        quote_header_value(&fallback),
        percent_encode(name)
    )
}

/// Werkzeug's `quote_header_value`: a token as it is, anything else in quotes.
fn quote_header_value(value: &str) -> String {
    const TOKEN: &[u8] = b"!#$%&'*+-.^_`|~";
    if value.is_empty() {
        return "\"\"".to_owned();
    }
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || TOKEN.contains(&b))
    {
        return value.to_owned();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Python's `urllib.parse.quote(name, safe="!#$&+-.^_`|~")`: UTF-8 bytes, all but the
/// unreserved and those marks percent-encoded.
fn percent_encode(name: &str) -> String {
    const SAFE: &[u8] = b"_.-~!#$&+^`|";
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || SAFE.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the reference sends, observed on MLflow 3.17.2 (Python 3.11, Debian 12).
    #[test]
    fn media_types_are_the_reference_servers() {
        for (name, want) in [
            ("a.txt", "text/plain"),
            ("MLmodel", "text/plain"),
            ("mlproject", "text/plain"),
            ("MLproject", "application/octet-stream"),
            ("conda.yaml", "text/plain"),
            ("metrics.json", "text/plain"),
            ("a.JSON", "application/json"),
            (".json", "application/octet-stream"),
            ("notebook.ipynb", "text/plain"),
            ("plot.png", "image/png"),
            ("photo.JPG", "image/jpeg"),
            ("anim.gif", "image/gif"),
            ("fig.svg", "image/svg+xml"),
            ("page.html", "text/html"),
            ("page.htm", "text/html"),
            ("report.pdf", "application/pdf"),
            ("model.pkl", "application/octet-stream"),
            ("weights.npy", "application/octet-stream"),
            ("data.parquet", "application/octet-stream"),
            ("bundle.zip", "application/zip"),
            ("bundle.tar", "application/x-tar"),
            ("bundle.tar.gz", "application/x-tar"),
            ("bundle.tgz", "application/x-tar"),
            ("blob.gz", "application/octet-stream"),
            ("style.css", "text/css"),
            ("sound.wav", "audio/x-wav"),
            ("sound.mp3", "audio/mpeg"),
            ("clip.mp4", "video/mp4"),
            ("image.webp", "image/webp"),
            ("no_extension", "application/octet-stream"),
            ("..png", "application/octet-stream"),
            ("v1:plot.png", "image/png"),
        ] {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(mime_table::TYPES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn disposition_quotes_names_as_werkzeug_does() {
        for (name, want) in [
            ("a.png", "attachment; filename=a.png"),
            ("x'y.txt", "attachment; filename=x'y.txt"),
            ("my file.txt", "attachment; filename=\"my file.txt\""),
            ("q\"uote.bin", "attachment; filename=\"q\\\"uote.bin\""),
            ("a,b;c.bin", "attachment; filename=\"a,b;c.bin\""),
            (
                "r\u{e9}sum\u{e9}.pdf",
                "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            ),
            (
                "\u{65e5}\u{672c}\u{8a9e}.csv",
                "attachment; filename=.csv; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.csv",
            ),
            (
                "\u{65e5}\u{672c}\u{8a9e}",
                "attachment; filename=download; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E",
            ),
        ] {
            assert_eq!(content_disposition(name), want, "{name}");
        }
    }
}
