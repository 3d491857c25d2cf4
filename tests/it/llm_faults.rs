//! The LLM client and chat service against a local fake HTTP server that misbehaves on
//! purpose (the real llama.cpp server is in tests/it/chat.rs). Every fault gives a clear error,
//! never a panic, and loses nothing the user typed.

use crate::common::fake_llm::{fake_server, sse, Reply};

use std::sync::{Arc, Mutex};

use hindsight::chat::ChatService;
use hindsight::llm::{ChatMessage, Llm, LlmSettings, Purpose, Role};
use hindsight::store::{MessageState, Sender};
use hindsight::{error::LlmError, Error};
use tokio::sync::mpsc;

fn client(url: &str, timeout_secs: u64) -> Llm {
    Llm::server(LlmSettings {
        base_url: url.into(),
        timeout_secs,
        ..Default::default()
    })
    .unwrap()
}

async fn collect(llm: &Llm) -> (String, hindsight::Result<hindsight::llm::Finish>) {
    let (tx, mut rx) = mpsc::channel(64);
    let prompt = [ChatMessage::new(Role::User, "hi")];
    let (result, text) = tokio::join!(llm.stream_chat(Purpose::Chat, &prompt, None, tx), async {
        let mut s = String::new();
        while let Some(t) = rx.recv().await {
            s.push_str(&t);
        }
        s
    });
    (text, result)
}

const FIRST: &[u8] = b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null},\"finish_reason\":null}]}\n\n";

#[tokio::test]
async fn streams_deltas_skips_keepalives_and_ends_at_done() {
    let url = fake_server(sse(&[
        b": keep-alive\n\n",
        FIRST,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        b"\n\n",
        b"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        b"data: [DONE]\n\n",
    ]))
    .await;
    let (text, r) = collect(&client(&url, 5)).await;
    assert_eq!(text, "Hello");
    assert_eq!(r.unwrap().reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn utf8_split_across_chunks_and_events_split_across_reads() {
    let event = "data: {\"choices\":[{\"delta\":{\"content\":\"café 🙂\"}}]}\n\n".as_bytes();
    // Cut inside "é" and inside the emoji.
    let cut1 = event.iter().position(|&b| b == 0xC3).unwrap() + 1;
    let cut2 = event.iter().position(|&b| b == 0xF0).unwrap() + 2;
    let url = fake_server(sse(&[
        FIRST,
        &event[..cut1],
        &event[cut1..cut2],
        &event[cut2..],
        b"data: [DONE]\n\n",
    ]))
    .await;
    let (text, r) = collect(&client(&url, 5)).await;
    r.unwrap();
    assert_eq!(text, "café 🙂");
}

#[tokio::test]
async fn http_errors_carry_the_servers_message() {
    let body = r#"{"error":{"code":500,"message":"model failed to load","type":"server_error"}}"#;
    let url = fake_server(Reply {
        head: format!("HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()),
        pieces: vec![],
        hang: false,
        drip: None,
    })
    .await;
    let (_, r) = collect(&client(&url, 5)).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::Llm(LlmError::Http { status: 500, .. })),
        "{e}"
    );
    assert!(e.to_string().contains("model failed to load"), "{e}");
}

#[tokio::test]
async fn garbage_instead_of_sse_is_a_protocol_error() {
    let url = fake_server(Reply {
        head: "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 21\r\n\r\n<html>oops</html>\n\n\n\n".into(),
        pieces: vec![],
        hang: false,
        drip: None,
    })
    .await;
    let (_, r) = collect(&client(&url, 5)).await;
    assert!(matches!(r, Err(Error::Llm(LlmError::Protocol(_)))), "{r:?}");

    let url = fake_server(sse(&[FIRST, b"data: {not json at all\n\n"])).await;
    let (_, r) = collect(&client(&url, 5)).await;
    assert!(matches!(r, Err(Error::Llm(LlmError::Protocol(_)))), "{r:?}");

    let url = fake_server(sse(&[
        FIRST,
        b"data: {\"error\":{\"message\":\"context overflow\"}}\n\n",
    ]))
    .await;
    let (_, r) = collect(&client(&url, 5)).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::Llm(LlmError::Server(_))) && e.to_string().contains("context overflow"),
        "{e}"
    );
}

