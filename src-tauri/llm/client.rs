//! A client for OpenAI-compatible chat servers (llama.cpp, LM Studio, Ollama): model list and
//! streamed chat completions over SSE (eventsource-stream). Dropping the future of
//! [`LlmClient::stream_chat`] drops the response, which closes the HTTP connection: that is
//! how a stop reaches the server.
//!
//! Nothing goes through a proxy unless the user set one in Settings, and a server on this
//! machine is never proxied: `http_proxy`, `ALL_PROXY` and the like are ignored, so a
//! conversation cannot leave the machine by way of them.
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::LlmSettings;
use crate::error::{Error, LlmError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// How a stream ended well.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Finish {
    /// The server's `finish_reason` (`stop`, `length`, …), if it sent one.
    pub reason: Option<String>,
    /// Each generated token with its log-probability, when the request asked for them
    /// (`"logprobs": true`) and the engine gave them (llama.cpp and the built-in model do; a
    /// server that does not leaves this empty).
    pub logprobs: Vec<TokenLogprob>,
}

/// One generated token's text and its log-probability under the model (the raw distribution,
/// before sampling settings or a schema constraint narrow it).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    pub text: String,
    pub logprob: f32,
}

#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    settings: LlmSettings,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    message: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    logprobs: Option<ChoiceLogprobs>,
}

/// OpenAI's `choices[].logprobs`: `content` is one entry per token.
#[derive(Deserialize)]
struct ChoiceLogprobs {
    #[serde(default)]
    content: Option<Vec<LogprobEntry>>,
}

#[derive(Deserialize)]
struct LogprobEntry {
    #[serde(default)]
    token: String,
    logprob: f32,
}

impl Choice {
    fn take_logprobs(&mut self, into: &mut Vec<TokenLogprob>) {
        if let Some(entries) = self.logprobs.take().and_then(|l| l.content) {
            into.extend(entries.into_iter().map(|e| TokenLogprob {
                text: e.token,
                logprob: e.logprob,
            }));
        }
    }
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// The text of an OpenAI-style error body (`{"error": {"message": …}}` or `{"error": "…"}`),
/// or the body itself, shortened.
fn error_text(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            e.get("message")
                .and_then(|m| m.as_str())
                .or(e.as_str())
                .map(str::to_owned)
        });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    text.chars().take(300).collect()
}

/// Longest line of an event stream the client reads (a server sending one endless line gets a
/// clear error instead of eating memory and CPU).
pub const MAX_SSE_LINE: usize = 1 << 20;

/// Largest non-streamed answer body read (a server that ignored `stream: true`).
const MAX_BODY: usize = 4 << 20;

/// Whether `base_url` names this machine (`localhost`, 127.0.0.0/8, ::1).
pub fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url.trim()) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What can end the byte stream under the SSE parser.
#[derive(Debug)]
enum Transport {
    Http(reqwest::Error),
    LineTooLong,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Http(e) => e.fmt(f),
            Transport::LineTooLong => write!(f, "a line longer than {MAX_SSE_LINE} bytes"),
        }
    }
}

/// The response body as a byte stream that fails once a line grows past [`MAX_SSE_LINE`].
fn capped_lines(
    resp: reqwest::Response,
) -> Pin<Box<dyn Stream<Item = std::result::Result<bytes::Bytes, Transport>> + Send>> {
    let mut line = 0usize;
    Box::pin(resp.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(Transport::Http)?;
        match chunk.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(at) => line = chunk.len() - at - 1,
            None => line += chunk.len(),
        }
        if line > MAX_SSE_LINE {
            return Err(Transport::LineTooLong);
        }
        Ok(chunk)
    }))
}

