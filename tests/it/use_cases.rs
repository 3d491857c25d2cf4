//! The use cases both shells call ([`Hindsight`]), on a real SQLite file: each rule once, so
//! the window and the CLI cannot drift apart.
use std::time::Duration;

use hindsight::analysis::AnalysisSettings;
use hindsight::chat::ChatEvent;
use hindsight::embed::{DIM, MODEL_ID};
use hindsight::hindsight::DEFAULT_PAGE;
use hindsight::llm::{LlmSettings, Provider};
use hindsight::search::{SearchMode, SearchOptions};
use hindsight::store::{AnalysisState, MessageState, Sender, Store};
use hindsight::transfer::{ExportFormat, ImportFormat};
use hindsight::Hindsight;
use tokio::sync::mpsc;

use crate::common::fake_llm::{sse, sse_text, FakeLlm};
use crate::common::{conversation, fixture, hindsight_for_test, message, temp_hindsight};

#[test]
fn ending_queues_analysis_only_for_a_conversation_with_messages() {
    let (_dir, h) = temp_hindsight();
    let (talked, empty) = {
        let s = h.store();
        let talked = conversation(&s, "Porto trip", 1_000);
        message(
            &s,
            &talked,
            Sender::User,
            "Where should we stay in Porto?",
            1_001,
        );
        (talked, conversation(&s, "Nothing said", 2_000))
    };
    assert_eq!(h.end_conversation(&talked).unwrap().message_count, 1);
    h.end_conversation(&empty).unwrap();
    let state = |id: &str| h.reader().analysis_status(id).unwrap().state;
    assert_eq!(state(&talked), AnalysisState::Pending);
    assert_eq!(state(&empty), AnalysisState::None);
    assert_eq!(
        h.end_conversation("00000000-0000-4000-8000-000000000000")
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn a_deleted_conversation_leaves_the_search_index_at_once() {
    let (_dir, h) = temp_hindsight();
    let mut v = vec![0.0f32; DIM];
    v[0] = 1.0;
    let id = {
        let s = h.store();
        let c = conversation(&s, "Porto trip", 1_000);
        let m = message(&s, &c, Sender::User, "We picked Bonfim", 1_001);
        s.put_embedding(&m, MODEL_ID, &v).unwrap();
        c
    };
    h.searcher.refresh(&h.search_store()).unwrap();
    let dense = SearchOptions {
        mode: SearchMode::Dense,
        min_similarity: 0.0,
        ..Default::default()
    };
    let hits = |h: &Hindsight| {
        h.searcher
            .search(&h.search_store(), "Bonfim", Some(&v), &dense)
            .unwrap()
            .hits
            .len()
    };
    assert_eq!(hits(&h), 1);
    h.delete_conversation(&id).unwrap();
    assert_eq!(hits(&h), 0, "the in-memory index forgot it too");
    assert!(h.reader().conversation_detail(&id).is_err());
}

#[tokio::test]
async fn an_import_is_queued_for_analysis_only_when_analysis_is_automatic() {
    for automatic in [false, true] {
        let (_dir, h) = temp_hindsight();
        AnalysisSettings {
            automatic,
            ..AnalysisSettings::default()
        }
        .save(&h.store())
        .unwrap();
        let report = h
            .import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
            .await
            .unwrap();
        assert_eq!(report.format, ImportFormat::Hindsight);
        assert_eq!(report.conversations_added, 3);
        let progress = h.reader().analysis_progress().unwrap();
        if automatic {
            assert!(progress.pending > 0, "{progress:?}");
        } else {
            assert_eq!(progress.pending, 0, "{progress:?}");
        }
    }
}

#[tokio::test]
async fn a_damaged_history_refuses_an_import_and_still_exports() {
    let (dir, h) = temp_hindsight();
    h.import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
        .await
        .unwrap();
    let locations = h.locations.clone();
    drop(h);
    let store = Store::open(&locations.db_path()).unwrap();
    let h = Hindsight::new(store, locations, Some(vec!["a test says so".into()])).unwrap();
    let err = h
        .import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "read_only");
    let json = dir.path().join("out.json");
    assert_eq!(h.export(ExportFormat::Json, &json).unwrap(), 3);
    let folder = dir.path().join("md");
    assert_eq!(h.export(ExportFormat::Markdown, &folder).unwrap(), 3);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 3);
}

// The use cases that talk to an LLM, against a fake OpenAI-compatible server (fast and
// deterministic; `chat.rs`, `analysis.rs` and `search.rs` run the same paths against a real
// llama.cpp server and the built-in model).

