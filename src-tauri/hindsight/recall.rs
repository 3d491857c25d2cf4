//! Finding things in the history: search (hybrid by default) and "Ask your history".
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Hindsight;
use crate::embed::Progress;
use crate::error::{Error, Result};
use crate::llm::Llm;
use crate::locking::lock;
use crate::search::ask::{self, AskOptions, AskResult};
use crate::search::{SearchOptions, SearchResults};

impl Hindsight {
    /// History search (hybrid by default). Embedding the query is CPU work: call it from a
    /// blocking thread.
    #[tracing::instrument(skip_all, fields(mode = ?options.mode), err(level = tracing::Level::WARN))]
    pub fn search(&self, text: &str, options: &SearchOptions) -> Result<SearchResults> {
        let query = if options.mode.needs_embedder() {
            match self.embedder() {
                Ok(embedder) => Some(self.searcher.embed_query(&embedder, text)?),
                // Not installed yet (a first run before the download): words still match.
                Err(_) if crate::embed::check_installed(&self.locations.models_dir).is_err() => {
                    let words = SearchOptions {
                        mode: crate::search::SearchMode::Bm25,
                        ..options.clone()
                    };
                    let mut found =
                        self.searcher
                            .search(&self.search_store(), text, None, &words)?;
                    found.words_only = true;
                    return Ok(found);
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let store = self.search_store();
        self.searcher
            .search(&store, text, query.as_deref().map(Vec::as_slice), options)
    }

    /// "Ask your history" with the engine in force ([`ask_with`](Self::ask_with)).
    pub async fn ask(
        self: &Arc<Self>,
        question: &str,
        previous: Option<&str>,
        pieces: mpsc::Sender<String>,
    ) -> Result<AskResult> {
        let llm = self.llm().await?;
        self.ask_with(&llm, question, previous, pieces).await
    }

    /// "Ask your history": finds the excerpts for `question` (searched with `previous`, the
    /// question it follows up on, if any) on a blocking thread, then lets `llm` answer from
    /// them, streaming the answer's pieces to `pieces`. One question at a time: a new one
    /// stops the one before, as does [`Hindsight::stop_ask`]. The question and its answer are
    /// kept for the list of past questions (the answer stands even if keeping it fails).
    #[tracing::instrument(skip_all, fields(follow_up = previous.is_some()), err(level = tracing::Level::WARN))]
    pub async fn ask_with(
        self: &Arc<Self>,
        llm: &Llm,
        question: &str,
        previous: Option<&str>,
        pieces: mpsc::Sender<String>,
    ) -> Result<AskResult> {
        let asked = ask::follow_up(previous, question);
        let stop = self.start_ask();
        let opts = AskOptions::for_settings(llm.settings());
        let me = self.clone();
        let search = asked.clone();
        let retrieved = tokio::task::spawn_blocking(move || {
            let embedder = me.embedder()?;
            let store = me.search_store();
            ask::retrieve_follow_up(&store, &me.searcher, &embedder, &search, opts)
        })
        .await
        .map_err(|e| Error::Internal(format!("search failed: {e}")))??;
        let result = ask::answer_until(llm, &asked.question, retrieved, pieces, &stop).await?;
        let (me, question) = (self.clone(), question.to_owned());
        let kept = tokio::task::spawn_blocking(move || {
            if let Err(e) = ask::remember(&me.store(), &question, &result) {
                tracing::warn!("keeping the question failed: {e}");
            }
            result
        })
        .await
        .map_err(|e| Error::Internal(format!("keeping the question failed: {e}")))?;
        Ok(kept)
    }

    /// A token for a new question, stopping the one before (the window asks one at a time).
    fn start_ask(&self) -> CancellationToken {
        let token = CancellationToken::new();
        let old = std::mem::replace(&mut *lock(&self.ask_stop), token.clone());
        old.cancel();
        token
    }

    /// Stops the question being answered, if any: its result keeps the excerpts found.
    pub fn stop_ask(&self) {
        lock(&self.ask_stop).cancel();
    }

    /// How many messages have no vector for the loaded embedding model.
    pub fn count_unembedded(&self) -> Result<usize> {
        let embedder = self.load_embedder()?;
        self.reader().count_without_embedding(embedder.model_id())
    }

    /// Embeds the messages that have no vector yet, `batch` at a time, in this thread (a CLI
    /// run has no background worker to do it); `progress` hears each batch.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub fn embed_backlog(&self, batch: usize, progress: impl FnMut(Progress)) -> Result<Progress> {
        let embedder = self.load_embedder()?;
        crate::embed::embed_backlog(&self.store(), &embedder, batch, progress)
    }
}