#[tokio::test]
async fn a_stream_closed_mid_answer_is_interrupted() {
    let url = fake_server(sse(&[
        FIRST,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n",
    ]))
    .await;
    let (text, r) = collect(&client(&url, 5)).await;
    assert_eq!(text, "partial");
    assert!(matches!(r, Err(Error::Llm(LlmError::Interrupted))), "{r:?}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let mut reply = sse(&[FIRST]);
    reply.hang = true;
    let url = fake_server(reply).await;
    let (_, r) = collect(&client(&url, 1)).await;
    assert!(
        matches!(r, Err(Error::Llm(LlmError::Timeout { secs: 1, .. }))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_dead_server_is_unreachable_and_the_users_message_is_kept() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let llm = client(&format!("http://127.0.0.1:{port}/v1"), 5);
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "offline", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, _rx) = mpsc::channel(64);
    let err = chat.send(&llm, &c, "are you there?", tx).await.unwrap_err();
    assert!(
        matches!(err, Error::Llm(LlmError::Unreachable { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("not reachable"), "{err}");
    let store = chat.store().lock().unwrap();
    let messages = store.all_messages(&c).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].sender, messages[0].content.as_str()),
        (Sender::User, "are you there?")
    );
    assert_eq!(messages[1].state, MessageState::Error);
    assert!(messages[1]
        .error
        .as_deref()
        .unwrap()
        .contains("not reachable"));
}

#[tokio::test]
async fn partial_answers_of_a_broken_stream_are_kept_as_incomplete() {
    let url = fake_server(sse(&[
        FIRST,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"The answer is\"}}]}\n\n",
    ]))
    .await;
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "broken", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, _rx) = mpsc::channel(64);
    assert!(chat
        .send(&client(&url, 5), &c, "question", tx)
        .await
        .is_err());
    let store = chat.store().lock().unwrap();
    let m = store.all_messages(&c).unwrap();
    assert_eq!(
        (m[1].state, m[1].content.as_str()),
        (MessageState::Incomplete, "The answer is")
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_stored() {
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "input", 0);
    let ended = crate::common::conversation(&t.store, "ended", 0);
    t.store.end_conversation(&ended).unwrap();
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let llm = client("http://127.0.0.1:9/v1", 5);
    let huge = "x".repeat(hindsight::store::MAX_MESSAGE_BYTES + 1);
    for (conv, text, what) in [
        (c.as_str(), "   \n ", "empty"),
        (c.as_str(), huge.as_str(), "limit"),
        (ended.as_str(), "hello", "ended"),
        ("00000000-0000-4000-8000-000000000000", "hello", "not found"),
        ("not-an-id", "hello", "not a UUID"),
    ] {
        let (tx, _rx) = mpsc::channel(8);
        let err = chat.send(&llm, conv, text, tx).await.unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    assert_eq!(chat.store().lock().unwrap().count_messages().unwrap(), 0);
}

#[test]
fn prompt_keeps_the_newest_history_within_budget() {
    use hindsight::chat::build_prompt;
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "long", 0);
    for i in 0..20 {
        crate::common::message(
            &t.store,
            &c,
            if i % 2 == 0 { Sender::User } else { Sender::Ai },
            &format!("{i:02}{}", "x".repeat(98)),
            i,
        );
    }
    let history = t.store.all_messages(&c).unwrap();
    let settings = LlmSettings {
        context_chars: 1000,
        system_prompt: "sys".into(),
        ..Default::default()
    };
    let prompt = build_prompt(&settings, &history, "none");
    assert_eq!(prompt[0].role, Role::System);
    assert_eq!(prompt.len(), 1 + 9, "9 messages of 100 chars fit in 997");
    assert!(prompt[1].content.starts_with("11"), "oldest dropped first");
    assert!(prompt.last().unwrap().content.starts_with("19"));
    assert_eq!(
        hindsight::chat::title_from(
            "  \n What should I pack for a two-day hike in the Alps in June? I have a small bag"
        ),
        "What should I pack for a two-day hike in the Alps in June?…"
    );
}

#[tokio::test]
async fn regenerate_replaces_the_last_answer() {
    let url = fake_server(sse(&[
        FIRST,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}\n\n",
        b"data: [DONE]\n\n",
    ]))
    .await;
    let llm = client(&url, 5);
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "again", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, _rx) = mpsc::channel(64);
    let first = chat.send(&llm, &c, "hi", tx).await.unwrap();
    let (tx, _rx) = mpsc::channel(64);
    let again = chat.regenerate(&llm, &c, tx).await.unwrap();
    assert_eq!(again.id, first.id, "the answer is rewritten in place");
    assert_eq!(
        (again.state, again.content.as_str()),
        (MessageState::Complete, "Hello")
    );
    // The answer it replaced is kept as version 1 (‹ 1/2 ›); the message is the newest.
    assert_eq!(again.earlier_versions, 1);
    let (tx, _rx) = mpsc::channel(64);
    let third = chat.regenerate(&llm, &c, tx).await.unwrap();
    assert_eq!(third.earlier_versions, 2);
    let store = chat.store().lock().unwrap();
    assert_eq!(store.all_messages(&c).unwrap().len(), 2);
    let versions = store.message_versions(&third.id).unwrap();
    let kept: Vec<(i64, &str, MessageState)> = versions
        .iter()
        .map(|v| (v.version, v.content.as_str(), v.state))
        .collect();
    assert_eq!(
        kept,
        [
            (1, "Hello", MessageState::Complete),
            (2, "Hello", MessageState::Complete)
        ]
    );
    // Deleting the conversation deletes the versions with the messages.
    store.delete_conversation(&c).unwrap();
    let left: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM message_versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

/// An answer the model ended at its token limit is complete with a note ("cut at the answer
/// length limit"); Continue sends it back as the assistant's last turn (prefill) and appends
/// what comes to the same message, which then completes.
#[tokio::test]
async fn an_answer_cut_at_the_limit_can_be_continued() {
    use crate::common::fake_llm::FakeLlm;
    let fake = FakeLlm::start(vec![
        sse(&[
            FIRST,
            b"data: {\"choices\":[{\"delta\":{\"content\":\"The three colours are red, ye\"},\"finish_reason\":\"length\"}]}\n\n",
            b"data: [DONE]\n\n",
        ]),
        sse(&[
            FIRST,
            b"data: {\"choices\":[{\"delta\":{\"content\":\"llow and blue.\"},\"finish_reason\":\"stop\"}]}\n\n",
            b"data: [DONE]\n\n",
        ]),
    ])
    .await;
    let llm = client(&fake.url, 5);
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "colours", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, _rx) = mpsc::channel(64);
    let cut = chat.send(&llm, &c, "Name three colours", tx).await.unwrap();
    assert_eq!(cut.state, MessageState::Complete);
    assert_eq!(cut.error.as_deref(), Some(hindsight::chat::CUT_AT_LIMIT));

    let (tx, mut rx) = mpsc::channel(64);
    let done = chat.continue_answer(&llm, &c, tx).await.unwrap();
    assert_eq!(done.id, cut.id, "the same message goes on");
    assert_eq!(
        (done.state, done.content.as_str(), done.error.as_deref()),
        (
            MessageState::Complete,
            "The three colours are red, yellow and blue.",
            None
        )
    );
    // The window saw the answer so far, then only the new text.
    let mut tokens = String::new();
    while let Ok(e) = rx.try_recv() {
        match e {
            hindsight::chat::ChatEvent::Started { ai, .. } => {
                assert_eq!(ai.content, "The three colours are red, ye")
            }
            hindsight::chat::ChatEvent::Token(t) => tokens.push_str(&t),
            hindsight::chat::ChatEvent::Done(_) => {}
        }
    }
    assert_eq!(tokens, "llow and blue.");
    let sent = fake.requests.lock().unwrap()[1]["messages"].clone();
    let turns: Vec<(String, String)> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The answer so far is the last turn, the assistant's: the server goes on from it.
    assert_eq!(
        turns.last().unwrap(),
        &(
            "assistant".to_owned(),
            "The three colours are red, ye".to_owned()
        )
    );

    // Nothing unfinished left: Continue says so.
    let (tx, _rx) = mpsc::channel(64);
    assert!(chat.continue_answer(&llm, &c, tx).await.is_err());
}

