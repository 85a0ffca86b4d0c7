//! Canonical JSON: RFC 8785's examples, and the fast check against the slow definition
//! (parse with serde_json, canonicalize, compare) on canonical, mutated and random inputs.

use keel_audit::canonical::{canonical_json, is_canonical};
use proptest::prelude::*;
use serde_json::Value;

/// The definition `is_canonical` must agree with.
fn reference(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| canonical_json(&v).ok())
        .is_some_and(|c| c == bytes)
}

fn canon(text: &str) -> String {
    let v: Value = serde_json::from_str(text).expect("json");
    String::from_utf8(canonical_json(&v).expect("canonical")).expect("utf-8")
}

/// RFC 8785 §3.2.2's example input and its canonical form (as bytes in §3.2.4).
#[test]
fn rfc8785_example() {
    let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let want = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canon(input), want);
    let bytes: Vec<u8> = "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 \
        75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a \
        5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 \
        65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 \
        5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 \
        30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect();
    assert_eq!(want.as_bytes(), bytes.as_slice());
    assert!(is_canonical(&bytes));
    assert!(!is_canonical(input.as_bytes()));
}

/// RFC 8785 §3.2.3: properties sort by UTF-16 code units.
#[test]
fn rfc8785_sorting() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
        \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon(input), want);
    assert!(is_canonical(want.as_bytes()));
    assert!(!is_canonical(input.as_bytes()));
}

/// RFC 8785 Appendix B: IEEE 754 doubles and their canonical text.
#[test]
fn rfc8785_numbers() {
    let table: [(u64, &str); 24] = [
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, want) in table {
        let v = serde_json::json!(f64::from_bits(bits));
        let got = canonical_json(&v).expect("canonical");
        assert_eq!(
            std::str::from_utf8(&got).expect("utf-8"),
            want,
            "{bits:016x}"
        );
        assert!(is_canonical(want.as_bytes()), "{want}");
        assert_eq!(is_canonical(want.as_bytes()), reference(want.as_bytes()));
    }
    for bad in [
        "-0",
        "1.0",
        "1e21",
        "1E+21",
        "0.0000010",
        "9007199254740993",
        "1e400",
        "00",
    ] {
        assert!(!is_canonical(bad.as_bytes()), "{bad}");
        assert_eq!(
            is_canonical(bad.as_bytes()),
            reference(bad.as_bytes()),
            "{bad}"
        );
    }
}

