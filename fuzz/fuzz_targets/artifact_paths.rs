//! Artifact paths: whatever a client sends, a parsed path has only plain segments (no `..`,
//! `.`, empty, separator, NUL or control characters), and it prints back as itself.
#![no_main]

use keel_artifacts::ArtifactPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = ArtifactPath::parse(text) else {
        return;
    };
    for segment in path.segments() {
        assert!(!segment.is_empty(), "empty segment from {text:?}");
        assert!(
            segment != "." && segment != "..",
            "dot segment from {text:?}"
        );
        assert!(
            !segment.contains(['/', '\\', '\0']) && !segment.chars().any(char::is_control),
            "separator or control character in {segment:?} from {text:?}"
        );
    }
    let again = ArtifactPath::parse(&path.to_string()).expect("a parsed path parses again");
    assert_eq!(again, path, "round trip of {text:?}");
});
