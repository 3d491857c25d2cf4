//! Upgrades: a database made by an earlier Hindsight (commit 6551697, written by its own CLI
//! with `scripts/make-upgrade-fixture`) opened by this one. That build shipped schema version 5
//! without the tables the next landing added to the same migration (the questions asked, the
//! answer versions): version 6 mends it. The migration runs after a backup of the old file,
//! everything the old version wrote is there afterwards (conversations, messages, bookmarks,
//! vectors, analyses, action items and their ticks), and what needed the missing tables works.
use std::path::Path;

use rusqlite::Connection;

use crate::common::{fixture, hindsight_ok, models_dir};
use hindsight::store::{list_backups, Store, SCHEMA_VERSION};

/// What a database holds, read with plain SQL (no code of ours in between).
#[derive(Debug, PartialEq)]
struct Contents {
    conversations: Vec<(String, String, String)>,
    messages: Vec<(String, String, String, bool)>,
    embeddings: Vec<(String, i64)>,
    /// (conversation, the model that wrote it, the summary).
    analyses: Vec<(String, String, String)>,
    action_items: Vec<(String, bool)>,
}

fn contents(db: &Path) -> Contents {
    let c = Connection::open(db).unwrap();
    let rows = |sql: &str| -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let text = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    };
    let int = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(i) => *i,
        other => panic!("not an integer: {other:?}"),
    };
    Contents {
        conversations: rows("SELECT id, title, status FROM conversations ORDER BY id")
            .iter()
            .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
            .collect(),
        messages: rows(
            "SELECT id, conversation_id, content, is_bookmarked FROM messages ORDER BY id",
        )
        .iter()
        .map(|r| (text(&r[0]), text(&r[1]), text(&r[2]), int(&r[3]) != 0))
        .collect(),
        embeddings: rows("SELECT model, count(*) FROM embeddings GROUP BY model ORDER BY model")
            .iter()
            .map(|r| (text(&r[0]), int(&r[1])))
            .collect(),
        analyses: rows(
            "SELECT a.conversation_id, a.model, c.summary FROM conversation_analysis a \
             JOIN conversations c ON c.id = a.conversation_id ORDER BY 1",
        )
        .iter()
        .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
        .collect(),
        action_items: rows("SELECT text, done FROM action_items ORDER BY id")
            .iter()
            .map(|r| (text(&r[0]), int(&r[1]) != 0))
            .collect(),
    }
}

fn user_version(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_database_made_by_the_previous_release_is_upgraded_with_everything_in_it() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("hindsight.db");
    std::fs::copy(fixture("upgrade/hindsight-6551697.db"), &db).unwrap();
    assert_eq!(user_version(&db), 5, "the fixture says schema v5");
    let tables = |db: &Path| -> Vec<String> {
        let c = Connection::open(db).unwrap();
        let mut stmt = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(
        !tables(&db).contains(&"asked".to_owned()),
        "the fixture lacks what 6551697 lacked"
    );
    let before = contents(&db);
    assert!(
        before.conversations.len() >= 5,
        "{:?}",
        before.conversations
    );
    assert!(!before.embeddings.is_empty(), "the old version embedded");
    assert!(!before.analyses.is_empty(), "the old version analysed");
    assert!(before.messages.iter().any(|m| m.3), "a bookmark");

    // Opened by this version: migrated after a backup of the old file.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION as i64);
    let backups = list_backups(&store.backups_dir().unwrap());
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0].reason, "before-migration-v5");
    assert_eq!(user_version(&backups[0].path), 5);
    assert_eq!(
        contents(&backups[0].path),
        before,
        "the backup is the old file"
    );
    assert!(store.check().unwrap().ok);

    // Everything the old version wrote is there, and reads through this version's code.
    assert_eq!(contents(&db), before);
    for (conversation, model, summary) in &before.analyses {
        let analysis = store.get_analysis(conversation).unwrap().unwrap();
        assert_eq!(&analysis.model, model);
        assert_eq!(
            analysis.summary.as_deref().unwrap_or("Null"),
            summary.as_str()
        );
    }
    let (_, _, text, _) = &before.messages[0];
    let word = text
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() >= 6)
        .unwrap();
    assert!(
        !store.search_text(word, 10).unwrap().is_empty(),
        "the word index finds {word:?}"
    );
    // What the missing tables hold works: a question kept, an answer's earlier version.
    assert!(tables(&db).contains(&"asked".to_owned()));
    store
        .save_asked(
            "Where is the plumber?",
            "Friday [1]",
            &serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(store.list_asked(10).unwrap().len(), 1);
    let (answer_id, ..) = before
        .messages
        .iter()
        .find(|m| store.get_message(&m.0).unwrap().sender == hindsight::store::Sender::Ai)
        .unwrap();
    let answer = store.get_message(answer_id).unwrap();
    store.keep_version(&answer).unwrap();
    assert_eq!(store.message_versions(answer_id).unwrap().len(), 1);
    drop(store);

    // The CLI (the installed app's shell) lists and shows it; every message has its vector
    // for this version's model afterwards (kept, or made again if the model's tag changed).
    let models = models_dir();
    let listed = hindsight_ok(data.path(), Some(&models), &["list", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), before.conversations.len());
    let (analysed, model, _) = &before.analyses[0];
    let shown = hindsight_ok(data.path(), Some(&models), &["show", analysed, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        shown["analysis"]["model"].as_str(),
        Some(model.as_str()),
        "{shown}"
    );
    let embedded = hindsight_ok(data.path(), Some(&models), &["embed", "--json"]);
    let embedded: serde_json::Value = serde_json::from_str(&embedded).unwrap();
    assert_eq!(
        embedded["messages_with_vectors"].as_u64(),
        Some(before.messages.len() as u64),
        "{embedded}"
    );
    // Opened again: no second migration, no second backup.
    let store = Store::open(&db).unwrap();
    assert_eq!(list_backups(&store.backups_dir().unwrap()).len(), 1);
}
