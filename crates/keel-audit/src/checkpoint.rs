//! C2SP tlog-checkpoint note texts (<https://c2sp.org/tlog-checkpoint>): origin, size, root.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::hash::Hash;

/// A checkpoint: the head of the log `origin` at `size` leaves, with its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (by convention the key name of the log's signatures).
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 9162 root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extension lines, opaque (each non-empty, without a newline). Usually none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n` and each extension line.
    ///
    /// Does not validate: [`Checkpoint::parse`] reads back the text of a valid checkpoint (a
    /// non-empty origin and non-empty extensions, none with a newline or control character).
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint note text, strictly: at least three non-empty lines each ending in a
    /// newline, no control characters, a decimal size without leading zeros (except `0`) or
    /// sign, and the canonical standard base64 of a 32-byte root.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(Error::InvalidCheckpoint(
                "a checkpoint must not contain control characters",
            ));
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err(Error::InvalidCheckpoint("a checkpoint ends with a newline"));
        };
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::InvalidCheckpoint(
                "a checkpoint has an origin, a size and a root line",
            ));
        };
        if origin.is_empty() {
            return Err(Error::InvalidCheckpoint("the origin is empty"));
        }
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Error::InvalidCheckpoint("an extension line is empty"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

fn parse_size(line: &str) -> Result<u64, Error> {
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidCheckpoint("the size is not a decimal number"));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(Error::InvalidCheckpoint("the size has a leading zero"));
    }
    line.parse()
        .map_err(|_| Error::InvalidCheckpoint("the size does not fit in 64 bits"))
}

fn parse_root(line: &str) -> Result<Hash, Error> {
    let raw = STANDARD
        .decode(line)
        .map_err(|_| Error::InvalidCheckpoint("the root is not canonical standard base64"))?;
    raw.try_into()
        .map_err(|_| Error::InvalidCheckpoint("the root is not 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn round_trip() {
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 20852163,
            root: [7; 32],
            extensions: vec!["ext one".into(), "two".into()],
        };
        let text = cp.to_text();
        assert_eq!(Checkpoint::parse(&text).ok(), Some(cp));
        let empty = Checkpoint {
            origin: "o".into(),
            size: 0,
            root: crate::hash::empty_root(),
            extensions: vec![],
        };
        assert_eq!(empty.to_text(), format!("o\n0\n{ROOT}\n"));
        assert_eq!(Checkpoint::parse(&empty.to_text()).ok(), Some(empty));
    }

    #[test]
    fn strictness() {
        let bad = [
            format!("o\n1\n{ROOT}"),
            format!("\n1\n{ROOT}\n"),
            format!("o\n01\n{ROOT}\n"),
            format!("o\n00\n{ROOT}\n"),
            format!("o\n+1\n{ROOT}\n"),
            format!("o\n-1\n{ROOT}\n"),
            format!("o\n 1\n{ROOT}\n"),
            format!("o\n\n{ROOT}\n"),
            format!("o\n18446744073709551616\n{ROOT}\n"),
            "o\n1\n\n".to_owned(),
            "o\n1\nAAAA\n".to_owned(),
            "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n".to_owned(),
            "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n".to_owned(),
            "o\n1\n47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_owned(),
            format!("o\n1\n{ROOT}\n\n"),
            format!("o\n1\n{ROOT}\next\n\n"),
            format!("o\r\n1\n{ROOT}\n"),
            "o\n1\n".to_owned(),
            String::new(),
        ];
        for text in bad {
            assert!(Checkpoint::parse(&text).is_err(), "{text:?}");
        }
        assert!(Checkpoint::parse(&format!("o\n18446744073709551615\n{ROOT}\n")).is_ok());
    }
}
