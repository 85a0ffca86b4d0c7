//! What a call costs, as the reference prices it: per-token rates from per-million prices;
//! cached input read and written priced at their own rates when the model has them (else as
//! input); the cached tokens are part of the input count and taken out of the regular part.
//! The arithmetic is done in the reference's order, so the same usage costs the same double.

/// A model's prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelPrice {
    pub input_per_million: f64,
    pub output_per_million: f64,
    pub cache_read_per_million: Option<f64>,
    pub cache_write_per_million: Option<f64>,
    /// The 1-hour cache-write rate, where the provider has one (else the cache-write rate).
    pub cache_write_1hr_per_million: Option<f64>,
}

/// A call's token counts; `input_tokens` includes the cached ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    /// The part of `cache_creation_input_tokens` written for an hour.
    pub cache_creation_1hr_input_tokens: u64,
}

/// A call's cost in USD (`mlflow.llm.cost`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub input_cost: f64,
    pub output_cost: f64,
    pub total_cost: f64,
}

fn per_token(per_million: f64) -> f64 {
    per_million / 1_000_000.0
}

/// The cost of `usage` at `price`; `None` for a call that used no tokens.
pub fn cost(price: &ModelPrice, usage: &TokenUsage) -> Option<Cost> {
    if usage.input_tokens == 0 && usage.output_tokens == 0 {
        return None;
    }
    let input_rate = per_token(price.input_per_million);
    let cache_read = usage.cache_read_input_tokens;
    let cache_creation = usage.cache_creation_input_tokens;
    let regular = usage
        .input_tokens
        .saturating_sub(cache_read)
        .saturating_sub(cache_creation);
    let creation_1hr = usage.cache_creation_1hr_input_tokens.min(cache_creation);
    let creation_5m = cache_creation - creation_1hr;
    let creation_rate = price.cache_write_per_million.map_or(input_rate, per_token);

    let mut input_cost = regular as f64 * input_rate;
    if cache_read > 0 {
        input_cost +=
            cache_read as f64 * price.cache_read_per_million.map_or(input_rate, per_token);
    }
    if creation_5m > 0 {
        input_cost += creation_5m as f64 * creation_rate;
    }
    if creation_1hr > 0 {
        let rate = price
            .cache_write_1hr_per_million
            .map_or(creation_rate, per_token);
        input_cost += creation_1hr as f64 * rate;
    }
    let output_cost = usage.output_tokens as f64 * per_token(price.output_per_million);
    Some(Cost {
        input_cost,
        output_cost,
        total_cost: input_cost + output_cost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            ..TokenUsage::default()
        }
    }

    #[test]
    fn costs_are_the_references_doubles() {
        // Captured from the reference (docs/reference/gateway.md §12.4).
        let mini = ModelPrice {
            input_per_million: 0.15,
            output_per_million: 0.60,
            ..ModelPrice::default()
        };
        assert_eq!(
            cost(&mini, &usage(12, 5)),
            Some(Cost {
                input_cost: 1.8e-06,
                output_cost: 3e-06,
                total_cost: 4.8e-06
            })
        );
        let gpt4o = ModelPrice {
            input_per_million: 2.5,
            output_per_million: 10.0,
            ..ModelPrice::default()
        };
        assert_eq!(
            cost(&gpt4o, &usage(12, 5)),
            Some(Cost {
                input_cost: 3.0000000000000004e-05,
                output_cost: 5e-05,
                total_cost: 8e-05
            })
        );
        assert_eq!(cost(&gpt4o, &usage(0, 0)), None);
    }

    #[test]
    fn cached_tokens_are_priced_at_their_rates_or_as_input() {
        let price = ModelPrice {
            input_per_million: 3.0,
            output_per_million: 15.0,
            cache_read_per_million: Some(0.3),
            cache_write_per_million: Some(3.75),
            cache_write_1hr_per_million: Some(6.0),
        };
        let u = TokenUsage {
            input_tokens: 1_000_000,
            output_tokens: 0,
            cache_read_input_tokens: 500_000,
            cache_creation_input_tokens: 300_000,
            cache_creation_1hr_input_tokens: 100_000,
        };
        // 200k regular at 3, 500k read at 0.3, 200k written at 3.75, 100k for an hour at 6.
        let c = cost(&price, &u).expect("cost");
        assert!(
            (c.input_cost - (0.6 + 0.15 + 0.75 + 0.6)).abs() < 1e-12,
            "{c:?}"
        );
        let plain = ModelPrice {
            input_per_million: 3.0,
            ..ModelPrice::default()
        };
        let c = cost(&plain, &u).expect("cost");
        assert!(
            (c.input_cost - 3.0).abs() < 1e-12,
            "every input token at the input rate"
        );
        // More cached than counted never goes negative.
        let odd = TokenUsage {
            input_tokens: 10,
            cache_read_input_tokens: 50,
            ..TokenUsage::default()
        };
        assert!(cost(&plain, &odd).expect("cost").input_cost > 0.0);
    }
}
