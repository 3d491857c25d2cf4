//! A real local HTTP server for model downloads: serves files by name with `Range` support
//! (206 and `Content-Range`, as PyPI's CDN does), and can cut a response short once (a broken
//! connection) or refuse ranges; it records the requests it was sent.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// What the server holds for one name.
#[derive(Clone)]
enum Body {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
}

#[derive(Default)]
struct State {
    files: HashMap<String, Body>,
    /// Cut the next response for this name after this many body bytes.
    cut: HashMap<String, u64>,
    /// Answer 200 with the whole file even when a range is asked for.
    ignore_ranges: bool,
    /// (path, Range header) of every request.
    requests: Vec<(String, Option<String>)>,
    /// Body bytes sent, all requests together.
    sent: u64,
}

#[derive(Clone)]
pub struct FileServer {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FileServer {
    /// Starts a server on a free loopback port (on the current tokio runtime).
    pub async fn start() -> FileServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, state).await;
                });
            }
        });
        FileServer { url, state }
    }

    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.lock()
            .files
            .insert(name.to_owned(), Body::Bytes(Arc::new(bytes)));
    }

    /// Serves `path` under its file name.
    pub fn put_file(&self, path: &Path) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name")
            .to_owned();
        self.lock().files.insert(name, Body::File(path.to_owned()));
    }

    /// The next response for `name` breaks off after `bytes` body bytes.
    pub fn cut_next(&self, name: &str, bytes: u64) {
        self.lock().cut.insert(name.to_owned(), bytes);
    }

    pub fn ignore_ranges(&self, yes: bool) {
        self.lock().ignore_ranges = yes;
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.lock().requests.clone()
    }

    pub fn sent_bytes(&self) -> u64 {
        self.lock().sent
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn serve(mut socket: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    // One request per connection (the response says `Connection: close`).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    let range = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("range").then(|| v.trim().to_owned())
    });
    let name = path.rsplit('/').next().unwrap_or("").to_owned();
    let (body, cut, ignore) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push((path.clone(), range.clone()));
        let body = s.files.get(&name).cloned();
        let cut = s.cut.remove(&name);
        (body, cut, s.ignore_ranges)
    };
    let Some(body) = body else {
        socket
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let len = match &body {
        Body::Bytes(b) => b.len() as u64,
        Body::File(p) => tokio::fs::metadata(p).await?.len(),
    };
    let start = match range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
        Some(r) if !ignore => r
            .split('-')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0),
        _ => 0,
    };
    if start >= len && len > 0 {
        let reply = format!(
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        socket.write_all(reply.as_bytes()).await?;
        return Ok(());
    }
    let head = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
            len - 1,
            len - start
        )
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
        )
    };
    socket.write_all(head.as_bytes()).await?;
    let end = cut.map_or(len, |c| (start + c).min(len));
    let mut at = start;
    let mut buf = vec![0u8; 64 << 10];
    let mut file = match &body {
        Body::File(p) => {
            let mut f = tokio::fs::File::open(p).await?;
            f.seek(std::io::SeekFrom::Start(start)).await?;
            Some(f)
        }
        Body::Bytes(_) => None,
    };
    while at < end {
        let n = ((end - at) as usize).min(buf.len());
        match (&body, file.as_mut()) {
            (Body::Bytes(b), _) => buf[..n].copy_from_slice(&b[at as usize..at as usize + n]),
            (Body::File(_), Some(f)) => f.read_exact(&mut buf[..n]).await.map(|_| ())?,
            (Body::File(_), None) => return Ok(()),
        }
        socket.write_all(&buf[..n]).await?;
        at += n as u64;
        state.lock().unwrap_or_else(|e| e.into_inner()).sent += n as u64;
    }
    socket.flush().await?;
    // A cut response: the connection closes with the body incomplete.
    Ok(())
}
