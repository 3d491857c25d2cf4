//! The history as the views show it, and the small edits people make to it: rename, reopen,
//! react, bookmark, tick an action item, forget a past question. Views read through the
//! read-only connection; edits go through the write connection. All of these are SQLite calls:
//! async callers run them on a blocking thread.
use super::Hindsight;
use crate::error::Result;
use crate::store::{
    ActionItem, ActionItemEntry, AnalysisStatus, AskedQuestion, Bookmark, Conversation,
    ConversationAnalysis, ConversationDetail, Insights, Message, MessageVersion, Page, TextHit,
};

/// How many rows a page holds when the caller does not say.
pub const DEFAULT_PAGE: usize = 100;

impl Hindsight {
    /// Conversations, newest first, a page at a time (`cursor` from the page before).
    pub fn conversations(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Conversation>> {
        self.reader().list_conversations(cursor, limit)
    }

    /// A conversation with its analysis and where that stands.
    pub fn conversation(&self, id: &str) -> Result<ConversationDetail> {
        self.reader().conversation_detail(id)
    }

    /// A conversation's messages, oldest first, a page at a time.
    pub fn messages(
        &self,
        conversation_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Message>> {
        self.reader().list_messages(conversation_id, cursor, limit)
    }

    /// A regenerated answer's earlier versions, oldest first.
    pub fn message_versions(&self, message_id: &str) -> Result<Vec<MessageVersion>> {
        self.reader().message_versions(message_id)
    }

    #[tracing::instrument(skip(self, title), err(level = tracing::Level::WARN))]
    pub fn rename_conversation(&self, id: &str, title: &str) -> Result<Conversation> {
        self.store().rename_conversation(id, title)
    }

    /// Makes an ended conversation active again, to go on with it.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn reopen_conversation(&self, id: &str) -> Result<Conversation> {
        self.store().reopen_conversation(id)
    }

    /// Adds the reaction, or takes it away if the message has it.
    pub fn toggle_reaction(&self, message_id: &str, emoji: &str) -> Result<Message> {
        self.store().toggle_reaction(message_id, emoji)
    }

    pub fn set_bookmark(&self, message_id: &str, bookmarked: bool) -> Result<Message> {
        self.store().set_bookmark(message_id, bookmarked)
    }

    /// Bookmarked messages with their conversation's title, newest first.
    pub fn bookmarks(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Bookmark>> {
        self.reader().list_bookmarks(cursor, limit)
    }

    /// Full-text search over message text (the quick sidebar filter).
    pub fn search_text(&self, query: &str, limit: usize) -> Result<Vec<TextHit>> {
        self.reader().search_text(query, limit)
    }

    /// A conversation's analysis (if any) and where its job stands.
    pub fn analysis(
        &self,
        conversation_id: &str,
    ) -> Result<(AnalysisStatus, Option<ConversationAnalysis>)> {
        let store = self.reader();
        Ok((
            store.analysis_status(conversation_id)?,
            store.get_analysis(conversation_id)?,
        ))
    }

    /// Counts, sentiment and topics over time (the Insights view), without the analyses of
    /// `exclude_models` and, unless `include_doubtful`, without doubtful ones.
    pub fn insights(&self, exclude_models: &[String], include_doubtful: bool) -> Result<Insights> {
        let mut insights = self.reader().insights(exclude_models, include_doubtful)?;
        for m in &mut insights.models {
            m.builtin = crate::llm::catalog::is_builtin(&m.model);
        }
        Ok(insights)
    }

    pub fn action_items(&self, open_only: bool, limit: usize) -> Result<Vec<ActionItemEntry>> {
        self.reader().list_action_items(open_only, limit)
    }

    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn set_action_item_done(&self, id: i64, done: bool) -> Result<ActionItem> {
        self.store().set_action_item_done(id, done)
    }

    /// The questions asked before, newest first.
    pub fn asked(&self, limit: usize) -> Result<Vec<AskedQuestion>> {
        self.reader().list_asked(limit)
    }

    pub fn delete_asked(&self, id: i64) -> Result<()> {
        self.store().delete_asked(id)
    }
}
