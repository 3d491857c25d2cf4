//! LLM connection settings, persisted in the store's `settings` table under `llm`.
use serde::{Deserialize, Serialize};

use super::{BuiltinChoice, Provider};
use crate::error::{Error, Result};
use crate::store::Store;

const KEY: &str = "llm";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSettings {
    /// Server, built-in model, or `auto` (the server if it answers, else the built-in model).
    pub provider: Provider,
    /// An OpenAI-compatible base URL ending in `/v1`: llama.cpp `llama-server`
    /// (http://127.0.0.1:8080/v1), LM Studio (:1234/v1), Ollama (:11434/v1). Empty: no server.
    pub base_url: String,
    /// Which built-in model answers when the built-in engine is used (Tiny / Small / Better).
    pub builtin_model: BuiltinChoice,
    /// The model name sent to the server; empty: the first one `/v1/models` lists.
    pub model: String,
    pub temperature: f32,
    /// Nucleus sampling for the built-in model (servers use their own default).
    pub top_p: f32,
    /// A fixed sampling seed (reproducible answers); none: a new one per answer.
    pub seed: Option<u64>,
    pub max_tokens: u32,
    pub system_prompt: String,
    /// Seconds without a byte from the server before a request fails.
    pub timeout_secs: u64,
    /// Prompt budget in characters (≈ 4 per token): history beyond it is trimmed, oldest first.
    pub context_chars: usize,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            provider: Provider::Auto,
            base_url: "http://127.0.0.1:8080/v1".into(),
            builtin_model: BuiltinChoice::default(),
            model: String::new(),
            temperature: 0.7,
            top_p: 0.9,
            seed: None,
            max_tokens: 512,
            system_prompt: "You are Hindsight, a helpful assistant. Answer clearly and concisely."
                .into(),
            timeout_secs: 60,
            context_chars: 6000,
        }
    }
}

impl LlmSettings {
    pub fn validate(&self) -> Result<()> {
        let url = self.base_url.trim();
        let needs_url = self.provider == Provider::Server || !url.is_empty();
        if needs_url && !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "the LLM server URL must start with http:// or https://: {url:?}"
            )));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(Error::Invalid("temperature must be between 0 and 2".into()));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Invalid("top-p must be in (0, 1]".into()));
        }
        if self.max_tokens == 0 || self.timeout_secs == 0 || self.context_chars < 200 {
            return Err(Error::Invalid(
                "max tokens, timeout and context budget must be positive".into(),
            ));
        }
        Ok(())
    }

    pub fn load(store: &Store) -> Result<LlmSettings> {
        Ok(store
            .get_setting(KEY)?
            .map(serde_json::from_value)
            .transpose()?
            .unwrap_or_default())
    }

    pub fn save(&self, store: &Store) -> Result<()> {
        self.validate()?;
        store.put_setting(KEY, &serde_json::to_value(self)?)
    }
}