#[test]
fn llm_settings_persist_in_the_store_and_are_validated() {
    let t = crate::common::temp_store();
    assert_eq!(LlmSettings::load(&t.store).unwrap(), LlmSettings::default());
    let s = LlmSettings {
        provider: hindsight::llm::Provider::Server,
        base_url: "http://127.0.0.1:1234/v1".into(),
        builtin_model: hindsight::llm::BuiltinChoice::Better,
        model: "qwen2.5-7b-instruct".into(),
        temperature: 0.2,
        top_p: 0.8,
        seed: Some(7),
        max_tokens: 1024,
        system_prompt: "Be brief.".into(),
        timeout_secs: 90,
        chat_deadline_secs: 120,
        analysis_deadline_secs: 900,
        ask_deadline_secs: 60,
        proxy: "http://proxy.example:3128".into(),
        context_chars: 12_000,
    };
    s.save(&t.store).unwrap();
    drop(t.store);
    let reopened = hindsight::store::Store::open(&t.dir.path().join("hindsight.db")).unwrap();
    assert_eq!(LlmSettings::load(&reopened).unwrap(), s);
    for bad in [
        LlmSettings {
            base_url: "localhost:8080".into(),
            ..Default::default()
        },
        LlmSettings {
            temperature: 3.0,
            ..Default::default()
        },
        LlmSettings {
            max_tokens: 0,
            ..Default::default()
        },
        LlmSettings {
            ask_deadline_secs: 0,
            ..Default::default()
        },
        LlmSettings {
            proxy: "socks5://127.0.0.1:9050".into(),
            ..Default::default()
        },
        LlmSettings {
            top_p: 0.0,
            ..Default::default()
        },
        // A server must have a URL; `auto` and `builtin` may have none.
        LlmSettings {
            provider: hindsight::llm::Provider::Server,
            base_url: String::new(),
            ..Default::default()
        },
    ] {
        assert!(
            matches!(bad.save(&reopened), Err(Error::Invalid(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        LlmSettings::load(&reopened).unwrap(),
        s,
        "a refused save changes nothing"
    );
    LlmSettings {
        base_url: String::new(),
        ..Default::default()
    }
    .validate()
    .expect("no server configured is valid for auto");
}

/// Turns a hang into a test failure.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(secs), f)
        .await
        .expect("the request hung")
}

fn token_event(text: &str) -> Vec<u8> {
    format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"delta": {"content": text}}]})
    )
    .into_bytes()
}

