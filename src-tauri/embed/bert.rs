//! The BERT encoder of all-MiniLM-L6-v2, on candle tensors, over packed sequences.
//!
//! The same weights and computation as candle-transformers' `BertModel` and
//! sentence-transformers (to within f32 rounding: erf and exp are fast polynomial forms),
//! arranged for speed on a CPU (BENCHMARKS.md, embedding):
//! - sequences are packed: the batch is one [tokens, hidden] matrix with no padding rows, so
//!   every matmul does only real work and there is no attention mask;
//! - Q, K and V are one matmul against the three weights concatenated;
//! - bias, GELU, residual and LayerNorm run fused, in place (`kernels.rs`), and attention runs
//!   per sequence and head without materialising the score tensor.
use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};

use super::kernels::{AddNorm, Attention, Bias};

struct Layer {
    /// [hidden, 3·hidden]: the query, key and value weights side by side, transposed.
    qkv: Tensor,
    qkv_bias: Bias,
    /// [hidden, hidden], transposed.
    attn_out: Tensor,
    attn_norm: AddNorm,
    /// [hidden, intermediate], transposed.
    up: Tensor,
    up_act: Bias,
    /// [intermediate, hidden], transposed.
    down: Tensor,
    out_norm: AddNorm,
}

pub struct Bert {
    word: Tensor,
    position: Tensor,
    /// Embedding LayerNorm, with token type 0's embedding as its bias (one segment only).
    embed_norm: AddNorm,
    layers: Vec<Layer>,
    heads: usize,
    device: Device,
}

/// A linear layer's weight, transposed to [in, out] once at load, and its bias.
fn linear(vb: &VarBuilder, inp: usize, out: usize) -> candle_core::Result<(Tensor, Vec<f32>)> {
    let w = vb.get((out, inp), "weight")?.t()?.contiguous()?;
    Ok((w, vb.get(out, "bias")?.to_vec1()?))
}

fn norm(vb: &VarBuilder, bias: Vec<f32>, hidden: usize, eps: f64) -> candle_core::Result<AddNorm> {
    Ok(AddNorm {
        bias,
        gamma: vb.get(hidden, "weight")?.to_vec1()?,
        beta: vb.get(hidden, "bias")?.to_vec1()?,
        eps: eps as f32,
    })
}

impl Bert {
    pub fn load(vb: VarBuilder, c: &Config) -> candle_core::Result<Bert> {
        if !matches!(c.hidden_act, HiddenAct::Gelu) {
            candle_core::bail!("only BERT models with the exact GELU activation are supported")
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let e = vb.pp("embeddings");
        let token_type0 = e
            .get((c.type_vocab_size, h), "token_type_embeddings.weight")?
            .get(0)?
            .to_vec1()?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let (q, qb) = linear(&a.pp("self.query"), h, h)?;
            let (k, kb) = linear(&a.pp("self.key"), h, h)?;
            let (v, vb_) = linear(&a.pp("self.value"), h, h)?;
            let (attn_out, ob) = linear(&a.pp("output.dense"), h, h)?;
            let (up, ub) = linear(&l.pp("intermediate.dense"), h, c.intermediate_size)?;
            let (down, db) = linear(&l.pp("output.dense"), c.intermediate_size, h)?;
            layers.push(Layer {
                qkv: Tensor::cat(&[q, k, v], 1)?,
                qkv_bias: Bias {
                    values: [qb, kb, vb_].concat(),
                    gelu: false,
                },
                attn_out,
                attn_norm: norm(&a.pp("output.LayerNorm"), ob, h, eps)?,
                up,
                up_act: Bias {
                    values: ub,
                    gelu: true,
                },
                down,
                out_norm: norm(&l.pp("output.LayerNorm"), db, h, eps)?,
            });
        }
        Ok(Bert {
            word: e.get((c.vocab_size, h), "word_embeddings.weight")?,
            position: e.get((c.max_position_embeddings, h), "position_embeddings.weight")?,
            embed_norm: norm(&e.pp("LayerNorm"), token_type0, h, eps)?,
            layers,
            heads: c.num_attention_heads,
            device: vb.device().clone(),
        })
    }

    /// Hidden states [tokens, hidden] of the sequences `ids`, packed one after the other.
    pub fn forward(&self, ids: &[Vec<u32>]) -> candle_core::Result<Tensor> {
        let mut seqs = Vec::with_capacity(ids.len());
        let (mut flat, mut positions) = (Vec::new(), Vec::new());
        for s in ids {
            seqs.push((flat.len(), s.len()));
            flat.extend_from_slice(s);
            positions.extend(0..s.len() as u32);
        }
        let rows = flat.len();
        let flat = Tensor::from_vec(flat, rows, &self.device)?;
        let positions = Tensor::from_vec(positions, rows, &self.device)?;
        let x = self.word.index_select(&flat, 0)?;
        x.inplace_op2(
            &self.position.index_select(&positions, 0)?,
            &self.embed_norm,
        )?;
        let attention = Attention {
            heads: self.heads,
            seqs,
        };
        self.layers.iter().try_fold(x, |x, l| {
            let qkv = x.matmul(&l.qkv)?;
            qkv.inplace_op1(&l.qkv_bias)?;
            let a = qkv.apply_op1_no_bwd(&attention)?.matmul(&l.attn_out)?;
            a.inplace_op2(&x, &l.attn_norm)?;
            let up = a.matmul(&l.up)?;
            up.inplace_op1(&l.up_act)?;
            let out = up.matmul(&l.down)?;
            out.inplace_op2(&a, &l.out_norm)?;
            Ok(out)
        })
    }
}
