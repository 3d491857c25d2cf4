//! The SQLite store: one file, WAL, foreign keys, a busy timeout, versioned migrations.
//! All SQL lives under this module and uses bound parameters only.
mod analysis;
mod asked;
mod backup;
mod conversations;
mod cursor;
mod embeddings;
mod fts;
mod insights;
mod lease;
mod messages;
mod migrations;
mod model;
mod search;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

pub use asked::{AskedQuestion, MAX_ASKED};
pub use backup::{backups_dir, list_backups, BackupInfo, CheckReport, BACKUPS_DIR, KEEP_AUTOMATIC};
pub use embeddings::{blob_to_vector, vector_to_blob};
pub use fts::{fts_query, fts_query_any};
pub use insights::{
    InsightCounts, Insights, ModelAnalyses, SentimentPoint, TopicSeries, TOP_TOPICS,
};
pub use messages::{check_content, check_emoji};
pub use migrations::{migrations, SCHEMA_VERSION};
pub use model::*;
pub use search::{Turn, TurnContext, TURN_CHARS};
pub use sync::{Applied, Outgoing, OutgoingValue, SyncEntry, SyncPeer, SyncState};

/// Largest message body the store accepts, in bytes (512 KiB: long pasted documents fit,
/// accidental multi-megabyte pastes are refused with a clear error).
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// Largest conversation title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest page a list call returns.
pub const MAX_PAGE: usize = 500;

/// How long a write waits for another connection's write lock before failing "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    lease: lease::Lease,
    read_only: bool,
}

