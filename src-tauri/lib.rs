//! Hindsight: a local-first desktop chat app that remembers.
//!
//! The core (`store`, `transfer`, `embed`, `llm`, `chat`, `analysis`, `search`) is
//! plain Rust that knows nothing of Tauri. Two thin shells sit on it: `app` (the Tauri window:
//! commands, state) and `cli` (the `hindsight` subcommands). See ARCHITECTURE.md.
pub mod analysis;
pub mod chat;
pub mod embed;
pub mod error;
pub mod llm;
pub mod paths;
pub mod search;
pub mod store;
pub mod sync;
pub mod time;
pub mod transfer;

pub mod app;
pub mod cli;

pub use error::{Error, Result};
