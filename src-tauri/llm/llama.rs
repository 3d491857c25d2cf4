//! The built-in models' forward pass: a Llama-architecture decoder (SmolLM2's `llama`, Qwen2.5's
//! `qwen2`: the same with Q/K/V biases and rotary embeddings on half-split pairs) over a GGUF's
//! quantised weights, keeping its KV cache in place between calls.
//!
//! candle reads the GGUF (metadata, tensors, f32 norms); the matrix products are `quant.rs`'s;
//! the rest is loops over buffers the model keeps. Per layer a step is four matrix products
//! (Q·K·V stacked as one matrix, the attention output, gate·up stacked, down) and attention
//! over the cache, per (token, head) on rayon's threads. candle-transformers'
//! `quantized_llama` does the same maths as ~20 tensor operations per layer, each allocating,
//! copying the KV cache and repeating K/V for grouped-query attention: at SmolLM2's size those
//! costs, not the arithmetic, set the speed (BENCHMARKS.md).
//!
//! The maths follows llama.cpp's CPU path, the oracle of tests/it/builtin.rs: RMSNorm, rotary
//! embeddings with llama.cpp's angle recurrence (on adjacent pairs for `llama`, GGUF's Q/K
//! layout; on pairs half a head apart for `qwen2`, llama.cpp's NEOX mode), SiLU gating,
//! activations quantised per matrix product as llama.cpp does, f32 attention.
use std::fs::File;

use candle_core::quantized::gguf_file::Content;
use candle_core::{bail, Device, Result};
use rayon::prelude::*;

use super::arena::Arena;
use super::keys::Keys;
use super::quant::{weights_arena, FileRows, Input, QMatrix};
use crate::simd::{exp, max, simd_kernel, sum, LANES};

/// The longest context the model keeps (its KV cache then holds 190 MB).
pub const MAX_CONTEXT: usize = 4096;

/// The shape of the model, from the GGUF's `llama.*` or `qwen2.*` metadata.
#[derive(Debug, Clone)]
struct Config {
    /// Rotary embeddings on pairs (i, i + head_dim/2) (NEOX, `qwen2`), not (2i, 2i + 1).
    neox: bool,
    layers: usize,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    ffn: usize,
    rms_eps: f32,
    rope_base: f32,
    vocab: usize,
}

impl Config {
    fn of(content: &Content) -> Result<Config> {
        let get = |key: &str| match content.metadata.get(key) {
            Some(v) => Ok(v),
            None => bail!("the GGUF has no {key}"),
        };
        let arch = get("general.architecture")?.to_string()?.clone();
        if arch != "llama" && arch != "qwen2" {
            bail!("the GGUF's architecture is {arch}; the built-in engine runs llama and qwen2")
        }
        let key = |k: &str| format!("{arch}.{k}");
        let int = |k: &str| get(&key(k)).and_then(|v| v.to_u32()).map(|v| v as usize);
        let float = |k: &str| get(&key(k)).and_then(|v| v.to_f32());
        let hidden = int("embedding_length")?;
        let heads = int("attention.head_count")?;
        let kv_heads = int("attention.head_count_kv").unwrap_or(heads);
        if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 || hidden % heads != 0 {
            bail!("unsupported attention: {heads} heads, {kv_heads} KV heads, width {hidden}")
        }
        let head_dim = hidden / heads;
        let rotated = int("rope.dimension_count").unwrap_or(head_dim);
        if rotated != head_dim || head_dim % 2 != 0 {
            bail!("unsupported rotary embeddings: {rotated} of {head_dim} dimensions per head")
        }
        if !head_dim.is_multiple_of(LANES) {
            bail!(
                "unsupported attention: a head dimension of {head_dim}, not a multiple of {LANES}"
            )
        }
        Ok(Config {
            neox: arch == "qwen2",
            layers: int("block_count")?,
            hidden,
            heads,
            kv_heads,
            head_dim,
            ffn: int("feed_forward_length")?,
            rms_eps: float("attention.layer_norm_rms_epsilon")?,
            rope_base: float("rope.freq_base").unwrap_or(10_000.0),
            vocab: 0,
        })
    }

