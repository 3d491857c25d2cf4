//! A built-in model's tokenizer, built from the vocabulary and merges its GGUF carries
//! (`tokenizer.ggml.*`): an installed app needs only the GGUF, and no Python. The result is the
//! `tokenizer.json` the `tokenizers` crate reads, field for field what
//! `scripts/gguf_to_tokenizer_json.py` (PyPI `gguf` + `tokenizers`) writes; a test checks that
//! they are equal for every installed model, and another that ours tokenises as llama.cpp does.
//! Byte-level BPE (`tokenizer.ggml.model` = `gpt2`) with the pre-tokenizer llama.cpp uses for
//! the file's `tokenizer.ggml.pre`: `qwen2` (Qwen2's split regex, then bytes), `smollm` (single
//! digits, then GPT-2's byte-level split), else GPT-2's.
use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::{json, Map};
use tokenizers::Tokenizer;

use crate::error::{Error, LlmError, Result};

/// llama.cpp's `LLAMA_VOCAB_PRE_TYPE_QWEN2` split, the same as Qwen2's own tokenizer.json.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types that are special (never split, never merged): control and user-defined.
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Llm(LlmError::Builtin(format!(
        "the GGUF's tokenizer cannot be read: {what}"
    )))
}

fn field<'a>(content: &'a Content, key: &str) -> Result<&'a Value> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| bad(format!("{key} is missing")))
}

fn strings(content: &Content, key: &str) -> Result<Vec<String>> {
    match field(content, key)? {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad(format!("{key} holds a non-string"))),
            })
            .collect(),
        _ => Err(bad(format!("{key} is not a list"))),
    }
}

/// The tokenizer.json (as JSON) of the GGUF whose metadata is `content`.
pub fn tokenizer_json(content: &Content) -> Result<serde_json::Value> {
    match field(content, "tokenizer.ggml.model")? {
        Value::String(m) if m == "gpt2" => {}
        other => return Err(bad(format!("a {other:?} vocabulary is not byte-level BPE"))),
    }
    let pre = match content.metadata.get("tokenizer.ggml.pre") {
        Some(Value::String(p)) => p.as_str(),
        _ => "default",
    };
    let tokens = strings(content, "tokenizer.ggml.tokens")?;
    let types: Vec<i32> = match field(content, "tokenizer.ggml.token_type")? {
        Value::Array(items) => items.iter().map(|v| v.to_i32().unwrap_or(1)).collect(),
        _ => return Err(bad("tokenizer.ggml.token_type is not a list")),
    };
    let merges: Vec<serde_json::Value> = strings(content, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok(json!([a, b])),
            None => Err(bad(format!("the merge {m:?} is not two tokens"))),
        })
        .collect::<Result<_>>()?;
    // A token listed twice keeps its last id (as a dict built in order does).
    let mut vocab = Map::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), json!(id));
    }
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| matches!(**t, CONTROL | USER_DEFINED))
        .map(|(token, _)| {
            json!({"id": vocab[token], "content": token, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let byte_level = |use_regex: bool| {
        json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
               "use_regex": use_regex})
    };
    let pre_tokenizer = match pre {
        "qwen2" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated",
             "invert": false},
            byte_level(false)]}),
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        _ => byte_level(true),
    };
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false,
                           "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                    "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges},
    }))
}

/// The tokenizer for `json` (from [`tokenizer_json`]).
pub fn tokenizer(json: &serde_json::Value) -> Result<Tokenizer> {
    json.to_string()
        .parse::<Tokenizer>()
        .map_err(|e| bad(format!("the tokenizer does not build: {e}")))
}

/// Reads only the GGUF's header and metadata, not its weights.
pub fn read_metadata(path: &std::path::Path) -> Result<Content> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Content::read(&mut file).map_err(bad)
}
