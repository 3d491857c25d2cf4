//! The LLM client and chat service against a local fake HTTP server that misbehaves on
//! purpose (the real llama.cpp server is in tests/chat.rs). Every fault gives a clear error,
//! never a panic, and loses nothing the user typed.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod common;

use common::fake_llm::{fake_server, sse, Reply};

use std::sync::{Arc, Mutex};

use hindsight::chat::ChatService;
use hindsight::llm::{ChatMessage, Llm, LlmSettings, Role};
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
    let (result, text) = tokio::join!(llm.stream_chat(&prompt, None, tx), async {
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
    let t = common::temp_store();
    let c = common::conversation(&t.store, "offline", 0);
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
    let t = common::temp_store();
    let c = common::conversation(&t.store, "broken", 0);
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
    let t = common::temp_store();
    let c = common::conversation(&t.store, "input", 0);
    let ended = common::conversation(&t.store, "ended", 0);
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
    let t = common::temp_store();
    let c = common::conversation(&t.store, "long", 0);
    for i in 0..20 {
        common::message(
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
    let t = common::temp_store();
    let c = common::conversation(&t.store, "again", 0);
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
    let store = chat.store().lock().unwrap();
    assert_eq!(store.all_messages(&c).unwrap().len(), 2);
}

#[test]
fn llm_settings_persist_in_the_store_and_are_validated() {
    let t = common::temp_store();
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
