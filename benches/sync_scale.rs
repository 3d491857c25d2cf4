//! Sync at scale (issue #20): D devices (default 10) that together hold N messages (default
//! 100,000; BENCH_SYNC_MESSAGES=1000000 for the full size), each publishing its share into one
//! folder, then a new device joining and replaying everything, then a round of small edits on
//! every device, then a round with nothing new. Measured in one run against the baseline of
//! moving the same history without sync: exporting it as one Hindsight JSON file and importing
//! that into an empty history. Real SQLite files in temporary folders, release build.
//! Run: ./scripts/bench-sync.
#![allow(clippy::unwrap_used)] // a benchmark: a panic is the failure report

use std::path::Path;
use std::time::Instant;

use hindsight::store::{NewConversation, NewMessage, Sender, Status, Store};
use hindsight::sync::{sync_once, SyncOptions};

const PER_CONVERSATION: usize = 20;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn options(name: &str) -> SyncOptions {
    SyncOptions {
        name: name.into(),
        passphrase: std::env::var("BENCH_SYNC_PASSPHRASE").ok(),
        compact_after: None,
    }
}

/// `messages` messages in conversations of 20, written in one transaction.
fn fill(store: &Store, device: usize, messages: usize) {
    let base = 1_700_000_000_000i64 + device as i64 * 1_000_000_000;
    store
        .transaction(|s| {
            let mut conv = String::new();
            for i in 0..messages {
                if i % PER_CONVERSATION == 0 {
                    conv = s
                        .create_conversation(NewConversation {
                            id: None,
                            title: format!("Device {device} conversation {}", i / PER_CONVERSATION),
                            summary: None,
                            status: Status::Active,
                            start_time: base + i as i64 * 1000,
                            end_time: None,
                        })?
                        .id;
                }
                let sender = if i % 2 == 0 { Sender::User } else { Sender::Ai };
                let text = format!(
                    "Message {i} of device {device}: a paragraph of about two hundred characters, as a chat turn \
                     might be, about trips, recipes, code reviews and the odd question on gardening {i}."
                );
                s.add_message(NewMessage::new(&conv, sender, &text, base + i as i64 * 1000 + 1))?;
            }
            Ok(())
        })
        .unwrap();
}

fn dir_stats(folder: &Path) -> (usize, u64) {
    let (mut files, mut bytes) = (0, 0);
    for d in std::fs::read_dir(folder.join("devices")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            files += 1;
            bytes += f.unwrap().metadata().unwrap().len();
        }
    }
    (files, bytes)
}

