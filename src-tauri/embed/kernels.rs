//! Fused CPU kernels for the BERT encoder (`bert.rs`), as candle custom ops.
//!
//! candle's generic BERT runs each layer as ~20 separate operations, each allocating its
//! output (tens of MB for a batch of long texts) and several single-threaded (erf, exp).
//! These kernels do the element-wise work in one multi-threaded pass each, in place where they
//! can, and attention without materialising the [batch, heads, len, len] score tensor:
//! - `Bias`: `x += bias`, or `x = gelu(x + bias)` (exact erf GELU, as BERT's "gelu"), in place;
//! - `AddNorm`: `x = LayerNorm(x + bias + residual)`, in place;
//! - `Attention`: scaled dot-product attention over packed sequences, per sequence and head,
//!   with gemm on strided views of the fused QKV projection (no copies, no padding).
//!
//! Rows are tokens, packed: each sequence occupies its own run of rows, one after the other,
//! with no padding rows at all, so padding costs no compute anywhere in the encoder.
//! The loops are plain Rust that LLVM vectorises; `multiversion` compiles them once per
//! instruction set (AVX-512, AVX2/FMA, baseline) and picks at run time.
use candle_core::{bail, CpuStorage, CustomOp1, InplaceOp1, InplaceOp2, Layout, Result, Shape};
use rayon::prelude::*;

use crate::simd::{exp, max, simd_kernel, sum, LANES};

/// Rows handed to one rayon task by the row-wise kernels (a few hundred KB of work each).
const ROWS_PER_TASK: usize = 64;

/// The f32 slice behind a contiguous layout, or an error naming the op.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{op}: f32 only")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{op}: the input must be contiguous"),
    }
}

fn slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout, op: &str) -> Result<&'a mut [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{op}: f32 only")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&mut v[a..b]),
        None => bail!("{op}: the input must be contiguous"),
    }
}

/// Exact-erf GELU: 0.5·x·(1 + erf(x/√2)), with erf from Abramowitz & Stegun 7.1.26
/// (absolute error ≤ 1.5e-7, about f32's resolution around 1).
#[inline(always)]
fn gelu(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    let erf_abs = 1.0 - poly * exp(-a * a);
    0.5 * x * (1.0 + erf_abs.copysign(z))
}

simd_kernel! {
    fn bias_gelu(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = gelu(*v + b);
            }
        }
    }
}

simd_kernel! {
    fn bias_add(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
}

/// `x += bias`, then GELU when `gelu`, on [rows, bias.len()], in place.
pub struct Bias {
    pub values: Vec<f32>,
    pub gelu: bool,
}

impl InplaceOp1 for Bias {
    fn name(&self) -> &'static str {
        "bias"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let x = slice_mut(s, l, self.name())?;
        let kernel = if self.gelu { bias_gelu } else { bias_add };
        x.par_chunks_mut(self.values.len() * ROWS_PER_TASK)
            .for_each(|rows| kernel(rows, &self.values));
        Ok(())
    }
}

/// `x = LayerNorm(x + bias + residual) · gamma + beta` on [rows, width], in place in `x`.
pub struct AddNorm {
    pub bias: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub eps: f32,
}

impl InplaceOp2 for AddNorm {
    fn name(&self) -> &'static str {
        "add-norm"
    }

    fn cpu_fwd(
        &self,
        s: &mut CpuStorage,
        l: &Layout,
        res: &CpuStorage,
        res_l: &Layout,
    ) -> Result<()> {
        let width = self.bias.len();
        let x = slice_mut(s, l, self.name())?;
        let res = slice(res, res_l, self.name())?;
        if res.len() != x.len() {
            bail!("add-norm: residual has {} values, x {}", res.len(), x.len())
        }
        let chunk = width * ROWS_PER_TASK;
        x.par_chunks_mut(chunk)
            .zip(res.par_chunks(chunk))
            .for_each(|(xs, rs)| add_norm(xs, rs, self));
        Ok(())
    }
}

simd_kernel! {
    fn add_norm(rows: &mut [f32], res: &[f32], p: &AddNorm) {
        let width = p.bias.len();
        for (row, res) in rows.chunks_exact_mut(width).zip(res.chunks_exact(width)) {
            for ((v, r), b) in row.iter_mut().zip(res).zip(&p.bias) {
                *v += r + b;
            }
            let mean = sum(row) / width as f32;
            let mut sq = [0f32; LANES];
            for c in row.chunks_exact_mut(LANES) {
                for (a, v) in sq.iter_mut().zip(c) {
                    *v -= mean;
                    *a += *v * *v;
                }
            }
            let mut var: f32 = sq.iter().sum();
            for v in row.chunks_exact_mut(LANES).into_remainder() {
                *v -= mean;
                var += *v * *v;
            }
            let scale = 1.0 / (var / width as f32 + p.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&p.gamma).zip(&p.beta) {
                *v = *v * scale * g + b;
            }
        }
    }
}

