//! From a model definition and its secret to where and how a call is sent: the provider's
//! wire format, its base URL (the secret's checked `api_base`, else the provider's own), and
//! its credential headers (§13.1 of docs/reference/gateway.md). Built once per endpoint
//! configuration and cached with it; the opened secret lives only in these headers.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::error::CallError;
use crate::model_definitions::ModelDefinition;

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI's chat completions and embeddings (OpenAI, Azure OpenAI and every
    /// OpenAI-compatible server).
    OpenAi,
    /// Anthropic's messages.
    Anthropic,
    /// Google Gemini's `generateContent`.
    Gemini,
}

/// How a provider takes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// `Authorization: Bearer <api_key>` (required).
    Bearer,
    /// `Authorization: Bearer <api_key>` when a key is set (local servers need none).
    OptionalBearer,
    /// Azure's `api-key: <api_key>`.
    AzureKey,
    /// Anthropic's `x-api-key` and `anthropic-version`.
    Anthropic,
    /// Google's `x-goog-api-key`.
    Google,
}

struct Known {
    name: &'static str,
    wire: Wire,
    auth: Auth,
    /// The provider's own base URL; `None` when the secret must name one (`api_base`).
    base: Option<&'static str>,
}

const fn known(name: &'static str, auth: Auth, base: Option<&'static str>) -> Known {
    Known {
        name,
        wire: Wire::OpenAi,
        auth,
        base,
    }
}

/// The providers the gateway calls. OpenAI-compatible servers without a public home (vLLM,
/// llama.cpp, TGI, SGLang, LM Studio, any other) take their `api_base` from the secret.
const PROVIDERS: &[Known] = &[
    known("openai", Auth::Bearer, Some("https://api.openai.com/v1")),
    known("azure", Auth::AzureKey, None),
    Known {
        name: "anthropic",
        wire: Wire::Anthropic,
        auth: Auth::Anthropic,
        base: Some("https://api.anthropic.com/v1"),
    },
    Known {
        name: "gemini",
        wire: Wire::Gemini,
        auth: Auth::Google,
        base: Some("https://generativelanguage.googleapis.com/v1beta/models"),
    },
    known("mistral", Auth::Bearer, Some("https://api.mistral.ai/v1")),
    known("groq", Auth::Bearer, Some("https://api.groq.com/openai/v1")),
    known(
        "deepseek",
        Auth::Bearer,
        Some("https://api.deepseek.com/v1"),
    ),
    known("xai", Auth::Bearer, Some("https://api.x.ai/v1")),
    known(
        "openrouter",
        Auth::Bearer,
        Some("https://openrouter.ai/api/v1"),
    ),
    known(
        "together_ai",
        Auth::Bearer,
        Some("https://api.together.xyz/v1"),
    ),
    known(
        "fireworks_ai",
        Auth::Bearer,
        Some("https://api.fireworks.ai/inference/v1"),
    ),
    known(
        "ollama",
        Auth::OptionalBearer,
        Some("http://localhost:11434/v1"),
    ),
    known("vllm", Auth::OptionalBearer, None),
    known("hosted_vllm", Auth::OptionalBearer, None),
    known("llamacpp", Auth::OptionalBearer, None),
    known("tgi", Auth::OptionalBearer, None),
    known("sglang", Auth::OptionalBearer, None),
    known("lm_studio", Auth::OptionalBearer, None),
    known("openai_compatible", Auth::OptionalBearer, None),
];

/// The names [`target`] knows, for error messages and the providers listing.
pub fn provider_names() -> impl Iterator<Item = &'static str> {
    PROVIDERS.iter().map(|p| p.name)
}

/// Whether a setting must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Required,
    Optional,
}

/// What a provider's secret must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub api_key: Requirement,
    pub api_base: Requirement,
}

/// What `provider`'s secret must hold, or `None` for a provider the gateway cannot call.
pub fn requirements(provider: &str) -> Option<Requirements> {
    let known = PROVIDERS.iter().find(|p| p.name == provider)?;
    let need = |yes: bool| {
        if yes {
            Requirement::Required
        } else {
            Requirement::Optional
        }
    };
    Some(Requirements {
        api_key: need(known.auth != Auth::OptionalBearer),
        api_base: need(known.base.is_none()),
    })
}

/// One model of an endpoint, ready to call.
#[derive(Debug)]
pub struct Target {
    /// The provider's name as spans and the `provider` field show it.
    pub provider: String,
    /// The provider's model (`gpt-4o-mini`).
    pub model: String,
    pub wire: Wire,
    base: url::Url,
    headers: HeaderMap,
    /// Azure OpenAI: the deployment is in the path and the API version in the query; the
    /// body names no model.
    azure: bool,
    /// The model's identity for its circuit breaker: provider, base URL and model.
    key: String,
    /// The endpoint's time limit for one call to this model (`None`: the server's).
    pub timeout: Option<std::time::Duration>,
}

