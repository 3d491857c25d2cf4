//! What the window's commands share: the store (one connection behind a mutex; SQLite calls
//! are short and never held across an `.await`), where the data lives, and the embedding
//! worker with its status, the chat service and the analysis queue.
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::analysis::AnalysisQueue;
use crate::chat::{ChatService, SharedStore};
use crate::embed::{EmbedWorker, Embedder, Progress};
use crate::llm::builtin::BuiltinModel;
use crate::llm::{load_builtin, resolve, BuiltinChoice, Llm, LlmSettings, LlmStatus};
use crate::paths::Locations;
use crate::search::Searcher;
use crate::store::Store;
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

pub struct AppState {
    store: SharedStore,
    pub locations: Locations,
    pub embed_status: Arc<Mutex<EmbedStatus>>,
    pub worker: Arc<Mutex<Option<EmbedWorker>>>,
    pub chat: ChatService,
    pub analysis: AnalysisQueue,
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
    /// The built-in model last used, loaded when first needed and again when the choice
    /// changes (one in memory at a time).
    builtin: tokio::sync::Mutex<Option<Arc<BuiltinModel>>>,
    /// What the start-up check found wrong with the database (`None`: healthy). While set,
    /// nothing is written and the background workers do not run.
    damaged: Mutex<Option<Vec<String>>>,
    /// Stops the question being answered ("Ask your history": one at a time; a new question
    /// gets a fresh token).
    ask_stop: Mutex<CancellationToken>,
}

pub use crate::sync::lock;

/// How long a window write waits for another process's write lock.
const WINDOW_BUSY_WAIT_SECS: u64 = 30;

impl AppState {
    /// `damaged`: the problems the start-up check found; writing is then stopped at once.
    pub fn new(
        store: Store,
        locations: Locations,
        damaged: Option<Vec<String>>,
    ) -> crate::Result<Self> {
        let search_store = Store::open(&locations.db_path())?;
        let reader = Store::open(&locations.db_path())?;
        reader.stop_writing()?;
        if damaged.is_some() {
            store.stop_writing()?;
            search_store.stop_writing()?;
        }
        // The window's writes (one connection, one at a time) wait for another process's
        // write lock instead of failing "busy" after the store's default 5 s.
        store.wait_for_writers(std::time::Duration::from_secs(WINDOW_BUSY_WAIT_SECS))?;
        let search_store = Mutex::new(search_store);
        let reader = Mutex::new(reader);
        let store: SharedStore = Arc::new(Mutex::new(store));
        let analysis = AnalysisQueue::new(store.clone())?;
        let worker: Arc<Mutex<Option<EmbedWorker>>> = Arc::new(Mutex::new(None));
        let wake = worker.clone();
        Ok(AppState {
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
            builtin: tokio::sync::Mutex::new(None),
            damaged: Mutex::new(damaged),
            ask_stop: Mutex::new(CancellationToken::new()),
        })
    }

    /// A token for a new question, stopping the one before (the window asks one at a time).
    pub fn start_ask(&self) -> CancellationToken {
        let token = CancellationToken::new();
        let old = std::mem::replace(&mut *lock(&self.ask_stop), token.clone());
        old.cancel();
        token
    }

    /// Stops the question being answered, if any.
    pub fn stop_ask(&self) {
        lock(&self.ask_stop).cancel();
    }

    /// Whether the history is open read-only (its folder cannot be written).
    pub fn read_only(&self) -> bool {
        self.store().is_read_only()
    }

    /// The problems of a damaged database (`None`: healthy).
    pub fn damaged(&self) -> Option<Vec<String>> {
        lock(&self.damaged).clone()
    }

    /// Restores the newest good backup over a damaged (or any) history and writes again.
    /// Returns the backup restored and where the replaced history was kept.
    pub fn restore_newest_backup(&self) -> crate::Result<(std::path::PathBuf, std::path::PathBuf)> {
        let restored = self.store().restore_newest()?;
        self.search_store().resume_writing()?;
        *lock(&self.damaged) = None;
        Ok(restored)
    }

    /// New messages are stored: the embedding worker (once it has started) embeds them.
    pub fn wake_embedder(&self) {
        wake_worker(&self.worker);
    }

    pub fn search_store(&self) -> MutexGuard<'_, Store> {
        lock(&self.search_store)
    }

    /// The loaded embedding model, or why it is not there.
    pub fn embedder(&self) -> crate::Result<Arc<Embedder>> {
        if let Some(e) = lock(&self.embedder).as_ref() {
            return Ok(e.clone());
        }
        let status = lock(&self.embed_status).clone();
        Err(crate::Error::Embed(status.message.unwrap_or_else(|| {
            "the embedding model is still loading; try again in a moment".into()
        })))
    }

    /// The read-only connection for views.
    pub fn reader(&self) -> MutexGuard<'_, Store> {
        lock(&self.reader)
    }

    /// The write connection (also reads what a write needs).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// The engine for the saved settings: the server, or the built-in model when the settings
    /// say so or (`auto`) the server did not answer when it was resolved.
    pub async fn llm(&self) -> crate::Result<Llm> {
        Ok(self.resolved_llm().await?.0)
    }

    async fn resolved_llm(&self) -> crate::Result<(Llm, Option<String>)> {
        let mut slot = self.llm.lock().await;
        if let Some(resolved) = slot.as_ref() {
            return Ok(resolved.clone());
        }
        let settings = LlmSettings::load(&self.store())?;
        let choice = settings.builtin_model;
        let resolved = resolve(settings, || self.builtin(choice)).await?;
        tracing::info!(
            builtin = resolved.0.is_builtin(),
            why = resolved.1.as_deref().unwrap_or(""),
            "LLM chosen"
        );
        *slot = Some(resolved.clone());
        Ok(resolved)
    }

    pub async fn builtin(&self, choice: BuiltinChoice) -> crate::Result<Arc<BuiltinModel>> {
        let mut slot = self.builtin.lock().await;
        if let Some(model) = slot.as_ref().filter(|m| m.spec().choice == choice) {
            return Ok(model.clone());
        }
        // Free the other model's memory before loading this one.
        *slot = None;
        let model = load_builtin(&self.locations.models_dir, choice).await?;
        *slot = Some(model.clone());
        Ok(model)
    }

    /// Resolves the engine again (the settings were saved).
    pub async fn refresh_llm(&self) -> crate::Result<Llm> {
        *self.llm.lock().await = None;
        self.llm().await
    }

    /// What the badge and the message box show; re-resolves first if `refresh`. A server is
    /// probed, so a dead one is reported before the user types.
    pub async fn llm_status(&self, refresh: bool) -> crate::Result<LlmStatus> {
        if refresh {
            self.refresh_llm().await?;
        }
        let (llm, reason) = self.resolved_llm().await?;
        let mut status = llm.status(reason);
        if let crate::llm::Llm::Server(client) = &llm {
            let probed = crate::llm::probe(client.settings()).await;
            status.available = Some(probed.is_ok());
            status.problem = probed.err();
        }
        Ok(status)
    }
}

fn wake_worker(worker: &Mutex<Option<EmbedWorker>>) {
    if let Some(w) = lock(worker).as_ref() {
        w.wake();
    }
}
