//! Store tests against a real SQLite file: migrations, CRUD, cascade, pagination, FTS.

use crate::common::{conversation, message, temp_store};
use hindsight::store::{
    migrations, AnalysisState, MessageState, NewMessage, Repaired, Sender, Status, Store,
};
use hindsight::Error;

#[test]
fn migrations_validate() {
    migrations()
        .validate()
        .expect("migrations must apply cleanly to an empty database");
}

#[test]
fn open_sets_wal_foreign_keys_and_latest_version() {
    let t = temp_store();
    let conn = t.store.connection();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1, "foreign keys must be enforced");
    assert_eq!(
        t.store.schema_version().unwrap(),
        hindsight::store::SCHEMA_VERSION as i64
    );
    assert_eq!(hindsight::store::SCHEMA_VERSION, 7);
    // Re-opening an existing file keeps its data and does not re-run migrations.
    let id = conversation(&t.store, "kept", 1_000);
    drop(t.store);
    let again = Store::open(&t.dir.path().join("hindsight.db")).unwrap();
    assert_eq!(again.get_conversation(&id).unwrap().title, "kept");
}

#[test]
fn conversation_crud_and_lifecycle() {
    let t = temp_store();
    let s = &t.store;
    let id = conversation(s, "  First   chat ", 1_000);
    let c = s.get_conversation(&id).unwrap();
    assert_eq!(
        c.title, "First chat",
        "titles are trimmed and whitespace-collapsed"
    );
    assert_eq!(c.status, Status::Active);
    assert_eq!(c.end_time, None);

    assert_eq!(
        s.rename_conversation(&id, "Renamed").unwrap().title,
        "Renamed"
    );
    assert!(matches!(
        s.rename_conversation(&id, "   "),
        Err(Error::Invalid(_))
    ));

    let ended = s.end_conversation(&id).unwrap();
    assert_eq!(ended.status, Status::Ended);
    let end = ended.end_time.expect("end time set");
    assert!(end >= 1_000);
    assert_eq!(
        s.end_conversation(&id).unwrap().end_time,
        Some(end),
        "ending twice keeps the end time"
    );

    let reopened = s.reopen_conversation(&id).unwrap();
    assert_eq!((reopened.status, reopened.end_time), (Status::Active, None));

    // Ids are case-insensitive UUIDs.
    assert_eq!(s.get_conversation(&id.to_uppercase()).unwrap().id, id);
}

