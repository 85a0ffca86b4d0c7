//! The search grammars (runs, experiments, logged models, registered models, model versions and
//! traces): any text parses or fails with an error, never a panic, and a parsed filter always
//! has at least one comparison.
#![no_main]

use keel_filter::Target;
use libfuzzer_sys::fuzz_target;

const TARGETS: [Target; 5] = [
    Target::Runs,
    Target::Experiments,
    Target::LoggedModels,
    Target::RegisteredModels,
    Target::ModelVersions,
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let target = TARGETS[usize::from(which) % TARGETS.len()];
    if let Ok(comparisons) = keel_filter::parse_filter(target, text) {
        assert!(
            !comparisons.is_empty() || text.trim().is_empty(),
            "a non-empty filter parsed to nothing: {text:?}"
        );
    }
    let _ = keel_filter::parse_order_by(target, text);
    let _ = keel_filter::parse_order_by_list(target, &text.split('\n').collect::<Vec<_>>());
    let _ = keel_filter::traces::parse_filter(text);
    let _ = keel_filter::traces::parse_order_by(text);
});
