//! Background sync for the window: a round when the sync folder changes (a file watcher on
//! it, and its listing compared every two seconds for folders a watcher cannot see: network
//! and FUSE mounts, a watch limit reached), when this history changes (the outbox, looked at every two seconds), when the
//! settings are saved or "Sync now" is pressed, and every few minutes. Each round's status
//! goes to the UI as a `sync-status` event.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use tauri::{AppHandle, Emitter, Manager};

use crate::Hindsight;

pub const SYNC_EVENT: &str = "sync-status";

/// How often this history is looked at for changes to publish.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// A round at least this often, even when nothing was noticed (a watcher can miss events on
/// network and FUSE folders).
const ROUND_EVERY: Duration = Duration::from_secs(180);
/// A burst of file events (a sync app writing several segments) gives one round.
const SETTLE: Duration = Duration::from_millis(500);

pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<Arc<Hindsight>>().inner().clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        // The watcher of the folder in use, and this device's id (its own segments are not
        // news); replaced when either changes.
        let mut watching: Option<((PathBuf, Option<String>), notify::RecommendedWatcher)> = None;
        let mut seen = None;
        let mut listing = None;
        let mut last_round: Option<Instant> = None;
        let wake = state.sync_wake.clone();
        loop {
            let folder = state.sync_settings().ok().and_then(|s| s.folder);
            let device = state.sync_device().ok().flatten();
            let key = folder.clone().map(|f| (f, device));
            if watching.as_ref().map(|(k, _)| k) != key.as_ref() {
                watching = key.and_then(|k| watch(k, tx.clone()));
                last_round = None;
            }
            let mark = state.sync_outbox_mark().ok();
            let now_listing = folder
                .as_ref()
                .and_then(|f| crate::sync::Folder::open(f).ok())
                .map(|f| f.signature());
            let due = last_round.is_none_or(|t| t.elapsed() >= ROUND_EVERY)
                || mark != seen
                || now_listing != listing;
            if folder.is_some() && due {
                let s = state.clone();
                let _ = tauri::async_runtime::spawn_blocking(move || s.sync_recorded()).await;
                last_round = Some(Instant::now());
                seen = state.sync_outbox_mark().ok();
                listing = folder
                    .as_ref()
                    .and_then(|f| crate::sync::Folder::open(f).ok())
                    .map(|f| f.signature());
                if let Ok(status) = state.sync_status() {
                    let _ = app.emit(SYNC_EVENT, status);
                }
            }
            tokio::select! {
                Some(()) = rx.recv() => {
                    tokio::time::sleep(SETTLE).await;
                    while rx.try_recv().is_ok() {}
                    last_round = None;
                }
                () = wake.notified() => last_round = None,
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    });
}

/// Watches the sync folder's `devices` (where segments arrive) for other devices' files;
/// `None` if it cannot be watched (the periodic round still runs).
fn watch(
    (folder, device): (PathBuf, Option<String>),
    tx: tokio::sync::mpsc::UnboundedSender<()>,
) -> Option<((PathBuf, Option<String>), notify::RecommendedWatcher)> {
    let devices = folder.join("devices");
    let _ = std::fs::create_dir_all(&devices);
    let own = device.as_ref().map(|d| devices.join(d));
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(e) = event else { return };
        let news = e.kind.is_create() || e.kind.is_modify() || e.kind.is_remove();
        let others = e
            .paths
            .iter()
            .any(|p| own.as_ref().is_none_or(|own| !p.starts_with(own)));
        if news && others {
            let _ = tx.send(());
        }
    })
    .map_err(|e| tracing::warn!("sync: no file watcher: {e}"))
    .ok()?;
    watcher
        .watch(&devices, RecursiveMode::Recursive)
        .map_err(|e| tracing::warn!("sync: cannot watch {}: {e}", devices.display()))
        .ok()?;
    Some(((folder, device), watcher))
}
