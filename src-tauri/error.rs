//! The core's error type. Every fallible core function returns [`Result`]; the shells (CLI,
//! Tauri commands) turn it into an exit code or a `{code, message}` object for the UI.
use std::path::PathBuf;

/// Every code [`Error::code`] gives, in the order of the docs: the UI's `ErrorCode` type
/// (ui/src/bindings.ts) and `--json` output rely on them, so a code is never renamed.
pub const ERROR_CODES: &[&str] = &[
    "not_found",
    "invalid_input",
    "internal",
    "bad_import",
    "busy",
    "model_missing",
    "embed",
    "analysis_failed",
    "database",
    "database_damaged",
    "read_only",
    "io",
    "json",
    "llm_unreachable",
    "llm_timeout",
    "llm_deadline",
    "llm_too_long",
    "llm_http",
    "llm_server",
    "llm_protocol",
    "llm_interrupted",
    "cancelled",
    "llm_builtin",
    "download_failed",
    "no_disk_space",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found: {id}")]
    NotFound { what: &'static str, id: String },

    #[error("invalid input: {0}")]
    Invalid(String),

    /// A fault of Hindsight's own (a background task that died, a window that would not
    /// start, a model file whose template does not parse), not a mistake of the person's.
    #[error("something went wrong inside Hindsight ({0}); the log has the details (Settings, Copy diagnostics)")]
    Internal(String),

    /// An import file that does not parse or does not validate. `path` is the JSON path of the
    /// offending value (e.g. `conversations[3].messages[0].sender`).
    #[error("{file}: at {path}: {reason}")]
    BadImport {
        file: String,
        path: String,
        reason: String,
    },

    /// A model file is not installed; `hint` says how to install it.
    #[error("{what} is not installed in {dir}: {hint}")]
    ModelMissing {
        what: String,
        dir: PathBuf,
        hint: String,
    },

    #[error("embedding failed: {0}")]
    Embed(String),

    #[error(transparent)]
    Llm(#[from] LlmError),

    /// The LLM answered, but not with a usable analysis (after repair and one retry).
    #[error("analysis failed: {0}")]
    Analysis(String),

    #[error("the database is busy (locked by another process); try again")]
    Busy,

    #[error("database error: {0}")]
    Db(rusqlite::Error),

    /// Writing is stopped: the database is damaged, or open read-only.
    #[error("the history is read-only now (it is damaged, or its folder cannot be written); nothing was changed. Export it, or restore a backup in Settings")]
    ReadOnly,

    /// The database file is damaged (a failed integrity check); writing is stopped.
    #[error("the history database is damaged: {0}")]
    Damaged(String),

    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),

    #[error("{}: {}", path.display(), plain_io(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),

    /// A model download that did not give the pinned bytes (every source failed, or sent
    /// other bytes). What arrived intact is kept for the next try.
    #[error("the model download failed: {0}")]
    Download(String),

    /// Not enough free space for a model download (checked before it starts).
    #[error("not enough free disk space in {}: the download needs {} MB, {} MB are free", dir.display(), needed / 1_000_000, available / 1_000_000)]
    NoDiskSpace {
        dir: PathBuf,
        needed: u64,
        available: u64,
    },
}

impl Error {
    /// A stable machine-readable code for the UI and for `--json` error output: one of
    /// [`ERROR_CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Invalid(_) => "invalid_input",
            Error::Internal(_) => "internal",
            Error::BadImport { .. } => "bad_import",
            Error::Busy => "busy",
            Error::ModelMissing { .. } => "model_missing",
            Error::Embed(_) => "embed",
            Error::Llm(e) => e.code(),
            Error::Analysis(_) => "analysis_failed",
            Error::Db(_) | Error::Migration(_) => "database",
            Error::Damaged(_) => "database_damaged",
            Error::ReadOnly => "read_only",
            Error::Io { .. } => "io",
            Error::Json(_) => "json",
            Error::Download(_) => "download_failed",
            Error::NoDiskSpace { .. } => "no_disk_space",
        }
    }

    /// What a person is told: plain words. Faults whose own text is jargon (SQLite, a
    /// migration, JSON) get a sentence here and keep their text in [`Error::detail`].
    pub fn plain(&self) -> String {
        match self {
            Error::Db(_) => "Hindsight could not read or write its database; try again, and if it keeps happening run `hindsight check`".into(),
            Error::Migration(_) => "the history could not be brought up to date for this version of Hindsight; nothing was lost (a backup was taken first: `hindsight backup --list`)".into(),
            Error::Json(_) => "some data was not in the expected form".into(),
            other => other.to_string(),
        }
    }

    /// The technical text behind [`Error::plain`], for a bug report (`--verbose`, the window's
    /// "details").
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Db(_) | Error::Migration(_) | Error::Json(_) => Some(self.to_string()),
            _ => None,
        }
    }

    /// A failure that may pass if the same write is tried again a little later: the database
    /// locked by another process, or a full disk.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Busy => true,
            Error::Db(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            _ => false,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                Error::Busy
            }
            Some(rusqlite::ErrorCode::ReadOnly) => Error::ReadOnly,
            Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
                Error::Damaged(format!(
                    "{e}; export what can be read and restore the newest backup (hindsight backup --list)"
                ))
            }
            _ => Error::Db(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A file error in plain words (the OS's own text only when there is nothing plainer).
fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "there is no such file or folder".into(),
        K::PermissionDenied => "Hindsight is not allowed to read or write it".into(),
        K::AlreadyExists => "something with that name is already there".into(),
        K::StorageFull => "the disk is full".into(),
        K::ReadOnlyFilesystem => "it is on a drive that cannot be written".into(),
        K::IsADirectory => "it is a folder, not a file".into(),
        K::NotADirectory => "part of the path is a file, not a folder".into(),
        K::InvalidData => "it is not valid text (UTF-8)".into(),
        _ => e.to_string(),
    }
}