fn main() {
    let devices = env("BENCH_SYNC_DEVICES", 10);
    let total = env("BENCH_SYNC_MESSAGES", 100_000);
    let per_device = total / devices;
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    println!(
        "sync at scale: {devices} devices, {} messages ({per_device} each, {PER_CONVERSATION} per conversation){}",
        per_device * devices,
        if options("x").passphrase.is_some() { ", sealed segments" } else { "" }
    );

    // Each device writes its share, then publishes it in its first round (into a folder of its
    // own, so the round only publishes); the sync app then brings every device's folder into
    // the shared one (copied here).
    let mut stores = Vec::new();
    let (mut fill_s, mut publish_s) = (0.0, 0.0);
    for d in 0..devices {
        let dir = tmp.path().join(format!("device-{d}"));
        std::fs::create_dir_all(dir.join("own")).unwrap();
        let store = Store::open(&dir.join("hindsight.db")).unwrap();
        let t = Instant::now();
        fill(&store, d, per_device);
        fill_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = sync_once(&store, &dir.join("own"), &options(&format!("device {d}"))).unwrap();
        publish_s += t.elapsed().as_secs_f64();
        assert_eq!(r.sent, per_device + per_device / PER_CONVERSATION);
        let from = dir.join("own/devices").join(&r.device);
        let to = folder.join("devices").join(&r.device);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
        stores.push(store);
    }
    let (files, bytes) = dir_stats(&folder);
    let entries = devices * (per_device + per_device / PER_CONVERSATION);

    // A new device joins: one round reads and applies every segment.
    let joined_dir = tmp.path().join("joined");
    std::fs::create_dir_all(&joined_dir).unwrap();
    let joined = Store::open(&joined_dir.join("hindsight.db")).unwrap();
    let t = Instant::now();
    let r = sync_once(&joined, &folder, &options("joined")).unwrap();
    let replay_s = t.elapsed().as_secs_f64();
    assert_eq!(r.received, entries, "{r:?}");
    assert_eq!(
        joined.count_messages().unwrap() as usize,
        per_device * devices
    );

    // The baseline: the same history moved as one export file, imported into an empty history.
    let export = tmp.path().join("export.json");
    let t = Instant::now();
    hindsight::transfer::export_json(&joined, &export).unwrap();
    let export_s = t.elapsed().as_secs_f64();
    let fresh = Store::open(&tmp.path().join("fresh.db")).unwrap();
    let t = Instant::now();
    hindsight::transfer::import_file(&fresh, &export, hindsight::transfer::ImportFormat::Auto)
        .unwrap();
    let import_s = t.elapsed().as_secs_f64();
    let export_bytes = std::fs::metadata(&export).unwrap().len();

    // Device 0 catches up with the others (at 1M messages the other nine doing the same would
    // take most of the run, and add nothing: the same cost per change).
    let t = Instant::now();
    sync_once(&stores[0], &folder, &options("device 0")).unwrap();
    let catch_up_s = t.elapsed().as_secs_f64();
    sync_once(&joined, &folder, &options("joined")).unwrap();

    // Steady state: device 0 renames a conversation and publishes it; the joined device takes
    // it; then a round with nothing new.
    let id: String = stores[0]
        .connection()
        .query_row("SELECT id FROM conversations LIMIT 1", [], |r| r.get(0))
        .unwrap();
    stores[0]
        .rename_conversation(&id, "Renamed on device 0")
        .unwrap();
    let t = Instant::now();
    sync_once(&stores[0], &folder, &options("device 0")).unwrap();
    let edits_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = sync_once(&joined, &folder, &options("joined")).unwrap();
    let small_s = t.elapsed().as_secs_f64();
    assert_eq!(r.received, 1, "{r:?}");
    let t = Instant::now();
    let r = sync_once(&joined, &folder, &options("joined")).unwrap();
    let idle_s = t.elapsed().as_secs_f64();
    assert_eq!(r.received + r.sent, 0);
    let (files_after, _) = dir_stats(&folder);

    // Compaction: device 0 replaces its segments by a snapshot of everything it holds; a new
    // device then joins through that snapshot and the others' segments.
    let t = Instant::now();
    let r = sync_once(
        &stores[0],
        &folder,
        &SyncOptions {
            compact_after: Some(1),
            ..options("device 0")
        },
    )
    .unwrap();
    let compact_s = t.elapsed().as_secs_f64();
    assert!(r.compacted.is_some());
    let (files_compacted, bytes_compacted) = dir_stats(&folder);
    let late = Store::open(&tmp.path().join("late.db")).unwrap();
    let t = Instant::now();
    sync_once(&late, &folder, &options("late")).unwrap();
    let late_s = t.elapsed().as_secs_f64();
    assert_eq!(
        late.count_messages().unwrap() as usize,
        per_device * devices
    );

    println!();
    let rows = [
        (
            "segments in the folder after the first rounds".to_owned(),
            format!("{files} ({} per device)", files / devices),
        ),
        (
            "folder size".into(),
            format!(
                "{:.1} MB (export file of the same history: {:.1} MB, {:.2}×)",
                bytes as f64 / 1e6,
                export_bytes as f64 / 1e6,
                bytes as f64 / export_bytes as f64
            ),
        ),
        (
            "writing the history (all devices)".into(),
            format!("{fill_s:.2} s"),
        ),
        (
            format!(
                "a device's first round: queue and publish its {} changes",
                entries / devices
            ),
            format!("{:.2} s", publish_s / devices as f64),
        ),
        (
            format!("new device: one round replaying {entries} changes"),
            format!(
                "{replay_s:.2} s ({:.0} changes/s)",
                entries as f64 / replay_s
            ),
        ),
        (
            format!(
                "baseline: export ({export_s:.2} s) + import ({import_s:.2} s) of the same history"
            ),
            format!("{:.2} s", export_s + import_s),
        ),
        (
            "replay / (export + import)".into(),
            format!("{:.2}×", replay_s / (export_s + import_s)),
        ),
        (
            format!(
                "a device catching up with the {} others ({} changes)",
                devices - 1,
                entries - entries / devices
            ),
            format!("{catch_up_s:.2} s"),
        ),
        (
            "a device's round publishing one edit".into(),
            format!("{:.1} ms", edits_s * 1e3),
        ),
        (
            "the joined device taking that edit".to_owned(),
            format!("{:.1} ms", small_s * 1e3),
        ),
        (
            "a round with nothing new".into(),
            format!("{:.1} ms ({files_after} segments listed)", idle_s * 1e3),
        ),
        (
            "one device compacting: a snapshot of the whole history replaces its segments".into(),
            format!(
                "{compact_s:.2} s; the folder then holds {files_compacted} files, {:.1} MB",
                bytes_compacted as f64 / 1e6
            ),
        ),
        (
            "a new device joining after that compaction".into(),
            format!("{late_s:.2} s"),
        ),
    ];
    println!("| measure | value |");
    println!("|---|---|");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
}
