//! Sync through a folder that another program (Syncthing, Nextcloud, Dropbox, iCloud Drive,
//! OneDrive) keeps in step across machines. Hindsight never writes a file another device
//! writes: each device appends its changes to numbered, immutable segments in its own
//! folder (`folder.rs`, `segment.rs`) and reads everyone else's.
//!
//! A round ([`sync_once`]):
//! 1. **Publish.** The V7 triggers queued what changed here (`store/sync.rs`); each change's
//!    current value gets a stamp from this device's hybrid logical clock (`clock.rs`) and
//!    goes into the next segment, written and recorded in one transaction.
//! 2. **Receive.** Every other device's segments after the last one applied are read (a file
//!    still arriving, or from a newer app version, stops that device there, with the reason
//!    kept for the status) and their entries applied in clock order in one transaction:
//!    creations are idempotent (ids), each mutable field takes the newest stamp (last writer
//!    wins, per field), a deleted conversation stays deleted, and an entry whose conversation
//!    or message has not arrived yet waits for a later round. Embeddings are not synced: the
//!    embedding worker makes them for the new messages; analyses travel as they were written.
//!
//! A history whose device folder holds segments it never wrote (a restored backup, a copied
//! data folder on a second machine) becomes a new device and publishes everything again, so
//! two writers never share a folder and nothing is lost (ids make the repeat a no-op).
mod clock;
mod folder;
mod seal;
mod segment;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

pub use clock::Hlc;
pub use folder::{is_device_id, new_device_id, Folder};
pub use seal::{check_passphrase, MIN_PASSPHRASE_CHARS};
pub use segment::{Problem, FORMAT};

use crate::error::{Error, Result};
use crate::store::Millis;
use crate::store::{Applied, OutgoingValue, Store, SyncEntry, SyncPeer};
use crate::time::now_ms;

/// Most entries in one segment.
const SEGMENT_ENTRIES: usize = 2000;
/// About the most bytes of values in one segment.
const SEGMENT_BYTES: usize = 8 << 20;
/// About the most segment bytes read for one apply transaction.
const RECEIVE_BYTES: u64 = 64 << 20;

/// What one round did, and where every device stands.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncReport {
    pub folder: PathBuf,
    pub device: String,
    pub name: String,
    /// Changes published by this round, and the segments that carried them.
    pub sent: usize,
    pub segments_written: usize,
    /// Others' changes written here, already here or superseded (older than what is here,
    /// about a deleted conversation), refused (not valid: logged), and still waiting for
    /// what they belong to.
    pub received: usize,
    pub superseded: usize,
    pub refused: usize,
    pub waiting: usize,
    /// Changes of this device not published yet (an answer still being written).
    pub unpublished: i64,
    pub peers: Vec<SyncPeer>,
    /// Why this history became a new sync device in this round, if it did.
    pub new_device: Option<String>,
    /// This round compacted this device's segments 1 to this number into a snapshot.
    pub compacted: Option<i64>,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub at: Millis,
}

/// How this device syncs.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// This device's name as the others show it.
    pub name: String,
    /// Seals this device's segments and opens the others' (`seal.rs`); `None`: plain segments.
    pub passphrase: Option<String>,
    /// Compact once this device has this many segments in the folder (`None`: 256).
    pub compact_after: Option<usize>,
}

/// How many of its own segments a device keeps before it compacts them into a snapshot.
pub const COMPACT_AFTER: usize = 256;

/// One sync round of `store` with the folder `root`.
pub fn sync_once(store: &Store, root: &Path, options: &SyncOptions) -> Result<SyncReport> {
    let name = options.name.as_str();
    let passphrase = options.passphrase.as_deref();
    let folder = Folder::open(root)?;
    let (device, new_device) = take_device(store, &folder)?;
    let (sent, segments_written) = publish(store, &folder, &device, name, passphrase)?;
    let threshold = options.compact_after.unwrap_or(COMPACT_AFTER).max(1);
    let compacted = if folder.segments(&device)?.len() >= threshold {
        Some(compact(store, &folder, &device, name, passphrase)?)
    } else {
        None
    };
    let mut report = SyncReport {
        folder: root.to_path_buf(),
        device: device.clone(),
        name: name.to_owned(),
        sent,
        segments_written,
        received: 0,
        superseded: 0,
        refused: 0,
        waiting: 0,
        unpublished: 0,
        peers: Vec::new(),
        new_device,
        compacted,
        at: now_ms(),
    };
    loop {
        let before = report.received + report.superseded;
        let more = receive(store, &folder, &device, passphrase, &mut report)?;
        if !more || report.received + report.superseded == before {
            break;
        }
    }
    report.unpublished = store.sync_outbox_mark()?.0;
    report.peers = store.sync_peers()?;
    Ok(report)
}

