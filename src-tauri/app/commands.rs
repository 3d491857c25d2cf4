//! Tauri commands: deserialize, call the core, map the error. All are `async` so that they run
//! off the main (UI) thread, and their SQLite work runs on a blocking thread (`blocking`). Each
//! opens a `debug` span named for it: with `HINDSIGHT_LOG=debug` every log line says which
//! command it came from.
use std::sync::Arc;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::mpsc;

use super::error::CommandResult;
use super::file_dialog::{pick_path, Pick};
use crate::analysis::AnalysisSettings;
use crate::chat::ChatEvent;
use crate::hindsight::DEFAULT_PAGE;
use crate::hindsight::{EmbedStatus, SyncSettings, SyncStatus};
use crate::llm::{LlmSettings, LlmStatus};
use crate::locking::lock;
use crate::search::ask::AskResult;
use crate::search::{SearchOptions, SearchResults};
use crate::store::{
    ActionItem, ActionItemEntry, AnalysisStatus, Bookmark, Conversation, ConversationAnalysis,
    ConversationDetail, Message, Page, TextHit,
};
use crate::Hindsight;
use ts_rs::TS;

/// Runs `f` on a blocking thread: SQLite (and any CPU work) stays off the async runtime, whose
/// threads stream answers and serve the other commands meanwhile.
async fn blocking<T: Send + 'static>(
    state: &Arc<Hindsight>,
    f: impl FnOnce(&Hindsight) -> crate::Result<T> + Send + 'static,
) -> CommandResult<T> {
    let hindsight = state.clone();
    Ok(tauri::async_runtime::spawn_blocking(move || f(&hindsight))
        .await
        .map_err(|e| crate::Error::Internal(format!("a background task failed: {e}")))??)
}

#[derive(Serialize, TS)]
pub struct AppInfo {
    version: &'static str,
    data_dir: String,
    models_dir: String,
    conversation_count: i64,
    message_count: i64,
    /// What the start-up check found wrong with the database; while set, nothing is written.
    damaged: Option<Vec<String>>,
    /// The data folder cannot be written: the history is open read-only.
    read_only: bool,
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn app_info(state: State<'_, Arc<Hindsight>>) -> CommandResult<AppInfo> {
    blocking(&state, |state| {
        let (conversation_count, message_count) = state.counts();
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: state.locations.data_dir.display().to_string(),
            models_dir: state.locations.models_dir.display().to_string(),
            conversation_count,
            message_count,
            damaged: state.damaged(),
            read_only: state.read_only(),
        })
    })
    .await
}

