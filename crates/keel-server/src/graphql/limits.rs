//! What bounds a GraphQL request before it is validated or run.
//!
//! First Keel's own bounds, which keep parsing and validation proportional to the request:
//! brackets nest at most [`MAX_NESTING`] deep in the text (the parser recurses on them), and a
//! document holds at most [`MAX_DOCUMENT_SELECTIONS`] selections in all, counted as written
//! (validation compares a selection set's fields pairwise).
//!
//! Then the reference's query-safety scan (`graphql_no_batching.py`), ported step for step so
//! that the same queries pass and the same message names the first limit broken: depth 10,
//! 1,000 selections counting fragments each time they are spread, and configurable maxima of
//! root fields (over every operation) and of aliases in one selection set.

use std::collections::HashSet;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

/// Deepest bracket nesting (`{`, `[`, `(`) the query text may have.
pub const MAX_NESTING: usize = 64;

/// Most selections (fields, fragment spreads, inline fragments) a document may hold as written.
pub const MAX_DOCUMENT_SELECTIONS: usize = 2_000;

/// The reference's fixed limits.
const MAX_DEPTH: usize = 10;
const MAX_SELECTIONS: usize = 1_000;

/// The two limits the reference lets operators change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub max_root_fields: usize,
    pub max_aliases: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_root_fields: 10,
            max_aliases: 10,
        }
    }
}

