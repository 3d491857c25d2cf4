//! A fake OpenAI-compatible HTTP server for fault tests: canned replies, written in pieces,
//! optionally hanging; it records the requests it was sent.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One canned HTTP response, written in pieces (with a pause between them).
#[derive(Clone)]
pub struct Reply {
    pub head: String,
    pub pieces: Vec<Vec<u8>>,
    /// Keep the connection open, silent, after the pieces (a hung server).
    pub hang: bool,
    /// After the pieces, send this piece again and again, with this pause, until the client
    /// goes away (a keep-alive forever, a slow drip of tokens).
    pub drip: Option<(Vec<u8>, Duration)>,
}

impl Reply {
    /// This reply, then `piece` every `every` for as long as the client listens.
    pub fn dripping(mut self, piece: &[u8], every: Duration) -> Reply {
        self.drip = Some((piece.to_vec(), every));
        self
    }
}

pub fn sse(body_pieces: &[&[u8]]) -> Reply {
    Reply {
        head: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n".into(),
        pieces: body_pieces.iter().map(|p| p.to_vec()).collect(),
        hang: false,
        drip: None,
    }
}

/// Serves `reply` to every request for chat completions and a one-model list for /models.
pub async fn fake_server(reply: Reply) -> String {
    FakeLlm::start(vec![reply]).await.url
}

/// A fake OpenAI-compatible server that answers chat completions with `replies` in order (the
/// last one again once they run out) and records every request body it was sent.
pub struct FakeLlm {
    pub url: String,
    pub requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl FakeLlm {
    pub async fn start(replies: Vec<Reply>) -> FakeLlm {
        let requests: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let recorded = requests.clone();
        let replies = Arc::new(replies);
        let served = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let replies = replies.clone();
                let served = served.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let mut req = Vec::new();
                    // Read the head and (small) body.
                    loop {
                        let n = sock.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        req.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&req);
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if req.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    // The model list closes its connection (it says so): a client that pooled
                    // it would otherwise send the chat request into a socket closed under it.
                    if String::from_utf8_lossy(&req).starts_with("GET /v1/models") {
                        let body =
                            r#"{"object":"list","data":[{"id":"fake-model","object":"model"}]}"#;
                        let _ = sock
                        .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes())
                        .await;
                        return;
                    }
                    if let Some(at) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        if let Ok(body) = serde_json::from_slice(&req[at + 4..]) {
                            recorded.lock().unwrap().push(body);
                        }
                    }
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    let reply = replies[n.min(replies.len() - 1)].clone();
                    let _ = sock.write_all(reply.head.as_bytes()).await;
                    let chunked = reply.head.contains("chunked");
                    let frame = |p: &[u8]| {
                        if !chunked {
                            return p.to_vec();
                        }
                        let mut framed = format!("{:x}\r\n", p.len()).into_bytes();
                        framed.extend_from_slice(p);
                        framed.extend_from_slice(b"\r\n");
                        framed
                    };
                    for p in &reply.pieces {
                        let _ = sock.write_all(&frame(p)).await;
                        let _ = sock.flush().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    if let Some((piece, every)) = &reply.drip {
                        while sock.write_all(&frame(piece)).await.is_ok()
                            && sock.flush().await.is_ok()
                        {
                            tokio::time::sleep(*every).await;
                        }
                        return;
                    }
                    if reply.hang {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    if chunked && !reply.hang {
                        let _ = sock.write_all(b"0\r\n\r\n").await;
                    }
                });
            }
        });
        FakeLlm {
            url: format!("http://{addr}/v1"),
            requests,
        }
    }
}

/// An SSE answer that streams `text` as one delta and finishes.
pub fn sse_text(text: &str) -> Reply {
    let chunk =
        serde_json::json!({"choices": [{"delta": {"content": text}, "finish_reason": null}]});
    let end = serde_json::json!({"choices": [{"delta": {}, "finish_reason": "stop"}]});
    let pieces = [
        format!("data: {chunk}\n\n"),
        format!("data: {end}\n\ndata: [DONE]\n\n"),
    ];
    Reply {
        head: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n".into(),
        pieces: pieces.iter().map(|p| p.as_bytes().to_vec()).collect(),
        hang: false,
        drip: None,
    }
}
