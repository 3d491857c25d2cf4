//! Messages: add, read, list (oldest first, keyset pages), content/state updates, reactions,
//! bookmarks.
use rusqlite::{params, OptionalExtension, Row};

use super::conversations::page;
use super::{
    clamp_limit, cursor, new_id, normalize_id, Bookmark, Message, MessageState, MessageVersion,
    NewMessage, Page, Store, MAX_MESSAGE_BYTES,
};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// The columns [`from_row`] reads, over `messages m`.
pub(super) const COLUMNS: &str = "m.id, m.conversation_id, m.content, m.sender, m.timestamp,
        m.state, m.error, m.is_bookmarked,
        (SELECT json_group_array(emoji) FROM
            (SELECT emoji FROM reactions r WHERE r.message_id = m.id ORDER BY r.rowid)),
        m.seq,
        (SELECT count(*) FROM message_versions v WHERE v.message_id = m.id)";

/// The index of the first column a query selects after [`COLUMNS`].
pub(super) const AFTER: usize = 11;

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let reactions: String = r.get(8)?;
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        content: r.get(2)?,
        sender: r.get(3)?,
        timestamp: r.get(4)?,
        state: r.get(5)?,
        error: r.get(6)?,
        is_bookmarked: r.get(7)?,
        reactions: serde_json::from_str(&reactions).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e))
        })?,
        earlier_versions: r.get(10)?,
    })
}

fn from_row_with_seq(r: &Row<'_>) -> rusqlite::Result<(Message, i64)> {
    Ok((from_row(r)?, r.get(9)?))
}

/// Refuses bodies the store will not keep. Empty content is allowed only for AI messages that
/// are still being written (a stream that has not produced a token yet).
pub fn check_content(content: &str) -> Result<()> {
    if content.len() > MAX_MESSAGE_BYTES {
        return Err(Error::Invalid(format!(
            "message is {} bytes; the limit is {} KiB",
            content.len(),
            MAX_MESSAGE_BYTES / 1024
        )));
    }
    Ok(())
}

pub fn check_emoji(emoji: &str) -> Result<&str> {
    let e = emoji.trim();
    if e.is_empty() || e.len() > 16 || e.chars().any(char::is_whitespace) {
        return Err(Error::Invalid(format!("not a reaction: {emoji:?}")));
    }
    Ok(e)
}

impl Store {
    pub fn add_message(&self, new: NewMessage) -> Result<Message> {
        let (id, _) = self.insert_message(new, false)?;
        self.get_message(&id)
    }

    /// Inserts a message (with its reactions); with `if_absent`, an existing id is left
    /// untouched and `false` is returned (idempotent import).
    ///
    /// An id already stored is a no-op only for the same message: the same id with other
    /// content, or in another conversation, is refused (nothing is silently dropped).
    pub fn insert_message(&self, new: NewMessage, if_absent: bool) -> Result<(String, bool)> {
        check_content(&new.content)?;
        crate::time::check_time(new.timestamp).map_err(Error::Invalid)?;
        let id = match &new.id {
            Some(id) => normalize_id("message", id)?,
            None => new_id(),
        };
        let conversation_id = normalize_id("conversation", &new.conversation_id)?;
        let exists: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?1)")?
            .query_row([&conversation_id], |r| r.get(0))?;
        if !exists {
            return Err(Error::NotFound {
                what: "conversation",
                id: conversation_id,
            });
        }
        let sql = if if_absent {
            "INSERT INTO messages (id, conversation_id, content, sender, timestamp, state, is_bookmarked, writer, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING"
        } else {
            "INSERT INTO messages (id, conversation_id, content, sender, timestamp, state, is_bookmarked, writer, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        };
        let writer = (new.state == MessageState::Streaming).then(|| self.writer());
        let n = self.conn.prepare_cached(sql)?.execute(params![
            id,
            conversation_id,
            new.content,
            new.sender,
            new.timestamp,
            new.state,
            new.is_bookmarked,
            writer,
            new.error
        ])?;
        if n == 0 {
            let stored = self.get_message(&id)?;
            if stored.conversation_id != conversation_id {
                return Err(Error::Invalid(format!(
                    "message id {id} is already used in another conversation ({})",
                    stored.conversation_id
                )));
            }
            if stored.content != new.content || stored.sender != new.sender {
                return Err(Error::Invalid(format!(
                    "message id {id} is already stored with different content"
                )));
            }
        }
        if n == 1 {
            for (i, emoji) in new.reactions.iter().enumerate() {
                self.conn
                    .prepare_cached(
                        "INSERT INTO reactions (message_id, emoji, added_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, check_emoji(emoji)?, new.timestamp + i as i64])?;
            }
        }
        Ok((id, n == 1))
    }

    pub fn get_message(&self, id: &str) -> Result<Message> {
        let id = normalize_id("message", id)?;
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM messages m WHERE m.id = ?1"))?
            .query_row([&id], from_row)
            .optional()?
            .ok_or(Error::NotFound {
                what: "message",
                id,
            })
    }

    /// Oldest first. `cursor` is the `next_cursor` of the previous page.
    pub fn list_messages(
        &self,
        conversation_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Message>> {
        let conversation = self.get_conversation(conversation_id)?;
        let limit = clamp_limit(limit);
        let (after_time, after_seq) = match cursor {
            Some(c) => {
                let (t, seq) = cursor::decode(c)?;
                let seq: i64 = seq
                    .parse()
                    .map_err(|_| Error::Invalid(format!("bad page cursor: {c:?}")))?;
                (t, seq)
            }
            // Every row sorts after (i64::MIN, i64::MIN): the first page.
            None => (i64::MIN, i64::MIN),
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.conversation_id = ?1 AND (m.timestamp, m.seq) > (?2, ?3)
             ORDER BY m.timestamp, m.seq LIMIT ?4"
        ))?;
        let rows = stmt
            .query_map(
                params![conversation.id, after_time, after_seq, limit as i64 + 1],
                from_row_with_seq,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let page = page(rows, limit, |(m, seq)| {
            cursor::encode(m.timestamp, &seq.to_string())
        });
        Ok(Page {
            items: page.items.into_iter().map(|(m, _)| m).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Every message of a conversation, oldest first.
    pub fn all_messages(&self, conversation_id: &str) -> Result<Vec<Message>> {
        let id = normalize_id("conversation", conversation_id)?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.timestamp, m.seq"
        ))?;
        let rows = stmt.query_map([&id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn count_messages(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
    }

    /// Replaces a message's content and state (a streaming answer growing, then finishing).
    pub fn update_message(
        &self,
        id: &str,
        content: &str,
        state: MessageState,
        error: Option<&str>,
    ) -> Result<Message> {
        check_content(content)?;
        let id = normalize_id("message", id)?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE messages SET content = ?2, state = ?3, error = ?4, writer = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id,
                content,
                state,
                error,
                (state == MessageState::Streaming).then(|| self.writer())
            ])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "message",
                id,
            });
        }
        self.get_message(&id)
    }

    /// Keeps an answer's current text as an earlier version (before it is regenerated); an
    /// empty answer is not kept.
    pub fn keep_version(&self, m: &Message) -> Result<()> {
        if !m.content.trim().is_empty() {
            self.conn
                .prepare_cached(
                    "INSERT INTO message_versions (message_id, version, content, state, error,
                         replaced_at)
                     VALUES (?1, (SELECT coalesce(max(version), 0) + 1 FROM message_versions
                                  WHERE message_id = ?1), ?2, ?3, ?4, ?5)",
                )?
                .execute(params![m.id, m.content, m.state, m.error, now_ms()])?;
        }
        Ok(())
    }

