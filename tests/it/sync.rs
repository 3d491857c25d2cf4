//! Sync through a folder (issue #20): two histories (two data folders, real SQLite files) that
//! share one folder, as two machines do when a sync app replicates it. Both directions,
//! concurrent edits of the same fields, deletions against edits, a segment still arriving, a
//! segment from a newer app version, a copied data folder, and the CLI.
use std::path::Path;

use rusqlite::Connection;

use crate::common::{conversation, hindsight_ok, message, temp_store, TempStore};
use hindsight::store::{
    MessageState, NewActionItem, NewAnalysis, NewMessage, Owner, Sender, Sentiment, Store,
};
use hindsight::sync::{sync_once, SyncOptions, SyncReport};

/// Everything a person sees of a history, read with plain SQL, in a stable order.
pub fn history(db: &Path) -> Vec<String> {
    let c = Connection::open(db).unwrap();
    let mut out = Vec::new();
    let queries = [
        "SELECT 'conversation', id, title, status, start_time, coalesce(end_time, '') FROM conversations",
        "SELECT 'message', id, conversation_id, sender, timestamp, state, content, is_bookmarked FROM messages",
        "SELECT 'reaction', message_id, emoji FROM reactions",
        "SELECT 'analysis', a.conversation_id, a.model, a.topics, c.summary FROM conversation_analysis a \
         JOIN conversations c ON c.id = a.conversation_id",
        "SELECT 'item', conversation_id, position, text, done FROM action_items",
    ];
    for sql in queries {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                Ok(cols.join(" | "))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out.sort();
    out
}

fn db(t: &TempStore) -> std::path::PathBuf {
    t.dir.path().join("hindsight.db")
}

fn options(name: &str) -> SyncOptions {
    SyncOptions {
        name: name.into(),
        passphrase: None,
        compact_after: None,
    }
}

fn sync(t: &TempStore, folder: &Path, name: &str) -> SyncReport {
    sync_once(&t.store, folder, &options(name)).unwrap()
}

/// Rounds on both sides until neither has anything to send or receive.
fn settle(a: &TempStore, b: &TempStore, folder: &Path) {
    for _ in 0..4 {
        let ra = sync(a, folder, "A");
        let rb = sync(b, folder, "B");
        if ra.sent + ra.received + rb.sent + rb.received == 0 {
            return;
        }
    }
    panic!("the two histories did not settle in 4 rounds each");
}

fn tick() {
    // Two edits "at the same time" on two machines still have distinct wall times here.
    std::thread::sleep(std::time::Duration::from_millis(3));
}

fn analysis(summary: &str, items: &[&str]) -> NewAnalysis {
    NewAnalysis {
        summary: summary.into(),
        sentiment: Sentiment::Positive,
        sentiment_score: 0.5,
        topics: vec!["travel".into()],
        key_points: vec!["Porto".into()],
        action_items: items
            .iter()
            .map(|t| NewActionItem {
                text: (*t).into(),
                owner: Owner::User,
            })
            .collect(),
    }
}

#[test]
fn two_histories_converge_through_one_folder_with_concurrent_edits_and_deletes() {
    let folder = tempfile::tempdir().unwrap();
    let (a, b) = (temp_store(), temp_store());

    // A has a history before sync is set up; B starts with one conversation of its own.
    let porto = conversation(&a.store, "Porto trip", 1_700_000_000_000);
    let q = message(
        &a.store,
        &porto,
        Sender::User,
        "Where should we stay in Porto?",
        1_700_000_001_000,
    );
    let ans = message(
        &a.store,
        &porto,
        Sender::Ai,
        "Try **Bonfim**.",
        1_700_000_002_000,
    );
    a.store.toggle_reaction(&ans, "👍").unwrap();
    let recipes = conversation(&b.store, "Recipes", 1_700_000_100_000);
    message(
        &b.store,
        &recipes,
        Sender::User,
        "A bread recipe?",
        1_700_000_101_000,
    );

    let first = sync(&a, folder.path(), "A");
    assert_eq!(first.sent, 4, "the whole history published: {first:?}");
    assert_eq!(first.segments_written, 1);
    settle(&a, &b, folder.path());
    assert_eq!(history(&db(&a)), history(&db(&b)));
    assert_eq!(history(&db(&a)).len(), 6, "{:#?}", history(&db(&a)));

    // Concurrent edits of the same fields: the later write wins on both sides.
    a.store.rename_conversation(&porto, "Porto (A)").unwrap();
    tick();
    b.store.rename_conversation(&porto, "Porto (B)").unwrap();
    // Different fields of one message merge: A reacts, B bookmarks, B un-reacts 👍 later.
    b.store.set_bookmark(&q, true).unwrap();
    a.store.toggle_reaction(&q, "❤️").unwrap();
    tick();
    b.store.toggle_reaction(&ans, "👍").unwrap();
    // B deletes its conversation while A, not knowing, adds to it and reacts in it.
    b.store.delete_conversation(&recipes).unwrap();
    let late = message(
        &a.store,
        &recipes,
        Sender::Ai,
        "Flour, water, salt, yeast.",
        1_700_000_102_000,
    );
    a.store.toggle_reaction(&late, "🎉").unwrap();
    // An answer still streaming is not published until it is finished.
    let mut streaming = NewMessage::new(&porto, Sender::Ai, "Bonfim is", 1_700_000_003_000);
    streaming.state = MessageState::Streaming;
    let streaming = a.store.add_message(streaming).unwrap().id;
    let r = sync(&a, folder.path(), "A");
    assert_eq!(r.unpublished, 1, "the streaming answer waits: {r:?}");
    a.store
        .update_message(
            &streaming,
            "Bonfim is quiet and close to the centre.",
            MessageState::Complete,
            None,
        )
        .unwrap();
    settle(&a, &b, folder.path());

    let h = history(&db(&a));
    if std::env::var_os("SYNC_DEBUG").is_some() {
        for d in std::fs::read_dir(folder.path().join("devices")).unwrap() {
            for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                eprintln!("{}\n{}", f.display(), std::fs::read_to_string(&f).unwrap());
            }
        }
    }
    assert_eq!(h, history(&db(&b)), "both sides hold the same history");
    let has = |needle: &str| h.iter().any(|row| row.contains(needle));
    assert!(
        has("Porto (B)") && !has("Porto (A)"),
        "the later title wins: {h:#?}"
    );
    assert!(
        has(&format!("reaction | {q} | ❤️")),
        "A's reaction arrived: {h:#?}"
    );
    assert!(
        !has(&format!("reaction | {ans} | 👍")),
        "B's later un-reaction wins: {h:#?}"
    );
    assert!(
        h.iter()
            .any(|r| r.starts_with(&format!("message | {q} |")) && r.ends_with("| 1")),
        "B's bookmark arrived"
    );
    assert!(
        !has(&recipes) && !has(&late),
        "the deletion wins over edits made before it: {h:#?}"
    );
    assert!(
        has("Bonfim is quiet and close to the centre."),
        "the finished answer arrived"
    );

    // Analyses travel as written; an action item ticked on the other machine is ticked here.
    a.store.end_conversation(&porto).unwrap();
    a.store
        .put_analysis(
            &porto,
            &analysis(
                "Chose Bonfim in Porto.",
                &["Book the Bonfim flat", "Pack light"],
            ),
            "qwen-test",
        )
        .unwrap();
    settle(&a, &b, folder.path());
    let item = b
        .store
        .action_items(&porto)
        .unwrap()
        .into_iter()
        .find(|i| i.text == "Pack light")
        .unwrap();
    b.store.set_action_item_done(item.id, true).unwrap();
    settle(&a, &b, folder.path());
    let h = history(&db(&a));
    assert_eq!(h, history(&db(&b)));
    assert!(
        h.iter().any(|r| r.contains("Pack light | 1")),
        "the tick arrived: {h:#?}"
    );
    assert!(h
        .iter()
        .any(|r| r.contains("analysis") && r.contains("qwen-test") && r.contains("Chose Bonfim")));
    assert!(
        h.iter()
            .any(|r| r.contains(&porto) && r.contains("| ended |")),
        "ended on both sides"
    );

    // Nothing is duplicated and rounds with nothing new change nothing.
    let before = history(&db(&a));
    let again = sync(&b, folder.path(), "B");
    assert_eq!((again.sent, again.received), (0, 0), "{again:?}");
    assert_eq!(history(&db(&a)), before);
    let ids: Vec<&String> = before.iter().collect();
    let unique: std::collections::HashSet<&&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    // Each device wrote only in its own folder.
    let devices: Vec<_> = std::fs::read_dir(folder.path().join("devices"))
        .unwrap()
        .collect();
    assert_eq!(devices.len(), 2);
    assert_eq!(again.peers.len(), 1);
    assert_eq!(again.peers[0].name, "A");
    assert!(again.peers[0].problem.is_none(), "{:?}", again.peers[0]);
}

