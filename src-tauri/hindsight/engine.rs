//! The LLM in use: which engine answers (a server, or the built-in model), its settings, and
//! the built-in models the app knows.
use std::sync::Arc;

use super::Hindsight;
use crate::error::Result;
use crate::llm::builtin::BuiltinModel;
use crate::llm::catalog::BuiltinModelInfo;
use crate::llm::{load_builtin, resolve, BuiltinChoice, Llm, LlmClient, LlmSettings, LlmStatus};
use crate::locking::lock;

impl Hindsight {
    /// The engine for the settings in force: the server, or the built-in model when the
    /// settings say so or (`auto`) the server did not answer when it was resolved.
    pub async fn llm(&self) -> Result<Llm> {
        Ok(self.llm_and_reason().await?.0)
    }

    /// [`llm`](Self::llm), with why the built-in model stands in for the server, if it does.
    pub async fn llm_and_reason(&self) -> Result<(Llm, Option<String>)> {
        let mut slot = self.llm.lock().await;
        if let Some(resolved) = slot.as_ref() {
            return Ok(resolved.clone());
        }
        let settings = self.llm_settings_in_force()?;
        let choice = settings.builtin_model;
        let resolved = resolve(settings, || self.builtin(choice)).await?;
        tracing::info!(
            builtin = resolved.0.is_builtin(),
            why = resolved.1.as_deref().unwrap_or(""),
            "LLM chosen"
        );
        *slot = Some(resolved.clone());
        Ok(resolved)
    }

    /// Uses `settings` instead of the saved ones for the rest of this process (the CLI's
    /// `--url`/`--builtin`/`--model` flags; a test's fake server). Nothing is saved.
    pub async fn override_llm(&self, settings: LlmSettings) {
        *lock(&self.llm_override) = Some(settings);
        *self.llm.lock().await = None;
    }

    /// The saved settings, or the override of this process.
    fn llm_settings_in_force(&self) -> Result<LlmSettings> {
        match lock(&self.llm_override).clone() {
            Some(settings) => Ok(settings),
            None => LlmSettings::load(&self.reader()),
        }
    }

    /// The built-in model `choice`, loaded when first needed (one in memory at a time).
    pub async fn builtin(&self, choice: BuiltinChoice) -> Result<Arc<BuiltinModel>> {
        let mut slot = self.builtin.lock().await;
        if let Some(model) = slot.as_ref().filter(|m| m.spec().choice == choice) {
            return Ok(model.clone());
        }
        // Free the other model's memory before loading this one.
        *slot = None;
        let model = load_builtin(&self.locations.models_dir, choice).await?;
        *slot = Some(model.clone());
        Ok(model)
    }

    /// Drops the engine chosen, so the next answer chooses again (a model was installed or
    /// removed).
    pub(super) async fn forget_llm(&self) {
        *self.llm.lock().await = None;
    }

    /// Frees the built-in model `choice` if it is the one in memory.
    pub(super) async fn unload_builtin(&self, choice: BuiltinChoice) {
        let mut slot = self.builtin.lock().await;
        if slot.as_ref().is_some_and(|m| m.spec().choice == choice) {
            *slot = None;
        }
    }

    /// Resolves the engine again (the settings changed).
    pub async fn refresh_llm(&self) -> Result<Llm> {
        self.forget_llm().await;
        self.llm().await
    }

    /// What the badge and the message box show; re-resolves first if `refresh`. A server is
    /// probed, so a dead one is reported before the user types.
    pub async fn llm_status(&self, refresh: bool) -> Result<LlmStatus> {
        if refresh {
            self.refresh_llm().await?;
        }
        let (llm, reason) = self.llm_and_reason().await?;
        let mut status = llm.status(reason);
        if let Llm::Server(client) = &llm {
            let probed = crate::llm::probe(client.settings()).await;
            status.available = Some(probed.is_ok());
            status.problem = probed.err();
        }
        Ok(status)
    }

    /// The saved LLM settings.
    pub fn llm_settings(&self) -> Result<LlmSettings> {
        LlmSettings::load(&self.reader())
    }

    /// Saves the LLM settings; the next answer uses them. An engine that cannot be reached
    /// with them is no reason to refuse them: the status reports it.
    pub async fn save_llm_settings(&self, settings: LlmSettings) -> Result<LlmSettings> {
        let to_save = settings.clone();
        self.on_store(move |store| to_save.save(store)).await?;
        if let Err(e) = self.refresh_llm().await {
            tracing::warn!(code = e.code(), "no LLM after the settings changed: {e}");
        }
        Ok(settings)
    }

    /// The models a server offers, with the given (unsaved) settings ("test connection").
    pub async fn server_models(settings: LlmSettings) -> Result<Vec<String>> {
        LlmClient::new(settings)?.models().await
    }

    /// Checks every installed model file against its pinned sha256.
    #[tracing::instrument(skip(self), err(level = tracing::Level::WARN))]
    pub fn verify_models(&self) -> Result<Vec<crate::llm::catalog::ModelCheck>> {
        crate::llm::catalog::verify(&self.locations.models_dir)
    }

    /// The built-in models the app knows, and which are installed.
    pub fn builtin_models(&self) -> Vec<BuiltinModelInfo> {
        crate::llm::catalog::list(&self.locations.models_dir)
    }
}
