//! The price table calls are costed with: USD per million tokens per provider and model,
//! shipped for common hosted models (`prices.json`) and overridden or extended by the
//! operator's own file of the same shape. A model is found by its provider and name, then by
//! its name under any provider, then without a date suffix (`gpt-4o-mini-2024-07-18` is
//! priced as `gpt-4o-mini`); a model found nowhere (a local open-weight model) costs nothing
//! on record.

use std::collections::HashMap;

use keel_core::{Error, Result};
use serde_json::Value;

use crate::cost::ModelPrice;

const SHIPPED: &str = include_str!("prices.json");

/// Prices by provider and model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    by_provider: HashMap<String, HashMap<String, ModelPrice>>,
}

fn rate(entry: &Value, key: &str) -> Result<Option<f64>> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(Error::invalid(format!(
                "price '{key}' must be a non-negative number, not {v}"
            ))),
        },
    }
}

impl PriceTable {
    /// The table shipped with Keel.
    pub fn shipped() -> Self {
        let mut table = Self::default();
        table
            .merge_json(SHIPPED)
            .unwrap_or_else(|e| unreachable!("the shipped price table is valid: {e}"));
        table
    }

    /// Adds (or replaces) the prices of `text`: `{"provider": {"model": {"input": 0.15,
    /// "output": 0.6, "cache_read": 0.075, "cache_write": ..., "cache_write_1hr": ...}}}`.
    /// Keys starting with `_` are comments.
    pub fn merge_json(&mut self, text: &str) -> Result<()> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("the price table is not valid JSON: {e}")))?;
        let providers = doc
            .as_object()
            .ok_or_else(|| Error::invalid("the price table must be a JSON object"))?;
        for (provider, models) in providers.iter().filter(|(k, _)| !k.starts_with('_')) {
            let models = models.as_object().ok_or_else(|| {
                Error::invalid(format!("the prices of '{provider}' must be an object"))
            })?;
            for (model, entry) in models.iter().filter(|(k, _)| !k.starts_with('_')) {
                let at = |e: Error| Error::invalid(format!("{provider}/{model}: {}", e.message));
                let price = ModelPrice {
                    input_per_million: rate(entry, "input").map_err(at)?.unwrap_or(0.0),
                    output_per_million: rate(entry, "output").map_err(at)?.unwrap_or(0.0),
                    cache_read_per_million: rate(entry, "cache_read").map_err(at)?,
                    cache_write_per_million: rate(entry, "cache_write").map_err(at)?,
                    cache_write_1hr_per_million: rate(entry, "cache_write_1hr").map_err(at)?,
                };
                self.by_provider
                    .entry(provider.to_ascii_lowercase())
                    .or_default()
                    .insert(model.clone(), price);
            }
        }
        Ok(())
    }

    /// Every priced model as `(provider, model, price)`, by provider then model.
    pub fn models(&self) -> impl Iterator<Item = (&str, &str, &ModelPrice)> {
        let mut all: Vec<_> = self
            .by_provider
            .iter()
            .flat_map(|(p, models)| {
                models
                    .iter()
                    .map(move |(m, price)| (p.as_str(), m.as_str(), price))
            })
            .collect();
        all.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        all.into_iter()
    }

    /// The price of `model` served by `provider`, if the table has one.
    pub fn price(&self, provider: &str, model: &str) -> Option<ModelPrice> {
        let model = model.rsplit_once('/').map_or(model, |(_, m)| m);
        let find = |name: &str| {
            self.by_provider
                .get(provider)
                .and_then(|models| models.get(name))
                .or_else(|| {
                    let mut others: Vec<_> = self.by_provider.iter().collect();
                    others.sort_by(|a, b| a.0.cmp(b.0));
                    others.into_iter().find_map(|(_, models)| models.get(name))
                })
                .copied()
        };
        find(model).or_else(|| undated(model).and_then(find))
    }
}

/// `model` without a trailing date (`-2024-07-18`, `-20241022`, `@20241022`), if it has one.
fn undated(model: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if let Some((stem, date)) = model.rsplit_once(['-', '@'])
        && date.len() == 8
        && digits(date)
    {
        return Some(stem);
    }
    let parts: Vec<&str> = model.rsplitn(4, '-').collect();
    if parts.len() == 4
        && parts[0].len() == 2
        && parts[1].len() == 2
        && parts[2].len() == 4
        && parts[..3].iter().all(|p| digits(p))
    {
        return Some(parts[3]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{TokenUsage, cost};

    #[test]
    fn the_shipped_table_prices_as_the_reference_does() {
        let table = PriceTable::shipped();
        let usage = TokenUsage {
            input_tokens: 12,
            output_tokens: 5,
            ..TokenUsage::default()
        };
        let mini = table.price("openai", "gpt-4o-mini").expect("price");
        let c = cost(&mini, &usage).expect("cost");
        assert_eq!(
            (c.input_cost, c.output_cost, c.total_cost),
            (1.8e-06, 3e-06, 4.8e-06)
        );
        let big = table.price("openai", "gpt-4o").expect("price");
        assert_eq!(
            cost(&big, &usage).expect("cost").input_cost,
            3.0000000000000004e-05
        );
    }

    #[test]
    fn models_are_found_by_provider_then_name_then_without_their_date() {
        let table = PriceTable::shipped();
        assert!(
            table.price("azure", "gpt-4o-mini").is_some(),
            "any provider's"
        );
        assert_eq!(
            table.price("openai", "gpt-4o-mini-2024-07-18"),
            table.price("openai", "gpt-4o-mini")
        );
        assert_eq!(
            table.price("anthropic", "claude-3-5-haiku-20241022"),
            table.price("anthropic", "claude-3-5-haiku")
        );
        assert!(table.price("openrouter", "openai/gpt-4o").is_some());
        assert_eq!(table.price("llamacpp", "smollm2"), None);
    }

    #[test]
    fn operators_override_and_extend_and_bad_files_are_refused() {
        let mut table = PriceTable::shipped();
        table
            .merge_json(r#"{"vllm": {"qwen3": {"input": 0.01, "output": 0.02}}, "openai": {"gpt-4o": {"input": 1, "output": 2}}}"#)
            .expect("valid");
        assert_eq!(
            table
                .price("vllm", "qwen3")
                .expect("added")
                .output_per_million,
            0.02
        );
        assert_eq!(
            table
                .price("openai", "gpt-4o")
                .expect("replaced")
                .input_per_million,
            1.0
        );
        for bad in [
            "[]",
            "{\"a\": 1}",
            "{\"a\": {\"m\": {\"input\": -1}}}",
            "nope",
        ] {
            assert!(PriceTable::default().merge_json(bad).is_err(), "{bad}");
        }
    }
}
