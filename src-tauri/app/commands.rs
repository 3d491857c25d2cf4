//! Tauri commands: deserialize, call the core, map the error. All are `async` so that they run
//! off the main (UI) thread.
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::mpsc;

use super::error::CommandResult;
use super::state::{lock, EmbedStatus};
use super::AppState;
use crate::analysis::AnalysisSettings;
use crate::chat::ChatEvent;
use crate::llm::{LlmClient, LlmSettings, LlmStatus};
use crate::search::ask::{self, AskOptions, AskResult};
use crate::search::{SearchOptions, SearchResults};
use crate::store::{
    ActionItem, ActionItemEntry, AnalysisStatus, Bookmark, Conversation, ConversationAnalysis,
    ConversationDetail, Message, Page, TextHit,
};
use ts_rs::TS;

const DEFAULT_PAGE: usize = 100;

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
pub async fn app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    let store = state.reader();
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        data_dir: state.locations.data_dir.display().to_string(),
        models_dir: state.locations.models_dir.display().to_string(),
        // A damaged file may fail to count: the window must still open and say so.
        conversation_count: store.count_conversations().unwrap_or(0),
        message_count: store.count_messages().unwrap_or(0),
        damaged: state.damaged(),
        read_only: store.is_read_only(),
    })
}

/// What to paste into a bug report (`diagnostics.rs`).
#[tauri::command]
pub async fn diagnostics(state: State<'_, AppState>) -> CommandResult<String> {
    let store = state.reader();
    Ok(crate::diagnostics::collect(&store, &state.locations)?.to_text())
}

#[tauri::command]
pub async fn embedding_status(state: State<'_, AppState>) -> CommandResult<EmbedStatus> {
    Ok(lock(&state.embed_status).clone())
}

#[tauri::command]
pub async fn list_conversations(
    state: State<'_, AppState>,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Conversation>> {
    Ok(state
        .reader()
        .list_conversations(cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))?)
}