#[test]
fn a_segment_still_arriving_waits_and_one_from_a_newer_version_is_refused_in_words() {
    let folder = tempfile::tempdir().unwrap();
    let (a, b) = (temp_store(), temp_store());
    let conv = conversation(&a.store, "Lisbon", 1_700_000_000_000);
    message(
        &a.store,
        &conv,
        Sender::User,
        "Trams or walking?",
        1_700_000_001_000,
    );
    let ra = sync(&a, folder.path(), "A");
    let seg = folder
        .path()
        .join("devices")
        .join(&ra.device)
        .join("segment-00000001.jsonl");
    let bytes = std::fs::read(&seg).unwrap();

    // A sync app shows the file half-written: B applies nothing and says why.
    std::fs::write(&seg, &bytes[..bytes.len() / 2]).unwrap();
    let rb = sync(&b, folder.path(), "B");
    assert_eq!(rb.received, 0);
    assert!(history(&db(&b)).is_empty());
    let problem = rb.peers[0].problem.clone().unwrap();
    assert!(problem.contains("still arriving"), "{problem}");
    // The rest arrives: applied.
    std::fs::write(&seg, &bytes).unwrap();
    let rb = sync(&b, folder.path(), "B");
    assert_eq!(rb.received, 2, "{rb:?}");
    assert_eq!(history(&db(&a)), history(&db(&b)));

    // A newer Hindsight on A writes format 2: B refuses it in words and keeps what it has.
    message(
        &a.store,
        &conv,
        Sender::Ai,
        "Walk, then take tram 28.",
        1_700_000_002_000,
    );
    sync(&a, folder.path(), "A");
    let seg2 = seg.with_file_name("segment-00000002.jsonl");
    let text = std::fs::read_to_string(&seg2).unwrap();
    let newer = text.replacen("\"hindsight_sync\":1", "\"hindsight_sync\":2", 1);
    assert_ne!(newer, text);
    std::fs::write(&seg2, newer).unwrap();
    let rb = sync(&b, folder.path(), "B");
    assert_eq!(rb.received, 0);
    let problem = rb.peers[0].problem.clone().unwrap();
    assert!(
        problem.contains("newer Hindsight") && problem.contains("update Hindsight"),
        "{problem}"
    );
    assert_eq!(rb.peers[0].applied, 1);
    // The CLI shows the same status.
    let out = hindsight_ok(
        b.dir.path(),
        None,
        &[
            "sync",
            "--folder",
            folder.path().to_str().unwrap(),
            "--once",
        ],
    );
    assert!(out.contains("update Hindsight"), "{out}");
}