    /// Restores a message's earlier versions from a backup (numbered as given); a version
    /// already stored is kept.
    pub fn restore_versions(&self, message_id: &str, versions: &[MessageVersion]) -> Result<()> {
        for v in versions {
            crate::time::check_time(v.replaced_at).map_err(Error::Invalid)?;
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO message_versions (message_id, version, content, state,
                         error, replaced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    message_id,
                    v.version,
                    v.content,
                    v.state,
                    v.error,
                    v.replaced_at
                ])?;
        }
        Ok(())
    }

    /// A message's earlier versions, oldest first (the message itself is the newest).
    pub fn message_versions(&self, id: &str) -> Result<Vec<MessageVersion>> {
        let m = self.get_message(id)?;
        self.versions_of(&m.id)
    }

    /// The earlier versions of a message known to exist (`message_versions` checks the id).
    pub(crate) fn versions_of(&self, id: &str) -> Result<Vec<MessageVersion>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, content, state, error, replaced_at FROM message_versions
             WHERE message_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(MessageVersion {
                version: r.get(0)?,
                content: r.get(1)?,
                state: r.get(2)?,
                error: r.get(3)?,
                replaced_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn set_bookmark(&self, id: &str, bookmarked: bool) -> Result<Message> {
        let id = normalize_id("message", id)?;
        let n = self
            .conn
            .prepare_cached("UPDATE messages SET is_bookmarked = ?2 WHERE id = ?1")?
            .execute(params![id, bookmarked])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "message",
                id,
            });
        }
        self.get_message(&id)
    }

    /// Adds the reaction if absent, removes it if present; returns the updated message.
    pub fn toggle_reaction(&self, id: &str, emoji: &str) -> Result<Message> {
        let emoji = check_emoji(emoji)?;
        let message = self.get_message(id)?;
        let removed = self
            .conn
            .prepare_cached("DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2")?
            .execute(params![message.id, emoji])?;
        if removed == 0 {
            self.conn
                .prepare_cached(
                    "INSERT INTO reactions (message_id, emoji, added_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![message.id, emoji, now_ms()])?;
        }
        self.get_message(&message.id)
    }

    /// Bookmarked messages across all conversations, newest first.
    /// Bookmarked messages, newest first, each with its conversation's title.
    pub fn list_bookmarks(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Bookmark>> {
        let limit = clamp_limit(limit);
        let (before_time, before_id) = match cursor {
            Some(c) => cursor::decode(c)?,
            None => (i64::MAX, String::new()),
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, c.title FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.is_bookmarked = 1 AND (m.timestamp, m.id) < (?1, ?2)
             ORDER BY m.timestamp DESC, m.id DESC LIMIT ?3"
        ))?;
        let items = stmt
            .query_map(params![before_time, before_id, limit as i64 + 1], |r| {
                Ok(Bookmark {
                    message: from_row(r)?,
                    conversation_title: r.get(AFTER)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(page(items, limit, |b| {
            cursor::encode(b.message.timestamp, &b.message.id)
        }))
    }
}
