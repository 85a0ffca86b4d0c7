//! What the web UI asks before it configures the gateway (`gateway/supported-providers`,
//! `supported-models`, `provider-config`, `secrets/config`), in the reference's shapes, from
//! what Keel itself can call: the providers it speaks to, the models it has prices for, and
//! each provider's secret and settings fields.

use serde_json::{Value, json};

use crate::Gateway;
use crate::invoke::provider::{self, Requirement};

fn title(provider: &str) -> String {
    let mut chars = provider.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn field(name: &str, description: String, required: bool) -> Value {
    json!({"name": name, "type": "string", "description": description, "required": required})
}

impl Gateway {
    /// The providers the gateway calls, sorted.
    pub fn supported_providers(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = provider::provider_names().collect();
        names.sort_unstable();
        names
    }

    /// The models the price table knows (of `provider`, if given), as the UI lists them.
    pub fn supported_models(&self, provider: Option<&str>) -> Vec<Value> {
        self.prices
            .models()
            .filter(|(p, _, _)| provider.is_none_or(|want| want == *p))
            .map(|(p, model, price)| {
                let embedding = model.contains("embed");
                json!({
                    "model": model,
                    "provider": p,
                    "mode": if embedding { "embedding" } else { "chat" },
                    "input_cost_per_token": price.input_per_million / 1_000_000.0,
                    "output_cost_per_token": price.output_per_million / 1_000_000.0,
                    "supports_prompt_caching": price.cache_read_per_million.is_some(),
                })
            })
            .collect()
    }

    /// The secret and settings fields of `provider`, or `None` for one the gateway cannot call.
    pub fn provider_config(&self, provider: &str) -> Option<Value> {
        let needs = provider::requirements(provider)?;
        let name = title(provider);
        let mut config = vec![field(
            "api_base",
            format!("{name} API Base URL"),
            needs.api_base == Requirement::Required,
        )];
        if provider == "azure" {
            config.push(field(
                "api_version",
                "Azure OpenAI API version".into(),
                true,
            ));
        }
        if provider == "anthropic" {
            config.push(field(
                "version",
                "Anthropic API version (default 2023-06-01)".into(),
                false,
            ));
        }
        if provider == "openai" {
            config.push(field("organization", "OpenAI organization".into(), false));
        }
        let secret = field(
            "api_key",
            format!("{name} API Key"),
            needs.api_key == Requirement::Required,
        );
        Some(json!({
            "auth_modes": [{
                "mode": "api_key",
                "display_name": "API Key",
                "description": format!("Use {name} API Key"),
                "secret_fields": [secret],
                "config_fields": config,
            }],
            "default_mode": "api_key",
        }))
    }
}