    fn kv_width(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Q, K and V stacked: [hidden + 2·kv_width, hidden].
    qkv: QMatrix,
    /// Their biases, stacked likewise (`qwen2`), or empty (`llama`).
    qkv_bias: Vec<f32>,
    out: QMatrix,
    ffn_norm: Vec<f32>,
    /// Gate and up stacked: [2·ffn, hidden].
    gate_up: QMatrix,
    down: QMatrix,
    /// Rotated keys of the positions seen (`keys.rs`' layout), and their values,
    /// [position, kv_width].
    keys: Keys,
    values: Vec<f32>,
}

/// Buffers reused by every step (grown to the largest chunk seen).
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    big: Vec<f32>,
    /// The attention output, then the gated feed-forward activations.
    inner: Vec<f32>,
    input: Input,
}

/// The token embeddings and the output projection.
enum Vocab {
    /// One matrix for both (SmolLM2), in memory.
    Tied(QMatrix),
    /// The output in memory; the embeddings, only ever looked up, left in the file where the
    /// format allows.
    Separate { embed: Lookup, output: QMatrix },
}

enum Lookup {
    Memory(QMatrix),
    File(FileRows),
}

impl Vocab {
    fn output(&self) -> &QMatrix {
        match self {
            Vocab::Tied(m) | Vocab::Separate { output: m, .. } => m,
        }
    }

    /// The embedding of token `t` into `out`.
    fn embed(&self, t: usize, out: &mut [f32]) -> Result<()> {
        match self {
            Vocab::Tied(m)
            | Vocab::Separate {
                embed: Lookup::Memory(m),
                ..
            } => {
                m.row_into(t, out);
                Ok(())
            }
            Vocab::Separate {
                embed: Lookup::File(f),
                ..
            } => f.row_into(t, out),
        }
    }

    /// (rows, cols) of the embeddings.
    fn embed_shape(&self) -> (usize, usize) {
        match self {
            Vocab::Tied(m)
            | Vocab::Separate {
                embed: Lookup::Memory(m),
                ..
            } => (m.rows(), m.cols()),
            Vocab::Separate {
                embed: Lookup::File(f),
                ..
            } => (f.rows(), f.cols()),
        }
    }
}

pub struct Llama {
    cfg: Config,
    vocab: Vocab,
    norm: Vec<f32>,
    layers: Vec<Layer>,
    /// Positions in the cache.
    len: usize,
    scratch: Scratch,
}

