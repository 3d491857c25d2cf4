//! Runs the analysis queue on Tauri's async runtime and forwards status changes to the UI as
//! `analysis-status` events.
use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager};

use crate::analysis::AnalysisSettings;
use crate::Hindsight;

pub const STATUS_EVENT: &str = "analysis-status";

/// How often idle conversations are looked for.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

pub fn start(app: &AppHandle) {
    let worker = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = worker.state::<Arc<Hindsight>>();
        let queue = state.analysis.clone();
        queue
            .run_yielding(
                || state.llm(),
                |status| {
                    let _ = worker.emit(STATUS_EVENT, status);
                },
                // A chat answer goes first: no analysis starts while one is written.
                || state.chat.is_answering(),
            )
            .await;
    });
    // Automatic analysis: a conversation idle for the chosen time is ended and queued.
    let watcher = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(IDLE_CHECK).await;
            let state = watcher.state::<Arc<Hindsight>>();
            // Nothing is ended in a history that cannot be written.
            if state.writes_stopped() {
                continue;
            }
            let settings = AnalysisSettings::load(&state.reader()).unwrap_or_default();
            if !settings.automatic {
                continue;
            }
            let idle = state
                .analysis
                .end_idle(settings.idle(), |id| state.chat.is_streaming(id));
            match idle {
                Ok(ended) => {
                    for id in ended {
                        if let Ok(status) = state.reader().analysis_status(&id) {
                            let _ = watcher.emit(STATUS_EVENT, status);
                        }
                    }
                }
                // A busy database: the next round tries again.
                Err(e) => tracing::warn!("ending idle conversations failed: {e}"),
            }
        }
    });
}
