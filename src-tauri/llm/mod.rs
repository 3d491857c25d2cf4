//! Talking to a local LLM: connection settings and an OpenAI-compatible streaming client.
mod client;
mod settings;

pub use client::{ChatMessage, Finish, LlmClient, Role};
pub use settings::LlmSettings;