/// What to paste into a bug report (`diagnostics.rs`).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn diagnostics(state: State<'_, Arc<Hindsight>>) -> CommandResult<String> {
    blocking(&state, |state| Ok(state.diagnostics()?.to_text())).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn embedding_status(state: State<'_, Arc<Hindsight>>) -> CommandResult<EmbedStatus> {
    Ok(lock(&state.embed_status).clone())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_conversations(
    state: State<'_, Arc<Hindsight>>,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Conversation>> {
    blocking(&state, move |state| {
        state.conversations(cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_conversation(
    state: State<'_, Arc<Hindsight>>,
    id: String,
) -> CommandResult<ConversationDetail> {
    blocking(&state, move |state| state.conversation(&id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_messages(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Message>> {
    blocking(&state, move |state| {
        state.messages(
            &conversation_id,
            cursor.as_deref(),
            limit.unwrap_or(DEFAULT_PAGE),
        )
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rename_conversation(
    state: State<'_, Arc<Hindsight>>,
    id: String,
    title: String,
) -> CommandResult<Conversation> {
    blocking(&state, move |state| state.rename_conversation(&id, &title)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn end_conversation(
    state: State<'_, Arc<Hindsight>>,
    id: String,
) -> CommandResult<Conversation> {
    blocking(&state, move |state| state.end_conversation(&id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reopen_conversation(
    state: State<'_, Arc<Hindsight>>,
    id: String,
) -> CommandResult<Conversation> {
    blocking(&state, move |state| state.reopen_conversation(&id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_conversation(
    state: State<'_, Arc<Hindsight>>,
    id: String,
) -> CommandResult<()> {
    blocking(&state, move |state| state.delete_conversation(&id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn toggle_reaction(
    state: State<'_, Arc<Hindsight>>,
    message_id: String,
    emoji: String,
) -> CommandResult<Message> {
    blocking(&state, move |state| {
        state.toggle_reaction(&message_id, &emoji)
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_bookmark(
    state: State<'_, Arc<Hindsight>>,
    message_id: String,
    bookmarked: bool,
) -> CommandResult<Message> {
    blocking(&state, move |state| {
        state.set_bookmark(&message_id, bookmarked)
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_bookmarks(
    state: State<'_, Arc<Hindsight>>,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Bookmark>> {
    blocking(&state, move |state| {
        state.bookmarks(cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_text(
    state: State<'_, Arc<Hindsight>>,
    query: String,
    limit: Option<usize>,
) -> CommandResult<Vec<TextHit>> {
    blocking(&state, move |state| {
        state.search_text(&query, limit.unwrap_or(50))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_conversation(
    state: State<'_, Arc<Hindsight>>,
    first_text: Option<String>,
) -> CommandResult<Conversation> {
    blocking(&state, move |state| {
        state.create_conversation(first_text.as_deref())
    })
    .await
}

/// Stores the message and streams the answer through `on_event` (`started`, `token`…, `done`);
/// after the first answer the model names the conversation and the window hears
/// `conversation-renamed`.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_message(
    app: tauri::AppHandle,
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
    text: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    streamed(on_event, |tx| {
        state.send_and_name(&conversation_id, &text, tx, move |conversation| {
            let _ = tauri::Emitter::emit(&app, RENAMED_EVENT, conversation);
        })
    })
    .await
}

/// Emitted with the conversation when the model has given it a title.
pub const RENAMED_EVENT: &str = "conversation-renamed";

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn regenerate(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    streamed(on_event, |tx| state.regenerate(&conversation_id, tx)).await
}

/// Goes on with the last answer where it stopped (Continue), streaming like a new answer.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn continue_answer(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    streamed(on_event, |tx| state.continue_answer(&conversation_id, tx)).await
}

/// A regenerated answer's earlier versions, oldest first.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn message_versions(
    state: State<'_, Arc<Hindsight>>,
    message_id: String,
) -> CommandResult<Vec<crate::store::MessageVersion>> {
    blocking(&state, move |state| state.message_versions(&message_id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn stop_generation(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
) -> CommandResult<bool> {
    Ok(state.stop_answer(&conversation_id))
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_llm_settings(state: State<'_, Arc<Hindsight>>) -> CommandResult<LlmSettings> {
    blocking(&state, move |state| state.llm_settings()).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_llm_settings(
    state: State<'_, Arc<Hindsight>>,
    settings: LlmSettings,
) -> CommandResult<LlmSettings> {
    Ok(state.save_llm_settings(settings).await?)
}

/// The built-in models the app knows, and which are installed (Settings' model choice).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn builtin_models(
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<Vec<crate::llm::catalog::BuiltinModelInfo>> {
    Ok(state.builtin_models())
}

/// The engine in use (server or built-in model, and why). `refresh` probes the server again.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn llm_status(
    state: State<'_, Arc<Hindsight>>,
    refresh: bool,
) -> CommandResult<LlmStatus> {
    Ok(state.llm_status(refresh).await?)
}

/// The server's models, with the given (unsaved) settings: the "test connection" button.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_models(settings: LlmSettings) -> CommandResult<Vec<String>> {
    Ok(Hindsight::server_models(settings).await?)
}

/// The local LLM servers that answer on their default ports (the first-run welcome).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn detect_servers() -> CommandResult<Vec<crate::llm::detect::DetectedServer>> {
    Ok(crate::llm::detect::local_servers(std::time::Duration::from_millis(1500)).await)
}

/// Runs a chat call while forwarding its events to the webview's `channel`; if the webview
/// is gone, the receiver is dropped, which stops the answer.
async fn streamed<F>(
    channel: Channel<ChatEvent>,
    call: impl FnOnce(mpsc::Sender<ChatEvent>) -> F,
) -> CommandResult<Message>
where
    F: std::future::Future<Output = crate::Result<Message>>,
{
    let (tx, mut rx) = mpsc::channel(256);
    let forward = async move {
        while let Some(event) = rx.recv().await {
            if channel.send(event).is_err() {
                break;
            }
        }
    };
    let (result, ()) = tokio::join!(call(tx), forward);
    Ok(result?)
}

#[derive(Serialize, TS)]
pub struct AnalysisView {
    status: AnalysisStatus,
    analysis: Option<ConversationAnalysis>,
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_analysis(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
) -> CommandResult<AnalysisView> {
    blocking(&state, move |state| {
        let (status, analysis) = state.analysis(&conversation_id)?;
        Ok(AnalysisView { status, analysis })
    })
    .await
}

/// Queues the analysis again (after a failure, or to refresh it).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reanalyze(
    state: State<'_, Arc<Hindsight>>,
    conversation_id: String,
) -> CommandResult<AnalysisStatus> {
    blocking(&state, move |state| state.reanalyse(&conversation_id)).await
}

/// The history's analyses by state, and whether the queue is paused.
#[derive(Serialize, TS)]
pub struct AnalysisProgressView {
    #[serde(flatten)]
    progress: crate::store::AnalysisProgress,
    paused: bool,
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn analysis_progress(
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<AnalysisProgressView> {
    blocking(&state, |state| {
        Ok(AnalysisProgressView {
            progress: state.analysis_progress()?,
            paused: state.analysis_paused(),
        })
    })
    .await
}

/// "Analyse all": queues every ended conversation without an analysis (newest first) and
/// resumes the queue; returns how many were queued.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn analyse_all(state: State<'_, Arc<Hindsight>>) -> CommandResult<usize> {
    blocking(&state, |state| state.analyse_all()).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_analysis_settings(
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<AnalysisSettings> {
    blocking(&state, move |state| state.analysis_settings()).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_analysis_settings(
    state: State<'_, Arc<Hindsight>>,
    settings: AnalysisSettings,
) -> CommandResult<AnalysisSettings> {
    blocking(&state, move |state| {
        state.save_analysis_settings(&settings)?;
        Ok(settings)
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pause_analysis(state: State<'_, Arc<Hindsight>>, paused: bool) -> CommandResult<()> {
    state.pause_analysis(paused);
    Ok(())
}

/// What an import through the dialog did (`None`: the dialog was cancelled).
#[derive(serde::Serialize, TS)]
pub struct Imported {
    pub path: String,
    pub report: crate::transfer::ImportReport,
}

/// Asks for a file with the native dialog and imports it (Hindsight JSON or a ChatGPT export).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn import_history(
    app: tauri::AppHandle,
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<Option<Imported>> {
    if state.writes_stopped() {
        return Err(crate::Error::ReadOnly.into());
    }
    let Some(path) = pick_path(&app, Pick::OpenJson).await? else {
        return Ok(None);
    };
    let report = state
        .import_file(&path, crate::transfer::ImportFormat::Auto)
        .await?;
    Ok(Some(Imported {
        path: path.display().to_string(),
        report,
    }))
}

/// How many conversations an export wrote, and where (`None`: the dialog was cancelled).
#[derive(serde::Serialize, TS)]
pub struct Exported {
    pub path: String,
    pub count: usize,
}

/// Asks where with the native dialog, then exports every conversation: `json` to one file,
/// `markdown` as one file per conversation into a folder.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_history(
    app: tauri::AppHandle,
    state: State<'_, Arc<Hindsight>>,
    format: crate::transfer::ExportFormat,
) -> CommandResult<Option<Exported>> {
    let pick = match format {
        crate::transfer::ExportFormat::Json => Pick::SaveJson,
        crate::transfer::ExportFormat::Markdown => Pick::Folder,
    };
    let Some(path) = pick_path(&app, pick).await? else {
        return Ok(None);
    };
    let out = path.clone();
    let count = blocking(&state, move |state| state.export(format, &out)).await?;
    Ok(Some(Exported {
        path: path.display().to_string(),
        count,
    }))
}

/// What a restore did.
#[derive(serde::Serialize, TS)]
pub struct Restored {
    pub restored: String,
    pub previous_saved_to: String,
}

/// Restores the newest good backup (a damaged history's way back), then starts the background
/// workers that a damaged history had stopped.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn restore_backup(
    app: tauri::AppHandle,
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<Restored> {
    let was_damaged = state.damaged().is_some();
    let (restored, previous) = blocking(&state, |state| state.restore_newest_backup()).await?;
    if was_damaged {
        super::start_workers(&app);
    }
    Ok(Restored {
        restored: restored.display().to_string(),
        previous_saved_to: previous.display().to_string(),
    })
}

/// Counts, sentiment and topics over time, for the Insights view.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_insights(
    state: State<'_, Arc<Hindsight>>,
    exclude_models: Vec<String>,
    include_doubtful: Option<bool>,
) -> CommandResult<crate::store::Insights> {
    blocking(&state, move |state| {
        state.insights(&exclude_models, include_doubtful.unwrap_or(false))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_action_items(
    state: State<'_, Arc<Hindsight>>,
    open_only: Option<bool>,
    limit: Option<usize>,
) -> CommandResult<Vec<ActionItemEntry>> {
    blocking(&state, move |state| {
        state.action_items(open_only.unwrap_or(false), limit.unwrap_or(500))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_action_item_done(
    state: State<'_, Arc<Hindsight>>,
    id: i64,
    done: bool,
) -> CommandResult<ActionItem> {
    blocking(&state, move |state| state.set_action_item_done(id, done)).await
}

/// History search (hybrid by default) on a blocking thread: embedding the query is CPU work.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_history(
    app: tauri::AppHandle,
    text: String,
    options: Option<SearchOptions>,
) -> CommandResult<SearchResults> {
    let options = options.unwrap_or_default();
    let state = tauri::Manager::state::<Arc<Hindsight>>(&app)
        .inner()
        .clone();
    blocking(&state, move |state| state.search(&text, &options)).await
}

/// "Ask your history": the answer streams over `on_token`; the result carries the cited
/// excerpts (`excerpts[n-1]` is `[n]`).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ask_history(
    app: tauri::AppHandle,
    question: String,
    previous: Option<String>,
    on_token: Channel<String>,
) -> CommandResult<AskResult> {
    let state = tauri::Manager::state::<Arc<Hindsight>>(&app)
        .inner()
        .clone();
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let forward = async {
        while let Some(piece) = rx.recv().await {
            let _ = on_token.send(piece);
        }
    };
    let (result, ()) = tokio::join!(state.ask(&question, previous.as_deref(), tx), forward);
    Ok(result?)
}

/// The questions asked before, newest first.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_asked(
    state: State<'_, Arc<Hindsight>>,
    limit: Option<usize>,
) -> CommandResult<Vec<crate::store::AskedQuestion>> {
    blocking(&state, move |state| state.asked(limit.unwrap_or(50))).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_asked(state: State<'_, Arc<Hindsight>>, id: i64) -> CommandResult<()> {
    blocking(&state, move |state| state.delete_asked(id)).await
}

/// Stops the question being answered: its result keeps the excerpts found.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn stop_ask(state: State<'_, Arc<Hindsight>>) -> CommandResult<()> {
    state.stop_ask();
    Ok(())
}

/// The models the app knows (embedding; Tiny, Small, Better), installed or not: Settings →
/// Models and the first-run offer.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn model_catalog(
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<Vec<crate::models::ModelEntry>> {
    blocking(&state, |state| state.models()).await
}

/// Downloads and installs a model, its progress on `on_progress`; a paused download continues.
/// The embedding model installed, the embedding worker starts (meaning search, then Ask).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn download_model(
    app: tauri::AppHandle,
    model: crate::models::ModelId,
    on_progress: Channel<crate::models::Progress>,
) -> CommandResult<()> {
    let state = tauri::Manager::state::<Arc<Hindsight>>(&app)
        .inner()
        .clone();
    let mut send = |p: &crate::models::Progress| {
        let _ = on_progress.send(p.clone());
    };
    state.download_model(model, &mut send).await?;
    if model == crate::models::ModelId::Embedding && state.embedder().is_err() {
        super::embedding::start(&app);
    }
    Ok(())
}

/// Asks for a GGUF with the native dialog and installs the chat model `model` from it (it
/// must be the catalog's file: size and sha256), its progress on `on_progress`. False: the
/// dialog was cancelled.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn install_model_file(
    app: tauri::AppHandle,
    model: crate::models::ModelId,
    on_progress: Channel<crate::models::Progress>,
) -> CommandResult<bool> {
    let state = tauri::Manager::state::<Arc<Hindsight>>(&app)
        .inner()
        .clone();
    let Some(path) = pick_path(&app, Pick::OpenGguf).await? else {
        return Ok(false);
    };
    let mut send = |p: &crate::models::Progress| {
        let _ = on_progress.send(p.clone());
    };
    state.install_model_file(model, &path, &mut send).await?;
    Ok(true)
}

/// Pauses a model's download (what arrived is kept); false if none was running.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pause_download(
    state: State<'_, Arc<Hindsight>>,
    model: crate::models::ModelId,
) -> CommandResult<bool> {
    Ok(state.pause_download(model))
}

/// Deletes a paused download; true if there was one.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn discard_download(
    state: State<'_, Arc<Hindsight>>,
    model: crate::models::ModelId,
) -> CommandResult<bool> {
    blocking(&state, move |state| state.discard_download(model)).await
}

/// Removes an installed model.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove_model(
    state: State<'_, Arc<Hindsight>>,
    model: crate::models::ModelId,
) -> CommandResult<()> {
    Ok(state.remove_model(model).await?)
}

/// The `hindsight://` link the window was started with, once (then `None`): the UI opens the
/// conversation at its message. Links that arrive later come as the `open-link` event.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn take_link(app: tauri::AppHandle) -> CommandResult<Option<super::link::Link>> {
    let start = tauri::Manager::state::<super::StartLink>(&app);
    let link = crate::locking::lock(&start.0).take();
    Ok(link)
}

/// The model mirrors saved in Settings → Models.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_model_mirrors(state: State<'_, Arc<Hindsight>>) -> CommandResult<Vec<String>> {
    blocking(&state, |state| state.saved_model_mirrors()).await
}

/// Saves the model mirrors (http(s) base URLs); returns them as saved.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_model_mirrors(
    state: State<'_, Arc<Hindsight>>,
    mirrors: Vec<String>,
) -> CommandResult<Vec<String>> {
    blocking(&state, move |state| state.save_model_mirrors(mirrors)).await
}

/// Sync as Settings → Sync shows it: the settings, the last round, the other devices.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_sync_status(state: State<'_, Arc<Hindsight>>) -> CommandResult<SyncStatus> {
    blocking(&state, |state| state.sync_status()).await
}

/// Saves the sync folder and device name (an empty folder turns sync off); the background
/// sync starts with the new folder at once.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_sync_settings(
    state: State<'_, Arc<Hindsight>>,
    settings: SyncSettings,
) -> CommandResult<SyncStatus> {
    blocking(&state, move |state| {
        state.save_sync_settings(settings)?;
        state.sync_status()
    })
    .await
}

/// Runs a sync round now. A round that fails is in the status (`error`), not an error here.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sync_now(
    app: tauri::AppHandle,
    state: State<'_, Arc<Hindsight>>,
) -> CommandResult<SyncStatus> {
    if state.writes_stopped() {
        return Err(crate::Error::ReadOnly.into());
    }
    let status = blocking(&state, |state| {
        let _ = state.sync_recorded();
        state.sync_status()
    })
    .await?;
    let _ = tauri::Emitter::emit(&app, super::sync::SYNC_EVENT, &status);
    Ok(status)
}

/// Asks for the sync folder with the native dialog (`None`: cancelled).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn choose_sync_folder(app: tauri::AppHandle) -> CommandResult<Option<String>> {
    Ok(pick_path(&app, Pick::SyncFolder)
        .await?
        .map(|p| p.display().to_string()))
}

/// Sets the passphrase that seals this computer's segments (`None`: plain from now on).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_sync_passphrase(
    state: State<'_, Arc<Hindsight>>,
    passphrase: Option<String>,
) -> CommandResult<SyncStatus> {
    blocking(&state, move |state| {
        state.save_sync_passphrase(passphrase)?;
        state.sync_status()
    })
    .await
}
