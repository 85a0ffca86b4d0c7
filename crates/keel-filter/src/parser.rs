//! Recursive-descent parser from tokens to unvalidated comparisons and order_by terms.
//!
//! The grammar is `comparison (AND comparison)*` for filters and `key [ASC|DESC]` for order_by
//! clauses. Keys and values are kept as written here; `resolve` checks them against the target's
//! rules (which prefixes, attribute names, operators and value types are allowed).

use crate::CompareOp;
use crate::lexer::{TokKind, Token};

/// One dot-separated segment of a key, with its quoting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyPart {
    Bare(String),
    Backtick(String),
    DQuoted(String),
}

impl KeyPart {
    pub(crate) fn content(&self) -> &str {
        match self {
            Self::Bare(s) | Self::Backtick(s) | Self::DQuoted(s) => s,
        }
    }
}

/// A key as written: its segments and its source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawKey {
    pub parts: Vec<KeyPart>,
    pub text: String,
}

/// A right-hand side as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawValue {
    /// Single- or double-quoted string: the raw text between the quotes.
    Str(String),
    Num(f64),
    /// `('a', 'b')`, items already unescaped.
    List(Vec<String>),
    /// No value (`IS NULL`, `IS NOT NULL`).
    Null,
    /// An unquoted word or a backtick-quoted name where a value was expected.
    Unquoted,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawComparison {
    pub key: RawKey,
    pub op: CompareOp,
    pub value: RawValue,
    /// Source text of the value, for error messages.
    pub value_text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawOrderBy {
    pub key: RawKey,
    pub ascending: bool,
}

/// A syntax error: the detail after `Invalid filter '<input>': `.
pub(crate) type SyntaxError = String;

struct Cursor<'a> {
    tokens: &'a [Token],
    pos: usize,
}

fn unexpected(tok: &Token, expected: &str) -> SyntaxError {
    format!("unexpected token '{}', expected {expected}", tok.text)
}

