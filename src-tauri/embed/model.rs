//! all-MiniLM-L6-v2 in-process with candle: BertModel → masked mean pooling → L2 normalisation,
//! truncation at 256 tokens, BatchLongest padding. Gives the vectors sentence-transformers
//! gives (tests/embed.rs checks cosine ≥ 0.9999 against its output).
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{Error, Result};

/// The model id stored beside each vector; a different id means "re-embed".
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// Folder name under the models dir.
pub const MODEL_DIR: &str = "all-MiniLM-L6-v2";
pub const DIM: usize = 384;
/// sentence-transformers' max_seq_length for this model (tokens, [CLS] and [SEP] included).
pub const MAX_TOKENS: usize = 256;
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
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
            hint: format!(
                "run ./scripts/fetch-models --models-dir {}",
                models_dir.display()
            ),
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
        let model = BertModel::load(vb, &config).map_err(embed_err)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(embed_err)?;
        // tokenizer.json ships truncation 128 and Fixed(128) padding; sentence-transformers
        // truncates at 256 and pads to the longest text of the batch.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(embed_err)?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        Ok(Embedder {
            model,
            tokenizer,
            device,
        })
    }

    pub fn model_id(&self) -> &'static str {
        MODEL_ID
    }

    /// Token ids of one text, as the model sees it (truncated, no padding).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, true).map_err(embed_err)?;
        let n = enc.get_attention_mask().iter().filter(|&&m| m == 1).count();
        Ok(enc.get_ids()[..n].to_vec())
    }

    /// Embeds `texts` in one forward pass (one padded batch). Each vector has unit length.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(embed_err)?;
        let len = enc.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &enc {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (texts.len(), len), &self.device)?;
            let mask = Tensor::from_vec(mask, (texts.len(), len), &self.device)?;
            let hidden = self.model.forward(&ids, &ids.zeros_like()?, Some(&mask))?; // [B, L, 384]
                                                                                     // Masked mean: padding tokens do not count, in the sum or in the divisor.
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let mean = hidden
                .broadcast_mul(&m)?
                .sum(1)?
                .broadcast_div(&m.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(embed_err)
    }

    /// Embeds any number of texts: sorted by length so each batch pads little, `batch` at a
    /// time, returned in the caller's order.
    pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch.max(1)) {
            let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&batch_texts)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
