//! Finds the local LLM servers people run, on their default ports: LM Studio (1234), llama.cpp's
//! `llama-server` (8080) and Ollama (11434), all OpenAI-compatible under `/v1`. Used by the
//! first-run welcome to offer "use the server you already have".
use std::time::Duration;

use serde::Serialize;

use super::{LlmClient, LlmSettings};
use ts_rs::TS;

/// The servers looked for: name and base URL.
pub const KNOWN_SERVERS: [(&str, &str); 3] = [
    ("LM Studio", "http://127.0.0.1:1234/v1"),
    ("llama.cpp", "http://127.0.0.1:8080/v1"),
    ("Ollama", "http://127.0.0.1:11434/v1"),
];

/// A server that answered `/v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DetectedServer {
    pub name: String,
    pub base_url: String,
    pub models: Vec<String>,
}

/// The known servers that answer on this machine, in [`KNOWN_SERVERS`] order; each gets at
/// most `wait` (a closed port answers at once).
pub async fn local_servers(wait: Duration) -> Vec<DetectedServer> {
    local_servers_at(&KNOWN_SERVERS, wait).await
}

/// [`local_servers`] over a given list (tests point it at their own ports).
pub async fn local_servers_at(servers: &[(&str, &str)], wait: Duration) -> Vec<DetectedServer> {
    let probes = servers.iter().map(|(name, url)| async move {
        let settings = LlmSettings {
            base_url: (*url).to_owned(),
            timeout_secs: wait.as_secs().max(1),
            ..Default::default()
        };
        let client = LlmClient::new(settings).ok()?;
        let models = tokio::time::timeout(wait, client.models())
            .await
            .ok()?
            .ok()?;
        Some(DetectedServer {
            name: (*name).to_owned(),
            base_url: (*url).to_owned(),
            models,
        })
    });
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .flatten()
        .collect()
}
