//! Where Hindsight keeps its files. The data directory holds the SQLite database (and, in later
//! issues, models). Resolution order: `--data-dir`, `HINDSIGHT_DATA_DIR`, the OS app data dir.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The app identifier; also the folder name under the OS data dir (what Tauri's
/// `app_data_dir()` uses), so the window and the CLI share one database.
pub const APP_ID: &str = "dev.hindsight.app";
pub const DB_FILE: &str = "hindsight.db";

/// The default data directory: `$XDG_DATA_HOME/dev.hindsight.app` on Linux,
/// `~/Library/Application Support/dev.hindsight.app` on macOS, `%APPDATA%\dev.hindsight.app` on Windows.
pub fn default_data_dir() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join(APP_ID))
        .ok_or_else(|| Error::Invalid("no OS data directory; pass --data-dir".into()))
}

/// `explicit` comes from `--data-dir` or `HINDSIGHT_DATA_DIR` (clap reads both).
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(p) => p.to_path_buf(),
        None => default_data_dir()?,
    };
    crate::files::private_dir(&dir)?;
    Ok(dir)
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Where this run keeps its data and finds its models.
#[derive(Debug, Clone)]
pub struct Locations {
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
}

impl Locations {
    /// `data_dir` from `--data-dir` / `HINDSIGHT_DATA_DIR`, `models_dir` from `--models-dir` /
    /// `HINDSIGHT_MODELS_DIR`, default `models/` in the *default* data directory: models are
    /// per user, shared by every data directory (what `scripts/fetch-models` fills).
    pub fn resolve(data_dir: Option<&Path>, models_dir: Option<&Path>) -> Result<Locations> {
        let data_dir = resolve_data_dir(data_dir)?;
        let models_dir = match models_dir {
            Some(m) => m.to_path_buf(),
            None => default_data_dir()?.join("models"),
        };
        Ok(Locations {
            data_dir,
            models_dir,
        })
    }

    pub fn db_path(&self) -> PathBuf {
        db_path(&self.data_dir)
    }
}