/// Multi-head self-attention over packed sequences. Input: the fused projection
/// [rows, 3·hidden] (queries, keys, values side by side, biases added); output [rows, hidden]
/// with the heads side by side, as BERT's self-attention output before its dense layer.
/// A sequence only attends to its own rows.
pub struct Attention {
    pub heads: usize,
    /// (first row, number of rows) of each sequence, in row order, covering every row.
    pub seqs: Vec<(usize, usize)>,
}

impl CustomOp1 for Attention {
    fn name(&self) -> &'static str {
        "packed-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = slice(s, l, self.name())?;
        let (rows, width3) = l.shape().dims2()?;
        let hidden = width3 / 3;
        if width3 % 3 != 0 || hidden % self.heads != 0 {
            bail!("packed-attention: width {width3} is not 3 × heads × head size")
        }
        let mut next = 0;
        for &(first, n) in &self.seqs {
            if first != next {
                bail!("packed-attention: sequences must follow each other, row {first} ≠ {next}")
            }
            next += n;
        }
        if next != rows {
            bail!("packed-attention: the sequences cover {next} rows of {rows}")
        }
        let head = hidden / self.heads;
        let scale = 1.0 / (head as f32).sqrt();
        let mut out = vec![0f32; rows * hidden];
        let dst = SharedOut(out.as_mut_ptr());
        // One task per (sequence, head): enough tasks for both threads even with one text.
        (0..self.seqs.len() * self.heads)
            .into_par_iter()
            .for_each_init(Vec::new, |scores, task| {
                let (first, n) = self.seqs[task / self.heads];
                let col = (task % self.heads) * head;
                scores.resize(n * n, 0.0);
                let src = &qkv[first * width3..(first + n) * width3];
                // SAFETY: rows first..first + n of `out`, as [n, hidden] from this pointer;
                // this task writes only its own head's columns col..col + head of them, so no
                // two tasks write the same element, and `out` outlives the loop.
                unsafe {
                    let dst = dst.at(first * hidden);
                    attend_head(src, dst, scores, n, col, head, hidden, scale);
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows, hidden))))
    }
}

/// The attention output, written by many tasks at once, each to its own elements.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the tasks sharing it write disjoint elements (see its use in Attention::cpu_fwd).
unsafe impl Send for SharedOut {}
// SAFETY: as for Send: no element is written by two tasks, and none is read meanwhile.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// # Safety
    /// `offset` must lie inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps `offset` inside the buffer.
        unsafe { self.0.add(offset) }
    }
}

