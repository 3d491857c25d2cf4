//! Downloading one file over HTTP(S) into a partial file: a partial file left by a pause or a
//! cut connection is continued with a `Range` request, and the whole file must have the pinned
//! size and sha256 before it is used.
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{header, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// Why one URL did not give the file.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server could not be reached, answered with an error, or the connection broke: the
    /// next mirror may do better, and what arrived is kept for a resume.
    #[error("{url}: {reason}")]
    Source { url: String, reason: String },
    /// The server sent other bytes than the pinned ones: they were deleted.
    #[error("{url} sent a file that is not the pinned one ({reason}); it was deleted")]
    Corrupt { url: String, reason: String },
    #[error("cancelled")]
    Cancelled,
    /// Writing the file failed (a full disk, a folder that cannot be written).
    #[error(transparent)]
    Local(Error),
}

/// The HTTP client for model downloads: TLS for PyPI, the proxy from `HTTPS_PROXY` /
/// `HTTP_PROXY` (and `NO_PROXY`) for people who need one to reach it, a connect timeout, and a
/// read timeout so a stalled server is given up on (the download resumes later).
pub fn client() -> crate::error::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("Hindsight/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        if let Some(url) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            let proxy = reqwest::Proxy::all(url.trim())
                .map_err(|e| Error::Invalid(format!("{var} is not a proxy URL: {e}")))?
                .no_proxy(reqwest::NoProxy::from_env());
            builder = builder.proxy(proxy);
            break;
        }
    }
    builder
        .build()
        .map_err(|e| Error::Internal(format!("the download client: {e}")))
}

/// Brings `dest` to the file at `url` (`size` bytes, `sha256`), continuing what is already in
/// it. `on_bytes` hears how many bytes `dest` holds as they arrive.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    size: u64,
    sha256: &str,
    cancel: &CancellationToken,
    on_bytes: &mut (dyn FnMut(u64) + Send),
) -> Result<(), FetchError> {
    let source = |reason: String| FetchError::Source {
        url: url.to_owned(),
        reason,
    };
    let corrupt = |reason: String| FetchError::Corrupt {
        url: url.to_owned(),
        reason,
    };
    let local = |e: std::io::Error| FetchError::Local(Error::io(dest, e));
    let mut have = match tokio::fs::metadata(dest).await {
        Ok(m) => m.len(),
        Err(_) => 0,
    };
    if have > size {
        // Longer than the file can be: not a partial download of it.
        tokio::fs::remove_file(dest).await.map_err(local)?;
        have = 0;
    }
    on_bytes(have);
    if have < size {
        let mut request = client.get(url);
        if have > 0 {
            request = request.header(header::RANGE, format!("bytes={have}-"));
        }
        let response = tokio::select! {
            r = request.send() => r.map_err(|e| source(plain_reqwest(&e)))?,
            () = cancel.cancelled() => return Err(FetchError::Cancelled),
        };
        let append = match response.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let range = response
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !range.starts_with(&format!("bytes {have}-")) {
                    return Err(source(format!(
                        "the server resumed at the wrong place ({range:?})"
                    )));
                }
                true
            }
            // The whole file: a server without range support starts again from the top.
            StatusCode::OK => false,
            status => return Err(source(format!("the server answered {status}"))),
        };
        if !append {
            have = 0;
            on_bytes(0);
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(dest)
            .await
            .map_err(local)?;
        let mut body = response.bytes_stream();
        loop {
            let chunk = tokio::select! {
                c = body.next() => c,
                () = cancel.cancelled() => {
                    file.flush().await.map_err(local)?;
                    return Err(FetchError::Cancelled);
                }
            };
            let Some(chunk) = chunk else { break };
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    file.flush().await.map_err(local)?;
                    return Err(source(format!(
                        "the connection broke after {have} of {size} bytes ({})",
                        plain_reqwest(&e)
                    )));
                }
            };
            have += chunk.len() as u64;
            if have > size {
                drop(file);
                let _ = tokio::fs::remove_file(dest).await;
                return Err(corrupt(format!("more than the {size} bytes pinned")));
            }
            file.write_all(&chunk).await.map_err(local)?;
            on_bytes(have);
        }
        file.flush().await.map_err(local)?;
        file.sync_all().await.map_err(local)?;
        if have < size {
            return Err(source(format!(
                "the server stopped after {have} of {size} bytes"
            )));
        }
    }
    let path = dest.to_path_buf();
    let actual = tokio::task::spawn_blocking(move || crate::llm::catalog::sha256_of(&path))
        .await
        .map_err(|e| FetchError::Local(Error::Internal(format!("hashing a download: {e}"))))?
        .map_err(FetchError::Local)?;
    if actual != sha256 {
        let _ = tokio::fs::remove_file(dest).await;
        return Err(corrupt(format!("sha256 {actual}, pinned {sha256}")));
    }
    Ok(())
}

/// A reqwest error in words: its cause chain, not its debug form.
fn plain_reqwest(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
