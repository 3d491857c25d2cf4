//! LLM connection settings, persisted in the store's `settings` table under `llm`.
use serde::{Deserialize, Serialize};

use super::{BuiltinChoice, Provider};
use crate::error::{Error, Result};
use crate::store::Store;
use ts_rs::TS;

const KEY: &str = "llm";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
    /// The idle deadline: seconds without new text from the server before a request fails.
    pub timeout_secs: u64,
    /// Overall deadlines, start to end, per kind of request (seconds).
    pub chat_deadline_secs: u64,
    pub analysis_deadline_secs: u64,
    pub ask_deadline_secs: u64,
    /// A proxy for a remote server (`http://host:port`); empty: none. Environment variables
    /// such as `http_proxy` are never used, and a server on this machine is never proxied.
    pub proxy: String,
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
            chat_deadline_secs: 600,
            analysis_deadline_secs: 600,
            ask_deadline_secs: 300,
            proxy: String::new(),
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
        if [
            self.chat_deadline_secs,
            self.analysis_deadline_secs,
            self.ask_deadline_secs,
        ]
        .contains(&0)
        {
            return Err(Error::Invalid("deadlines must be at least 1 s".into()));
        }
        let proxy = self.proxy.trim();
        if !(proxy.is_empty() || proxy.starts_with("http://") || proxy.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "the proxy must start with http:// or https://: {proxy:?}"
            )));
        }
        Ok(())
    }

    /// The overall deadline for one kind of request.
    pub fn deadline(&self, purpose: Purpose) -> std::time::Duration {
        std::time::Duration::from_secs(match purpose {
            Purpose::Chat => self.chat_deadline_secs,
            Purpose::Analysis => self.analysis_deadline_secs,
            Purpose::Ask => self.ask_deadline_secs,
        })
    }
}

/// What a request to the LLM is for (each kind has its own deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Chat,
    Analysis,
    Ask,
}

impl Purpose {
    pub fn noun(self) -> &'static str {
        match self {
            Purpose::Chat => "answer",
            Purpose::Analysis => "analysis",
            Purpose::Ask => "answer to your question",
        }
    }
}

impl LlmSettings {
    pub fn load(store: &Store) -> Result<LlmSettings> {
        store.setting_or_default(KEY)
    }

    pub fn save(&self, store: &Store) -> Result<()> {
        self.validate()?;
        store.put_setting(KEY, &serde_json::to_value(self)?)
    }
}