/// What went wrong talking to the LLM server.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM server at {url} is not reachable ({reason}); is it running? Check the URL in Settings")]
    Unreachable { url: String, reason: String },

    #[error("the LLM server at {url} sent no text for {secs} s")]
    Timeout { url: String, secs: u64 },

    /// The overall deadline for one kind of request (Settings) passed.
    #[error("the {what} took longer than {secs} s, the limit set in Settings")]
    Deadline { what: &'static str, secs: u64 },

    /// The answer grew past the largest message the store keeps.
    #[error("the answer is too long (over {limit_kib} KiB); it was cut there")]
    TooLong { limit_kib: usize },

    #[error("the LLM server answered HTTP {status}: {message}")]
    Http { status: u16, message: String },

    #[error("the LLM server reported an error: {0}")]
    Server(String),

    #[error("unexpected answer from the LLM server: {0}")]
    Protocol(String),

    #[error("the LLM server closed the stream before the answer was finished")]
    Interrupted,

    #[error("stopped")]
    Cancelled,

    /// The built-in model failed (it does not load, or a forward pass failed).
    #[error("the built-in model failed: {0}")]
    Builtin(String),
}

impl LlmError {
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Unreachable { .. } => "llm_unreachable",
            LlmError::Timeout { .. } => "llm_timeout",
            LlmError::Deadline { .. } => "llm_deadline",
            LlmError::TooLong { .. } => "llm_too_long",
            LlmError::Http { .. } => "llm_http",
            LlmError::Server(_) => "llm_server",
            LlmError::Protocol(_) => "llm_protocol",
            LlmError::Interrupted => "llm_interrupted",
            LlmError::Cancelled => "cancelled",
            LlmError::Builtin(_) => "llm_builtin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every kind (a migration's shares "database"): each one's code is listed.
    #[test]
    fn every_code_is_listed_once() {
        let s = || String::new();
        let llm = [
            LlmError::Unreachable {
                url: s(),
                reason: s(),
            },
            LlmError::Timeout { url: s(), secs: 1 },
            LlmError::Deadline {
                what: "chat",
                secs: 1,
            },
            LlmError::TooLong { limit_kib: 1 },
            LlmError::Http {
                status: 500,
                message: s(),
            },
            LlmError::Server(s()),
            LlmError::Protocol(s()),
            LlmError::Interrupted,
            LlmError::Cancelled,
            LlmError::Builtin(s()),
        ];
        let mut errors = vec![
            Error::NotFound { what: "x", id: s() },
            Error::Invalid(s()),
            Error::Internal(s()),
            Error::BadImport {
                file: s(),
                path: s(),
                reason: s(),
            },
            Error::Busy,
            Error::ModelMissing {
                what: s(),
                dir: PathBuf::new(),
                hint: s(),
            },
            Error::Embed(s()),
            Error::Analysis(s()),
            Error::Db(rusqlite::Error::InvalidQuery),
            Error::Damaged(s()),
            Error::ReadOnly,
            Error::Io {
                path: PathBuf::new(),
                source: std::io::Error::other("x"),
            },
            Error::Json(serde_json::from_str::<u8>("x").expect_err("not a number")),
        ];
        errors.extend(llm.into_iter().map(Error::Llm));
        errors.push(Error::Download(s()));
        errors.push(Error::NoDiskSpace {
            dir: PathBuf::new(),
            needed: 2,
            available: 1,
        });
        let codes: Vec<&str> = errors.iter().map(Error::code).collect();
        assert_eq!(codes, ERROR_CODES);
    }
}