#[test]
fn sealed_segments_hold_nothing_readable_and_open_only_with_the_same_passphrase() {
    let folder = tempfile::tempdir().unwrap();
    let (a, b, c, d) = (temp_store(), temp_store(), temp_store(), temp_store());
    let sealed = |name: &str, passphrase: &str| SyncOptions {
        name: name.into(),
        passphrase: Some(passphrase.into()),
        compact_after: None,
    };
    let conv = conversation(&a.store, "Secret Porto plans", 1_700_000_000_000);
    message(
        &a.store,
        &conv,
        Sender::User,
        "Bonfim, quietly.",
        1_700_000_001_000,
    );
    let ra = sync_once(
        &a.store,
        folder.path(),
        &sealed("A", "correct horse battery"),
    )
    .unwrap();
    assert_eq!(ra.sent, 2);
    // The folder holds no readable word of it, not even the device's name.
    for entry in std::fs::read_dir(folder.path().join("devices").join(&ra.device)).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for word in ["Porto", "Bonfim", "\"A\"", "conversation"] {
            assert!(
                !bytes.windows(word.len()).any(|w| w == word.as_bytes()),
                "{word} readable"
            );
        }
    }
    // The same passphrase opens it (and B's own changes go back sealed).
    message(
        &b.store,
        &conversation(&b.store, "Tea", 1_700_000_100_000),
        Sender::User,
        "Sencha?",
        1_700_000_101_000,
    );
    let rb = sync_once(
        &b.store,
        folder.path(),
        &sealed("B", "correct horse battery"),
    )
    .unwrap();
    assert_eq!(rb.received, 2, "{rb:?}");
    sync_once(
        &a.store,
        folder.path(),
        &sealed("A", "correct horse battery"),
    )
    .unwrap();
    assert_eq!(history(&db(&a)), history(&db(&b)));
    // Without a passphrase, or with another, nothing is applied and the reason is given.
    let rc = sync(&c, folder.path(), "C");
    assert_eq!(rc.received, 0);
    assert!(
        rc.peers.iter().all(|p| p
            .problem
            .as_deref()
            .is_some_and(|t| t.contains("enter the sync passphrase"))),
        "{rc:?}"
    );
    let rd = sync_once(&d.store, folder.path(), &sealed("D", "wrong horse battery")).unwrap();
    assert_eq!(rd.received, 0);
    assert!(
        rd.peers.iter().all(|p| p
            .problem
            .as_deref()
            .is_some_and(|t| t.contains("same sync passphrase"))),
        "{rd:?}"
    );
    assert!(history(&db(&c)).is_empty() && history(&db(&d)).is_empty());
    // The CLI takes the passphrase from a file; C then catches up.
    let file = c.dir.path().join("passphrase.txt");
    std::fs::write(&file, "correct horse battery\n").unwrap();
    let out = hindsight_ok(
        c.dir.path(),
        None,
        &[
            "sync",
            "--folder",
            folder.path().to_str().unwrap(),
            "--passphrase-file",
            file.to_str().unwrap(),
            "--once",
            "--json",
        ],
    );
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["received"], 4, "{r}");
    assert_eq!(history(&db(&a)), history(&db(&c)));
    // A sealed snapshot (A compacts) opens for a newcomer with the passphrase.
    let compact = SyncOptions {
        compact_after: Some(1),
        ..sealed("A", "correct horse battery")
    };
    assert_eq!(
        sync_once(&a.store, folder.path(), &compact)
            .unwrap()
            .compacted,
        Some(1)
    );
    let e = temp_store();
    let re = sync_once(
        &e.store,
        folder.path(),
        &sealed("E", "correct horse battery"),
    )
    .unwrap();
    assert!(re.peers.iter().all(|p| p.problem.is_none()), "{re:?}");
    assert_eq!(history(&db(&a)), history(&db(&e)));
    // Too short a passphrase is refused in words.
    std::fs::write(&file, "short\n").unwrap();
    let o = crate::common::hindsight(
        c.dir.path(),
        None,
        &[
            "sync",
            "--passphrase-file",
            file.to_str().unwrap(),
            "--once",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 8 characters"));
}

#[test]
fn a_device_compacts_its_segments_into_a_snapshot_and_readers_behind_or_new_lose_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let (a, behind, current, newcomer) = (temp_store(), temp_store(), temp_store(), temp_store());
    let compacting = SyncOptions {
        name: "A".into(),
        passphrase: None,
        compact_after: Some(3),
    };
    let files = |device: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder.path().join("devices").join(device))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let conv = conversation(&a.store, "Porto", 1_700_000_000_000);
    let q = message(
        &a.store,
        &conv,
        Sender::User,
        "Where to stay?",
        1_700_000_001_000,
    );
    let device = sync(&a, folder.path(), "A").device;
    sync(&behind, folder.path(), "behind"); // has segment 1
    message(&a.store, &conv, Sender::Ai, "Bonfim.", 1_700_000_002_000);
    sync(&a, folder.path(), "A");
    a.store
        .rename_conversation(&conv, "Porto, decided")
        .unwrap();
    a.store.toggle_reaction(&q, "👍").unwrap();
    sync(&a, folder.path(), "A");
    sync(&current, folder.path(), "current"); // has segments 1 to 3
    assert_eq!(files(&device).len(), 3);

    // A's next round compacts: one snapshot replaces its three segments.
    let r = sync_once(&a.store, folder.path(), &compacting).unwrap();
    assert_eq!(r.compacted, Some(3), "{r:?}");
    assert_eq!(files(&device), ["snapshot-00000003-0001-of-0001.jsonl"]);
    // Up to date: nothing to read. Behind, or new: the snapshot brings everything.
    let rc = sync(&current, folder.path(), "current");
    assert_eq!((rc.received, rc.superseded), (0, 0), "{rc:?}");
    let rb = sync(&behind, folder.path(), "behind");
    assert!(rb.peers.iter().all(|p| p.problem.is_none()), "{rb:?}");
    let rn = sync(&newcomer, folder.path(), "new");
    assert_eq!(
        rn.peers
            .iter()
            .find(|p| p.device == device)
            .unwrap()
            .applied,
        3
    );
    let h = history(&db(&a));
    assert!(h.iter().any(|r| r.contains("Porto, decided")) && h.iter().any(|r| r.contains("👍")));
    for other in [&behind, &current, &newcomer] {
        assert_eq!(history(&db(other)), h);
    }

    // Later changes go on in new segments; a deletion survives the next compaction too.
    message(
        &a.store,
        &conv,
        Sender::User,
        "And food?",
        1_700_000_003_000,
    );
    let tea = conversation(&a.store, "Tea", 1_700_000_100_000);
    sync(&a, folder.path(), "A");
    a.store.delete_conversation(&tea).unwrap();
    sync(&a, folder.path(), "A");
    sync(&behind, folder.path(), "behind");
    a.store.set_bookmark(&q, true).unwrap();
    let r = sync_once(&a.store, folder.path(), &compacting).unwrap();
    assert_eq!(r.compacted, Some(6), "{r:?}");
    assert_eq!(files(&device), ["snapshot-00000006-0001-of-0001.jsonl"]);
    let late = temp_store();
    sync(&late, folder.path(), "late");
    sync(&newcomer, folder.path(), "new");
    let rb = sync(&behind, folder.path(), "behind"); // had 5 of the 6 segments: reads the snapshot
    assert!(rb.received > 0, "{rb:?}");
    let h = history(&db(&a));
    assert!(!h.iter().any(|r| r.contains(&tea)));
    for other in [&behind, &newcomer, &late] {
        assert_eq!(history(&db(other)), h);
    }
}