#[tokio::test]
async fn keep_alives_forever_hit_the_idle_deadline() {
    let url = fake_server(
        sse(&[FIRST, &token_event("Hel")])
            .dripping(b": keep-alive\n\n", std::time::Duration::from_millis(100)),
    )
    .await;
    let (text, r) = within(30, collect(&client(&url, 1))).await;
    assert_eq!(text, "Hel");
    assert!(
        matches!(r, Err(Error::Llm(LlmError::Timeout { secs: 1, .. }))),
        "{r:?}"
    );
}

/// One token every 300 ms never trips the idle deadline; the overall one ends the answer, and
/// the text so far is kept as `incomplete` with the reason.
#[tokio::test]
async fn a_slow_drip_hits_the_overall_deadline_and_keeps_the_text() {
    let url = fake_server(
        sse(&[FIRST]).dripping(&token_event("w "), std::time::Duration::from_millis(300)),
    )
    .await;
    let llm = Llm::server(LlmSettings {
        base_url: url,
        timeout_secs: 5,
        chat_deadline_secs: 2,
        analysis_deadline_secs: 1,
        ask_deadline_secs: 1,
        ..Default::default()
    })
    .unwrap();
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "drip", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, _rx) = mpsc::channel(1024);
    let err = within(30, chat.send(&llm, &c, "question", tx))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "llm_deadline", "{err}");
    let m = chat.store().lock().unwrap().all_messages(&c).unwrap();
    assert_eq!(m[1].state, MessageState::Incomplete);
    assert!(m[1].content.starts_with("w w w"), "{:?}", m[1].content);
    assert!(
        m[1].error.as_deref().unwrap().contains("longer than 2 s"),
        "{:?}",
        m[1].error
    );
    // Analyses and Ask have their own deadline.
    let prompt = [ChatMessage::new(Role::User, "hi")];
    for purpose in [Purpose::Analysis, Purpose::Ask] {
        let err = within(30, llm.complete(purpose, &prompt, None))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Llm(LlmError::Deadline { secs: 1, .. })),
            "{purpose:?}: {err}"
        );
    }
}

