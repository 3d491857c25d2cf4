//! Quantised weight matrices for the built-in model (`llama.rs`) and the matrix products that
//! decide its speed.
//!
//! candle 0.11 reads the GGUF, but its CPU kernel for Q4_1 (the built-in GGUF's format) is the
//! scalar reference loop, and its quantised matmul allocates and synchronises its threads on
//! every call. Here:
//! - the weights keep the file's numbers: Q4_1 and Q8_0 blocks, their f16 scales widened to
//!   f32 once at load (exact); any other format candle reads is re-quantised to Q8_0 at load;
//! - an input vector is quantised once to 8-bit blocks, as llama.cpp does (its Q8_1 for Q4_1
//!   weights, Q8_0 for Q8_0: the same numbers, `s` is only used by Q4_1);
//! - each row's dot product is one AVX2 loop (`_mm256_maddubs_epi16` over 32 weights at a
//!   time, picked at run time; a scalar loop elsewhere), rows split over rayon's threads.
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{bail, Device, Result};
use half::f16;
use rayon::prelude::*;

use crate::simd::simd_kernel;

/// Values per quantisation block (both formats).
pub const BLOCK: usize = 32;
/// Output rows per rayon task: small enough that 2 threads share even a 192-row matrix.
const ROWS_PER_TASK: usize = 16;

/// 32 activations as 8-bit integers: x ≈ d·q. `s` = d·Σq, the term a Q4_1 block's offset
/// multiplies. `d` and `s` are rounded through f16 as in llama.cpp's blocks.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(8))]
pub struct Q8 {
    pub qs: [i8; BLOCK],
    pub d: f32,
    pub s: f32,
}

/// Quantises `x` (a multiple of 32 values, one or more vectors back to back) into `out`,
/// replacing its contents. llama.cpp's AVX2 `quantize_row_q8_1`: d = max|x|/127, q = x·127/max|x|
/// rounded to nearest even.
pub fn quantize(x: &[f32], out: &mut Vec<Q8>) {
    out.clear();
    out.resize(
        x.len() / BLOCK,
        Q8 {
            qs: [0; BLOCK],
            d: 0.0,
            s: 0.0,
        },
    );
    quantize_blocks(x, out);
}

simd_kernel! {
    fn quantize_blocks(x: &[f32], out: &mut [Q8]) {
        for (c, b) in x.chunks_exact(BLOCK).zip(out.iter_mut()) {
            let mut amax = 0f32;
            for v in c {
                amax = amax.max(v.abs());
            }
            let d = amax / 127.0;
            let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in b.qs.iter_mut().zip(c) {
                *q = (v * id).round_ties_even() as i8;
                sum += i32::from(*q);
            }
            b.d = f16::from_f32(d).to_f32();
            b.s = f16::from_f32(sum as f32 * d).to_f32();
        }
    }
}

enum Blocks {
    /// x = d·q + m, q in 0..16: byte j holds values j (low nibble) and j + 16 (high).
    Q4_1 {
        qs: Vec<[u8; 16]>,
        d: Vec<f32>,
        m: Vec<f32>,
    },
    /// x = d·q.
    Q8_0 { qs: Vec<[i8; BLOCK]>, d: Vec<f32> },
}

/// A [rows, cols] weight matrix, row-major, each row `cols / 32` blocks.
pub struct QMatrix {
    rows: usize,
    cols: usize,
    blocks: Blocks,
    avx2: bool,
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

impl QMatrix {
    /// The matrix behind a 2-D GGUF tensor: [rows, cols] as candle reports it (cols being the
    /// input width).
    pub fn from_qtensor(t: &QTensor) -> Result<QMatrix> {
        let (rows, cols) = t.shape().dims2()?;
        if cols % BLOCK != 0 {
            bail!("a {rows}×{cols} matrix: its width is not a multiple of {BLOCK}")
        }
        let requantised;
        let t = match t.dtype() {
            GgmlDType::Q4_1 | GgmlDType::Q8_0 => t,
            _ => {
                requantised = QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?;
                &requantised
            }
        };
        let data = t.data()?;
        let n = rows * cols / BLOCK;
        let blocks = match t.dtype() {
            GgmlDType::Q4_1 => {
                const SIZE: usize = 20;
                if data.len() != n * SIZE {
                    bail!("Q4_1 data of {} bytes for {n} blocks", data.len())
                }
                let mut qs = Vec::with_capacity(n);
                let (mut d, mut m) = (Vec::with_capacity(n), Vec::with_capacity(n));
                for b in data.chunks_exact(SIZE) {
                    d.push(f16_at(b, 0));
                    m.push(f16_at(b, 2));
                    let mut q = [0u8; 16];
                    q.copy_from_slice(&b[4..]);
                    qs.push(q);
                }
                Blocks::Q4_1 { qs, d, m }
            }
            _ => {
                const SIZE: usize = 2 + BLOCK;
                if data.len() != n * SIZE {
                    bail!("Q8_0 data of {} bytes for {n} blocks", data.len())
                }
                let mut qs = Vec::with_capacity(n);
                let mut d = Vec::with_capacity(n);
                for b in data.chunks_exact(SIZE) {
                    d.push(f16_at(b, 0));
                    qs.push(std::array::from_fn(|i| b[2 + i] as i8));
                }
                Blocks::Q8_0 { qs, d }
            }
        };
        Ok(QMatrix {
            rows,
            cols,
            blocks,
            avx2: has_avx2(),
        })
    }

