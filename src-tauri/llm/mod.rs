//! Talking to a local LLM: connection settings, an OpenAI-compatible streaming client, the
//! built-in model (candle, in-process) and the choice between them.
mod arena;
pub mod builtin;
pub mod catalog;
mod client;
pub mod detect;
pub mod gguf_tokenizer;
mod grammar;
mod keys;
pub mod llama;
mod logit_mask;
mod provider;
mod quant;
mod repeats;
mod reported;
mod settings;
mod template;

pub use catalog::{BuiltinChoice, BuiltinSpec};
pub use client::{is_loopback, ChatMessage, Finish, LlmClient, Role, TokenLogprob, MAX_SSE_LINE};
pub use provider::{load_builtin, probe, resolve, too_long, Engine, Llm, LlmStatus, Provider};
pub use settings::{LlmSettings, Purpose};
pub use template::ChatTemplate;
