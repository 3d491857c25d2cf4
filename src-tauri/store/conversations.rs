//! Conversations: create, read, list (newest first, keyset pages), rename, end, reopen, delete.
use rusqlite::{params, OptionalExtension, Row};

use super::{
    clamp_limit, cursor, new_id, normalize_id, Conversation, ConversationDetail, NewConversation,
    Page, Status, Store, MAX_TITLE_CHARS,
};
use crate::error::{Error, Result};
use crate::time::now_ms;

const SELECT: &str = "SELECT c.id, c.title, c.summary, c.status, c.start_time, c.end_time,
        (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
    FROM conversations c";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        title: r.get(1)?,
        summary: r.get(2)?,
        status: r.get(3)?,
        start_time: r.get(4)?,
        end_time: r.get(5)?,
        message_count: r.get(6)?,
    })
}

pub(crate) fn clean_title(title: &str) -> Result<String> {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return Err(Error::Invalid(
            "a conversation title cannot be empty".into(),
        ));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::Invalid(format!(
            "a conversation title is at most {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(t)
}

impl Store {
    pub fn create_conversation(&self, new: NewConversation) -> Result<Conversation> {
        let (id, _) = self.insert_conversation(new, false)?;
        self.get_conversation(&id)
    }

    /// Inserts a conversation; with `if_absent`, an existing id is left untouched and
    /// `false` is returned (idempotent import).
    pub fn insert_conversation(
        &self,
        new: NewConversation,
        if_absent: bool,
    ) -> Result<(String, bool)> {
        let id = match &new.id {
            Some(id) => normalize_id("conversation", id)?,
            None => new_id(),
        };
        let title = clean_title(&new.title)?;
        for t in std::iter::once(new.start_time).chain(new.end_time) {
            crate::time::check_time(t).map_err(Error::Invalid)?;
        }
        if let Some(end) = new.end_time {
            if end < new.start_time {
                return Err(Error::Invalid("end_time is before start_time".into()));
            }
        }
        let sql = if if_absent {
            "INSERT INTO conversations (id, title, summary, status, start_time, end_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING"
        } else {
            "INSERT INTO conversations (id, title, summary, status, start_time, end_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        };
        let n = self.conn.prepare_cached(sql)?.execute(params![
            id,
            title,
            new.summary,
            new.status,
            new.start_time,
            new.end_time
        ])?;
        Ok((id, n == 1))
    }

    pub fn conversation_detail(&self, id: &str) -> Result<ConversationDetail> {
        let conversation = self.get_conversation(id)?;
        let messages = self.all_messages(&conversation.id)?;
        let analysis = self.get_analysis(&conversation.id)?;
        let analysis_status = self.analysis_status(&conversation.id)?;
        Ok(ConversationDetail {
            conversation,
            messages,
            analysis,
            analysis_status,
        })
    }

    pub fn get_conversation(&self, id: &str) -> Result<Conversation> {
        let id = normalize_id("conversation", id)?;
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))?
            .query_row([&id], from_row)
            .optional()?
            .ok_or(Error::NotFound {
                what: "conversation",
                id,
            })
    }

    /// Newest first (by start time). `cursor` is the `next_cursor` of the previous page.
    pub fn list_conversations(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Conversation>> {
        let limit = clamp_limit(limit);
        let (after_time, after_id) = match cursor {
            Some(c) => cursor::decode(c)?,
            // Every row sorts before (i64::MAX, ""): the first page.
            None => (i64::MAX, String::new()),
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT} WHERE (c.start_time, c.id) < (?1, ?2)
             ORDER BY c.start_time DESC, c.id DESC LIMIT ?3"
        ))?;
        let items = stmt
            .query_map(params![after_time, after_id, limit as i64 + 1], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(page(items, limit, |c| cursor::encode(c.start_time, &c.id)))
    }

    /// Every conversation, oldest first (export).
    pub fn all_conversations(&self) -> Result<Vec<Conversation>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT} ORDER BY c.start_time, c.id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn count_conversations(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?)
    }

    pub fn rename_conversation(&self, id: &str, title: &str) -> Result<Conversation> {
        let title = clean_title(title)?;
        let id = self.update_conversation(
            id,
            "UPDATE conversations SET title = ?2 WHERE id = ?1",
            &title,
        )?;
        self.get_conversation(&id)
    }

    pub fn set_summary(&self, id: &str, summary: Option<&str>) -> Result<Conversation> {
        let id = self.update_conversation(
            id,
            "UPDATE conversations SET summary = ?2 WHERE id = ?1",
            &summary,
        )?;
        self.get_conversation(&id)
    }

    /// Marks the conversation ended now. Ending an ended conversation keeps its end time.
    pub fn end_conversation(&self, id: &str) -> Result<Conversation> {
        let id = self.update_conversation(
            id,
            "UPDATE conversations SET status = 'ended',
                 end_time = coalesce(end_time, max(?2, start_time))
             WHERE id = ?1",
            &now_ms(),
        )?;
        self.get_conversation(&id)
    }

    /// Active conversations with messages, none of them newer than `idle_before`: what ends by
    /// itself when analysis is automatic.
    pub fn idle_conversations(&self, idle_before: super::Millis) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id FROM conversations c
             JOIN messages m ON m.conversation_id = c.id
             WHERE c.status = 'active'
             GROUP BY c.id HAVING max(m.timestamp) < ?1
             ORDER BY max(m.timestamp) DESC",
        )?;
        let rows = stmt.query_map([idle_before], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Ends an idle conversation as of its last message (not now: it ended when the talk did).
    pub fn end_idle_conversation(&self, id: &str) -> Result<Conversation> {
        let id = self.update_conversation(
            id,
            "UPDATE conversations SET status = 'ended',
                 end_time = coalesce(end_time, max(?2, start_time,
                     coalesce((SELECT max(timestamp) FROM messages WHERE conversation_id = ?1), 0)))
             WHERE id = ?1",
            &0i64,
        )?;
        self.get_conversation(&id)
    }

    /// Makes an ended conversation active again (its end time is cleared).
    pub fn reopen_conversation(&self, id: &str) -> Result<Conversation> {
        let id = self.update_conversation(
            id,
            "UPDATE conversations SET status = ?2, end_time = NULL WHERE id = ?1",
            &Status::Active,
        )?;
        self.get_conversation(&id)
    }

    /// Deletes the conversation with its messages, reactions, embeddings and analysis.
    pub fn delete_conversation(&self, id: &str) -> Result<()> {
        let id = normalize_id("conversation", id)?;
        let n = self
            .conn
            .execute("DELETE FROM conversations WHERE id = ?1", [&id])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "conversation",
                id,
            });
        }
        Ok(())
    }

    fn update_conversation(
        &self,
        id: &str,
        sql: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<String> {
        let id = normalize_id("conversation", id)?;
        let n = self.conn.prepare_cached(sql)?.execute(params![id, value])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "conversation",
                id,
            });
        }
        Ok(id)
    }
}

/// Turns `limit + 1` fetched rows into a page and the cursor of its last row.
pub(super) fn page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_cursor }
}
