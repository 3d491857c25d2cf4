//! Chat against the real llama.cpp server (PyPI xllamacpp) running SmolLM2-135M-Instruct,
//! installed by `scripts/install-llama-server` into `.llm/` (override: HINDSIGHT_LLM_DIR).
//! Each test starts its own server on a free loopback port and stops it after.

use crate::common::llama::{start_server, start_server_with};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hindsight::chat::{ChatEvent, ChatService};
use hindsight::llm::{Llm, LlmSettings};
use hindsight::store::{MessageState, Sender};
use tokio::sync::mpsc;

fn llm(url: &str, max_tokens: u32) -> Llm {
    Llm::server(LlmSettings {
        base_url: url.into(),
        temperature: 0.0,
        max_tokens,
        timeout_secs: 30,
        ..Default::default()
    })
    .unwrap()
}

fn service() -> (tempfile::TempDir, ChatService) {
    let t = crate::common::temp_store();
    (
        t.dir,
        ChatService::new(Arc::new(Mutex::new(t.store)), || {}),
    )
}

/// Collects events; after `stop_after` tokens calls `on_tokens` once.
async fn drain(
    mut rx: mpsc::Receiver<ChatEvent>,
    stop_after: usize,
    on_tokens: impl FnOnce(),
) -> (String, Vec<&'static str>) {
    let mut text = String::new();
    let mut kinds = Vec::new();
    let mut n = 0;
    let mut hook = Some(on_tokens);
    while let Some(e) = rx.recv().await {
        match e {
            ChatEvent::Started { .. } => kinds.push("started"),
            ChatEvent::Token(t) => {
                text.push_str(&t);
                n += 1;
                if n == stop_after {
                    if let Some(h) = hook.take() {
                        h();
                    }
                }
                if kinds.last() != Some(&"token") {
                    kinds.push("token");
                }
            }
            ChatEvent::Done(_) => kinds.push("done"),
        }
    }
    (text, kinds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_is_stored_whole() {
    let server = start_server();
    let llm = llm(&server.url, 48);
    let Llm::Server(client) = &llm else {
        panic!("a server client")
    };
    assert_eq!(
        client.models().await.unwrap(),
        vec!["smollm2-135m".to_string()]
    );
    // The first-run welcome's detection finds the real server and skips a closed port.
    let found = hindsight::llm::detect::local_servers_at(
        &[
            ("nobody", "http://127.0.0.1:9/v1"),
            ("llama.cpp", &server.url),
        ],
        std::time::Duration::from_secs(2),
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].name.as_str(), found[0].base_url.as_str()),
        ("llama.cpp", server.url.as_str())
    );
    assert_eq!(found[0].models, ["smollm2-135m"]);
    let (_dir, chat) = service();
    let c = chat
        .create_conversation(Some("What is the capital of France?"))
        .unwrap();
    assert_eq!(c.title, "What is the capital of France?");
    let (tx, rx) = mpsc::channel(256);
    let (result, (streamed, kinds)) = tokio::join!(
        chat.send(&llm, &c.id, "What is the capital of France?", tx),
        drain(rx, 0, || {})
    );
    let ai = result.unwrap();
    assert_eq!(kinds, ["started", "token", "done"]);
    assert_eq!(ai.state, MessageState::Complete);
    assert!(!ai.content.trim().is_empty());
    assert_eq!(ai.content, streamed, "what was streamed is what was stored");
    assert!(
        ai.content.contains("Paris"),
        "SmolLM2 knows this one: {:?}",
        ai.content
    );
    let stored = chat.store().lock().unwrap().all_messages(&c.id).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        (stored[0].sender, stored[1].sender),
        (Sender::User, Sender::Ai)
    );
    assert_eq!(stored[1].content, streamed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_mid_stream_keeps_the_partial_answer_as_incomplete() {
    let server = start_server();
    let llm = llm(&server.url, 400);
    let (_dir, chat) = service();
    let c = chat.create_conversation(None).unwrap();
    let (tx, rx) = mpsc::channel(256);
    let id = c.id.clone();
    let chat_ref = &chat;
    let t0 = Instant::now();
    let (result, (streamed, _)) = tokio::join!(
        chat.send(
            &llm,
            &c.id,
            "Write a long story about a lighthouse keeper and a storm.",
            tx
        ),
        drain(rx, 5, move || assert!(
            chat_ref.stop(&id),
            "an answer was streaming"
        ))
    );
    let ai = result.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert_eq!(ai.state, MessageState::Incomplete);
    assert_eq!(ai.error.as_deref(), Some("stopped"));
    assert!(!ai.content.is_empty());
    assert_eq!(ai.content, streamed);
    assert!(!chat.is_streaming(&c.id));
    let stored = chat.store().lock().unwrap().get_message(&ai.id).unwrap();
    assert_eq!(
        (stored.state, stored.content),
        (MessageState::Incomplete, streamed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_stream_keeps_the_question_and_the_partial_answer() {
    let server = Arc::new(Mutex::new(Some(start_server())));
    let url = server.lock().unwrap().as_ref().unwrap().url.clone();
    let llm = llm(&url, 400);
    let (_dir, chat) = service();
    let c = chat.create_conversation(None).unwrap();
    let (tx, rx) = mpsc::channel(256);
    let killer = server.clone();
    let (result, (streamed, _)) = tokio::join!(
        chat.send(
            &llm,
            &c.id,
            "Tell me everything about the history of Rome.",
            tx
        ),
        drain(rx, 5, move || {
            // Dropping the handle kills the server mid-answer.
            drop(killer.lock().unwrap().take());
        })
    );
    let err = result.unwrap_err();
    assert!(matches!(err, hindsight::Error::Llm(_)), "{err}");
    let stored = chat.store().lock().unwrap().all_messages(&c.id).unwrap();
    assert_eq!(
        stored[0].content,
        "Tell me everything about the history of Rome."
    );
    assert_eq!(stored[1].state, MessageState::Incomplete, "{:?}", stored[1]);
    assert!(stored[1].content.len() >= 5 && streamed.starts_with(&stored[1].content));
    assert!(stored[1].error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_conversations_stream_at_once() {
    let server = start_server_with(2); // two slots: both answers really interleave
    let llm = llm(&server.url, 24);
    let (_dir, chat) = service();
    let a = chat.create_conversation(None).unwrap();
    let b = chat.create_conversation(None).unwrap();
    let (ta, ra) = mpsc::channel(256);
    let (tb, rb) = mpsc::channel(256);
    let (x, y, (sa, _), (sb, _)) = tokio::join!(
        chat.send(&llm, &a.id, "Name three fruits.", ta),
        chat.send(&llm, &b.id, "Name three colours.", tb),
        drain(ra, 0, || {}),
        drain(rb, 0, || {})
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(
        (x.state, y.state),
        (MessageState::Complete, MessageState::Complete)
    );
    assert_eq!((x.content, y.content), (sa, sb));
    assert_ne!(x.conversation_id, y.conversation_id);
}

#[test]
fn cli_chat_streams_from_the_server_and_keeps_the_question_when_it_is_down() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::common::hindsight(dir.path(), None, args);
    let o = run(&[
        "chat",
        "--url",
        &server.url,
        "What is the capital of France?",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!printed.trim().is_empty());
    drop(server);

    let dead = format!(
        "http://127.0.0.1:{}/v1",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let o = run(&["chat", "--url", &dead, "Is anyone there?"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not reachable"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 2);
    let offline = list
        .iter()
        .find(|c| c["title"] == "Is anyone there?")
        .expect("titled from the message");
    let show: serde_json::Value =
        serde_json::from_slice(&run(&["show", offline["id"].as_str().unwrap(), "--json"]).stdout)
            .unwrap();
    assert_eq!(show["messages"][0]["content"], "Is anyone there?");
    assert_eq!(show["messages"][1]["state"], "error");
    // The answer printed by the first chat is the one stored (the default temperature is 0.7,
    // so its wording varies: compare, don't guess).
    let first = list
        .iter()
        .find(|c| c["title"] == "What is the capital of France?")
        .unwrap();
    let show: serde_json::Value =
        serde_json::from_slice(&run(&["show", first["id"].as_str().unwrap(), "--json"]).stdout)
            .unwrap();
    assert_eq!(show["messages"][1]["state"], "complete");
    assert_eq!(
        format!("{}\n", show["messages"][1]["content"].as_str().unwrap()),
        printed
    );
}