impl Target {
    /// The URL of `path` (`chat/completions`) under the provider's base, keeping the base's
    /// query string.
    pub fn url(&self, path: &str) -> url::Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The credential headers.
    pub fn headers(&self) -> HeaderMap {
        self.headers.clone()
    }

    /// The model's identity for its circuit breaker (the same upstream model whichever
    /// endpoint routes to it).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The URL of one of the model's Gemini actions (`generateContent`), streamed as
    /// server-sent events when `stream`.
    pub fn gemini_url(&self, action: &str, stream: bool) -> url::Url {
        let mut url = self.url(&format!("{}:{action}", self.model));
        if stream {
            url.query_pairs_mut().append_pair("alt", "sse");
        }
        url
    }

    /// Whether the request body carries `model` (all but Azure OpenAI).
    pub fn names_model_in_body(&self) -> bool {
        !self.azure
    }
}

fn header(name: &'static str, value: &str) -> Result<(HeaderName, HeaderValue), CallError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        CallError::bad_request(format!(
            "The gateway secret's value for the '{name}' header is not a valid HTTP header value."
        ))
    })?;
    value.set_sensitive(true);
    Ok((HeaderName::from_static(name), value))
}

fn parse_base(raw: &str) -> Result<url::Url, CallError> {
    url::Url::parse(raw.trim()).map_err(|e| {
        CallError::bad_request(format!(
            "The gateway secret's api_base '{raw}' is invalid: {e}"
        ))
    })
}

