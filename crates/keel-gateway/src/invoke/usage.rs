//! The tokens a call used, read from an answer or a stream as the reference reads them
//! (§12.3 of docs/reference/gateway.md): OpenAI's `prompt_tokens`/`completion_tokens` (and
//! cached `prompt_tokens_details.cached_tokens`), the Responses API's `input_tokens`/
//! `output_tokens`, Anthropic's counts with cache reads and writes added to the input,
//! Gemini's `usageMetadata`.

use serde_json::Value;

use crate::cost::TokenUsage;

fn count(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// The usage in an OpenAI-format `usage` object (chat, embeddings or responses), if any.
pub fn openai(usage: &Value) -> Option<TokenUsage> {
    if !usage.is_object() {
        return None;
    }
    let (input, output, cached) = if usage.get("prompt_tokens").is_some() {
        (
            count(usage, "/prompt_tokens"),
            count(usage, "/completion_tokens"),
            count(usage, "/prompt_tokens_details/cached_tokens"),
        )
    } else {
        (
            count(usage, "/input_tokens"),
            count(usage, "/output_tokens"),
            count(usage, "/input_tokens_details/cached_tokens"),
        )
    };
    Some(TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_input_tokens: cached,
        ..TokenUsage::default()
    })
}

/// The usage of an OpenAI-format answer or stream chunk: its `usage` (or, for the Responses
/// API's events, `response.usage`).
pub fn of_openai_answer(answer: &Value) -> Option<TokenUsage> {
    answer
        .get("usage")
        .filter(|u| u.is_object())
        .or_else(|| answer.pointer("/response/usage"))
        .and_then(openai)
}

/// The usage of an Anthropic message (or of its stream's `message_start` and
/// `message_delta` events): input counts include the cached tokens read and written.
pub fn of_anthropic_answer(answer: &Value) -> Option<TokenUsage> {
    let usage = answer
        .get("usage")
        .or_else(|| answer.pointer("/message/usage"))?;
    if !usage.is_object() {
        return None;
    }
    let read = count(usage, "/cache_read_input_tokens");
    let written = count(usage, "/cache_creation_input_tokens");
    Some(TokenUsage {
        input_tokens: count(usage, "/input_tokens") + read + written,
        output_tokens: count(usage, "/output_tokens"),
        cache_read_input_tokens: read,
        cache_creation_input_tokens: written,
        ..TokenUsage::default()
    })
}

/// The usage of a Gemini answer (or stream chunk): its `usageMetadata` (the prompt count
/// includes the cached tokens).
pub fn of_gemini_answer(answer: &Value) -> Option<TokenUsage> {
    let usage = answer.get("usageMetadata").filter(|u| u.is_object())?;
    Some(TokenUsage {
        input_tokens: count(usage, "/promptTokenCount"),
        output_tokens: count(usage, "/candidatesTokenCount"),
        cache_read_input_tokens: count(usage, "/cachedContentTokenCount"),
        ..TokenUsage::default()
    })
}

/// The usage of `answer` in `wire`'s format.
pub fn of_answer(wire: super::provider::Wire, answer: &Value) -> Option<TokenUsage> {
    match wire {
        super::provider::Wire::OpenAi => of_openai_answer(answer),
        super::provider::Wire::Anthropic => of_anthropic_answer(answer),
        super::provider::Wire::Gemini => of_gemini_answer(answer),
    }
}

/// The usage of a stream, merged event by event: later counts replace earlier ones, a count
/// an event does not carry (Anthropic's `message_delta` has only output) is kept.
pub fn merge(total: &mut Option<TokenUsage>, event: Option<TokenUsage>) {
    let Some(event) = event else { return };
    let merged = match total.take() {
        None => event,
        Some(mut t) => {
            if event.input_tokens > 0 {
                t.input_tokens = event.input_tokens;
                t.cache_read_input_tokens = event.cache_read_input_tokens;
                t.cache_creation_input_tokens = event.cache_creation_input_tokens;
            }
            if event.output_tokens > 0 {
                t.output_tokens = event.output_tokens;
            }
            t
        }
    };
    *total = Some(merged);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_format_is_read_with_its_cached_tokens() {
        let chat = json!({"usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "prompt_tokens_details": {"cached_tokens": 2}}});
        let u = of_openai_answer(&chat).expect("usage");
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_input_tokens),
            (12, 5, 2)
        );
        let responses = json!({"type": "response.completed", "response": {"usage": {"input_tokens": 7, "output_tokens": 3}}});
        let u = of_openai_answer(&responses).expect("usage");
        assert_eq!((u.input_tokens, u.output_tokens), (7, 3));
        assert_eq!(of_openai_answer(&json!({"usage": null})), None);
        let anthropic = json!({"usage": {"input_tokens": 10, "output_tokens": 6, "cache_read_input_tokens": 2}});
        let u = of_anthropic_answer(&anthropic).expect("usage");
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_input_tokens),
            (12, 6, 2)
        );
    }

    #[test]
    fn stream_usage_merges_event_by_event() {
        let mut total = None;
        merge(
            &mut total,
            of_anthropic_answer(
                &json!({"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}}),
            ),
        );
        merge(&mut total, None);
        merge(
            &mut total,
            of_anthropic_answer(&json!({"type": "message_delta", "usage": {"output_tokens": 4}})),
        );
        let t = total.expect("usage");
        assert_eq!((t.input_tokens, t.output_tokens), (9, 4));
    }
}
