//! The background analysis queue. The database is the queue (`analysis_jobs` rows in state
//! `pending`), so queued work survives restarts; one task works through it, oldest first, and
//! sleeps until woken. Ending a conversation never waits for it.
use std::sync::Arc;

use tokio::sync::Notify;

use super::analyze_conversation;
use crate::chat::SharedStore;
use crate::error::Result;
use crate::llm::Llm;
use crate::store::{AnalysisState, AnalysisStatus};
use crate::sync::lock;

#[derive(Clone)]
pub struct AnalysisQueue {
    store: SharedStore,
    wake: Arc<Notify>,
}

impl AnalysisQueue {
    /// (Analyses that were running when a process died were queued again when the store was
    /// opened: see `Store::repair_abandoned`.)
    pub fn new(store: SharedStore) -> Result<Self> {
        Ok(AnalysisQueue {
            store,
            wake: Arc::new(Notify::new()),
        })
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
        loop {
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
