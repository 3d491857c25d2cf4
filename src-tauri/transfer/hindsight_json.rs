//! The Hindsight JSON interchange format (import and export).
//!
//! ```json
//! {"conversations": [{"id": "uuid (optional)", "title": "…", "status": "ended",
//!   "start_time": "RFC 3339", "end_time": "RFC 3339 or null",
//!   "messages": [{"id": "uuid (optional)", "sender": "user|ai", "content": "…",
//!                 "timestamp": "RFC 3339"}]}]}
//! ```
//! Optional extras that export writes and import reads back: `summary`, message `state` and
//! `error` (why an answer is incomplete), `is_bookmarked`, `reactions`, an answer's earlier
//! `versions` (what regenerations replaced, oldest first), and the conversation's `analysis`
//! (summary, sentiment, topics, key points, action items with their done flags, the model, time
//! and `doubts`). A backup restores all of it; an analysis already present is kept.
use serde::{Deserialize, Serialize};

use super::{derived_id, ImportReport, Rejection, Seen};
use crate::error::Result;
use crate::store::{
    Conversation, ConversationAnalysis, Message, MessageState, MessageVersion, Millis,
    NewActionItem, NewAnalysis, NewConversation, NewMessage, Owner, Sender, Sentiment, Status,
    Store,
};

#[derive(Debug, Serialize, Deserialize)]
pub struct HindsightFile {
    pub conversations: Vec<ConversationJson>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default = "default_status")]
    pub status: Status,
    #[serde(with = "crate::time::rfc3339")]
    pub start_time: Millis,
    #[serde(default, with = "crate::time::rfc3339_opt")]
    pub end_time: Option<Millis>,
    pub messages: Vec<MessageJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisJson>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AnalysisJson {
    pub summary: String,
    pub sentiment: Sentiment,
    pub sentiment_score: f64,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub key_points: Vec<String>,
    #[serde(default)]
    pub action_items: Vec<ActionItemJson>,
    pub model: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: Millis,
    /// Why the app doubts it (`analysis::doubts`): restored with it, so a doubted analysis
    /// stays out of the charts after a restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doubts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ActionItemJson {
    pub text: String,
    #[serde(default = "default_owner")]
    pub owner: Owner,
    #[serde(default)]
    pub done: bool,
}

fn default_owner() -> Owner {
    Owner::User
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MessageJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub sender: Sender,
    pub content: String,
    #[serde(with = "crate::time::rfc3339")]
    pub timestamp: Millis,
    #[serde(default = "default_state", skip_serializing_if = "is_complete")]
    pub state: MessageState,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_bookmarked: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer's earlier versions, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionJson>,
}

/// An answer as it was before a regeneration replaced it.
#[derive(Debug, Serialize, Deserialize)]
pub struct VersionJson {
    pub content: String,
    #[serde(default = "default_state", skip_serializing_if = "is_complete")]
    pub state: MessageState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub replaced_at: Millis,
}

/// Imported history is history: a conversation without a status is taken as ended.
fn default_status() -> Status {
    Status::Ended
}
fn default_state() -> MessageState {
    MessageState::Complete
}
fn is_complete(s: &MessageState) -> bool {
    *s == MessageState::Complete
}

impl AnalysisJson {
    fn from_store(a: ConversationAnalysis) -> Option<Self> {
        Some(AnalysisJson {
            summary: a.summary.unwrap_or_default(),
            sentiment: a.sentiment?,
            sentiment_score: a.sentiment_score.unwrap_or(0.0),
            topics: a.topics,
            key_points: a.key_points,
            action_items: a
                .action_items
                .into_iter()
                .map(|i| ActionItemJson {
                    text: i.text,
                    owner: i.owner,
                    done: i.done,
                })
                .collect(),
            model: a.model,
            created_at: a.created_at,
            doubts: a.doubts,
        })
    }

    /// Writes it back (unless the conversation already has an analysis).
    fn restore(self, store: &Store, conversation_id: &str) -> crate::Result<bool> {
        let done: Vec<bool> = self.action_items.iter().map(|i| i.done).collect();
        let analysis = NewAnalysis {
            summary: self.summary,
            sentiment: self.sentiment,
            sentiment_score: self.sentiment_score,
            topics: self.topics,
            key_points: self.key_points,
            action_items: self
                .action_items
                .into_iter()
                .map(|i| NewActionItem {
                    text: i.text,
                    owner: i.owner,
                })
                .collect(),
        };
        store.restore_analysis(
            conversation_id,
            &analysis,
            &self.model,
            self.created_at,
            &self.doubts,
            &done,
        )
    }
}

