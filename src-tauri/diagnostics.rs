//! What to attach to a bug report: versions, the machine, where the data and models are, the
//! settings without anything secret or personal (no system prompt, no password in a URL), the
//! history's size and the last lines of the log. Shown by `hindsight diagnostics` and copied by
//! Settings → "Copy diagnostics".
use serde::Serialize;

use crate::error::Result;
use crate::llm::LlmSettings;
use crate::logging;
use crate::paths::Locations;
use crate::store::Store;

/// Log lines a report carries.
pub const LOG_LINES: usize = 60;

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    pub version: &'static str,
    pub os: &'static str,
    pub arch: &'static str,
    pub cpus: usize,
    pub data_dir: String,
    pub models_dir: String,
    /// The LLM settings, with URLs' user info hidden and the system prompt left out.
    pub llm: serde_json::Value,
    /// Built-in models and whether each is installed.
    pub models: Vec<String>,
    pub embedding_model_installed: bool,
    pub conversations: i64,
    pub messages: i64,
    /// The last lines of the log (they carry no message text at the default level).
    pub log: Vec<String>,
}

/// `http://user:secret@host:8080/v1` → `http://***@host:8080/v1`.
fn hide_user_info(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn settings_without_secrets(settings: &LlmSettings) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(settings)?;
    if let Some(map) = value.as_object_mut() {
        for key in ["base_url", "proxy"] {
            if let Some(url) = map.get(key).and_then(|v| v.as_str()).map(hide_user_info) {
                map.insert(key.into(), url.into());
            }
        }
        let prompt_chars = settings.system_prompt.chars().count();
        map.insert(
            "system_prompt".into(),
            format!("({prompt_chars} characters, not shown)").into(),
        );
    }
    Ok(value)
}

pub fn collect(store: &Store, locations: &Locations) -> Result<Diagnostics> {
    let settings = LlmSettings::load(store)?;
    let models = crate::llm::catalog::list(&locations.models_dir)
        .into_iter()
        .map(|m| {
            format!(
                "{} ({}): {}",
                m.spec.label,
                m.spec.name,
                if m.installed {
                    "installed"
                } else {
                    "not installed"
                }
            )
        })
        .collect();
    Ok(Diagnostics {
        version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        data_dir: locations.data_dir.display().to_string(),
        models_dir: locations.models_dir.display().to_string(),
        llm: settings_without_secrets(&settings)?,
        models,
        embedding_model_installed: crate::embed::check_installed(&locations.models_dir).is_ok(),
        conversations: store.count_conversations()?,
        messages: store.count_messages()?,
        log: logging::last_lines(&logging::logs_dir(&locations.data_dir), LOG_LINES),
    })
}

impl Diagnostics {
    /// Plain text for a bug report.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Hindsight {} on {} {} ({} CPUs)\ndata: {}\nmodels: {}\nembedding model: {}\n",
            self.version,
            self.os,
            self.arch,
            self.cpus,
            self.data_dir,
            self.models_dir,
            if self.embedding_model_installed {
                "installed"
            } else {
                "not installed"
            }
        );
        for m in &self.models {
            out.push_str(&format!("chat model {m}\n"));
        }
        out.push_str(&format!(
            "history: {} conversations, {} messages\nLLM settings: {}\n\nlast log lines:\n",
            self.conversations, self.messages, self.llm
        ));
        for line in &self.log {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn secrets_and_the_system_prompt_are_left_out() {
        assert_eq!(
            hide_user_info("http://me:hunter2@proxy.lan:3128"),
            "http://***@proxy.lan:3128"
        );
        assert_eq!(
            hide_user_info("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
        let settings = LlmSettings {
            proxy: "http://me:hunter2@proxy.lan:3128".into(),
            system_prompt: "I am Ana, my bank PIN is 1234".into(),
            ..Default::default()
        };
        let text = settings_without_secrets(&settings).unwrap().to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("1234"),
            "{text}"
        );
        assert!(text.contains("proxy.lan:3128"), "{text}");
    }
}
