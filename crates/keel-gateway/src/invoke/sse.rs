//! Reading a server-sent event stream as it arrives: bytes in whatever chunks the network
//! gives, complete lines out (`\n` or `\r\n`), each at most [`MAX_LINE`] bytes so an upstream
//! cannot make the gateway buffer without bound.

/// The longest line an upstream stream may send (a chunk of a long tool-call argument or a
/// whole non-streamed answer in one event fits many times over).
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// Splits a byte stream into lines.
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

/// An upstream line longer than [`MAX_LINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

impl Lines {
    /// Appends `chunk` and returns the lines it completed, without their line ends.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, LineTooLong> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(at);
            if self.partial.len() + line.len() > MAX_LINE {
                return Err(LineTooLong);
            }
            let mut full = std::mem::take(&mut self.partial);
            full.extend_from_slice(line);
            if full.last() == Some(&b'\r') {
                full.pop();
            }
            lines.push(full);
            rest = &tail[1..];
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            return Err(LineTooLong);
        }
        self.partial.extend_from_slice(rest);
        Ok(lines)
    }

    /// What is left when the stream ends (a last line without a line end), if anything.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.partial);
        (!rest.is_empty()).then_some(rest)
    }
}

/// The payload of a `data:` line (`data: {...}` → `{...}`), `None` for other lines.
pub fn data(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"data:")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_joined_across_chunks_and_line_ends_dropped() {
        let mut lines = Lines::default();
        assert_eq!(
            lines.push(b"data: {\"a\"").expect("fits"),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(
            lines.push(b":1}\r\n\r\ndata: [DONE]\n").expect("fits"),
            vec![
                b"data: {\"a\":1}".to_vec(),
                Vec::new(),
                b"data: [DONE]".to_vec()
            ]
        );
        assert_eq!(
            lines.push(b"event: end").expect("fits"),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(lines.finish(), Some(b"event: end".to_vec()));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut lines = Lines::default();
        let big = vec![b'x'; MAX_LINE];
        lines.push(&big).expect("exactly the limit fits");
        assert_eq!(lines.push(b"y"), Err(LineTooLong));
    }

    #[test]
    fn data_lines_are_read_with_or_without_the_space() {
        assert_eq!(data(b"data: {}"), Some(&b"{}"[..]));
        assert_eq!(data(b"data:{}"), Some(&b"{}"[..]));
        assert_eq!(data(b"event: x"), None);
        assert_eq!(data(b": keep-alive"), None);
    }
}