fn is_keyword(tok: &Token, kw: &str) -> bool {
    matches!(&tok.kind, TokKind::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl<'a> Cursor<'a> {
    fn new(tokens: &'a [Token]) -> Self {
        Self { tokens, pos: 0 }
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&'a Token> {
        let tok = self.tokens.get(self.pos);
        if tok.is_some() {
            self.pos += 1;
        }
        tok
    }

    fn expect_next(&mut self, expected: &str, after: &str) -> Result<&'a Token, SyntaxError> {
        self.next()
            .ok_or_else(|| format!("unexpected end of input after '{after}', expected {expected}"))
    }

    /// `part ('.' part)*` with no whitespace anywhere inside.
    fn key(&mut self) -> Result<RawKey, SyntaxError> {
        let first = self.expect_next("a key such as metrics.<name>", "start")?;
        let mut parts = vec![key_part(first)?];
        let mut end_tok = first;
        while let Some(dot) = self.peek() {
            if dot.kind != TokKind::Dot || dot.start != end_tok.end {
                break;
            }
            self.pos += 1;
            let part_tok = match self.peek() {
                Some(t) if t.start == dot.end => t,
                Some(t) => return Err(unexpected(t, "a name right after '.'")),
                None => {
                    return Err(format!(
                        "unexpected end of input after '{}'",
                        key_text(self, first, dot)
                    ));
                }
            };
            self.pos += 1;
            parts.push(key_part(part_tok)?);
            end_tok = part_tok;
        }
        Ok(RawKey {
            parts,
            text: key_text(self, first, end_tok),
        })
    }

    fn comparator(&mut self, key: &RawKey) -> Result<CompareOp, SyntaxError> {
        let expected = "a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)";
        let tok = self.expect_next(expected, &key.text)?;
        let op = match &tok.kind {
            TokKind::Op(op) => match op.as_str() {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                _ => return Err(unexpected(tok, expected)),
            },
            TokKind::Word(w) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => CompareOp::Like,
                "ILIKE" => CompareOp::ILike,
                "RLIKE" => CompareOp::RLike,
                "IN" => CompareOp::In,
                "NOT" => {
                    let next = self.expect_next("IN", "NOT")?;
                    if !is_keyword(next, "IN") {
                        return Err(format!(
                            "unsupported comparator 'NOT {}'; only NOT IN is supported",
                            next.text
                        ));
                    }
                    CompareOp::NotIn
                }
                "IS" => {
                    let mut next = self.expect_next("NULL or NOT NULL", "IS")?;
                    let negated = is_keyword(next, "NOT");
                    if negated {
                        next = self.expect_next("NULL", "IS NOT")?;
                    }
                    if !is_keyword(next, "NULL") {
                        return Err(unexpected(next, "NULL"));
                    }
                    if negated {
                        CompareOp::IsNotNull
                    } else {
                        CompareOp::IsNull
                    }
                }
                _ => return Err(unexpected(tok, expected)),
            },
            _ => return Err(unexpected(tok, expected)),
        };
        Ok(op)
    }

    fn value(&mut self, op: CompareOp) -> Result<(RawValue, String), SyntaxError> {
        match op {
            CompareOp::IsNull | CompareOp::IsNotNull => return Ok((RawValue::Null, String::new())),
            CompareOp::In | CompareOp::NotIn => return self.list(op),
            _ => {}
        }
        let expected = "a value (a number or a quoted string)";
        let tok = self.expect_next(expected, op.as_str())?;
        let value = match &tok.kind {
            TokKind::SQuoted(s) | TokKind::DQuoted(s) => RawValue::Str(s.clone()),
            TokKind::Number(v) => RawValue::Num(*v),
            TokKind::Word(_) | TokKind::Backtick(_) => RawValue::Unquoted,
            TokKind::LParen => {
                return Err(format!(
                    "unexpected token '(': a parenthesized list is only allowed after IN or NOT IN, not after {}",
                    op.as_str()
                ));
            }
            _ => return Err(unexpected(tok, expected)),
        };
        Ok((value, tok.text.clone()))
    }

    /// `'(' squoted (',' squoted)* ','? ')'`
    fn list(&mut self, op: CompareOp) -> Result<(RawValue, String), SyntaxError> {
        let open = self.expect_next("'(' starting a list of quoted strings", op.as_str())?;
        if open.kind != TokKind::LParen {
            return Err(unexpected(
                open,
                &format!(
                    "'(' starting a list of quoted strings after {}",
                    op.as_str()
                ),
            ));
        }
        let mut items = Vec::new();
        let close = loop {
            let tok = self.expect_next("a single-quoted string or ')'", "(")?;
            match &tok.kind {
                TokKind::RParen if items.is_empty() => {
                    return Err("expected a non-empty list of quoted string values after "
                        .to_string()
                        + op.as_str()
                        + ", but got an empty list");
                }
                TokKind::RParen => break tok,
                TokKind::SQuoted(s) => items.push(unescape_list_item(s)),
                TokKind::DQuoted(_) => {
                    return Err(format!(
                        "list values must be single-quoted strings, got {}",
                        tok.text
                    ));
                }
                _ => return Err(unexpected(tok, "a single-quoted string")),
            }
            let sep = self.expect_next("',' or ')'", &tok.text)?;
            match sep.kind {
                TokKind::Comma => {}
                TokKind::RParen => break sep,
                _ => return Err(unexpected(sep, "',' or ')' in the list")),
            }
            // A trailing comma before ')' is accepted, as in the reference's tuple syntax.
            if let Some(t) = self.peek().filter(|t| t.kind == TokKind::RParen) {
                self.pos += 1;
                break t;
            }
        };
        let text = source_span(self.tokens, open, close);
        Ok((RawValue::List(items), text))
    }
}

fn key_part(tok: &Token) -> Result<KeyPart, SyntaxError> {
    match &tok.kind {
        TokKind::Word(w) => Ok(KeyPart::Bare(w.clone())),
        TokKind::Backtick(s) => Ok(KeyPart::Backtick(s.clone())),
        TokKind::DQuoted(s) => Ok(KeyPart::DQuoted(s.clone())),
        TokKind::SQuoted(_) => Err(format!(
            "unexpected token '{}': single quotes cannot enclose a key; use backticks or double quotes",
            tok.text
        )),
        _ => Err(unexpected(
            tok,
            "a key such as metrics.<name>, params.<name>, tags.<name> or an attribute",
        )),
    }
}

/// Joins the source text of the tokens from `first` to `last` (adjacent, so no whitespace lost).
fn key_text(cursor: &Cursor<'_>, first: &Token, last: &Token) -> String {
    source_span(cursor.tokens, first, last)
}

