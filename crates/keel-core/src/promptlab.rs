//! Prompt engineering runs (`runs/create-promptlab-run`, the reference UI's way to save a
//! prompt it tried): the params and tags of such a run and the files the reference writes for
//! it (an evaluation table and a `python_function` model that MLflow's promptlab loader serves),
//! rendered as the reference renders them. Pure: the server creates the run and stores the files.

use serde_json::{Value, json};

use crate::entities::{Param, Tag};
use crate::error::{Error, Result};
use crate::pyjson;
use crate::validation::{self, NameKind};

/// The Python environment the reference writes into a promptlab model (its own, as pinned by
/// the client Keel is tested with), so that MLflow restores the same one when it loads the model.
const PYTHON_VERSION: &str = "3.11.7";
const PIP_VERSION: &str = "23.2.1";
const SETUPTOOLS_VERSION: &str = "65.5.0";

/// Tag values the reference sets on a promptlab run.
pub const LOGGED_ARTIFACTS: &str = r#"[{"path": "eval_results_table.json", "type": "table"}]"#;
pub const SOURCE_TYPE: &str = "PROMPT_ENGINEERING";

/// A `{key, value}` entry of the request; values are any JSON and are written as Python's
/// `str()` writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
}

/// What the UI sends about the prompt it tried.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptlabRun {
    pub prompt_template: String,
    pub prompt_parameters: Vec<Entry>,
    pub model_route: String,
    pub model_parameters: Vec<Entry>,
    pub model_input: Value,
    /// `Null` when the request has none.
    pub model_output: Value,
    pub model_output_parameters: Vec<Entry>,
}

impl PromptlabRun {
    /// The run's params, checked before anything is written (the reference logs them after
    /// creating the run, and leaves a FAILED run behind when they are refused): each model
    /// parameter, then `model_route` and `prompt_template`.
    pub fn params(&self) -> Result<Vec<Param>> {
        let mut params: Vec<Param> = self
            .model_parameters
            .iter()
            .map(|e| Param {
                key: e.key.clone(),
                value: py_str(&e.value),
            })
            .collect();
        params.push(Param {
            key: "model_route".into(),
            value: self.model_route.clone(),
        });
        params.push(Param {
            key: "prompt_template".into(),
            value: self.prompt_template.clone(),
        });
        let mut seen = std::collections::HashSet::new();
        for p in &params {
            validation::validate_key(NameKind::Param, &p.key)?;
            if !seen.insert(p.key.as_str()) {
                return Err(Error::invalid(format!(
                    "Duplicate parameter key '{}': a model parameter cannot be named \
                     'model_route' or 'prompt_template', or given twice.",
                    p.key
                )));
            }
        }
        Ok(params)
    }

    /// The run's tags besides its name.
    pub fn tags() -> Vec<Tag> {
        vec![
            Tag {
                key: "mlflow.loggedArtifacts".into(),
                value: LOGGED_ARTIFACTS.into(),
            },
            Tag {
                key: "mlflow.runSourceType".into(),
                value: SOURCE_TYPE.into(),
            },
        ]
    }

    /// The files, by path under the run's artifact root.
    pub fn files(&self, model: &ModelMeta<'_>) -> Vec<(&'static str, String)> {
        vec![
            ("eval_results_table.json", self.eval_results_table()),
            ("model/MLmodel", self.mlmodel(model)),
            ("model/conda.yaml", conda_yaml(model.mlflow_version)),
            ("model/input_example.json", self.input_example()),
            ("model/parameters.yaml", self.parameters_yaml()),
            ("model/python_env.yaml", python_env_yaml()),
            (
                "model/requirements.txt",
                format!("mlflow[gateway]=={}", model.mlflow_version),
            ),
            (
                "model/serving_input_example.json",
                self.serving_input_example(),
            ),
        ]
    }

    fn prompt_values(&self) -> Vec<Value> {
        self.prompt_parameters
            .iter()
            .map(|e| Value::String(py_str(&e.value)))
            .collect()
    }