#[test]
fn a_copied_data_folder_becomes_a_new_device_and_loses_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let a = temp_store();
    let conv = conversation(&a.store, "Garden", 1_700_000_000_000);
    message(
        &a.store,
        &conv,
        Sender::User,
        "When to plant garlic?",
        1_700_000_001_000,
    );
    sync(&a, folder.path(), "A");
    // The data folder is copied to a second machine (same device id inside).
    let copy = tempfile::tempdir().unwrap();
    a.store
        .backup(Some(&copy.path().join("hindsight.db")))
        .unwrap();
    let c = Store::open(&copy.path().join("hindsight.db")).unwrap();
    message(&a.store, &conv, Sender::Ai, "In autumn.", 1_700_000_002_000);
    sync(&a, folder.path(), "A");
    message(&c, &conv, Sender::User, "And onions?", 1_700_000_003_000);
    let rc = sync_once(&c, folder.path(), &options("Copy")).unwrap();
    assert!(rc.new_device.is_some(), "{rc:?}");
    assert_ne!(rc.device, sync(&a, folder.path(), "A").device);
    for _ in 0..2 {
        sync(&a, folder.path(), "A");
        sync_once(&c, folder.path(), &options("Copy")).unwrap();
    }
    let h = history(&db(&a));
    assert_eq!(h, history(&copy.path().join("hindsight.db")));
    assert_eq!(
        h.iter().filter(|r| r.starts_with("message")).count(),
        3,
        "{h:#?}"
    );
}

