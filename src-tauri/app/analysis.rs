//! Runs the analysis queue on Tauri's async runtime and forwards status changes to the UI as
//! `analysis-status` events.
use tauri::{AppHandle, Emitter, Manager};

use super::state::AppState;

pub const STATUS_EVENT: &str = "analysis-status";

pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let queue = state.analysis.clone();
        queue
            .run(
                || state.llm(),
                |status| {
                    let _ = app.emit(STATUS_EVENT, status);
                },
            )
            .await;
    });
}