#[tokio::test]
async fn an_endless_line_is_refused_clearly() {
    let mut line = b"data: {\"choices\":[{\"delta\":{\"content\":\"".to_vec();
    line.extend(std::iter::repeat_n(b'x', 3 << 20));
    let url = fake_server(sse(&[FIRST, &line])).await;
    let (_, r) = within(60, collect(&client(&url, 5))).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::Llm(LlmError::Protocol(_)))
            && e.to_string().contains("longer than 1 MiB"),
        "{e}"
    );
}

/// An answer past the largest message is cut there and kept, `incomplete`, "too long"; the
/// stream is not read further.
#[tokio::test]
async fn a_huge_answer_is_cut_at_the_message_limit_and_kept() {
    let limit = hindsight::store::MAX_MESSAGE_BYTES;
    let piece = "é".repeat(500); // 1000 bytes, two per char: the cut must respect them
    let mut body = FIRST.to_vec();
    for _ in 0..(limit / 1000 + 50) {
        body.extend(token_event(&piece));
    }
    body.extend(b"data: [DONE]\n\n");
    let url = fake_server(sse(&[&body])).await;
    let t = crate::common::temp_store();
    let c = crate::common::conversation(&t.store, "huge", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let err = within(60, chat.send(&client(&url, 5), &c, "write a lot", tx))
        .await
        .unwrap_err();
    drain.await.unwrap();
    assert_eq!(err.code(), "llm_too_long", "{err}");
    let m = chat.store().lock().unwrap().all_messages(&c).unwrap();
    assert_eq!(m[1].state, MessageState::Incomplete);
    assert!(m[1].content.len() <= limit && m[1].content.len() > limit - 1000);
    assert!(m[1].error.as_deref().unwrap().contains("too long"));
}

/// The partial text is on disk within moments of arriving, even when no further token comes to
/// trigger a save.
#[tokio::test]
async fn partial_text_is_saved_without_waiting_for_the_next_token() {
    let mut reply = sse(&[FIRST, &token_event("partial")]);
    reply.hang = true;
    let url = fake_server(reply).await;
    let t = crate::common::temp_store();
    let db = t.dir.path().join("hindsight.db");
    let c = crate::common::conversation(&t.store, "partial", 0);
    let chat = Arc::new(ChatService::new(Arc::new(Mutex::new(t.store)), || {}));
    let running = {
        let (chat, c) = (chat.clone(), c.clone());
        tokio::spawn(async move {
            let (tx, _rx) = mpsc::channel(64);
            chat.send(&client(&url, 20), &c, "question", tx).await
        })
    };
    let reader = hindsight::store::Store::open(&db).unwrap();
    let mut seen = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let m = reader.all_messages(&c).unwrap();
        if m.len() == 2 && m[1].content == "partial" {
            seen = Some(m[1].state);
            break;
        }
    }
    assert_eq!(
        seen,
        Some(MessageState::Streaming),
        "partial text not saved"
    );
    assert!(chat.stop(&c));
    let m = running.await.unwrap().unwrap();
    assert_eq!(
        (m.state, m.content.as_str()),
        (MessageState::Incomplete, "partial")
    );
}

