//! Import/export tests: Hindsight JSON round trip, ChatGPT import, bad files, idempotency.

use crate::common::{fixture, temp_store};
use hindsight::store::{MessageState, Sender, Status};
use hindsight::transfer::{self, ImportFormat};
use hindsight::Error;

fn import(s: &hindsight::store::Store, text: &str) -> hindsight::Result<transfer::ImportReport> {
    transfer::import_str(s, text, ImportFormat::Auto, "test.json")
}

#[test]
fn hindsight_json_import_keeps_ids_and_fields() {
    let t = temp_store();
    let s = &t.store;
    let r =
        transfer::import_file(s, &fixture("hindsight_sample.json"), ImportFormat::Auto).unwrap();
    assert_eq!(
        (r.format, r.conversations_added, r.messages_added),
        (ImportFormat::Hindsight, 3, 8)
    );

    let lisbon = s
        .conversation_detail("0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01")
        .unwrap();
    assert_eq!(lisbon.conversation.title, "Planning a week in Lisbon");
    assert_eq!(lisbon.conversation.status, Status::Ended);
    assert!(lisbon
        .conversation
        .summary
        .as_deref()
        .unwrap()
        .contains("Lisbon"));
    assert_eq!(lisbon.messages.len(), 4);
    assert_eq!(
        lisbon.messages[0].id,
        "5a0d7c1e-1b7a-4d0e-8f1f-0c1c5e8d3b01"
    );
    assert!(lisbon.messages[0].is_bookmarked);
    assert_eq!(lisbon.messages[1].reactions, vec!["👍"]);
    assert_eq!(lisbon.messages[1].sender, Sender::Ai);
    // Offsets are normalised to UTC.
    let sourdough = s
        .get_conversation("0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a02")
        .unwrap();
    assert_eq!(
        hindsight::time::to_rfc3339(sourdough.start_time),
        "2026-04-11T16:02:00.000Z"
    );
    // The conversation without ids got generated ones.
    let newest = s.list_conversations(None, 1).unwrap().items.remove(0);
    assert_eq!(newest.title, "Rust lifetimes question");
    assert_eq!(newest.status, Status::Active);
    assert!(uuid::Uuid::parse_str(&newest.id).is_ok());
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let t = temp_store();
    let s = &t.store;
    for name in ["hindsight_sample.json", "chatgpt_conversations.json"] {
        let first = transfer::import_file(s, &fixture(name), ImportFormat::Auto).unwrap();
        let before = transfer::export(s).unwrap();
        let second = transfer::import_file(s, &fixture(name), ImportFormat::Auto).unwrap();
        assert_eq!(second.conversations_added, 0, "{name}: {second:?}");
        assert_eq!(second.messages_added, 0, "{name}: {second:?}");
        assert_eq!(second.conversations_existing, first.conversations_added);
        assert_eq!(second.messages_existing, first.messages_added);
        let after = transfer::export(s).unwrap();
        assert_eq!(
            serde_json::to_value(&before).unwrap(),
            serde_json::to_value(&after).unwrap(),
            "{name}: the store is unchanged"
        );
    }
}