impl ConversationJson {
    /// The conversation with its messages (each with its earlier versions) and analysis.
    pub fn from_store(
        c: &Conversation,
        messages: Vec<(Message, Vec<MessageVersion>)>,
        analysis: Option<ConversationAnalysis>,
    ) -> Self {
        ConversationJson {
            id: Some(c.id.clone()),
            title: c.title.clone(),
            summary: c.summary.clone(),
            status: c.status,
            start_time: c.start_time,
            end_time: c.end_time,
            messages: messages
                .into_iter()
                .map(|(m, versions)| MessageJson {
                    id: Some(m.id),
                    sender: m.sender,
                    content: m.content,
                    timestamp: m.timestamp,
                    state: m.state,
                    is_bookmarked: m.is_bookmarked,
                    reactions: m.reactions,
                    error: m.error,
                    versions: versions
                        .into_iter()
                        .map(|v| VersionJson {
                            content: v.content,
                            state: v.state,
                            error: v.error,
                            replaced_at: v.replaced_at,
                        })
                        .collect(),
                })
                .collect(),
            analysis: analysis.and_then(AnalysisJson::from_store),
        }
    }
}

/// Writes a parsed file into the store (the caller holds the transaction). A value the store
/// refuses becomes a [`Rejection`] carrying its JSON path.
pub(super) fn import(
    store: &Store,
    file: HindsightFile,
    report: &mut ImportReport,
) -> Result<(), Rejection> {
    let mut seen = Seen::default();
    for (ci, c) in file.conversations.into_iter().enumerate() {
        let at = format!("conversations[{ci}]");
        let id = match &c.id {
            Some(id) => Some(id.clone()),
            // No id: derive one from the content, so importing the same file twice is a no-op.
            None => {
                let first = c.messages.first().map_or("", |m| m.content.as_str());
                let key = [
                    c.title.as_str(),
                    &c.start_time.to_string(),
                    &c.messages.len().to_string(),
                    first,
                ];
                Some(derived_id(&key).to_string())
            }
        };
        if let Some(id) = &id {
            seen.check("conversation", id, (&c.title, c.start_time), &at)?;
        }
        let (conversation_id, added) = store
            .insert_conversation(
                NewConversation {
                    id,
                    title: c.title,
                    summary: c.summary,
                    status: c.status,
                    start_time: c.start_time,
                    end_time: c.end_time,
                },
                true,
            )
            .map_err(|e| Rejection::at(&at, e))?;
        report.count_conversation(added);
        for (mi, m) in c.messages.into_iter().enumerate() {
            let at = format!("{at}.messages[{mi}]");
            let id = match m.id {
                Some(id) => id,
                None => derived_id(&[
                    &conversation_id,
                    &mi.to_string(),
                    &m.timestamp.to_string(),
                    &m.content,
                ])
                .to_string(),
            };
            seen.check(
                "message",
                &id,
                (&conversation_id, m.sender.as_str(), &m.content),
                &at,
            )?;
            let versions: Vec<MessageVersion> = m
                .versions
                .into_iter()
                .zip(1..)
                .map(|(v, version)| MessageVersion {
                    version,
                    content: v.content,
                    state: v.state,
                    error: v.error,
                    replaced_at: v.replaced_at,
                })
                .collect();
            let (message_id, added) = store
                .insert_message(
                    NewMessage {
                        id: Some(id),
                        conversation_id: conversation_id.clone(),
                        content: m.content,
                        sender: m.sender,
                        timestamp: m.timestamp,
                        state: m.state,
                        is_bookmarked: m.is_bookmarked,
                        reactions: m.reactions,
                        error: m.error,
                    },
                    true,
                )
                .map_err(|e| Rejection::at(&at, e))?;
            report.count_message(added);
            store
                .restore_versions(&message_id, &versions)
                .map_err(|e| Rejection::at(&format!("{at}.versions"), e))?;
        }
        if let Some(analysis) = c.analysis {
            if analysis
                .restore(store, &conversation_id)
                .map_err(|e| Rejection::at(&format!("{at}.analysis"), e))?
            {
                report.analyses_added += 1;
            }
        }
    }
    Ok(())
}