/// Another process holds the write lock longer than the busy timeout when the answer ends: the
/// final save waits for it instead of failing, and nothing of the answer is lost.
#[tokio::test]
async fn the_final_save_outlasts_a_held_write_lock() {
    let mut body = FIRST.to_vec();
    for i in 0..40 {
        body.extend(token_event(&format!("w{i} ")));
    }
    body.extend(b"data: [DONE]\n\n");
    let url = fake_server(sse(&[&body])).await;
    let t = crate::common::temp_store();
    let db = t.dir.path().join("hindsight.db");
    let c = crate::common::conversation(&t.store, "locked", 0);
    let chat = ChatService::new(Arc::new(Mutex::new(t.store)), || {});
    let (user, ai) = chat.record(&c, "count to forty").await.unwrap();

    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let other = hindsight::store::Store::open(&db).unwrap();
        other.connection().execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(7));
        other.connection().execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let (tx, _rx) = mpsc::channel(64);
    let m = within(60, chat.answer(&client(&url, 5), ai, Some(user), tx))
        .await
        .unwrap();
    holder.join().unwrap();
    let expected: String = (0..40).map(|i| format!("w{i} ")).collect();
    assert_eq!(
        (m.state, m.content.as_str()),
        (MessageState::Complete, expected.as_str())
    );
    let stored = chat.store().lock().unwrap().get_message(&m.id).unwrap();
    assert_eq!(stored.content, expected);
    assert_eq!(stored.state, MessageState::Complete);
}

/// A proxy listener that counts the connections it gets (and answers none of them).
async fn proxy_listener() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(sock);
        }
    });
    (url, hits)
}

/// `http_proxy` and friends never carry a conversation anywhere: not to a dead local server
/// (the chat fails clearly), not to a live one (it answers directly).
#[tokio::test]
async fn proxy_variables_are_ignored() {
    use crate::common::fake_llm::{sse_text, FakeLlm};
    let (proxy, hits) = proxy_listener().await;
    let fake = FakeLlm::start(vec![sse_text("direct answer")]).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let data = tempfile::tempdir().unwrap();
    let run = |url: String| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hindsight"));
        cmd.arg("--data-dir")
            .arg(data.path())
            .args(["chat", "--url", &url, "my secret plans"]);
        for var in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            cmd.env(var, &proxy);
        }
        cmd.env_remove("NO_PROXY").env_remove("no_proxy");
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let o = run(dead).await.unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not reachable"), "{err}");

    let o = run(fake.url.clone()).await.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("direct answer"));
    assert_eq!(fake.requests.lock().unwrap().len(), 1);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the proxy saw traffic"
    );
}

/// The proxy set in Settings is used for a remote server only, never for this machine.
#[tokio::test]
async fn the_settings_proxy_is_for_remote_servers_only() {
    use std::sync::atomic::Ordering;
    let (proxy, hits) = proxy_listener().await;
    let with = |base_url: &str| {
        Llm::server(LlmSettings {
            base_url: base_url.into(),
            model: "m".into(),
            proxy: proxy.clone(),
            timeout_secs: 5,
            ..Default::default()
        })
        .unwrap()
    };
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for local in [
        format!("http://127.0.0.1:{dead}/v1"),
        format!("http://localhost:{dead}/v1"),
        format!("http://[::1]:{dead}/v1"),
    ] {
        let (_, r) = within(30, collect(&with(&local))).await;
        assert!(r.is_err());
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{local} went through the proxy"
        );
    }
    let (_, r) = within(30, collect(&with("http://llm.example.com:8080/v1"))).await;
    assert!(r.is_err(), "the counting proxy answers nothing");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a remote server goes through the proxy"
    );
    assert!(hindsight::llm::is_loopback("http://127.0.0.9:1/v1"));
    assert!(!hindsight::llm::is_loopback("http://192.168.1.5:8080/v1"));
}

