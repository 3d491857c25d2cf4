//! Sync through a folder (`crate::sync`): the settings (folder, device name) and a round.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{wake_worker, Hindsight};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::sync::SyncReport;

const SETTING: &str = "sync";

/// Sync as set in Settings → Sync (or by `hindsight sync --folder … --name …`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncSettings {
    /// The folder another program keeps in step across machines; `None`: sync is off.
    pub folder: Option<PathBuf>,
    /// This device's name as the others show it; empty: the computer's name.
    #[serde(default)]
    pub device_name: String,
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
        Ok(clean)
    }

    /// One sync round with the saved folder, on a connection of its own (a round of a large
    /// history must not hold up chat). New messages wake the embedding worker.
    pub fn sync_now(&self) -> Result<SyncReport> {
        let settings = self.sync_settings()?;
        let folder = settings.folder.ok_or_else(|| {
            Error::Invalid("sync is off: choose a sync folder first (Settings → Sync, or hindsight sync --folder DIR)".into())
        })?;
        let name = if settings.device_name.is_empty() {
            computer_name()
        } else {
            settings.device_name
        };
        let report = sync_with(&self.locations.db_path(), &folder, &name)?;
        if report.received > 0 {
            wake_worker(&self.worker);
        }
        Ok(report)
    }
}

fn sync_with(db: &Path, folder: &Path, name: &str) -> Result<SyncReport> {
    let store = Store::open(db)?;
    store.wait_for_writers(std::time::Duration::from_secs(30))?;
    crate::sync::sync_once(&store, folder, name)
}
