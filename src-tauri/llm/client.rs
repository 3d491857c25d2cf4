//! A client for OpenAI-compatible chat servers (llama.cpp, LM Studio, Ollama): model list and
//! streamed chat completions over SSE (eventsource-stream). Dropping the future of
//! [`LlmClient::stream_chat`] drops the response, which closes the HTTP connection: that is
//! how a stop reaches the server.
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// The server's `finish_reason` (`stop`, `length`, …), if it sent one.
    pub reason: Option<String>,
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

impl LlmClient {
    pub fn new(settings: LlmSettings) -> Result<LlmClient> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(settings.timeout_secs))
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
            obj.extend(extra);
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
            let text = resp.text().await.map_err(|e| self.send_error(e))?;
            let chunk: Chunk = serde_json::from_str(&text).map_err(|_| {
                Error::Llm(LlmError::Protocol(format!(
                    "expected an event stream, got: {}",
                    error_text(&text)
                )))
            })?;
            let choice = chunk.choices.into_iter().next();
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
            });
        }

        let mut events = resp.bytes_stream().eventsource();
        let mut finish: Option<String> = None;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| match e {
                eventsource_stream::EventStreamError::Transport(e) => self.send_error(e),
                other => Error::Llm(LlmError::Protocol(format!("bad event stream: {other}"))),
            })?;
            let data = event.data.trim();
            if data.is_empty() {
                continue; // keep-alive
            }
            if data == "[DONE]" {
                return Ok(Finish { reason: finish });
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
            for choice in chunk.choices {
                if let Some(text) = choice
                    .delta
                    .and_then(|d| d.content)
                    .filter(|t| !t.is_empty())
                {
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
            }),
            None => Err(Error::Llm(LlmError::Interrupted)),
        }
    }
}
