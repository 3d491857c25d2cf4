//! Import/export tests: Hindsight JSON round trip, ChatGPT import, bad files, idempotency.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod common;

use common::{fixture, temp_store};
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
        ("hindsight", 3, 8)
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
    let out = a.dir.path().join("export/all.json");
    assert_eq!(transfer::export_json(&a.store, &out).unwrap(), 5);

    let b = temp_store();
    let r = transfer::import_file(&b.store, &out, ImportFormat::Hindsight).unwrap();
    assert_eq!(r.conversations_added, 5);
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
    assert_eq!(r.format, "chatgpt");
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
                    })
                    .collect(),
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