#[tauri::command]
pub async fn get_conversation(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<ConversationDetail> {
    Ok(state.reader().conversation_detail(&id)?)
}

#[tauri::command]
pub async fn list_messages(
    state: State<'_, AppState>,
    conversation_id: String,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Message>> {
    Ok(state.reader().list_messages(
        &conversation_id,
        cursor.as_deref(),
        limit.unwrap_or(DEFAULT_PAGE),
    )?)
}

#[tauri::command]
pub async fn rename_conversation(
    state: State<'_, AppState>,
    id: String,
    title: String,
) -> CommandResult<Conversation> {
    Ok(state.store().rename_conversation(&id, &title)?)
}

#[tauri::command]
pub async fn end_conversation(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<Conversation> {
    let conversation = state.store().end_conversation(&id)?;
    // Analysis runs in the background; an empty conversation simply has nothing to analyse.
    if conversation.message_count > 0 {
        state.analysis.enqueue(&conversation.id)?;
    }
    Ok(conversation)
}

#[tauri::command]
pub async fn reopen_conversation(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<Conversation> {
    Ok(state.store().reopen_conversation(&id)?)
}

#[tauri::command]
pub async fn delete_conversation(state: State<'_, AppState>, id: String) -> CommandResult<()> {
    state.store().delete_conversation(&id)?;
    state.searcher.forget_conversation(&id)?;
    Ok(())
}

#[tauri::command]
pub async fn toggle_reaction(
    state: State<'_, AppState>,
    message_id: String,
    emoji: String,
) -> CommandResult<Message> {
    Ok(state.store().toggle_reaction(&message_id, &emoji)?)
}

#[tauri::command]
pub async fn set_bookmark(
    state: State<'_, AppState>,
    message_id: String,
    bookmarked: bool,
) -> CommandResult<Message> {
    Ok(state.store().set_bookmark(&message_id, bookmarked)?)
}

#[tauri::command]
pub async fn list_bookmarks(
    state: State<'_, AppState>,
    cursor: Option<String>,
    limit: Option<usize>,
) -> CommandResult<Page<Bookmark>> {
    Ok(state
        .reader()
        .list_bookmarks(cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))?)
}

#[tauri::command]
pub async fn search_text(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> CommandResult<Vec<TextHit>> {
    Ok(state.reader().search_text(&query, limit.unwrap_or(50))?)
}

#[tauri::command]
pub async fn create_conversation(
    state: State<'_, AppState>,
    first_text: Option<String>,
) -> CommandResult<Conversation> {
    Ok(state.chat.create_conversation(first_text.as_deref())?)
}

/// Stores the message and streams the answer through `on_event` (`started`, `token`…, `done`).
#[tauri::command]
pub async fn send_message(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    conversation_id: String,
    text: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    let llm = state.llm().await?;
    let answer = streamed(on_event, |tx| {
        state.chat.send(&llm, &conversation_id, &text, tx)
    })
    .await?;
    // After the first answer, the model names the conversation (in the background; the
    // window hears `conversation-renamed`).
    let id = answer.conversation_id.clone();
    tauri::async_runtime::spawn(async move {
        let state = tauri::Manager::state::<AppState>(&app);
        match state.chat.retitle(&llm, &id).await {
            Ok(Some(conversation)) => {
                let _ = tauri::Emitter::emit(&app, RENAMED_EVENT, conversation);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("naming the conversation failed: {e}"),
        }
    });
    Ok(answer)
}

/// Emitted with the conversation when the model has given it a title.
pub const RENAMED_EVENT: &str = "conversation-renamed";

#[tauri::command]
pub async fn regenerate(
    state: State<'_, AppState>,
    conversation_id: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    let llm = state.llm().await?;
    streamed(on_event, |tx| {
        state.chat.regenerate(&llm, &conversation_id, tx)
    })
    .await
}

/// Goes on with the last answer where it stopped (Continue), streaming like a new answer.
#[tauri::command]
pub async fn continue_answer(
    state: State<'_, AppState>,
    conversation_id: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<Message> {
    let llm = state.llm().await?;
    streamed(on_event, |tx| {
        state.chat.continue_answer(&llm, &conversation_id, tx)
    })
    .await
}

/// A regenerated answer's earlier versions, oldest first.
#[tauri::command]
pub async fn message_versions(
    state: State<'_, AppState>,
    message_id: String,
) -> CommandResult<Vec<crate::store::MessageVersion>> {
    Ok(state.reader().message_versions(&message_id)?)
}

#[tauri::command]
pub async fn stop_generation(
    state: State<'_, AppState>,
    conversation_id: String,
) -> CommandResult<bool> {
    Ok(state.chat.stop(&conversation_id))
}

#[tauri::command]
pub async fn get_llm_settings(state: State<'_, AppState>) -> CommandResult<LlmSettings> {
    Ok(LlmSettings::load(&state.reader())?)
}

#[tauri::command]
pub async fn save_llm_settings(
    state: State<'_, AppState>,
    settings: LlmSettings,
) -> CommandResult<LlmSettings> {
    settings.save(&state.store())?;
    // The next answer uses the new choice; an unreachable server is reported by the status.
    if let Err(e) = state.refresh_llm().await {
        tracing::warn!(code = e.code(), "no LLM after the settings changed: {e}");
    }
    Ok(settings)
}

/// The built-in models the app knows, and which are installed (Settings' model choice).
#[tauri::command]
pub async fn builtin_models(
    state: State<'_, AppState>,
) -> CommandResult<Vec<crate::llm::catalog::BuiltinModelInfo>> {
    Ok(crate::llm::catalog::list(&state.locations.models_dir))
}

/// The engine in use (server or built-in model, and why). `refresh` probes the server again.
#[tauri::command]
pub async fn llm_status(state: State<'_, AppState>, refresh: bool) -> CommandResult<LlmStatus> {
    Ok(state.llm_status(refresh).await?)
}

/// The server's models, with the given (unsaved) settings: the "test connection" button.
#[tauri::command]
pub async fn list_models(settings: LlmSettings) -> CommandResult<Vec<String>> {
    Ok(LlmClient::new(settings)?.models().await?)
}

/// The local LLM servers that answer on their default ports (the first-run welcome).
#[tauri::command]
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
pub async fn get_analysis(
    state: State<'_, AppState>,
    conversation_id: String,
) -> CommandResult<AnalysisView> {
    let store = state.reader();
    Ok(AnalysisView {
        status: store.analysis_status(&conversation_id)?,
        analysis: store.get_analysis(&conversation_id)?,
    })
}

/// Queues the analysis again (after a failure, or to refresh it).
#[tauri::command]
pub async fn reanalyze(
    state: State<'_, AppState>,
    conversation_id: String,
) -> CommandResult<AnalysisStatus> {
    Ok(state.analysis.enqueue(&conversation_id)?)
}

/// The history's analyses by state, and whether the queue is paused.
#[derive(Serialize, TS)]
pub struct AnalysisProgressView {
    #[serde(flatten)]
    progress: crate::store::AnalysisProgress,
    paused: bool,
}

#[tauri::command]
pub async fn analysis_progress(state: State<'_, AppState>) -> CommandResult<AnalysisProgressView> {
    Ok(AnalysisProgressView {
        progress: state.reader().analysis_progress()?,
        paused: state.analysis.is_paused(),
    })
}

/// "Analyse all": queues every ended conversation without an analysis (newest first) and
/// resumes the queue; returns how many were queued.
#[tauri::command]
pub async fn analyse_all(state: State<'_, AppState>) -> CommandResult<usize> {
    let queued = state.analysis.enqueue_all()?;
    state.analysis.set_paused(false);
    Ok(queued)
}

#[tauri::command]
pub async fn get_analysis_settings(state: State<'_, AppState>) -> CommandResult<AnalysisSettings> {
    Ok(AnalysisSettings::load(&state.reader())?)
}

#[tauri::command]
pub async fn save_analysis_settings(
    state: State<'_, AppState>,
    settings: AnalysisSettings,
) -> CommandResult<AnalysisSettings> {
    settings.save(&state.store())?;
    Ok(settings)
}

#[tauri::command]
pub async fn pause_analysis(state: State<'_, AppState>, paused: bool) -> CommandResult<()> {
    state.analysis.set_paused(paused);
    Ok(())
}

/// Which native file dialog to show.
enum Pick {
    OpenJson,
    SaveJson,
    Folder,
}

/// Shows a native file dialog and returns the chosen path (`None`: cancelled). Paths come only
/// from here: the webview can ask for an import or export, never name a file itself.
async fn pick_path(
    app: &tauri::AppHandle,
    pick: Pick,
) -> CommandResult<Option<std::path::PathBuf>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = app.dialog().file();
    let done = move |p: Option<tauri_plugin_dialog::FilePath>| {
        let _ = tx.send(p.and_then(|p| p.into_path().ok()));
    };
    match pick {
        Pick::OpenJson => dialog
            .set_title("Import conversations")
            .add_filter("Hindsight JSON or ChatGPT conversations.json", &["json"])
            .pick_file(done),
        Pick::SaveJson => dialog
            .set_title("Export all conversations")
            .set_file_name("hindsight-export.json")
            .add_filter("Hindsight JSON", &["json"])
            .save_file(done),
        Pick::Folder => dialog
            .set_title("Export as Markdown into a folder")
            .pick_folder(done),
    }
    Ok(rx.await.unwrap_or(None))
}

/// What an import through the dialog did (`None`: the dialog was cancelled).
#[derive(serde::Serialize, TS)]
pub struct Imported {
    pub path: String,
    pub report: crate::transfer::ImportReport,
}

/// Asks for a file with the native dialog and imports it (Hindsight JSON or a ChatGPT export).
#[tauri::command]
pub async fn import_history(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Option<Imported>> {
    if state.damaged().is_some() || state.read_only() {
        return Err(crate::Error::ReadOnly.into());
    }
    let Some(path) = pick_path(&app, Pick::OpenJson).await? else {
        return Ok(None);
    };
    // Its own connection on a blocking thread: reads (the sidebar, search) go on under WAL and
    // the chat's saves are not queued behind the import on the shared connection's mutex.
    let db = state.locations.db_path();
    let file = path.clone();
    let report = tokio::task::spawn_blocking(move || {
        let store = crate::store::Store::open(&db)?;
        store.wait_for_writers(std::time::Duration::from_secs(60))?;
        crate::transfer::import_file(&store, &file, crate::transfer::ImportFormat::Auto)
    })
    .await
    .map_err(|e| crate::Error::Internal(format!("the import stopped: {e}")))??;
    state.wake_embedder();
    // With automatic analysis, what the import brought is queued (newest first); an import is
    // done once stored, whether or not this succeeds.
    if AnalysisSettings::load(&state.reader()).is_ok_and(|s| s.automatic) {
        if let Err(e) = state.analysis.enqueue_all() {
            tracing::warn!("queueing the imported conversations' analysis failed: {e}");
        }
    }
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
pub async fn export_history(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    format: crate::transfer::ExportFormat,
) -> CommandResult<Option<Exported>> {
    let pick = match format {
        crate::transfer::ExportFormat::Json => Pick::SaveJson,
        crate::transfer::ExportFormat::Markdown => Pick::Folder,
    };
    let Some(path) = pick_path(&app, pick).await? else {
        return Ok(None);
    };
    let store = state.reader();
    let count = match format {
        crate::transfer::ExportFormat::Json => crate::transfer::export_json(&store, &path)?,
        crate::transfer::ExportFormat::Markdown => {
            crate::transfer::export_markdown(&store, &path)?.len()
        }
    };
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
pub async fn restore_backup(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Restored> {
    let was_damaged = state.damaged().is_some();
    let (restored, previous) = state.restore_newest_backup()?;
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
pub async fn get_insights(
    state: State<'_, AppState>,
    exclude_models: Vec<String>,
    include_doubtful: Option<bool>,
) -> CommandResult<crate::store::Insights> {
    Ok(state
        .reader()
        .insights(&exclude_models, include_doubtful.unwrap_or(false))?)
}

#[tauri::command]
pub async fn list_action_items(
    state: State<'_, AppState>,
    open_only: Option<bool>,
    limit: Option<usize>,
) -> CommandResult<Vec<ActionItemEntry>> {
    Ok(state
        .reader()
        .list_action_items(open_only.unwrap_or(false), limit.unwrap_or(500))?)
}

#[tauri::command]
pub async fn set_action_item_done(
    state: State<'_, AppState>,
    id: i64,
    done: bool,
) -> CommandResult<ActionItem> {
    Ok(state.store().set_action_item_done(id, done)?)
}

/// History search (hybrid by default) on a blocking thread: embedding the query is CPU work.
#[tauri::command]
pub async fn search_history(
    app: tauri::AppHandle,
    text: String,
    options: Option<SearchOptions>,
) -> CommandResult<SearchResults> {
    let options = options.unwrap_or_default();
    let hits = tauri::async_runtime::spawn_blocking(move || {
        let state = tauri::Manager::state::<AppState>(&app);
        let query = if options.mode.needs_embedder() {
            Some(state.searcher.embed_query(&*state.embedder()?, &text)?)
        } else {
            None
        };
        let store = state.search_store();
        let hits =
            state
                .searcher
                .search(&store, &text, query.as_deref().map(Vec::as_slice), &options);
        hits
    })
    .await
    .map_err(|e| crate::Error::Internal(format!("search failed: {e}")))??;
    Ok(hits)
}

/// "Ask your history": the answer streams over `on_token`; the result carries the cited
/// excerpts (`excerpts[n-1]` is `[n]`).
#[tauri::command]
pub async fn ask_history(
    app: tauri::AppHandle,
    question: String,
    previous: Option<String>,
    on_token: Channel<String>,
) -> CommandResult<AskResult> {
    // A follow-up in a thread is searched for with the question before it.
    let asked = ask::follow_up(previous.as_deref(), &question);
    let state = tauri::Manager::state::<AppState>(&app);
    let stop = state.start_ask();
    let llm = state.llm().await?;
    let opts = AskOptions::for_settings(llm.settings());
    let q = asked.search.clone();
    let handle = app.clone();
    let retrieved = tauri::async_runtime::spawn_blocking(move || {
        let state = tauri::Manager::state::<AppState>(&handle);
        let embedder = state.embedder()?;
        let store = state.search_store();
        ask::retrieve(&store, &state.searcher, &embedder, &q, opts)
    })
    .await
    .map_err(|e| crate::Error::Internal(format!("search failed: {e}")))??;
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let forward = async {
        while let Some(piece) = rx.recv().await {
            let _ = on_token.send(piece);
        }
    };
    let (result, ()) = tokio::join!(
        ask::answer_until(&llm, &asked.question, retrieved, tx, &stop),
        forward
    );
    let result = result?;
    // Kept for the list of past questions; the answer stands even if keeping it fails.
    if let Err(e) = ask::remember(&state.store(), &question, &result) {
        tracing::warn!("keeping the question failed: {e}");
    }
    Ok(result)
}

/// The questions asked before, newest first.
#[tauri::command]
pub async fn list_asked(
    state: State<'_, AppState>,
    limit: Option<usize>,
) -> CommandResult<Vec<crate::store::AskedQuestion>> {
    Ok(state.reader().list_asked(limit.unwrap_or(50))?)
}

#[tauri::command]
pub async fn delete_asked(state: State<'_, AppState>, id: i64) -> CommandResult<()> {
    Ok(state.store().delete_asked(id)?)
}

/// Stops the question being answered: its result keeps the excerpts found.
#[tauri::command]
pub async fn stop_ask(state: State<'_, AppState>) -> CommandResult<()> {
    state.stop_ask();
    Ok(())
}
