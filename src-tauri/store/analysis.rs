//! Conversation analysis: the 1:1 analysis row, its action items (rows the user can tick off)
//! and the analysis job status (pending → running → done | failed), which survives restarts.
use rusqlite::{params, OptionalExtension};

use super::{
    normalize_id, ActionItem, ActionItemEntry, AnalysisProgress, AnalysisState, AnalysisStatus,
    ConversationAnalysis, Millis, NewAnalysis, Owner, Sentiment, Status, Store,
};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// Longest action item text kept, in characters.
const MAX_ITEM_CHARS: usize = 1000;

fn item_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Store {
    /// Writes an analysis (and the conversation's summary) and marks the job done, in one
    /// transaction. Re-analysing keeps the done flag of items whose text did not change.
    pub fn put_analysis(
        &self,
        conversation_id: &str,
        analysis: &NewAnalysis,
        model: &str,
    ) -> Result<ConversationAnalysis> {
        self.put_checked_analysis(conversation_id, analysis, model, &[])
    }

    /// [`put_analysis`](Self::put_analysis) with what its checks found wrong with it
    /// (`analysis::doubts`): an analysis in doubt is kept but left out of the charts.
    pub fn put_checked_analysis(
        &self,
        conversation_id: &str,
        analysis: &NewAnalysis,
        model: &str,
        doubts: &[String],
    ) -> Result<ConversationAnalysis> {
        let id = normalize_id("conversation", conversation_id)?;
        self.get_conversation(&id)?;
        self.transaction(|s| {
            let done_before = s.done_item_keys(&id)?;
            s.write_analysis(&id, analysis, model, doubts, now_ms(), |_, text| {
                done_before.contains(&item_key(text))
            })
        })
    }

    /// Puts back an analysis from a backup as it was (its time, doubts and items' done flags), unless
    /// the conversation already has one. Returns whether it was written.
    pub fn restore_analysis(
        &self,
        conversation_id: &str,
        analysis: &NewAnalysis,
        model: &str,
        created_at: Millis,
        doubts: &[String],
        done: &[bool],
    ) -> Result<bool> {
        let id = normalize_id("conversation", conversation_id)?;
        if self.get_analysis(&id)?.is_some() {
            return Ok(false);
        }
        crate::time::check_time(created_at).map_err(Error::Invalid)?;
        self.write_analysis(&id, analysis, model, doubts, created_at, |position, _| {
            done.get(position).copied().unwrap_or(false)
        })?;
        Ok(true)
    }

    /// Writes another device's analysis (sync) over this one's: its time, model and doubts
    /// as they are; an item is done if it is done there (`done`, by position) or was done
    /// here with the same text. The caller holds a transaction.
    pub(crate) fn apply_analysis(
        &self,
        conversation_id: &str,
        analysis: &NewAnalysis,
        model: &str,
        created_at: Millis,
        doubts: &[String],
        done: &[bool],
    ) -> Result<ConversationAnalysis> {
        crate::time::check_time(created_at).map_err(Error::Invalid)?;
        let done_here = self.done_item_keys(conversation_id)?;
        self.write_analysis(
            conversation_id,
            analysis,
            model,
            doubts,
            created_at,
            |position, text| {
                done.get(position).copied().unwrap_or(false) || done_here.contains(&item_key(text))
            },
        )
    }

    /// The items of a conversation ticked off, by their text's key (`item_key`): what a new
    /// analysis keeps ticked.
    fn done_item_keys(&self, conversation_id: &str) -> Result<std::collections::HashSet<String>> {
        Ok(self
            .action_items(conversation_id)?
            .into_iter()
            .filter(|i| i.done)
            .map(|i| item_key(&i.text))
            .collect())
    }

    /// Writes the analysis row, its action items (done as `done_of(position, text)` says), the
    /// summary, and marks the job done. The caller holds a transaction.
    fn write_analysis(
        &self,
        id: &str,
        analysis: &NewAnalysis,
        model: &str,
        doubts: &[String],
        now: Millis,
        done_of: impl Fn(usize, &str) -> bool,
    ) -> Result<ConversationAnalysis> {
        let s = self;
        s.conn
            .prepare_cached(
                "INSERT INTO conversation_analysis (conversation_id, sentiment, sentiment_score,
                     topics, key_points, model, created_at, doubts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (conversation_id) DO UPDATE SET
                     sentiment = excluded.sentiment, sentiment_score = excluded.sentiment_score,
                     topics = excluded.topics, key_points = excluded.key_points,
                     model = excluded.model, created_at = excluded.created_at,
                     doubts = excluded.doubts",
            )?
            .execute(params![
                id,
                analysis.sentiment,
                analysis.sentiment_score.clamp(-1.0, 1.0),
                serde_json::to_string(&analysis.topics)?,
                serde_json::to_string(&analysis.key_points)?,
                model,
                now,
                serde_json::to_string(doubts)?
            ])?;
        s.conn
            .prepare_cached("DELETE FROM action_items WHERE conversation_id = ?1")?
            .execute([&id])?;
        let mut insert = s.conn.prepare_cached(
            "INSERT INTO action_items (conversation_id, position, text, owner, done, done_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (position, item) in analysis.action_items.iter().enumerate() {
            let text: String = item.text.trim().chars().take(MAX_ITEM_CHARS).collect();
            if text.is_empty() {
                continue;
            }
            let done = done_of(position, &text);
            insert.execute(params![
                id,
                position as i64,
                text,
                item.owner,
                done,
                done.then_some(now)
            ])?;
        }
        s.set_summary(id, Some(analysis.summary.trim()))?;
        s.set_analysis_state(id, AnalysisState::Done, None)?;
        s.get_analysis(id)?
            .ok_or_else(|| Error::Internal("the analysis was not stored".into()))
    }

    pub fn get_analysis(&self, conversation_id: &str) -> Result<Option<ConversationAnalysis>> {
        let id = normalize_id("conversation", conversation_id)?;
        let row = self
            .conn
            .prepare_cached(
                "SELECT a.sentiment, a.sentiment_score, a.topics, a.key_points, a.model,
                        a.created_at, c.summary, a.doubts
                 FROM conversation_analysis a JOIN conversations c ON c.id = a.conversation_id
                 WHERE a.conversation_id = ?1",
            )?
            .query_row([&id], |r| {
                Ok((
                    (
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<f64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ),
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .optional()?;
        let Some((
            (sentiment, sentiment_score, topics, key_points),
            model,
            created_at,
            summary,
            doubts,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(ConversationAnalysis {
            action_items: self.action_items(&id)?,
            conversation_id: id,
            summary,
            sentiment: sentiment.as_deref().and_then(Sentiment::parse),
            sentiment_score,
            topics: serde_json::from_str(&topics).unwrap_or_default(),
            key_points: serde_json::from_str(&key_points).unwrap_or_default(),
            model,
            created_at,
            doubts: serde_json::from_str(&doubts).unwrap_or_default(),
        }))
    }

    /// The action items of one conversation, in the analyzer's order.
    pub fn action_items(&self, conversation_id: &str) -> Result<Vec<ActionItem>> {
        let id = normalize_id("conversation", conversation_id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, conversation_id, text, owner, done FROM action_items
             WHERE conversation_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([&id], item_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Action items across all conversations: open ones first, then newest conversation first.
    pub fn list_action_items(&self, open_only: bool, limit: usize) -> Result<Vec<ActionItemEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, i.conversation_id, i.text, i.owner, i.done, c.title,
                    coalesce(c.end_time, c.start_time)
             FROM action_items i JOIN conversations c ON c.id = i.conversation_id
             WHERE (?1 = 0 OR i.done = 0)
             ORDER BY i.done, coalesce(c.end_time, c.start_time) DESC, i.conversation_id, i.position
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![open_only, limit.max(1) as i64], |r| {
            Ok(ActionItemEntry {
                item: item_from_row(r)?,
                conversation_title: r.get(5)?,
                conversation_time: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn set_action_item_done(&self, item_id: i64, done: bool) -> Result<ActionItem> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE action_items SET done = ?2,
                     done_at = CASE WHEN ?2 THEN coalesce(done_at, ?3) END
                 WHERE id = ?1",
            )?
            .execute(params![item_id, done, now_ms()])?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "action item",
                id: item_id.to_string(),
            });
        }
        Ok(self.conn.query_row(
            "SELECT id, conversation_id, text, owner, done FROM action_items WHERE id = ?1",
            [item_id],
            item_from_row,
        )?)
    }

    pub fn analysis_status(&self, conversation_id: &str) -> Result<AnalysisStatus> {
        let id = normalize_id("conversation", conversation_id)?;
        let row = self
            .conn
            .prepare_cached(
                "SELECT status, error, updated_at FROM analysis_jobs WHERE conversation_id = ?1",
            )?
            .query_row([&id], |r| {
                Ok((
                    r.get::<_, AnalysisState>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?;
        Ok(match row {
            Some((state, error, updated_at)) => AnalysisStatus {
                conversation_id: id,
                state,
                error,
                updated_at: Some(updated_at),
            },
            None => {
                // Imported analyses have no job row: done if an analysis exists.
                let analysed = self.get_analysis(&id)?;
                AnalysisStatus {
                    conversation_id: id,
                    state: if analysed.is_some() {
                        AnalysisState::Done
                    } else {
                        AnalysisState::None
                    },
                    error: None,
                    updated_at: analysed.map(|a| a.created_at),
                }
            }
        })
    }

    pub fn set_analysis_state(
        &self,
        conversation_id: &str,
        state: AnalysisState,
        error: Option<&str>,
    ) -> Result<AnalysisStatus> {
        let id = normalize_id("conversation", conversation_id)?;
        if state == AnalysisState::None {
            self.conn
                .prepare_cached("DELETE FROM analysis_jobs WHERE conversation_id = ?1")?
                .execute([&id])?;
        } else {
            self.get_conversation(&id)?;
            self.conn
                .prepare_cached(
                    "INSERT INTO analysis_jobs (conversation_id, status, error, updated_at, writer)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (conversation_id) DO UPDATE SET
                         status = excluded.status, error = excluded.error,
                         updated_at = excluded.updated_at, writer = excluded.writer",
                )?
                .execute(params![
                    id,
                    state,
                    error,
                    now_ms(),
                    (state == AnalysisState::Running).then(|| self.writer())
                ])?;
        }
        self.analysis_status(&id)
    }

    /// Queues the analysis of an ended conversation that has messages.
    pub fn queue_analysis(&self, conversation_id: &str) -> Result<AnalysisStatus> {
        let conversation = self.get_conversation(conversation_id)?;
        if conversation.status != Status::Ended {
            return Err(Error::Invalid(
                "only an ended conversation is analysed; end it first".into(),
            ));
        }
        if conversation.message_count == 0 {
            return Err(Error::Invalid(
                "the conversation has no messages to analyse".into(),
            ));
        }
        self.set_analysis_state(&conversation.id, AnalysisState::Pending, None)
    }

    /// The queued analysis to run next: the most recently queued (a conversation just ended
    /// goes before a long "analyse all" backlog), and within one bulk queueing the newest
    /// conversation first (what people look at first).
    pub fn next_pending_analysis(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT j.conversation_id FROM analysis_jobs j
                 JOIN conversations c ON c.id = j.conversation_id
                 WHERE j.status = 'pending'
                 ORDER BY j.updated_at DESC, c.start_time DESC, c.id LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    /// Queues every ended conversation with messages and no analysis (imports, earlier
    /// failures) that is not queued or running already, in one transaction; returns how many.
    pub fn queue_unanalysed(&self) -> Result<usize> {
        self.transaction(|store| {
            let mut queued = 0;
            for id in store.conversations_without_analysis()? {
                let state = store.analysis_status(&id)?.state;
                if !matches!(state, AnalysisState::Pending | AnalysisState::Running) {
                    store.set_analysis_state(&id, AnalysisState::Pending, None)?;
                    queued += 1;
                }
            }
            Ok(queued)
        })
    }

    /// How far the analysis of the history has come (the window's "Analyse all" progress).
    pub fn analysis_progress(&self) -> Result<AnalysisProgress> {
        Ok(self.conn.query_row(
            "SELECT
                (SELECT count(*) FROM analysis_jobs WHERE status = 'pending'),
                (SELECT count(*) FROM analysis_jobs WHERE status = 'running'),
                (SELECT count(*) FROM analysis_jobs j WHERE status = 'failed'
                   AND NOT EXISTS (SELECT 1 FROM conversation_analysis a
                                   WHERE a.conversation_id = j.conversation_id)),
                (SELECT count(*) FROM conversation_analysis),
                (SELECT count(*) FROM conversations c
                 WHERE c.status = 'ended'
                   AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM conversation_analysis a WHERE a.conversation_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM analysis_jobs j WHERE j.conversation_id = c.id
                                   AND j.status IN ('pending', 'running')))",
            [],
            |r| {
                Ok(AnalysisProgress {
                    pending: r.get(0)?,
                    running: r.get(1)?,
                    failed: r.get(2)?,
                    analysed: r.get(3)?,
                    not_queued: r.get(4)?,
                })
            },
        )?)
    }

    /// Ended conversations with messages and no stored analysis (imports, failures), oldest
    /// first: what `hindsight analyze --all` works through.
    pub fn conversations_without_analysis(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id FROM conversations c
             WHERE c.status = 'ended'
               AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
               AND NOT EXISTS (SELECT 1 FROM conversation_analysis a WHERE a.conversation_id = c.id)
             ORDER BY c.start_time, c.id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionItem> {
    Ok(ActionItem {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        text: r.get(2)?,
        owner: r.get::<_, Option<Owner>>(3)?.unwrap_or(Owner::Unknown),
        done: r.get(4)?,
    })
}