#[test]
fn unknown_and_malformed_ids_are_clear_errors() {
    let t = temp_store();
    let s = &t.store;
    let missing = "00000000-0000-4000-8000-000000000000";
    assert!(matches!(
        s.get_conversation(missing),
        Err(Error::NotFound {
            what: "conversation",
            ..
        })
    ));
    assert!(matches!(
        s.delete_conversation(missing),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.end_conversation(missing),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.get_message(missing),
        Err(Error::NotFound {
            what: "message",
            ..
        })
    ));
    assert!(matches!(
        s.set_bookmark(missing, true),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.get_conversation("'; DROP TABLE conversations; --"),
        Err(Error::Invalid(_))
    ));
    let err = s
        .add_message(NewMessage::new(missing, Sender::User, "hi", 1))
        .expect_err("a message needs an existing conversation");
    assert!(
        matches!(
            err,
            Error::NotFound {
                what: "conversation",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(s.count_messages().unwrap(), 0);
}

#[test]
fn messages_reactions_and_bookmarks() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "chat", 1_000);
    let m = message(s, &c, Sender::User, "hello", 1_001);
    let msg = s.get_message(&m).unwrap();
    assert_eq!(
        (msg.sender, msg.state, msg.is_bookmarked),
        (Sender::User, MessageState::Complete, false)
    );
    assert!(msg.reactions.is_empty());

    assert_eq!(s.toggle_reaction(&m, "👍").unwrap().reactions, vec!["👍"]);
    assert_eq!(
        s.toggle_reaction(&m, "❤️").unwrap().reactions,
        vec!["👍", "❤️"]
    );
    assert_eq!(
        s.toggle_reaction(&m, "👍").unwrap().reactions,
        vec!["❤️"],
        "a second click removes it"
    );
    assert!(matches!(s.toggle_reaction(&m, " "), Err(Error::Invalid(_))));

    assert!(s.set_bookmark(&m, true).unwrap().is_bookmarked);
    let bookmarks = s.list_bookmarks(None, 10).unwrap();
    assert_eq!(
        bookmarks
            .items
            .iter()
            .map(|b| (b.message.id.as_str(), b.conversation_title.as_str()))
            .collect::<Vec<_>>(),
        vec![(m.as_str(), "chat")]
    );
    assert!(!s.set_bookmark(&m, false).unwrap().is_bookmarked);
    assert!(s.list_bookmarks(None, 10).unwrap().items.is_empty());

    // Streaming answer: grows, then completes; a crash leaves it incomplete with its text.
    let ai = s
        .add_message(NewMessage {
            state: MessageState::Streaming,
            ..NewMessage::new(&c, Sender::Ai, "", 1_002)
        })
        .unwrap();
    s.update_message(&ai.id, "partial ans", MessageState::Streaming, None)
        .unwrap();
    assert_eq!(
        s.get_message(&ai.id).unwrap().state,
        MessageState::Streaming
    );
}

/// Opening a store repairs what a dead process left unfinished, and only that: the live stream
/// and running analysis of another open store (another window, a CLI chat) are left alone.
#[test]
fn open_repairs_only_abandoned_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hindsight.db");
    let writer = Store::open(&db).unwrap();
    let c = conversation(&writer, "c", 1_000);
    writer
        .add_message(NewMessage::new(&c, Sender::User, "question", 1_001))
        .unwrap();
    let ai = writer
        .add_message(NewMessage {
            state: MessageState::Streaming,
            ..NewMessage::new(&c, Sender::Ai, "", 1_002)
        })
        .unwrap();
    writer
        .update_message(&ai.id, "partial ans", MessageState::Streaming, None)
        .unwrap();
    writer.end_conversation(&c).unwrap();
    writer
        .set_analysis_state(&c, AnalysisState::Running, None)
        .unwrap();

    // Another process opens the same file while the writer lives: nothing is touched.
    let other = Store::open(&db).unwrap();
    assert_eq!(other.repair_abandoned().unwrap(), Repaired::default());
    assert_eq!(
        other.get_message(&ai.id).unwrap().state,
        MessageState::Streaming
    );

    // The writer goes away (its lease is released): the next open repairs its work.
    drop(writer);
    drop(other);
    let after = Store::open(&db).unwrap();
    let m = after.get_message(&ai.id).unwrap();
    assert_eq!(
        (m.state, m.content.as_str()),
        (MessageState::Incomplete, "partial ans")
    );
    assert!(m.error.unwrap().contains("interrupted"));
    assert_eq!(
        after.analysis_status(&c).unwrap().state,
        AnalysisState::Pending
    );
    assert_eq!(after.repair_abandoned().unwrap(), Repaired::default());
}

#[test]
fn huge_messages_are_refused_and_nothing_is_stored() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "chat", 1_000);
    let huge = "x".repeat(hindsight::store::MAX_MESSAGE_BYTES + 1);
    let err = s
        .add_message(NewMessage::new(&c, Sender::User, &huge, 1))
        .unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    assert_eq!(s.count_messages().unwrap(), 0);
    let ok = "y".repeat(hindsight::store::MAX_MESSAGE_BYTES);
    s.add_message(NewMessage::new(&c, Sender::User, &ok, 2))
        .expect("exactly the limit is fine");
}