/// This history's device id: made on first use; a new one when the folder has segments of
/// this id that this database did not write.
fn take_device(store: &Store, folder: &Folder) -> Result<(String, Option<String>)> {
    store.transaction(|s| {
        let state = match s.sync_state()? {
            Some(st) => st,
            None => s.sync_start(&new_device_id())?,
        };
        let on_disk = folder
            .segments(&state.device)?
            .last()
            .map_or(0, |(seq, _)| *seq);
        if on_disk <= state.published {
            return Ok((state.device, None));
        }
        let why = format!(
            "the sync folder has {on_disk} segments from this device but this history wrote {}: it was restored from a backup or copied from another computer, so it now syncs as a new device and publishes its history again",
            state.published
        );
        tracing::warn!(old = %state.device, on_disk, published = state.published, "sync: becoming a new device");
        let st = s.sync_start(&new_device_id())?;
        Ok((st.device, Some(why)))
    })
}

/// Publishes every queued change, in segments. Returns the changes and segments written.
fn publish(
    store: &Store,
    folder: &Folder,
    device: &str,
    name: &str,
    passphrase: Option<&str>,
) -> Result<(usize, usize)> {
    let outbox = store.sync_outbox()?;
    let (mut sent, mut segments) = (0, 0);
    let mut rest = outbox.as_slice();
    while !rest.is_empty() {
        let taken = store.transaction(|s| {
            let state = s
                .sync_state()?
                .ok_or_else(|| Error::Internal("sync state missing".into()))?;
            let mut clock = Hlc::parse(&state.clock);
            let (mut entries, mut settled, mut bytes, mut taken) = (Vec::new(), Vec::new(), 0, 0);
            for o in rest {
                if entries.len() >= SEGMENT_ENTRIES || bytes >= SEGMENT_BYTES {
                    break;
                }
                taken += 1;
                match s.sync_value(o)? {
                    OutgoingValue::Ready(value) => {
                        let hlc = Hlc::tick(clock.as_ref(), o.at, device);
                        bytes += value.to_string().len();
                        entries.push(SyncEntry {
                            hlc: hlc.to_string(),
                            kind: o.kind.clone(),
                            key: o.key.clone(),
                            field: o.field.clone(),
                            value,
                        });
                        clock = Some(hlc);
                        settled.push(o.clone());
                    }
                    OutgoingValue::Gone => settled.push(o.clone()),
                    OutgoingValue::NotYet => {}
                }
            }
            let mut seq = state.published;
            if !entries.is_empty() {
                seq += 1;
                let header = segment::Header {
                    hindsight_sync: FORMAT,
                    device: device.to_owned(),
                    name: name.to_owned(),
                    seq,
                    entries: entries.len(),
                    written_at: now_ms(),
                    app: env!("CARGO_PKG_VERSION").to_owned(),
                    snapshot: None,
                };
                let mut bytes = segment::encode(&header, &entries)?;
                if let Some(p) = passphrase {
                    bytes = seal::seal(&bytes, p, device, seq)?;
                }
                folder.write_segment(device, seq, &bytes)?;
            }
            let clock = clock.map(|c| c.to_string()).unwrap_or_default();
            s.sync_published(seq, &clock, &entries, &settled)?;
            sent += entries.len();
            segments += usize::from(!entries.is_empty());
            Ok(taken)
        })?;
        rest = &rest[taken..];
    }
    if sent > 0 {
        tracing::info!(sent, segments, "sync: published");
    }
    Ok((sent, segments))
}