impl Llama {
    /// The model in `file`, whose header candle read as `content`.
    pub fn from_gguf(content: &Content, file: &mut File) -> Result<Llama> {
        let mut cfg = Config::of(content)?;
        let separate = content.tensor_infos.contains_key("output.weight");
        let in_file = match separate {
            true => FileRows::open(content, file, "token_embd.weight")?,
            false => None,
        };
        // The weights read into memory share one mapping (the embeddings left in the file not).
        let skip: &[&str] = match in_file {
            Some(_) => &["token_embd.weight"],
            None => &[],
        };
        let mut file = Tensors {
            content,
            reader: file,
            arena: weights_arena(content, skip),
        };
        let vocab = match (separate, in_file) {
            (false, _) => Vocab::Tied(file.matrix("token_embd.weight")?),
            (true, Some(rows)) => Vocab::Separate {
                embed: Lookup::File(rows),
                output: file.matrix("output.weight")?,
            },
            (true, None) => Vocab::Separate {
                embed: Lookup::Memory(file.matrix("token_embd.weight")?),
                output: file.matrix("output.weight")?,
            },
        };
        let (rows, cols) = vocab.embed_shape();
        cfg.vocab = rows;
        let norm = file.vector("output_norm.weight", cfg.hidden)?;
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let p = format!("blk.{i}");
            let layer = Layer {
                qkv: file.stacked(&[
                    &format!("{p}.attn_q.weight"),
                    &format!("{p}.attn_k.weight"),
                    &format!("{p}.attn_v.weight"),
                ])?,
                out: file.matrix(&format!("{p}.attn_output.weight"))?,
                gate_up: file.stacked(&[
                    &format!("{p}.ffn_gate.weight"),
                    &format!("{p}.ffn_up.weight"),
                ])?,
                down: file.matrix(&format!("{p}.ffn_down.weight"))?,
                qkv_bias: match content
                    .tensor_infos
                    .contains_key(&format!("{p}.attn_q.bias"))
                {
                    true => [
                        file.vector(&format!("{p}.attn_q.bias"), cfg.hidden)?,
                        file.vector(&format!("{p}.attn_k.bias"), cfg.kv_width())?,
                        file.vector(&format!("{p}.attn_v.bias"), cfg.kv_width())?,
                    ]
                    .concat(),
                    false => Vec::new(),
                },
                attn_norm: file.vector(&format!("{p}.attn_norm.weight"), cfg.hidden)?,
                ffn_norm: file.vector(&format!("{p}.ffn_norm.weight"), cfg.hidden)?,
                keys: Keys::new(cfg.kv_heads, cfg.head_dim),
                values: Vec::new(),
            };
            let shapes = [
                (&layer.qkv, cfg.hidden + 2 * cfg.kv_width(), cfg.hidden),
                (&layer.out, cfg.hidden, cfg.hidden),
                (&layer.gate_up, 2 * cfg.ffn, cfg.hidden),
                (&layer.down, cfg.hidden, cfg.ffn),
            ];
            for (m, rows, cols) in shapes {
                if (m.rows(), m.cols()) != (rows, cols) {
                    bail!(
                        "{p}: a {}×{} matrix, expected {rows}×{cols}",
                        m.rows(),
                        m.cols()
                    )
                }
            }
            layers.push(layer);
        }
        let output = vocab.output();
        if cols != cfg.hidden || output.cols() != cfg.hidden || output.rows() != rows {
            bail!(
                "embeddings of {rows}×{cols} and an output of {}×{} in a model {} wide",
                output.rows(),
                output.cols(),
                cfg.hidden
            )
        }
        Ok(Llama {
            cfg,
            vocab,
            norm,
            layers,
            len: 0,
            scratch: Scratch::default(),
        })
    }

    /// Logits per step (the vocabulary the model scores).
    pub fn vocab(&self) -> usize {
        self.cfg.vocab
    }

    /// Runs `tokens` at positions `pos..`, after the first `pos` positions of the cache
    /// (later ones are dropped: `pos` 0 starts afresh), and returns the logits of the last.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>> {
        let n = tokens.len();
        if n == 0 {
            bail!("no tokens")
        }
        if pos > self.len {
            bail!("position {pos}, but {} positions are cached", self.len)
        }
        if pos + n > MAX_CONTEXT {
            bail!("{} positions: the context holds {MAX_CONTEXT}", pos + n)
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab) {
            bail!("token {t} is outside the vocabulary")
        }
        self.len = pos;
        // On a rayon thread, the step's parallel loops are plain fork-joins.
        let result = rayon::scope(|_| self.step(tokens, pos));
        if result.is_err() {
            self.len = 0;
        }
        result
    }

    fn step(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>> {
        let cfg = &self.cfg;
        let (n, hidden) = (tokens.len(), cfg.hidden);
        let (qw, kvw) = (cfg.hidden, cfg.kv_width());
        let s = &mut self.scratch;
        s.x.resize(n * hidden, 0.0);
        for (&t, row) in tokens.iter().zip(s.x.chunks_exact_mut(hidden)) {
            self.vocab.embed(t as usize, row)?;
        }
        let rope = Rope::new(cfg, pos, n);
        for layer in &mut self.layers {
            // Attention.
            rms_norm(&s.x, &layer.attn_norm, cfg.rms_eps, &mut s.h);
            let width = layer.qkv.rows();
            s.big.resize(n * width, 0.0);
            layer.qkv.matmul(&s.h, &mut s.input, &mut s.big)?;
            let bias = &layer.qkv_bias;
            in_row_tasks(&mut s.big, width, |first, rows| {
                for (i, row) in rows.chunks_exact_mut(width).enumerate() {
                    if !bias.is_empty() {
                        add(row, bias);
                    }
                    let (q, kv) = row.split_at_mut(qw);
                    rope.apply(q, first + i);
                    rope.apply(&mut kv[..kvw], first + i);
                }
            });
            layer.keys.truncate(pos);
            layer.values.truncate(pos * kvw);
            for row in s.big.chunks_exact(width) {
                let (k, v) = row[qw..].split_at(kvw);
                layer.keys.push(k);
                layer.values.extend_from_slice(v);
            }
            s.inner.resize(n * qw, 0.0);
            attention(cfg, &s.big, layer, pos, &mut s.inner);
            s.h.resize(n * hidden, 0.0);
            layer.out.matmul(&s.inner, &mut s.input, &mut s.h)?;
            residual(&mut s.x, &s.h, hidden);
            // Feed-forward.
            rms_norm(&s.x, &layer.ffn_norm, cfg.rms_eps, &mut s.h);
            s.big.resize(n * 2 * cfg.ffn, 0.0);
            layer.gate_up.matmul(&s.h, &mut s.input, &mut s.big)?;
            s.inner.resize(n * cfg.ffn, 0.0);
            let gate_up = &s.big;
            in_row_tasks(&mut s.inner, cfg.ffn, |first, rows| {
                swiglu(
                    &gate_up[first * 2 * cfg.ffn..][..2 * rows.len()],
                    cfg.ffn,
                    rows,
                );
            });
            s.h.resize(n * hidden, 0.0);
            layer.down.matmul(&s.inner, &mut s.input, &mut s.h)?;
            residual(&mut s.x, &s.h, hidden);
        }
        self.len = pos + n;
        let last = &s.x[(n - 1) * hidden..];
        rms_norm(last, &self.norm, cfg.rms_eps, &mut s.h);
        let output = self.vocab.output();
        let mut logits = vec![0f32; output.rows()];
        output.matmul(&s.h, &mut s.input, &mut logits)?;
        Ok(logits)
    }
}

