//! Which engine answers: an OpenAI-compatible server or the built-in model. Chat, analysis and
//! ask all talk to an [`Llm`]; [`resolve`] picks one from the settings.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::builtin::{BuiltinModel, GenParams};
use super::BuiltinChoice;
use super::{ChatMessage, Finish, LlmClient, LlmSettings, Purpose};
use crate::error::{Error, LlmError, Result};
use crate::store::MAX_MESSAGE_BYTES;
use ts_rs::TS;

/// The user's choice in Settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// The server if one answers at the configured URL, else the built-in model.
    #[default]
    Auto,
    Builtin,
    Server,
}

#[derive(Clone)]
pub enum Llm {
    Server(LlmClient),
    Builtin {
        model: Arc<BuiltinModel>,
        settings: LlmSettings,
    },
}

impl From<LlmClient> for Llm {
    fn from(client: LlmClient) -> Self {
        Llm::Server(client)
    }
}

/// The kind of engine answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Builtin,
    Server,
}

/// What the window's badge says about the engine in use.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LlmStatus {
    pub provider: Engine,
    /// The model's name (the configured one for a server; may be empty: the server's first).
    pub model: String,
    pub url: Option<String>,
    /// Why the built-in model is in use, when the user did not choose it.
    pub reason: Option<String>,
    /// Whether it can answer now: the built-in model always; a server if it answered a probe
    /// (`None`: not probed).
    pub available: Option<bool>,
    /// Why a server is not available.
    pub problem: Option<String>,
}

impl Llm {
    /// The OpenAI-compatible server in `settings`.
    pub fn server(settings: LlmSettings) -> Result<Llm> {
        Ok(Llm::Server(LlmClient::new(settings)?))
    }

    pub fn builtin(model: Arc<BuiltinModel>, settings: LlmSettings) -> Llm {
        Llm::Builtin { model, settings }
    }

    pub fn settings(&self) -> &LlmSettings {
        match self {
            Llm::Server(c) => c.settings(),
            Llm::Builtin { settings, .. } => settings,
        }
    }

    pub fn is_builtin(&self) -> bool {
        matches!(self, Llm::Builtin { .. })
    }

    /// The model name recorded on answers and analyses.
    pub async fn model(&self) -> Result<String> {
        match self {
            Llm::Server(c) => c.model().await,
            Llm::Builtin { model, .. } => Ok(model.name()),
        }
    }

    pub fn status(&self, reason: Option<String>) -> LlmStatus {
        match self {
            Llm::Server(c) => LlmStatus {
                provider: Engine::Server,
                model: c.settings().model.clone(),
                url: Some(c.settings().base_url.clone()),
                reason: None,
                available: None,
                problem: None,
            },
            Llm::Builtin { model, .. } => LlmStatus {
                provider: Engine::Builtin,
                model: model.name(),
                url: None,
                reason,
                available: Some(true),
                problem: None,
            },
        }
    }

