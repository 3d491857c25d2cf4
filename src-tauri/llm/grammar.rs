//! Schema-constrained decoding for the built-in model. A `response_format: json_schema` request
//! is compiled once per schema by llguidance (the structured-output engine behind several LLM
//! servers) into a matcher over the model's vocabulary; at each step it gives the tokens that
//! keep the answer a prefix of some JSON document the schema accepts (types, enums, required
//! keys, minLength, maxItems, number ranges, additionalProperties: false), and sampling picks
//! among those only. What llama.cpp does with its json-schema-to-grammar, so a small model's
//! analysis always parses.
use std::collections::HashMap;
use std::sync::Mutex;

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;
use tokenizers::Tokenizer;

/// The vocabulary as llguidance sees it: each token's bytes, and our tokenizer for text.
struct Vocabulary {
    trie: TokTrie,
    tokenizer: Tokenizer,
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
        tokenizer: Tokenizer,
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
        let env: TokEnv = std::sync::Arc::new(Vocabulary {
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

    /// A constraint for one answer to `schema`. Compact JSON: ", " and ": " between items and
    /// keys and no other whitespace, so a small model cannot drift into blank lines.
    pub fn constraint(&self, schema: &Value) -> Result<Constraint, String> {
        let key = schema.to_string();
        let mut compiled = crate::sync::lock(&self.compiled);
        if let Some(m) = compiled.get(&key) {
            return Ok(Constraint {
                matcher: m.deep_clone(),
            });
        }
        let mut schema = schema.clone();
        if let Some(o) = schema.as_object_mut() {
            o.insert(
                "x-guidance".into(),
                serde_json::json!({
                    "whitespace_flexible": false,
                    "item_separator": ", ",
                    "key_separator": ": ",
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