#[test]
fn escapes() {
    let all_controls: String = (0u32..0x20).filter_map(char::from_u32).collect();
    let v = Value::String(format!(
        "{all_controls}\"\\/\u{7f}\u{2028}\u{2029}\u{fffe}\u{10ffff}"
    ));
    let bytes = canonical_json(&v).expect("canonical");
    let text = std::str::from_utf8(&bytes).expect("utf-8");
    assert!(text.starts_with(r#""\u0000\u0001"#), "{text}");
    assert!(text.contains(r#"\u0007\b\t\n\u000b\f\r\u000e"#), "{text}");
    assert!(text.contains(r#"\u001f\"\\/"#), "{text}");
    assert!(is_canonical(&bytes));
    for bad in [
        r#""\u000B""#,
        r#""\u0008""#,
        r#""\u0020""#,
        r#""\/""#,
        r#""\ud83d\ude00""#,
    ] {
        assert!(!is_canonical(bad.as_bytes()), "{bad}");
        assert_eq!(
            is_canonical(bad.as_bytes()),
            reference(bad.as_bytes()),
            "{bad}"
        );
    }
}

#[test]
fn nesting_limit_matches_serde_json() {
    for depth in [1usize, 100, 126, 127, 128, 129, 200] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            assert_eq!(
                is_canonical(text.as_bytes()),
                reference(text.as_bytes()),
                "{depth} {open}"
            );
        }
    }
    assert!(is_canonical(
        format!("{}{}", "[".repeat(127), "]".repeat(127)).as_bytes()
    ));
    assert!(!is_canonical(
        format!("{}{}", "[".repeat(128), "]".repeat(128)).as_bytes()
    ));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1000i32..1000, 0u32..1000)
            .prop_map(|(a, b)| Value::from(f64::from(a) + f64::from(b) / 1000.0)),
        any::<String>().prop_map(Value::String),
        "[a-z\u{0}-\u{1f}\"\\\\/\u{7f}-\u{a0}\u{e000}-\u{e010}\u{fb33}\u{1f600}\u{2028}]{0,8}"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    "[a-c\u{0}-\u{2}\"\u{e000}\u{fb33}\u{1f600}\u{1f601}]{0,3}",
                    inner
                ),
                0..6
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Bytes that often trip a canonical-JSON checker.
const INTERESTING: &[u8] =
    b" \t\n\r\"\\/{}[]:,0123456789-+.eEuabfnrt\x00\x1f\x7f\x80\xa0\xbf\xc0\xc3\xe2\xed\xf0\xf4\xff";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn canonical_output_is_canonical(v in json_value()) {
        let bytes = canonical_json(&v).expect("canonical");
        prop_assert!(is_canonical(&bytes), "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutations_agree_with_the_definition(
        v in json_value(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(INTERESTING),
        op in 0u8..3,
    ) {
        let mut bytes = canonical_json(&v).expect("canonical");
        let i = at.index(bytes.len() + 1);
        match op {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        prop_assert_eq!(
            is_canonical(&bytes),
            reference(&bytes),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }

    #[test]
    fn random_text_agrees_with_the_definition(
        text in r#"[\[\]{}",: 0-9eE.+\-a-z\\/\u{0}-\u{2}\u{e9}\u{1f600}]{0,24}"#,
    ) {
        prop_assert_eq!(is_canonical(text.as_bytes()), reference(text.as_bytes()), "{}", text);
    }

    #[test]
    fn json_text_agrees_with_the_definition(text in json_text()) {
        prop_assert_eq!(is_canonical(text.as_bytes()), reference(text.as_bytes()), "{}", text);
    }
}

/// JSON texts in many spellings: numbers in every form, escapes canonical or not, keys in any
/// order (duplicates too), the odd space.
fn json_text() -> impl Strategy<Value = String> {
    let number = "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?";
    let piece = prop_oneof![
        "[a-zé\u{7f}\u{2028}\u{1f600}]{1,3}",
        prop::sample::select(vec![
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\n",
            "\\r",
            "\\t",
            "\\u0000",
            "\\u001f",
            "\\u001F",
            "\\u000a",
            "\\u0008",
            "\\u0041",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\u20ac",
            "\\uD83D\\uDE00",
            "\\ud83d",
        ])
        .prop_map(str::to_owned),
    ];
    let string = prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()));
    let ws = prop::sample::select(vec!["", "", "", "", "", "", " "]);
    let leaf = prop_oneof![
        number.prop_map(|s: String| s),
        string.clone(),
        prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        let ws = ws.clone();
        prop_oneof![
            (prop::collection::vec((inner.clone(), ws.clone()), 0..4)).prop_map(|items| {
                let items: Vec<String> =
                    items.into_iter().map(|(v, w)| format!("{v}{w}")).collect();
                format!("[{}]", items.join(","))
            }),
            (
                prop::collection::vec((string.clone(), inner, ws), 0..4),
                any::<bool>()
            )
                .prop_map(|(mut members, sort)| {
                    if sort {
                        members.sort_by(|a, b| a.0.cmp(&b.0));
                    }
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(k, v, w)| format!("{k}:{w}{v}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
        ]
    })
}

/// The differential tests above are only worth something if their inputs are often canonical
/// and often not: check the generators' mix.
#[test]
fn generators_cover_both_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = json_text();
    let (mut yes, mut no) = (0, 0);
    for _ in 0..2000 {
        let text = strategy.new_tree(&mut runner).expect("tree").current();
        let ok = reference(text.as_bytes());
        assert_eq!(is_canonical(text.as_bytes()), ok, "{text}");
        if ok { yes += 1 } else { no += 1 }
    }
    assert!(yes > 200 && no > 200, "canonical {yes}, not {no}");
}
