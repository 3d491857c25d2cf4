//! What sync (`crate::sync`) reads and writes in the database: this device's sync state and
//! clock, the outbox the V7 triggers fill, each change's current value as a segment entry,
//! the stamps that decide which write wins, and other devices' entries applied
//! idempotently (ids make a second application a no-op).
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use super::{
    check_content, check_emoji, normalize_id, MessageState, Millis, NewActionItem, NewAnalysis,
    Owner, Sender, Sentiment, Status, Store,
};
use crate::error::{Error, Result};

/// One change in a segment: what (`kind`, `key`, `field`), when (`hlc`, the writer's hybrid
/// logical clock) and the value it set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEntry {
    pub hlc: String,
    pub kind: String,
    pub key: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

/// This device's sync state (`None` until sync is first set up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub device: String,
    /// The hybrid logical clock's last value ("" before the first change).
    pub clock: String,
    /// The number of the last segment this device published.
    pub published: i64,
}

/// A change waiting in the outbox: its value is read when it is written to a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub kind: String,
    pub key: String,
    pub field: String,
    /// When it changed here (ms), the clock's physical part.
    pub at: Millis,
}

/// What an outgoing change's current value is.
#[derive(Debug, Clone, PartialEq)]
pub enum OutgoingValue {
    Ready(Value),
    /// Not final yet (an answer still streaming): left in the outbox.
    NotYet,
    /// The row is gone (deleted before it was published; the deletion is queued itself).
    Gone,
}

/// What applying another device's entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written (or already there: a no-op).
    Done,
    /// Older than what is here, or about a deleted conversation: nothing to do.
    Superseded,
    /// What it belongs to has not arrived yet (another device's segment still on its way).
    Waiting,
}

/// Another device as this one knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncPeer {
    pub device: String,
    pub name: String,
    /// Its segments applied here, 1 to `applied`.
    pub applied: i64,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub seen_at: Option<Millis>,
    /// Why its newer segments are not applied (a file still arriving, a newer app version).
    pub problem: Option<String>,
}

#[derive(Deserialize)]
struct ConversationValue {
    title: String,
    start_time: Millis,
    status: Status,
    end_time: Option<Millis>,
}

#[derive(Deserialize)]
struct MessageValue {
    sender: Sender,
    timestamp: Millis,
    content: String,
    state: MessageState,
    error: Option<String>,
    #[serde(default)]
    bookmarked: bool,
}

#[derive(Deserialize)]
struct BodyValue {
    content: String,
    state: MessageState,
    error: Option<String>,
}

#[derive(Deserialize)]
struct FlagValue {
    conversation_id: String,
    on: bool,
    #[serde(default)]
    at: Option<Millis>,
}

#[derive(Deserialize)]
struct ItemValue {
    text: String,
    owner: Owner,
    done: bool,
}

#[derive(Deserialize)]
struct AnalysisValue {
    summary: String,
    sentiment: Sentiment,
    sentiment_score: f64,
    topics: Vec<String>,
    key_points: Vec<String>,
    model: String,
    created_at: Millis,
    #[serde(default)]
    doubts: Vec<String>,
    items: Vec<ItemValue>,
}

/// `kind` keys made of two parts (a reaction's message and emoji, an item's conversation
/// and text) join them with a newline, as the V7 triggers do.
fn split_key(key: &str) -> Result<(&str, &str)> {
    key.split_once('\n')
        .ok_or_else(|| Error::Invalid(format!("not a two-part sync key: {key:?}")))
}

fn parse<T: serde::de::DeserializeOwned>(e: &SyncEntry) -> Result<T> {
    serde_json::from_value(e.value.clone()).map_err(|err| {
        Error::Invalid(format!(
            "sync entry {}/{} of {}: {err}",
            e.kind, e.field, e.key
        ))
    })
}

