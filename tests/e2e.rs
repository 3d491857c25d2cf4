//! Real-window end-to-end tests: the built app in WebKitGTK, driven through tauri-driver and
//! WebKitWebDriver. Needs an X display (`xvfb-run -a`), `tauri-driver` (on PATH or
//! `$TAURI_DRIVER`) and `WebKitWebDriver` (Debian's webkit2gtk-driver). `scripts/test` runs
//! them with `--include-ignored`; a plain `cargo test` lists them as ignored.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Stops tauri-driver with SIGTERM: it only reaps its WebKitWebDriver child on a catchable
/// signal (after SIGKILL the orphan keeps port 4445).
struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// tauri-driver listens on a fixed port: one session at a time in this binary.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts tauri-driver and opens the app on `data_dir`.
async fn open_app(data_dir: &Path) -> (Driver, Client) {
    let port: u16 = 4444;
    let driver =
        Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tauri-driver (cargo install tauri-driver --locked)");
    let driver = Driver(driver);
    wait_port(port);
    wait_port(port + 1);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({
            "application": env!("CARGO_BIN_EXE_hindsight"),
            "args": ["--data-dir", data_dir.to_str().expect("utf-8 temp path")],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");
    (driver, client)
}

/// Saves a screenshot as a CI artefact under `artifacts/screenshots/`.
async fn screenshot(c: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/screenshots");
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn sidebar_lists_the_seeded_conversations_and_opens_one() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store =
            hindsight::store::Store::open(&data.path().join("hindsight.db")).expect("store");
        hindsight::transfer::import_file(
            &store,
            &common::fixture("hindsight_sample.json"),
            hindsight::transfer::ImportFormat::Auto,
        )
        .expect("seed");
    }
    let (_driver, c) = open_app(data.path()).await;

    let wait = Duration::from_secs(20);
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=conversation-title]"))
        .await
        .expect("the sidebar shows conversations");
    screenshot(&c, "sidebar").await;
    let mut titles = Vec::new();
    for el in c
        .find_all(Locator::Css("[data-testid=conversation-title]"))
        .await
        .expect("titles")
    {
        titles.push(el.text().await.expect("title text"));
    }
    assert_eq!(
        titles,
        [
            "Rust lifetimes question",
            "Sourdough starter troubleshooting",
            "Planning a week in Lisbon"
        ],
        "newest first, read from the store through the list_conversations command"
    );

    // Opening a conversation shows its messages.
    c.find(Locator::XPath(
        "//button[@data-testid='conversation-item'][.//span[text()='Planning a week in Lisbon']]",
    ))
    .await
    .expect("Lisbon item")
    .click()
    .await
    .expect("click");
    let heading = c
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=conversation-heading]"))
        .await
        .expect("conversation view");
    assert_eq!(
        heading.text().await.expect("heading"),
        "Planning a week in Lisbon"
    );
    let messages = c
        .find_all(Locator::Css("[data-testid=message]"))
        .await
        .expect("messages");
    assert_eq!(messages.len(), 4);
    assert!(messages[2]
        .text()
        .await
        .expect("text")
        .contains("Is a day trip to Sintra worth it?"));
    screenshot(&c, "conversation").await;
    c.close().await.expect("close session");
}

/// Clicks the sidebar item whose title is `title`.
async fn open_conversation(c: &Client, title: &str) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//button[@data-testid='conversation-item'][.//span[text()='{title}']]"
        )))
        .await
        .expect("sidebar item")
        .click()
        .await
        .expect("click");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn ending_a_conversation_shows_its_analysis_from_the_real_server() {
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store =
            hindsight::store::Store::open(&data.path().join("hindsight.db")).expect("store");
        hindsight::llm::LlmSettings {
            base_url: server.url.clone(),
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
        let id = common::conversation(&store, "Moving to Leeds", 1_700_000_000_000);
        for (i, (sender, text)) in [
            (hindsight::store::Sender::User, "I'm moving to Leeds next month. I still need to book a van for Saturday and tell my landlord."),
            (hindsight::store::Sender::Ai, "Book the van this week, Saturdays go fast. Email your landlord today and ask for the deposit process in writing."),
            (hindsight::store::Sender::User, "Great, I'll email the landlord tonight and book the van tomorrow."),
        ]
        .into_iter()
        .enumerate()
        {
            common::message(&store, &id, sender, text, 1_700_000_000_000 + i as i64 * 60_000);
        }
    }
    let (_driver, c) = open_app(data.path()).await;
    open_conversation(&c, "Moving to Leeds").await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=end-conversation]"))
        .await
        .expect("an active conversation has an End button")
        .click()
        .await
        .expect("click End");
    // The status flips to ended at once; the analysis arrives from the background worker.
    let summary = c
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("[data-testid=analysis-summary]"))
        .await
        .expect("the insights panel shows the analysis");
    assert!(!summary.text().await.expect("summary").trim().is_empty());
    let sentiment = c
        .find(Locator::Css("[data-testid=analysis-sentiment]"))
        .await
        .expect("sentiment")
        .text()
        .await
        .expect("text");
    assert!(
        ["positive", "neutral", "negative", "mixed"]
            .iter()
            .any(|s| sentiment.contains(s)),
        "{sentiment}"
    );
    assert_eq!(
        c.find(Locator::Css("[data-testid=conversation-status]"))
            .await
            .expect("status")
            .text()
            .await
            .expect("text"),
        "ended"
    );
    screenshot(&c, "insights").await;
    // Ticking an action item persists (checked again in the store below).
    let items = c
        .find_all(Locator::Css("[data-testid=action-item]"))
        .await
        .expect("items");
    let ticked = if let Some(first) = items.first() {
        first.click().await.expect("tick");
        tokio::time::sleep(Duration::from_millis(500)).await;
        true
    } else {
        false
    };
    c.close().await.expect("close session");
    drop(_driver);

    let store = hindsight::store::Store::open(&data.path().join("hindsight.db")).expect("store");
    let conversation = &store.list_conversations(None, 1).expect("list").items[0];
    let analysis = store
        .get_analysis(&conversation.id)
        .expect("read")
        .expect("the analysis is stored");
    assert_eq!(analysis.model, "smollm2-135m");
    assert_eq!(conversation.summary, analysis.summary);
    if ticked {
        assert!(analysis.action_items[0].done, "the tick persisted");
    }
}