/// Builds the target of `definition` with its secret's opened `values` and its
/// `auth_config`.
pub fn target(
    definition: &ModelDefinition,
    values: &BTreeMap<String, String>,
    auth_config: &BTreeMap<String, String>,
) -> Result<Target, CallError> {
    let name = definition.provider.to_ascii_lowercase();
    let name = match name.as_str() {
        "azure_openai" => "azure".to_owned(),
        "llama.cpp" | "llama_cpp" => "llamacpp".to_owned(),
        "togetherai" => "together_ai".to_owned(),
        "google" | "google_genai" => "gemini".to_owned(),
        _ => name,
    };
    let api_type = auth_config.get("api_type").map(|t| t.to_ascii_lowercase());
    let azure_via_openai =
        name == "openai" && matches!(api_type.as_deref(), Some("azure" | "azuread"));
    let known = PROVIDERS.iter().find(|p| p.name == name).ok_or_else(|| {
        CallError::bad_request(format!(
            "Provider '{}' is not supported by Keel's gateway. Supported providers: {}.",
            definition.provider,
            provider_names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let key = values
        .get("api_key")
        .or_else(|| values.get("gemini_api_key"))
        .map(String::as_str)
        .unwrap_or("");
    let azure = name == "azure" || azure_via_openai;
    let mut headers = HeaderMap::new();
    let mut push = |(n, v): (HeaderName, HeaderValue)| {
        headers.insert(n, v);
    };
    let auth = if azure_via_openai && api_type.as_deref() == Some("azuread") {
        Auth::Bearer
    } else if azure {
        Auth::AzureKey
    } else {
        known.auth
    };
    if key.is_empty() && auth != Auth::OptionalBearer {
        return Err(CallError::bad_request(format!(
            "The gateway secret of model definition '{}' has no 'api_key'.",
            definition.name
        )));
    }
    match auth {
        Auth::Bearer | Auth::OptionalBearer => {
            if !key.is_empty() {
                push(header("authorization", &format!("Bearer {key}"))?);
            }
        }
        Auth::AzureKey => push(header("api-key", key)?),
        Auth::Anthropic => {
            push(header("x-api-key", key)?);
            let version = auth_config
                .get("version")
                .or_else(|| auth_config.get("anthropic_version"))
                .map_or("2023-06-01", String::as_str);
            push(header("anthropic-version", version)?);
        }
        Auth::Google => push(header("x-goog-api-key", key)?),
    }
    if let Some(org) = auth_config.get("organization").filter(|_| name == "openai") {
        push(header("openai-organization", org)?);
    }
    let api_base = auth_config.get("api_base").filter(|b| !b.trim().is_empty());
    let mut base = match (api_base, known.base) {
        (Some(raw), _) => parse_base(raw)?,
        (None, Some(default)) if !azure => parse_base(default)?,
        _ => {
            return Err(CallError::bad_request(format!(
                "Provider '{}' needs the gateway secret's auth_config to name its 'api_base'.",
                definition.provider
            )));
        }
    };
    if azure {
        let deployment = auth_config
            .get("deployment_name")
            .filter(|_| azure_via_openai)
            .unwrap_or(&definition.model_name);
        let version = auth_config.get("api_version").ok_or_else(|| {
            CallError::bad_request(
                "Azure OpenAI needs the gateway secret's auth_config to name its 'api_version'.",
            )
        })?;
        base.path_segments_mut()
            .map_err(|()| {
                CallError::bad_request("Azure OpenAI's api_base must be an http(s) URL.")
            })?
            .pop_if_empty()
            .extend(["openai", "deployments", deployment.as_str()]);
        base.query_pairs_mut().append_pair("api-version", version);
    }
    let provider = if azure { "azure".to_owned() } else { name };
    Ok(Target {
        key: format!("{provider} {base} {}", definition.model_name),
        provider,
        model: definition.model_name.clone(),
        wire: known.wire,
        base,
        headers,
        azure,
        timeout: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(provider: &str, model: &str) -> ModelDefinition {
        ModelDefinition {
            name: "def".into(),
            provider: provider.into(),
            model_name: model.into(),
            ..ModelDefinition::default()
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn openai_takes_a_bearer_key_and_its_own_base_unless_the_secret_names_one() {
        let t = target(
            &definition("openai", "gpt-4o-mini"),
            &map(&[("api_key", "sk-1")]),
            &map(&[("organization", "org-1")]),
        )
        .expect("target");
        assert_eq!(
            t.url("chat/completions").as_str(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(t.headers()["authorization"], "Bearer sk-1");
        assert_eq!(t.headers()["openai-organization"], "org-1");
        assert!(t.names_model_in_body());
        let local = target(
            &definition("vllm", "qwen"),
            &BTreeMap::new(),
            &map(&[("api_base", "http://127.0.0.1:8000/v1/")]),
        )
        .expect("local server");
        assert_eq!(
            local.url("embeddings").as_str(),
            "http://127.0.0.1:8000/v1/embeddings"
        );
        assert!(local.headers().is_empty(), "no key, no Authorization");
    }

    #[test]
    fn azure_puts_the_deployment_in_the_path_and_the_version_in_the_query() {
        let t = target(
            &definition("azure", "my deployment"),
            &map(&[("api_key", "k")]),
            &map(&[
                ("api_base", "https://x.openai.azure.com"),
                ("api_version", "2024-06-01"),
            ]),
        )
        .expect("azure");
        assert_eq!(
            t.url("chat/completions").as_str(),
            "https://x.openai.azure.com/openai/deployments/my%20deployment/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(t.headers()["api-key"], "k");
        assert!(!t.names_model_in_body());
        assert_eq!(t.provider, "azure");
    }

    #[test]
    fn missing_keys_bases_and_unknown_providers_are_clear_refusals() {
        let no_key = target(
            &definition("openai", "m"),
            &BTreeMap::new(),
            &BTreeMap::new(),
        )
        .expect_err("no key");
        assert!(no_key.to_string().contains("has no 'api_key'"), "{no_key}");
        let no_base = target(&definition("vllm", "m"), &BTreeMap::new(), &BTreeMap::new())
            .expect_err("no base");
        assert!(no_base.to_string().contains("'api_base'"), "{no_base}");
        let unknown = target(
            &definition("cohere", "m"),
            &map(&[("api_key", "k")]),
            &BTreeMap::new(),
        )
        .expect_err("unknown");
        assert!(
            unknown
                .to_string()
                .starts_with("400: Provider 'cohere' is not supported")
        );
        let bad_header = target(
            &definition("openai", "m"),
            &map(&[("api_key", "a\nb")]),
            &BTreeMap::new(),
        )
        .expect_err("newline");
        assert!(
            bad_header
                .to_string()
                .contains("not a valid HTTP header value")
        );
    }

    #[test]
    fn gemini_sends_its_google_key_and_names_the_model_in_the_path() {
        let t = target(
            &definition("gemini", "gemini-2.0-flash"),
            &map(&[("gemini_api_key", "AIza-1")]),
            &BTreeMap::new(),
        )
        .expect("gemini");
        assert_eq!(t.wire, Wire::Gemini);
        assert_eq!(t.headers()["x-goog-api-key"], "AIza-1");
        assert_eq!(
            t.gemini_url("streamGenerateContent", true).as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
    }

    #[test]
    fn anthropic_sends_its_key_and_version() {
        let t = target(
            &definition("anthropic", "claude-3-5-haiku"),
            &map(&[("api_key", "sk-ant")]),
            &BTreeMap::new(),
        )
        .expect("anthropic");
        assert_eq!(t.wire, Wire::Anthropic);
        assert_eq!(t.headers()["x-api-key"], "sk-ant");
        assert_eq!(t.headers()["anthropic-version"], "2023-06-01");
        assert_eq!(
            t.url("messages").as_str(),
            "https://api.anthropic.com/v1/messages"
        );
    }
}
