//! Versioned schema migrations (tracked in SQLite's `user_version` by rusqlite_migration).
//! Append new migrations; never edit one that has shipped.
use rusqlite_migration::{Migrations, M};

/// v1: conversations, messages (+ FTS5 index kept in sync by triggers), reactions, embeddings,
/// conversation analysis, settings.
const V1: &str = r#"
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    start_time  INTEGER NOT NULL,           -- ms since epoch, UTC
    end_time    INTEGER,
    CHECK (end_time IS NULL OR end_time >= start_time)
) STRICT;
CREATE INDEX conversations_start_time ON conversations (start_time DESC, id DESC);
CREATE INDEX conversations_end_time ON conversations (end_time);
CREATE INDEX conversations_status ON conversations (status, start_time DESC);

CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY,    -- insertion order; the FTS rowid
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    content         TEXT NOT NULL,
    sender          TEXT NOT NULL CHECK (sender IN ('user', 'ai')),
    timestamp       INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'complete'
                    CHECK (state IN ('complete', 'streaming', 'incomplete', 'error')),
    error           TEXT,
    is_bookmarked   INTEGER NOT NULL DEFAULT 0 CHECK (is_bookmarked IN (0, 1))
) STRICT;
CREATE INDEX messages_conversation_time ON messages (conversation_id, timestamp, seq);
CREATE INDEX messages_bookmarked ON messages (timestamp DESC) WHERE is_bookmarked = 1;
CREATE INDEX messages_state ON messages (state) WHERE state <> 'complete';

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

CREATE TABLE reactions (
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji       TEXT NOT NULL CHECK (length(emoji) BETWEEN 1 AND 16),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji)
) STRICT;  -- rowid = insertion order

CREATE TABLE embeddings (
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    dim         INTEGER NOT NULL CHECK (dim > 0),
    vector      BLOB NOT NULL,              -- little-endian f32 x dim
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, model),
    CHECK (length(vector) = 4 * dim)
) STRICT;
CREATE INDEX embeddings_model ON embeddings (model);

CREATE TABLE conversation_analysis (
    conversation_id TEXT PRIMARY KEY NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sentiment       TEXT,
    sentiment_score REAL,
    topics          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(topics)),
    key_points      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(key_points)),
    action_items    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(action_items)),
    model           TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    key     TEXT PRIMARY KEY NOT NULL,
    value   TEXT NOT NULL CHECK (json_valid(value))
) STRICT;
"#;

/// v2: action items become rows (toggled done, listed across conversations) instead of a JSON
/// column, and each conversation's analysis has a job status (pending, running, done, failed)
/// that survives restarts; a message whose text changes loses its (stale) embedding.
const V2: &str = r#"
CREATE TABLE action_items (
    id              INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    text            TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    owner           TEXT NOT NULL DEFAULT 'unknown' CHECK (owner IN ('user', 'ai', 'unknown')),
    done            INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    done_at         INTEGER,
    UNIQUE (conversation_id, position)
) STRICT;
CREATE INDEX action_items_open ON action_items (done, conversation_id);

INSERT INTO action_items (conversation_id, position, text)
    SELECT a.conversation_id, CAST(j.key AS INTEGER),
           CASE j.type WHEN 'object' THEN json_extract(j.value, '$.text') ELSE CAST(j.value AS TEXT) END
    FROM conversation_analysis a, json_each(a.action_items) j
    WHERE length(CASE j.type WHEN 'object' THEN json_extract(j.value, '$.text')
                             ELSE CAST(j.value AS TEXT) END) BETWEEN 1 AND 1000;
ALTER TABLE conversation_analysis DROP COLUMN action_items;

