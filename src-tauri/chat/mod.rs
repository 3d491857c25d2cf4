//! The chat service: stores the user's message first, streams the LLM's answer into a stored
//! AI message (`streaming` → `complete`, or `incomplete`/`error` with the reason), and lets a
//! conversation's answer be stopped. Nothing a user typed is lost in any failure: the user
//! message is committed before the LLM is called, and partial answers are saved as they grow.
mod prompt;
mod seam;
mod title;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, LlmError, Result};
use crate::llm::{too_long, ChatMessage, Llm, Purpose, Role};
use crate::locking::lock;
use crate::store::{
    check_content, Conversation, Message, MessageState, NewConversation, NewMessage, Sender,
    Status, Store, MAX_MESSAGE_BYTES,
};
use crate::time::now_ms;
pub use prompt::{build_prompt, title_from};
use seam::Seam;
pub use title::{clean_title, suggest_title, title_prompt};
use ts_rs::TS;

pub type SharedStore = Arc<Mutex<Store>>;

/// Runs `f` with the store on a blocking thread: SQLite never holds up the async runtime,
/// whose threads stream the answers.
pub async fn on_store<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&lock(&store)))
        .await
        .map_err(|e| Error::Internal(format!("a database task failed: {e}")))?
}

/// How often a growing answer is written to disk while it streams.
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// What a caller sees of one answer, in order: `started`, any number of `token`, `done`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "lowercase")]
pub enum ChatEvent {
    Started { user: Option<Message>, ai: Message },
    Token(String),
    Done(Message),
}

pub struct ChatService {
    store: SharedStore,
    /// The conversations being answered, by id, with the token that stops each.
    active: Active,
    on_stored: Box<dyn Fn() + Send + Sync>,
}

type Active = Arc<Mutex<HashMap<String, CancellationToken>>>;

/// The title of a conversation created without text.
const UNTITLED: &str = "New chat";

/// The note on a `complete` answer the model ended at its token limit (it may stop mid-
/// sentence; Continue goes on).
pub const CUT_AT_LIMIT: &str = "cut at the answer length limit";