/// How deep brackets nest in `text`, outside strings and comments. Linear, and stops counting
/// once past `MAX_NESTING`.
pub fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_NESTING {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The selections of `doc` as written, operations and fragment definitions alike.
pub fn written_selections(doc: &ExecutableDocument) -> usize {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|s| {
                1 + match &s.node {
                    Selection::Field(f) => count(&f.node.selection_set.node),
                    Selection::InlineFragment(f) => count(&f.node.selection_set.node),
                    Selection::FragmentSpread(_) => 0,
                }
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| count(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// The reference's `check_query_safety`: the message of the first limit `doc` breaks.
pub fn check_query_safety(doc: &ExecutableDocument, limits: QueryLimits) -> Option<String> {
    let (root_fields, max_aliases) = match scan(doc) {
        Ok(counts) => counts,
        Err(message) => return Some(message),
    };
    if root_fields > limits.max_root_fields {
        Some(format!(
            "GraphQL queries should have at most {} root fields, got {root_fields} root fields. \
             To increase the limit, set graphql_max_root_fields (KEEL_GRAPHQL_MAX_ROOT_FIELDS).",
            limits.max_root_fields
        ))
    } else if max_aliases > limits.max_aliases {
        Some(format!(
            "GraphQL queries should have at most {} aliases, got {max_aliases} aliases. To \
             increase the limit, set graphql_max_aliases (KEEL_GRAPHQL_MAX_ALIASES).",
            limits.max_aliases
        ))
    } else {
        None
    }
}

type Fragments<'a> = &'a std::collections::HashMap<Name, Positioned<FragmentDefinition>>;

/// Root fields over every operation, and the most aliases of one selection level; or the
/// depth or selection-count error.
fn scan(doc: &ExecutableDocument) -> Result<(usize, usize), String> {
    let (mut root_fields, mut max_aliases, mut total) = (0usize, 0usize, 0usize);
    // In the order they are written, as the reference walks them.
    let mut operations: Vec<_> = doc.operations.iter().map(|(_, op)| op).collect();
    operations.sort_by_key(|op| (op.pos.line, op.pos.column));
    for operation in operations {
        let mut stack = vec![(&operation.node.selection_set.node, 1usize, HashSet::new())];
        while let Some((set, depth, visited)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(format!("Query exceeds maximum depth of {MAX_DEPTH}"));
            }
            let (fields, aliases) = collect(set, &doc.fragments, &visited);
            for field in fields {
                if depth == 1 {
                    root_fields += 1;
                }
                if !field.selection_set.node.items.is_empty() {
                    stack.push((&field.selection_set.node, depth + 1, visited.clone()));
                }
                total += 1;
                if total > MAX_SELECTIONS {
                    return Err(format!(
                        "Query exceeds maximum total selections of {MAX_SELECTIONS}"
                    ));
                }
            }
            max_aliases = max_aliases.max(aliases);
        }
    }
    Ok((root_fields, max_aliases))
}

/// The fields of one selection level, fragments merged in (each named fragment once per
/// level), and how many of them carry an alias.
fn collect<'a>(
    set: &'a SelectionSet,
    fragments: Fragments<'a>,
    visited: &HashSet<&'a str>,
) -> (Vec<&'a async_graphql::parser::types::Field>, usize) {
    let mut fields = Vec::new();
    let mut aliases = 0;
    let mut local = visited.clone();
    let mut queue: std::collections::VecDeque<&Positioned<Selection>> = set.items.iter().collect();
    while let Some(selection) = queue.pop_front() {
        match &selection.node {
            Selection::Field(f) => {
                if f.node.alias.is_some() {
                    aliases += 1;
                }
                fields.push(&f.node);
            }
            Selection::InlineFragment(f) => queue.extend(f.node.selection_set.node.items.iter()),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if local.insert(name)
                    && let Some(fragment) = fragments.get(name)
                {
                    queue.extend(fragment.node.selection_set.node.items.iter());
                }
            }
        }
    }
    (fields, aliases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn check(query: &str) -> Option<String> {
        check_query_safety(&parse_query(query).expect("parses"), QueryLimits::default())
    }

    fn nested(levels: usize) -> String {
        let mut q = String::new();
        for _ in 0..levels {
            q.push_str("a { ");
        }
        q.push('b');
        for _ in 0..levels {
            q.push_str(" }");
        }
        format!("{{ {q} }}")
    }

    #[test]
    fn a_field_at_depth_ten_passes_and_one_at_eleven_does_not() {
        // `nested(n)` puts its last field at depth n + 1.
        assert_eq!(check(&nested(9)), None);
        assert_eq!(
            check(&nested(10)).as_deref(),
            Some("Query exceeds maximum depth of 10")
        );
    }

    #[test]
    fn fragments_add_no_depth_but_count_each_time_they_are_spread() {
        assert_eq!(
            check("{ a { ...F } } fragment F on T { ... on T { b { c } } }"),
            None
        );
        let spreads = (0..10)
            .map(|i| format!("x{i}: a {{ ...F }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let fields = (0..99).map(|i| format!("f{i}")).collect::<Vec<_>>();
        // 10 aliased fields, each with the fragment's 99 fields: 1,000 selections.
        let fragment = format!("fragment F on T {{ {} }}", fields.join(" "));
        assert_eq!(check(&format!("{{ {spreads} }} {fragment}")), None);
        let eleven = format!("{{ {spreads} y: a {{ ...F }} }} {fragment}");
        let errors = check(&eleven);
        assert_eq!(
            errors.as_deref(),
            Some("Query exceeds maximum total selections of 1000")
        );
    }

    #[test]
    fn root_fields_count_over_every_operation_and_aliases_per_level() {
        let six = "query A { a b c d e f }";
        let five = "query B { a b c d e }";
        let message = check(&format!("{six} {five}")).expect("refused");
        assert!(message.starts_with("GraphQL queries should have at most 10 root fields, got 11"));
        let aliases = |n: usize| {
            (0..n)
                .map(|i| format!("x{i}: a"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(check(&format!("{{ r {{ {} }} }}", aliases(10))), None);
        let message = check(&format!(
            "{{ r {{ ...A ...B }} }} fragment A on T {{ {} }} fragment B on T {{ {} }}",
            aliases(6),
            aliases(5).replace('x', "y")
        ))
        .expect("refused");
        assert!(message.starts_with("GraphQL queries should have at most 10 aliases, got 11"));
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(nesting_depth("{ a(x: \"{{{{\") { b } }"), 2);
        assert_eq!(nesting_depth("# {{{{{{\n{ a }"), 1);
        assert_eq!(nesting_depth("{ a(x: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 2);
        let deep = "[".repeat(1_000_000);
        assert_eq!(nesting_depth(&deep), MAX_NESTING + 1);
    }

    #[test]
    fn written_selections_count_fragment_definitions_once() {
        let doc = parse_query("{ a { ...F b } } fragment F on T { c d { e } }").expect("parses");
        // a, ...F, b; c, d, e.
        assert_eq!(written_selections(&doc), 6);
    }
}