/// Runs `hindsight chat` against `url` in the background.
fn spawn_chat(data: &std::path::Path, url: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--data-dir")
        .arg(data)
        .args(["chat", "--url", url, "tell me a long story"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The CLI's answer as another process sees it: (state, content, error).
fn stored_answer(data: &std::path::Path) -> Option<(String, String, String)> {
    let o = crate::common::hindsight(data, None, &["list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).ok()?;
    let id = list.first()?["id"].as_str()?.to_owned();
    let o = crate::common::hindsight(data, None, &["show", &id, "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    let m = show["messages"].get(1)?;
    Some((
        m["state"].as_str()?.to_owned(),
        m["content"].as_str()?.to_owned(),
        m["error"].as_str().unwrap_or("").to_owned(),
    ))
}

/// Waits until the CLI's answer is on disk with some text, while it streams.
async fn wait_streaming(data: &std::path::Path) -> (String, String, String) {
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Some(a) = stored_answer(data).filter(|a| a.1.contains("w w")) {
            return a;
        }
    }
    panic!("the answer never showed up on disk");
}

/// SIGTERM stops a CLI chat like Ctrl+C: the partial answer is saved `incomplete`, "stopped".
/// A kill -9 leaves it `streaming`, and the next start of any command repairs it.
#[cfg(unix)]
#[tokio::test]
async fn a_terminated_or_killed_cli_chat_keeps_its_text_and_is_repaired() {
    let url = fake_server(
        sse(&[FIRST]).dripping(&token_event("w "), std::time::Duration::from_millis(50)),
    )
    .await;

    let term = tempfile::tempdir().unwrap();
    let mut child = spawn_chat(term.path(), &url);
    let (state, _, _) = wait_streaming(term.path()).await;
    assert_eq!(state, "streaming");
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a stop is not a failure: {status:?}");
    let (state, content, error) = stored_answer(term.path()).unwrap();
    assert_eq!((state.as_str(), error.as_str()), ("incomplete", "stopped"));
    assert!(content.starts_with("w w"));

    let killed = tempfile::tempdir().unwrap();
    let mut child = spawn_chat(killed.path(), &url);
    wait_streaming(killed.path()).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // `show` opens the store: that open repairs the dead process's answer.
    let (state, content, error) = stored_answer(killed.path()).unwrap();
    assert_eq!(state, "incomplete");
    assert!(content.starts_with("w w"), "{content}");
    assert!(error.contains("interrupted"), "{error}");
}

/// The user's message is stored before any model loads: a model that cannot load (here: the
/// built-in one, not installed) leaves the message and an answer marked `error` with the reason.
#[test]
fn a_model_that_cannot_load_loses_no_message() {
    let data = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let o = crate::common::hindsight(
        data.path(),
        Some(models.path()),
        &["chat", "--builtin", "remember the milk"],
    );
    assert!(!o.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(
        &crate::common::hindsight(data.path(), None, &["list", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap();
    let show: serde_json::Value = serde_json::from_slice(
        &crate::common::hindsight(data.path(), None, &["show", id, "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(show["messages"][0]["content"], "remember the milk");
    assert_eq!(show["messages"][1]["state"], "error");
    assert!(show["messages"][1]["error"]
        .as_str()
        .unwrap()
        .contains("not installed"));

    // Blank text creates nothing at all.
    let blank = tempfile::tempdir().unwrap();
    let o = crate::common::hindsight(blank.path(), None, &["chat", "   "]);
    assert!(!o.status.success());
    let list = crate::common::hindsight(blank.path(), None, &["list", "--json"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "[]");
}