/// Writes a snapshot of everything this history holds, covering the segments this device
/// published so far, then deletes those segments and older snapshots. A reader that has
/// applied them all skips the snapshot; one that has not (or a new device) reads it instead
/// of them: its entries are idempotent like any others, with the stamps of the writes that
/// set each field. Returns the last segment covered.
fn compact(
    store: &Store,
    folder: &Folder,
    device: &str,
    name: &str,
    passphrase: Option<&str>,
) -> Result<i64> {
    let oldest = Hlc {
        ms: 0,
        n: 0,
        device: device.to_owned(),
    }
    .to_string();
    let (covers, entries) = store.transaction(|s| {
        let state = s
            .sync_state()?
            .ok_or_else(|| Error::Internal("sync state missing".into()))?;
        let mut entries = Vec::new();
        for (o, stamp) in s.sync_snapshot()? {
            if let OutgoingValue::Ready(value) = s.sync_value(&o)? {
                entries.push(SyncEntry {
                    hlc: stamp.unwrap_or_else(|| oldest.clone()),
                    kind: o.kind,
                    key: o.key,
                    field: o.field,
                    value,
                });
            }
        }
        Ok((state.published, entries))
    })?;
    let chunks: Vec<&[SyncEntry]> = if entries.is_empty() {
        vec![&[]]
    } else {
        entries.chunks(SEGMENT_ENTRIES).collect()
    };
    let parts = chunks.len() as i64;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let part = segment::SnapshotPart {
            covers,
            part: i as i64 + 1,
            parts,
        };
        let header = segment::Header {
            hindsight_sync: FORMAT,
            device: device.to_owned(),
            name: name.to_owned(),
            seq: part.place(),
            entries: chunk.len(),
            written_at: now_ms(),
            app: env!("CARGO_PKG_VERSION").to_owned(),
            snapshot: Some(part),
        };
        let mut bytes = segment::encode(&header, chunk)?;
        if let Some(p) = passphrase {
            bytes = seal::seal(&bytes, p, device, part.place())?;
        }
        folder.write_snapshot_part(device, (covers, part.part, parts), &bytes)?;
    }
    let removed = folder.remove_covered(device, covers)?;
    tracing::info!(
        covers,
        parts,
        removed,
        entries = entries.len(),
        "sync: compacted"
    );
    Ok(covers)
}

/// Reads one file of `device` numbered `place` (a segment's number, or a snapshot part's
/// [`segment::SnapshotPart::place`]): opened if sealed, checked. A file gone meanwhile (the
/// writer compacted it away) is "still arriving": the next round finds what replaced it.
fn read_file(
    path: &Path,
    device: &str,
    place: i64,
    passphrase: Option<&str>,
) -> Result<(u64, std::result::Result<segment::Segment, Problem>)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((0, Err(Problem::Partial(place))))
        }
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let len = bytes.len() as u64;
    let plain = if seal::is_sealed(&bytes) {
        seal::open(&bytes, passphrase, device, place)
    } else {
        Ok(bytes)
    };
    Ok((
        len,
        plain.and_then(|plain| segment::decode(&plain, device, place)),
    ))
}