#[test]
fn delete_cascades_to_messages_reactions_embeddings_analysis_and_fts() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "doomed", 1_000);
    let keep = conversation(s, "kept", 2_000);
    let m = message(s, &c, Sender::User, "zanzibar spices", 1_001);
    message(s, &keep, Sender::User, "zanzibar beaches", 2_001);
    s.toggle_reaction(&m, "🔥").unwrap();
    s.put_embedding(&m, "test-model", &[0.5, -0.25, 1.0])
        .unwrap();
    assert_eq!(
        s.get_embedding(&m, "test-model").unwrap().unwrap().vector,
        vec![0.5, -0.25, 1.0]
    );
    s.end_conversation(&c).unwrap();
    s.put_analysis(
        &c,
        &hindsight::store::NewAnalysis {
            summary: "Spices.".into(),
            sentiment: hindsight::store::Sentiment::Positive,
            sentiment_score: 0.5,
            topics: vec!["spices".into()],
            key_points: vec![],
            action_items: vec![hindsight::store::NewActionItem {
                text: "buy cardamom".into(),
                owner: hindsight::store::Owner::User,
            }],
        },
        "m",
    )
    .unwrap();
    assert_eq!(s.search_text("zanzibar", 10).unwrap().len(), 2);

    s.delete_conversation(&c).unwrap();

    let count = |sql: &str| -> i64 { s.connection().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM messages"), 1);
    assert_eq!(count("SELECT count(*) FROM reactions"), 0);
    assert_eq!(count("SELECT count(*) FROM embeddings"), 0);
    assert_eq!(count("SELECT count(*) FROM action_items"), 0);
    assert_eq!(count("SELECT count(*) FROM analysis_jobs"), 0);
    assert_eq!(count("SELECT count(*) FROM conversation_analysis"), 0);
    let hits = s.search_text("zanzibar", 10).unwrap();
    assert_eq!(hits.len(), 1, "the FTS index follows cascaded deletes");
    assert_eq!(hits[0].conversation_title, "kept");
    // FTS integrity: the external-content index matches the table.
    s.connection()
        .execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
            [],
        )
        .expect("FTS index consistent");
}

#[test]
fn conversation_pages_are_newest_first_and_complete() {
    let t = temp_store();
    let s = &t.store;
    // Same start time for several conversations: the id breaks the tie, nothing is lost.
    let mut ids: Vec<(i64, String)> = (0..23)
        .map(|i| {
            let start = 1_000 + (i / 3) as i64;
            (start, conversation(s, &format!("c{i}"), start))
        })
        .collect();
    ids.sort_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.list_conversations(cursor.as_deref(), 5).unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.into_iter().map(|c| (c.start_time, c.id)));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(
        seen, ids,
        "pages cover every conversation once, newest first"
    );
    assert!(matches!(
        s.list_conversations(Some("garbage"), 5),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn message_pages_are_oldest_first_and_complete() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "long", 0);
    let other = conversation(s, "other", 0);
    message(s, &other, Sender::User, "not mine", 5);
    // Equal timestamps keep insertion order.
    let ids: Vec<String> = (0..17)
        .map(|i| message(s, &c, Sender::User, &format!("m{i}"), (i / 4) as i64))
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.list_messages(&c, cursor.as_deref(), 4).unwrap();
        seen.extend(page.items.into_iter().map(|m| m.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(s.get_conversation(&c).unwrap().message_count, 17);
}

#[test]
fn fts_finds_words_and_survives_hostile_input() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "search me", 0);
    message(
        s,
        &c,
        Sender::User,
        "We talked about travel to Kyoto in autumn",
        1,
    );
    message(
        s,
        &c,
        Sender::Ai,
        "Kyoto's temples are busy in November; go early.",
        2,
    );
    message(
        s,
        &c,
        Sender::User,
        "Robert'); DROP TABLE messages; -- was here",
        3,
    );
    message(s, &c, Sender::User, "Café crème at the Gare du Nord", 4);

    let hits = s.search_text("kyoto", 10).unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].conversation_title, "search me");
    assert_eq!(
        s.search_text("kyoto autumn", 10).unwrap().len(),
        1,
        "terms are ANDed"
    );
    assert_eq!(
        s.search_text("cafe creme", 10).unwrap().len(),
        1,
        "diacritics are folded"
    );

    for hostile in [
        "\"",
        "\"\"",
        "*",
        "kyoto*",
        "NEAR(",
        "NEAR(kyoto travel)",
        "'; DROP TABLE messages; --",
        "AND",
        "OR OR",
        "-kyoto",
        "content:kyoto",
        "^kyoto",
        "(",
        ")",
        "{a b}",
        "\u{0}",
        "",
        "   ",
        "kyoto\" OR \"x",
        "🙂",
        "a\"b",
    ] {
        let result = s.search_text(hostile, 10);
        assert!(
            result.is_ok(),
            "query {hostile:?} must not be a syntax error: {result:?}"
        );
    }
    assert_eq!(
        s.search_text("'; DROP TABLE messages; --", 10)
            .unwrap()
            .len(),
        1,
        "found as words"
    );
    assert_eq!(s.search_text("NEAR(", 10).unwrap().len(), 0);
    assert_eq!(s.count_messages().unwrap(), 4, "nothing was dropped");
}