CREATE TABLE analysis_jobs (
    conversation_id TEXT PRIMARY KEY NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    error           TEXT,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX analysis_jobs_status ON analysis_jobs (status, updated_at);

-- A vector describes the text it was made from: new text (an answer that streamed in, a
-- regenerated answer) makes it stale, and the embedding worker embeds the message again.
CREATE TRIGGER messages_embeddings_stale AFTER UPDATE OF content ON messages
WHEN old.content IS NOT new.content BEGIN
    DELETE FROM embeddings WHERE message_id = new.id;
END;
DELETE FROM embeddings WHERE message_id IN (SELECT id FROM messages WHERE state = 'streaming');
"#;

/// V3: the lease (see `store::lease`) of the process still writing a streaming answer or
/// running an analysis, so a start-up repairs only work whose process is gone.
const V3: &str = r#"
ALTER TABLE messages ADD COLUMN writer TEXT;
ALTER TABLE analysis_jobs ADD COLUMN writer TEXT;
"#;

/// V4, for search quality (issue #16, BENCHMARKS.md): the message index stems words (Porter:
/// "moved" finds "moving"); conversations get an index of their own (title, summary, topics)
/// so a question can find the conversation first (`conversation_id` is a column, not the
/// rowid: a TEXT-keyed table's rowid may change on VACUUM); a message's vector now embeds the
/// turn before it too, so the old vectors go (the worker embeds again) and a turn whose text
/// changes also makes the next turn's vector stale.
const V4: &str = r#"
DELETE FROM embeddings WHERE model = 'sentence-transformers/all-MiniLM-L6-v2';
CREATE TRIGGER messages_embeddings_next_stale AFTER UPDATE OF content ON messages
WHEN old.content IS NOT new.content BEGIN
    DELETE FROM embeddings WHERE message_id = (
        SELECT n.id FROM messages n
        WHERE n.conversation_id = new.conversation_id
          AND (n.timestamp, n.seq) > (new.timestamp, new.seq)
        ORDER BY n.timestamp, n.seq LIMIT 1);
END;
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5 (
    conversation_id UNINDEXED,
    title,
    summary,
    topics,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIEW conversations_fts_source AS
SELECT c.id AS conversation_id, c.title AS title, coalesce(c.summary, '') AS summary,
       coalesce((SELECT group_concat(t.value, ', ')
                 FROM conversation_analysis a, json_each(a.topics) t
                 WHERE a.conversation_id = c.id), '') AS topics
FROM conversations c;
INSERT INTO conversations_fts (conversation_id, title, summary, topics)
SELECT conversation_id, title, summary, topics FROM conversations_fts_source;

CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts (conversation_id, title, summary, topics)
    SELECT conversation_id, title, summary, topics FROM conversations_fts_source
    WHERE conversation_id = new.id;
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title, summary ON conversations BEGIN
    DELETE FROM conversations_fts WHERE conversation_id = new.id;
    INSERT INTO conversations_fts (conversation_id, title, summary, topics)
    SELECT conversation_id, title, summary, topics FROM conversations_fts_source
    WHERE conversation_id = new.id;
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    DELETE FROM conversations_fts WHERE conversation_id = old.id;
END;
CREATE TRIGGER conversations_fts_topics_insert AFTER INSERT ON conversation_analysis BEGIN
    DELETE FROM conversations_fts WHERE conversation_id = new.conversation_id;
    INSERT INTO conversations_fts (conversation_id, title, summary, topics)
    SELECT conversation_id, title, summary, topics FROM conversations_fts_source
    WHERE conversation_id = new.conversation_id;
END;
CREATE TRIGGER conversations_fts_topics_update AFTER UPDATE OF topics ON conversation_analysis BEGIN
    DELETE FROM conversations_fts WHERE conversation_id = new.conversation_id;
    INSERT INTO conversations_fts (conversation_id, title, summary, topics)
    SELECT conversation_id, title, summary, topics FROM conversations_fts_source
    WHERE conversation_id = new.conversation_id;
END;
CREATE TRIGGER conversations_fts_topics_delete AFTER DELETE ON conversation_analysis BEGIN
    DELETE FROM conversations_fts WHERE conversation_id = old.conversation_id;
    INSERT INTO conversations_fts (conversation_id, title, summary, topics)
    SELECT conversation_id, title, summary, topics FROM conversations_fts_source
    WHERE conversation_id = old.conversation_id;
END;
"#;

/// Version 5: what the checks found wrong with an analysis (a JSON list of reasons; `[]` for
/// analyses made before the checks, and imported ones), the questions asked of the history
/// (store/asked.rs), forgotten with any conversation their excerpts cite, and the earlier
/// versions of a regenerated answer.
const V5: &str = r#"
ALTER TABLE conversation_analysis ADD COLUMN doubts TEXT NOT NULL DEFAULT '[]';
CREATE TABLE asked (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    excerpts TEXT NOT NULL,
    asked_at INTEGER NOT NULL
);
CREATE INDEX asked_by_time ON asked (asked_at);
CREATE TABLE message_versions (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    replaced_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
);
CREATE TRIGGER asked_forget_conversation AFTER DELETE ON conversations BEGIN
    DELETE FROM asked WHERE EXISTS (
        SELECT 1 FROM json_each(asked.excerpts) e
        WHERE json_extract(e.value, '$.conversation_id') = old.id);
END;
"#;

/// Version 6: mends databases that version 5 left without the questions asked and the answer
/// versions. Version 5 first shipped (commit 6551697) with the `doubts` column only; the next
/// landing added `asked`, `message_versions` and their trigger to the same migration, so a
/// database written by 6551697 says version 5 and lacks them (found by the upgrade test,
/// tests/it/upgrade.rs, on a database that build wrote). Everything is `IF NOT EXISTS`: a
/// database that has them is unchanged. A shipped migration is never edited again
/// (`shipped_migrations_never_change` below).
const V6: &str = r#"
CREATE TABLE IF NOT EXISTS asked (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    excerpts TEXT NOT NULL,
    asked_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS asked_by_time ON asked (asked_at);
CREATE TABLE IF NOT EXISTS message_versions (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    replaced_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
);
CREATE TRIGGER IF NOT EXISTS asked_forget_conversation AFTER DELETE ON conversations BEGIN
    DELETE FROM asked WHERE EXISTS (
        SELECT 1 FROM json_each(asked.excerpts) e
        WHERE json_extract(e.value, '$.conversation_id') = old.id);
END;
"#;

/// Version 7: sync through a folder (`sync/`, `store/sync.rs`). `sync_state` (one row, made
/// when sync is first set up) holds this device's id, its hybrid logical clock and the last
/// segment it published; while it exists, triggers queue every change another device must
/// hear of in `sync_outbox` (what changed, not the value: the value is read when the segment
/// is written), except while `applying` another device's changes (set and cleared inside that
/// transaction). `sync_stamps` keeps the clock of the write that set each mutable field (and
/// of each deletion), so a change from another device wins only if it is newer;
/// `sync_peers` how far each other device's segments have been applied.
const V7: &str = r#"
CREATE TABLE sync_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    device      TEXT NOT NULL,
    applying    INTEGER NOT NULL DEFAULT 0 CHECK (applying IN (0, 1)),
    clock       TEXT NOT NULL DEFAULT '',
    published   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE sync_outbox (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    field   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (kind, key, field)
) STRICT, WITHOUT ROWID;
CREATE TABLE sync_stamps (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    field   TEXT NOT NULL,
    hlc     TEXT NOT NULL,
    PRIMARY KEY (kind, key, field)
) STRICT, WITHOUT ROWID;
CREATE TABLE sync_peers (
    device      TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    applied     INTEGER NOT NULL DEFAULT 0,
    seen_at     INTEGER,
    problem     TEXT
) STRICT;
CREATE VIEW sync_capturing AS
SELECT EXISTS (SELECT 1 FROM sync_state WHERE applying = 0) AS on_,
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now;
CREATE TRIGGER sync_conversation_created AFTER INSERT ON conversations
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'conversation', new.id, 'created', now FROM sync_capturing;
END;
CREATE TRIGGER sync_conversation_title AFTER UPDATE OF title ON conversations
WHEN old.title IS NOT new.title AND (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'conversation', new.id, 'title', now FROM sync_capturing;
END;
CREATE TRIGGER sync_conversation_lifecycle AFTER UPDATE OF status, end_time ON conversations
WHEN (old.status IS NOT new.status OR old.end_time IS NOT new.end_time)
     AND (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'conversation', new.id, 'lifecycle', now FROM sync_capturing;
END;
CREATE TRIGGER sync_conversation_deleted AFTER DELETE ON conversations
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'conversation', old.id, 'deleted', now FROM sync_capturing;
END;
CREATE TRIGGER sync_message_created AFTER INSERT ON messages
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'message', new.id, 'created', now FROM sync_capturing;
END;
CREATE TRIGGER sync_message_body AFTER UPDATE OF content, state, error ON messages
WHEN (old.content IS NOT new.content OR old.state IS NOT new.state OR old.error IS NOT new.error)
     AND (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'message', new.id, 'body', now FROM sync_capturing;
END;
CREATE TRIGGER sync_message_bookmark AFTER UPDATE OF is_bookmarked ON messages
WHEN old.is_bookmarked IS NOT new.is_bookmarked AND (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox SELECT 'message', new.id, 'bookmark', now FROM sync_capturing;
END;
CREATE TRIGGER sync_reaction_added AFTER INSERT ON reactions
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox
    SELECT 'reaction', new.message_id || char(10) || new.emoji, 'on', now FROM sync_capturing;
END;
CREATE TRIGGER sync_reaction_removed AFTER DELETE ON reactions
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox
    SELECT 'reaction', old.message_id || char(10) || old.emoji, 'on', now FROM sync_capturing;
END;
CREATE TRIGGER sync_analysis_written AFTER INSERT ON conversation_analysis
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox
    SELECT 'analysis', new.conversation_id, 'analysis', now FROM sync_capturing;
END;
CREATE TRIGGER sync_analysis_rewritten AFTER UPDATE ON conversation_analysis
WHEN (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox
    SELECT 'analysis', new.conversation_id, 'analysis', now FROM sync_capturing;
END;
CREATE TRIGGER sync_item_done AFTER UPDATE OF done ON action_items
WHEN old.done IS NOT new.done AND (SELECT on_ FROM sync_capturing) BEGIN
    INSERT OR REPLACE INTO sync_outbox
    SELECT 'item', new.conversation_id || char(10) || new.text, 'done', now FROM sync_capturing;
END;
"#;

/// Every migration in order: the schema version this build writes is their number.
const ALL: [&str; 7] = [V1, V2, V3, V4, V5, V6, V7];

/// The schema version this build writes (the number of migrations).
pub const SCHEMA_VERSION: usize = ALL.len();

pub fn migrations() -> Migrations<'static> {
    Migrations::new(ALL.iter().map(|sql| M::up(sql)).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    /// The sha256 of each migration's SQL as it shipped. Append the new one's when adding a
    /// migration; a shipped one is never edited (a database that ran it would never run the
    /// edit). V5's is the text of its second landing (commit 6cea38c): V6 mends the first.
    const SHIPPED: [&str; 7] = [
        "cea5fb335b3fe73a55350941aa9b408b629092eab077856187ffd7051cb5d367",
        "52b595c7c8026728f7d82f88d2bf7c3037c5d5c7d2011e7ac80da2a24e9c0fe8",
        "cb418e160760a910f90d1e499501c7142a6a4e3344873b3f612afa1d7084f5b2",
        "9bb907cfd9abe1ab814ec65da8a6f2c4c1955e1d5724bd438a214c392d9d0e3b",
        "7198b152fc42c3efab6a83ebeeca50fc8cd6031e5612f52f52bd293997027042",
        "da9bd535e1bbe939ddd05281cfe712ed2febcd8c2dfc903085efcaa004ad0609",
        "0b2e997e4c2ba41028e2fabd791573a964f57acbe900bb4707cc65391f79cc1d",
    ];

    #[test]
    fn shipped_migrations_never_change() {
        use sha2::{Digest, Sha256};
        let hashes: Vec<String> = ALL
            .iter()
            .map(|sql| crate::llm::catalog::hex(&Sha256::digest(sql.as_bytes())))
            .collect();
        for (i, (hash, shipped)) in hashes.iter().zip(SHIPPED).enumerate() {
            assert_eq!(
                hash,
                shipped,
                "migration V{} differs from what shipped: add a new migration instead",
                i + 1
            );
        }
        assert_eq!(
            hashes.len(),
            SHIPPED.len(),
            "record the new migration's hash in SHIPPED"
        );
    }
}
