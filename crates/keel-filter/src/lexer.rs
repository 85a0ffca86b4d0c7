//! Tokenizer for the MLflow search grammar: turns a filter or order_by string into tokens with spans.
//!
//! The token rules follow what MLflow's `sqlparse`-based reference accepts: single- and
//! double-quoted strings (a doubled quote or a backslash does not end the string, and the text
//! between the outer quotes is kept exactly as written), backtick-quoted names, numbers with an
//! optional leading `-`, a fraction and an exponent, and runs of comparison characters lexed as one
//! operator so that `>>` is reported as a whole.

/// What a token is. Quoted variants hold the raw text between the outer quotes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    /// A bare word: an identifier segment or a keyword (`AND`, `LIKE`, `IN`, ...).
    Word(String),
    /// A numeric literal.
    Number(f64),
    /// `'...'`
    SQuoted(String),
    /// `"..."`
    DQuoted(String),
    /// `` `...` ``
    Backtick(String),
    Dot,
    LParen,
    RParen,
    Comma,
    /// A maximal run of `<>=!~` characters, valid or not (`>=`, `>>`, `<>`, ...).
    Op(String),
}

/// One token with its source text and its span in characters (`start..end`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokKind,
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// A lexing failure: the offending source text, for the caller to wrap in a full message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LexError {
    UnexpectedChar(String),
    Unterminated { quote: char, text: String },
}

fn is_word_start(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '#'
}

fn is_op_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!' | '~')
}

/// Splits `input` into tokens.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = input.chars().collect();
    let n = chars.len();
    let text = |a: usize, b: usize| -> String { chars[a..b.min(n)].iter().collect() };
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // A dot or digit right after a name continues the name (`metrics.acc`, `params.1st`).
        let follows_name = tokens.last().is_some_and(|t| {
            t.end == i
                && matches!(
                    t.kind,
                    TokKind::Word(_) | TokKind::DQuoted(_) | TokKind::Backtick(_)
                )
        });
        let follows_dot = tokens
            .last()
            .is_some_and(|t| t.end == i && t.kind == TokKind::Dot);
        let start = i;
        let kind = match c {
            '\'' | '"' => {
                let end = scan_quoted(&chars, i, c).ok_or_else(|| LexError::Unterminated {
                    quote: c,
                    text: text(i, n),
                })?;
                i = end;
                let inner = text(start + 1, end - 1);
                if c == '\'' {
                    TokKind::SQuoted(inner)
                } else {
                    TokKind::DQuoted(inner)
                }
            }
            '`' => {
                let end = scan_backtick(&chars, i).ok_or_else(|| LexError::Unterminated {
                    quote: '`',
                    text: text(i, n),
                })?;
                i = end;
                TokKind::Backtick(text(start + 1, end - 1))
            }
            '(' => {
                i += 1;
                TokKind::LParen
            }
            ')' => {
                i += 1;
                TokKind::RParen
            }
            ',' => {
                i += 1;
                TokKind::Comma
            }
            '.' if follows_name || !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                i += 1;
                TokKind::Dot
            }
            _ if is_op_char(c) => {
                while i < n && is_op_char(chars[i]) {
                    i += 1;
                }
                TokKind::Op(text(start, i))
            }
            _ if follows_dot && is_word_start(c) => {
                i = scan_word(&chars, i);
                TokKind::Word(text(start, i))
            }
            '.' | '-' | '0'..='9' => match scan_number(&chars, i) {
                Some(end) if !chars.get(end).is_some_and(|&d| is_word_char(d)) => {
                    i = end;
                    let raw = text(start, end);
                    let value = raw
                        .parse::<f64>()
                        .map_err(|_| LexError::UnexpectedChar(raw.clone()))?;
                    TokKind::Number(value)
                }
                _ if c.is_ascii_digit() => {
                    i = scan_word(&chars, i);
                    TokKind::Word(text(start, i))
                }
                _ => return Err(LexError::UnexpectedChar(c.to_string())),
            },
            _ if is_word_start(c) => {
                i = scan_word(&chars, i);
                TokKind::Word(text(start, i))
            }
            _ => return Err(LexError::UnexpectedChar(c.to_string())),
        };
        tokens.push(Token {
            kind,
            text: text(start, i),
            start,
            end: i,
        });
    }
    Ok(tokens)
}

fn scan_word(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && is_word_char(chars[i]) {
        i += 1;
    }
    i
}

