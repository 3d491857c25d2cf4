//! Sync through a folder (`crate::sync`): the settings (folder, device name) and a round.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{wake_worker, Hindsight};
use crate::error::{Error, Result};
use crate::locking::lock;
use crate::store::{Millis, Store, SyncPeer};
use crate::sync::SyncReport;

const SETTING: &str = "sync";
/// The passphrase that seals segments: kept in this device's database only, never shown.
const PASSPHRASE: &str = "sync_passphrase";

/// Sync as set in Settings → Sync (or by `hindsight sync --folder … --name …`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncSettings {
    /// The folder another program keeps in step across machines; `None`: sync is off.
    pub folder: Option<PathBuf>,
    /// This device's name as the others show it; empty: the computer's name.
    #[serde(default)]
    pub device_name: String,
}

/// This process's last sync round.
#[derive(Debug, Clone, Default)]
pub(super) struct LastRound {
    running: bool,
    report: Option<SyncReport>,
    error: Option<(String, Millis)>,
    sent: Option<Moved>,
    received: Option<Moved>,
}

/// How many changes a round moved, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct Moved {
    pub changes: usize,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub at: Millis,
}

/// What Settings → Sync and the sidebar show.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncStatus {
    pub settings: SyncSettings,
    /// What this device is called when it has no name of its own (the computer's name).
    pub default_name: String,
    /// This history's sync device id, once it has synced.
    pub device: Option<String>,
    /// A round is running now.
    pub running: bool,
    /// The last round of this window that went through.
    pub last: Option<SyncReport>,
    /// Why the last round failed, in plain words (`None`: it went through).
    pub error: Option<String>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub error_at: Option<Millis>,
    /// The last round of this window that published changes, and the last that received some.
    pub last_sent: Option<Moved>,
    pub last_received: Option<Moved>,
    /// The other devices as far as this history knows them.
    pub peers: Vec<SyncPeer>,
    /// This device seals its segments with a passphrase (and opens the others' with it).
    pub encrypted: bool,
    /// Changes made here not published yet.
    pub unpublished: i64,
}

/// The computer's name, for a device not named in Settings.
pub fn computer_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "This computer".to_owned())
}

impl Hindsight {
    pub fn sync_settings(&self) -> Result<SyncSettings> {
        self.store().setting_or_default(SETTING)
    }

    /// Saves the sync settings: the folder must exist (it is the sync app's; Hindsight does
    /// not create it) and is kept as an absolute path; a name is at most 60 characters.
    pub fn save_sync_settings(&self, settings: SyncSettings) -> Result<SyncSettings> {
        let folder = match settings.folder {
            None => None,
            Some(f) if f.as_os_str().is_empty() => None,
            Some(f) => {
                let f = std::path::absolute(&f).map_err(|e| Error::io(&f, e))?;
                crate::sync::Folder::open(&f)?;
                Some(f)
            }
        };
        let device_name = settings.device_name.trim().to_owned();
        if device_name.chars().count() > 60 {
            return Err(Error::Invalid(
                "a device name is at most 60 characters".into(),
            ));
        }
        let clean = SyncSettings {
            folder,
            device_name,
        };
        self.store()
            .put_setting(SETTING, &serde_json::to_value(&clean)?)?;
        self.sync_wake.notify_one();
        Ok(clean)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let settings = self.sync_settings()?;
        let last = lock(&self.sync_last).clone();
        let reader = self.reader();
        Ok(SyncStatus {
            settings,
            default_name: computer_name(),
            device: reader.sync_state()?.map(|s| s.device),
            running: last.running,
            last: last.report,
            error: last.error.as_ref().map(|(e, _)| e.clone()),
            error_at: last.error.map(|(_, at)| at),
            last_sent: last.sent,
            last_received: last.received,
            peers: reader.sync_peers()?,
            encrypted: reader
                .get_setting(PASSPHRASE)?
                .is_some_and(|v| v.is_string()),
            unpublished: reader.sync_outbox_mark()?.0,
        })
    }

    /// This history's sync device id, once it has synced.
    pub fn sync_device(&self) -> Result<Option<String>> {
        Ok(self.reader().sync_state()?.map(|s| s.device))
    }

    /// What tells the window's background sync that this history changed since it last
    /// looked (the outbox's size and newest change).
    pub fn sync_outbox_mark(&self) -> Result<(i64, Millis)> {
        self.reader().sync_outbox_mark()
    }

    /// [`sync_now`](Self::sync_now), its outcome kept for [`sync_status`](Self::sync_status).
    pub fn sync_recorded(&self) -> Result<SyncReport> {
        lock(&self.sync_last).running = true;
        let result = self.sync_now();
        let mut last = lock(&self.sync_last);
        last.running = false;
        match &result {
            Ok(report) => {
                let moved = |changes| {
                    (changes > 0).then_some(Moved {
                        changes,
                        at: report.at,
                    })
                };
                last.sent = moved(report.sent).or(last.sent);
                last.received = moved(report.received).or(last.received);
                last.report = Some(report.clone());
                last.error = None;
            }
            Err(e) => {
                tracing::warn!(code = e.code(), "sync failed: {e}");
                last.error = Some((e.plain(), crate::time::now_ms()));
            }
        }
        result
    }

    /// Sets the passphrase that seals this device's segments and opens the others' (`None`:
    /// plain segments from now on). Every computer needs the same one.
    pub fn save_sync_passphrase(&self, passphrase: Option<String>) -> Result<()> {
        let value = match passphrase {
            Some(p) => {
                crate::sync::check_passphrase(&p)?;
                serde_json::Value::String(p)
            }
            None => serde_json::Value::Null,
        };
        self.store().put_setting(PASSPHRASE, &value)?;
        self.sync_wake.notify_one();
        Ok(())
    }

    /// One sync round with the saved folder, on a connection of its own (a round of a large
    /// history must not hold up chat). New messages wake the embedding worker.
    pub fn sync_now(&self) -> Result<SyncReport> {
        let _one_at_a_time = lock(&self.sync_round);
        let settings = self.sync_settings()?;
        let folder = settings.folder.ok_or_else(|| {
            Error::Invalid("sync is off: choose a sync folder first (Settings → Sync, or hindsight sync --folder DIR)".into())
        })?;
        let name = if settings.device_name.is_empty() {
            computer_name()
        } else {
            settings.device_name
        };
        let passphrase = self
            .store()
            .get_setting(PASSPHRASE)?
            .and_then(|v| v.as_str().map(str::to_owned));
        let options = crate::sync::SyncOptions {
            name,
            passphrase,
            compact_after: None,
        };
        let report = sync_with(&self.locations.db_path(), &folder, &options)?;
        if report.received > 0 {
            wake_worker(&self.worker);
        }
        Ok(report)
    }
}

fn sync_with(db: &Path, folder: &Path, options: &crate::sync::SyncOptions) -> Result<SyncReport> {
    let store = Store::open(db)?;
    store.wait_for_writers(std::time::Duration::from_secs(30))?;
    crate::sync::sync_once(&store, folder, options)
}
