//! Backups and integrity. A backup is a consistent copy of the database made with SQLite's
//! online backup API (the app may keep writing meanwhile), checked with `integrity_check`
//! before it counts, and private to the user. Automatic backups live in `backups/` beside the
//! database: one before every schema migration, one before a restore, one a day while the
//! window runs; the newest [`KEEP_AUTOMATIC`] are kept. A restore checks the backup, takes an
//! automatic backup of what it replaces, then copies the backup in through the same API.
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{migrations, Store, SCHEMA_VERSION};
use crate::error::{Error, Result};
use crate::store::Millis;

/// Automatic backups kept (the newest); manual ones are never removed.
pub const KEEP_AUTOMATIC: usize = 5;
/// The folder beside the database that holds backups.
pub const BACKUPS_DIR: &str = "backups";
const PREFIX: &str = "hindsight-";

/// One backup file in `backups/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupInfo {
    pub path: PathBuf,
    /// Why it was taken: `manual`, `daily`, `before-migration-v2`, `before-restore`.
    pub reason: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: Millis,
    pub bytes: u64,
}

/// What `check` found: nothing means healthy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub problems: Vec<String>,
}

/// The backups folder of the database at `db`.
pub fn backups_dir(db: &Path) -> Option<PathBuf> {
    db.parent().map(|p| p.join(BACKUPS_DIR))
}

/// The backups in `dir`, newest first.
pub fn list_backups(dir: &Path) -> Vec<BackupInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<BackupInfo> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_prefix(PREFIX)?.strip_suffix(".db")?;
            // hindsight-<millis>-<reason>.db
            let (millis, reason) = stem.split_once('-')?;
            let meta = e.metadata().ok()?;
            Some(BackupInfo {
                path: e.path(),
                reason: reason.to_owned(),
                created_at: millis.parse().ok()?,
                bytes: meta.len(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.path.cmp(&a.path)));
    out
}

/// Copies the database behind `from` to `dest` (through a private temporary file, checked,
/// then renamed into place).
fn copy_database(from: &Connection, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::private_dir(parent)?;
    }
    let tmp = dest.with_extension("part");
    let _ = std::fs::remove_file(&tmp);
    crate::files::private_file(&tmp)?;
    let copied = (|| -> Result<()> {
        let mut to = Connection::open(&tmp)?;
        Backup::new(from, &mut to)?.run_to_completion(512, Duration::ZERO, None)?;
        // A standalone file: no WAL beside it.
        to.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        drop(to);
        let problems = check_file(&tmp)?;
        if !problems.is_empty() {
            return Err(Error::Invalid(format!(
                "the backup copy failed its check: {}",
                problems.join("; ")
            )));
        }
        Ok(())
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, dest).map_err(|e| Error::io(dest, e))
}

/// `integrity_check` of a database file, opened read-only.
fn check_file(path: &Path) -> Result<Vec<String>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    integrity(&conn, "integrity_check")
}

/// The problems `PRAGMA integrity_check` or `quick_check` reports (none: healthy). A file too
/// damaged for the check to run is one problem, not an error.
fn integrity(conn: &Connection, pragma: &str) -> Result<Vec<String>> {
    let rows = conn
        .prepare(&format!("PRAGMA {pragma}"))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        });
    match rows {
        Ok(rows) => Ok(rows.into_iter().filter(|r| r != "ok").collect()),
        Err(e) => match Error::from(e) {
            Error::Damaged(_) | Error::Db(_) => {
                Ok(vec!["the check could not read the file".into()])
            }
            other => Err(other),
        },
    }
}

/// Takes an automatic backup of `conn` (the database at `db`) and prunes the old ones.
pub(super) fn automatic(conn: &Connection, db: &Path, reason: &str) -> Result<PathBuf> {
    let dir = backups_dir(db).ok_or_else(|| Error::Invalid("no folder for backups".into()))?;
    let dest = dir.join(format!("{PREFIX}{}-{reason}.db", crate::time::now_ms()));
    copy_database(conn, &dest)?;
    for old in list_backups(&dir)
        .into_iter()
        .filter(|b| b.reason != "manual")
        .skip(KEEP_AUTOMATIC)
    {
        let _ = std::fs::remove_file(&old.path);
    }
    Ok(dest)
}

impl Store {
    /// A consistent copy of the whole database at `dest` (or, without one, a `manual` backup in
    /// the backups folder). Returns where it was written.
    pub fn backup(&self, dest: Option<&Path>) -> Result<PathBuf> {
        match dest {
            Some(dest) => {
                copy_database(&self.conn, dest)?;
                Ok(dest.to_path_buf())
            }
            None => {
                let dir = self
                    .backups_dir()
                    .ok_or_else(|| Error::Invalid("an in-memory history has no backups".into()))?;
                let dest = dir.join(format!("{PREFIX}{}-manual.db", crate::time::now_ms()));
                copy_database(&self.conn, &dest)?;
                Ok(dest)
            }
        }
    }

    /// An automatic backup (pruned to the newest [`KEEP_AUTOMATIC`]).
    pub fn automatic_backup(&self, reason: &str) -> Result<PathBuf> {
        let db = self
            .path
            .as_deref()
            .ok_or_else(|| Error::Invalid("an in-memory history has no backups".into()))?;
        automatic(&self.conn, db, reason)
    }

    pub fn backups_dir(&self) -> Option<PathBuf> {
        self.path.as_deref().and_then(backups_dir)
    }