#[test]
fn the_cli_syncs_two_data_folders_and_reports_in_json() {
    let folder = tempfile::tempdir().unwrap();
    let (a, b) = (temp_store(), temp_store());
    let conv = conversation(&a.store, "Bikes", 1_700_000_000_000);
    message(
        &a.store,
        &conv,
        Sender::User,
        "Which gravel bike?",
        1_700_000_001_000,
    );
    conversation(&b.store, "Tea", 1_700_000_005_000);
    let f = folder.path().to_str().unwrap();
    let ra: serde_json::Value = serde_json::from_str(&hindsight_ok(
        a.dir.path(),
        None,
        &["sync", "--folder", f, "--name", "Desk", "--once", "--json"],
    ))
    .unwrap();
    assert_eq!(ra["sent"], 2, "{ra}");
    assert_eq!(ra["name"], "Desk");
    // The folder and name are saved: later runs need neither.
    let rb: serde_json::Value = serde_json::from_str(&hindsight_ok(
        b.dir.path(),
        None,
        &[
            "sync", "--folder", f, "--name", "Laptop", "--once", "--json",
        ],
    ))
    .unwrap();
    assert_eq!(rb["received"], 2, "{rb}");
    assert_eq!(rb["sent"], 1, "{rb}");
    assert_eq!(rb["peers"][0]["name"], "Desk");
    let again = hindsight_ok(a.dir.path(), None, &["sync", "--once"]);
    assert!(
        again.contains("\"Desk\"") && again.contains("Laptop: up to date"),
        "{again}"
    );
    assert_eq!(history(&db(&a)), history(&db(&b)));
    // A folder that does not exist is refused in words.
    let o = crate::common::hindsight(
        a.dir.path(),
        None,
        &["sync", "--folder", "/nonexistent/x", "--once"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
}

/// A real Syncthing instance (Debian's `syncthing`) on loopback, sharing one folder with one
/// other device; stopped when dropped.
struct Syncthing {
    child: std::process::Child,
    _home: tempfile::TempDir,
}

impl Drop for Syncthing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self._home.path().join("syncthing.log"));
            let log = log.unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "syncthing log (last lines, newest first):\n{}",
                tail.join("\n")
            );
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh Syncthing home (keys, config) and its device id.
fn syncthing_home() -> (tempfile::TempDir, String) {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = std::process::Command::new("syncthing")
            .args(args)
            .arg(format!("--home={}", home.path().display()))
            .output()
            .expect("syncthing (Debian's syncthing package; scripts/install-deps installs it)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    run(&["generate", "--no-default-folder", "--skip-port-probing"]);
    let id = run(&["serve", "--device-id"]);
    (home, id)
}

/// Starts Syncthing in `home` replicating `folder` with `peer` (id, port) on loopback only: no
/// discovery, no relays, no GUI; the folder is watched and rescanned every second.
fn start_syncthing(
    (home, id): (tempfile::TempDir, String),
    port: u16,
    folder: &Path,
    peer: (&str, u16),
) -> Syncthing {
    std::fs::create_dir_all(folder.join(".stfolder")).unwrap();
    // The config version this Syncthing writes (Debian's 1.19 refuses a newer one).
    let generated = std::fs::read_to_string(home.path().join("config.xml")).unwrap();
    let version: String = generated
        .split("<configuration version=\"")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let config = format!(
        r#"<configuration version="{version}">
    <folder id="hindsight" label="hindsight" path="{folder}" type="sendreceive" rescanIntervalS="1" fsWatcherEnabled="true" fsWatcherDelayS="1">
        <device id="{id}"></device>
        <device id="{peer_id}"></device>
        <minDiskFree unit="%">0</minDiskFree>
    </folder>
    <device id="{id}" name="self" compression="metadata"><address>dynamic</address></device>
    <device id="{peer_id}" name="peer" compression="metadata"><address>tcp://127.0.0.1:{peer_port}</address></device>
    <gui enabled="false"><address>127.0.0.1:0</address></gui>
    <options>
        <listenAddress>tcp://127.0.0.1:{port}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <startBrowser>false</startBrowser>
        <reconnectionIntervalS>1</reconnectionIntervalS>
        <minHomeDiskFree unit="%">0</minHomeDiskFree>
    </options>
</configuration>
"#,
        folder = folder.display(),
        peer_id = peer.0,
        peer_port = peer.1,
    );
    std::fs::write(home.path().join("config.xml"), config).unwrap();
    let log = std::fs::File::create(home.path().join("syncthing.log")).unwrap();
    let child = std::process::Command::new("syncthing")
        .args(["serve", "--no-browser", "--no-restart", "--no-upgrade"])
        .arg(format!("--home={}", home.path().display()))
        .env("STNOUPGRADE", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Syncthing { child, _home: home }
}

/// Sync rounds on both sides until `done` holds for both histories (Syncthing carries the
/// segments between the two folders meanwhile), or panics after two minutes.
fn until_both(
    a: (&TempStore, &Path),
    b: (&TempStore, &Path),
    what: &str,
    done: impl Fn(&[String]) -> bool,
) {
    let t0 = std::time::Instant::now();
    loop {
        sync(a.0, a.1, "A");
        sync(b.0, b.1, "B");
        let (ha, hb) = (history(&db(a.0)), history(&db(b.0)));
        if ha == hb && done(&ha) {
            return;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(120),
            "{what}: not reached in 2 minutes\nA: {ha:#?}\nB: {hb:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn two_real_syncthing_instances_carry_the_segments_and_both_histories_converge() {
    let (f1, f2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (h1, h2) = (syncthing_home(), syncthing_home());
    let (p1, p2) = (free_port(), free_port());
    let (id1, id2) = (h1.1.clone(), h2.1.clone());
    let _s1 = start_syncthing(h1, p1, f1.path(), (&id2, p2));
    let _s2 = start_syncthing(h2, p2, f2.path(), (&id1, p1));
    let (a, b) = (temp_store(), temp_store());
    let (fa, fb) = ((&a, f1.path()), (&b, f2.path()));

    // Each machine has a history of its own before it syncs.
    let porto = conversation(&a.store, "Porto trip", 1_700_000_000_000);
    let q = message(
        &a.store,
        &porto,
        Sender::User,
        "Where should we stay in Porto?",
        1_700_000_001_000,
    );
    message(
        &a.store,
        &porto,
        Sender::Ai,
        "Bonfim, near the centre.",
        1_700_000_002_000,
    );
    let tea = conversation(&b.store, "Tea", 1_700_000_100_000);
    let t = message(
        &b.store,
        &tea,
        Sender::User,
        "Oolong or sencha?",
        1_700_000_101_000,
    );
    until_both(fa, fb, "both histories on both machines", |h| {
        h.iter().filter(|r| r.starts_with("message")).count() == 3
    });

    // Concurrent edits on both machines: a rename each of the same conversation, a bookmark
    // and a reaction on one message, a deletion against a reply, an analysis and its tick.
    a.store
        .rename_conversation(&porto, "Porto, A's title")
        .unwrap();
    tick();
    b.store
        .rename_conversation(&porto, "Porto, B's title")
        .unwrap();
    a.store.toggle_reaction(&q, "👍").unwrap();
    b.store.set_bookmark(&q, true).unwrap();
    b.store.delete_conversation(&tea).unwrap();
    message(
        &a.store,
        &tea,
        Sender::Ai,
        "Sencha, brewed cool.",
        1_700_000_102_000,
    );
    a.store.toggle_reaction(&t, "🍵").unwrap();
    a.store.end_conversation(&porto).unwrap();
    a.store
        .put_analysis(
            &porto,
            &analysis("Chose Bonfim.", &["Book the flat"]),
            "qwen-test",
        )
        .unwrap();
    until_both(fa, fb, "the concurrent edits merged", |h| {
        let has = |s: &str| h.iter().any(|r| r.contains(s));
        has("Porto, B's title") && has("qwen-test") && !has(&tea) && has("👍")
    });
    let item = b.store.action_items(&porto).unwrap()[0].id;
    b.store.set_action_item_done(item, true).unwrap();
    until_both(fa, fb, "the tick arrived", |h| {
        h.iter().any(|r| r.contains("Book the flat | 1"))
    });

    let h = history(&db(&a));
    assert!(
        h.iter()
            .any(|r| r.starts_with(&format!("message | {q} |")) && r.ends_with("| 1")),
        "{h:#?}"
    );
    assert_eq!(
        h.iter().filter(|r| r.starts_with("message")).count(),
        2,
        "{h:#?}"
    );
    assert_eq!(
        h.iter().filter(|r| r.starts_with("conversation")).count(),
        1,
        "{h:#?}"
    );
    // No file was ever written by both devices: Syncthing saw no conflict.
    for f in [f1.path(), f2.path()] {
        let mut stack = vec![f.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                assert!(
                    !p.to_string_lossy().contains("sync-conflict"),
                    "{}",
                    p.display()
                );
                if p.is_dir() {
                    stack.push(p);
                }
            }
        }
    }
}
