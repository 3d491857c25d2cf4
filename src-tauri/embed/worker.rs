//! The background embedding worker: its own OS thread (never an async runtime worker), its own
//! SQLite connection, woken when messages are stored. Chat never waits for it.
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{embed_backlog, Embedder, Progress, DEFAULT_BATCH};
use crate::store::Store;

enum Command {
    Wake,
    Shutdown,
}

pub struct EmbedWorker {
    tx: mpsc::Sender<Command>,
    handle: Option<JoinHandle<()>>,
}

/// After a pass with failures (or a database error), try again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(30);

impl EmbedWorker {
    /// Starts the worker on the database at `db_path`. It embeds the backlog at once (crash
    /// recovery, imports, a model change), then again whenever [`EmbedWorker::wake`] is called.
    /// `on_progress` runs on the worker thread.
    pub fn start(
        db_path: PathBuf,
        embedder: Arc<Embedder>,
        on_progress: impl Fn(Progress) + Send + 'static,
    ) -> crate::Result<EmbedWorker> {
        let store = Store::open(&db_path)?;
        // A background thread: it waits for another writer rather than failing a batch.
        store.wait_for_writers(std::time::Duration::from_secs(60))?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("hindsight-embed".into())
            .spawn(move || {
                loop {
                    let retry = match embed_backlog(&store, &embedder, DEFAULT_BATCH, &on_progress)
                    {
                        Ok(p) => p.failed > 0,
                        Err(e) => {
                            tracing::warn!("embedding pass failed (will retry): {e}");
                            true
                        }
                    };
                    let next = if retry {
                        rx.recv_timeout(RETRY_AFTER)
                    } else {
                        rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                    };
                    match next {
                        Ok(Command::Wake) | Err(RecvTimeoutError::Timeout) => {}
                        Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                    // Coalesce a burst of wake-ups into one pass; a shutdown still wins.
                    if rx.try_iter().any(|c| matches!(c, Command::Shutdown)) {
                        break;
                    }
                }
            })
            .map_err(|e| {
                crate::Error::Embed(format!("could not start the embedding thread: {e}"))
            })?;
        Ok(EmbedWorker {
            tx,
            handle: Some(handle),
        })
    }

    /// New messages were stored: embed them soon. Never blocks.
    pub fn wake(&self) {
        let _ = self.tx.send(Command::Wake);
    }

    /// Finishes the current batch and stops the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for EmbedWorker {
    fn drop(&mut self) {
        self.stop();
    }
}
