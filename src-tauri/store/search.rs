//! What history search reads from the store: vectors for the in-memory index (loaded in
//! rowid order, so the index can catch up with new rows), BM25-ranked full-text hits under
//! the same filters, and hits turned back into messages.
use std::collections::HashSet;

use rusqlite::params;

use super::{messages, IndexRow, Message, SearchFilters, Store};
use crate::error::Result;
use crate::store::{blob_to_vector, normalize_id};

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
            Ok((r.get(9)?, messages::from_row(r)?, r.get(10)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