#[test]
fn embeddings_are_little_endian_f32_blobs_tagged_by_model() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "vec", 0);
    let a = message(s, &c, Sender::User, "a", 1);
    let b = message(s, &c, Sender::User, "b", 2);
    s.put_embedding(&a, "minilm", &[1.0, 2.0]).unwrap();
    let blob: Vec<u8> = s
        .connection()
        .query_row(
            "SELECT vector FROM embeddings WHERE message_id = ?1",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(blob, [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
    assert_eq!(
        s.messages_without_embedding("minilm", 10).unwrap(),
        vec![b.clone()]
    );
    assert_eq!(
        s.messages_without_embedding("other-model", 10).unwrap(),
        vec![a.clone(), b]
    );
    assert!(matches!(
        s.put_embedding("00000000-0000-4000-8000-000000000000", "minilm", &[1.0]),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_locked_database_is_a_clear_busy_error() {
    let t = temp_store();
    conversation(&t.store, "x", 0);
    let path = t.dir.path().join("hindsight.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let second = Store::open(&path);
    // Opening may already fail (busy), or writes fail after the 5 s busy timeout.
    let err = match second {
        Err(e) => e,
        Ok(s2) => conversation_err(&s2),
    };
    assert!(matches!(err, Error::Busy), "expected Busy, got {err}");
    assert!(err.to_string().contains("try again"));
}

fn conversation_err(s: &Store) -> Error {
    s.create_conversation(hindsight::store::NewConversation {
        id: None,
        title: "blocked".into(),
        summary: None,
        status: Status::Active,
        start_time: 0,
        end_time: None,
    })
    .expect_err("write must fail while another process holds the lock")
}

#[test]
fn insights_count_and_chart_sentiment_and_topics_by_month() {
    use hindsight::store::{NewActionItem, NewAnalysis, Owner, Sentiment};
    let t = temp_store();
    // 2026-01-15, 2026-01-20 and 2026-02-10 (UTC), plus one conversation never analysed.
    let days = [1_768_435_200_000i64, 1_768_867_200_000, 1_770_681_600_000];
    let analysed: Vec<(Sentiment, f64, Vec<&str>, usize)> = vec![
        (Sentiment::Positive, 0.8, vec!["Travel", "lisbon"], 1),
        (Sentiment::Negative, -0.4, vec!["travel", "work"], 2),
        (Sentiment::Mixed, 0.1, vec!["work", "  "], 0),
    ];
    for (i, (sentiment, score, topics, items)) in analysed.into_iter().enumerate() {
        let c = conversation(&t.store, &format!("c{i}"), days[i]);
        message(&t.store, &c, Sender::User, "hello", days[i] + 1);
        t.store
            .put_analysis(
                &c,
                &NewAnalysis {
                    summary: "s".into(),
                    sentiment,
                    sentiment_score: score,
                    topics: topics.into_iter().map(str::to_owned).collect(),
                    key_points: vec![],
                    action_items: (0..items)
                        .map(|k| NewActionItem {
                            text: format!("do {k}"),
                            owner: Owner::User,
                        })
                        .collect(),
                },
                "m",
            )
            .unwrap();
    }
    conversation(&t.store, "not analysed", days[2]);
    let done = t.store.list_action_items(true, 10).unwrap()[0].item.id;
    t.store.set_action_item_done(done, true).unwrap();

    let i = t.store.insights(&[], false).unwrap();
    assert_eq!(
        (
            i.counts.conversations,
            i.counts.messages,
            i.counts.analysed,
            i.counts.open_action_items
        ),
        (4, 3, 3, 2)
    );
    assert_eq!(i.months, ["2026-01", "2026-02"]);
    assert_eq!(i.sentiment.len(), 2);
    assert_eq!(i.sentiment[0].conversations, 2);
    assert!((i.sentiment[0].average - 0.2).abs() < 1e-9);
    assert_eq!((i.sentiment[0].positive, i.sentiment[0].negative), (1, 1));
    assert_eq!(i.sentiment[1].mixed, 1);
    // Topics are folded to lower case, blanks dropped, most frequent first.
    let topics: Vec<(&str, i64, Vec<i64>)> = i
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.total, t.by_month.clone()))
        .collect();
    assert_eq!(
        topics,
        [
            ("travel", 2, vec![2, 0]),
            ("work", 2, vec![1, 1]),
            ("lisbon", 1, vec![1, 0])
        ]
    );
}

#[test]
fn insights_leave_out_the_analyses_of_excluded_models() {
    use hindsight::store::{NewAnalysis, Sentiment};
    let t = temp_store();
    let day = 1_768_435_200_000i64;
    for (i, (model, sentiment, score, topic)) in [
        ("Tiny (built-in)", Sentiment::Positive, 0.0, "noise"),
        ("Tiny (built-in)", Sentiment::Positive, 0.0, "noise"),
        ("Small (built-in)", Sentiment::Negative, -0.6, "landlord"),
    ]
    .into_iter()
    .enumerate()
    {
        let c = conversation(&t.store, &format!("c{i}"), day + i as i64);
        let analysis = NewAnalysis {
            summary: "s".into(),
            sentiment,
            sentiment_score: score,
            topics: vec![topic.into()],
            key_points: vec![],
            action_items: vec![],
        };
        t.store.put_analysis(&c, &analysis, model).unwrap();
    }
    let all = t.store.insights(&[], false).unwrap();
    assert_eq!(all.counts.analysed, 3);
    let models: Vec<(&str, i64)> = all
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.analyses))
        .collect();
    assert_eq!(models, [("Tiny (built-in)", 2), ("Small (built-in)", 1)]);
    assert_eq!(all.topics[0].topic, "noise");

    let some = t
        .store
        .insights(&["Tiny (built-in)".to_owned()], false)
        .unwrap();
    assert_eq!(some.counts.analysed, 1);
    assert_eq!(some.sentiment[0].negative, 1);
    assert!((some.sentiment[0].average + 0.6).abs() < 1e-9);
    let topics: Vec<&str> = some.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(topics, ["landlord"]);
    assert_eq!(some.models.len(), 2, "the excluded model is still listed");
    // A model name is data, never SQL.
    let odd = t
        .store
        .insights(&["x') OR 1=1 --".to_owned()], false)
        .unwrap();
    assert_eq!(odd.counts.analysed, 3);
}

/// An analysis its checks doubted is stored with the reasons, left out of the charts and
/// counted apart, and charted only when asked; re-analysing without doubts clears them.
#[test]
fn insights_leave_out_analyses_in_doubt_unless_asked() {
    use hindsight::store::{NewAnalysis, Sentiment};
    let t = temp_store();
    let day = 1_768_435_200_000i64;
    let analysis = |topic: &str| NewAnalysis {
        summary: "s".into(),
        sentiment: Sentiment::Positive,
        sentiment_score: 0.5,
        topics: vec![topic.into()],
        key_points: vec![],
        action_items: vec![],
    };
    let sure = conversation(&t.store, "sure", day);
    let doubted = conversation(&t.store, "doubted", day + 1);
    t.store
        .put_checked_analysis(&sure, &analysis("porto"), "Small (built-in)", &[])
        .unwrap();
    let reasons = vec!["none of its topics is mentioned in the conversation".to_owned()];
    let stored = t
        .store
        .put_checked_analysis(&doubted, &analysis("baking"), "Small (built-in)", &reasons)
        .unwrap();
    assert_eq!(stored.doubts, reasons);
    assert_eq!(
        t.store.get_analysis(&doubted).unwrap().unwrap().doubts,
        reasons
    );

    let charted = t.store.insights(&[], false).unwrap();
    assert_eq!((charted.counts.analysed, charted.counts.in_doubt), (1, 1));
    let topics: Vec<&str> = charted.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(topics, ["porto"]);
    assert_eq!(charted.sentiment[0].conversations, 1);

    let all = t.store.insights(&[], true).unwrap();
    assert_eq!((all.counts.analysed, all.counts.in_doubt), (2, 1));
    assert_eq!(all.topics.len(), 2);

    t.store
        .put_checked_analysis(&doubted, &analysis("baking"), "Small (built-in)", &[])
        .unwrap();
    assert!(t
        .store
        .get_analysis(&doubted)
        .unwrap()
        .unwrap()
        .doubts
        .is_empty());
    assert_eq!(t.store.insights(&[], false).unwrap().counts.in_doubt, 0);
}

/// Past questions are kept newest first, capped, removable, and forgotten with any
/// conversation their excerpts cite.
#[test]
fn asked_questions_are_kept_and_forgotten_with_what_they_cite() {
    let t = temp_store();
    let porto = conversation(&t.store, "Porto", 1_000);
    let other = conversation(&t.store, "Other", 2_000);
    let cites = |id: &str| serde_json::json!([{"conversation_id": id, "message": "Bonfim"}]);
    let first = t
        .store
        .save_asked("Where did we stay?", "Bonfim [1]", &cites(&porto))
        .unwrap();
    let second = t
        .store
        .save_asked("  What else?  ", "nothing", &cites(&other))
        .unwrap();
    assert_eq!(second.question, "What else?");
    let listed: Vec<i64> = t
        .store
        .list_asked(10)
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(listed, [second.id, first.id], "newest first");
    assert_eq!(t.store.list_asked(10).unwrap()[1].excerpts, cites(&porto));
    // Asked again (in other case), a question is listed once, at the top, with its new answer.
    let again = t
        .store
        .save_asked("where did we STAY?", "Bonfim [2]", &cites(&porto))
        .unwrap();
    let listed = t.store.list_asked(10).unwrap();
    let ids: Vec<i64> = listed.iter().map(|q| q.id).collect();
    assert_eq!(ids, [again.id, second.id]);
    assert_eq!(listed[0].answer, "Bonfim [2]");
    assert!(t
        .store
        .save_asked("q", "a", &serde_json::json!({"not": "a list"}))
        .is_err());

    // Deleting the Porto conversation deletes the question that quoted it.
    t.store.delete_conversation(&porto).unwrap();
    let listed: Vec<i64> = t
        .store
        .list_asked(10)
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(listed, [second.id]);
    t.store.delete_asked(second.id).unwrap();
    assert!(t.store.list_asked(10).unwrap().is_empty());
    assert!(t.store.delete_asked(second.id).is_err());

    // Capped: the oldest go first.
    for i in 0..hindsight::store::MAX_ASKED + 5 {
        t.store
            .save_asked(&format!("q{i}"), "a", &serde_json::json!([]))
            .unwrap();
    }
    let kept = t.store.list_asked(1_000).unwrap();
    assert_eq!(kept.len() as i64, hindsight::store::MAX_ASKED);
    assert_eq!(
        kept[0].question,
        format!("q{}", hindsight::store::MAX_ASKED + 4)
    );
}

/// The data folder, the database with its WAL, and exports are readable by their owner only.
#[cfg(unix)]
#[test]
fn data_files_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A folder made by hand with the usual umask is tightened too.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Store::open(&data.join("hindsight.db")).unwrap();
    conversation(&s, "private", 1_000);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("hindsight.db")), 0o600);
    assert_eq!(mode(&data.join("hindsight.db-wal")), 0o600);
    assert_eq!(mode(&data.join("writers")), 0o700);
    let out = dir.path().join("backup.json");
    hindsight::transfer::export_json(&s, &out).unwrap();
    assert_eq!(mode(&out), 0o600);
}

