//! The native open, save and folder dialogs. Paths come only from here: the webview can ask for
//! an import or export, never name a file itself.
//!
//! On Linux the GTK file chooser is built, shown and answered on the main thread, in the
//! window's own GTK main loop. tauri-plugin-dialog (rfd underneath) builds it on a thread of its
//! own and runs a second GTK loop there while the window's runs on the main thread: GTK, X and
//! WebKit driven from two threads at once. That second loop also kept one core busy for as long
//! as a dialog was open, and it is the likely cause of rare crashes of the whole window right
//! after a dialog closed (seen as a lost WebDriver session in the window tests). Elsewhere the
//! plugin is used: its macOS and Windows dialogs run on the main thread already.
use std::path::PathBuf;

use super::error::CommandResult;

/// Which native file dialog to show.
#[derive(Clone, Copy)]
pub enum Pick {
    OpenJson,
    OpenGguf,
    SaveJson,
    Folder,
    SyncFolder,
}

/// What a dialog asks for.
enum Kind {
    Open,
    Save,
    Folder,
}

impl Pick {
    fn title(self) -> &'static str {
        match self {
            Pick::OpenJson => "Import conversations",
            Pick::OpenGguf => "Use a model file from disk",
            Pick::SaveJson => "Export all conversations",
            Pick::Folder => "Export as Markdown into a folder",
            Pick::SyncFolder => "Choose the folder your sync app keeps in step",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Pick::OpenJson | Pick::OpenGguf => Kind::Open,
            Pick::SaveJson => Kind::Save,
            Pick::Folder | Pick::SyncFolder => Kind::Folder,
        }
    }

    /// The filter's name and extension, if the dialog lists only some files.
    fn filter(self) -> Option<(&'static str, &'static str)> {
        match self {
            Pick::OpenJson => Some(("Hindsight JSON or ChatGPT conversations.json", "json")),
            Pick::OpenGguf => Some(("GGUF model", "gguf")),
            Pick::SaveJson => Some(("Hindsight JSON", "json")),
            Pick::Folder | Pick::SyncFolder => None,
        }
    }

    /// The folder the dialog opens in: a ChatGPT export or a model file from Hugging Face is
    /// most likely in Downloads; an export goes to Documents; the sync folder is chosen from the
    /// home folder. `None` (no such folder): the toolkit's own choice.
    fn folder(self) -> Option<PathBuf> {
        match self {
            Pick::OpenJson | Pick::OpenGguf => dirs::download_dir(),
            Pick::SaveJson | Pick::Folder => dirs::document_dir(),
            Pick::SyncFolder => dirs::home_dir(),
        }
        .filter(|dir| dir.is_dir())
    }

    /// The name a save dialog proposes.
    fn file_name(self) -> Option<&'static str> {
        matches!(self, Pick::SaveJson).then_some("hindsight-export.json")
    }
}

/// Shows the native dialog `pick` over the main window and returns the chosen path (`None`:
/// cancelled).
pub async fn pick_path(app: &tauri::AppHandle, pick: Pick) -> CommandResult<Option<PathBuf>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    show(app, pick, tx)?;
    Ok(rx.await.unwrap_or(None))
}

#[cfg(target_os = "linux")]
fn show(
    app: &tauri::AppHandle,
    pick: Pick,
    tx: tokio::sync::oneshot::Sender<Option<PathBuf>>,
) -> crate::Result<()> {
    let window = tauri::Manager::get_webview_window(app, "main");
    app.run_on_main_thread(move || gtk_dialog(window, pick, tx))
        .map_err(|e| crate::Error::Internal(format!("could not show the file dialog: {e}")))
}

/// Builds and shows the GTK file chooser (on the main thread); its answer goes to `tx`.
#[cfg(target_os = "linux")]
fn gtk_dialog(
    window: Option<tauri::WebviewWindow>,
    pick: Pick,
    tx: tokio::sync::oneshot::Sender<Option<PathBuf>>,
) {
    use gtk::prelude::*;
    let (action, accept) = match pick.kind() {
        Kind::Open => (gtk::FileChooserAction::Open, "_Open"),
        Kind::Save => (gtk::FileChooserAction::Save, "_Save"),
        Kind::Folder => (gtk::FileChooserAction::SelectFolder, "_Select"),
    };
    let parent = window.and_then(|w| w.gtk_window().ok());
    let dialog = gtk::FileChooserNative::new(
        Some(pick.title()),
        parent.as_ref(),
        action,
        Some(accept),
        Some("_Cancel"),
    );
    dialog.set_modal(true);
    if let Some((name, extension)) = pick.filter() {
        let filter = gtk::FileFilter::new();
        filter.set_name(Some(name));
        filter.add_pattern(&format!("*.{extension}"));
        filter.add_pattern(&format!("*.{}", extension.to_uppercase()));
        dialog.add_filter(filter);
    }
    if let Some(folder) = pick.folder() {
        dialog.set_current_folder(&folder);
    }
    if let Some(name) = pick.file_name() {
        dialog.set_current_name(name);
        dialog.set_do_overwrite_confirmation(true);
    }
    // The handler keeps the dialog alive until it answers (GTK holds no reference of its own
    // to a native dialog); the answer lets go of it, and it is freed after the signal.
    let keep = std::cell::Cell::new(Some(dialog.clone()));
    let tx = std::cell::Cell::new(Some(tx));
    dialog.connect_response(move |dialog, response| {
        let path = (response == gtk::ResponseType::Accept)
            .then(|| dialog.filename())
            .flatten();
        if let Some(tx) = tx.take() {
            let _ = tx.send(path);
        }
        dialog.destroy();
        keep.take();
    });
    dialog.show();
}

#[cfg(not(target_os = "linux"))]
fn show(
    app: &tauri::AppHandle,
    pick: Pick,
    tx: tokio::sync::oneshot::Sender<Option<PathBuf>>,
) -> crate::Result<()> {
    use tauri_plugin_dialog::DialogExt;
    let mut dialog = app.dialog().file().set_title(pick.title());
    if let Some((name, extension)) = pick.filter() {
        dialog = dialog.add_filter(name, &[extension]);
    }
    if let Some(folder) = pick.folder() {
        dialog = dialog.set_directory(folder);
    }
    if let Some(name) = pick.file_name() {
        dialog = dialog.set_file_name(name);
    }
    let done = move |p: Option<tauri_plugin_dialog::FilePath>| {
        let _ = tx.send(p.and_then(|p| p.into_path().ok()));
    };
    match pick.kind() {
        Kind::Open => dialog.pick_file(done),
        Kind::Save => dialog.save_file(done),
        Kind::Folder => dialog.pick_folder(done),
    }
    Ok(())
}
