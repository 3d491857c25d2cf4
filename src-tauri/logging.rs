//! The log: what Hindsight did and what failed in the background, in a file in the data
//! folder (`logs/hindsight.log`, rolled at 1 MiB, three old files kept), to attach to a bug
//! report ("Copy diagnostics" in Settings, `hindsight diagnostics`). At the default level
//! (`info`) a line carries ids, counts, durations, model names and errors, never the text of a
//! message, question or answer. `HINDSIGHT_LOG` sets the level (`debug`, `warn`, or a filter
//! such as `hindsight=debug`). A panic is logged, with where it happened, before the default
//! report.
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use tracing_subscriber::EnvFilter;

use crate::error::{Error, Result};

/// The log file's name in the logs folder; rolled files get `.1`, `.2`, `.3`.
pub const LOG_FILE: &str = "hindsight.log";
/// A log file is rolled when it reaches this size.
const MAX_BYTES: u64 = 1024 * 1024;
/// Rolled files kept (so the logs take at most about 4 MiB).
const KEEP: usize = 3;

/// Writes each event through to the file at once (a crash loses no line).
struct Flushing(BasicRollingFileAppender);

impl Write for Flushing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        self.0.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The subscriber that writes to `logs_dir/hindsight.log` (created if missing), filtered by
/// `HINDSIGHT_LOG` (default `info`). Made separately from [`init`] so that a test can install
/// it for one thread.
pub fn subscriber(logs_dir: &Path) -> Result<impl tracing::Subscriber + Send + Sync> {
    std::fs::create_dir_all(logs_dir).map_err(|e| Error::io(logs_dir, e))?;
    let path = logs_dir.join(LOG_FILE);
    let file = BasicRollingFileAppender::new(
        &path,
        RollingConditionBasic::new().max_size(MAX_BYTES),
        KEEP,
    )
    .map_err(|e| Error::io(&path, e))?;
    let filter =
        EnvFilter::try_from_env("HINDSIGHT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    Ok(tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(true)
        .with_thread_names(true)
        .with_writer(Mutex::new(Flushing(file)))
        .finish())
}

/// Starts logging to `logs_dir` for the whole process and logs panics. Called once by each
/// shell at start; a second call (tests) leaves the first subscriber in place.
pub fn init(logs_dir: &Path) -> Result<()> {
    let subscriber = subscriber(logs_dir)?;
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        install_panic_hook();
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            pid = std::process::id(),
            "hindsight started"
        );
    }
    Ok(())
}

/// A panic goes to the log (message and place) before the default hook prints it.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        tracing::error!(%place, %thread, "panic: {message}");
        previous(info);
    }));
}

/// The logs folder of a data folder.
pub fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The last `n` lines of the log (the current file, then the one before if it is short), for
/// a bug report; empty when there is no log yet.
pub fn last_lines(logs_dir: &Path, n: usize) -> Vec<String> {
    let read = |name: String| std::fs::read_to_string(logs_dir.join(name)).unwrap_or_default();
    let current = read(LOG_FILE.to_owned());
    let mut lines: Vec<String> = current.lines().map(str::to_owned).collect();
    if lines.len() < n {
        let older = read(format!("{LOG_FILE}.1"));
        let mut before: Vec<String> = older.lines().map(str::to_owned).collect();
        before.append(&mut lines);
        lines = before;
    }
    let skip = lines.len().saturating_sub(n);
    lines.split_off(skip)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn events_reach_the_file_at_once_and_the_file_is_rolled_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let sub = subscriber(dir.path()).unwrap();
        tracing::subscriber::with_default(sub, || {
            tracing::info!(conversation = "c-1", "analysis done");
            // Written through: readable before the subscriber is dropped.
            let lines = last_lines(dir.path(), 10);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains("INFO"), "{}", lines[0]);
            assert!(
                lines[0].contains("analysis done conversation=\"c-1\""),
                "{}",
                lines[0]
            );
            // 5 MiB of warnings: rolled at 1 MiB, three old files kept, nothing else.
            let filler = "x".repeat(1000);
            for i in 0..5200 {
                tracing::warn!(i, "{filler}");
            }
        });
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "hindsight.log",
                "hindsight.log.1",
                "hindsight.log.2",
                "hindsight.log.3"
            ]
        );
        for name in names {
            let len = std::fs::metadata(dir.path().join(&name)).unwrap().len();
            assert!(len <= MAX_BYTES + 2048, "{name}: {len} bytes");
        }
        let last = last_lines(dir.path(), 3);
        assert_eq!(last.len(), 3);
        assert!(last[2].contains("i=5199"), "{}", last[2]);
    }
}