    /// Streams an answer: each piece of text goes to `tokens`. `extra` is merged into a
    /// server's request (e.g. `response_format`); the built-in model takes its temperature,
    /// max_tokens, seed and JSON schema (its answer is constrained to the schema). The
    /// request fails with [`LlmError::Deadline`] once the deadline for `purpose` passes
    /// (dropping the request stops the server or the built-in model).
    pub async fn stream_chat(
        &self,
        purpose: Purpose,
        messages: &[ChatMessage],
        extra: Option<serde_json::Value>,
        tokens: mpsc::Sender<String>,
    ) -> Result<Finish> {
        let deadline = self.settings().deadline(purpose);
        tokio::time::timeout(deadline, self.stream_unbounded(messages, extra, tokens))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Llm(LlmError::Deadline {
                    what: purpose.noun(),
                    secs: deadline.as_secs(),
                }))
            })
    }

    async fn stream_unbounded(
        &self,
        messages: &[ChatMessage],
        extra: Option<serde_json::Value>,
        tokens: mpsc::Sender<String>,
    ) -> Result<Finish> {
        match self {
            Llm::Server(c) => c.stream_chat(messages, extra, tokens).await,
            Llm::Builtin { model, settings } => {
                let extra = extra.unwrap_or_default();
                let params = GenParams {
                    temperature: extra["temperature"]
                        .as_f64()
                        .map_or(settings.temperature, |t| t as f32),
                    top_p: settings.top_p,
                    max_tokens: extra["max_tokens"]
                        .as_u64()
                        .map_or(settings.max_tokens, |n| n as u32),
                    seed: extra["seed"]
                        .as_u64()
                        .or(settings.seed)
                        .unwrap_or_else(rand_seed),
                    schema: Some(&extra["response_format"]["json_schema"]["schema"])
                        .filter(|s| s.is_object())
                        .cloned(),
                    logprobs: extra["logprobs"].as_bool().unwrap_or(false),
                    reported: extra["hindsight_reported_keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect(),
                };
                model.stream_chat(messages, "", params, tokens).await
            }
        }
    }

    /// A whole answer as one string (streamed underneath, so a slow engine still counts as
    /// alive while it writes). An answer past the largest message is refused
    /// ([`LlmError::TooLong`]) and the request stopped.
    pub async fn complete(
        &self,
        purpose: Purpose,
        messages: &[ChatMessage],
        extra: Option<serde_json::Value>,
    ) -> Result<String> {
        Ok(self.complete_with_finish(purpose, messages, extra).await?.0)
    }

    /// [`Llm::complete`], with how the answer ended (and its tokens' log-probabilities when
    /// `extra` asks for them with `"logprobs": true`).
    pub async fn complete_with_finish(
        &self,
        purpose: Purpose,
        messages: &[ChatMessage],
        extra: Option<serde_json::Value>,
    ) -> Result<(String, Finish)> {
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let collect = async move {
            let mut text = String::new();
            while let Some(piece) = rx.recv().await {
                if text.len() + piece.len() > MAX_MESSAGE_BYTES {
                    return Err(too_long());
                }
                text.push_str(&piece);
            }
            Ok(text)
        };
        let (finish, text) = tokio::join!(self.stream_chat(purpose, messages, extra, tx), collect);
        let text = text?;
        Ok((text, finish?))
    }
}

/// The error for an answer past [`MAX_MESSAGE_BYTES`].
pub fn too_long() -> Error {
    Error::Llm(LlmError::TooLong {
        limit_kib: MAX_MESSAGE_BYTES / 1024,
    })
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Loads a built-in model off the async runtime (a second or two).
pub async fn load_builtin(models_dir: &Path, choice: BuiltinChoice) -> Result<Arc<BuiltinModel>> {
    let dir = models_dir.to_path_buf();
    tokio::task::spawn_blocking(move || BuiltinModel::load(&dir, choice).map(Arc::new))
        .await
        .map_err(|e| Error::Internal(format!("loading the built-in model: {e}")))?
}

/// How long `auto` waits for the configured server before it uses the built-in model.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a server answers `GET /models` at the settings' URL, and if not, why.
pub async fn probe(settings: &LlmSettings) -> std::result::Result<(), String> {
    if settings.base_url.trim().is_empty() {
        return Err("no LLM server is configured".into());
    }
    let client = LlmClient::new(settings.clone()).map_err(|e| e.to_string())?;
    match tokio::time::timeout(PROBE_TIMEOUT, client.models()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "the LLM server at {} did not answer ({e})",
            settings.base_url
        )),
        Err(_) => Err(format!(
            "the LLM server at {} did not answer within {} s",
            settings.base_url,
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// Picks the engine for `settings`: `server` and `builtin` as chosen; `auto` probes the server
/// and falls back to the built-in model (returned with the reason). `builtin` is called only
/// when the built-in model is needed (so it can be loaded once and kept).
pub async fn resolve<F, Fut>(settings: LlmSettings, builtin: F) -> Result<(Llm, Option<String>)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Arc<BuiltinModel>>>,
{
    match settings.provider {
        Provider::Server => Ok((Llm::server(settings)?, None)),
        Provider::Builtin => Ok((Llm::builtin(builtin().await?, settings), None)),
        Provider::Auto => match probe(&settings).await {
            Ok(()) => Ok((Llm::server(settings)?, None)),
            Err(reason) => Ok((Llm::builtin(builtin().await?, settings), Some(reason))),
        },
    }
}