/// The GGUF's tensors, read one by one.
struct Tensors<'a> {
    content: &'a Content,
    reader: &'a mut File,
    /// Where the matrices' blocks go.
    arena: Arena,
}

impl Tensors<'_> {
    fn matrix(&mut self, name: &str) -> Result<QMatrix> {
        self.stacked(&[name])
    }

    /// The rows of the tensors `names`, one after the other, as one matrix.
    fn stacked(&mut self, names: &[&str]) -> Result<QMatrix> {
        QMatrix::read(self.content, self.reader, names, &mut self.arena)
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>> {
        let t = self.content.tensor(self.reader, name, &Device::Cpu)?;
        let v = t.dequantize(&Device::Cpu)?.to_vec1::<f32>()?;
        if v.len() != len {
            bail!("{name} has {} values, not {len}", v.len())
        }
        Ok(v)
    }
}

/// Rotary embeddings for positions `pos..pos + n`: llama.cpp's cache, θ starting at the
/// position and multiplied by base^(-2/head_dim) for each next pair.
struct Rope {
    /// [n, head_dim / 2] each.
    cos: Vec<f32>,
    sin: Vec<f32>,
    head_dim: usize,
    neox: bool,
}

impl Rope {
    fn new(cfg: &Config, pos: usize, n: usize) -> Rope {
        let half = cfg.head_dim / 2;
        let scale = cfg.rope_base.powf(-2.0 / cfg.head_dim as f32);
        let (mut cos, mut sin) = (Vec::with_capacity(n * half), Vec::with_capacity(n * half));
        for p in pos..pos + n {
            let mut theta = p as f32;
            for _ in 0..half {
                cos.push(theta.cos());
                sin.push(theta.sin());
                theta *= scale;
            }
        }
        Rope {
            cos,
            sin,
            head_dim: cfg.head_dim,
            neox: cfg.neox,
        }
    }