impl LlmClient {
    pub fn new(settings: LlmSettings) -> Result<LlmClient> {
        settings.validate()?;
        // Environment proxies are never used; the one from Settings only for a remote server.
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(settings.timeout_secs))
            .no_proxy();
        let proxy = settings.proxy.trim();
        if !proxy.is_empty() && !is_loopback(&settings.base_url) {
            let proxy = reqwest::Proxy::all(proxy).map_err(|e| {
                Error::Invalid(format!(
                    "the proxy in Settings is not usable ({proxy}): {e}"
                ))
            })?;
            builder = builder.proxy(proxy);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Llm(LlmError::Protocol(format!("HTTP client: {e}"))))?;
        Ok(LlmClient { http, settings })
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{path}",
            self.settings.base_url.trim().trim_end_matches('/')
        )
    }

    fn send_error(&self, e: reqwest::Error) -> Error {
        let url = self.settings.base_url.clone();
        Error::Llm(if e.is_timeout() {
            LlmError::Timeout {
                url,
                secs: self.settings.timeout_secs,
            }
        } else if e.is_connect() {
            LlmError::Unreachable {
                url,
                reason: e.to_string(),
            }
        } else {
            LlmError::Protocol(e.to_string())
        })
    }

    async fn check(&self, resp: reqwest::Response) -> Result<reqwest::Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(Error::Llm(LlmError::Http {
            status: status.as_u16(),
            message: error_text(&body),
        }))
    }

    /// A whole (non-streamed) body, refused past [`MAX_BODY`].
    async fn body_text(&self, mut resp: reqwest::Response) -> Result<String> {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.send_error(e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::Llm(LlmError::Protocol(format!(
                    "the server's answer is larger than {} MiB",
                    MAX_BODY >> 20
                ))));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The model ids the server offers (`GET /models`).
    pub async fn models(&self) -> Result<Vec<String>> {
        let resp = self
            .http
            .get(self.url("models"))
            .send()
            .await
            .map_err(|e| self.send_error(e))?;
        let body: serde_json::Value = self
            .check(resp)
            .await?
            .json()
            .await
            .map_err(|e| Error::Llm(LlmError::Protocol(format!("bad /models answer: {e}"))))?;
        Ok(body["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The configured model, or the server's first one.
    pub async fn model(&self) -> Result<String> {
        if !self.settings.model.trim().is_empty() {
            return Ok(self.settings.model.trim().to_owned());
        }
        self.models()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Llm(LlmError::Protocol("the server lists no models".into())))
    }

    /// Streams a chat completion: each piece of text goes to `tokens` as it arrives. Returns
    /// when the server finishes (`[DONE]` or a `finish_reason`); an error says what went wrong
    /// (the text already sent stays with the caller). If the receiver of `tokens` is dropped,
    /// the request is abandoned with [`LlmError::Cancelled`].
    pub async fn stream_chat(
        &self,
        messages: &[ChatMessage],
        extra: Option<serde_json::Value>,
        tokens: mpsc::Sender<String>,
    ) -> Result<Finish> {
        let model = self.model().await?;
        let mut body = serde_json::json!({
            "model": model,
            "messages": messages,
            "stream": true,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        });
        if let (Some(obj), Some(seed)) = (body.as_object_mut(), self.settings.seed) {
            obj.insert("seed".into(), seed.into());
        }
        if let (Some(obj), Some(serde_json::Value::Object(extra))) = (body.as_object_mut(), extra) {
            // `hindsight_*` fields are for the built-in engine, not a server.
            obj.extend(
                extra
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("hindsight_")),
            );
        }
        let resp = self
            .http
            .post(self.url("chat/completions"))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body)
            .send()
            .await
            .map_err(|e| self.send_error(e))?;
        let resp = self.check(resp).await?;
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            // A server that ignored `stream: true` and answered in one JSON body.
            let text = self.body_text(resp).await?;
            let chunk: Chunk = serde_json::from_str(&text).map_err(|_| {
                Error::Llm(LlmError::Protocol(format!(
                    "expected an event stream, got: {}",
                    error_text(&text)
                )))
            })?;
            let mut choice = chunk.choices.into_iter().next();
            let mut logprobs = Vec::new();
            if let Some(c) = choice.as_mut() {
                c.take_logprobs(&mut logprobs);
            }
            let content = choice
                .as_ref()
                .and_then(|c| c.message.as_ref().or(c.delta.as_ref()))
                .and_then(|d| d.content.clone());
            if let Some(content) = content {
                tokens
                    .send(content)
                    .await
                    .map_err(|_| Error::Llm(LlmError::Cancelled))?;
            }
            return Ok(Finish {
                reason: choice.and_then(|c| c.finish_reason),
                logprobs,
            });
        }

        let mut events = capped_lines(resp).eventsource();
        let mut finish: Option<String> = None;
        let mut logprobs: Vec<TokenLogprob> = Vec::new();
        // The idle deadline: keep-alive comments and empty events do not count as progress.
        let idle = Duration::from_secs(self.settings.timeout_secs);
        let mut last_text = tokio::time::Instant::now();
        loop {
            let event = match tokio::time::timeout_at(last_text + idle, events.next()).await {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(_) => {
                    return Err(Error::Llm(LlmError::Timeout {
                        url: self.settings.base_url.clone(),
                        secs: self.settings.timeout_secs,
                    }))
                }
            };
            let event = event.map_err(|e| match e {
                eventsource_stream::EventStreamError::Transport(Transport::Http(e)) => {
                    self.send_error(e)
                }
                eventsource_stream::EventStreamError::Transport(Transport::LineTooLong) => {
                    Error::Llm(LlmError::Protocol(format!(
                        "the server sent a line longer than {} MiB",
                        MAX_SSE_LINE >> 20
                    )))
                }
                other => Error::Llm(LlmError::Protocol(format!("bad event stream: {other}"))),
            })?;
            let data = event.data.trim();
            if data.is_empty() {
                continue; // keep-alive
            }
            if data == "[DONE]" {
                return Ok(Finish {
                    reason: finish,
                    logprobs,
                });
            }
            let chunk: Chunk = serde_json::from_str(data).map_err(|_| {
                Error::Llm(LlmError::Protocol(format!(
                    "bad event from the server: {}",
                    error_text(data)
                )))
            })?;
            if let Some(err) = chunk.error {
                return Err(Error::Llm(LlmError::Server(error_text(
                    &serde_json::json!({"error": err}).to_string(),
                ))));
            }
            for mut choice in chunk.choices {
                choice.take_logprobs(&mut logprobs);
                if let Some(text) = choice
                    .delta
                    .and_then(|d| d.content)
                    .filter(|t| !t.is_empty())
                {
                    last_text = tokio::time::Instant::now();
                    tokens
                        .send(text)
                        .await
                        .map_err(|_| Error::Llm(LlmError::Cancelled))?;
                }
                if choice.finish_reason.is_some() {
                    finish = choice.finish_reason;
                }
            }
        }
        match finish {
            // Some servers close right after the last chunk without `[DONE]`.
            Some(reason) => Ok(Finish {
                reason: Some(reason),
                logprobs,
            }),
            None => Err(Error::Llm(LlmError::Interrupted)),
        }
    }
}