/// Everything an answer sent to `events`, once the sender is dropped.
async fn events_of(mut rx: mpsc::Receiver<ChatEvent>) -> Vec<ChatEvent> {
    let mut all = Vec::new();
    while let Some(e) = rx.recv().await {
        all.push(e);
    }
    all
}

fn tokens(events: &[ChatEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Token(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn send_stores_both_messages_streams_the_answer_and_names_the_conversation() {
    let llm = FakeLlm::start(vec![
        sse_text("Stay in Bonfim, near the river."),
        sse_text(r#"{"title": "Porto stay"}"#),
    ])
    .await;
    let (_dir, h) = hindsight_for_test(&llm.url).await;
    let c = h.create_conversation(None).unwrap();
    assert_eq!(c.title, "New chat");
    let (tx, rx) = mpsc::channel(64);
    let (named_tx, named_rx) = tokio::sync::oneshot::channel();
    let (answer, events) = tokio::join!(
        h.send_and_name(&c.id, "Where should we stay in Porto?", tx, move |c| {
            let _ = named_tx.send(c);
        }),
        events_of(rx)
    );
    let answer = answer.unwrap();
    assert_eq!(answer.content, "Stay in Bonfim, near the river.");
    assert_eq!(answer.state, MessageState::Complete);
    assert!(
        matches!(events.first(), Some(ChatEvent::Started { user: Some(u), .. }) if u.content == "Where should we stay in Porto?")
    );
    assert_eq!(tokens(&events), answer.content);
    assert!(matches!(events.last(), Some(ChatEvent::Done(m)) if m.id == answer.id));
    let stored = h.messages(&c.id, None, DEFAULT_PAGE).unwrap().items;
    assert_eq!(
        stored
            .iter()
            .map(|m| (m.sender, m.content.as_str()))
            .collect::<Vec<_>>(),
        [
            (Sender::User, "Where should we stay in Porto?"),
            (Sender::Ai, "Stay in Bonfim, near the river.")
        ]
    );
    let named = tokio::time::timeout(Duration::from_secs(10), named_rx)
        .await
        .expect("named in time")
        .expect("a title");
    assert_eq!(named.title, "Porto stay");
    assert_eq!(
        h.conversation(&c.id).unwrap().conversation.title,
        "Porto stay"
    );
    // The server heard the question (the title request came second).
    let first = llm.requests.lock().unwrap()[0].to_string();
    assert!(first.contains("Where should we stay in Porto?"), "{first}");
}

/// Sends `text` in a new conversation of `h`, which has no engine that can answer: fails with
/// `code`, yet the message is kept and its answer stored as `error` with the reason, and the
/// window hears `started` and `done` (it clears the box and shows the reason). Returns the
/// conversation.
async fn sent_without_an_engine(h: &Hindsight, text: &str, code: &str) -> String {
    let c = h.create_conversation(None).unwrap();
    let (tx, rx) = mpsc::channel(64);
    let (result, events) = tokio::join!(h.send(&c.id, text, tx), events_of(rx));
    assert_eq!(result.unwrap_err().code(), code);
    assert!(
        matches!(events.first(), Some(ChatEvent::Started { .. })),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(ChatEvent::Done(m)) if m.state == MessageState::Error),
        "{events:?}"
    );
    let stored = h.messages(&c.id, None, DEFAULT_PAGE).unwrap().items;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0].content, text);
    assert_eq!(stored[1].state, MessageState::Error);
    assert!(stored[1].error.as_deref().is_some_and(|e| !e.is_empty()));
    c.id
}

#[tokio::test]
async fn with_no_engine_the_message_is_kept_and_the_answer_says_why() {
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let (_dir, h) = hindsight_for_test(&dead).await;
    let c = sent_without_an_engine(&h, "are you there?", "llm_unreachable").await;
    // No built-in model installed (an empty models folder): the same, before any model runs.
    let empty = tempfile::tempdir().unwrap();
    let locations =
        hindsight::paths::Locations::resolve(Some(empty.path()), Some(empty.path())).unwrap();
    let store = Store::open(&locations.db_path()).unwrap();
    let bare = Hindsight::new(store, locations, None).unwrap();
    bare.override_llm(LlmSettings {
        provider: Provider::Builtin,
        ..Default::default()
    })
    .await;
    sent_without_an_engine(&bare, "hello?", "model_missing").await;
    // Bad input: nothing is stored for an empty message or an unknown conversation.
    let (tx, _rx) = mpsc::channel(64);
    assert_eq!(
        h.send(&c, "   ", tx).await.unwrap_err().code(),
        "invalid_input"
    );
    let (tx, _rx) = mpsc::channel(64);
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        h.send(unknown, "hi", tx).await.unwrap_err().code(),
        "not_found"
    );
    assert_eq!(h.messages(&c, None, DEFAULT_PAGE).unwrap().items.len(), 2);
}