impl ChatService {
    /// `on_stored` runs after messages are written (the embedding worker's wake-up).
    pub fn new(store: SharedStore, on_stored: impl Fn() + Send + Sync + 'static) -> Self {
        ChatService {
            store,
            active: Arc::default(),
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

    /// Stores `text` as the user's message, then streams the answer (see [`ChatService::answer`]).
    pub async fn send(
        &self,
        llm: &Llm,
        conversation_id: &str,
        text: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let (user, ai) = self.record(conversation_id, text).await?;
        self.answer(llm, ai, Some(user), events).await
    }

    /// Commits the user's message and an empty `streaming` answer to it, in one transaction
    /// on a blocking thread, before any LLM is loaded or called: whatever happens next, the
    /// message is on disk.
    pub async fn record(&self, conversation_id: &str, text: &str) -> Result<(Message, Message)> {
        let (active, id, text) = (
            self.active.clone(),
            conversation_id.to_owned(),
            text.to_owned(),
        );
        let pair = self
            .on_store(move |store| record_in(store, &active, &id, &text))
            .await?;
        (self.on_stored)();
        Ok(pair)
    }

    async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        on_store(&self.store, f).await
    }

    /// Checks a message the user is about to send (before anything is created for it).
    pub fn check_text(text: &str) -> Result<&str> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Invalid("the message is empty".into()));
        }
        check_content(text)?;
        Ok(text)
    }

    /// Ends an answer that could not start (no LLM could be loaded): `error`, with the reason.
    pub async fn fail(&self, ai: &Message, reason: &Error) -> Result<Message> {
        let (id, reason) = (ai.id.clone(), reason.to_string());
        self.on_store(move |store| {
            store.update_message(&id, "", MessageState::Error, Some(&reason))
        })
        .await
    }

    /// Replaces the conversation's last answer with a new one.
    pub async fn regenerate(
        &self,
        llm: &Llm,
        conversation_id: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let (active, id) = (self.active.clone(), conversation_id.to_owned());
        let ai = self
            .on_store(move |store| {
                let (conversation, last) = last_message(store, &active, &id)?;
                match last {
                    // The answer it replaces is kept as an earlier version (‹ 1/2 › in the
                    // window).
                    Some(m) if m.sender == Sender::Ai => store.transaction(|s| {
                        s.keep_version(&m)?;
                        s.update_message(&m.id, "", MessageState::Streaming, None)
                    }),
                    Some(_) => store.add_message(NewMessage {
                        state: MessageState::Streaming,
                        ..NewMessage::new(&conversation.id, Sender::Ai, "", now_ms())
                    }),
                    None => Err(Error::Invalid(
                        "the conversation has no message to answer".into(),
                    )),
                }
            })
            .await?;
        self.answer(llm, ai, None, events).await
    }

    /// Goes on with the conversation's last answer where it stopped (stopped, cut at the
    /// token limit, or broken off by a failure): the new text is appended to the same message.
    pub async fn continue_answer(
        &self,
        llm: &Llm,
        conversation_id: &str,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        let (active, id) = (self.active.clone(), conversation_id.to_owned());
        let ai = self
            .on_store(move |store| match last_message(store, &active, &id)?.1 {
                Some(m)
                    if m.sender == Sender::Ai
                        && !m.content.trim().is_empty()
                        && (m.state == MessageState::Incomplete
                            || m.error.as_deref() == Some(CUT_AT_LIMIT)) =>
                {
                    store.update_message(&m.id, &m.content, MessageState::Streaming, None)
                }
                _ => Err(Error::Invalid(
                    "the last answer is not an unfinished one to continue".into(),
                )),
            })
            .await?;
        self.answer_as(llm, ai, None, events, true).await
    }

    /// After a conversation's first answer: asks `llm` for a short title and puts it in place
    /// of the question's first line. Nothing changes (`None`) if the conversation has more
    /// than one exchange, its answer did not complete, the person renamed it (before or
    /// meanwhile), or the model's reply is no title.
    pub async fn retitle(&self, llm: &Llm, conversation_id: &str) -> Result<Option<Conversation>> {
        let id = conversation_id.to_owned();
        let first = self
            .on_store(move |store| {
                let conversation = store.get_conversation(&id)?;
                let messages = store.all_messages(&conversation.id)?;
                let [question, answer] = messages.as_slice() else {
                    return Ok(None);
                };
                if question.sender != Sender::User
                    || answer.sender != Sender::Ai
                    || answer.state != MessageState::Complete
                    || conversation.title != title_from(&question.content)
                {
                    return Ok(None);
                }
                Ok(Some((
                    conversation,
                    question.content.clone(),
                    answer.content.clone(),
                )))
            })
            .await?;
        let Some((conversation, question, answer)) = first else {
            return Ok(None);
        };
        let Some(title) = suggest_title(llm, &question, &answer).await? else {
            return Ok(None);
        };
        self.on_store(move |store| {
            // Renamed while the model wrote: the person's title stays.
            if store.get_conversation(&conversation.id)?.title != conversation.title {
                return Ok(None);
            }
            Ok(Some(store.rename_conversation(&conversation.id, &title)?))
        })
        .await
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

    /// Whether any conversation is being answered.
    pub fn is_answering(&self) -> bool {
        !lock(&self.active).is_empty()
    }

    pub fn is_streaming(&self, conversation_id: &str) -> bool {
        answering(&self.active, conversation_id)
    }

    /// Streams the answer into `ai` (recorded by [`ChatService::record`], or reset by
    /// [`ChatService::regenerate`]).
    pub async fn answer(
        &self,
        llm: &Llm,
        ai: Message,
        user: Option<Message>,
        events: mpsc::Sender<ChatEvent>,
    ) -> Result<Message> {
        self.answer_as(llm, ai, user, events, false).await
    }

    /// [`answer`](Self::answer); `continuing`: `ai` holds the start of the answer, and the
    /// model is asked to go on from it.
    async fn answer_as(
        &self,
        llm: &Llm,
        ai: Message,
        user: Option<Message>,
        events: mpsc::Sender<ChatEvent>,
        continuing: bool,
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
        let started = std::time::Instant::now();
        let (text, outcome) = self.run_stream(llm, &ai, &token, &events, continuing).await;
        let seconds = started.elapsed().as_secs_f64();
        match &outcome {
            Ok(finish) => tracing::info!(
                conversation = %ai.conversation_id, message = %ai.id, chars = text.len(),
                seconds, finish = finish.as_deref().unwrap_or(""), continuing, "answer written"
            ),
            Err(Error::Llm(LlmError::Cancelled)) => tracing::info!(
                conversation = %ai.conversation_id, message = %ai.id, chars = text.len(),
                seconds, "answer stopped"
            ),
            Err(e) => tracing::warn!(
                conversation = %ai.conversation_id, message = %ai.id, chars = text.len(),
                seconds, code = e.code(), "answer failed: {e}"
            ),
        }
        let (state, error) = match &outcome {
            // Ended by its token limit: whole as far as the model went, but it may stop
            // mid-sentence; the note lets Continue go on.
            Ok(Some(reason)) if reason == "length" => {
                (MessageState::Complete, Some(CUT_AT_LIMIT.to_owned()))
            }
            Ok(_) => (MessageState::Complete, None),
            Err(Error::Llm(LlmError::Cancelled)) => {
                (MessageState::Incomplete, Some("stopped".to_owned()))
            }
            Err(e) if !text.is_empty() => (MessageState::Incomplete, Some(e.to_string())),
            Err(e) => (MessageState::Error, Some(e.to_string())),
        };
        let saved = save_final(&self.store, &ai.id, text, state, error).await;
        lock(&self.active).remove(&ai.conversation_id);
        let message = saved?;
        (self.on_stored)();
        let _ = events.send(ChatEvent::Done(message.clone())).await;
        match outcome {
            Ok(_) | Err(Error::Llm(LlmError::Cancelled)) => Ok(message),
            Err(e) => Err(e),
        }
    }

    /// Streams the answer to `ai` (after the text it has, when `continuing`); a background
    /// task saves it as it grows. Returns the text and how it ended (the finish reason).
    async fn run_stream(
        &self,
        llm: &Llm,
        ai: &Message,
        token: &CancellationToken,
        events: &mpsc::Sender<ChatEvent>,
        continuing: bool,
    ) -> (String, Result<Option<String>>) {
        let start = if continuing {
            ai.content.clone()
        } else {
            String::new()
        };
        let id = ai.conversation_id.clone();
        let prompt = {
            match self.on_store(move |store| store.all_messages(&id)).await {
                Ok(history) => {
                    let mut prompt = build_prompt(llm.settings(), &history, &ai.id);
                    if continuing {
                        // The answer so far as the assistant's last turn: llama.cpp's server
                        // and the built-in model go on from it (prefill); a server that starts
                        // a new answer instead is caught at the seam.
                        prompt.push(ChatMessage::new(Role::Assistant, start.clone()));
                    }
                    prompt
                }
                Err(e) => return (start, Err(e)),
            }
        };
        let text = Arc::new(Mutex::new(start));
        let dirty = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let saver = tokio::spawn(save_while_streaming(
            self.store.clone(),
            ai.id.clone(),
            text.clone(),
            dirty.clone(),
            stop.clone(),
        ));
        // A continuation joins the answer so far at a seam (a repeated start is dropped).
        let seam = continuing.then(|| Seam::new(&ai.content));
        let outcome = pump(llm, &prompt, token, events, &text, &dirty, seam).await;
        // The last periodic save finishes before the final one is written.
        stop.cancel();
        let _ = saver.await;
        let text = std::mem::take(&mut *lock(&text));
        (text, outcome)
    }
}