/// Scans `-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?` from `i`; returns the end, or `None` if no number.
fn scan_number(chars: &[char], start: usize) -> Option<usize> {
    let digit_at = |j: usize| chars.get(j).is_some_and(|c| c.is_ascii_digit());
    let mut i = start;
    if chars.get(i) == Some(&'-') {
        i += 1;
    }
    let int_start = i;
    while digit_at(i) {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if chars.get(i) == Some(&'.') && (int_digits > 0 || digit_at(i + 1)) {
        i += 1;
        let frac_start = i;
        while digit_at(i) {
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('-' | '+')) {
            j += 1;
        }
        if digit_at(j) {
            while digit_at(j) {
                j += 1;
            }
            i = j;
        }
    }
    Some(i)
}

/// Scans a quoted string starting at `start` (the opening quote). A doubled quote or a
/// backslash-escaped character does not end it. If the string only terminates when backslashes are
/// taken literally (e.g. `'C:\dir\'`), that reading is used, as a backtracking regex would.
fn scan_quoted(chars: &[char], start: usize, quote: char) -> Option<usize> {
    scan_quoted_with(chars, start, quote, true)
        .or_else(|| scan_quoted_with(chars, start, quote, false))
}

fn scan_quoted_with(
    chars: &[char],
    start: usize,
    quote: char,
    backslash_escapes: bool,
) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash_escapes && c == '\\' && i + 1 < chars.len() {
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Scans a backtick-quoted name; a doubled backtick does not end it.
fn scan_backtick(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '`' {
            if chars.get(i + 1) == Some(&'`') {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokKind> {
        tokenize(input)
            .expect("lexes")
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn word(s: &str) -> TokKind {
        TokKind::Word(s.to_string())
    }

    #[test]
    fn dotted_name_and_number() {
        assert_eq!(
            kinds("metrics.acc >= 0.5"),
            vec![
                word("metrics"),
                TokKind::Dot,
                word("acc"),
                TokKind::Op(">=".into()),
                TokKind::Number(0.5)
            ]
        );
    }

    #[test]
    fn numbers_in_every_form() {
        for (src, v) in [
            ("1", 1.0),
            ("-2", -2.0),
            ("1.", 1.0),
            (".25", 0.25),
            ("-.5", -0.5),
            ("1e3", 1000.0),
            ("1.5E-2", 0.015),
            ("2e+2", 200.0),
        ] {
            assert_eq!(kinds(src), vec![TokKind::Number(v)], "{src}");
        }
    }

    #[test]
    fn digit_led_word_is_a_word() {
        assert_eq!(kinds("1abc"), vec![word("1abc")]);
        assert_eq!(
            kinds("params.1st"),
            vec![word("params"), TokKind::Dot, word("1st")]
        );
        assert_eq!(
            kinds("params.123"),
            vec![word("params"), TokKind::Dot, word("123")]
        );
    }

    #[test]
    fn quoted_strings_keep_raw_text() {
        assert_eq!(kinds(r#"'it''s'"#), vec![TokKind::SQuoted("it''s".into())]);
        assert_eq!(kinds(r#""a\"b""#), vec![TokKind::DQuoted(r#"a\"b"#.into())]);
        assert_eq!(
            kinds(r"'C:\dir\'"),
            vec![TokKind::SQuoted(r"C:\dir\".into())]
        );
        assert_eq!(kinds("`a``b`"), vec![TokKind::Backtick("a``b".into())]);
        assert_eq!(kinds("''"), vec![TokKind::SQuoted(String::new())]);
    }

    #[test]
    fn operator_runs_are_one_token() {
        assert_eq!(kinds(">>"), vec![TokKind::Op(">>".into())]);
        assert_eq!(
            kinds("a<>b"),
            vec![word("a"), TokKind::Op("<>".into()), word("b")]
        );
    }

    #[test]
    fn lexing_errors() {
        assert_eq!(tokenize("a ; b"), Err(LexError::UnexpectedChar(";".into())));
        assert!(matches!(
            tokenize("'abc"),
            Err(LexError::Unterminated { quote: '\'', .. })
        ));
        assert!(matches!(
            tokenize("`abc"),
            Err(LexError::Unterminated { quote: '`', .. })
        ));
        assert_eq!(tokenize("- 1"), Err(LexError::UnexpectedChar("-".into())));
    }

    #[test]
    fn spans_are_in_characters() {
        let toks = tokenize("é = 'ü'").expect("lexes");
        assert_eq!((toks[0].start, toks[0].end), (0, 1));
        assert_eq!((toks[2].start, toks[2].end), (4, 7));
    }
}
