//! The data model: plain Rust values that the store reads and writes.
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Milliseconds since the Unix epoch, UTC. Stored as INTEGER; shown as RFC 3339.
pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    User,
    Ai,
}

/// Lifecycle of a message: `streaming` while the LLM writes it, `incomplete` when it was
/// stopped or the app died mid-stream, `error` when the LLM failed (reason in `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    Complete,
    Streaming,
    Incomplete,
    Error,
}

macro_rules! sql_text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
        impl rusqlite::types::FromSql for $ty {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                Self::parse(s).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(format!("unexpected value {s:?}").into())
                })
            }
        }
    };
}

sql_text_enum!(Status { Active => "active", Ended => "ended" });
sql_text_enum!(Sender { User => "user", Ai => "ai" });
sql_text_enum!(MessageState {
    Complete => "complete",
    Streaming => "streaming",
    Incomplete => "incomplete",
    Error => "error",
});

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Conversation {
    pub id: String,
    pub title: String,
    pub summary: Option<String>,
    pub status: Status,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub start_time: Millis,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub end_time: Option<Millis>,
    pub message_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub content: String,
    pub sender: Sender,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub timestamp: Millis,
    pub state: MessageState,
    pub error: Option<String>,
    /// Emoji set on this message, in the order they were added (a single-user app: a reaction
    /// is on or off).
    pub reactions: Vec<String>,
    pub is_bookmarked: bool,
    /// How many earlier versions a regenerated answer has ([`MessageVersion`]).
    pub earlier_versions: i64,
}

impl Message {
    /// A complete message held in memory only, never stored (the analysis's tests and
    /// evaluation sets build their transcripts with it).
    pub fn unstored(
        id: impl Into<String>,
        conversation_id: impl Into<String>,
        sender: Sender,
        content: impl Into<String>,
    ) -> Message {
        Message {
            id: id.into(),
            conversation_id: conversation_id.into(),
            content: content.into(),
            sender,
            timestamp: 0,
            state: MessageState::Complete,
            error: None,
            reactions: Vec::new(),
            is_bookmarked: false,
            earlier_versions: 0,
        }
    }
}

/// An earlier version of a regenerated answer.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct MessageVersion {
    /// 1 for the first answer.
    pub version: i64,
    pub content: String,
    pub state: MessageState,
    pub error: Option<String>,
    /// When it was replaced by a regeneration.
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub replaced_at: Millis,
}

/// What a caller gives to create a conversation.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub id: Option<String>,
    pub title: String,
    pub summary: Option<String>,
    pub status: Status,
    pub start_time: Millis,
    pub end_time: Option<Millis>,
}

/// What a caller gives to add a message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Option<String>,
    pub conversation_id: String,
    pub content: String,
    pub sender: Sender,
    pub timestamp: Millis,
    pub state: MessageState,
    pub is_bookmarked: bool,
    pub reactions: Vec<String>,
    /// Why an answer is `incomplete` or `error`.
    pub error: Option<String>,
}

impl NewMessage {
    pub fn new(conversation_id: &str, sender: Sender, content: &str, timestamp: Millis) -> Self {
        NewMessage {
            id: None,
            conversation_id: conversation_id.to_owned(),
            content: content.to_owned(),
            sender,
            timestamp,
            state: MessageState::Complete,
            is_bookmarked: false,
            reactions: Vec::new(),
            error: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

/// Who is to do an action item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    User,
    Ai,
    Unknown,
}

/// Where a conversation's analysis stands. `none`: never asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisState {
    None,
    Pending,
    Running,
    Done,
    Failed,
}

sql_text_enum!(Sentiment {
    Positive => "positive",
    Neutral => "neutral",
    Negative => "negative",
    Mixed => "mixed",
});
sql_text_enum!(Owner { User => "user", Ai => "ai", Unknown => "unknown" });
sql_text_enum!(AnalysisState {
    None => "none",
    Pending => "pending",
    Running => "running",
    Done => "done",
    Failed => "failed",
});

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ActionItem {
    pub id: i64,
    pub conversation_id: String,
    pub text: String,
    pub owner: Owner,
    pub done: bool,
}

/// An action item with the conversation it came from (the cross-conversation list).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ActionItemEntry {
    #[serde(flatten)]
    pub item: ActionItem,
    pub conversation_title: String,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub conversation_time: Millis,
}