/// Forwards the LLM's pieces to `text` and `events` until the answer ends, is stopped, or
/// reaches the largest message (then it is cut there and ends `too long`).
async fn pump(
    llm: &Llm,
    prompt: &[crate::llm::ChatMessage],
    token: &CancellationToken,
    events: &mpsc::Sender<ChatEvent>,
    text: &Mutex<String>,
    dirty: &Notify,
    mut seam: Option<Seam>,
) -> Result<Option<String>> {
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let stream = llm.stream_chat(Purpose::Chat, prompt, None, tx);
    tokio::pin!(stream);
    // Appends a piece (cut to what fits); returns what was appended and whether it was cut.
    let append = |piece: String| -> (String, bool) {
        let mut text = lock(text);
        let room = MAX_MESSAGE_BYTES.saturating_sub(text.len());
        let cut = piece.len() > room;
        let piece = if cut {
            let mut end = room;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            piece[..end].to_owned()
        } else {
            piece
        };
        text.push_str(&piece);
        dirty.notify_one();
        (piece, cut)
    };
    let mut finished: Option<Result<Option<String>>> = None;
    loop {
        tokio::select! {
            biased;
            _ = token.cancelled() => return Err(Error::Llm(LlmError::Cancelled)),
            piece = rx.recv() => match piece {
                Some(piece) => {
                    let piece = match seam.as_mut() {
                        Some(seam) => seam.feed(&piece),
                        None => piece,
                    };
                    if piece.is_empty() {
                        continue;
                    }
                    let (piece, cut) = append(piece);
                    if !piece.is_empty() && events.send(ChatEvent::Token(piece)).await.is_err() {
                        // Whoever listened is gone: stop generating for nobody.
                        return Err(Error::Llm(LlmError::Cancelled));
                    }
                    if cut {
                        return Err(too_long());
                    }
                }
                // The stream future dropped its sender: it has finished.
                // (A built-in model's thread can drop its sender before the stream future
                // has been polled to its end: await it for the finish reason.)
                None => {
                    let outcome = match finished {
                        Some(finished) => finished,
                        None => (&mut stream).await.map(|finish| finish.reason),
                    };
                    let rest = seam.as_mut().map(Seam::finish).unwrap_or_default();
                    if !rest.is_empty() {
                        let (rest, _) = append(rest);
                        let _ = events.send(ChatEvent::Token(rest)).await;
                    }
                    return outcome;
                }
            },
            r = &mut stream, if finished.is_none() => match r {
                Ok(finish) => finished = Some(Ok(finish.reason)),
                Err(e) => {
                    // Keep what already arrived; a built-in model still holding the sender
                    // stops once the receiver is dropped.
                    while let Ok(piece) = rx.try_recv() {
                        let piece = match seam.as_mut() {
                            Some(seam) => seam.feed(&piece),
                            None => piece,
                        };
                        let (piece, cut) = append(piece);
                        let _ = events.send(ChatEvent::Token(piece)).await;
                        if cut {
                            break;
                        }
                    }
                    return Err(e);
                }
            },
        }
    }
}