fn source_span(tokens: &[Token], first: &Token, last: &Token) -> String {
    let mut out = String::new();
    let mut prev_end: Option<usize> = None;
    for t in tokens
        .iter()
        .filter(|t| t.start >= first.start && t.end <= last.end)
    {
        if prev_end.is_some_and(|e| e < t.start) {
            out.push(' ');
        }
        out.push_str(&t.text);
        prev_end = Some(t.end);
    }
    out
}

/// Unescapes a single-quoted list item the way the reference's Python `literal_eval` reads it:
/// backslash escapes (`\\`, `\'`, `\"`, `\n`, `\t`, `\r`) and `''` (adjacent literals, so nothing).
fn unescape_list_item(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(e @ ('\\' | '\'' | '"')) => out.push(e),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Parses a whole filter: `comparison (AND comparison)*`. No tokens means no comparisons.
pub(crate) fn parse_filter_tokens(tokens: &[Token]) -> Result<Vec<RawComparison>, SyntaxError> {
    let mut cursor = Cursor::new(tokens);
    let mut out = Vec::new();
    if tokens.is_empty() {
        return Ok(out);
    }
    loop {
        if let Some(t) = cursor
            .peek()
            .filter(|t| is_keyword(t, "AND") || is_keyword(t, "OR"))
        {
            return Err(unexpected(t, "a comparison"));
        }
        let key = cursor.key()?;
        let op = cursor.comparator(&key)?;
        let (value, value_text) = cursor.value(op)?;
        out.push(RawComparison {
            key,
            op,
            value,
            value_text,
        });
        match cursor.next() {
            None => return Ok(out),
            Some(t) if is_keyword(t, "AND") => {
                if cursor.peek().is_none() {
                    return Err("unexpected end of input after 'AND', expected a comparison".into());
                }
            }
            Some(t) if is_keyword(t, "OR") => {
                return Err(format!(
                    "'{}' is not supported; combine comparisons with AND only",
                    t.text
                ));
            }
            Some(t) if t.kind == TokKind::LParen || t.kind == TokKind::RParen => {
                return Err(format!(
                    "unexpected token '{}': parentheses cannot group comparisons",
                    t.text
                ));
            }
            Some(t) => return Err(unexpected(t, "AND or the end of the filter")),
        }
    }
}

/// Parses one order_by clause: `key [ASC|DESC]`.
pub(crate) fn parse_order_by_tokens(tokens: &[Token]) -> Result<RawOrderBy, SyntaxError> {
    let mut cursor = Cursor::new(tokens);
    if tokens.is_empty() {
        return Err("the clause is empty, expected '<key> [ASC|DESC]'".into());
    }
    let key = cursor.key()?;
    let ascending = match cursor.next() {
        None => true,
        Some(t) if is_keyword(t, "ASC") => true,
        Some(t) if is_keyword(t, "DESC") => false,
        Some(t) => return Err(unexpected(t, "ASC, DESC or the end of the clause")),
    };
    if let Some(t) = cursor.next() {
        return Err(unexpected(t, "the end of the clause"));
    }
    Ok(RawOrderBy { key, ascending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn parse(input: &str) -> Result<Vec<RawComparison>, SyntaxError> {
        parse_filter_tokens(&tokenize(input).expect("lexes"))
    }

    #[test]
    fn key_parts_keep_their_quoting() {
        let got = parse("tags.\"mlflow.runName\" = 'v'").expect("parses");
        assert_eq!(
            got[0].key.parts,
            vec![
                KeyPart::Bare("tags".into()),
                KeyPart::DQuoted("mlflow.runName".into())
            ]
        );
        assert_eq!(got[0].key.text, "tags.\"mlflow.runName\"");
    }

    #[test]
    fn whitespace_ends_a_key() {
        let err = parse("metrics. acc > 1").expect_err("space after dot");
        assert!(err.contains("'acc'"), "{err}");
    }

    #[test]
    fn list_items_are_unescaped_like_python_literals() {
        assert_eq!(unescape_list_item(r"a\'b"), "a'b");
        assert_eq!(unescape_list_item("it''s"), "its");
        assert_eq!(unescape_list_item(r"x\ny"), "x\ny");
        assert_eq!(unescape_list_item(r"x\dy"), r"x\dy");
        assert_eq!(unescape_list_item("tail\\"), "tail\\");
    }

    #[test]
    fn list_text_is_reported() {
        let got = parse("attributes.run_id IN ('a', 'b')").expect("parses");
        assert_eq!(got[0].value_text, "('a', 'b')");
    }
}
