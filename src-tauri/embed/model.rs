//! all-MiniLM-L6-v2 in-process with candle: the BERT encoder (`bert.rs`) → mean pooling over
//! each text's tokens → L2 normalisation, truncation at 256 tokens. Batches are packed rather
//! than padded (no padding token is ever computed). Gives the vectors sentence-transformers
//! gives (tests/it/embed.rs checks cosine ≥ 0.9999 against its output).
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use tokenizers::{Tokenizer, TruncationParams};

use super::bert::Bert;

use crate::error::{Error, Result};

/// The id stored beside each message vector: the model, and the text it was given (the
/// message with the turn before it, [`turn_text`](super::turn_text)). A different id means
/// "re-embed": the worker embeds every message again after a change of either.
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2+previous-turn";
/// Folder name under the models dir.
pub const MODEL_DIR: &str = "all-MiniLM-L6-v2";
pub const DIM: usize = 384;
/// sentence-transformers' max_seq_length for this model (tokens, [CLS] and [SEP] included).
pub const MAX_TOKENS: usize = 256;
/// Tokens per encoder pass: a batch of long texts runs in groups about this size, so that each
/// layer's activations stay in cache (BENCHMARKS.md, embedding throughput).
const GROUP_TOKENS: usize = 2048;
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

pub struct Embedder {
    model: Bert,
    tokenizer: Tokenizer,
}

fn embed_err(e: impl std::fmt::Display) -> Error {
    Error::Embed(e.to_string())
}

/// Where the model's files are expected under `models_dir`.
pub fn model_path(models_dir: &Path) -> PathBuf {
    models_dir.join(MODEL_DIR)
}

/// `Err(ModelMissing)` with the command that installs it, when a file is absent.
pub fn check_installed(models_dir: &Path) -> Result<PathBuf> {
    let dir = model_path(models_dir);
    if let Some(missing) = FILES.iter().find(|f| !dir.join(f).is_file()) {
        return Err(Error::ModelMissing {
            what: format!("the embedding model ({MODEL_DIR}: {missing})"),
            dir: dir.clone(),
            hint: "download it in Settings → Models or with `hindsight models download embedding`"
                .to_owned(),
        });
    }
    Ok(dir)
}

impl Embedder {
    pub fn load(models_dir: &Path) -> Result<Embedder> {
        let dir = check_installed(models_dir)?;
        let device = Device::Cpu;
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json"))
                .map_err(|e| Error::io(dir.join("config.json"), e))?,
        )?;
        // SAFETY: the file is mmaped read-only; we never write to it while it is mapped.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir.join("model.safetensors")],
                DType::F32,
                &device,
            )
        }
        .map_err(embed_err)?;
        let model = Bert::load(vb, &config).map_err(embed_err)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(embed_err)?;
        // tokenizer.json ships truncation 128 and Fixed(128) padding; sentence-transformers
        // truncates at 256. The encoder packs texts, so no padding at all.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(embed_err)?;
        tokenizer.with_padding(None);
        Ok(Embedder { model, tokenizer })
    }

    pub fn model_id(&self) -> &'static str {
        MODEL_ID
    }

    /// Token ids of one text, as the model sees it (truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, true).map_err(embed_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds `texts` (one packed batch; a long one runs through the encoder in groups of up
    /// to `GROUP_TOKENS` tokens). Each vector has unit length.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(embed_err)?;
        let ids: Vec<Vec<u32>> = enc.iter().map(|e| e.get_ids().to_vec()).collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut rest = ids.as_slice();
        while !rest.is_empty() {
            let (mut n, mut tokens) = (1, rest[0].len());
            while n < rest.len() && tokens + rest[n].len() <= GROUP_TOKENS {
                tokens += rest[n].len();
                n += 1;
            }
            out.extend(self.encode_pool(&rest[..n])?);
            rest = &rest[n..];
        }
        Ok(out)
    }

    /// One encoder pass over `ids`, then each text's mean token vector at unit length
    /// (sentence-transformers' Pooling(mean) and Normalize).
    fn encode_pool(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let hidden = self.model.forward(ids).map_err(embed_err)?; // [tokens, 384]
        let hidden: Vec<f32> = hidden
            .flatten_all()
            .and_then(|h| h.to_vec1())
            .map_err(embed_err)?;
        let mut rows = hidden.chunks_exact(DIM);
        Ok(ids
            .iter()
            .map(|s| {
                let mut mean = vec![0f32; DIM];
                for row in rows.by_ref().take(s.len()) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                let n = s.len().max(1) as f32;
                mean.iter_mut().for_each(|m| *m /= n);
                let norm = mean.iter().map(|m| m * m).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect())
    }

    /// Embeds any number of texts, `batch` at a time, in the caller's order. (Packed batches
    /// cost the same whatever their lengths, so there is nothing to gain by sorting them.)
    pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch.max(1)) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }
}
