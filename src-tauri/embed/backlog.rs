//! One pass over every message without a vector for the current model. The database is the
//! queue: nothing is lost if the app stops mid-way, and the next pass picks up the rest.
use serde::Serialize;

use super::Embedder;
use crate::error::Result;
use crate::store::Store;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Progress {
    /// Messages embedded in this pass so far.
    pub done: usize,
    /// Messages that needed a vector when the pass started (plus any that arrived since).
    pub total: usize,
    /// Messages whose embedding failed in this pass (retried on the next pass).
    pub failed: usize,
}

/// Embeds the backlog `batch` messages at a time, calling `on_progress` after each batch.
/// An empty message is embedded like any other text (sentence-transformers gives "" a vector
/// too), so every message ends up with one. A batch that fails is retried message by message;
/// a message that still fails is counted in `failed` and left for the next pass.
pub fn embed_backlog(
    store: &Store,
    embedder: &Embedder,
    batch: usize,
    mut on_progress: impl FnMut(Progress),
) -> Result<Progress> {
    let model = embedder.model_id();
    let mut p = Progress {
        done: 0,
        total: store.count_without_embedding(model)?,
        failed: 0,
    };
    on_progress(p);
    let mut after = i64::MIN;
    loop {
        let rows = store.messages_to_embed(model, after, batch.max(1))?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        let texts: Vec<String> = rows
            .iter()
            .map(|r| super::turn_text(&r.content, r.previous.as_deref()))
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors: Vec<Option<Vec<f32>>> = match embedder.embed(&texts, batch) {
            Ok(v) => v.into_iter().map(Some).collect(),
            Err(_) => texts
                .iter()
                .map(|t| embedder.embed_batch(&[t]).ok().and_then(|mut v| v.pop()))
                .collect(),
        };
        store.transaction(|s| {
            for (row, v) in rows.iter().zip(&vectors) {
                if let Some(v) = v {
                    s.put_embedding(&row.id, model, v)?;
                }
            }
            Ok(())
        })?;
        let ok = vectors.iter().filter(|v| v.is_some()).count();
        p.done += ok;
        p.failed += vectors.len() - ok;
        p.total = p.total.max(p.done + p.failed);
        on_progress(p);
    }
    Ok(p)
}
