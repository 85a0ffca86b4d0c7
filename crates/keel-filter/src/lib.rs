//! MLflow's search filter and order_by grammar, parsed once into an AST that stores compile to SQL.
//!
//! A filter is `comparison (AND comparison)*`; each comparison is `key operator value`, e.g.
//! `metrics.acc > 0.9 AND params.model = 'cnn' AND tags.\`mlflow.source.type\` LIKE 'NOTE%'`.
//! Keys are resolved against the search target (runs, experiments, logged models, or the
//! registry's registered models and model versions): prefixes and their aliases
//! are mapped to a [`KeyKind`], attribute names are checked and canonicalized (`created` becomes
//! `start_time`, `Run name` becomes `run_name`), and operators and value types are checked per
//! key kind, following MLflow's `SearchUtils` / `SearchExperimentsUtils` (and, for logged models,
//! `search_logged_model_utils`). `OR` is rejected.
//! Trace searches have a grammar of their own, with its own AST, in [`traces`].
//!
//! Nothing here evaluates a filter: stores compile the AST to parameterized SQL.

mod lexer;
mod parser;
mod registry;
mod resolve;
pub mod traces;

#[cfg(test)]
mod tests;

use std::fmt;

/// What is being searched; decides which keys, operators and order_by terms are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Runs,
    Experiments,
    /// MLflow 3 logged models (`logged-models/search`).
    LoggedModels,
    /// Registered models of the model registry (`registered-models/search`).
    RegisteredModels,
    /// Model versions of the model registry (`model-versions/search`).
    ModelVersions,
}

impl Target {
    /// Whether this target follows the model registry's grammar ([`registry`]).
    fn is_registry(self) -> bool {
        matches!(self, Self::RegisteredModels | Self::ModelVersions)
    }
}

/// The entity a key refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A column of the run or experiment (canonical names: runs `run_id`, `run_name`, `status`,
    /// `user_id`, `artifact_uri`, `start_time`, `end_time`; experiments `name`, `creation_time`,
    /// `last_update_time`, and `experiment_id` in order_by).
    Attribute,
    /// A run's latest metric value.
    Metric,
    /// A run param.
    Param,
    /// A run or experiment tag.
    Tag,
    /// A dataset the run used: `name`, `digest` or `context` (the input tag `mlflow.data.context`).
    Dataset,
}

impl KeyKind {
    /// The canonical prefix of this kind, as in `metrics.acc`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Attribute => "attributes",
            Self::Metric => "metrics",
            Self::Param => "params",
            Self::Tag => "tags",
            Self::Dataset => "datasets",
        }
    }
}

/// A resolved key: its kind and its name (canonical for attributes, verbatim otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: KeyKind,
    pub name: String,
}

impl Key {
    pub fn new(kind: KeyKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.`{}`", self.kind.prefix(), self.name)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// SQL `LIKE`, case-sensitive; `%` and `_` are wildcards and there is no escape character.
    Like,
    /// SQL `LIKE`, case-insensitive.
    ILike,
    /// A regular-expression search (trace searches only).
    RLike,
    In,
    NotIn,
    /// The key is absent (params and tags only).
    IsNull,
    /// The key is present (params and tags only).
    IsNotNull,
}

impl CompareOp {
    /// The operator as written in the grammar, upper-case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Like => "LIKE",
            Self::ILike => "ILIKE",
            Self::RLike => "RLIKE",
            Self::In => "IN",
            Self::NotIn => "NOT IN",
            Self::IsNull => "IS NULL",
            Self::IsNotNull => "IS NOT NULL",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A right-hand side.
///
/// String values hold the text between the quotes exactly as written (the reference does not
/// unescape them); list items are unescaped the way the reference's Python literal parsing reads
/// them. `Null` is the value of `IS NULL` / `IS NOT NULL`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    List(Vec<String>),
    Null,
}

/// One comparison of an AND-ed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub key: Key,
    pub op: CompareOp,
    pub value: Literal,
}

/// One order_by term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub key: Key,
    pub ascending: bool,
}

/// Why a filter or order_by clause was rejected; the message names the offending token or key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// The input tag of a run's dataset input that `datasets.context` compares against.
pub const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

fn lex(kind: &str, input: &str) -> Result<Vec<lexer::Token>, FilterError> {
    lexer::tokenize(input).map_err(|e| {
        let detail = match e {
            lexer::LexError::UnexpectedChar(t) => format!("unexpected token '{t}'"),
            lexer::LexError::Unterminated { quote, text } => {
                format!("unterminated {quote}-quoted text starting at {text}")
            }
        };
        FilterError(format!("Invalid {kind} '{input}': {detail}"))
    })
}

/// Parses a filter into AND-ed comparisons. Empty or all-whitespace input gives no comparisons.
pub fn parse_filter(target: Target, input: &str) -> Result<Vec<Comparison>, FilterError> {
    let tokens = lex("filter", input)?;
    let raw = parser::parse_filter_tokens(&tokens)
        .map_err(|detail| FilterError(format!("Invalid filter '{input}': {detail}")))?;
    raw.into_iter()
        .map(|c| {
            if target.is_registry() {
                registry::resolve_comparison(target, c)
            } else {
                resolve::resolve_comparison(target, c)
            }
        })
        .collect()
}

/// Parses one order_by clause, `<key> [ASC|DESC]` (ascending by default).
pub fn parse_order_by(target: Target, clause: &str) -> Result<OrderBy, FilterError> {
    let tokens = lex("order_by clause", clause)?;
    let raw = parser::parse_order_by_tokens(&tokens)
        .map_err(|detail| FilterError(format!("Invalid order_by clause '{clause}': {detail}")))?;
    if target.is_registry() {
        registry::resolve_order_by(target, raw)
    } else {
        resolve::resolve_order_by(target, raw)
    }
}

/// Parses a request's order_by list, skipping blank clauses. For runs and the registry targets,
/// naming the same key twice is an error, as in the reference SQL store.
pub fn parse_order_by_list<S: AsRef<str>>(
    target: Target,
    clauses: &[S],
) -> Result<Vec<OrderBy>, FilterError> {
    let mut out: Vec<OrderBy> = Vec::with_capacity(clauses.len());
    for clause in clauses
        .iter()
        .map(AsRef::as_ref)
        .filter(|c| !c.trim().is_empty())
    {
        let order = parse_order_by(target, clause)?;
        let unique_keys = target == Target::Runs || target.is_registry();
        if unique_keys && out.iter().any(|o| o.key == order.key) {
            return Err(FilterError(format!(
                "`order_by` contains duplicate fields: '{}' is ordered by more than once",
                order.key
            )));
        }
        out.push(order);
    }
    Ok(out)
}

/// Whether the canonical attribute `name` of `target` holds numbers (e.g. `start_time`).
pub fn is_numeric_attribute(target: Target, name: &str) -> bool {
    if target.is_registry() {
        registry::is_numeric_attribute(target, name)
    } else {
        resolve::is_numeric_attribute(target, name)
    }
}