#[tokio::test]
async fn regenerate_keeps_the_earlier_answer_and_stop_then_continue_completes_one() {
    let drip = br#"data: {"choices":[{"delta":{"content":"Bonfim "},"finish_reason":null}]}

"#;
    let llm = FakeLlm::start(vec![
        sse_text("First answer."),
        sse_text("Second answer."),
        sse(&[]).dripping(drip, Duration::from_millis(50)),
        sse_text("is quiet."),
    ])
    .await;
    let (_dir, h) = hindsight_for_test(&llm.url).await;
    let c = h.create_conversation(Some("Porto")).unwrap();
    let (tx, rx) = mpsc::channel(64);
    let (first, _) = tokio::join!(h.send(&c.id, "Where to stay?", tx), events_of(rx));
    let first = first.unwrap();
    let (tx, rx) = mpsc::channel(64);
    let (second, _) = tokio::join!(h.regenerate(&c.id, tx), events_of(rx));
    let second = second.unwrap();
    assert_eq!(second.id, first.id, "the same message, a new version");
    assert_eq!(second.content, "Second answer.");
    let versions = h.message_versions(&first.id).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].content, "First answer.");

    // A dripping answer, stopped once it has begun: kept as `incomplete`.
    let (tx, mut rx) = mpsc::channel(64);
    let writer = {
        let h = h.clone();
        let id = c.id.clone();
        tokio::spawn(async move { h.regenerate(&id, tx).await })
    };
    while let Some(e) = rx.recv().await {
        if matches!(e, ChatEvent::Token(_)) {
            break;
        }
    }
    assert!(h.stop_answer(&c.id));
    tokio::spawn(events_of(rx));
    let stopped = writer.await.unwrap().unwrap();
    assert_eq!(stopped.state, MessageState::Incomplete);
    assert!(
        stopped.content.starts_with("Bonfim"),
        "{:?}",
        stopped.content
    );
    assert!(!h.stop_answer(&c.id), "nothing left to stop");

    // Continue appends to the same message and completes it.
    let (tx, rx) = mpsc::channel(64);
    let (done, _) = tokio::join!(h.continue_answer(&c.id, tx), events_of(rx));
    let done = done.unwrap();
    assert_eq!(done.id, first.id);
    assert_eq!(done.state, MessageState::Complete);
    assert!(done.content.starts_with(&stopped.content));
    assert!(done.content.ends_with("is quiet."), "{:?}", done.content);
}

#[tokio::test]
async fn the_small_edits_and_the_views_work_through_the_use_cases() {
    let (_dir, h) = temp_hindsight();
    let (c, m) = {
        let s = h.store();
        let c = conversation(&s, "Porto trip", 1_000);
        let m = message(&s, &c, Sender::User, "We picked Bonfim", 1_001);
        (c, m)
    };
    assert_eq!(
        h.rename_conversation(&c, "  Porto, May  ").unwrap().title,
        "Porto, May"
    );
    assert_eq!(
        h.rename_conversation(&c, "   ").unwrap_err().code(),
        "invalid_input"
    );
    let ended = h.end_conversation(&c).unwrap();
    assert_eq!(ended.status.as_str(), "ended");
    assert_eq!(h.reopen_conversation(&c).unwrap().status.as_str(), "active");
    assert_eq!(h.toggle_reaction(&m, "👍").unwrap().reactions, ["👍"]);
    assert!(h.toggle_reaction(&m, "👍").unwrap().reactions.is_empty());
    assert_eq!(
        h.toggle_reaction(&m, "not an emoji").unwrap_err().code(),
        "invalid_input"
    );
    assert!(h.set_bookmark(&m, true).unwrap().is_bookmarked);
    let marks = h.bookmarks(None, DEFAULT_PAGE).unwrap().items;
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].conversation_title, "Porto, May");
    assert!(!h.set_bookmark(&m, false).unwrap().is_bookmarked);
    assert!(h.bookmarks(None, DEFAULT_PAGE).unwrap().items.is_empty());
    assert_eq!(h.search_text("Bonfim", 10).unwrap().len(), 1);
    assert_eq!(h.conversations(None, DEFAULT_PAGE).unwrap().items.len(), 1);
    assert_eq!(h.counts(), (1, 1));
    assert!(h.diagnostics().unwrap().to_text().starts_with("Hindsight "));
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        h.set_bookmark(unknown, true).unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        h.reopen_conversation(unknown).unwrap_err().code(),
        "not_found"
    );
}

