//! The Tauri shell: a window over the core. Commands are small adapters over [`Hindsight`]'s
//! use cases (deserialize, call, map the error); nothing here holds business logic.
mod analysis;
mod commands;
mod embedding;
mod error;
mod file_dialog;
pub mod ipc;
pub mod link;
mod sync;

use std::sync::Arc;

use std::path::Path;

pub use error::CommandError;

use crate::paths::Locations;
use crate::store::Store;
use crate::Hindsight;

/// How long a window write waits for another process's write lock.
const WINDOW_BUSY_WAIT_SECS: u64 = 30;

/// The background workers: embedding, analysis and sync.
pub(crate) fn start_workers(app: &tauri::AppHandle) {
    embedding::start(app);
    analysis::start(app);
    sync::start(app);
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

/// A link the window was started with, until the UI takes it (`take_link`).
#[derive(Default)]
pub(crate) struct StartLink(std::sync::Mutex<Option<link::Link>>);

/// Opens the store in the data directory and runs the window until it is closed. `url` is a
/// `hindsight://` link to open at; a window already open on this data folder is handed the
/// link (or brought to the front) instead, and this process returns at once.
pub fn run(
    data_dir: Option<&Path>,
    models_dir: Option<&Path>,
    model_mirrors: &[String],
    url: Option<&str>,
) -> crate::Result<()> {
    let locations = Locations::resolve(data_dir, models_dir)?;
    let start_link = match url.map(|u| (u, link::parse(u))) {
        Some((u, None)) => {
            return Err(crate::Error::Invalid(format!(
                "{u:?} is not a Hindsight link (hindsight://conversation/ID#MESSAGE)"
            )))
        }
        Some((_, l)) => l,
        None => None,
    };
    if link::hand_over(&locations.data_dir, start_link.as_ref()) {
        eprintln!("Hindsight is already open on this data folder: its window has it.");
        return Ok(());
    }
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
    let data = locations.data_dir.clone();
    let state = Hindsight::new(store, locations, damaged)?;
    state.set_model_mirrors(model_mirrors.to_vec());
    let app = tauri::Builder::default();
    // Linux's file dialogs are GTK's own, on the main thread (see `file_dialog`).
    #[cfg(not(target_os = "linux"))]
    let app = app.plugin(tauri_plugin_dialog::init());
    let app = app
        .manage(Arc::new(state))
        .manage(StartLink(std::sync::Mutex::new(start_link)))
        .setup(move |app| {
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
            // Later starts on this data folder hand their link over, or just come to the front.
            let handle = app.handle().clone();
            let listening = link::listen(&data, move |l| {
                if let Some(window) = tauri::Manager::get_webview_window(&handle, "main") {
                    let _ = window.unminimize();
                    let _ = window.set_focus();
                }
                if let Some(l) = l {
                    let _ = tauri::Emitter::emit(&handle, link::LINK_EVENT, l);
                }
            });
            if let Err(e) = listening {
                tracing::warn!("links from later starts will open new windows: {e}");
            }
            Ok(())
        })
        .invoke_handler(ipc::handler())
        .build(tauri::generate_context!())
        .map_err(|e| crate::Error::Internal(format!("could not start the window: {e}")))?;
    let data = tauri::Manager::state::<Arc<Hindsight>>(&app)
        .locations
        .data_dir
        .clone();
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            link::stop_listening(&data);
        }
    });
    Ok(())
}
