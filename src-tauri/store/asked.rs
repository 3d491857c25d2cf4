//! Questions asked of the history ("Ask your history") and what they got, newest first: the
//! Ask view's list of past questions. The excerpts are kept as the JSON the window showed
//! (message text included), so a question whose excerpts cite a deleted conversation is
//! deleted with it (a trigger): nothing of a deleted conversation stays behind here.
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Millis, Store};
use crate::error::{Error, Result};
use crate::time::now_ms;
use ts_rs::TS;

/// At most this many questions are kept (the oldest go first).
pub const MAX_ASKED: i64 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AskedQuestion {
    pub id: i64,
    pub question: String,
    pub answer: String,
    /// The cited excerpts as the answer had them (`excerpts[n-1]` is `[n]`).
    #[ts(type = "Array<Excerpt>")]
    pub excerpts: serde_json::Value,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub asked_at: Millis,
}

impl Store {
    /// Keeps a question with its answer and excerpts (a JSON array); returns it.
    pub fn save_asked(
        &self,
        question: &str,
        answer: &str,
        excerpts: &serde_json::Value,
    ) -> Result<AskedQuestion> {
        if !excerpts.is_array() {
            return Err(Error::Invalid("excerpts must be a list".into()));
        }
        self.transaction(|s| {
            // Asked again, a question moves to the top with its new answer: the list is of
            // questions, not of every time one was asked.
            s.conn
                .prepare_cached("DELETE FROM asked WHERE question = ?1 COLLATE NOCASE")?
                .execute([question.trim()])?;
            s.conn
                .prepare_cached(
                    "INSERT INTO asked (question, answer, excerpts, asked_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    question.trim(),
                    answer,
                    excerpts.to_string(),
                    now_ms()
                ])?;
            let id = s.conn.last_insert_rowid();
            s.conn
                .prepare_cached(
                    "DELETE FROM asked WHERE id NOT IN
                     (SELECT id FROM asked ORDER BY asked_at DESC, id DESC LIMIT ?1)",
                )?
                .execute([MAX_ASKED])?;
            s.asked(id)?.ok_or_else(|| Error::NotFound {
                what: "question",
                id: id.to_string(),
            })
        })
    }

    fn asked(&self, id: i64) -> Result<Option<AskedQuestion>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, question, answer, excerpts, asked_at FROM asked WHERE id = ?1",
            )?
            .query_row([id], row)
            .optional()?)
    }

    /// The newest `limit` questions, newest first.
    pub fn list_asked(&self, limit: usize) -> Result<Vec<AskedQuestion>> {
        let limit = i64::try_from(limit).unwrap_or(MAX_ASKED).min(MAX_ASKED);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, question, answer, excerpts, asked_at FROM asked
             ORDER BY asked_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn delete_asked(&self, id: i64) -> Result<()> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM asked WHERE id = ?1")?
            .execute([id])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "question",
                id: id.to_string(),
            });
        }
        Ok(())
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AskedQuestion> {
    let excerpts: String = r.get(3)?;
    Ok(AskedQuestion {
        id: r.get(0)?,
        question: r.get(1)?,
        answer: r.get(2)?,
        excerpts: serde_json::from_str(&excerpts).unwrap_or(serde_json::Value::Array(Vec::new())),
        asked_at: r.get(4)?,
    })
}