/// The 1:1 analysis of an ended conversation. The summary is also `Conversation.summary`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConversationAnalysis {
    pub conversation_id: String,
    pub summary: Option<String>,
    pub sentiment: Option<Sentiment>,
    /// In [-1, 1].
    pub sentiment_score: Option<f64>,
    pub topics: Vec<String>,
    pub key_points: Vec<String>,
    pub action_items: Vec<ActionItem>,
    /// The LLM that wrote it.
    pub model: String,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub created_at: Millis,
    /// Why it should not be taken as fact (`analysis::doubts`; empty: nothing found, or not
    /// checked, as for imported analyses). The Insights charts leave such analyses out.
    pub doubts: Vec<String>,
}

/// An action item as the analyzer proposes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActionItem {
    pub text: String,
    pub owner: Owner,
}

/// What the analyzer writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAnalysis {
    pub summary: String,
    pub sentiment: Sentiment,
    pub sentiment_score: f64,
    pub topics: Vec<String>,
    pub key_points: Vec<String>,
    pub action_items: Vec<NewActionItem>,
}

/// The analysis job of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AnalysisStatus {
    pub conversation_id: String,
    pub state: AnalysisState,
    /// Why it failed (state `failed`).
    pub error: Option<String>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub updated_at: Option<Millis>,
}

/// Counts of the history's analyses, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
pub struct AnalysisProgress {
    /// Queued, not started.
    pub pending: i64,
    pub running: i64,
    /// Failed and not analysed since.
    pub failed: i64,
    /// Conversations with an analysis.
    pub analysed: i64,
    /// Ended conversations with messages, no analysis and no job queued or running (what
    /// "Analyse all" would queue; failed ones included).
    pub not_queued: i64,
}

/// A stored embedding vector of one message for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub message_id: String,
    pub model: String,
    pub vector: Vec<f32>,
}

/// A message waiting for its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct ToEmbed {
    pub seq: i64,
    pub id: String,
    pub content: String,
    /// The text of the turn before it in its conversation (its start only), if any.
    pub previous: Option<String>,
}

/// One page of a keyset-paginated list. Pass `next_cursor` back to get the next page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A bookmarked message with the title of its conversation (the Bookmarks view).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Bookmark {
    #[serde(flatten)]
    pub message: Message,
    pub conversation_title: String,
}

/// A full-text hit.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TextHit {
    pub message: Message,
    pub conversation_title: String,
    /// FTS5 bm25 (lower is better).
    pub rank: f64,
}

/// A conversation with all its messages and its analysis (if any).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConversationDetail {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub analysis: Option<ConversationAnalysis>,
    pub analysis_status: AnalysisStatus,
}

/// Which messages a history search may return. Empty filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SearchFilters {
    pub conversation_id: Option<String>,
    pub sender: Option<Sender>,
    /// Inclusive lower bound on the message time.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub from: Option<Millis>,
    /// Exclusive upper bound on the message time.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub to: Option<Millis>,
    pub bookmarked_only: bool,
}

impl SearchFilters {
    /// Whether a message passes these filters.
    pub fn admits(&self, m: &Message) -> bool {
        self.conversation_id.as_deref().is_none_or(|c| {
            crate::store::normalize_id("conversation", c).is_ok_and(|c| c == m.conversation_id)
        }) && self.sender.is_none_or(|s| s == m.sender)
            && self.from.is_none_or(|f| m.timestamp >= f)
            && self.to.is_none_or(|t| m.timestamp < t)
            && (!self.bookmarked_only || m.is_bookmarked)
    }
}

/// One stored vector with what the search index keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// The embedding's rowid: the index loads rows after the last one it saw.
    pub rowid: i64,
    pub seq: i64,
    pub conversation_id: String,
    pub sender: Sender,
    pub timestamp: Millis,
    pub vector: Vec<f32>,
}