#[tokio::test]
async fn settings_are_saved_and_the_engine_follows_them() {
    let llm = FakeLlm::start(vec![sse_text("ok")]).await;
    let (_dir, h) = temp_hindsight();
    let saved = h
        .save_llm_settings(LlmSettings {
            provider: Provider::Server,
            base_url: llm.url.clone(),
            model: "fake-model".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(h.llm_settings().unwrap().base_url, saved.base_url);
    let status = h.llm_status(true).await.unwrap();
    assert_eq!(status.available, Some(true), "{status:?}");
    assert!(!h.llm().await.unwrap().is_builtin());
    let analysis = AnalysisSettings {
        automatic: false,
        idle_minutes: 42,
    };
    h.save_analysis_settings(&analysis).unwrap();
    assert_eq!(h.analysis_settings().unwrap().idle_minutes, 42);
    assert!(!h.analysis_settings().unwrap().automatic);
    // The catalog knows the three built-in models; the test machine has Small installed.
    let models = h.builtin_models();
    assert_eq!(models.len(), 3, "{models:?}");
}

#[tokio::test]
async fn analyses_are_queued_run_and_their_action_items_ticked() {
    const GOOD: &str = r#"{"summary": "The user planned a week in Lisbon.", "topics": ["travel", "lisbon"], "sentiment": "positive", "sentiment_score": 0.7, "action_items": [{"text": "Book Pena Palace tickets", "owner": "user"}], "key_points": ["Stay in Baixa"]}"#;
    let llm = FakeLlm::start(vec![sse_text(GOOD)]).await;
    let (_dir, h) = hindsight_for_test(&llm.url).await;
    let (a, b) = {
        let s = h.store();
        let a = conversation(&s, "Lisbon", 1_000);
        message(
            &s,
            &a,
            Sender::User,
            "I'll book the Pena Palace tickets tonight.",
            1_001,
        );
        let b = conversation(&s, "Idle one", 2_000);
        message(&s, &b, Sender::User, "Nothing much to say.", 2_001);
        (a, b)
    };
    // Automatic analysis ends what has been idle for the chosen time.
    AnalysisSettings {
        automatic: true,
        idle_minutes: 1,
    }
    .save(&h.store())
    .unwrap();
    let ended = h.end_idle_conversations().unwrap();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert!(ended.iter().all(|s| s.state == AnalysisState::Pending));
    assert_eq!(h.to_analyse(None).unwrap().len(), 2);
    let analysis = h.analyse_now(&a).await.unwrap();
    assert_eq!(
        analysis.summary.as_deref(),
        Some("The user planned a week in Lisbon.")
    );
    let (status, stored) = h.analysis(&a).unwrap();
    assert_eq!(status.state, AnalysisState::Done);
    assert!(stored.is_some());
    let item = h.action_items(true, 10).unwrap();
    assert!(!item.is_empty(), "the commitment is an action item");
    assert!(h.set_action_item_done(item[0].item.id, true).unwrap().done);
    assert!(h.action_items(true, 10).unwrap().is_empty());
    // Pause, "Analyse all" (resumes), re-analyse one.
    h.pause_analysis(true);
    assert!(h.analysis_paused());
    // The idle one is queued already: nothing more to queue.
    assert_eq!(
        h.analyse_all().unwrap(),
        0,
        "{b} was queued when it was ended"
    );
    assert!(!h.analysis_paused());
    assert_eq!(h.reanalyse(&a).unwrap().state, AnalysisState::Pending);
    let progress = h.analysis_progress().unwrap();
    assert_eq!(progress.pending, 2, "{progress:?}");
}

#[tokio::test]
async fn ask_answers_from_the_history_and_keeps_the_question() {
    let llm = FakeLlm::start(vec![sse_text(r#"{"answer": "Baixa", "excerpt": 1}"#)]).await;
    let (_dir, h) = hindsight_for_test(&llm.url).await;
    h.import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
        .await
        .unwrap();
    h.embed_backlog(32, |_| {}).unwrap();
    assert_eq!(h.count_unembedded().unwrap(), 0);
    h.searcher.refresh(&h.search_store()).unwrap();
    let (tx, mut rx) = mpsc::channel::<String>(64);
    let pieces = tokio::spawn(async move {
        let mut s = String::new();
        while let Some(p) = rx.recv().await {
            s.push_str(&p);
        }
        s
    });
    let question = "Which neighbourhood should I stay in, in Lisbon?";
    let result = h.ask(question, None, tx).await.unwrap();
    pieces.await.unwrap();
    assert!(result.answer.contains("Baixa"), "{result:?}");
    assert!(
        result.excerpts.iter().any(|e| e.message.contains("Baixa")),
        "{result:?}"
    );
    let asked = h.asked(10).unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].question, question);
    h.delete_asked(asked[0].id).unwrap();
    assert!(h.asked(10).unwrap().is_empty());
}