impl Store {
    pub fn sync_state(&self) -> Result<Option<SyncState>> {
        Ok(self
            .conn
            .query_row(
                "SELECT device, clock, published FROM sync_state WHERE id = 1",
                [],
                |r| {
                    Ok(SyncState {
                        device: r.get(0)?,
                        clock: r.get(1)?,
                        published: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Makes this history the sync device `device`, publishing nothing yet: from now on the
    /// triggers queue every change, and every row already here is queued, so the device's
    /// first segments carry the whole history. Also how a history becomes a *new* device
    /// (its folder holds segments this database never wrote: a restored backup, a copied
    /// data folder): the stamps and what was applied from others are kept. The caller holds
    /// a transaction.
    pub fn sync_start(&self, device: &str) -> Result<SyncState> {
        {
            let s = self;
            s.conn.execute(
                "INSERT INTO sync_state (id, device) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET device = excluded.device, published = 0,
                                                applying = 0",
                [device],
            )?;
            s.conn.execute_batch(
                "INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'conversation', id, 'created', start_time FROM conversations;
                 INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'conversation', key, 'deleted', 0 FROM sync_stamps
                     WHERE kind = 'conversation' AND field = 'deleted';
                 INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'message', id, 'created', timestamp FROM messages;
                 INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'reaction', message_id || char(10) || emoji, 'on', added_at
                     FROM reactions;
                 INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'analysis', conversation_id, 'analysis', created_at
                     FROM conversation_analysis;
                 INSERT OR REPLACE INTO sync_outbox (kind, key, field, at)
                     SELECT 'item', conversation_id || char(10) || text, 'done',
                            coalesce(done_at, 0)
                     FROM action_items WHERE done = 1;",
            )?;
            s.sync_state()?
                .ok_or_else(|| Error::Internal("the sync state was not stored".into()))
        }
    }

    /// Every change waiting to be published, in the order they happened (their stamps must
    /// follow it: a later edit gets the later clock), creations first among equals.
    pub fn sync_outbox(&self) -> Result<Vec<Outgoing>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, key, field, at FROM sync_outbox
             ORDER BY at, CASE WHEN field <> 'created' THEN 2 WHEN kind = 'conversation' THEN 0
                               ELSE 1 END",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Outgoing {
                kind: r.get(0)?,
                key: r.get(1)?,
                field: r.get(2)?,
                at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The outbox's size and its newest change: a change here moves one of them.
    pub fn sync_outbox_mark(&self) -> Result<(i64, Millis)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(max(at), 0) FROM sync_outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// The current value of an outgoing change, as a segment carries it.
    pub fn sync_value(&self, o: &Outgoing) -> Result<OutgoingValue> {
        use OutgoingValue::{Gone, NotYet, Ready};
        let c = &self.conn;
        let value = match (o.kind.as_str(), o.field.as_str()) {
            ("conversation", "created") => c
                .query_row(
                    "SELECT title, start_time, status, end_time FROM conversations WHERE id = ?1",
                    [&o.key],
                    |r| {
                        Ok(json!({"title": r.get::<_, String>(0)?, "start_time": r.get::<_, i64>(1)?,
                                  "status": r.get::<_, String>(2)?, "end_time": r.get::<_, Option<i64>>(3)?}))
                    },
                )
                .optional()?,
            ("conversation", "title") => c
                .query_row("SELECT title FROM conversations WHERE id = ?1", [&o.key], |r| {
                    Ok(json!({"title": r.get::<_, String>(0)?}))
                })
                .optional()?,
            ("conversation", "lifecycle") => c
                .query_row(
                    "SELECT status, end_time FROM conversations WHERE id = ?1",
                    [&o.key],
                    |r| Ok(json!({"status": r.get::<_, String>(0)?, "end_time": r.get::<_, Option<i64>>(1)?})),
                )
                .optional()?,
            ("conversation", "deleted") => {
                let exists: bool = c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?1)",
                    [&o.key],
                    |r| r.get(0),
                )?;
                (!exists).then(|| json!({}))
            }
            ("message", field @ ("created" | "body" | "bookmark")) => {
                let row = c
                    .query_row(
                        "SELECT conversation_id, sender, timestamp, content, state, error,
                                is_bookmarked
                         FROM messages WHERE id = ?1",
                        [&o.key],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, i64>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, MessageState>(4)?,
                                r.get::<_, Option<String>>(5)?,
                                r.get::<_, bool>(6)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((conv, sender, timestamp, content, state, error, bookmarked)) = row else {
                    return Ok(Gone);
                };
                if state == MessageState::Streaming && field != "bookmark" {
                    return Ok(NotYet);
                }
                Some(match field {
                    "created" => json!({"conversation_id": conv, "sender": sender,
                        "timestamp": timestamp, "content": content, "state": state,
                        "error": error, "bookmarked": bookmarked}),
                    "body" => json!({"conversation_id": conv, "content": content,
                        "state": state, "error": error}),
                    _ => json!({"conversation_id": conv, "on": bookmarked}),
                })
            }
            ("reaction", "on") => {
                let (message, emoji) = split_key(&o.key)?;
                let conv: Option<String> = c
                    .query_row(
                        "SELECT conversation_id FROM messages WHERE id = ?1",
                        [message],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(conv) = conv else { return Ok(Gone) };
                let added: Option<i64> = c
                    .query_row(
                        "SELECT added_at FROM reactions WHERE message_id = ?1 AND emoji = ?2",
                        [message, emoji],
                        |r| r.get(0),
                    )
                    .optional()?;
                Some(json!({"conversation_id": conv, "on": added.is_some(), "at": added}))
            }
            ("analysis", "analysis") => match self.get_analysis(&o.key)? {
                None => None,
                Some(a) => Some(json!({
                    "summary": a.summary.unwrap_or_default(),
                    "sentiment": a.sentiment.unwrap_or(Sentiment::Neutral),
                    "sentiment_score": a.sentiment_score.unwrap_or(0.0),
                    "topics": a.topics, "key_points": a.key_points, "model": a.model,
                    "created_at": a.created_at, "doubts": a.doubts,
                    "items": a.action_items.iter().map(|i| json!({
                        "text": i.text, "owner": i.owner, "done": i.done})).collect::<Vec<_>>(),
                })),
            },
            ("item", "done") => {
                let (conv, text) = split_key(&o.key)?;
                c.query_row(
                    "SELECT done, done_at FROM action_items
                     WHERE conversation_id = ?1 AND text = ?2 LIMIT 1",
                    [conv, text],
                    |r| Ok(json!({"conversation_id": conv, "on": r.get::<_, bool>(0)?,
                                  "at": r.get::<_, Option<i64>>(1)?})),
                )
                .optional()?
            }
            _ => None,
        };
        Ok(value.map_or(Gone, Ready))
    }

    /// Everything this history holds, as the entries a snapshot carries (`sync::compact`): every
    /// conversation, message, reaction, analysis and ticked item, every deletion, and every
    /// field written since its creation, each with the stamp of the write that set it (a value
    /// that came with its row has none: `None`, older than any stamp). Read in the caller's
    /// transaction, so it is one moment's state.
    pub fn sync_snapshot(&self) -> Result<Vec<(Outgoing, Option<String>)>> {
        let mut stmt = self.conn.prepare(
            "WITH rows (kind, key, field, at) AS (
                 SELECT 'conversation', id, 'created', start_time FROM conversations
                 UNION ALL SELECT 'message', id, 'created', timestamp FROM messages
                 UNION ALL SELECT 'reaction', message_id || char(10) || emoji, 'on', added_at
                           FROM reactions
                 UNION ALL SELECT 'analysis', conversation_id, 'analysis', created_at
                           FROM conversation_analysis
                 UNION ALL SELECT 'item', conversation_id || char(10) || text, 'done',
                                  coalesce(done_at, 0)
                           FROM action_items WHERE done = 1
                 UNION ALL SELECT kind, key, field, 0 FROM sync_stamps)
             SELECT r.kind, r.key, r.field, max(r.at), s.hlc
             FROM rows r LEFT JOIN sync_stamps s
                  ON s.kind = r.kind AND s.key = r.key AND s.field = r.field
             GROUP BY r.kind, r.key, r.field
             ORDER BY CASE WHEN r.field <> 'created' THEN 2 WHEN r.kind = 'conversation' THEN 0
                           ELSE 1 END",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                Outgoing {
                    kind: r.get(0)?,
                    key: r.get(1)?,
                    field: r.get(2)?,
                    at: r.get(3)?,
                },
                r.get(4)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records a segment as published, in the caller's transaction: its number, the clock
    /// after it, the stamps of the fields it set, and the outbox rows it (or their being
    /// gone) settled — only those not changed again since they were read.
    pub fn sync_published(
        &self,
        seq: i64,
        clock: &str,
        sent: &[SyncEntry],
        settled: &[Outgoing],
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET published = ?1, clock = max(clock, ?2) WHERE id = 1",
            params![seq, clock],
        )?;
        let mut stamp = self.conn.prepare_cached(
            "INSERT INTO sync_stamps (kind, key, field, hlc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO UPDATE SET hlc = max(hlc, excluded.hlc)",
        )?;
        for e in sent.iter().filter(|e| e.field != "created") {
            stamp.execute(params![e.kind, e.key, e.field, e.hlc])?;
        }
        let mut done = self.conn.prepare_cached(
            "DELETE FROM sync_outbox WHERE kind = ?1 AND key = ?2 AND field = ?3 AND at = ?4",
        )?;
        for o in settled {
            done.execute(params![o.kind, o.key, o.field, o.at])?;
        }
        Ok(())
    }

    /// Moves the clock forward to `clock` if it is behind (another device's changes seen).
    pub fn sync_observe_clock(&self, clock: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET clock = max(clock, ?1) WHERE id = 1",
            [clock],
        )?;
        Ok(())
    }

    /// Marks the caller's transaction as applying others' changes (the triggers then queue
    /// nothing). Cleared before the transaction commits.
    pub fn sync_applying(&self, on: bool) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET applying = ?1 WHERE id = 1", [on])?;
        Ok(())
    }

    pub fn sync_peers(&self) -> Result<Vec<SyncPeer>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device, name, applied, seen_at, problem FROM sync_peers ORDER BY name, device",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SyncPeer {
                device: r.get(0)?,
                name: r.get(1)?,
                applied: r.get(2)?,
                seen_at: r.get(3)?,
                problem: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn sync_put_peer(&self, p: &SyncPeer) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_peers (device, name, applied, seen_at, problem)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (device) DO UPDATE SET name = excluded.name, applied = excluded.applied,
                 seen_at = excluded.seen_at, problem = excluded.problem",
            params![p.device, p.name, p.applied, p.seen_at, p.problem],
        )?;
        Ok(())
    }

    fn sync_deleted(&self, conversation_id: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sync_stamps
                            WHERE kind = 'conversation' AND key = ?1 AND field = 'deleted')",
            [conversation_id],
            |r| r.get(0),
        )?)
    }

    fn exists(&self, sql: &str, id: &str) -> Result<bool> {
        Ok(self.conn.query_row(sql, [id], |r| r.get(0))?)
    }

    fn conversation_exists(&self, id: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?1)",
            id,
        )
    }

    fn message_exists(&self, id: &str) -> Result<bool> {
        self.exists("SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1)", id)
    }

    /// Whether `e` is the newest write of its field here, and if so records its stamp: a
    /// field with a change of this device's still in the outbox keeps that change (it will
    /// be published with a newer clock than anything seen so far).
    fn sync_wins(&self, e: &SyncEntry) -> Result<bool> {
        let newer: bool = self.conn.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM sync_outbox
                                WHERE kind = ?1 AND key = ?2 AND field = ?3)
                AND NOT EXISTS (SELECT 1 FROM sync_stamps
                                WHERE kind = ?1 AND key = ?2 AND field = ?3 AND hlc >= ?4)",
            params![e.kind, e.key, e.field, e.hlc],
            |r| r.get(0),
        )?;
        if newer {
            self.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO sync_stamps (kind, key, field, hlc)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![e.kind, e.key, e.field, e.hlc])?;
        }
        Ok(newer)
    }

    /// Where a change to something in conversation `conv` stands before it is applied:
    /// `Some` when there is nothing to write (the conversation was deleted, or has not
    /// arrived yet).
    fn sync_parent(&self, conv: &str, present: bool) -> Result<Option<Applied>> {
        if self.sync_deleted(conv)? {
            return Ok(Some(Applied::Superseded));
        }
        Ok((!present).then_some(Applied::Waiting))
    }

    /// Applies another device's entry, in the caller's transaction (with
    /// [`sync_applying`](Self::sync_applying) on). An entry that does not parse or breaks a
    /// limit is refused with [`Error::Invalid`] and writes nothing.
    pub fn sync_apply(&self, e: &SyncEntry) -> Result<Applied> {
        let c = &self.conn;
        match (e.kind.as_str(), e.field.as_str()) {
            ("conversation", field) => {
                let id = normalize_id("conversation", &e.key)?;
                if field == "deleted" {
                    c.execute(
                        "INSERT INTO sync_stamps (kind, key, field, hlc)
                         VALUES ('conversation', ?1, 'deleted', ?2)
                         ON CONFLICT DO UPDATE SET hlc = min(hlc, excluded.hlc)",
                        params![id, e.hlc],
                    )?;
                    c.execute("DELETE FROM conversations WHERE id = ?1", [&id])?;
                    c.execute(
                        "DELETE FROM sync_outbox WHERE kind = 'conversation' AND key = ?1
                                                   AND field <> 'deleted'",
                        [&id],
                    )?;
                    return Ok(Applied::Done);
                }
                if self.sync_deleted(&id)? {
                    return Ok(Applied::Superseded);
                }
                if field == "created" {
                    let v: ConversationValue = parse(e)?;
                    check_title(&v.title)?;
                    crate::time::check_time(v.start_time).map_err(Error::Invalid)?;
                    c.execute(
                        "INSERT INTO conversations (id, title, status, start_time, end_time)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                        params![id, v.title.trim(), v.status, v.start_time, v.end_time],
                    )?;
                    return Ok(Applied::Done);
                }
                if !self.conversation_exists(&id)? {
                    return Ok(Applied::Waiting);
                }
                match field {
                    "title" => {
                        let title: String = serde_json::from_value(e.value["title"].clone())?;
                        check_title(&title)?;
                        if self.sync_wins(e)? {
                            c.execute(
                                "UPDATE conversations SET title = ?2 WHERE id = ?1",
                                params![id, title.trim()],
                            )?;
                        }
                    }
                    "lifecycle" => {
                        #[derive(Deserialize)]
                        struct Lifecycle {
                            status: Status,
                            end_time: Option<Millis>,
                        }
                        let v: Lifecycle = parse(e)?;
                        if self.sync_wins(e)? {
                            c.execute(
                                "UPDATE conversations SET status = ?2, end_time = ?3
                                 WHERE id = ?1 AND (?3 IS NULL OR ?3 >= start_time)",
                                params![id, v.status, v.end_time],
                            )?;
                        }
                    }
                    _ => return Err(unknown(e)),
                }
                Ok(Applied::Done)
            }
            ("message", field) => {
                let id = normalize_id("message", &e.key)?;
                let conv = e.value["conversation_id"].as_str().unwrap_or_default();
                let conv = normalize_id("conversation", conv)?;
                let present = self.message_exists(&id)?;
                if field == "created" {
                    if present {
                        return Ok(Applied::Done);
                    }
                    let conversation_here = self.conversation_exists(&conv)?;
                    if let Some(a) = self.sync_parent(&conv, conversation_here)? {
                        return Ok(a);
                    }
                    let v: MessageValue = parse(e)?;
                    check_content(&v.content)?;
                    check_final(v.state)?;
                    crate::time::check_time(v.timestamp).map_err(Error::Invalid)?;
                    c.execute(
                        "INSERT INTO messages (id, conversation_id, content, sender, timestamp,
                                               state, error, is_bookmarked)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            id,
                            conv,
                            v.content,
                            v.sender,
                            v.timestamp,
                            v.state,
                            v.error,
                            v.bookmarked
                        ],
                    )?;
                    return Ok(Applied::Done);
                }
                if let Some(a) = self.sync_parent(&conv, present)? {
                    return Ok(a);
                }
                match field {
                    "body" => {
                        let v: BodyValue = parse(e)?;
                        check_content(&v.content)?;
                        check_final(v.state)?;
                        if self.sync_wins(e)? {
                            c.execute(
                                "UPDATE messages SET content = ?2, state = ?3, error = ?4
                                 WHERE id = ?1",
                                params![id, v.content, v.state, v.error],
                            )?;
                        }
                    }
                    "bookmark" => {
                        let v: FlagValue = parse(e)?;
                        if self.sync_wins(e)? {
                            c.execute(
                                "UPDATE messages SET is_bookmarked = ?2 WHERE id = ?1",
                                params![id, v.on],
                            )?;
                        }
                    }
                    _ => return Err(unknown(e)),
                }
                Ok(Applied::Done)
            }
            ("reaction", "on") => {
                let (message, emoji) = split_key(&e.key)?;
                let message = normalize_id("message", message)?;
                let emoji = check_emoji(emoji)?;
                let v: FlagValue = parse(e)?;
                let conv = normalize_id("conversation", &v.conversation_id)?;
                if let Some(a) = self.sync_parent(&conv, self.message_exists(&message)?)? {
                    return Ok(a);
                }
                if self.sync_wins(e)? {
                    if v.on {
                        c.execute(
                            "INSERT OR IGNORE INTO reactions (message_id, emoji, added_at)
                             VALUES (?1, ?2, ?3)",
                            params![message, emoji, v.at.unwrap_or_else(crate::time::now_ms)],
                        )?;
                    } else {
                        c.execute(
                            "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2",
                            params![message, emoji],
                        )?;
                    }
                }
                Ok(Applied::Done)
            }
            ("analysis", "analysis") => {
                let conv = normalize_id("conversation", &e.key)?;
                if let Some(a) = self.sync_parent(&conv, self.conversation_exists(&conv)?)? {
                    return Ok(a);
                }
                let v: AnalysisValue = parse(e)?;
                crate::time::check_time(v.created_at).map_err(Error::Invalid)?;
                if self.sync_wins(e)? {
                    let analysis = NewAnalysis {
                        summary: v.summary,
                        sentiment: v.sentiment,
                        sentiment_score: v.sentiment_score,
                        topics: v.topics,
                        key_points: v.key_points,
                        action_items: v
                            .items
                            .iter()
                            .map(|i| NewActionItem {
                                text: i.text.clone(),
                                owner: i.owner,
                            })
                            .collect(),
                    };
                    let done: Vec<bool> = v.items.iter().map(|i| i.done).collect();
                    self.apply_analysis(
                        &conv,
                        &analysis,
                        &v.model,
                        v.created_at,
                        &v.doubts,
                        &done,
                    )?;
                }
                Ok(Applied::Done)
            }
            ("item", "done") => {
                let (conv, text) = split_key(&e.key)?;
                let conv = normalize_id("conversation", conv)?;
                let v: FlagValue = parse(e)?;
                if let Some(a) = self.sync_parent(&conv, self.conversation_exists(&conv)?)? {
                    return Ok(a);
                }
                if self.sync_wins(e)? {
                    c.execute(
                        "UPDATE action_items SET done = ?3, done_at = CASE WHEN ?3 THEN ?4 END
                         WHERE conversation_id = ?1 AND text = ?2",
                        params![conv, text, v.on, v.at],
                    )?;
                }
                Ok(Applied::Done)
            }
            _ => Err(unknown(e)),
        }
    }
}

fn unknown(e: &SyncEntry) -> Error {
    Error::Invalid(format!("unknown sync entry {}/{}", e.kind, e.field))
}

fn check_title(title: &str) -> Result<()> {
    let n = title.trim().chars().count();
    if n == 0 || n > super::MAX_TITLE_CHARS {
        return Err(Error::Invalid(format!(
            "a synced title must be 1 to {} characters",
            super::MAX_TITLE_CHARS
        )));
    }
    Ok(())
}

/// Only finished messages travel: a `streaming` one is still being written by its device.
fn check_final(state: MessageState) -> Result<()> {
    if state == MessageState::Streaming {
        return Err(Error::Invalid(
            "a synced message cannot be still streaming".into(),
        ));
    }
    Ok(())
}