    fn eval_results_table(&self) -> String {
        let keys = |entries: &[Entry]| entries.iter().map(|e| json!(e.key)).collect::<Vec<_>>();
        let mut columns = keys(&self.prompt_parameters);
        columns.extend([json!("prompt"), json!("output")]);
        columns.extend(keys(&self.model_output_parameters));
        let mut row = self.prompt_values();
        row.extend([self.model_input.clone(), self.model_output.clone()]);
        row.extend(
            self.model_output_parameters
                .iter()
                .map(|e| Value::String(py_str(&e.value))),
        );
        let mut out = String::from("{\"columns\": ");
        pyjson::push_value(&mut out, &Value::Array(columns), true);
        out.push_str(", \"data\": [");
        pyjson::push_value(&mut out, &Value::Array(row), true);
        out.push_str("]}");
        out
    }

    fn input_example(&self) -> String {
        let mut out = String::from("{\"inputs\": ");
        pyjson::push_value(&mut out, &Value::Array(self.prompt_values()), true);
        out.push('}');
        out
    }

    /// `json.dumps({"inputs": {"inputs": [...]}}, indent=2)`.
    fn serving_input_example(&self) -> String {
        let mut out = String::from("{\n  \"inputs\": {\n    \"inputs\": [");
        let values = self.prompt_values();
        for (i, v) in values.iter().enumerate() {
            out.push_str(if i == 0 { "\n      " } else { ",\n      " });
            pyjson::push_value(&mut out, v, true);
        }
        out.push_str(if values.is_empty() { "]" } else { "\n    ]" });
        out.push_str("\n  }\n}");
        out
    }

    fn parameters_yaml(&self) -> String {
        let mapping = |entries: &[Entry]| {
            let mut sorted: Vec<(String, String)> = entries
                .iter()
                .map(|e| (e.key.clone(), py_str(&e.value)))
                .collect();
            sorted.sort();
            sorted.dedup_by(|a, b| a.0 == b.0);
            if sorted.is_empty() {
                return " {}\n".to_owned();
            }
            let mut out = String::from("\n");
            for (k, v) in sorted {
                out.push_str(&format!("  {}: {}\n", yaml_scalar(&k), yaml_scalar(&v)));
            }
            out
        };
        format!(
            "model_parameters:{}model_route: {}\nprompt_parameters:{}prompt_template: {}\n",
            mapping(&self.model_parameters),
            yaml_scalar(&self.model_route),
            mapping(&self.prompt_parameters),
            yaml_scalar(&self.prompt_template),
        )
    }

    fn mlmodel(&self, m: &ModelMeta<'_>) -> String {
        let inputs: Vec<Value> = self
            .prompt_parameters
            .iter()
            .map(|e| json!({"type": "string", "name": e.key, "required": true}))
            .collect();
        let mut inputs_json = String::new();
        push_ordered_fields(&mut inputs_json, &inputs);
        format!(
            "artifact_path: model\n\
             flavors:\n\
             \x20 python_function:\n\
             \x20   env:\n\
             \x20     conda: conda.yaml\n\
             \x20     virtualenv: python_env.yaml\n\
             \x20   loader_module: mlflow.prompt.promptlab_model\n\
             \x20   parameters_path: parameters.yaml\n\
             \x20   python_version: {PYTHON_VERSION}\n\
             is_signature_from_type_hint: false\n\
             mlflow_version: {}\n\
             model_id: null\n\
             model_uuid: {}\n\
             prompts: null\n\
             run_id: {}\n\
             saved_input_example_info:\n\
             \x20 artifact_path: input_example.json\n\
             \x20 serving_input_path: serving_input_example.json\n\
             \x20 type: json_object\n\
             signature:\n\
             \x20 inputs: {}\n\
             \x20 outputs: '[{{\"type\": \"string\", \"name\": \"output\", \"required\": true}}]'\n\
             \x20 params: null\n\
             type_hint_from_example: false\n\
             utc_time_created: '{}'\n",
            m.mlflow_version,
            m.model_uuid,
            m.run_id,
            yaml_scalar(&inputs_json),
            m.utc_time_created,
        )
    }
}

/// The model's identity: where it was logged and when.
#[derive(Debug, Clone, Copy)]
pub struct ModelMeta<'a> {
    pub run_id: &'a str,
    pub model_uuid: &'a str,
    /// `%Y-%m-%d %H:%M:%S.%f`, UTC.
    pub utc_time_created: &'a str,
    pub mlflow_version: &'a str,
}

/// The run's `mlflow.log-model.history` tag, as the reference writes it for this model.
pub fn log_model_history(m: &ModelMeta<'_>) -> String {
    format!(
        "[{{\"run_id\": \"{}\", \"artifact_path\": \"model\", \"utc_time_created\": \"{}\", \
         \"model_uuid\": \"{}\", \"flavors\": {{}}}}]",
        m.run_id, m.utc_time_created, m.model_uuid
    )
}