    /// Rotates each head of `x` (heads side by side) for the `i`-th position, in place.
    fn apply(&self, x: &mut [f32], i: usize) {
        let half = self.head_dim / 2;
        let (cos, sin) = (
            &self.cos[i * half..(i + 1) * half],
            &self.sin[i * half..(i + 1) * half],
        );
        for head in x.chunks_exact_mut(self.head_dim) {
            if self.neox {
                // Pair i is (i, i + half).
                let (lo, hi) = head.split_at_mut(half);
                for (((a, b), c), s) in lo.iter_mut().zip(hi).zip(cos).zip(sin) {
                    let (x, y) = (*a, *b);
                    *a = x * c - y * s;
                    *b = x * s + y * c;
                }
            } else {
                for ((pair, c), s) in head.chunks_exact_mut(2).zip(cos).zip(sin) {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * c - b * s;
                    pair[1] = a * s + b * c;
                }
            }
        }
    }
}

simd_kernel! {
    /// `out` = each row of `x` scaled to unit root-mean-square, times `w`.
    fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
        for (row, o) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
            let mut sq = [0f32; LANES];
            let chunks = row.chunks_exact(LANES);
            let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
            for c in chunks {
                for (a, v) in sq.iter_mut().zip(c) {
                    *a += v * v;
                }
            }
            let mean = (sq.iter().sum::<f32>() + tail) / w.len() as f32;
            let scale = 1.0 / (mean + eps).sqrt();
            for ((o, v), w) in o.iter_mut().zip(row).zip(w) {
                *o = v * scale * w;
            }
        }
    }
}

/// A prompt's rows per task in the row-wise steps between the matrix products (norms, biases
/// and rotary embeddings, residual sums, SwiGLU). With fewer than two tasks' worth (a decode
/// step's one token) they run on the calling thread, where a fork-join would cost more than it
/// saves. Each row's arithmetic is the same either way: the same bits.
const ROWS_PER_TASK: usize = 8;

/// Runs `f(first row, rows)` over `out`'s rows of `width`, in tasks of [`ROWS_PER_TASK`] rows
/// on rayon's threads, or at once on this thread for a few rows. On 2 cores these steps were
/// about 6 % of a prompt's time on one thread (BENCHMARKS.md, "Row-wise steps on every core").
fn in_row_tasks(out: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if out.len() < 2 * ROWS_PER_TASK * width {
        f(0, out);
        return;
    }
    out.par_chunks_mut(ROWS_PER_TASK * width)
        .enumerate()
        .for_each(|(task, rows)| f(task * ROWS_PER_TASK, rows));
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    out.resize(x.len(), 0.0);
    let width = w.len();
    in_row_tasks(out, width, |first, rows| {
        rms_norm_rows(&x[first * width..][..rows.len()], w, eps, rows);
    });
}

/// `x += y`, rows of `width`: the residual sums.
fn residual(x: &mut [f32], y: &[f32], width: usize) {
    in_row_tasks(x, width, |first, rows| {
        add(rows, &y[first * width..][..rows.len()]);
    });
}

simd_kernel! {
    fn add(x: &mut [f32], y: &[f32]) {
        for (x, y) in x.iter_mut().zip(y) {
            *x += y;
        }
    }
}

simd_kernel! {
    /// Each row of `gu` is [gate, up] (`ffn` each, `out`'s rows `ffn` wide): `out` gets
    /// silu(gate)·up, written where the down product reads it (no copy of the gate halves).
    fn swiglu(gu: &[f32], ffn: usize, out: &mut [f32]) {
        for (row, o) in gu.chunks_exact(2 * ffn).zip(out.chunks_exact_mut(ffn)) {
            let (g, u) = row.split_at(ffn);
            for ((o, g), u) in o.iter_mut().zip(g).zip(u) {
                *o = *g / (1.0 + exp(-*g)) * u;
            }
        }
    }
}

/// Causal attention of the `n` new positions (queries in `qkv`'s rows) over the cache, which
/// already holds them: one task per (position, KV head) for the query heads that share it,
/// writing their slice of `out`, or one task per query head when that would leave threads idle
/// (one new token: as many tasks as KV heads). Both give the same bits.
fn attention(cfg: &Config, qkv: &[f32], layer: &Layer, pos: usize, out: &mut [f32]) {
    let n = out.len() / cfg.hidden;
    let per_task = if n * cfg.kv_heads < rayon::current_num_threads() {
        1
    } else {
        cfg.heads / cfg.kv_heads
    };
    attention_in_tasks(cfg, qkv, layer, pos, per_task, out);
}