#[test]
fn json_round_trip_is_lossless() {
    let a = temp_store();
    transfer::import_file(
        &a.store,
        &fixture("hindsight_sample.json"),
        ImportFormat::Auto,
    )
    .unwrap();
    transfer::import_file(
        &a.store,
        &fixture("chatgpt_conversations.json"),
        ImportFormat::Auto,
    )
    .unwrap();
    // What a backup must carry beyond the messages: an analysis with an action item ticked
    // off and the app's doubts about it, an answer that stopped, with its reason, and an answer
    // regenerated twice, with the versions it replaced.
    let lisbon = "0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01";
    let doubts = vec!["Most of the summary's words are not in the conversation.".to_string()];
    let analysis = a
        .store
        .put_checked_analysis(
            lisbon,
            &hindsight::store::NewAnalysis {
                summary: "A week in Lisbon: Alfama, Sintra, trams.".into(),
                sentiment: hindsight::store::Sentiment::Positive,
                sentiment_score: 0.6,
                topics: vec!["travel".into(), "lisbon".into()],
                key_points: vec!["Sintra is worth a day".into()],
                action_items: vec![
                    hindsight::store::NewActionItem {
                        text: "Book the Sintra train".into(),
                        owner: hindsight::store::Owner::User,
                    },
                    hindsight::store::NewActionItem {
                        text: "Buy a Viva Viagem card".into(),
                        owner: hindsight::store::Owner::User,
                    },
                ],
            },
            "qwen2.5-coder-0.5b",
            &doubts,
        )
        .unwrap();
    a.store
        .set_action_item_done(analysis.action_items[1].id, true)
        .unwrap();
    let stopped = a
        .store
        .add_message(hindsight::store::NewMessage {
            state: MessageState::Incomplete,
            error: Some("stopped".into()),
            ..hindsight::store::NewMessage::new(
                lisbon,
                Sender::Ai,
                "Trams 28 and",
                1_772_500_000_000,
            )
        })
        .unwrap();

    let regenerated = a.store.conversation_detail(lisbon).unwrap().messages[1].clone();
    a.store.keep_version(&regenerated).unwrap();
    let stopped_version = hindsight::store::Message {
        content: "Stay in Baixa, or".into(),
        state: MessageState::Incomplete,
        error: Some("stopped".into()),
        ..regenerated.clone()
    };
    a.store.keep_version(&stopped_version).unwrap();
    let versions = a.store.message_versions(&regenerated.id).unwrap();
    assert_eq!(versions.len(), 2);

    let out = a.dir.path().join("export/all.json");
    assert_eq!(transfer::export_json(&a.store, &out).unwrap(), 5);

    let b = temp_store();
    let r = transfer::import_file(&b.store, &out, ImportFormat::Hindsight).unwrap();
    assert_eq!((r.conversations_added, r.analyses_added), (5, 1));
    let restored = b.store.get_analysis(lisbon).unwrap().unwrap();
    assert_eq!(restored.model, "qwen2.5-coder-0.5b");
    assert_eq!(restored.created_at, analysis.created_at);
    assert_eq!(restored.topics, ["travel", "lisbon"]);
    assert_eq!(restored.doubts, doubts, "a doubted analysis stays doubted");
    let m = b.store.get_message(&regenerated.id).unwrap();
    assert_eq!(m.earlier_versions, 2);
    assert_eq!(b.store.message_versions(&m.id).unwrap(), versions);
    assert_eq!(
        restored
            .action_items
            .iter()
            .map(|i| (i.text.as_str(), i.done))
            .collect::<Vec<_>>(),
        [
            ("Book the Sintra train", false),
            ("Buy a Viva Viagem card", true)
        ]
    );
    let m = b.store.get_message(&stopped.id).unwrap();
    assert_eq!(
        (m.state, m.error.as_deref()),
        (MessageState::Incomplete, Some("stopped"))
    );
    // Importing the backup again changes nothing, and does not overwrite an analysis.
    let again = transfer::import_file(&b.store, &out, ImportFormat::Hindsight).unwrap();
    assert_eq!((again.conversations_added, again.analyses_added), (0, 0));
    let first = serde_json::to_value(transfer::export(&a.store).unwrap()).unwrap();
    let second = serde_json::to_value(transfer::export(&b.store).unwrap()).unwrap();
    assert_eq!(
        first, second,
        "export → import → export gives the same document"
    );
}