/// `[{"type": ..., "name": ..., "required": ...}, ...]` in that key order (a signature's
/// columns as MLflow writes them).
fn push_ordered_fields(out: &mut String, columns: &[Value]) {
    out.push('[');
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"type\": \"string\", \"name\": ");
        pyjson::push_value(out, &c["name"], true);
        out.push_str(", \"required\": true}");
    }
    out.push(']');
}

fn conda_yaml(mlflow_version: &str) -> String {
    format!(
        "channels:\n- conda-forge\ndependencies:\n- python={PYTHON_VERSION}\n\
         - pip<={PIP_VERSION}\n- pip:\n  - mlflow[gateway]=={mlflow_version}\nname: mlflow-env\n"
    )
}

fn python_env_yaml() -> String {
    format!(
        "python: {PYTHON_VERSION}\nbuild_dependencies:\n- pip=={PIP_VERSION}\n\
         - setuptools=={SETUPTOOLS_VERSION}\n- wheel\ndependencies:\n- -r requirements.txt\n"
    )
}

/// Python's `str()` of a JSON value: a string as it is, anything else as Python's `repr`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr` of a string: single quotes unless it holds `'` and no `"`.
fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A YAML scalar as PyYAML's `safe_dump` writes one in block context: plain when that reads back
/// as the same string, else single-quoted when it is printable ASCII on one line, else
/// double-quoted with escapes. (PyYAML also folds long scalars at 80 columns; these are written
/// on one line, which reads back the same.)
fn yaml_scalar(s: &str) -> String {
    if plain_is_safe(s) {
        return s.to_owned();
    }
    if s.chars().all(|c| (' '..='~').contains(&c)) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (' '..='~').contains(&c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Whether PyYAML writes `s` as a plain scalar: not empty, printable ASCII without leading or
/// trailing spaces, no indicator first, no `: ` or ` #`, no `:` or `#` at the edges, and not
/// something YAML reads as another type (a bool, null, number or timestamp).
fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !s.chars().all(|c| (' '..='~').contains(&c))
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
    {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-`, `?` and `:` start a plain scalar when followed by a non-space (PyYAML).
        let second = s.chars().nth(1);
        if !("-?:".contains(first) && second.is_some_and(|c| c != ' ')) {
            return false;
        }
    }
    !resolves_to_another_type(s)
}

fn resolves_to_another_type(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "y", "Y", "n", "N",
    ];
    if WORDS.contains(&s) || s == "=" {
        return true;
    }
    let digits = s.trim_start_matches(['-', '+']).replace('_', "");
    let numeric = !digits.is_empty()
        && (digits.parse::<f64>().is_ok()
            || digits.starts_with("0x")
            || digits.starts_with("0o")
            || digits.starts_with("0b")
            || digits.eq_ignore_ascii_case(".inf")
            || digits.eq_ignore_ascii_case(".nan")
            || digits
                .split(':')
                .all(|p| p.chars().all(|c| c.is_ascii_digit())));
    // YAML's timestamps begin `YYYY-MM-DD`.
    let b = s.as_bytes();
    let timestamp = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    numeric || timestamp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> PromptlabRun {
        let e = |k: &str, v: Value| Entry {
            key: k.into(),
            value: v,
        };
        PromptlabRun {
            prompt_template: "Translate {{ text }} into {{language}}".into(),
            prompt_parameters: vec![
                e("text", json!("hello world")),
                e("language", json!("French")),
            ],
            model_route: "chat-gpt".into(),
            model_parameters: vec![
                e("temperature", json!(0.5)),
                e("max_tokens", json!(100)),
                e("stop", json!(["\n"])),
            ],
            model_input: json!("Translate hello world into French"),
            model_output: json!("Bonjour le monde"),
            model_output_parameters: vec![e("latency", json!(123))],
        }
    }

    const META: ModelMeta<'static> = ModelMeta {
        run_id: "54f7a794101440a5a7adcba8ef5bce94",
        model_uuid: "d9010d9a945e47e19f84d9cb642366a2",
        utc_time_created: "2026-12-05 06:41:04.792032",
        mlflow_version: "3.17.2",
    };

    #[test]
    fn the_files_match_what_the_reference_wrote() {
        // The reference server's output for the same request (MLflow 3.17.2).
        let files: std::collections::HashMap<_, _> = run().files(&META).into_iter().collect();
        assert_eq!(
            files["eval_results_table.json"],
            r#"{"columns": ["text", "language", "prompt", "output", "latency"], "data": [["hello world", "French", "Translate hello world into French", "Bonjour le monde", "123"]]}"#
        );
        assert_eq!(
            files["model/parameters.yaml"],
            "model_parameters:\n  max_tokens: '100'\n  stop: '[''\\n'']'\n  temperature: '0.5'\n\
             model_route: chat-gpt\nprompt_parameters:\n  language: French\n  text: hello world\n\
             prompt_template: Translate {{ text }} into {{language}}\n"
        );
        assert_eq!(
            files["model/input_example.json"],
            r#"{"inputs": ["hello world", "French"]}"#
        );
        assert_eq!(
            files["model/serving_input_example.json"],
            "{\n  \"inputs\": {\n    \"inputs\": [\n      \"hello world\",\n      \"French\"\n    ]\n  }\n}"
        );
        assert_eq!(files["model/requirements.txt"], "mlflow[gateway]==3.17.2");
        assert_eq!(
            files["model/conda.yaml"],
            "channels:\n- conda-forge\ndependencies:\n- python=3.11.7\n- pip<=23.2.1\n- pip:\n  \
             - mlflow[gateway]==3.17.2\nname: mlflow-env\n"
        );
        assert_eq!(
            files["model/python_env.yaml"],
            "python: 3.11.7\nbuild_dependencies:\n- pip==23.2.1\n- setuptools==65.5.0\n- wheel\n\
             dependencies:\n- -r requirements.txt\n"
        );
        let mlmodel = &files["model/MLmodel"];
        assert!(mlmodel.contains("    loader_module: mlflow.prompt.promptlab_model\n"));
        assert!(mlmodel.contains(
            "  inputs: '[{\"type\": \"string\", \"name\": \"text\", \"required\": true}, \
             {\"type\": \"string\", \"name\": \"language\", \"required\": true}]'\n"
        ));
        assert!(mlmodel.ends_with("utc_time_created: '2026-12-05 06:41:04.792032'\n"));
        assert_eq!(
            log_model_history(&META),
            "[{\"run_id\": \"54f7a794101440a5a7adcba8ef5bce94\", \"artifact_path\": \"model\", \
             \"utc_time_created\": \"2026-12-05 06:41:04.792032\", \"model_uuid\": \
             \"d9010d9a945e47e19f84d9cb642366a2\", \"flavors\": {}}]"
        );
    }

    #[test]
    fn params_are_checked_before_anything_is_written() {
        let params = run().params().expect("valid");
        let pairs: Vec<_> = params
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("temperature", "0.5"),
                ("max_tokens", "100"),
                ("stop", "['\\n']"),
                ("model_route", "chat-gpt"),
                ("prompt_template", "Translate {{ text }} into {{language}}"),
            ]
        );
        let mut clash = run();
        clash.model_parameters.push(Entry {
            key: "model_route".into(),
            value: json!("x"),
        });
        assert!(clash.params().is_err());
        let mut bad = run();
        bad.model_parameters[0].key = "bad@key".into();
        assert!(bad.params().is_err());
    }

    #[test]
    fn python_str_and_yaml_scalars() {
        assert_eq!(
            py_str(&json!({"a": 1, "b": [1, 2]})),
            "{'a': 1, 'b': [1, 2]}"
        );
        assert_eq!(
            py_str(&json!([true, null, "it's"])),
            "[True, None, \"it's\"]"
        );
        assert_eq!(py_str(&json!(1.0)), "1.0");
        for (plain, want) in [
            ("French", "French"),
            ("None", "None"),
            ("3.17.2", "3.17.2"),
            ("123", "'123'"),
            ("true", "'true'"),
            ("1.0", "'1.0'"),
            ("", "''"),
            ("a: b", "'a: b'"),
            ("-x", "-x"),
            ("- x", "'- x'"),
            ("2026-12-05 06:41:04", "'2026-12-05 06:41:04'"),
            ("né\n", "\"n\\xE9\\n\""),
        ] {
            assert_eq!(yaml_scalar(plain), want, "{plain:?}");
        }
    }
}
