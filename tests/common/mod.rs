//! Shared test helpers: a fresh on-disk store in a temp dir, fixture paths.
#![allow(dead_code)]
pub mod fake_llm;
pub mod llama;

use std::path::PathBuf;

use hindsight::store::{NewConversation, NewMessage, Sender, Status, Store};

pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

/// A real SQLite file in a fresh temporary directory.
pub fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("hindsight.db")).expect("open store");
    TempStore { dir, store }
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn conversation(store: &Store, title: &str, start: i64) -> String {
    store
        .create_conversation(NewConversation {
            id: None,
            title: title.into(),
            summary: None,
            status: Status::Active,
            start_time: start,
            end_time: None,
        })
        .expect("create conversation")
        .id
}

pub fn message(
    store: &Store,
    conversation_id: &str,
    sender: Sender,
    text: &str,
    ts: i64,
) -> String {
    store
        .add_message(NewMessage::new(conversation_id, sender, text, ts))
        .expect("add message")
        .id
}
