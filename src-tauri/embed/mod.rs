//! Local embeddings: the model (`model.rs`, its encoder `bert.rs` and that encoder's kernels
//! `kernels.rs`), one pass over the backlog (`backlog.rs`) and the background worker that
//! keeps every message embedded (`worker.rs`).
mod backlog;
mod bert;
mod kernels;
mod model;
mod worker;

pub use backlog::{embed_backlog, Progress};
pub use model::{check_installed, model_path, Embedder, DIM, MAX_TOKENS, MODEL_DIR, MODEL_ID};
pub use worker::EmbedWorker;

/// Characters of the previous turn embedded with a message.
pub const CONTEXT_CHARS: usize = 300;

/// The text embedded for a message: its own text first (the model reads 256 tokens at most,
/// so a long previous answer must not push the message out), then up to [`CONTEXT_CHARS`] of
/// the turn before it, so a reply like "yes, book that one" carries what it answers
/// (BENCHMARKS.md, "Retrieval quality").
pub fn turn_text(content: &str, previous: Option<&str>) -> String {
    match previous {
        Some(p) if !p.trim().is_empty() => {
            let p: String = p.chars().take(CONTEXT_CHARS).collect();
            format!("{content}\n\n{p}")
        }
        _ => content.to_owned(),
    }
}

/// Texts per forward pass: the best throughput on 2 cores (BENCHMARKS.md).
pub const DEFAULT_BATCH: usize = 32;
