//! The chat service: stores the user's message first, streams the LLM's answer into a stored
//! AI message (`streaming` → `complete`, or `incomplete`/`error` with the reason), and lets a
//! conversation's answer be stopped. Nothing a user typed is lost in any failure: the user
//! message is committed before the LLM is called, and partial answers are saved as they grow.
mod prompt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, LlmError, Result};
use crate::llm::Llm;
use crate::store::{
    check_content, Conversation, Message, MessageState, NewConversation, NewMessage, Sender,
    Status, Store,
};
use crate::sync::lock;
use crate::time::now_ms;
pub use prompt::{build_prompt, title_from};

pub type SharedStore = Arc<Mutex<Store>>;

/// How often a growing answer is written to disk while it streams.
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// What a caller sees of one answer, in order: `started`, any number of `token`, `done`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "lowercase")]
pub enum ChatEvent {
    Started { user: Option<Message>, ai: Message },
    Token(String),
    Done(Message),
}

pub struct ChatService {
    store: SharedStore,
    active: Mutex<HashMap<String, CancellationToken>>,
    on_stored: Box<dyn Fn() + Send + Sync>,
}

/// The title of a conversation created without text.
const UNTITLED: &str = "New chat";

impl ChatService {
    /// `on_stored` runs after messages are written (the embedding worker's wake-up).
    pub fn new(store: SharedStore, on_stored: impl Fn() + Send + Sync + 'static) -> Self {
        ChatService {
            store,
            active: Mutex::new(HashMap::new()),
            on_stored: Box::new(on_stored),
        }
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// A new active conversation, titled from `first_text` (editable later); without one it is
    /// "New chat" until its first message names it.
    pub fn create_conversation(&self, first_text: Option<&str>) -> Result<Conversation> {
        let title = first_text
            .map(title_from)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| UNTITLED.into());
        lock(&self.store).create_conversation(NewConversation {
            id: None,
            title,
            summary: None,
            status: Status::Active,
            start_time: now_ms(),
            end_time: None,
        })
    }

