//! Analyses: the queue the window's worker works through, "Analyse all", pause, the automatic
//! ending of idle conversations, and analysing one conversation now (the CLI).
use super::Hindsight;
use crate::analysis::{analyze_conversation, AnalysisSettings};
use crate::error::Result;
use crate::store::{AnalysisProgress, AnalysisStatus, ConversationAnalysis};

impl Hindsight {
    /// Queues a conversation's analysis again (after a failure, or to refresh it).
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn reanalyse(&self, conversation_id: &str) -> Result<AnalysisStatus> {
        self.analysis.enqueue(conversation_id)
    }

    /// "Analyse all": queues every ended conversation without an analysis (newest first) and
    /// resumes the queue; returns how many were queued.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn analyse_all(&self) -> Result<usize> {
        let queued = self.analysis.enqueue_all()?;
        self.analysis.set_paused(false);
        Ok(queued)
    }

    /// The history's analyses by state.
    pub fn analysis_progress(&self) -> Result<AnalysisProgress> {
        self.reader().analysis_progress()
    }

    /// Pauses the queue (the job running finishes; no next one starts) or resumes it.
    pub fn pause_analysis(&self, paused: bool) {
        self.analysis.set_paused(paused);
    }

    pub fn analysis_paused(&self) -> bool {
        self.analysis.is_paused()
    }

    pub fn analysis_settings(&self) -> Result<AnalysisSettings> {
        AnalysisSettings::load(&self.reader())
    }

    pub fn save_analysis_settings(&self, settings: &AnalysisSettings) -> Result<()> {
        settings.save(&self.store())
    }

    /// Works through the queue until the process ends, with the engine in force; no job starts
    /// while a chat answer is written (the person waits for that one). `on_change` hears every
    /// status change.
    pub async fn run_analysis(&self, on_change: impl Fn(&AnalysisStatus)) {
        self.analysis
            .run_yielding(|| self.llm(), on_change, || self.chat.is_answering())
            .await;
    }

    /// Automatic analysis: ends every conversation idle for the chosen time (none being
    /// answered) and queues it; returns their statuses. Nothing happens when analysis is not
    /// automatic or nothing may be written.
    pub fn end_idle_conversations(&self) -> Result<Vec<AnalysisStatus>> {
        if self.writes_stopped() {
            return Ok(Vec::new());
        }
        let settings = self.analysis_settings().unwrap_or_default();
        if !settings.automatic {
            return Ok(Vec::new());
        }
        let ended = self
            .analysis
            .end_idle(settings.idle(), |id| self.chat.is_streaming(id))?;
        let reader = self.reader();
        Ok(ended
            .iter()
            .filter_map(|id| reader.analysis_status(id).ok())
            .collect())
    }

    /// The conversations `hindsight analyze` works on: `id`, or (`None`) every ended one
    /// without an analysis.
    pub fn to_analyse(&self, id: Option<&str>) -> Result<Vec<String>> {
        let store = self.reader();
        match id {
            Some(id) => Ok(vec![store.get_conversation(id)?.id]),
            None => store.conversations_without_analysis(),
        }
    }

    /// Analyses a conversation now, in the foreground, with the engine in force (the CLI;
    /// the window queues instead). The job's status is recorded either way.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub async fn analyse_now(&self, conversation_id: &str) -> Result<ConversationAnalysis> {
        let llm = self.llm().await?;
        analyze_conversation(&self.shared_store(), &llm, conversation_id).await
    }
}