/// Saves the growing answer about every [`SAVE_EVERY`] while pieces arrive, on a blocking
/// thread so the stream never waits for the disk, and once more after the last piece. A failed
/// save is not fatal: the text is in memory and the final save retries.
async fn save_while_streaming(
    store: SharedStore,
    id: String,
    text: Arc<Mutex<String>>,
    dirty: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = dirty.notified() => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(SAVE_EVERY) => {}
        }
        let snapshot = lock(&text).clone();
        let (store, id) = (store.clone(), id.clone());
        let _ = tokio::task::spawn_blocking(move || {
            lock(&store).update_message(&id, &snapshot, MessageState::Streaming, None)
        })
        .await;
    }
}

/// How long the final save of an answer keeps trying while the database is busy (another
/// process holds the write lock) or the disk is full.
const FINAL_SAVE_FOR: Duration = Duration::from_secs(120);

/// Writes the finished answer, retrying transient failures for [`FINAL_SAVE_FOR`].
async fn save_final(
    store: &SharedStore,
    id: &str,
    text: String,
    state: MessageState,
    error: Option<String>,
) -> Result<Message> {
    let give_up = Instant::now() + FINAL_SAVE_FOR;
    let text = Arc::new(text);
    loop {
        let (store, id, text, error) = (store.clone(), id.to_owned(), text.clone(), error.clone());
        let saved = tokio::task::spawn_blocking(move || {
            lock(&store).update_message(&id, &text, state, error.as_deref())
        })
        .await
        .map_err(|e| Error::Internal(format!("saving the answer failed: {e}")))?;
        match saved {
            Err(e) if e.is_transient() && Instant::now() < give_up => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// The conversation, if it exists, is active and not already answering.
fn writable(store: &Store, active: &Active, conversation_id: &str) -> Result<Conversation> {
    let conversation = store.get_conversation(conversation_id)?;
    if conversation.status == Status::Ended {
        return Err(Error::Invalid(
            "this conversation has ended; reopen it to continue".into(),
        ));
    }
    if answering(active, &conversation.id) {
        return Err(Error::Invalid(
            "an answer is still being written in this conversation; stop it first".into(),
        ));
    }
    Ok(conversation)
}

/// Whether `conversation_id` is being answered.
fn answering(active: &Active, conversation_id: &str) -> bool {
    lock(active).contains_key(&conversation_id.trim().to_lowercase())
}

/// The conversation (if [`writable`]) and its last message.
fn last_message(
    store: &Store,
    active: &Active,
    conversation_id: &str,
) -> Result<(Conversation, Option<Message>)> {
    let conversation = writable(store, active, conversation_id)?;
    let last = store.all_messages(&conversation.id)?.pop();
    Ok((conversation, last))
}

/// Commits the user's message and an empty `streaming` answer to it in one transaction (the
/// body of [`ChatService::record`]).
fn record_in(
    store: &Store,
    active: &Active,
    conversation_id: &str,
    text: &str,
) -> Result<(Message, Message)> {
    let text = ChatService::check_text(text)?;
    let conversation = writable(store, active, conversation_id)?;
    store.transaction(|s| {
        let now = now_ms();
        if conversation.message_count == 0 && conversation.title == UNTITLED {
            s.rename_conversation(&conversation.id, &title_from(text))?;
        }
        let user = s.add_message(NewMessage::new(&conversation.id, Sender::User, text, now))?;
        let ai = s.add_message(NewMessage {
            state: MessageState::Streaming,
            ..NewMessage::new(&conversation.id, Sender::Ai, "", now)
        })?;
        Ok((user, ai))
    })
}
