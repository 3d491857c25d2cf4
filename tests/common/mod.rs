//! Shared test helpers: a fresh on-disk store in a temp dir, fixture paths.
#![allow(dead_code)]
pub mod fake_llm;
pub mod file_server;
pub mod llama;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use hindsight::embed::Embedder;

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

/// The real all-MiniLM-L6-v2 weights: `.models/` (scripts/test installs them there) or
/// HINDSIGHT_MODELS_DIR.
pub fn models_dir() -> PathBuf {
    std::env::var_os("HINDSIGHT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".models"))
}

/// A history imported into a fresh store and embedded with the real model.
pub fn embedded(history: &Path) -> TempStore {
    let t = temp_store();
    hindsight::transfer::import_file(&t.store, history, hindsight::transfer::ImportFormat::Auto)
        .expect("import the history");
    let p = hindsight::embed::embed_backlog(&t.store, embedder(), 32, |_| {})
        .expect("embed the history");
    assert_eq!(p.failed, 0);
    t
}

/// One loaded embedder per test binary.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| {
        Embedder::load(&models_dir()).unwrap_or_else(|e| {
            panic!("{e}\n(the real model is required: ./scripts/fetch-models --models-dir .models)")
        })
    })
}

/// Runs the `hindsight` CLI on `data_dir` (and `models_dir` when given) with `args`.
pub fn hindsight(data_dir: &Path, models_dir: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    cmd.arg("--data-dir").arg(data_dir);
    if let Some(models) = models_dir {
        cmd.arg("--models-dir").arg(models);
    }
    cmd.args(args)
        .env_remove("HINDSIGHT_DATA_DIR")
        .output()
        .expect("run hindsight")
}

/// [`hindsight`], which must succeed; returns what it printed on stdout. A failure shows both
/// streams: `analyze --json` gives each conversation's reason on stdout, the summary on stderr.
pub fn hindsight_ok(data_dir: &Path, models_dir: Option<&Path>, args: &[&str]) -> String {
    let o = hindsight(data_dir, models_dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}\nstdout: {}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A whole [`hindsight::Hindsight`] over a real SQLite file in a fresh temporary folder (the
/// use cases both shells call), with the real models folder. An LLM is whatever the saved
/// settings say: a test points them at a fake or real server.
pub fn temp_hindsight() -> (tempfile::TempDir, hindsight::Hindsight) {
    let dir = tempfile::tempdir().expect("temp dir");
    let models = models_dir();
    let locations =
        hindsight::paths::Locations::resolve(Some(dir.path()), Some(&models)).expect("locations");
    let store = Store::open(&locations.db_path()).expect("open store");
    let h = hindsight::Hindsight::new(store, locations, None).expect("hindsight");
    (dir, h)
}

/// `Hindsight::for_test`: a whole [`hindsight::Hindsight`] in a fresh temporary folder (a real
/// SQLite file, the real models folder) whose LLM is the OpenAI-compatible server at `url` for
/// this process: a [`fake_llm::FakeLlm`] for fast use-case tests, or a real llama.cpp server.
pub async fn hindsight_for_test(
    url: &str,
) -> (tempfile::TempDir, std::sync::Arc<hindsight::Hindsight>) {
    let (dir, h) = temp_hindsight();
    h.override_llm(hindsight::llm::LlmSettings {
        provider: hindsight::llm::Provider::Server,
        base_url: url.into(),
        timeout_secs: 10,
        ..Default::default()
    })
    .await;
    (dir, std::sync::Arc::new(h))
}
