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

/// Texts per forward pass: the best throughput on 2 cores (BENCHMARKS.md).
pub const DEFAULT_BATCH: usize = 32;
