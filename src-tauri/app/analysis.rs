//! Runs the analysis queue ([`Hindsight::run_analysis`]) on Tauri's async runtime and forwards
//! status changes to the UI as `analysis-status` events; ends idle conversations every minute.
use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager};

use crate::Hindsight;

pub const STATUS_EVENT: &str = "analysis-status";

/// How often idle conversations are looked for.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

pub fn start(app: &AppHandle) {
    let worker = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = worker.state::<Arc<Hindsight>>();
        state
            .run_analysis(|status| {
                let _ = worker.emit(STATUS_EVENT, status);
            })
            .await;
    });
    // Automatic analysis: a conversation idle for the chosen time is ended and queued.
    let watcher = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(IDLE_CHECK).await;
            let state = watcher.state::<Arc<Hindsight>>().inner().clone();
            let ended =
                tauri::async_runtime::spawn_blocking(move || state.end_idle_conversations()).await;
            match ended {
                Ok(Ok(statuses)) => {
                    for status in statuses {
                        let _ = watcher.emit(STATUS_EVENT, status);
                    }
                }
                // A busy database: the next round tries again.
                Ok(Err(e)) => tracing::warn!("ending idle conversations failed: {e}"),
                Err(e) => tracing::warn!("ending idle conversations stopped: {e}"),
            }
        }
    });
}
