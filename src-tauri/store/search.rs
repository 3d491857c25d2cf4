//! What history search reads from the store: vectors for the in-memory index (loaded in
//! rowid order, so the index can catch up with new rows), BM25-ranked full-text hits under
//! the same filters, and hits turned back into messages.
use std::collections::HashSet;

use rusqlite::params;

use std::collections::HashMap;

use super::{messages, IndexRow, Message, Millis, SearchFilters, Sender, Store};

/// How much of a neighbouring turn a search hit carries (characters).
pub const TURN_CHARS: usize = 300;

/// A neighbouring turn shown with a hit: who said it, when, and its text (cut to
/// [`TURN_CHARS`] characters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, TS)]
pub struct Turn {
    pub message_id: String,
    pub sender: Sender,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub timestamp: Millis,
    pub content: String,
}

/// A message's conversation, time and the turn after it (by seq), see [`Store::turn_context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnContext {
    pub seq: i64,
    pub conversation_id: String,
    pub timestamp: Millis,
    pub next: Option<i64>,
}

/// The seq of the turn before message `m` in its conversation (by time, then insertion):
/// the one definition of "the previous turn" for search and embedding queries.
pub(super) const PREVIOUS_TURN: &str = "SELECT x.seq FROM messages x
    WHERE x.conversation_id = m.conversation_id AND (x.timestamp, x.seq) < (m.timestamp, m.seq)
    ORDER BY x.timestamp DESC, x.seq DESC LIMIT 1";
use crate::error::Result;
use crate::store::{blob_to_vector, normalize_id};
use ts_rs::TS;

impl Store {
    /// Up to `limit` vectors of `model` stored after embedding rowid `after_rowid`.
    pub fn embeddings_after(
        &self,
        model: &str,
        after_rowid: i64,
        limit: usize,
    ) -> Result<Vec<IndexRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.rowid, m.seq, m.conversation_id, m.sender, m.timestamp, e.vector
             FROM embeddings e JOIN messages m ON m.id = e.message_id
             WHERE e.model = ?1 AND e.rowid > ?2
             ORDER BY e.rowid LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![model, after_rowid, limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rowid, seq, conversation_id, sender, timestamp, blob) = row?;
            out.push(IndexRow {
                rowid,
                seq,
                conversation_id,
                sender,
                timestamp,
                vector: blob_to_vector(&blob)?,
            });
        }
        Ok(out)
    }

    /// The full-precision vectors of these messages (`seq`, vector), for re-scoring.
    pub fn vectors_by_seq(&self, model: &str, seqs: &[i64]) -> Result<Vec<(i64, Vec<f32>)>> {
        let mut stmt = self.conn.prepare_cached(
            // CROSS JOIN keeps `messages` (looked up by seq) as the outer loop; otherwise the
            // planner may scan every embedding of the model.
            "SELECT m.seq, e.vector FROM messages m
             CROSS JOIN embeddings e ON e.message_id = m.id AND e.model = ?1
             WHERE m.seq IN (SELECT value FROM json_each(?2))",
        )?;
        let rows = stmt.query_map(params![model, serde_json::to_string(seqs)?], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, blob) = row?;
            out.push((seq, blob_to_vector(&blob)?));
        }
        Ok(out)
    }

    /// The seqs of bookmarked messages (the index's bookmark filter).
    pub fn bookmarked_seqs(&self) -> Result<HashSet<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq FROM messages WHERE is_bookmarked = 1")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<HashSet<i64>>>()?)
    }

    /// BM25-ranked (`seq`, bm25; lower is better) hits of an FTS5 query (see
    /// [`super::fts_query_any`]) under `filters`.
    pub fn fts_ranked(
        &self,
        fts_query: &str,
        filters: &SearchFilters,
        limit: usize,
    ) -> Result<Vec<(i64, f64)>> {
        let conversation = filters
            .conversation_id
            .as_deref()
            .map(|id| normalize_id("conversation", id))
            .transpose()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.rowid, bm25(messages_fts) AS rank
             FROM messages_fts f JOIN messages m ON m.seq = f.rowid
             WHERE messages_fts MATCH ?1
               AND (?2 IS NULL OR m.conversation_id = ?2)
               AND (?3 IS NULL OR m.sender = ?3)
               AND (?4 IS NULL OR m.timestamp >= ?4)
               AND (?5 IS NULL OR m.timestamp < ?5)
               AND (?6 = 0 OR m.is_bookmarked = 1)
             ORDER BY rank LIMIT ?7",
        )?;
        let rows = stmt.query_map(
            params![
                fts_query,
                conversation,
                filters.sender,
                filters.from,
                filters.to,
                filters.bookmarked_only,
                limit as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Each message's place in its conversation: its conversation, its time and the seq of
    /// the turn after it (search gives that turn part of this one's word score). Missing seqs
    /// are absent.
    pub fn turn_context(&self, seqs: &[i64]) -> Result<Vec<TurnContext>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.seq, m.conversation_id, m.timestamp,
                (SELECT n.seq FROM messages n
                 WHERE n.conversation_id = m.conversation_id
                   AND (n.timestamp, n.seq) > (m.timestamp, m.seq)
                 ORDER BY n.timestamp, n.seq LIMIT 1)
             FROM messages m WHERE m.seq IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = stmt.query_map([serde_json::to_string(seqs)?], |r| {
            Ok(TurnContext {
                seq: r.get(0)?,
                conversation_id: r.get(1)?,
                timestamp: r.get(2)?,
                next: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The turn before each of these messages in its conversation (by message id), its text
    /// cut to [`TURN_CHARS`] characters. Messages that open their conversation are absent.
    pub fn previous_turns(&self, message_ids: &[String]) -> Result<HashMap<String, Turn>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT m.id, p.id, p.sender, p.timestamp, substr(p.content, 1, ?2)
             FROM messages m JOIN messages p ON p.seq = ({PREVIOUS_TURN})
             WHERE m.id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = stmt.query_map(
            params![serde_json::to_string(message_ids)?, TURN_CHARS as i64 + 1],
            |r| {
                let mut content: String = r.get(4)?;
                if content.chars().count() > TURN_CHARS {
                    content = content.chars().take(TURN_CHARS).collect::<String>() + "…";
                }
                Ok((
                    r.get::<_, String>(0)?,
                    Turn {
                        message_id: r.get(1)?,
                        sender: r.get(2)?,
                        timestamp: r.get(3)?,
                        content,
                    },
                ))
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// BM25-ranked (conversation id, bm25; lower is better) conversations whose title,
    /// summary or topics match an FTS5 query (see [`super::fts_query_any`]). The title
    /// weighs most; a summary is long and says much, so it weighs less.
    pub fn conversations_ranked(
        &self,
        fts_query: &str,
        limit: usize,
    ) -> Result<Vec<(String, f64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.conversation_id, bm25(conversations_fts, 0.0, 1.0, 0.5, 0.7) AS rank
             FROM conversations_fts f JOIN conversations c ON c.id = f.conversation_id
             WHERE conversations_fts MATCH ?1
             ORDER BY rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![fts_query, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Messages by seq with their conversation's title and summary (seqs that no longer
    /// exist are absent).
    pub fn messages_by_seq(&self, seqs: &[i64]) -> Result<Vec<(i64, Message, String)>> {
        let sql = format!(
            "SELECT {COLUMNS}, c.title FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             WHERE m.seq IN (SELECT value FROM json_each(?1))",
            COLUMNS = messages::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([serde_json::to_string(seqs)?], |r| {
            Ok((r.get(9)?, messages::from_row(r)?, r.get(messages::AFTER)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