/// One head of one sequence: softmax(Q·Kᵀ·scale)·V into the columns `col..col + head` of `dst`.
/// `src` is the sequence's [n, 3·hidden] rows of the fused projection; `dst` points at its
/// [n, hidden] output rows, of which only those columns are written; `scores` is an n×n
/// scratch buffer.
///
/// # Safety
/// `dst` must point at `n` rows of `hidden` writable values whose columns `col..col + head`
/// no one else reads or writes during the call, with `col + head <= hidden`.
#[allow(clippy::too_many_arguments)]
unsafe fn attend_head(
    src: &[f32],
    dst: *mut f32,
    scores: &mut [f32],
    n: usize,
    col: usize,
    head: usize,
    hidden: usize,
    scale: f32,
) {
    let w3 = (3 * hidden) as isize;
    let q = src[col..].as_ptr();
    let k = src[hidden + col..].as_ptr();
    let v = src[2 * hidden + col..].as_ptr();
    // SAFETY: gemm reads and writes exactly the strided views described by the sizes and
    // strides below, which lie inside the slices: `src` holds n rows of 3·hidden values, and
    // q, k, v start at columns col, hidden + col and 2·hidden + col with col + head ≤ hidden;
    // `scores` holds n·n values. The buffers do not overlap.
    unsafe {
        // scores[i][j] = scale · Σ_d q[i][d] · k[j][d]: k read transposed through its strides.
        gemm::gemm(
            n,
            n,
            head,
            scores.as_mut_ptr(),
            1,
            n as isize,
            false,
            q,
            1,
            w3,
            k,
            w3,
            1,
            0.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    softmax_rows(scores, n);
    // SAFETY: as above for the scores and v; dst's n rows of `hidden` values, columns
    // col..col + head, are this call's alone to write (the function's contract).
    unsafe {
        gemm::gemm(
            n,
            head,
            n,
            dst.add(col),
            1,
            hidden as isize,
            false,
            scores.as_ptr(),
            1,
            n as isize,
            v,
            1,
            w3,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

simd_kernel! {
    /// Softmax of each row of `scores` (rows of `n`), in place.
    fn softmax_rows(scores: &mut [f32], n: usize) {
        for row in scores.chunks_exact_mut(n) {
            let m = max(row);
            for s in row.iter_mut() {
                *s = exp(*s - m);
            }
            let inv = 1.0 / sum(row);
            for s in row.iter_mut() {
                *s *= inv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use candle_core::{Device, Tensor};

    /// Deterministic values in [-2, 2).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        crate::simd::test_values(n, seed, 2.0)
    }

    #[test]
    fn packed_attention_equals_the_textbook_per_sequence() {
        let (heads, head) = (3, 8);
        let hidden = heads * head;
        let lens = [5, 1, 17];
        let rows: usize = lens.iter().sum();
        let qkv = values(rows * 3 * hidden, 7);
        let mut seqs = Vec::new();
        let mut first = 0;
        for n in lens {
            seqs.push((first, n));
            first += n;
        }
        let got = Tensor::from_vec(qkv.clone(), (rows, 3 * hidden), &Device::Cpu)
            .unwrap()
            .apply_op1_no_bwd(&Attention {
                heads,
                seqs: seqs.clone(),
            })
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let at = |r: usize, c: usize| qkv[r * 3 * hidden + c];
        for &(first, n) in &seqs {
            for h in 0..heads {
                for i in 0..n {
                    // Softmax over the sequence's own keys, in f64.
                    let scores: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..head)
                                .map(|d| {
                                    at(first + i, h * head + d) as f64
                                        * at(first + j, hidden + h * head + d) as f64
                                })
                                .sum::<f64>()
                                / (head as f64).sqrt()
                        })
                        .collect();
                    let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for d in 0..head {
                        let want: f64 = (0..n)
                            .map(|j| e[j] / z * at(first + j, 2 * hidden + h * head + d) as f64)
                            .sum();
                        let g = got[first + i][h * head + d] as f64;
                        assert!(
                            (g - want).abs() < 1e-5,
                            "row {} head {h} dim {d}: {g} vs {want}",
                            first + i
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn packed_attention_rejects_sequences_that_do_not_tile_the_rows() {
        let x = Tensor::zeros((4, 12), candle_core::DType::F32, &Device::Cpu).unwrap();
        for seqs in [vec![(0, 3)], vec![(0, 2), (1, 2)], vec![(0, 5)]] {
            let err = x.apply_op1_no_bwd(&Attention {
                heads: 2,
                seqs: seqs.clone(),
            });
            assert!(err.is_err(), "{seqs:?} accepted");
        }
    }

    #[test]
    fn add_norm_is_layer_norm_of_the_sum() {
        let width = 40; // two AVX-512 lanes' worth and a remainder
        let rows = 70; // more than one task's rows
        let (x, res) = (values(rows * width, 1), values(rows * width, 2));
        let p = AddNorm {
            bias: values(width, 3),
            gamma: values(width, 4),
            beta: values(width, 5),
            eps: 1e-12,
        };
        let t = Tensor::from_vec(x.clone(), (rows, width), &Device::Cpu).unwrap();
        let r = Tensor::from_vec(res.clone(), (rows, width), &Device::Cpu).unwrap();
        t.inplace_op2(&r, &p).unwrap();
        let got = t.to_vec2::<f32>().unwrap();
        for i in 0..rows {
            let v: Vec<f64> = (0..width)
                .map(|j| (x[i * width + j] + res[i * width + j] + p.bias[j]) as f64)
                .collect();
            let mean = v.iter().sum::<f64>() / width as f64;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / width as f64;
            for j in 0..width {
                let want =
                    (v[j] - mean) / (var + 1e-12).sqrt() * p.gamma[j] as f64 + p.beta[j] as f64;
                assert!((got[i][j] as f64 - want).abs() < 1e-4, "[{i}][{j}]");
            }
        }
    }

    #[test]
    fn bias_applies_the_bias_to_every_row_with_and_without_gelu() {
        let (rows, width) = (130, 24);
        let x = values(rows * width, 9);
        let bias = values(width, 10);
        let apply = |gelu| {
            let t = Tensor::from_vec(x.clone(), (rows, width), &Device::Cpu).unwrap();
            let values = bias.clone();
            t.inplace_op1(&Bias { values, gelu }).unwrap();
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let (add, act) = (apply(false), apply(true));
        for (i, v) in x.iter().enumerate() {
            let b = bias[i % width];
            assert_eq!(add[i], v + b);
            assert_eq!(act[i], gelu(v + b));
        }
    }

    #[test]
    fn gelu_matches_the_exact_erf_form() {
        for i in -1000..=1000 {
            let x = i as f64 / 100.0;
            let want = 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            let got = gelu(x as f32) as f64;
            assert!(
                (got - want).abs() < 2e-6 * x.abs().max(1.0),
                "gelu({x}) = {got}, exact {want}"
            );
        }
    }
}
