//! Talking to a local LLM: connection settings, an OpenAI-compatible streaming client, the
//! built-in model (candle, in-process) and the choice between them.
pub mod builtin;
pub mod catalog;
mod client;
mod grammar;
pub mod llama;
mod provider;
mod quant;
mod settings;
mod template;

pub use catalog::{BuiltinChoice, BuiltinSpec};
pub use client::{ChatMessage, Finish, LlmClient, Role};
pub use provider::{load_builtin, probe, resolve, Llm, LlmStatus, Provider};
pub use settings::LlmSettings;
pub use template::ChatTemplate;