/// A backup taken while the store is in use restores exactly; what the restore replaced is kept
/// as a backup of its own; a damaged file or one from a newer Hindsight is refused untouched.
#[test]
fn backup_and_restore_round_trip() {
    let t = crate::common::temp_store();
    let mut s = t.store;
    let c = conversation(&s, "kept", 1_000);
    message(&s, &c, Sender::User, "in the backup", 1_001);
    let copy = t.dir.path().join("copies/one.db");
    assert_eq!(s.backup(Some(&copy)).unwrap(), copy);
    message(&s, &c, Sender::Ai, "after the backup", 1_002);

    let safety = s.restore(&copy).unwrap();
    let texts: Vec<String> = s
        .all_messages(&c)
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(texts, ["in the backup"]);
    let previous = Store::open(&safety).unwrap();
    assert_eq!(
        previous.all_messages(&c).unwrap().len(),
        2,
        "the replaced history is kept"
    );
    assert!(hindsight::store::list_backups(&s.backups_dir().unwrap())
        .iter()
        .any(|b| b.reason == "before-restore"));

    let garbage = t.dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just text").unwrap();
    let err = s.restore(&garbage).unwrap_err();
    assert!(err.to_string().contains("not a Hindsight backup"), "{err}");
    let newer = t.dir.path().join("newer.db");
    s.backup(Some(&newer)).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = s.restore(&newer).unwrap_err();
    assert!(err.to_string().contains("schema 99"), "{err}");
    assert_eq!(s.all_messages(&c).unwrap().len(), 1, "nothing changed");
}

