//! The sync folder's layout: `devices/<device id>/segment-<8-digit number>.jsonl`, one folder
//! per device, written only by that device. Anything else in the folder (a sync engine's
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

    /// Publishes segment `seq` of `device`: written under a temporary name, flushed to
    /// disk, then renamed, so a sync engine sees either nothing or the whole file. A
    /// segment is never overwritten.
    pub fn write_segment(&self, device: &str, seq: i64, bytes: &[u8]) -> Result<PathBuf> {
        use std::io::Write;
        let dir = self.device_dir(device);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("{PREFIX}{seq:08}{SUFFIX}"));
        if path.exists() {
            return Err(Error::Internal(format!(
                "sync segment {} exists already",
                path.display()
            )));
        }
        let tmp = dir.join(format!(".{PREFIX}{seq:08}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }
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