    /// Takes a `daily` backup if the newest automatic one is older than a day. Returns it, if
    /// one was taken.
    pub fn daily_backup(&self) -> Result<Option<PathBuf>> {
        let Some(dir) = self.backups_dir() else {
            return Ok(None);
        };
        let day = 24 * 3600 * 1000;
        let recent = list_backups(&dir)
            .first()
            .is_some_and(|b| crate::time::now_ms() - b.created_at < day);
        if recent {
            return Ok(None);
        }
        self.automatic_backup("daily").map(Some)
    }

    /// The full check: page structure (`integrity_check`), foreign keys, and the full-text
    /// index against the messages.
    pub fn check(&self) -> Result<CheckReport> {
        let mut problems = integrity(&self.conn, "integrity_check")?;
        match self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get::<_, i64>(0)
            }) {
            Ok(0) => {}
            Ok(n) => problems.push(format!("{n} rows point at rows that do not exist")),
            Err(e) => problems.push(format!("the links between rows could not be checked ({e})")),
        }
        // FTS5 checks itself through a special INSERT: not possible on a read-only history.
        let fts = if self.is_read_only() {
            Ok(0)
        } else {
            self.conn.execute(
                "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
        };
        if let Err(e) = fts {
            problems.push(format!(
                "the search index does not match the messages ({e})"
            ));
        }
        Ok(CheckReport {
            ok: problems.is_empty(),
            problems,
        })
    }

    /// A byte-for-byte copy of the database file (after a checkpoint, if one can be made), for
    /// a history too damaged for a checked backup.
    fn raw_copy(&self, reason: &str) -> Result<PathBuf> {
        let (db, dir) = match (self.path.as_deref(), self.backups_dir()) {
            (Some(db), Some(dir)) => (db, dir),
            _ => return Err(Error::Invalid("an in-memory history has no backups".into())),
        };
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        crate::files::private_dir(&dir)?;
        let dest = dir.join(format!("{PREFIX}{}-{reason}.db", crate::time::now_ms()));
        std::fs::copy(db, &dest).map_err(|e| Error::io(&dest, e))?;
        crate::files::private_file(&dest)?;
        Ok(dest)
    }

    /// Stops every write through this connection (a damaged history: nothing may make it
    /// worse); writes then fail with [`Error::ReadOnly`]. Reading and export keep working.
    pub fn stop_writing(&self) -> Result<()> {
        Ok(self.conn.execute_batch("PRAGMA query_only = 1")?)
    }

    pub fn resume_writing(&self) -> Result<()> {
        Ok(self.conn.execute_batch("PRAGMA query_only = 0")?)
    }

    /// Restores the newest backup in the backups folder that passes its check (a damaged
    /// history's way back). Returns the backup restored and where the replaced history went.
    pub fn restore_newest(&mut self) -> Result<(PathBuf, PathBuf)> {
        let dir = self
            .backups_dir()
            .ok_or_else(|| Error::Invalid("an in-memory history has no backups".into()))?;
        let mut last_error = None;
        for b in list_backups(&dir)
            .into_iter()
            .filter(|b| !b.reason.ends_with("damaged"))
        {
            match self.restore(&b.path) {
                Ok(safety) => return Ok((b.path, safety)),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            Error::Invalid(format!(
                "there is no backup in {} to restore",
                dir.display()
            ))
        }))
    }

    /// The fast check run at start-up (`quick_check`: structure without index contents).
    pub fn quick_check(&self) -> Result<CheckReport> {
        let problems = integrity(&self.conn, "quick_check")?;
        Ok(CheckReport {
            ok: problems.is_empty(),
            problems,
        })
    }

    /// Replaces the whole history with the backup at `src`. The backup is checked first (a
    /// damaged one, or one from a newer Hindsight, is refused and nothing changes); what it
    /// replaces is kept as a `before-restore` backup, whose path is returned.
    pub fn restore(&mut self, src: &Path) -> Result<PathBuf> {
        let mut header = [0u8; 16];
        let read = std::fs::File::open(src)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
            .map_err(|e| Error::io(src, e));
        if read.is_err() || &header != b"SQLite format 3\0" {
            read?;
            return Err(Error::Invalid(format!(
                "{} is not a Hindsight backup (`hindsight backup` makes one); a JSON export comes back with `hindsight import`",
                src.display()
            )));
        }
        let problems = check_file(src).map_err(|e| match e {
            Error::Db(_) | Error::Damaged(_) => Error::Invalid(format!(
                "{} is not a Hindsight backup (SQLite cannot read it)",
                src.display()
            )),
            other => other,
        })?;
        if !problems.is_empty() {
            return Err(Error::Invalid(format!(
                "{} is damaged and cannot be restored: {}",
                src.display(),
                problems.join("; ")
            )));
        }
        let version: i64 = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < 1 || version > SCHEMA_VERSION as i64 {
            return Err(Error::Invalid(format!(
                "{} is not a backup this version of Hindsight can read (schema {version}, this one knows 1 to {SCHEMA_VERSION})",
                src.display()
            )));
        }
        // What is replaced is kept: a checked backup, or, if the history is too damaged to
        // pass the check, a plain copy of the file.
        let safety = match self.automatic_backup("before-restore") {
            Ok(path) => path,
            Err(_) => self.raw_copy("before-restore-damaged")?,
        };
        self.resume_writing()?;
        self.conn.restore(
            rusqlite::MAIN_DB,
            src,
            None::<fn(rusqlite::backup::Progress)>,
        )?;
        migrations().to_latest(&mut self.conn)?;
        self.repair_abandoned()?;
        Ok(safety)
    }
}
