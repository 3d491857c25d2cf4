//! Starts the embedding worker beside the window and forwards its progress to the UI as
//! `embedding-progress` events.
use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager};

use crate::embed::{EmbedWorker, Embedder};
use crate::hindsight::{EmbedState, EmbedStatus};
use crate::locking::lock;
use crate::Hindsight;

pub const PROGRESS_EVENT: &str = "embedding-progress";

/// Loads the model off the main thread, then starts the worker. A missing model is reported
/// to the UI with the command that installs it; the rest of the app works without it.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("hindsight-embed-load".into())
        .spawn(move || {
            let state = app.state::<Arc<Hindsight>>();
            let status = state.embed_status.clone();
            let set = |s: EmbedStatus| {
                *lock(&status) = s.clone();
                let _ = app.emit(PROGRESS_EVENT, s);
            };
            let embedder = match Embedder::load(&state.locations.models_dir) {
                Ok(e) => e,
                Err(e) => {
                    let state_name = if matches!(e, crate::Error::ModelMissing { .. }) {
                        EmbedState::Missing
                    } else {
                        EmbedState::Error
                    };
                    set(EmbedStatus {
                        state: state_name,
                        message: Some(e.to_string()),
                        ..Default::default()
                    });
                    return;
                }
            };
            let progress_app = app.clone();
            let progress_status = status.clone();
            let embedder = std::sync::Arc::new(embedder);
            *lock(&state.embedder) = Some(embedder.clone());
            // Load the search index now rather than on the first query.
            if let Err(e) = state.searcher.refresh(&state.search_store()) {
                tracing::warn!("could not load the search index: {e}");
            }
            let worker = EmbedWorker::start(state.locations.db_path(), embedder, move |p| {
                let s = EmbedStatus {
                    state: EmbedState::Ready,
                    message: None,
                    progress: p,
                };
                *lock(&progress_status) = s.clone();
                let _ = progress_app.emit(PROGRESS_EVENT, s);
            });
            match worker {
                Ok(w) => *lock(&state.worker) = Some(w),
                Err(e) => set(EmbedStatus {
                    state: EmbedState::Error,
                    message: Some(e.to_string()),
                    ..Default::default()
                }),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("could not start the embedding loader: {e}");
    }
}
