//! Schema-constrained decoding for the built-in model. A `response_format: json_schema` request
//! is compiled once per schema by llguidance (the structured-output engine behind several LLM
//! servers) into a matcher over the model's vocabulary; at each step it gives the tokens that
//! keep the answer a prefix of some JSON document the schema accepts (types, enums, required
//! keys, minLength, maxItems, number ranges, additionalProperties: false), and sampling picks
//! among those only. What llama.cpp does with its json-schema-to-grammar, so a small model's
//! analysis always parses.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;
use tokenizers::Tokenizer;

/// The vocabulary as llguidance sees it: each token's bytes, and our tokenizer for text.
struct Vocabulary {
    trie: TokTrie,
    tokenizer: Arc<Tokenizer>,
}

impl TokenizerEnv for Vocabulary {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<u32> {
        self.tokenizer
            .encode(String::from_utf8_lossy(s).as_ref(), false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }
}

/// Compiled schemas for one model's vocabulary.
pub struct Grammars {
    factory: ParserFactory,
    /// A fresh matcher per schema (by its JSON text), cloned for each request.
    compiled: Mutex<HashMap<String, Matcher>>,
}

impl Grammars {
    /// `tokenizer_json` is the model's tokenizer.json; `vocab` the number of logits (it may
    /// exceed the tokenizer's ids: those tokens are never allowed); `end` the end-of-turn token,
    /// allowed once the document is complete.
    pub fn new(
        tokenizer_json: &Value,
        tokenizer: Arc<Tokenizer>,
        vocab: usize,
        end: u32,
    ) -> Result<Grammars, String> {
        let mut words = llguidance::token_bytes_from_tokenizer_json(tokenizer_json)
            .map_err(|e| format!("reading the vocabulary: {e}"))?;
        if words.len() > vocab {
            return Err(format!(
                "the tokenizer has {} tokens, the model {vocab}",
                words.len()
            ));
        }
        words.resize(vocab, Vec::new());
        let mut info = TokRxInfo::new(vocab as u32, end);
        info.tok_end_of_turn = Some(end);
        let env: TokEnv = Arc::new(Vocabulary {
            trie: TokTrie::from(&info, &words),
            tokenizer,
        });
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
        factory.quiet();
        Ok(Grammars {
            factory,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// A constraint for one answer to `schema`. Between JSON tokens, at most one run of up to
    /// 22 spaces or newlines (llama.cpp's grammar allows the same): a model writes the indented
    /// JSON it was trained on, and cannot drift into endless blank lines.
    pub fn constraint(&self, schema: &Value) -> Result<Constraint, String> {
        let key = schema.to_string();
        let mut compiled = crate::locking::lock(&self.compiled);
        if let Some(m) = compiled.get(&key) {
            return Ok(Constraint {
                matcher: m.deep_clone(),
            });
        }
        let mut schema = schema.clone();
        bound_strings(&mut schema, false);
        if let Some(o) = schema.as_object_mut() {
            o.insert(
                "x-guidance".into(),
                serde_json::json!({
                    "whitespace_flexible": true,
                    "whitespace_pattern": r"[\x20\x0A]{1,22}",
                }),
            );
        }
        let parser = self
            .factory
            .create_parser(TopLevelGrammar::from_json_schema(schema))
            .map_err(|e| format!("compiling the JSON schema: {e}"))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(format!("compiling the JSON schema: {e}"));
        }
        let fresh = matcher.deep_clone();
        compiled.insert(key, matcher);
        Ok(Constraint { matcher: fresh })
    }
}

/// Longest free strings the built-in model may write: a list item, and any other string. A
/// small model that starts copying or repeating itself inside a JSON string never closes it;
/// a bound makes the grammar close it. (Not sent to servers: llama.cpp expands a length bound
/// into as many grammar rules, which slows it down; llguidance's lexer does not care.)
const MAX_ITEM_CHARS: u64 = 200;
const MAX_STRING_CHARS: u64 = 600;

/// Adds a `maxLength` to every string of `schema` without one (and without an `enum`).
fn bound_strings(schema: &mut Value, in_array: bool) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    let is_string = o.get("type").and_then(Value::as_str) == Some("string");
    if is_string && !o.contains_key("maxLength") && !o.contains_key("enum") {
        let max = if in_array {
            MAX_ITEM_CHARS
        } else {
            MAX_STRING_CHARS
        };
        o.insert("maxLength".into(), max.into());
    }
    if let Some(items) = o.get_mut("items") {
        bound_strings(items, true);
    }
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for p in props.values_mut() {
            bound_strings(p, in_array);
        }
    }
}

/// One answer's progress through a schema.
pub struct Constraint {
    matcher: Matcher,
}

impl Constraint {
    /// Sets the logits of every token the schema does not allow next to -∞ (only the end
    /// token once the document is complete).
    pub fn mask(&mut self, logits: &mut [f32]) -> Result<(), String> {
        let allowed = self
            .matcher
            .compute_mask_or_eos()
            .map_err(|e| e.to_string())?;
        for (i, l) in logits.iter_mut().enumerate() {
            if !allowed.is_allowed(i as u32) {
                *l = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    /// Moves past `token` (one the mask allowed).
    pub fn accept(&mut self, token: u32) -> Result<(), String> {
        self.matcher.consume_token(token).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_strings_get_a_bound_and_list_items_a_shorter_one() {
        let mut schema = serde_json::json!({
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "mood": {"type": "string", "enum": ["a", "b"]},
                "title": {"type": "string", "maxLength": 10},
                "points": {"type": "array", "items": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "text": {"type": "string"}}}},
            }
        });
        bound_strings(&mut schema, false);
        let p = &schema["properties"];
        assert_eq!(p["summary"]["maxLength"], MAX_STRING_CHARS);
        assert!(
            p["mood"].get("maxLength").is_none(),
            "an enum is bounded already"
        );
        assert_eq!(p["title"]["maxLength"], 10, "a bound of its own is kept");
        assert_eq!(p["points"]["items"]["maxLength"], MAX_ITEM_CHARS);
        assert_eq!(
            p["items"]["items"]["properties"]["text"]["maxLength"],
            MAX_ITEM_CHARS
        );
    }
}
