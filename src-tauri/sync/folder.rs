//! The sync folder's layout: `devices/<device id>/segment-<8-digit number>.jsonl`, one folder
//! per device, written only by that device; after a compaction also
//! `snapshot-<covers>-<part>-of-<parts>.jsonl`, the device's state when it had published
//! segments 1 to `covers` (which it then deletes). Anything else in the folder (a sync engine's
//! temporary and conflict files, a half-written segment's temporary name) is ignored.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct Folder {
    devices: PathBuf,
}

const PREFIX: &str = "segment-";
const SUFFIX: &str = ".jsonl";

/// A device id is 32 lower-case hex digits (a UUID without hyphens).
pub fn is_device_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn new_device_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Folder {
    /// The sync folder at `root`, which must exist (a folder the sync engine already
    /// replicates; Hindsight does not create it).
    pub fn open(root: &Path) -> Result<Folder> {
        if !root.is_dir() {
            return Err(Error::Invalid(format!(
                "the sync folder {} does not exist: choose a folder that Syncthing, Nextcloud, Dropbox or another sync app keeps in step",
                root.display()
            )));
        }
        let devices = root.join("devices");
        std::fs::create_dir_all(&devices).map_err(io(&devices))?;
        Ok(Folder { devices })
    }

    pub fn device_dir(&self, device: &str) -> PathBuf {
        self.devices.join(device)
    }

    /// The devices that have published here.
    pub fn devices(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.devices).map_err(io(&self.devices))? {
            let entry = entry.map_err(io(&self.devices))?;
            if let Some(name) = entry.file_name().to_str() {
                if is_device_id(name) && entry.path().is_dir() {
                    out.push(name.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// A device's segments, by number.
    pub fn segments(&self, device: &str) -> Result<Vec<(i64, PathBuf)>> {
        let dir = self.device_dir(device);
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX)?.strip_suffix(SUFFIX))
                .filter(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            out.push((seq, entry.path()));
        }
        out.sort();
        Ok(out)
    }

    /// A device's complete snapshots (every part there), by what they cover: `(covers,
    /// parts in order)`.
    pub fn snapshots(&self, device: &str) -> Result<Vec<(i64, Vec<PathBuf>)>> {
        let dir = self.device_dir(device);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut found: std::collections::BTreeMap<(i64, i64), Vec<(i64, PathBuf)>> =
            Default::default();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name();
            let Some((covers, part, parts)) = name.to_str().and_then(snapshot_name) else {
                continue;
            };
            found
                .entry((covers, parts))
                .or_default()
                .push((part, entry.path()));
        }
        let mut out = Vec::new();
        for ((covers, parts), mut files) in found {
            files.sort();
            let complete = files.len() as i64 == parts
                && files
                    .iter()
                    .enumerate()
                    .all(|(i, (p, _))| *p == i as i64 + 1);
            if complete {
                out.push((covers, files.into_iter().map(|(_, p)| p).collect()));
            }
        }
        Ok(out)
    }

    /// Publishes part `part` of `parts` of the snapshot covering segments 1 to `covers`.
    pub fn write_snapshot_part(
        &self,
        device: &str,
        (covers, part, parts): (i64, i64, i64),
        bytes: &[u8],
    ) -> Result<PathBuf> {
        let name = format!("snapshot-{covers:08}-{part:04}-of-{parts:04}{SUFFIX}");
        self.write_new(device, &name, bytes)
    }

    /// Deletes `device`'s segments up to `covers` and its snapshots older than `covers`
    /// (a compaction's last step: the snapshot covering them is complete).
    pub fn remove_covered(&self, device: &str, covers: i64) -> Result<usize> {
        let mut removed = 0;
        let mut remove = |path: &Path| -> Result<()> {
            match std::fs::remove_file(path) {
                Ok(()) => {
                    removed += 1;
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(path)(e)),
            }
        };
        for (seq, path) in self.segments(device)? {
            if seq <= covers {
                remove(&path)?;
            }
        }
        for (older, files) in self.snapshots(device)? {
            if older < covers {
                for f in files {
                    remove(&f)?;
                }
            }
        }
        Ok(removed)
    }

    /// Publishes segment `seq` of `device`: written under a temporary name, flushed to
    /// disk, then renamed, so a sync engine sees either nothing or the whole file. A
    /// segment is never overwritten.
    pub fn write_segment(&self, device: &str, seq: i64, bytes: &[u8]) -> Result<PathBuf> {
        self.write_new(device, &format!("{PREFIX}{seq:08}{SUFFIX}"), bytes)
    }

    fn write_new(&self, device: &str, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        use std::io::Write;
        let dir = self.device_dir(device);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(name);
        if path.exists() {
            return Err(Error::Internal(format!(
                "sync segment {} exists already",
                path.display()
            )));
        }
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }
}

/// `snapshot-<covers>-<part>-of-<parts>.jsonl` → its three numbers.
fn snapshot_name(name: &str) -> Option<(i64, i64, i64)> {
    let rest = name.strip_prefix("snapshot-")?.strip_suffix(SUFFIX)?;
    let (covers, rest) = rest.split_once('-')?;
    let (part, parts) = rest.split_once("-of-")?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    Some((number(covers)?, number(part)?, number(parts)?))
}

impl Folder {
    /// A number that changes when any device's segments change (names and sizes), to notice
    /// that a sync app brought something new without reading it.
    pub fn signature(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for device in self.devices().unwrap_or_default() {
            device.hash(&mut h);
            for (seq, path) in self.segments(&device).unwrap_or_default() {
                seq.hash(&mut h);
                std::fs::metadata(&path)
                    .map(|m| m.len())
                    .unwrap_or(0)
                    .hash(&mut h);
            }
        }
        h.finish()
    }
}