/// One apply transaction over the others' unread segments. Returns whether there is more to
/// read (a read limit was reached).
fn receive(
    store: &Store,
    folder: &Folder,
    me: &str,
    passphrase: Option<&str>,
    report: &mut SyncReport,
) -> Result<bool> {
    let known: HashMap<String, SyncPeer> = store
        .sync_peers()?
        .into_iter()
        .map(|p| (p.device.clone(), p))
        .collect();
    let mut peers: Vec<SyncPeer> = Vec::new();
    // (peer index, segment number, entry)
    let mut incoming: Vec<(usize, i64, SyncEntry)> = Vec::new();
    let mut read_bytes = 0u64;
    let mut more = false;
    for device in folder.devices()? {
        if device == me {
            continue;
        }
        let mut peer = known.get(&device).cloned().unwrap_or(SyncPeer {
            device: device.clone(),
            name: String::new(),
            applied: 0,
            seen_at: None,
            problem: None,
        });
        peer.problem = None;
        let index = peers.len();
        let mut last_read = peer.applied;
        let segments = folder.segments(&device)?;
        // The next segment was compacted away: the newest snapshot covering it replaces it.
        if !segments.iter().any(|(seq, _)| *seq == last_read + 1) {
            let snapshot = folder
                .snapshots(&device)?
                .into_iter()
                .rfind(|(covers, _)| *covers > last_read);
            if let Some((covers, files)) = snapshot {
                let mut parts = Vec::new();
                for (i, path) in files.iter().enumerate() {
                    let place = segment::SnapshotPart {
                        covers,
                        part: i as i64 + 1,
                        parts: files.len() as i64,
                    }
                    .place();
                    let (len, read) = read_file(path, &device, place, passphrase)?;
                    read_bytes += len;
                    match read {
                        Ok(seg) => parts.push(seg),
                        Err(problem) => {
                            peer.problem = Some(format!("its snapshot: {problem}"));
                            break;
                        }
                    }
                }
                if peer.problem.is_none() {
                    // Entries that wait leave `applied` where it was (`last_read + 1 - 1`).
                    let unit = last_read + 1;
                    for seg in parts {
                        peer.name = seg.header.name;
                        incoming.extend(seg.entries.into_iter().map(|e| (index, unit, e)));
                    }
                    last_read = covers;
                }
            }
        }
        for (seq, path) in segments {
            if peer.problem.is_some() {
                break;
            }
            if seq <= last_read {
                continue;
            }
            if seq != last_read + 1 {
                peer.problem = Some(format!("segment {} is still arriving", last_read + 1));
                break;
            }
            if read_bytes > RECEIVE_BYTES {
                more = true;
                break;
            }
            let (len, read) = read_file(&path, &device, seq, passphrase)?;
            read_bytes += len;
            match read {
                Ok(seg) => {
                    peer.name = seg.header.name;
                    incoming.extend(seg.entries.into_iter().map(|e| (index, seq, e)));
                    last_read = seq;
                }
                Err(problem) => {
                    tracing::info!(%device, seq, "sync: {problem}");
                    peer.problem = Some(problem.to_string());
                    break;
                }
            }
        }
        peer.seen_at = Some(now_ms());
        peers.push(peer);
        // What was read, as far as it applies, becomes `applied` below.
        peers[index].applied = last_read;
    }
    incoming.sort_by(|a, b| a.2.hlc.cmp(&b.2.hlc));
    let latest = incoming.last().map(|(_, _, e)| e.hlc.clone());
    store.transaction(|s| {
        s.sync_applying(true)?;
        // Entries whose conversation or message is in a segment not applied yet wait; they
        // are tried again after the rest, then in a later round.
        let mut pending: Vec<&(usize, i64, SyncEntry)> = incoming.iter().collect();
        loop {
            let mut waiting = Vec::new();
            for item in &pending {
                let e = &item.2;
                match s.sync_apply(e) {
                    Ok(Applied::Done) => report.received += 1,
                    Ok(Applied::Superseded) => report.superseded += 1,
                    Ok(Applied::Waiting) => waiting.push(*item),
                    Err(err) if refusal(&err) => {
                        tracing::warn!(kind = %e.kind, field = %e.field, key = %e.key, "sync: refused an entry: {err}");
                        report.refused += 1;
                    }
                    Err(err) => return Err(err),
                }
            }
            let stuck = waiting.len() == pending.len();
            pending = waiting;
            if pending.is_empty() || stuck {
                break;
            }
        }
        report.waiting += pending.len();
        for (index, seq, _) in &pending {
            let p = &mut peers[*index];
            p.applied = p.applied.min(seq - 1);
            if p.problem.is_none() {
                p.problem = Some(format!(
                    "some changes of segment {seq} wait for a conversation or message from a device not synced yet"
                ));
            }
        }
        for p in &peers {
            s.sync_put_peer(p)?;
        }
        if let Some(latest) = &latest {
            s.sync_observe_clock(latest)?;
        }
        s.sync_applying(false)
    })?;
    Ok(more)
}

/// Whether applying an entry failed for the entry's own sake (it does not parse, breaks a
/// limit or a constraint): it is refused and the round goes on. Anything else stops it.
fn refusal(e: &Error) -> bool {
    match e {
        Error::Invalid(_) | Error::Json(_) => true,
        Error::Db(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation),
        _ => false,
    }
}
