//! The background analysis queue. The database is the queue (`analysis_jobs` rows in state
//! `pending`), so queued work survives restarts; one task works through it, oldest first, and
//! sleeps until woken. Ending a conversation never waits for it.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use super::analyze_conversation;
use crate::chat::SharedStore;
use crate::error::Result;
use crate::llm::Llm;
use crate::locking::lock;
use crate::store::{AnalysisState, AnalysisStatus};

#[derive(Clone)]
pub struct AnalysisQueue {
    store: SharedStore,
    wake: Arc<Notify>,
    /// Set by the person ("Pause" in the window): the job running finishes, no next one
    /// starts. Not kept across restarts.
    paused: Arc<AtomicBool>,
}

impl AnalysisQueue {
    /// (Analyses that were running when a process died were queued again when the store was
    /// opened: see `Store::repair_abandoned`.)
    pub fn new(store: SharedStore) -> Result<Self> {
        Ok(AnalysisQueue {
            store,
            wake: Arc::new(Notify::new()),
            paused: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Queues every ended conversation that has no analysis yet (see
    /// [`Store::queue_unanalysed`](crate::store::Store::queue_unanalysed)) and wakes the worker.
    pub fn enqueue_all(&self) -> Result<usize> {
        let queued = lock(&self.store).queue_unanalysed()?;
        self.wake.notify_one();
        Ok(queued)
    }

    /// Ends every conversation idle for `idle` (no message since), except those `answering`
    /// says are being answered, and queues their analysis; returns them.
    pub fn end_idle(
        &self,
        idle: std::time::Duration,
        answering: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>> {
        let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        let before = crate::time::now_ms().saturating_sub(idle_ms);
        let ended = {
            let store = lock(&self.store);
            let mut ended = Vec::new();
            for id in store.idle_conversations(before)? {
                if answering(&id) {
                    continue;
                }
                store.end_idle_conversation(&id)?;
                store.queue_analysis(&id)?;
                ended.push(id);
            }
            ended
        };
        if !ended.is_empty() {
            self.wake.notify_one();
        }
        Ok(ended)
    }

    /// Pauses or resumes the queue.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Queues (or re-queues) the analysis of an ended conversation and wakes the worker.
    pub fn enqueue(&self, conversation_id: &str) -> Result<AnalysisStatus> {
        let status = lock(&self.store).queue_analysis(conversation_id)?;
        self.wake.notify_one();
        Ok(status)
    }

    /// Works through the queue forever. `llm` gives a client for the current settings (they
    /// may change between jobs); `on_change` hears every status change.
    pub async fn run<F: std::future::Future<Output = Result<Llm>>>(
        &self,
        llm: impl Fn() -> F,
        on_change: impl Fn(&AnalysisStatus),
    ) {
        self.run_yielding(llm, on_change, || false).await
    }

    /// [`run`](Self::run), starting no job while `busy` says the model is wanted for
    /// something the person waits for (a chat answer): background work yields to it.
    pub async fn run_yielding<F: std::future::Future<Output = Result<Llm>>>(
        &self,
        llm: impl Fn() -> F,
        on_change: impl Fn(&AnalysisStatus),
        busy: impl Fn() -> bool,
    ) {
        loop {
            if self.is_paused() {
                self.wake.notified().await;
                continue;
            }
            if busy() {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            let next = lock(&self.store).next_pending_analysis();
            let id = match next {
                Ok(Some(id)) => id,
                Ok(None) => {
                    self.wake.notified().await;
                    continue;
                }
                Err(_) => {
                    // A busy database: try again shortly.
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    continue;
                }
            };
            on_change(&AnalysisStatus {
                conversation_id: id.clone(),
                state: AnalysisState::Running,
                error: None,
                updated_at: None,
            });
            let outcome = match llm().await {
                Ok(client) => analyze_conversation(&self.store, &client, &id)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            let status = {
                let store = lock(&self.store);
                if let Err(e) = &outcome {
                    // Never leave a job pending after a failure (it would spin): mark it failed.
                    if store
                        .analysis_status(&id)
                        .is_ok_and(|s| s.state != AnalysisState::Failed)
                    {
                        let _ = store.set_analysis_state(
                            &id,
                            AnalysisState::Failed,
                            Some(&e.to_string()),
                        );
                    }
                }
                store.analysis_status(&id)
            };
            match status {
                Ok(status) => on_change(&status),
                // Deleted while it was analysed: nothing left to report.
                Err(_) => continue,
            }
        }
    }
}