/// What [`Store::open`] repaired: work left unfinished by a process that is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repaired {
    /// Answers left `streaming`, now `incomplete` with their partial text.
    pub streams: usize,
    /// Analyses left `running`, queued again.
    pub analyses: usize,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema to the latest version.
    ///
    /// A history in a folder that cannot be written (a read-only drive, a backup copy without
    /// permissions) is opened read-only instead: reading, search, check and export work, and
    /// every write fails with [`Error::ReadOnly`] ([`Store::is_read_only`] tells).
    pub fn open(path: &Path) -> Result<Store> {
        match Self::open_writable(path) {
            Err(e) if path.is_file() && unwritable(&e) => Self::open_read_only(path),
            other => other,
        }
    }

    /// How long a write waits for another connection's write lock before failing "busy"
    /// (default 5 s; a background worker or the CLI can afford to wait longer).
    pub fn wait_for_writers(&self, wait: Duration) -> Result<()> {
        Ok(self.conn.busy_timeout(wait)?)
    }

    /// Whether this store was opened read-only (its folder cannot be written).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Opens an existing database without writing anything, not even a lock file: SQLite's
    /// `immutable` mode, as the folder cannot hold the WAL's shared-memory file.
    fn open_read_only(path: &Path) -> Result<Store> {
        let uri = format!("file:{}?immutable=1", uri_path(path));
        let conn = Connection::open_with_flags(
            uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < 1 || version > SCHEMA_VERSION as i64 {
            return Err(Error::Invalid(format!(
                "{} cannot be written, and its schema ({version}) cannot be read as it is",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        Ok(Store {
            conn,
            path: Some(path.to_path_buf()),
            lease: lease::Lease::take(None),
            read_only: true,
        })
    }

    fn open_writable(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::private_dir(parent)?;
        }
        // Private before SQLite writes a byte; its -wal and -shm files take the same mode.
        crate::files::private_file(path)?;
        // Opening a new file while another process opens it too can find the database busy at
        // once (WAL set-up, the first migration): such an open is simply tried again.
        let t0 = std::time::Instant::now();
        let store = loop {
            let conn = Connection::open(path)?;
            match Self::init(conn, Some(path.to_path_buf())) {
                Err(Error::Busy) if t0.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        // A repair that must wait for another process's write lock, or that meets a damaged
        // page, is left for the next open: opening to read (or to export, check and restore)
        // must not fail for it.
        // It does not wait for the lock either: a held lock must not delay the start.
        store.conn.busy_timeout(Duration::ZERO)?;
        let repaired = store.repair_abandoned();
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        match repaired {
            Ok(_) | Err(Error::Busy) | Err(Error::Damaged(_)) => Ok(store),
            Err(e) => Err(e),
        }
    }

    /// An in-memory store (unit tests).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode returns a row, so it is read back rather than executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if path.is_some() && !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Invalid(format!(
                "could not enable WAL (journal_mode={mode})"
            )));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION as i64 {
            return Err(Error::Invalid(format!(
                "this history was written by a newer version of Hindsight (schema {version}; this one knows up to {SCHEMA_VERSION}); update Hindsight to open it"
            )));
        }
        if let Some(db) = path
            .as_deref()
            .filter(|_| version >= 1 && version < SCHEMA_VERSION as i64)
        {
            // Every migration starts from a copy it can go back to.
            backup::automatic(&conn, db, &format!("before-migration-v{version}"))?;
        }
        if let Err(e) = migrations().to_latest(&mut conn) {
            // Two processes opening a new file at once both try to migrate it; the one that
            // lost finds the schema already in place (or tries again while it is busy).
            let now: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now != SCHEMA_VERSION as i64 {
                return Err(migration_error(e));
            }
        }
        let lease = lease::Lease::take(path.as_deref().and_then(writers_dir).as_deref());
        Ok(Store {
            conn,
            path,
            lease,
            read_only: false,
        })
    }

    /// The lease id this store writes on rows it is still working on.
    pub(crate) fn writer(&self) -> &str {
        self.lease.id()
    }

    /// Repairs what a dead process left unfinished (every open does this): its `streaming`
    /// answers become `incomplete` (text kept), its `running` analyses are queued again. Work
    /// of a live process (another window, a CLI chat) is left alone.
    pub fn repair_abandoned(&self) -> Result<Repaired> {
        let dir = self.path.as_deref().and_then(writers_dir);
        let writers: Vec<Option<String>> = self
            .conn
            .prepare(
                "SELECT DISTINCT writer FROM messages WHERE state = 'streaming'
                 UNION SELECT DISTINCT writer FROM analysis_jobs WHERE status = 'running'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut repaired = Repaired::default();
        for writer in writers {
            let alive = writer
                .as_deref()
                .is_some_and(|w| lease::Lease::is_held(dir.as_deref(), self.writer(), w));
            if alive {
                continue;
            }
            repaired.streams += self.conn.execute(
                "UPDATE messages SET state = 'incomplete', writer = NULL,
                     error = coalesce(error, 'interrupted: the app stopped while this answer was streaming')
                 WHERE state = 'streaming' AND writer IS ?1",
                [&writer],
            )?;
            repaired.analyses += self.conn.execute(
                "UPDATE analysis_jobs SET status = 'pending', error = NULL, writer = NULL
                 WHERE status = 'running' AND writer IS ?1",
                [&writer],
            )?;
        }
        Ok(repaired)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version (SQLite `user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Runs `f` in one transaction: everything it wrote is committed, or nothing is.
    pub fn transaction<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        // IMMEDIATE: the write lock is taken at BEGIN, where a busy wait applies. A deferred
        // transaction that reads first cannot upgrade while another process writes: SQLite
        // fails it "busy" at once, without waiting (tests/it/cli.rs, a CLI import under a held lock).
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let out = f(self)?;
        tx.commit()?;
        Ok(out)
    }

    /// Direct access for read-only diagnostics in tests and benchmarks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Whether an open failed because the file or its folder cannot be written.
fn unwritable(e: &Error) -> bool {
    match e {
        Error::ReadOnly => true,
        Error::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ),
        Error::Db(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen),
        _ => false,
    }
}

/// `path` for an SQLite `file:` URI (reserved characters percent-encoded).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A migration that failed because another process held the database is [`Error::Busy`].
fn migration_error(e: rusqlite_migration::Error) -> Error {
    if let rusqlite_migration::Error::RusqliteError { err, .. } = &e {
        if matches!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) {
            return Error::Busy;
        }
    }
    Error::Migration(e)
}

/// Where the leases of the stores open on the database at `db` live.
fn writers_dir(db: &Path) -> Option<PathBuf> {
    db.parent().map(|p| p.join("writers"))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Ids are UUIDs; callers may pass any case, the store keeps lower-case hyphenated form.
pub fn normalize_id(what: &'static str, id: &str) -> Result<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::Invalid(format!("{what} id is not a UUID: {id:?}")))
}

fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}