/// Every schema migration starts from a backup it can go back to; a database from a newer
/// Hindsight is refused in plain words.
#[test]
fn a_migration_is_preceded_by_a_backup_and_a_newer_schema_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hindsight.db");
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        migrations().to_version(&mut conn, 2).unwrap();
    }
    let s = Store::open(&db).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        hindsight::store::SCHEMA_VERSION as i64
    );
    let backups = hindsight::store::list_backups(&s.backups_dir().unwrap());
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].reason, "before-migration-v2");
    let old: i64 = rusqlite::Connection::open(&backups[0].path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(old, 2);
    drop(s);

    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 42")
        .unwrap();
    let err = Store::open(&db).err().unwrap();
    assert!(
        err.to_string().contains("newer version of Hindsight"),
        "{err}"
    );
}

/// A page damaged in the middle of the file is found by `check` (and `quick_check`), and the
/// error says what to do.
#[test]
fn check_finds_a_damaged_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hindsight.db");
    {
        let s = Store::open(&db).unwrap();
        assert!(s.check().unwrap().ok);
        let c = conversation(&s, "big", 1_000);
        s.transaction(|s| {
            for i in 0..2000 {
                message(
                    s,
                    &c,
                    Sender::User,
                    &format!("message {i} {}", "words ".repeat(40)),
                    1_000 + i,
                );
            }
            Ok(())
        })
        .unwrap();
        s.connection()
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    // Overwrite a page in the middle of the file.
    let len = std::fs::metadata(&db).unwrap().len();
    let page = 4096;
    let at = (len / 2 / page) * page;
    let mut bytes = std::fs::read(&db).unwrap();
    for b in &mut bytes[at as usize..(at + page) as usize] {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();

    let s = Store::open(&db).unwrap();
    let report = s.check().unwrap();
    assert!(!report.ok && !report.problems.is_empty(), "{report:?}");
    assert!(!s.quick_check().unwrap().ok);
}

/// Many processes opening a brand-new file at the same moment (a CLI import while the window
/// starts) all get a working store: the one that loses the migration race finds it done.
#[test]
fn concurrent_first_opens_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hindsight.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let (db, barrier) = (db.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&db).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for open in opens {
            let version = open.join().unwrap().unwrap();
            assert_eq!(version, hindsight::store::SCHEMA_VERSION as i64);
        }
    }
}

