//! Chatting: send a message and stream the answer, regenerate or continue it, stop it, and
//! let the model name a conversation after its first answer.
use std::sync::Arc;

use tokio::sync::mpsc;

use super::Hindsight;
use crate::chat::ChatEvent;
use crate::error::Result;
use crate::store::{Conversation, Message};

impl Hindsight {
    /// A new active conversation, titled from `first_text` ("New chat" without one).
    pub fn create_conversation(&self, first_text: Option<&str>) -> Result<Conversation> {
        self.chat.create_conversation(first_text)
    }

    /// Stores `text` as the user's message, then streams the answer to `events` (`started`,
    /// `token`…, `done`). The message is on disk before an engine is chosen or loaded: if none
    /// can be, the answer is stored as `error` with the reason (`started` and `done` still
    /// tell the window: it shows the message, and the answer's reason with Regenerate), and
    /// the error is returned.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub async fn send(
        &self,
        conversation_id: &str,
        text: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let (user, ai) = self.chat.record(conversation_id, text).await?;
        let llm = match self.llm().await {
            Ok(llm) => llm,
            Err(e) => {
                let _ = events
                    .send(ChatEvent::Started {
                        user: Some(user),
                        ai: ai.clone(),
                    })
                    .await;
                match self.chat.fail(&ai, &e).await {
                    Ok(failed) => {
                        let _ = events.send(ChatEvent::Done(failed)).await;
                    }
                    Err(failed) => {
                        tracing::warn!("marking the answer failed did not work: {failed}")
                    }
                }
                return Err(e);
            }
        };
        self.chat.answer(&llm, ai, Some(user), events).await
    }

    /// After a conversation's first answer, the model names it (see
    /// [`ChatService::retitle`](crate::chat::ChatService::retitle)); `None` when nothing
    /// changed.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub async fn name_conversation(&self, conversation_id: &str) -> Result<Option<Conversation>> {
        let llm = self.llm().await?;
        self.chat.retitle(&llm, conversation_id).await
    }

    /// [`send`](Self::send), then names the conversation in the background after its first
    /// answer, telling `renamed` the new title (the window's sidebar listens).
    pub async fn send_and_name(
        self: &Arc<Self>,
        conversation_id: &str,
        text: &str,
        events: mpsc::Sender<ChatEvent>,
        renamed: impl FnOnce(Conversation) + Send + 'static,
    ) -> Result<Message> {
        let answer = self.send(conversation_id, text, events).await?;
        let (me, id) = (self.clone(), answer.conversation_id.clone());
        tokio::spawn(async move {
            if let Ok(Some(conversation)) = me.name_conversation(&id).await {
                renamed(conversation);
            }
        });
        Ok(answer)
    }

    /// Replaces the conversation's last answer with a new one (the old one is kept as an
    /// earlier version).
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub async fn regenerate(
        &self,
        conversation_id: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let llm = self.llm().await?;
        self.chat.regenerate(&llm, conversation_id, events).await
    }

    /// Goes on with the last answer where it stopped (stopped, cut at the token limit, or
    /// broken off), streaming like a new answer.
    #[tracing::instrument(skip_all, err(level = tracing::Level::WARN))]
    pub async fn continue_answer(
        &self,
        conversation_id: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let llm = self.llm().await?;
        self.chat
            .continue_answer(&llm, conversation_id, events)
            .await
    }

    /// Stops the answer being written in this conversation (it is kept as `incomplete`);
    /// `false` if none was.
    pub fn stop_answer(&self, conversation_id: &str) -> bool {
        self.chat.stop(conversation_id)
    }
}