/// [`attention`] with `per_task` query heads per task (1, or the heads of a KV group).
fn attention_in_tasks(
    cfg: &Config,
    qkv: &[f32],
    layer: &Layer,
    pos: usize,
    per_task: usize,
    out: &mut [f32],
) {
    let (hd, kvw) = (cfg.head_dim, cfg.kv_width());
    let width = qkv.len() / (out.len() / cfg.hidden);
    let group = cfg.heads / cfg.kv_heads;
    let tasks_per_token = cfg.heads / per_task;
    let scale = 1.0 / (hd as f32).sqrt();
    out.par_chunks_mut(per_task * hd)
        .enumerate()
        .for_each_init(Vec::new, |scores, (task, o)| {
            let (i, first) = (task / tasks_per_token, task % tasks_per_token * per_task);
            let head = first / group;
            let qs = &qkv[i * width + first * hd..][..per_task * hd];
            let n = pos + i + 1;
            let pad = layer.keys.scores(qs, head, n, scores);
            attend(scores, pad, n, &layer.values, kvw, head * hd, scale, o);
        });
}

simd_kernel! {
    /// softmax(scores·scale)·V into `out` for each query of a group (`scores` rows `pad` apart,
    /// `n` used; `out` a slice per query), V being one KV head's columns `col..` of rows `kvw`
    /// wide. Each query's arithmetic is what it was with one query per task; the V rows of
    /// 16 positions are read once for all the group's queries.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        scores: &mut [f32],
        pad: usize,
        n: usize,
        values: &[f32],
        kvw: usize,
        col: usize,
        scale: f32,
        out: &mut [f32],
    ) {
        let queries = scores.len() / pad;
        let hd = out.len() / queries;
        // Plain loops: iterator adaptors here would be compiled outside this multiversioned
        // function, for the baseline instruction set.
        for row in scores.chunks_exact_mut(pad) {
            let row = &mut row[..n];
            for s in row.iter_mut() {
                *s *= scale;
            }
            let m = max(row);
            for s in row.iter_mut() {
                *s = exp(*s - m);
            }
            let inv = 1.0 / sum(row);
            for s in row.iter_mut() {
                *s *= inv;
            }
        }
        out.fill(0.0);
        let values = &values[..n * kvw];
        for (b, block) in values.chunks(LANES * kvw).enumerate() {
            for (row, o) in scores.chunks_exact(pad).zip(out.chunks_exact_mut(hd)) {
                let ps = &row[b * LANES..];
                for (p, v) in ps.iter().zip(block.chunks_exact(kvw)) {
                    for (o, v) in o.iter_mut().zip(&v[col..col + hd]) {
                        *o += p * v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn config(heads: usize, kv_heads: usize, head_dim: usize) -> Config {
        Config {
            neox: false,
            layers: 1,
            hidden: heads * head_dim,
            heads,
            kv_heads,
            head_dim,
            ffn: 0,
            rms_eps: 1e-5,
            rope_base: 10_000.0,
            vocab: 0,
        }
    }

    /// Deterministic values in [-2, 2).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        crate::simd::test_values(n, seed, 2.0)
    }

    #[test]
    fn attention_is_causal_grouped_softmax_attention() {
        // 4 query heads over 2 KV heads; 3 new positions after 2 cached ones.
        let cfg = config(4, 2, 16);
        let (pos, n, kvw) = (2, 3, cfg.kv_width());
        let width = cfg.hidden + 2 * kvw;
        let qkv = values(n * width, 1);
        let keys = values((pos + n) * kvw, 2);
        let vals = values((pos + n) * kvw, 3);
        let layer = cache_layer(&cfg, &keys, &vals);
        let mut got = vec![0f32; n * cfg.hidden];
        attention(&cfg, &qkv, &layer, pos, &mut got);
        let hd = cfg.head_dim;
        for i in 0..n {
            for h in 0..cfg.heads {
                let q = &qkv[i * width + h * hd..][..hd];
                let col = (h / 2) * hd; // heads 0, 1 → KV head 0; 2, 3 → 1
                let visible = pos + i + 1;
                let s: Vec<f64> = (0..visible)
                    .map(|j| {
                        let k = &keys[j * kvw + col..][..hd];
                        q.iter().zip(k).map(|(a, b)| f64::from(a * b)).sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..hd {
                    let want: f64 = (0..visible)
                        .map(|j| e[j] / z * f64::from(vals[j * kvw + col + d]))
                        .sum();
                    let g = f64::from(got[i * cfg.hidden + h * hd + d]);
                    assert!(
                        (g - want).abs() < 1e-5,
                        "pos {i} head {h} [{d}]: {g} vs {want}"
                    );
                }
            }
        }
    }

    /// A layer whose cache holds `keys` and `vals` (rows of the KV width), with no weights.
    fn cache_layer(cfg: &Config, keys: &[f32], vals: &[f32]) -> Layer {
        Layer {
            attn_norm: Vec::new(),
            qkv: dummy(),
            qkv_bias: Vec::new(),
            out: dummy(),
            ffn_norm: Vec::new(),
            gate_up: dummy(),
            down: dummy(),
            keys: {
                let mut cache = Keys::new(cfg.kv_heads, cfg.head_dim);
                keys.chunks_exact(cfg.kv_width())
                    .for_each(|k| cache.push(k));
                cache
            },
            values: vals.to_vec(),
        }
    }

    #[test]
    fn attention_gives_the_bits_of_one_query_at_a_time() {
        // Small's shape: 14 query heads over 2 KV heads of 64. The reference is the
        // per-query arithmetic attention had before keys were scored in blocks: a dot
        // product per position, times the scale, max, exp, 1/sum, then Σ (e·inv)·v in order.
        use crate::simd::dot;
        let cfg = config(14, 2, 64);
        let (hd, kvw, group) = (cfg.head_dim, cfg.kv_width(), 7);
        let width = cfg.hidden + 2 * kvw;
        let scale = 1.0 / (hd as f32).sqrt();
        for (pos, n) in [(5, 20), (5, 1), (0, 1), (30, 3)] {
            let qkv = values(n * width, 11);
            let keys = values((pos + n) * kvw, 12);
            let vals = values((pos + n) * kvw, 13);
            let layer = cache_layer(&cfg, &keys, &vals);
            let mut want = vec![0f32; n * cfg.hidden];
            for i in 0..n {
                for h in 0..cfg.heads {
                    let q = &qkv[i * width + h * hd..][..hd];
                    let col = h / group * hd;
                    let visible = pos + i + 1;
                    let s: Vec<f32> = (0..visible)
                        .map(|j| dot(q, &keys[j * kvw + col..][..hd]) * scale)
                        .collect();
                    let m = max(&s);
                    let e: Vec<f32> = s.iter().map(|s| exp(s - m)).collect();
                    let inv = 1.0 / sum(&e);
                    let o = &mut want[i * cfg.hidden + h * hd..][..hd];
                    for (j, e) in e.iter().enumerate() {
                        let p = e * inv;
                        for (o, v) in o.iter_mut().zip(&vals[j * kvw + col..][..hd]) {
                            *o += p * v;
                        }
                    }
                }
            }
            for per_task in [1, group] {
                let mut got = vec![f32::NAN; n * cfg.hidden];
                attention_in_tasks(&cfg, &qkv, &layer, pos, per_task, &mut got);
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(
                        g.to_bits(),
                        w.to_bits(),
                        "pos {pos}, n {n}, {per_task} heads a task: [{k}] {g} vs {w}"
                    );
                }
            }
        }
    }

    fn dummy() -> QMatrix {
        let t = candle_core::Tensor::zeros((1, 32), candle_core::DType::F32, &Device::Cpu);
        let q = candle_core::quantized::QTensor::quantize(
            &t.unwrap(),
            candle_core::quantized::GgmlDType::Q8_0,
        );
        QMatrix::from_qtensor(&q.unwrap()).unwrap()
    }

    #[test]
    fn rope_rotates_pairs_by_position_times_frequency() {
        let cfg = config(2, 2, 8);
        let rope = Rope::new(&cfg, 5, 2);
        let x = values(16, 4);
        let mut y = x.clone();
        rope.apply(&mut y, 1); // position 6
        for (xs, ys) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
            for i in 0..4 {
                let theta = 6.0 * 10_000f64.powf(-2.0 * i as f64 / 8.0);
                let (a, b) = (f64::from(xs[2 * i]), f64::from(xs[2 * i + 1]));
                let want = (
                    a * theta.cos() - b * theta.sin(),
                    a * theta.sin() + b * theta.cos(),
                );
                let got = (f64::from(ys[2 * i]), f64::from(ys[2 * i + 1]));
                assert!((got.0 - want.0).abs() < 1e-5 && (got.1 - want.1).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn neox_rope_rotates_pairs_half_a_head_apart() {
        let mut cfg = config(2, 2, 8);
        cfg.neox = true;
        let rope = Rope::new(&cfg, 3, 1);
        let x = values(16, 7);
        let mut y = x.clone();
        rope.apply(&mut y, 0); // position 3
        for (xs, ys) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
            for i in 0..4 {
                let theta = 3.0 * 10_000f64.powf(-2.0 * i as f64 / 8.0);
                let (a, b) = (f64::from(xs[i]), f64::from(xs[i + 4]));
                let want = (
                    a * theta.cos() - b * theta.sin(),
                    a * theta.sin() + b * theta.cos(),
                );
                let got = (f64::from(ys[i]), f64::from(ys[i + 4]));
                assert!((got.0 - want.0).abs() < 1e-5 && (got.1 - want.1).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn rms_norm_scales_rows_to_unit_root_mean_square() {
        let x = values(2 * 40, 5);
        let w: Vec<f32> = (0..40).map(|i| 0.5 + i as f32 / 40.0).collect();
        let mut out = Vec::new();
        rms_norm(&x, &w, 1e-5, &mut out);
        for (row, o) in x.chunks_exact(40).zip(out.chunks_exact(40)) {
            let ms: f64 = row.iter().map(|v| f64::from(v * v)).sum::<f64>() / 40.0;
            for ((v, o), w) in row.iter().zip(o).zip(&w) {
                let want = f64::from(*v) / (ms + 1e-5).sqrt() * f64::from(*w);
                assert!((f64::from(*o) - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn row_wise_steps_in_tasks_give_the_bits_of_one_pass() {
        // 37 rows: five tasks of ROWS_PER_TASK on rayon's threads, the last one short.
        let (rows, width, ffn) = (37, 24, 10);
        let (x, y, w) = (
            values(rows * width, 1),
            values(rows * width, 2),
            values(width, 3),
        );
        let mut norm = Vec::new();
        rms_norm(&x, &w, 1e-5, &mut norm);
        let mut one_pass = vec![0f32; rows * width];
        rms_norm_rows(&x, &w, 1e-5, &mut one_pass);
        assert_eq!(bits(&norm), bits(&one_pass));

        let (mut sum, mut one_pass) = (x.clone(), x.clone());
        residual(&mut sum, &y, width);
        add(&mut one_pass, &y);
        assert_eq!(bits(&sum), bits(&one_pass));

        let gu = values(rows * 2 * ffn, 4);
        let (mut tasks, mut one_pass) = (vec![0f32; rows * ffn], vec![0f32; rows * ffn]);
        in_row_tasks(&mut tasks, ffn, |first, out| {
            swiglu(&gu[first * 2 * ffn..][..2 * out.len()], ffn, out);
        });
        swiglu(&gu, ffn, &mut one_pass);
        assert_eq!(bits(&tasks), bits(&one_pass));
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    #[test]
    fn swiglu_is_silu_of_the_gate_times_up() {
        let gu = values(2 * 6, 6);
        let want: Vec<f64> = gu
            .chunks_exact(6)
            .flat_map(|r| {
                (0..3).map(|j| {
                    let g = f64::from(r[j]);
                    g / (1.0 + (-g).exp()) * f64::from(r[3 + j])
                })
            })
            .collect::<Vec<_>>();
        let mut got = vec![0f32; 2 * 3];
        swiglu(&gu, 3, &mut got);
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{g} vs {w}");
        }
    }
}