/// Errors a person sees are plain words; the technical text is kept as the detail.
#[test]
fn errors_are_plain_with_the_detail_on_demand() {
    let e = Error::from(rusqlite::Error::InvalidQuery);
    assert!(!e.plain().contains("Query"), "{}", e.plain());
    assert!(e.plain().contains("hindsight check"));
    assert!(e.detail().unwrap().contains("Query"));
    let missing = Error::io(
        "/nowhere/file.json",
        std::io::Error::from(std::io::ErrorKind::NotFound),
    );
    assert_eq!(
        missing.plain(),
        "/nowhere/file.json: there is no such file or folder"
    );
    assert!(missing.detail().is_none());
}

/// The conversation index (title, summary, topics) follows renames, analyses and deletes, and
/// a turn's neighbours are found in conversation order.
#[test]
fn conversation_index_and_turn_context_follow_the_history() {
    let t = temp_store();
    let s = &t.store;
    let ranked = |q: &str| -> Vec<String> {
        let q = hindsight::store::fts_query_any(q).unwrap();
        s.conversations_ranked(&q, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.0)
            .collect()
    };
    let c = conversation(s, "Weekend in Porto", 1_000);
    let other = conversation(s, "Taxes", 2_000);
    assert_eq!(ranked("porto"), [c.as_str()]);
    s.rename_conversation(&c, "Lisbon trip").unwrap();
    assert!(ranked("porto").is_empty(), "renamed");
    assert_eq!(ranked("lisbon"), [c.as_str()]);
    s.end_conversation(&c).unwrap();
    s.put_analysis(
        &c,
        &hindsight::store::NewAnalysis {
            summary: "Booked a flat in Alfama.".into(),
            sentiment: hindsight::store::Sentiment::Positive,
            sentiment_score: 0.5,
            topics: vec!["travel".into(), "tram 28".into()],
            key_points: vec![],
            action_items: vec![],
        },
        "m",
    )
    .unwrap();
    assert_eq!(ranked("alfama"), [c.as_str()], "summary indexed");
    assert_eq!(
        ranked("travelling"),
        [c.as_str()],
        "topics indexed, stemmed"
    );
    s.delete_conversation(&c).unwrap();
    assert!(ranked("lisbon").is_empty());
    assert_eq!(ranked("taxes"), [other.as_str()]);
    let rows: i64 = s
        .connection()
        .query_row("SELECT count(*) FROM conversations_fts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "no row left behind by the delete");

    // Turns in conversation order (by time, then insertion), whatever the insertion order.
    let late = message(s, &other, Sender::Ai, "second", 2_020);
    let early = message(s, &other, Sender::User, "first", 2_010);
    let third = message(s, &other, Sender::User, "third", 2_030);
    let seq = |id: &str| -> i64 {
        s.connection()
            .query_row("SELECT seq FROM messages WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    let ctx = s.turn_context(&[seq(&late)]).unwrap();
    assert_eq!(ctx[0].next, Some(seq(&third)));
    assert_eq!(
        s.turn_context(&[seq(&third)]).unwrap()[0].next,
        None,
        "the last turn has none"
    );
    let prev = s.previous_turns(&[late.clone(), early.clone()]).unwrap();
    assert_eq!(prev[&late].content, "first");
    assert!(!prev.contains_key(&early), "the first turn has none");
}

/// A database of the previous schema (v3, words not stemmed, no conversation index) is
/// migrated with its text searchable in the new index.
#[test]
fn migration_to_v4_rebuilds_the_word_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hindsight.db");
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        migrations().to_version(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO conversations (id, title, start_time) VALUES ('c1', 'Moving house', 0);
             INSERT INTO messages (id, conversation_id, content, sender, timestamp)
             VALUES ('m1', 'c1', 'we are moving to Bristol in March', 'user', 1);",
        )
        .unwrap();
    }
    let s = Store::open(&db).unwrap();
    let hits = s.search_text("moved", 10).unwrap();
    assert_eq!(hits.len(), 1, "stemmed: moved finds moving");
    let q = hindsight::store::fts_query_any("house").unwrap();
    assert_eq!(s.conversations_ranked(&q, 10).unwrap().len(), 1);
    s.connection()
        .execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
            [],
        )
        .expect("FTS index consistent");
}
