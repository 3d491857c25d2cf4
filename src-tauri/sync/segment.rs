//! The segment file: one device's changes, written once and never rewritten.
//!
//! JSON lines: a header (`{"hindsight_sync": FORMAT, "device", "name", "seq", "entries", …}`),
//! one [`SyncEntry`] per line, and a trailer `{"end": "<sha256 of every byte before it>"}`.
//! A sync engine may show a file before all of it has arrived: without its trailer, or with
//! bytes that do not match it, a segment is simply not read yet. A header with a newer
//! format is refused in words (this Hindsight is older than the device that wrote it).
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::SyncEntry;

/// The segment format this build writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub hindsight_sync: u32,
    pub device: String,
    /// The device's name as its owner set it ("Laptop").
    pub name: String,
    pub seq: i64,
    pub entries: usize,
    pub written_at: i64,
    /// The Hindsight version that wrote it.
    pub app: String,
    /// For a part of a snapshot (`folder.rs`): the segments it replaces and its place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotPart>,
}

/// A snapshot part: the writer's state when it had published segments 1 to `covers`, in
/// `parts` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPart {
    pub covers: i64,
    pub part: i64,
    pub parts: i64,
}

impl SnapshotPart {
    /// The number a snapshot part goes by where a segment's number goes (its header's `seq`
    /// and the sealed bytes' associated data): negative, so it is never a segment's.
    pub fn place(self) -> i64 {
        -(self.covers * 10_000 + self.part)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub header: Header,
    pub entries: Vec<SyncEntry>,
}

/// Why a segment is not read (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("segment {0} is still arriving")]
    Partial(i64),
    #[error("segment {seq} was written by a newer Hindsight ({app}, sync format {format}; this one reads format {FORMAT}): update Hindsight on this device to receive its changes")]
    Newer { seq: i64, format: u32, app: String },
    #[error("segment {seq} cannot be read: {reason}")]
    Damaged { seq: i64, reason: String },
    #[error("segment {0} is encrypted: enter the sync passphrase in Settings → Sync (the same on every computer)")]
    Locked(i64),
    #[error("segment {0} does not open with this passphrase: use the same sync passphrase on every computer")]
    WrongKey(i64),
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    end: String,
}

pub fn encode(header: &Header, entries: &[SyncEntry]) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec(header)?;
    out.push(b'\n');
    for e in entries {
        serde_json::to_writer(&mut out, e)?;
        out.push(b'\n');
    }
    let end = crate::llm::catalog::hex(&Sha256::digest(&out));
    serde_json::to_writer(&mut out, &Trailer { end })?;
    out.push(b'\n');
    Ok(out)
}

/// Reads segment `seq` (its number from the file name) of `device`.
pub fn decode(bytes: &[u8], device: &str, seq: i64) -> std::result::Result<Segment, Problem> {
    let damaged = |reason: String| Problem::Damaged { seq, reason };
    let Some(header_end) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(Problem::Partial(seq));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[..header_end]).map_err(|_| Problem::Partial(seq))?;
    let format = header["hindsight_sync"].as_u64().unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(Problem::Newer {
            seq,
            format: u32::try_from(format).unwrap_or(u32::MAX),
            app: header["app"].as_str().unwrap_or("unknown").to_owned(),
        });
    }
    let header: Header = serde_json::from_value(header)
        .map_err(|e| damaged(format!("not a Hindsight sync segment ({e})")))?;
    if header.device != device || header.seq != seq {
        return Err(damaged(format!(
            "it says it is segment {} of device {}",
            header.seq, header.device
        )));
    }
    // The trailer: the last line, complete (newline-terminated), with the hash of the rest.
    let body = bytes.strip_suffix(b"\n").ok_or(Problem::Partial(seq))?;
    let trailer_start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let trailer: Trailer =
        serde_json::from_slice(&body[trailer_start..]).map_err(|_| Problem::Partial(seq))?;
    let hash = crate::llm::catalog::hex(&Sha256::digest(&bytes[..trailer_start]));
    if hash != trailer.end {
        return Err(Problem::Partial(seq));
    }
    let mut entries = Vec::with_capacity(header.entries);
    for line in bytes[header_end + 1..trailer_start].split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        entries.push(serde_json::from_slice(line).map_err(|e| damaged(format!("an entry: {e}")))?);
    }
    if entries.len() != header.entries {
        return Err(damaged(format!(
            "{} entries where the header says {}",
            entries.len(),
            header.entries
        )));
    }
    Ok(Segment { header, entries })
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Error {
        Error::Invalid(p.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(seq: i64, entries: usize) -> Header {
        Header {
            hindsight_sync: FORMAT,
            device: "d1".into(),
            name: "Laptop".into(),
            seq,
            entries,
            written_at: 1,
            app: "0.1.0".into(),
            snapshot: None,
        }
    }

    fn entry(n: u32) -> SyncEntry {
        SyncEntry {
            hlc: format!("{n:015}.0000000000.d1"),
            kind: "conversation".into(),
            key: format!("k{n}"),
            field: "title".into(),
            value: serde_json::json!({"title": format!("t\n{n}")}),
        }
    }

    #[test]
    fn a_segment_round_trips_and_any_cut_is_partial_not_wrong() {
        let entries = vec![entry(1), entry(2), entry(3)];
        let bytes = encode(&header(7, 3), &entries).unwrap();
        let seg = decode(&bytes, "d1", 7).unwrap();
        assert_eq!(seg.entries, entries);
        assert_eq!(seg.header.name, "Laptop");
        for cut in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..cut], "d1", 7),
                Err(Problem::Partial(7)),
                "cut {cut}"
            );
        }
        // A changed byte in the middle (an engine writing blocks in any order).
        let mut changed = bytes.clone();
        let mid = changed.len() / 2;
        changed[mid] = b'#';
        assert!(decode(&changed, "d1", 7).is_err());
        // Renamed into another device's folder or number: refused.
        assert!(matches!(
            decode(&bytes, "d2", 7),
            Err(Problem::Damaged { .. })
        ));
        assert!(matches!(
            decode(&bytes, "d1", 8),
            Err(Problem::Damaged { .. })
        ));
    }

    #[test]
    fn a_newer_format_is_refused_in_words_even_before_it_has_all_arrived() {
        let mut h = header(2, 0);
        h.hindsight_sync = FORMAT + 1;
        h.app = "9.0.0".into();
        let bytes = encode(&h, &[]).unwrap();
        let problem = decode(&bytes[..bytes.len() - 5], "d1", 2).unwrap_err();
        assert!(matches!(problem, Problem::Newer { format, .. } if format == FORMAT + 1));
        assert!(
            problem.to_string().contains("update Hindsight"),
            "{problem}"
        );
    }
}
