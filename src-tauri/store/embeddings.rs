//! Message embeddings (little-endian f32 BLOBs tagged with their model) and key/value settings.
use rusqlite::{params, OptionalExtension};

use super::search::PREVIOUS_TURN;
use super::{normalize_id, Embedding, Store, ToEmbed};
use crate::error::{Error, Result};
use crate::time::now_ms;

pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Result<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(Error::Invalid(format!(
            "embedding blob of {} bytes is not f32s",
            b.len()
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl Store {
    pub fn put_embedding(&self, message_id: &str, model: &str, vector: &[f32]) -> Result<()> {
        let id = normalize_id("message", message_id)?;
        if vector.is_empty() {
            return Err(Error::Invalid("an embedding cannot be empty".into()));
        }
        self.conn
            .prepare_cached(
                "INSERT INTO embeddings (message_id, model, dim, vector, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (message_id, model) DO UPDATE SET
                     dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at",
            )?
            .execute(params![id, model, vector.len() as i64, vector_to_blob(vector), now_ms()])
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => {
                    Error::NotFound { what: "message", id: id.clone() }
                }
                _ => e.into(),
            })?;
        Ok(())
    }

    pub fn get_embedding(&self, message_id: &str, model: &str) -> Result<Option<Embedding>> {
        let id = normalize_id("message", message_id)?;
        let blob: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE message_id = ?1 AND model = ?2")?
            .query_row(params![id, model], |r| r.get(0))
            .optional()?;
        blob.map(|b| {
            Ok(Embedding {
                message_id: id.clone(),
                model: model.to_owned(),
                vector: blob_to_vector(&b)?,
            })
        })
        .transpose()
    }

    /// Ids of messages (oldest first) that have no embedding for `model`.
    pub fn messages_without_embedding(&self, model: &str, limit: usize) -> Result<Vec<String>> {
        Ok(self
            .messages_to_embed(model, i64::MIN, limit)?
            .into_iter()
            .map(|m| m.id)
            .collect())
    }

    /// Messages after `after_seq` (in insertion order) that have no embedding for `model`. An
    /// answer still streaming waits until it is finished.
    pub fn messages_to_embed(
        &self,
        model: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<ToEmbed>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT m.seq, m.id, m.content,
                (SELECT substr(p.content, 1, ?4) FROM messages p WHERE p.seq = ({PREVIOUS_TURN}))
             FROM messages m
             WHERE m.seq > ?1 AND m.state <> 'streaming'
               AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.message_id = m.id AND e.model = ?2)
             ORDER BY m.seq LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                after_seq,
                model,
                limit as i64,
                crate::embed::CONTEXT_CHARS as i64
            ],
            |r| {
                Ok(ToEmbed {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    content: r.get(2)?,
                    previous: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn count_without_embedding(&self, model: &str) -> Result<usize> {
        let n: i64 = self.conn.prepare_cached(
            "SELECT count(*) FROM messages m
             WHERE m.state <> 'streaming' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.message_id = m.id AND e.model = ?1)",
        )?
        .query_row([model], |r| r.get(0))?;
        Ok(n as usize)
    }

    pub fn count_embeddings(&self, model: &str) -> Result<usize> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM embeddings WHERE model = ?1")?
            .query_row([model], |r| r.get(0))?;
        Ok(n as usize)
    }

    pub fn get_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let v: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        Ok(v.map(|v| serde_json::from_str(&v)).transpose()?)
    }

    /// A setting read as `T`, its default when never saved.
    pub fn setting_or_default<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<T> {
        Ok(self
            .get_setting(key)?
            .map(serde_json::from_value)
            .transpose()?
            .unwrap_or_default())
    }

    pub fn put_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value.to_string()])?;
        Ok(())
    }
}
