//! Hindsight: a local-first desktop chat app that remembers.
//!
//! The core (`store`, `transfer`, `embed`, `llm`, `chat`, `analysis`, `search`, and
//! [`Hindsight`], their use cases) is plain Rust that knows nothing of Tauri. Two thin shells sit on it: `app` (the Tauri window:
//! commands, state) and `cli` (the `hindsight` subcommands). See ARCHITECTURE.md.
pub mod analysis;
pub mod chat;
pub mod diagnostics;
pub mod embed;
pub mod error;
pub mod files;
pub mod hindsight;
pub mod llm;
pub mod locking;
pub mod logging;
pub mod models;
pub mod paths;
pub mod search;
pub mod simd;
pub mod store;
pub mod sync;
pub mod time;
pub mod transfer;

pub mod app;
pub mod cli;

pub use error::{Error, Result};
pub use hindsight::Hindsight;

/// mimalloc instead of the system allocator: candle allocates a fresh tensor per operation,
/// and glibc hands large blocks back to the OS and page-faults them in again every batch
/// (a fifth of the embedder's time on long texts, BENCHMARKS.md). mimalloc keeps and reuses
/// them. Declared in the library so the app, the CLI, the tests and the benches all use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands the memory the allocator holds free back to the system: after loading a model,
/// whose transient buffers (the tokenizer's JSON, the GGUF's metadata) would otherwise stay
/// resident until mimalloc purges them at some later allocation.
pub fn release_free_memory() {
    // SAFETY: mi_collect takes no pointer; it only walks the allocator's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