#[test]
fn markdown_export_writes_one_file_per_conversation() {
    let t = temp_store();
    transfer::import_file(
        &t.store,
        &fixture("hindsight_sample.json"),
        ImportFormat::Auto,
    )
    .unwrap();
    let dir = t.dir.path().join("md");
    let files = transfer::export_markdown(&t.store, &dir).unwrap();
    assert_eq!(files.len(), 3);
    let lisbon =
        std::fs::read_to_string(dir.join("2026-03-02-planning-a-week-in-lisbon-0b9e3c1a.md"))
            .unwrap();
    assert!(
        lisbon.starts_with("# Planning a week in Lisbon\n"),
        "{lisbon}"
    );
    assert!(lisbon.contains("## You · 2026-03-02T09:15:00.000Z · 🔖"));
    assert!(lisbon.contains("**Baixa** keeps you close"));
    assert!(lisbon.contains("> Planned a spring trip"));
}

#[test]
fn chatgpt_import_follows_current_node_and_keeps_only_visible_text() {
    let t = temp_store();
    let s = &t.store;
    let r = transfer::import_file(
        s,
        &fixture("chatgpt_conversations.json"),
        ImportFormat::Auto,
    )
    .unwrap();
    assert_eq!(r.format, hindsight::transfer::ImportFormat::ChatGpt);
    assert_eq!((r.conversations_added, r.empty_skipped), (2, 1));

    let hike = s
        .conversation_detail("6f1c2b7e-0d4a-4e2b-9a3f-1b2c3d4e5f60")
        .unwrap();
    assert_eq!(hike.conversation.title, "Weekend hiking gear");
    assert_eq!(hike.conversation.status, Status::Ended);
    let texts: Vec<(Sender, &str)> = hike
        .messages
        .iter()
        .map(|m| (m.sender, m.content.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![
            (
                Sender::User,
                "What should I pack for a two-day hike in the Alps in June?"
            ),
            (
                Sender::Ai,
                "Layers, a rain shell, sun protection, 2 L of water capacity and a map."
            ),
            (Sender::User, "Is this backpack big enough?"),
            (
                Sender::Ai,
                "A 30–35 L pack is enough for one night in a hut."
            ),
        ],
        "the edited branch, without system, tool-call, tool or image parts"
    );
    assert_eq!(
        hike.messages[0].id, "a1b2c3d4-0000-4000-8000-000000000003",
        "message UUIDs are kept"
    );
    assert_eq!(
        hindsight::time::to_rfc3339(hike.conversation.start_time),
        "2024-06-10T06:13:20.125Z"
    );
    // A message without create_time takes its predecessor's; order is kept.
    assert_eq!(hike.messages[3].timestamp, hike.messages[2].timestamp);
    assert!(hike
        .messages
        .iter()
        .all(|m| m.state == MessageState::Complete));

    let list = s.list_conversations(None, 10).unwrap().items;
    let untitled = list
        .iter()
        .find(|c| c.title == "Untitled conversation")
        .expect("null title");
    let detail = s.conversation_detail(&untitled.id).unwrap();
    assert_eq!(
        detail.messages[1].content,
        "おはようございます (ohayō gozaimasu)"
    );
}

#[test]
fn malformed_files_are_rejected_with_a_json_path_and_nothing_is_kept() {
    let ok = r#"{"title": "fine", "status": "ended", "start_time": "2026-01-01T00:00:00Z",
                 "messages": [{"sender": "user", "content": "hi", "timestamp": "2026-01-01T00:00:01Z"}]}"#;
    let cases: Vec<(String, &str, &str)> = vec![
        (format!(r#"{{"conversations": [{ok}, {{"title": "x", "start_time": "2026-01-01T00:00:00Z", "messages": [{{"sender": "bot", "content": "a", "timestamp": "2026-01-01T00:00:00Z"}}]}}]}}"#),
            "conversations[1].messages[0].sender", "unknown variant"),
        (format!(r#"{{"conversations": [{ok}, {{"title": "x", "start_time": "yesterday", "messages": []}}]}}"#),
            "conversations[1].start_time", "RFC 3339"),
        (format!(r#"{{"conversations": [{ok}, {{"title": "x", "start_time": "2026-01-01T00:00:00Z"}}]}}"#),
            "conversations[1]", "missing field `messages`"),
        (format!(r#"{{"conversations": [{ok}, {{"id": "nope", "title": "x", "start_time": "2026-01-01T00:00:00Z", "messages": []}}]}}"#),
            "conversations[1]", "not a UUID"),
        (format!(r#"{{"conversations": [{ok}, {{"title": "   ", "start_time": "2026-01-01T00:00:00Z", "messages": []}}]}}"#),
            "conversations[1]", "title cannot be empty"),
        (format!(r#"{{"conversations": [{ok}, {{"title": "x", "start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z", "messages": []}}]}}"#),
            "conversations[1]", "before start_time"),
        (format!(r#"{{"conversations": [{ok}, {{"title": "x", "start_time": "2026-01-01T00:00:00Z", "messages": [{{"sender": "user", "content": "{}", "timestamp": "2026-01-01T00:00:00Z"}}]}}]}}"#,
            "z".repeat(hindsight::store::MAX_MESSAGE_BYTES + 10)),
            "conversations[1].messages[0]", "limit"),
        (format!(r#"{{"conversations": [{ok}"#), "conversations", "EOF"),
        ("{\"conversations\": 7}".into(), "conversations", "invalid type"),
        ("hello".into(), "$", "not a Hindsight JSON object"),
        (r#"[{"title": "t", "create_time": 1.0, "mapping": {"a": {"parent": null, "message": {"author": {}, "content": {"content_type": "text"}}}}, "current_node": "a"}]"#.into(),
            "[0].mapping.a.message.author", "missing field `role`"),
    ];
    for (text, path, reason) in cases {
        let t = temp_store();
        let err = import(&t.store, &text).expect_err("must be rejected");
        match &err {
            Error::BadImport {
                path: p, reason: r, ..
            } => {
                assert_eq!(p, path, "path of {err}");
                assert!(
                    r.contains(reason),
                    "reason of {err} should mention {reason:?}"
                );
            }
            other => panic!("expected BadImport at {path}, got {other}"),
        }
        assert_eq!(
            t.store.count_conversations().unwrap(),
            0,
            "nothing half-imported for {path}"
        );
        assert_eq!(t.store.count_messages().unwrap(), 0);
    }
}

#[test]
fn a_thousand_conversations_import_in_one_go() {
    // Correctness at size (speed is in BENCHMARKS.md, measured by scripts/bench-import).
    let t = temp_store();
    let file = hindsight::transfer::HindsightFile {
        conversations: (0..1000)
            .map(|i| hindsight::transfer::ConversationJson {
                id: None,
                title: format!("Conversation {i}"),
                summary: None,
                status: Status::Ended,
                start_time: 1_700_000_000_000 + i * 60_000,
                end_time: Some(1_700_000_000_000 + i * 60_000 + 30_000),
                messages: (0..10)
                    .map(|j| hindsight::transfer::MessageJson {
                        id: None,
                        sender: if j % 2 == 0 { Sender::User } else { Sender::Ai },
                        content: format!("message {j} of conversation {i} about topic {}", i % 17),
                        timestamp: 1_700_000_000_000 + i * 60_000 + j * 1000,
                        state: MessageState::Complete,
                        is_bookmarked: false,
                        reactions: vec![],
                        error: None,
                        versions: vec![],
                    })
                    .collect(),
                analysis: None,
            })
            .collect(),
    };
    let text = serde_json::to_string(&file).unwrap();
    let r = import(&t.store, &text).unwrap();
    assert_eq!((r.conversations_added, r.messages_added), (1000, 10_000));
    assert_eq!(
        t.store.search_text("conversation 999", 50).unwrap().len(),
        10
    );
    let again = import(&t.store, &text).unwrap();
    assert_eq!(
        (again.conversations_added, again.messages_added),
        (0, 0),
        "generated ids are stable"
    );
}

/// One Hindsight JSON conversation with the given ids and message text.
fn conv_json(conv_id: &str, title: &str, messages: &[(&str, &str)]) -> serde_json::Value {
    serde_json::json!({
        "id": conv_id, "title": title, "start_time": "2026-01-02T10:00:00Z",
        "messages": messages.iter().map(|(id, text)| serde_json::json!({
            "id": id, "sender": "user", "content": text, "timestamp": "2026-01-02T10:00:01Z"
        })).collect::<Vec<_>>()
    })
}

fn file(conversations: &[serde_json::Value]) -> String {
    serde_json::json!({ "conversations": conversations }).to_string()
}

const C1: &str = "11111111-1111-4111-8111-111111111111";
const C2: &str = "22222222-2222-4222-8222-222222222222";
const M1: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const M2: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

fn bad_import_at(r: hindsight::Result<transfer::ImportReport>) -> (String, String) {
    match r {
        Err(Error::BadImport { path, reason, .. }) => (path, reason),
        other => panic!("expected a bad import, got {other:?}"),
    }
}

/// Same id + same content is a no-op; the same id for something else is refused, naming both
/// places, and nothing of the file is kept.
#[test]
fn duplicate_ids_are_refused_unless_they_are_the_same_record() {
    let t = temp_store();
    let s = &t.store;
    // The same message twice in one file: fine, stored once.
    let same = file(&[conv_json(C1, "one", &[(M1, "hello"), (M1, "hello")])]);
    let r = import(s, &same).unwrap();
    assert_eq!((r.messages_added, r.messages_existing), (1, 1));

    let t = temp_store();
    let s = &t.store;
    for (text, first, second) in [
        // A message id with other content.
        (
            file(&[conv_json(C1, "one", &[(M1, "hello"), (M1, "goodbye")])]),
            "conversations[0].messages[0]",
            "conversations[0].messages[1]",
        ),
        // A message id reused in another conversation.
        (
            file(&[
                conv_json(C1, "one", &[(M1, "hello")]),
                conv_json(C2, "two", &[(M1, "hello")]),
            ]),
            "conversations[0].messages[0]",
            "conversations[1].messages[0]",
        ),
        // A conversation id used twice.
        (
            file(&[
                conv_json(C1, "one", &[(M1, "hello")]),
                conv_json(C1, "another title", &[(M2, "hi")]),
            ]),
            "conversations[0]",
            "conversations[1]",
        ),
    ] {
        let (path, reason) = bad_import_at(import(s, &text));
        assert_eq!(path, second, "{reason}");
        assert!(
            reason.contains(first) && reason.contains("twice"),
            "{reason}"
        );
        assert_eq!(s.count_messages().unwrap(), 0, "nothing is kept");
        assert!(s.all_conversations().unwrap().is_empty());
    }

    // Against what is already stored: other content under a stored id is refused too.
    import(s, &file(&[conv_json(C1, "one", &[(M1, "hello")])])).unwrap();
    let (path, reason) = bad_import_at(import(
        s,
        &file(&[conv_json(C1, "one", &[(M1, "hello, edited")])]),
    ));
    assert_eq!(path, "conversations[0].messages[0]");
    assert!(reason.contains("different content"), "{reason}");
    let (_, reason) = bad_import_at(import(s, &file(&[conv_json(C2, "two", &[(M1, "hello")])])));
    assert!(reason.contains("another conversation"), "{reason}");
    assert_eq!(s.count_messages().unwrap(), 1);
}

#[test]
fn trailing_data_after_the_document_is_refused() {
    let t = temp_store();
    let good = file(&[conv_json(C1, "one", &[(M1, "hello")])]);
    for tail in ["{\"conversations\": []}", "garbage", "]"] {
        let text = format!("{good}\n{tail}");
        let (path, reason) = bad_import_at(import(&t.store, &text));
        assert_eq!(path, "$");
        assert!(reason.contains("after the JSON document"), "{reason}");
    }
    assert_eq!(t.store.count_messages().unwrap(), 0);
    // Whitespace after the document is fine.
    import(&t.store, &format!("{good}\n\n  ")).unwrap();
}

fn chatgpt(create_time: serde_json::Value, current_node: serde_json::Value) -> String {
    serde_json::json!([{
        "title": "Trip", "create_time": create_time, "update_time": null,
        "current_node": current_node,
        "mapping": {
            "root": {"message": null, "parent": null},
            "u1": {"parent": "root", "message": {"id": "u1", "author": {"role": "user"},
                   "create_time": 1_700_000_000.5, "content": {"content_type": "text", "parts": ["Where to in May?"]}}},
            "a1": {"parent": "u1", "message": {"id": "a1", "author": {"role": "assistant"},
                   "create_time": 1_700_000_010.0, "content": {"content_type": "text", "parts": ["Porto."]}}}
        }
    }])
    .to_string()
}

/// Times that could not be exported and imported again are refused with their path; a time in
/// milliseconds is recognised as such.
#[test]
fn times_outside_1970_to_9999_are_refused_and_milliseconds_explained() {
    let t = temp_store();
    let (path, reason) = bad_import_at(import(
        &t.store,
        &chatgpt(
            serde_json::json!(1_700_000_000_000.0_f64),
            serde_json::json!("a1"),
        ),
    ));
    assert_eq!(path, "[0].create_time");
    assert!(
        reason.contains("milliseconds") && reason.contains("2023-11-14"),
        "{reason}"
    );
    let (path, reason) = bad_import_at(import(
        &t.store,
        &chatgpt(serde_json::json!(1e18), serde_json::json!("a1")),
    ));
    assert_eq!(path, "[0].create_time");
    assert!(reason.contains("between 1970 and 9999"), "{reason}");
    let (path, _) = bad_import_at(import(
        &t.store,
        &chatgpt(serde_json::json!(-5.0), serde_json::json!("a1")),
    ));
    assert_eq!(path, "[0].create_time");
    let mut early = conv_json(C1, "old", &[(M1, "hello")]);
    early["start_time"] = "1969-12-31T23:59:59Z".into();
    let (path, reason) = bad_import_at(import(&t.store, &file(&[early])));
    assert_eq!(path, "conversations[0]");
    assert!(reason.contains("1970"), "{reason}");
    assert_eq!(t.store.count_messages().unwrap(), 0);

    // Seconds, as ChatGPT writes them, import.
    let r = import(
        &t.store,
        &chatgpt(serde_json::json!(1_700_000_000.0), serde_json::json!("a1")),
    )
    .unwrap();
    assert_eq!(r.messages_added, 2);
}

/// A conversation whose `current_node` is null or points nowhere keeps its messages: the thread
/// ends at the newest one.
#[test]
fn chatgpt_conversations_without_a_usable_current_node_keep_their_messages() {
    for current in [serde_json::Value::Null, serde_json::json!("gone")] {
        let t = temp_store();
        let r = import(
            &t.store,
            &chatgpt(serde_json::json!(1_700_000_000.0), current),
        )
        .unwrap();
        assert_eq!((r.messages_added, r.empty_skipped), (2, 0));
        let c = &t.store.all_conversations().unwrap()[0];
        let texts: Vec<String> = t
            .store
            .all_messages(&c.id)
            .unwrap()
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(texts, ["Where to in May?", "Porto."]);
    }
}

/// Two conversations whose Markdown names would collide get two files.
#[test]
fn markdown_export_never_overwrites_on_a_name_collision() {
    let t = temp_store();
    let twin_a = "abcdef01-0000-4000-8000-000000000001";
    let twin_b = "abcdef01-0000-4000-8000-000000000002";
    import(
        &t.store,
        &file(&[
            conv_json(twin_a, "Exported", &[(M1, "one")]),
            conv_json(twin_b, "Exported", &[(M2, "two")]),
        ]),
    )
    .unwrap();
    let out = t.dir.path().join("md");
    let written = transfer::export_markdown(&t.store, &out).unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
}
