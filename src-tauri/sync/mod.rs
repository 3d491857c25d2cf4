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
}

/// One sync round of `store` with the folder `root`.
pub fn sync_once(store: &Store, root: &Path, options: &SyncOptions) -> Result<SyncReport> {
    let name = options.name.as_str();
    let passphrase = options.passphrase.as_deref();
    let folder = Folder::open(root)?;
    let (device, new_device) = take_device(store, &folder)?;
    let (sent, segments_written) = publish(store, &folder, &device, name, passphrase)?;
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
        at: now_ms(),
    };
    loop {
        let before = report.received + report.superseded;
        let more = receive(store, &folder, &device, passphrase, &mut report)?;
        if !more || report.received + report.superseded == before {
            break;
        }
    }
    report.unpublished = store.sync_outbox_len()?;
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
        for (seq, path) in folder.segments(&device)? {
            if seq <= peer.applied {
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
            let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            read_bytes += bytes.len() as u64;
            let plain = if seal::is_sealed(&bytes) {
                seal::open(&bytes, passphrase, &device, seq)
            } else {
                Ok(bytes)
            };
            match plain.and_then(|plain| segment::decode(&plain, &device, seq)) {
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
