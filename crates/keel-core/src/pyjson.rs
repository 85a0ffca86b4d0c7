//! JSON written the way Python's `json.dumps` writes it (`", "` and `": "` separators, and with
//! `ensure_ascii` every character outside printable ASCII escaped), for values the reference
//! stores or sends as such text: tag values, webhook payloads, trace previews and metadata.

use std::fmt::Write;

use serde_json::Value;

/// Appends `s` as a JSON string literal; with `ensure_ascii`, non-ASCII and DEL become `\uXXXX`
/// escapes (UTF-16 units), as Python's default does.
pub fn push_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `value` as Python's `json.dumps(value, ensure_ascii=...)` writes it.
pub fn push_value(out: &mut String, value: &Value, ensure_ascii: bool) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, item, ensure_ascii);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_string(out, k, ensure_ascii);
                out.push_str(": ");
                push_value(out, v, ensure_ascii);
            }
            out.push('}');
        }
        Value::String(s) => push_string(out, s, ensure_ascii),
        Value::Number(n) if n.is_f64() => match n.as_f64().filter(|v| v.is_finite()) {
            Some(v) => out.push_str(&float_repr(v)),
            None => {
                let _ = write!(out, "{n}");
            }
        },
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// `repr` of a Python float, which `json.dumps` writes: always with a fraction or an exponent
/// (`50.0`, `1e-05`, `1e+16`). Finite values only.
pub fn float_repr(v: f64) -> String {
    // Rust's `{:?}` switches to an exponent at the same bounds as Python (below 1e-4, from
    // 1e16) and prints the same shortest digits; only the exponent is written differently.
    let text = format!("{v:?}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("+", exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text,
    }
}

/// `json.dumps(value, ensure_ascii=ensure_ascii)`.
pub fn dumps(value: &Value, ensure_ascii: bool) -> String {
    let mut out = String::new();
    push_value(&mut out, value, ensure_ascii);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_are_written_as_python_writes_them() {
        assert_eq!(
            dumps(&json!({"a": 1.8e-6, "b": 3.0, "c": 7, "d": 1e16}), false),
            r#"{"a": 1.8e-06, "b": 3.0, "c": 7, "d": 1e+16}"#
        );
    }

    #[test]
    fn matches_python_json_dumps() {
        // Expected strings as Python 3 writes them.
        let v = json!({"a": [1, {"b": null}], "s": "é\u{1F600}\"\\\n\u{8}\u{7f}", "t": true});
        assert_eq!(
            dumps(&v, true),
            r#"{"a": [1, {"b": null}], "s": "\u00e9\ud83d\ude00\"\\\n\b\u007f", "t": true}"#
        );
        assert_eq!(
            dumps(&v, false),
            "{\"a\": [1, {\"b\": null}], \"s\": \"é\u{1F600}\\\"\\\\\\n\\b\u{7f}\", \"t\": true}"
        );
        assert_eq!(dumps(&json!(0.5), true), "0.5");
    }

    #[test]
    fn floats_read_as_python_writes_them() {
        // `repr(float(x))` in Python 3.
        let cases = [
            (0.2, "0.2"),
            (42.0, "42.0"),
            (1e-7, "1e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1.2345678901234567e19, "1.2345678901234567e+19"),
            (0.0001, "0.0001"),
            (-2.5e-5, "-2.5e-05"),
        ];
        for (v, python) in cases {
            assert_eq!(float_repr(v), python, "{v}");
        }
    }
}