    /// The rows of `parts` one after the other (e.g. Q, K and V as one matrix), all of the
    /// same width and format.
    pub fn stack(parts: Vec<QMatrix>) -> Result<QMatrix> {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            bail!("stacking no matrices")
        };
        for p in parts {
            if p.cols != all.cols {
                bail!("stacking matrices {} and {} wide", all.cols, p.cols)
            }
            match (&mut all.blocks, p.blocks) {
                (
                    Blocks::Q4_1 { qs, d, m },
                    Blocks::Q4_1 {
                        qs: q2,
                        d: d2,
                        m: m2,
                    },
                ) => {
                    qs.extend(q2);
                    d.extend(d2);
                    m.extend(m2);
                }
                (Blocks::Q8_0 { qs, d }, Blocks::Q8_0 { qs: q2, d: d2 }) => {
                    qs.extend(q2);
                    d.extend(d2);
                }
                _ => bail!("stacking matrices of different formats"),
            }
            all.rows += p.rows;
        }
        Ok(all)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r`, dequantised, into `out` (`cols` values): an embedding lookup.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let per_row = self.cols / BLOCK;
        let span = r * per_row..(r + 1) * per_row;
        match &self.blocks {
            Blocks::Q4_1 { qs, d, m } => {
                for (((q, d), m), o) in qs[span.clone()]
                    .iter()
                    .zip(&d[span.clone()])
                    .zip(&m[span])
                    .zip(out.chunks_exact_mut(BLOCK))
                {
                    for (j, b) in q.iter().enumerate() {
                        o[j] = d * f32::from(b & 0x0F) + m;
                        o[j + 16] = d * f32::from(b >> 4) + m;
                    }
                }
            }
            Blocks::Q8_0 { qs, d } => {
                for ((q, d), o) in qs[span.clone()]
                    .iter()
                    .zip(&d[span])
                    .zip(out.chunks_exact_mut(BLOCK))
                {
                    for (o, &q) in o.iter_mut().zip(q) {
                        *o = d * f32::from(q);
                    }
                }
            }
        }
    }

    /// Row `r` · the quantised vector `x` (`cols / 32` blocks).
    fn dot(&self, r: usize, x: &[Q8]) -> f32 {
        let span = r * x.len()..(r + 1) * x.len();
        match &self.blocks {
            Blocks::Q4_1 { qs, d, m } => {
                let (qs, d, m) = (&qs[span.clone()], &d[span.clone()], &m[span]);
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: `avx2` is set only where the CPU has AVX2 and FMA.
                    return unsafe { x86::dot_q4_1(qs, d, m, [x])[0] };
                }
                dot_q4_1(qs, d, m, x)
            }
            Blocks::Q8_0 { qs, d } => {
                let (qs, d) = (&qs[span.clone()], &d[span]);
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: as above.
                    return unsafe { x86::dot_q8_0(qs, d, x) };
                }
                dot_q8_0(qs, d, x)
            }
        }
    }

    /// Row `r` · four quantised vectors: for a Q4_1 row on AVX2 each weight block is unpacked
    /// once for the four (reading a prompt), else four single dot products.
    fn dot4(&self, r: usize, x: [&[Q8]; 4]) -> [f32; 4] {
        #[cfg(target_arch = "x86_64")]
        if let (Blocks::Q4_1 { qs, d, m }, true) = (&self.blocks, self.avx2) {
            let per_row = x[0].len();
            let span = r * per_row..(r + 1) * per_row;
            // SAFETY: `avx2` is set only where the CPU has AVX2 and FMA.
            return unsafe { x86::dot_q4_1(&qs[span.clone()], &d[span.clone()], &m[span], x) };
        }
        x.map(|x| self.dot(r, x))
    }

    /// `out = x · selfᵀ` for `x` the quantised vectors of [n, cols] (n·cols/32 blocks):
    /// `out` is [n, rows]. Rows are split over rayon's threads; each weight row is read once
    /// for all n vectors.
    pub fn matmul(&self, x: &[Q8], out: &mut [f32]) -> Result<()> {
        let per_row = self.cols / BLOCK;
        let n = x.len() / per_row;
        if x.len() != n * per_row || out.len() != n * self.rows {
            bail!(
                "a {}×{} matrix times {} blocks into {} values",
                self.rows,
                self.cols,
                x.len(),
                out.len()
            )
        }
        if n == 1 {
            out.par_chunks_mut(ROWS_PER_TASK)
                .enumerate()
                .for_each(|(c, ys)| {
                    for (i, y) in ys.iter_mut().enumerate() {
                        *y = self.dot(c * ROWS_PER_TASK + i, x);
                    }
                });
            return Ok(());
        }
        // [rows, n] first, so that each task writes one contiguous run; then transposed.
        let mut by_row = vec![0f32; n * self.rows];
        by_row
            .par_chunks_mut(ROWS_PER_TASK * n)
            .enumerate()
            .for_each(|(c, ys)| {
                let v = |j: usize| &x[j * per_row..(j + 1) * per_row];
                for (i, ys) in ys.chunks_exact_mut(n).enumerate() {
                    let r = c * ROWS_PER_TASK + i;
                    let fours = n / 4 * 4;
                    for j in (0..fours).step_by(4) {
                        let y = self.dot4(r, [v(j), v(j + 1), v(j + 2), v(j + 3)]);
                        ys[j..j + 4].copy_from_slice(&y);
                    }
                    for (j, y) in ys.iter_mut().enumerate().skip(fours) {
                        *y = self.dot(r, v(j));
                    }
                }
            });
        for (r, ys) in by_row.chunks_exact(n).enumerate() {
            for (j, y) in ys.iter().enumerate() {
                out[j * self.rows + r] = *y;
            }
        }
        Ok(())
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Σ over blocks of d_w·d_x·Σ q_w·q_x + m_w·s_x (llama.cpp's `vec_dot_q4_1_q8_1`), scalar.
fn dot_q4_1(qs: &[[u8; 16]], d: &[f32], m: &[f32], x: &[Q8]) -> f32 {
    let mut sum = 0f32;
    for (((q, d), m), x) in qs.iter().zip(d).zip(m).zip(x) {
        let mut s = 0i32;
        for (j, b) in q.iter().enumerate() {
            s += i32::from(b & 0x0F) * i32::from(x.qs[j])
                + i32::from(b >> 4) * i32::from(x.qs[j + 16]);
        }
        sum += s as f32 * d * x.d + m * x.s;
    }
    sum
}

/// Σ over blocks of d_w·d_x·Σ q_w·q_x (llama.cpp's `vec_dot_q8_0_q8_0`), scalar.
fn dot_q8_0(qs: &[[i8; BLOCK]], d: &[f32], x: &[Q8]) -> f32 {
    let mut sum = 0f32;
    for ((q, d), x) in qs.iter().zip(d).zip(x) {
        let s: i32 = q
            .iter()
            .zip(&x.qs)
            .map(|(&a, &b)| i32::from(a) * i32::from(b))
            .sum();
        sum += s as f32 * d * x.d;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Q8};

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// 32 signed bytes.
    #[target_feature(enable = "avx2,fma")]
    fn load(q: &[i8; BLOCK]) -> __m256i {
        // SAFETY: an unaligned load of exactly the 32 bytes of `q`.
        unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
    }

    /// A Q4_1 block's 16 bytes of nibbles as 32 unsigned bytes: low nibbles, then high.
    #[target_feature(enable = "avx2,fma")]
    fn unpack(q: &[u8; 16]) -> __m256i {
        // SAFETY: an unaligned load of exactly the 16 bytes of `q`.
        let raw = unsafe { _mm_loadu_si128(q.as_ptr().cast()) };
        _mm256_and_si256(
            _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw),
            _mm256_set1_epi8(0x0F),
        )
    }

    /// Σ u·s over 32 byte pairs (u unsigned, s signed) as 8 f32 partial sums: `maddubs`
    /// multiplies and adds pairs into i16, `madd` adds pairs again into i32. The i16 sums never
    /// saturate here: u ≤ 15 (Q4_1) or u = |w| ≤ 128 (Q8_0), |s| ≤ 127, and 2·128·127 < 2¹⁵.
    #[target_feature(enable = "avx2,fma")]
    fn dot_bytes(u: __m256i, s: __m256i) -> __m256 {
        let pairs = _mm256_maddubs_epi16(u, s);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    /// The scalar `dot_q4_1` of one row with N vectors, 32 weights per step, each weight
    /// block unpacked once for the N (N = 4 when reading a prompt).
    #[target_feature(enable = "avx2,fma")]
    pub fn dot_q4_1<const N: usize>(
        qs: &[[u8; 16]],
        d: &[f32],
        m: &[f32],
        x: [&[Q8]; N],
    ) -> [f32; N] {
        let n = qs.len().min(d.len()).min(m.len());
        let x = x.map(|x| &x[..n]);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut offset = [0f32; N];
        for i in 0..n {
            let w = unpack(&qs[i]);
            for k in 0..N {
                let b = &x[k][i];
                let p = dot_bytes(w, load(&b.qs));
                acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d[i] * b.d), p, acc[k]);
                offset[k] += m[i] * b.s;
            }
        }
        let mut out = [0f32; N];
        for ((o, a), off) in out.iter_mut().zip(acc).zip(offset) {
            *o = hsum(a) + off;
        }
        out
    }

    /// The scalar `dot_q8_0`, 32 weights per step: `maddubs` needs one unsigned side, so it
    /// multiplies |w| by x with w's sign moved onto x.
    #[target_feature(enable = "avx2,fma")]
    pub fn dot_q8_0(qs: &[[i8; BLOCK]], d: &[f32], x: &[Q8]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for ((q, &d), x) in qs.iter().zip(d).zip(x) {
            let (w, xs) = (load(q), load(&x.qs));
            let p = dot_bytes(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xs, w));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d), p, acc);
        }
        hsum(acc)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{Module, Tensor};

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        crate::simd::test_values(n, seed, 1.0)
    }

    fn qtensor(rows: usize, cols: usize, dtype: GgmlDType, seed: u32) -> QTensor {
        let w = Tensor::from_vec(values(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&w, dtype).unwrap()
    }

    /// candle's own quantised matmul (its reference kernels) on the same tensor and input.
    fn candle_matmul(t: QTensor, x: &[f32], n: usize) -> Vec<f32> {
        let cols = t.shape().dims2().unwrap().1;
        let x = Tensor::from_vec(x.to_vec(), (n, cols), &Device::Cpu).unwrap();
        let y = QMatMul::from_qtensor(t).unwrap().forward(&x).unwrap();
        y.flatten_all().unwrap().to_vec1().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * w.abs().max(1.0), "[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn matrix_products_equal_candles_for_both_formats() {
        let (rows, cols) = (40, 192);
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            // 1: a matrix-vector product; 6: four vectors at a time, then two.
            for n in [1, 6] {
                let x = values(n * cols, 9);
                let m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, 5)).unwrap();
                let mut q = Vec::new();
                quantize(&x, &mut q);
                let mut got = vec![0f32; n * rows];
                m.matmul(&q, &mut got).unwrap();
                // Both quantise the input to 8 bits, rounding a few values differently.
                let want = candle_matmul(qtensor(rows, cols, dtype, 5), &x, n);
                assert_close(&got, &want, 1e-2);
                // The dequantised weights times the dequantised input, in f64: float rounding
                // only for Q8_0; Q4_1's offset term uses `s` rounded to f16 (as llama.cpp's).
                let tol = if dtype == GgmlDType::Q8_0 { 1e-4 } else { 1e-2 };
                let w = qtensor(rows, cols, dtype, 5)
                    .dequantize(&Device::Cpu)
                    .unwrap();
                let w = w.to_vec2::<f32>().unwrap();
                for (j, xq) in q.chunks_exact(cols / BLOCK).enumerate() {
                    let xd: Vec<f64> = xq
                        .iter()
                        .flat_map(|b| b.qs.iter().map(|&v| f64::from(v) * f64::from(b.d)))
                        .collect();
                    for (r, w) in w.iter().enumerate() {
                        let exact: f64 = w.iter().zip(&xd).map(|(&a, b)| f64::from(a) * b).sum();
                        let g = f64::from(got[j * rows + r]);
                        assert!(
                            (g - exact).abs() < tol,
                            "{dtype:?} [{j}, {r}]: {g} vs {exact}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_simd_kernels_equal_the_scalar_ones() {
        let (rows, cols) = (17, 256);
        let x = values(cols, 3);
        let mut q = Vec::new();
        quantize(&x, &mut q);
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let mut m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, 11)).unwrap();
            let fast: Vec<f32> = (0..rows).map(|r| m.dot(r, &q)).collect();
            let four: Vec<Vec<Q8>> = (0..4)
                .map(|k| {
                    let mut q = Vec::new();
                    quantize(&values(cols, 20 + k), &mut q);
                    q
                })
                .collect();
            let four = [&four[0][..], &four[1][..], &four[2][..], &four[3][..]];
            let fast4: Vec<[f32; 4]> = (0..rows).map(|r| m.dot4(r, four)).collect();
            m.avx2 = false;
            let scalar: Vec<f32> = (0..rows).map(|r| m.dot(r, &q)).collect();
            // The same integer sums; only the order of the float additions differs.
            assert_close(&fast, &scalar, 1e-5);
            for (k, x) in four.iter().enumerate() {
                let got: Vec<f32> = fast4.iter().map(|y| y[k]).collect();
                let want: Vec<f32> = (0..rows).map(|r| m.dot(r, x)).collect();
                assert_close(&got, &want, 1e-5);
            }
        }
    }

    #[test]
    fn other_formats_are_requantised_and_rows_dequantise() {
        let t = qtensor(8, 64, GgmlDType::F16, 2);
        let want = t
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let m = QMatrix::from_qtensor(&t).unwrap();
        let mut row = vec![0f32; 64];
        for (r, want) in want.iter().enumerate() {
            m.row_into(r, &mut row);
            assert_close(&row, want, 1e-2);
        }
        let q41 = qtensor(4, 64, GgmlDType::Q4_1, 2);
        let want = q41
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let m = QMatrix::from_qtensor(&q41).unwrap();
        m.row_into(3, &mut row);
        assert_eq!(row, want[3]);
    }

    #[test]
    fn stacked_matrices_give_the_parts_rows_in_order() {
        let parts = [(8, 3), (4, 4), (12, 5)];
        let x = values(64, 1);
        let mut q = Vec::new();
        quantize(&x, &mut q);
        let mut want = Vec::new();
        let mut mats = Vec::new();
        for (rows, seed) in parts {
            let m = QMatrix::from_qtensor(&qtensor(rows, 64, GgmlDType::Q4_1, seed)).unwrap();
            let mut y = vec![0f32; rows];
            m.matmul(&q, &mut y).unwrap();
            want.extend(y);
            mats.push(m);
        }
        let all = QMatrix::stack(mats).unwrap();
        assert_eq!((all.rows(), all.cols()), (24, 64));
        let mut got = vec![0f32; 24];
        all.matmul(&q, &mut got).unwrap();
        assert_eq!(got, want);
        let mixed = vec![
            QMatrix::from_qtensor(&qtensor(2, 64, GgmlDType::Q4_1, 1)).unwrap(),
            QMatrix::from_qtensor(&qtensor(2, 64, GgmlDType::Q8_0, 1)).unwrap(),
        ];
        assert!(QMatrix::stack(mixed).is_err());
    }

    #[test]
    fn quantised_activations_are_within_half_a_step() {
        let x = values(96, 4);
        let mut q = Vec::new();
        quantize(&x, &mut q);
        for (b, c) in q.iter().zip(x.chunks_exact(BLOCK)) {
            for (&q, v) in b.qs.iter().zip(c) {
                assert!(
                    (f32::from(q) * b.d - v).abs() <= b.d * 0.51,
                    "{q}·{} vs {v}",
                    b.d
                );
            }
            let s: i32 = b.qs.iter().map(|&q| i32::from(q)).sum();
            assert!((b.s - s as f32 * b.d).abs() <= 1e-3 * b.s.abs().max(1.0));
        }
        quantize(&[0.0; 32], &mut q);
        assert_eq!((q.len(), q[0].d, q[0].qs), (1, 0.0, [0; 32]));
    }

    #[test]
    fn a_mismatched_product_is_an_error() {
        let m = QMatrix::from_qtensor(&qtensor(4, 64, GgmlDType::Q8_0, 1)).unwrap();
        let mut q = Vec::new();
        quantize(&values(96, 1), &mut q); // 3 blocks: not a whole number of 64-wide rows
        assert!(m.matmul(&q, &mut [0f32; 4]).is_err());
        quantize(&values(64, 1), &mut q);
        assert!(m.matmul(&q, &mut [0f32; 3]).is_err());
    }
}