    /// Stores `text` as the user's message, then streams the answer (see [`ChatService::generate`]).
    pub async fn send(
        &self,
        llm: &Llm,
        conversation_id: &str,
        text: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Invalid("the message is empty".into()));
        }
        check_content(text)?;
        let (user, ai) = {
            let store = lock(&self.store);
            let conversation = self.writable(&store, conversation_id)?;
            store.transaction(|s| {
                let now = now_ms();
                if conversation.message_count == 0 && conversation.title == UNTITLED {
                    s.rename_conversation(&conversation.id, &title_from(text))?;
                }
                let user =
                    s.add_message(NewMessage::new(&conversation.id, Sender::User, text, now))?;
                let ai = s.add_message(NewMessage {
                    state: MessageState::Streaming,
                    ..NewMessage::new(&conversation.id, Sender::Ai, "", now)
                })?;
                Ok((user, ai))
            })?
        };
        (self.on_stored)();
        self.stream_into(llm, ai, Some(user), events).await
    }

    /// Replaces the conversation's last answer with a new one.
    pub async fn regenerate(
        &self,
        llm: &Llm,
        conversation_id: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let ai = {
            let store = lock(&self.store);
            let conversation = self.writable(&store, conversation_id)?;
            let messages = store.all_messages(&conversation.id)?;
            match messages.last() {
                Some(m) if m.sender == Sender::Ai => {
                    store.update_message(&m.id, "", MessageState::Streaming, None)?
                }
                Some(_) => store.add_message(NewMessage {
                    state: MessageState::Streaming,
                    ..NewMessage::new(&conversation.id, Sender::Ai, "", now_ms())
                })?,
                None => {
                    return Err(Error::Invalid(
                        "the conversation has no message to answer".into(),
                    ))
                }
            }
        };
        self.stream_into(llm, ai, None, events).await
    }

    /// Stops the answer being written in this conversation; `false` if none was.
    pub fn stop(&self, conversation_id: &str) -> bool {
        let id = conversation_id.trim().to_lowercase();
        match lock(&self.active).get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    pub fn is_streaming(&self, conversation_id: &str) -> bool {
        lock(&self.active).contains_key(&conversation_id.trim().to_lowercase())
    }

    /// The conversation, if it exists, is active and not already answering.
    fn writable(&self, store: &Store, conversation_id: &str) -> Result<Conversation> {
        let conversation = store.get_conversation(conversation_id)?;
        if conversation.status == Status::Ended {
            return Err(Error::Invalid(
                "this conversation has ended; reopen it to continue".into(),
            ));
        }
        if self.is_streaming(&conversation.id) {
            return Err(Error::Invalid(
                "an answer is still being written in this conversation; stop it first".into(),
            ));
        }
        Ok(conversation)
    }

    async fn stream_into(
        &self,
        llm: &Llm,
        ai: Message,
        user: Option<Message>,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let token = CancellationToken::new();
        {
            let mut active = lock(&self.active);
            if active.contains_key(&ai.conversation_id) {
                return Err(Error::Invalid(
                    "an answer is still being written in this conversation".into(),
                ));
            }
            active.insert(ai.conversation_id.clone(), token.clone());
        }
        let _ = events
            .send(ChatEvent::Started {
                user,
                ai: ai.clone(),
            })
            .await;
        let result = self.run_stream(llm, &ai, &token, &events).await;
        lock(&self.active).remove(&ai.conversation_id);

        let (text, outcome) = result;
        let (state, error) = match &outcome {
            Ok(_) => (MessageState::Complete, None),
            Err(Error::Llm(LlmError::Cancelled)) => {
                (MessageState::Incomplete, Some("stopped".to_owned()))
            }
            Err(e) if !text.is_empty() => (MessageState::Incomplete, Some(e.to_string())),
            Err(e) => (MessageState::Error, Some(e.to_string())),
        };
        let message = lock(&self.store).update_message(&ai.id, &text, state, error.as_deref())?;
        (self.on_stored)();
        let _ = events.send(ChatEvent::Done(message.clone())).await;
        match outcome {
            Ok(()) | Err(Error::Llm(LlmError::Cancelled)) => Ok(message),
            Err(e) => Err(e),
        }
    }

    /// Streams the answer to `ai`, saving it as it grows. Returns the text and how it ended.
    async fn run_stream(
        &self,
        llm: &Llm,
        ai: &Message,
        token: &CancellationToken,
        events: &mpsc::Sender<ChatEvent>,
    ) -> (String, Result<()>) {
        let prompt = {
            let store = lock(&self.store);
            match store.all_messages(&ai.conversation_id) {
                Ok(history) => build_prompt(llm.settings(), &history, &ai.id),
                Err(e) => return (String::new(), Err(e)),
            }
        };
        let (tx, mut rx) = mpsc::channel::<String>(256);
        let stream = llm.stream_chat(&prompt, None, tx);
        tokio::pin!(stream);
        let mut text = String::new();
        let mut saved_at = Instant::now();
        let mut done: Option<Result<()>> = None;
        loop {
            tokio::select! {
                biased;
                _ = token.cancelled() => return (text, Err(Error::Llm(LlmError::Cancelled))),
                piece = rx.recv() => match piece {
                    Some(piece) => {
                        text.push_str(&piece);
                        if events.send(ChatEvent::Token(piece)).await.is_err() {
                            // Whoever listened is gone: stop generating for nobody.
                            return (text, Err(Error::Llm(LlmError::Cancelled)));
                        }
                        if saved_at.elapsed() >= SAVE_EVERY {
                            saved_at = Instant::now();
                            let _ = lock(&self.store).update_message(&ai.id, &text, MessageState::Streaming, None);
                        }
                    }
                    // The stream future dropped its sender: it has finished.
                    None => return (text, done.unwrap_or(Ok(()))),
                },
                r = &mut stream, if done.is_none() => done = Some(r.map(|_| ())),
            }
        }
    }
}
