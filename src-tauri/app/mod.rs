//! The Tauri shell: a window over the core. Commands are small adapters over [`Hindsight`]'s
//! use cases (deserialize, call, map the error); nothing here holds business logic.
mod analysis;
mod commands;
mod embedding;
mod error;
pub mod ipc;

use std::sync::Arc;

use std::path::Path;

pub use error::CommandError;

use crate::paths::Locations;
use crate::store::Store;
use crate::Hindsight;

/// How long a window write waits for another process's write lock.
const WINDOW_BUSY_WAIT_SECS: u64 = 30;

/// The background workers: embedding and analysis.
pub(crate) fn start_workers(app: &tauri::AppHandle) {
    embedding::start(app);
    analysis::start(app);
}

/// A `daily` backup (if the newest is older than a day) on a thread of its own, through its
/// own connection: the online backup API lets the window keep writing meanwhile.
fn daily_backup(db: std::path::PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("hindsight-backup".into())
        .spawn(move || {
            if let Err(e) = Store::open(&db).and_then(|s| s.daily_backup()) {
                tracing::warn!("the daily backup failed: {e}");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("could not start the daily backup: {e}");
    }
}

/// Opens the store in the data directory and runs the window until it is closed.
pub fn run(
    data_dir: Option<&Path>,
    models_dir: Option<&Path>,
    model_mirrors: &[String],
) -> crate::Result<()> {
    let locations = Locations::resolve(data_dir, models_dir)?;
    // No log (an unwritable folder) is no reason not to open the window.
    if let Err(e) = crate::logging::init(&crate::logging::logs_dir(&locations.data_dir)) {
        eprintln!("hindsight: no log file: {e}");
    }
    // Opening repairs what a dead process left unfinished (streams, running analyses).
    let store = Store::open(&locations.db_path())?;
    // A damaged file is found before anything writes to it: the window then opens read-only
    // and offers export and the newest backup.
    let health = store.quick_check()?;
    let damaged = (!health.ok).then_some(health.problems);
    // The window's writes (one connection, one at a time) wait for another process's write
    // lock instead of failing "busy" after the store's default 5 s.
    store.wait_for_writers(std::time::Duration::from_secs(WINDOW_BUSY_WAIT_SECS))?;
    let state = Hindsight::new(store, locations, damaged)?;
    state.set_model_mirrors(model_mirrors.to_vec());
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(Arc::new(state))
        .setup(|app| {
            let state = tauri::Manager::state::<Arc<Hindsight>>(app.handle());
            if !state.writes_stopped() {
                start_workers(app.handle());
                daily_backup(state.locations.db_path());
            }
            // Pick the engine now (probe the server; load the built-in model if it is needed),
            // so the first answer does not wait for it and the badge is right at once.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = tauri::Manager::state::<Arc<Hindsight>>(&handle);
                if let Err(e) = state.llm().await {
                    tracing::warn!(code = e.code(), "no LLM at start: {e}");
                }
            });
            Ok(())
        })
        .invoke_handler(ipc::handler())
        .run(tauri::generate_context!())
        .map_err(|e| crate::Error::Internal(format!("could not start the window: {e}")))
}
