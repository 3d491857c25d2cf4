//! Quantised weight matrices for the built-in models (`llama.rs`) and the matrix products that
//! decide their speed.
//!
//! candle 0.11 reads the GGUF, but several of its CPU kernels are scalar reference loops and its
//! quantised matmul allocates and synchronises its threads on every call. Here:
//! - the weights keep the file's numbers, in the file's formats: Q4_1, Q5_0 and Q8_0 blocks of
//!   32 values and the K-quants Q4_K and Q6_K (super-blocks of 256). The 32-value formats keep
//!   their f16 scales as the file has them (the kernels widen them with F16C, 64 blocks at a
//!   time): they take the file's bytes, no more (widened to f32 they took a fifth more: Tiny's
//!   Q4_1, 20 → 24 bytes per block). The K-quants' two scales per 256 values are widened at load
//!   (exact; Q4_K's packed 6-bit scales unpacked to bytes). Any other format candle reads (F16,
//!   F32) is quantised to Q8_0 at load;
//! - an input vector is quantised once per product to what llama.cpp's `vec_dot_type` of the
//!   weights is: 8-bit blocks of 32 (its Q8_0 / Q8_1) for Q4_1, Q5_0 and Q8_0, 8-bit blocks of
//!   256 with sums per 16 (its Q8_K) for Q4_K and Q6_K, with the same rounding;
//! - each row's dot product is one AVX2 loop per format (`maddubs` over 32 weights at a time,
//!   picked at run time; a scalar loop elsewhere), for one input vector or eight at once (reading
//!   a prompt: each weight block is unpacked once for the eight); rows split over rayon's threads,
//!   each task walking its rows' weights and eight input vectors at a time while they sit in L1;
//! - one matrix may stack parts of different formats (Q, K and V of one layer can differ).
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{bail, Device, Result};
use half::f16;
use rayon::prelude::*;

use super::arena::{Arena, Run, ALIGN};
use crate::simd::simd_kernel;

/// Values per block of the 32-value formats (Q4_1, Q5_0, Q8_0 and their inputs).
pub const BLOCK: usize = 32;
/// Values per super-block of the K-quants (Q4_K, Q6_K and their Q8_K inputs).
pub const SUPER: usize = 256;
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

/// 256 activations as 8-bit integers (llama.cpp's Q8_K): x ≈ d·q, `bsums` the sums of each 16
/// `qs` (what K-quant offsets multiply).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
pub struct Q8K {
    pub qs: [i8; SUPER],
    pub bsums: [i16; SUPER / 16],
    pub d: f32,
}

/// Quantises `x` (a multiple of 32 values, one or more vectors back to back) into `out`,
/// replacing its contents. llama.cpp's AVX2 `quantize_row_q8_1`: d = max|x|/127, q = x·127/max|x|
/// rounded to nearest even.
pub fn quantize(x: &[f32], out: &mut Vec<Q8>) {
    // No need to clear: every block is written.
    out.resize(
        x.len() / BLOCK,
        Q8 {
            qs: [0; BLOCK],
            d: 0.0,
            s: 0.0,
        },
    );
    in_parallel(x, BLOCK, out, quantize_blocks);
}

/// Blocks quantised per task: a prompt's activations are split over the threads (the same
/// arithmetic per block, so the same bits), a token's are quantised where they are.
const QUANTISED_PER_TASK: usize = 64;

/// `kernel(x, out)` over `out`'s blocks (`size` values of `x` each), in tasks when there are
/// enough of them.
fn in_parallel<T: Send>(x: &[f32], size: usize, out: &mut [T], kernel: fn(&[f32], &mut [T])) {
    if out.len() <= QUANTISED_PER_TASK {
        kernel(x, out);
    } else {
        out.par_chunks_mut(QUANTISED_PER_TASK)
            .zip(x.par_chunks(QUANTISED_PER_TASK * size))
            .for_each(|(out, x)| kernel(x, out));
    }
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

/// Quantises `x` (a multiple of 256 values) into Q8_K blocks, replacing `out`'s contents.
/// llama.cpp's `quantize_row_q8_K_ref`: the value of largest magnitude maps to -127, d = -max/127
/// (f32), q = round-to-even(x/d) capped at 127.
pub fn quantize_k(x: &[f32], out: &mut Vec<Q8K>) {
    // No need to clear: every block is written.
    out.resize(
        x.len() / SUPER,
        Q8K {
            qs: [0; SUPER],
            bsums: [0; SUPER / 16],
            d: 0.0,
        },
    );
    in_parallel(x, SUPER, out, quantize_k_blocks);
}

simd_kernel! {
    fn quantize_k_blocks(x: &[f32], out: &mut [Q8K]) {
        for (c, b) in x.chunks_exact(SUPER).zip(out.iter_mut()) {
            let (mut amax, mut max) = (0f32, 0f32);
            for &v in c {
                if amax < v.abs() {
                    amax = v.abs();
                    max = v;
                }
            }
            if amax == 0.0 {
                b.d = 0.0;
                b.qs = [0; SUPER];
                b.bsums = [0; SUPER / 16];
                continue;
            }
            let iscale = -127.0 / max;
            for (q, v) in b.qs.iter_mut().zip(c) {
                *q = (iscale * v).round_ties_even().min(127.0) as i8;
            }
            for (s, q) in b.bsums.iter_mut().zip(b.qs.chunks_exact(16)) {
                let mut t = 0i16;
                for &q in q {
                    t += i16::from(q);
                }
                *s = t;
            }
            b.d = 1.0 / iscale;
        }
    }
}

/// An input to a matrix product, quantised for the matrix's formats; reused between products.
#[derive(Default)]
pub struct Input {
    q8: Vec<Q8>,
    q8k: Vec<Q8K>,
    /// The same blocks, eight vectors interleaved (block i of vectors 8g..8g + 8 side by side
    /// at [g·blocks + i]): a kernel walking eight vectors then finds each block at a fixed
    /// offset from one pointer, instead of holding eight pointers, which spilled to the stack.
    q8x8: Vec<[Q8; 8]>,
    q8kx8: Vec<[Q8K; 8]>,
}

/// `blocks` ([n vectors, per_row blocks each]) as groups of eight interleaved into `out` (see
/// [`Input`]); the n mod 8 last vectors are left out.
fn interleave<T: Copy>(blocks: &[T], per_row: usize, out: &mut Vec<[T; 8]>) {
    out.clear();
    if per_row == 0 {
        return;
    }
    let vectors = blocks.len() / per_row;
    for group in 0..vectors / 8 {
        let base = group * 8 * per_row;
        out.extend((0..per_row).map(|i| std::array::from_fn(|k| blocks[base + k * per_row + i])));
    }
}

/// Blocks `span` of interleaved groups of eight (see [`Input`]) as groups of N, the kernels'
/// batch (N is 8 wherever a group is used); empty when the input holds none there (a format
/// this product does not read).
#[cfg(target_arch = "x86_64")]
fn group<T, const N: usize>(interleaved: &[[T; 8]], span: std::ops::Range<usize>) -> &[[T; N]] {
    interleaved
        .as_flattened()
        .as_chunks::<N>()
        .0
        .get(span)
        .unwrap_or_default()
}

/// The N input vectors a kernel multiplies a weight row by, block by block: N slices, or
/// N vectors interleaved (block i of each side by side).
pub trait Batch<'a, T: 'a, const N: usize>: Copy {
    /// Only the first `n` blocks of each vector (which must have them).
    fn upto(self, n: usize) -> Self;
    /// Block `i` of vector `k`.
    fn at(self, k: usize, i: usize) -> &'a T;
}

impl<'a, T: 'a, const N: usize> Batch<'a, T, N> for [&'a [T]; N] {
    #[inline(always)]
    fn upto(self, n: usize) -> Self {
        self.map(|x| &x[..n])
    }
    #[inline(always)]
    fn at(self, k: usize, i: usize) -> &'a T {
        &self[k][i]
    }
}

impl<'a, T: 'a, const N: usize> Batch<'a, T, N> for &'a [[T; N]] {
    #[inline(always)]
    fn upto(self, n: usize) -> Self {
        &self[..n]
    }
    #[inline(always)]
    fn at(self, k: usize, i: usize) -> &'a T {
        &self[i][k]
    }
}

/// Which input vectors a product takes: N by index, or interleaved group g (vectors
/// 8g..8g + 8, N = 8, see [`Input`]).
#[derive(Clone, Copy)]
enum Vectors<const N: usize> {
    At([usize; N]),
    Group(usize),
}

impl<const N: usize> Vectors<N> {
    /// The vectors' indices.
    fn indices(self) -> [usize; N] {
        match self {
            Vectors::At(j) => j,
            Vectors::Group(g) => std::array::from_fn(|k| 8 * g + k),
        }
    }
}

/// A Q4_K super-block: x = d·scale·q − dmin·min per 32 values, q in 0..16. Byte j of each 32
/// holds value j of one sub-block (low nibble) and of the next (high nibble).
#[derive(Clone, Copy)]
struct Q4KBlock {
    d: f32,
    dmin: f32,
    scales: [u8; 8],
    mins: [u8; 8],
    qs: [u8; SUPER / 2],
}

/// A Q6_K super-block: x = d·scale·(q − 32) per 16 values, q in 0..64 (four low bits in `ql`,
/// two high bits in `qh`, in llama.cpp's interleaved layout).
#[derive(Clone, Copy)]
struct Q6KBlock {
    d: f32,
    scales: [i8; SUPER / 16],
    ql: [u8; SUPER / 2],
    qh: [u8; SUPER / 4],
}

enum Blocks {
    /// x = d·q + m, q in 0..16: byte j holds values j (low nibble) and j + 16 (high).
    Q4_1 {
        qs: Run<[u8; 16]>,
        d: Run<f16>,
        m: Run<f16>,
    },
    /// x = d·(q − 16), q in 0..32: four low bits as Q4_1's, bit j of `qh` the fifth of value j.
    Q5_0 {
        qs: Run<[u8; 16]>,
        qh: Run<u32>,
        d: Run<f16>,
    },
    /// x = d·q.
    Q8_0 {
        qs: Run<[i8; BLOCK]>,
        d: Run<f16>,
    },
    Q4K(Run<Q4KBlock>),
    Q6K(Run<Q6KBlock>),
}

impl Blocks {
    /// Values per block.
    fn size(&self) -> usize {
        Blocks::size_of(self.dtype())
    }

    /// Values per block of `dtype`, as read by `read`.
    fn size_of(dtype: GgmlDType) -> usize {
        match dtype {
            GgmlDType::Q4K | GgmlDType::Q6K => SUPER,
            _ => BLOCK,
        }
    }

    /// The GGUF format of these blocks.
    fn dtype(&self) -> GgmlDType {
        match self {
            Blocks::Q4_1 { .. } => GgmlDType::Q4_1,
            Blocks::Q5_0 { .. } => GgmlDType::Q5_0,
            Blocks::Q8_0 { .. } => GgmlDType::Q8_0,
            Blocks::Q4K(_) => GgmlDType::Q4K,
            Blocks::Q6K(_) => GgmlDType::Q6K,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Blocks::Q4_1 { .. } => "Q4_1",
            Blocks::Q5_0 { .. } => "Q5_0",
            Blocks::Q8_0 { .. } => "Q8_0",
            Blocks::Q4K(_) => "Q4_K",
            Blocks::Q6K(_) => "Q6_K",
        }
    }

    /// Bytes per block of `dtype` in the file; `None`: a format without kernels here.
    fn bytes(dtype: GgmlDType) -> Option<usize> {
        match dtype {
            GgmlDType::Q4_1 => Some(20),
            GgmlDType::Q5_0 => Some(22),
            GgmlDType::Q8_0 => Some(34),
            GgmlDType::Q4K => Some(144),
            GgmlDType::Q6K => Some(210),
            _ => None,
        }
    }

    /// Reads `n` blocks of `dtype` from the GGUF's bytes.
    fn read(dtype: GgmlDType, data: &[u8], n: usize) -> Result<Blocks> {
        let mut blocks = Blocks::empty(dtype, n, &mut Arena::heap())?;
        if Some(data.len()) != Blocks::bytes(dtype).map(|size| n * size) {
            bail!("{dtype:?} data of {} bytes for {n} blocks", data.len())
        }
        blocks.append(data);
        Ok(blocks)
    }

    /// No blocks of `dtype` yet, room for `n` in `arena`.
    fn empty(dtype: GgmlDType, n: usize, arena: &mut Arena) -> Result<Blocks> {
        Ok(match dtype {
            GgmlDType::Q4_1 => Blocks::Q4_1 {
                qs: arena.run(n),
                d: arena.run(n),
                m: arena.run(n),
            },
            GgmlDType::Q5_0 => Blocks::Q5_0 {
                qs: arena.run(n),
                qh: arena.run(n),
                d: arena.run(n),
            },
            GgmlDType::Q8_0 => Blocks::Q8_0 {
                qs: arena.run(n),
                d: arena.run(n),
            },
            GgmlDType::Q4K => Blocks::Q4K(arena.run(n)),
            GgmlDType::Q6K => Blocks::Q6K(arena.run(n)),
            _ => bail!("no kernel for {dtype:?} blocks"),
        })
    }

    /// Appends the blocks in `data`, bytes as the GGUF holds them in this format (whole
    /// blocks: a partial one at the end is ignored; callers read whole blocks).
    fn append(&mut self, data: &[u8]) {
        // Every format held has its size in the file.
        let Some(size) = Blocks::bytes(self.dtype()) else {
            return;
        };
        let blocks = data.chunks_exact(size);
        match self {
            Blocks::Q4_1 { qs, d, m } => {
                d.extend(blocks.clone().map(|b| half_at(b, 0)));
                m.extend(blocks.clone().map(|b| half_at(b, 2)));
                qs.extend(blocks.map(|b| array(&b[4..])));
            }
            Blocks::Q5_0 { qs, qh, d } => {
                d.extend(blocks.clone().map(|b| half_at(b, 0)));
                qh.extend(blocks.clone().map(|b| u32::from_le_bytes(array(&b[2..6]))));
                qs.extend(blocks.map(|b| array(&b[6..])));
            }
            Blocks::Q8_0 { qs, d } => {
                d.extend(blocks.clone().map(|b| half_at(b, 0)));
                qs.extend(blocks.map(|b| array(&b[2..]).map(|v: u8| v as i8)));
            }
            Blocks::Q4K(out) => out.extend(blocks.map(|b| {
                let s: [u8; 12] = array(&b[4..16]);
                // llama.cpp's get_scale_min_k4: 6-bit scales and mins, the first four in the
                // low bits of bytes 0..8, the last four split over 8..12 and the top bits of
                // 0..8.
                let scale = |j: usize| match j < 4 {
                    true => (s[j] & 63, s[j + 4] & 63),
                    false => (
                        (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4),
                        (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
                    ),
                };
                Q4KBlock {
                    d: f16_at(b, 0),
                    dmin: f16_at(b, 2),
                    scales: std::array::from_fn(|j| scale(j).0),
                    mins: std::array::from_fn(|j| scale(j).1),
                    qs: array(&b[16..]),
                }
            })),
            Blocks::Q6K(out) => out.extend(blocks.map(|b| Q6KBlock {
                ql: array(&b[..128]),
                qh: array(&b[128..192]),
                scales: array(&b[192..208]).map(|v: u8| v as i8),
                d: f16_at(b, 208),
            })),
        }
    }

    /// Appends `other`'s blocks (same format).
    fn extend(&mut self, other: Blocks) -> Result<()> {
        match (self, other) {
            (Blocks::Q4_1 { qs, d, m }, Blocks::Q4_1 { qs: q, d: e, m: n }) => {
                qs.extend(q.iter().copied());
                d.extend(e.iter().copied());
                m.extend(n.iter().copied());
            }
            (Blocks::Q5_0 { qs, qh, d }, Blocks::Q5_0 { qs: q, qh: h, d: e }) => {
                qs.extend(q.iter().copied());
                qh.extend(h.iter().copied());
                d.extend(e.iter().copied());
            }
            (Blocks::Q8_0 { qs, d }, Blocks::Q8_0 { qs: q, d: e }) => {
                qs.extend(q.iter().copied());
                d.extend(e.iter().copied());
            }
            (Blocks::Q4K(a), Blocks::Q4K(b)) => a.extend(b.iter().copied()),
            (Blocks::Q6K(a), Blocks::Q6K(b)) => a.extend(b.iter().copied()),
            (a, b) => bail!("appending {} blocks to {}", b.name(), a.name()),
        }
        Ok(())
    }

    /// Blocks `span` dequantised into `out`.
    fn dequantize(&self, span: std::ops::Range<usize>, out: &mut [f32]) {
        match self {
            Blocks::Q4_1 { qs, d, m } => {
                for (i, o) in span.zip(out.chunks_exact_mut(BLOCK)) {
                    let (d, m) = (d[i].to_f32(), m[i].to_f32());
                    for (j, b) in qs[i].iter().enumerate() {
                        o[j] = d * f32::from(b & 0x0F) + m;
                        o[j + 16] = d * f32::from(b >> 4) + m;
                    }
                }
            }
            Blocks::Q5_0 { qs, qh, d } => {
                for (i, o) in span.zip(out.chunks_exact_mut(BLOCK)) {
                    let d = d[i].to_f32();
                    for (j, o) in o.iter_mut().enumerate() {
                        *o = d * f32::from(q5_0_value(&qs[i], qh[i], j));
                    }
                }
            }
            Blocks::Q8_0 { qs, d } => {
                for (i, o) in span.zip(out.chunks_exact_mut(BLOCK)) {
                    let d = d[i].to_f32();
                    for (o, &q) in o.iter_mut().zip(&qs[i]) {
                        *o = d * f32::from(q);
                    }
                }
            }
            Blocks::Q4K(b) => {
                for (b, o) in b[span].iter().zip(out.chunks_exact_mut(SUPER)) {
                    for (j, o) in o.iter_mut().enumerate() {
                        let s = j / BLOCK;
                        *o = b.d * f32::from(b.scales[s]) * f32::from(q4k_value(b, j))
                            - b.dmin * f32::from(b.mins[s]);
                    }
                }
            }
            Blocks::Q6K(b) => {
                for (b, o) in b[span].iter().zip(out.chunks_exact_mut(SUPER)) {
                    for (j, o) in o.iter_mut().enumerate() {
                        *o = b.d * f32::from(b.scales[j / 16]) * f32::from(q6k_value(b, j));
                    }
                }
            }
        }
    }
}

/// Value `j` (0..32) of a Q5_0 block, q − 16.
fn q5_0_value(qs: &[u8; 16], qh: u32, j: usize) -> i8 {
    let low = if j < 16 {
        qs[j] & 0x0F
    } else {
        qs[j - 16] >> 4
    };
    (low | ((((qh >> j) & 1) as u8) << 4)) as i8 - 16
}

/// Value `j` (0..256) of a Q4_K super-block, q in 0..16.
fn q4k_value(b: &Q4KBlock, j: usize) -> u8 {
    let (chunk, l) = (j / 64, j % 64);
    let byte = b.qs[chunk * 32 + l % 32];
    if l < 32 {
        byte & 0x0F
    } else {
        byte >> 4
    }
}

/// Value `j` (0..256) of a Q6_K super-block, q − 32 (llama.cpp's `dequantize_row_q6_K`).
fn q6k_value(b: &Q6KBlock, j: usize) -> i8 {
    let (half, r) = (j / 128, j % 128);
    let (quarter, l) = (r / 32, r % 32);
    let ql = &b.ql[half * 64..];
    let qh = b.qh[half * 32 + l];
    let low = match quarter {
        0 => ql[l] & 0x0F,
        1 => ql[l + 32] & 0x0F,
        2 => ql[l] >> 4,
        _ => ql[l + 32] >> 4,
    };
    let high = (qh >> (2 * quarter)) & 3;
    (low | (high << 4)) as i8 - 32
}

fn half_at(b: &[u8], at: usize) -> f16 {
    f16::from_le_bytes([b[at], b[at + 1]])
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    half_at(b, at).to_f32()
}

/// The first N bytes of `b` (callers pass slices of the block size they checked).
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    std::array::from_fn(|i| b[i])
}

/// Rows of one format within a (possibly stacked) matrix.
struct Part {
    rows: usize,
    blocks: Blocks,
}

/// Where a 2-D tensor's blocks lie in the GGUF file, and their format.
#[derive(Clone, Copy)]
struct Span {
    /// Where row 0 starts in the file.
    start: u64,
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    /// Blocks per row, and bytes per block in the file.
    per_row: usize,
    block_bytes: usize,
}

impl Span {
    /// Tensor `name` of the GGUF whose header is `content` and whose size is `len`; `None` for
    /// a format without kernels here.
    fn of(content: &Content, len: u64, name: &str) -> Result<Option<Span>> {
        let Some(info) = content.tensor_infos.get(name) else {
            bail!("the GGUF has no tensor {name}")
        };
        let (rows, cols) = info.shape.dims2()?;
        let dtype = info.ggml_dtype;
        let (Some(bytes), size) = (Blocks::bytes(dtype), Blocks::size_of(dtype)) else {
            return Ok(None);
        };
        if cols % size != 0 {
            bail!("{name}: a {rows}×{cols} matrix whose width is not a multiple of {size}")
        }
        let per_row = cols / size;
        let start = content.tensor_data_offset.saturating_add(info.offset);
        let end = (rows as u64)
            .checked_mul((per_row * bytes) as u64)
            .and_then(|n| n.checked_add(start));
        if end.is_none_or(|end| end > len) {
            bail!("{name} ({rows}×{cols}) does not fit in a {len}-byte file")
        }
        Ok(Some(Span {
            start,
            dtype,
            rows,
            cols,
            per_row,
            block_bytes: bytes,
        }))
    }

    fn blocks(&self) -> usize {
        self.rows * self.per_row
    }
}

/// A [rows, cols] matrix left in the GGUF file and read a row at a time. A model with its own
/// output matrix only looks its token embeddings up, one row per token: reading the rows of the
/// tokens seen keeps the table (a fifth of Qwen2.5-0.5B's file) out of memory, as llama.cpp's
/// mapped file does.
pub struct FileRows {
    file: Mutex<File>,
    span: Span,
}

impl FileRows {
    /// Tensor `name` of the GGUF open as `file`; `None` for a format without kernels here.
    pub fn open(content: &Content, file: &File, name: &str) -> Result<Option<FileRows>> {
        let Some(span) = Span::of(content, file.metadata()?.len(), name)? else {
            return Ok(None);
        };
        Ok(Some(FileRows {
            file: Mutex::new(file.try_clone()?),
            span,
        }))
    }

    pub fn rows(&self) -> usize {
        self.span.rows
    }

    pub fn cols(&self) -> usize {
        self.span.cols
    }

    /// Row `r`, dequantised, into `out` (`cols` values).
    pub fn row_into(&self, r: usize, out: &mut [f32]) -> Result<()> {
        let Span {
            start,
            dtype,
            rows,
            cols,
            per_row: n,
            block_bytes: bytes,
        } = self.span;
        if r >= rows || out.len() != cols {
            bail!("row {r} of {rows} into {} values", out.len())
        }
        let mut data = vec![0u8; n * bytes];
        {
            let mut file = self
                .file
                .lock()
                .map_err(|_| candle_core::Error::Msg("the GGUF file's lock is poisoned".into()))?;
            file.seek(SeekFrom::Start(start + (r * n * bytes) as u64))?;
            file.read_exact(&mut data)?;
        }
        Blocks::read(dtype, &data, n)?.dequantize(0..n, out);
        Ok(())
    }
}

/// An arena with room for the blocks of every tensor of the GGUF whose header is `content` that
/// `QMatrix::read` reads straight from the file (the formats with kernels here), but those named
/// in `skip` (left in the file).
pub fn weights_arena(content: &Content, skip: &[&str]) -> Arena {
    let bytes = content
        .tensor_infos
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .filter_map(|(_, info)| {
            let bytes = Blocks::bytes(info.ggml_dtype)?;
            let blocks = info.shape.elem_count() / Blocks::size_of(info.ggml_dtype);
            // Up to three runs a tensor (Q4_1's qs, d and m), each aligned on its own.
            blocks.checked_mul(bytes)?.checked_add(3 * ALIGN)
        })
        .fold(0usize, usize::saturating_add);
    Arena::new(bytes)
}

/// A [rows, cols] weight matrix, row-major, each row `cols / block size` blocks; stacked
/// matrices keep one part per format run.
pub struct QMatrix {
    rows: usize,
    cols: usize,
    parts: Vec<Part>,
    avx2: bool,
}

impl QMatrix {
    /// The matrix behind a 2-D GGUF tensor: [rows, cols] as candle reports it (cols being the
    /// input width).
    pub fn from_qtensor(t: &QTensor) -> Result<QMatrix> {
        let (rows, cols) = t.shape().dims2()?;
        let requantised;
        let t = match t.dtype() {
            GgmlDType::Q4_1
            | GgmlDType::Q5_0
            | GgmlDType::Q8_0
            | GgmlDType::Q4K
            | GgmlDType::Q6K => t,
            _ => {
                requantised = QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?;
                &requantised
            }
        };
        let size = Blocks::size_of(t.dtype());
        if cols % size != 0 {
            bail!("a {rows}×{cols} matrix: its width is not a multiple of {size}")
        }
        let blocks = Blocks::read(t.dtype(), &t.data()?, rows * cols / size)?;
        Ok(QMatrix {
            rows,
            cols,
            parts: vec![Part { rows, blocks }],
            avx2: crate::simd::avx2_fma_f16c(),
        })
    }

    /// The tensors `names` of the GGUF open as `file` (header `content`), their rows one after
    /// the other (e.g. Q, K and V as one matrix). Blocks of the formats with kernels are read
    /// straight from the file into the blocks kept, a chunk at a time, each run of one format
    /// carved from `arena` once at its final size: loading holds no second copy of a tensor (candle's
    /// reader would hold the file's bytes and its own blocks besides). Other formats go
    /// through candle and become Q8_0 (`from_qtensor`).
    pub fn read(
        content: &Content,
        file: &mut File,
        names: &[&str],
        arena: &mut Arena,
    ) -> Result<QMatrix> {
        /// Blocks read per chunk (up to 210 bytes each: at most ~200 KB at a time).
        const CHUNK: usize = 1024;
        let len = file.metadata()?.len();
        let spans = names
            .iter()
            .map(|name| Span::of(content, len, name))
            .collect::<Result<Vec<_>>>()?;
        let mut all: Option<QMatrix> = None;
        let mut buf = Vec::new();
        for (i, (name, span)) in names.iter().zip(&spans).enumerate() {
            let Some(span) = span else {
                let m = QMatrix::from_qtensor(&content.tensor(file, name, &Device::Cpu)?)?;
                all = Some(match all.take() {
                    None => m,
                    Some(all) => QMatrix::stack(vec![all, m])?,
                });
                continue;
            };
            let m = all.get_or_insert_with(|| QMatrix {
                rows: 0,
                cols: span.cols,
                parts: Vec::new(),
                avx2: crate::simd::avx2_fma_f16c(),
            });
            if m.cols != span.cols {
                bail!(
                    "{name} is {} wide, stacked on a matrix {} wide",
                    span.cols,
                    m.cols
                )
            }
            // A run of tensors of one format is one part, allocated once for the whole run.
            if m.parts
                .last()
                .is_none_or(|p| p.blocks.dtype() != span.dtype)
            {
                let run = spans[i..]
                    .iter()
                    .map_while(|s| s.filter(|s| s.dtype == span.dtype))
                    .map(|s| s.blocks())
                    .sum();
                m.parts.push(Part {
                    rows: 0,
                    blocks: Blocks::empty(span.dtype, run, arena)?,
                });
            }
            let Some(part) = m.parts.last_mut() else {
                bail!("{name}: no part to read into")
            };
            file.seek(SeekFrom::Start(span.start))?;
            let mut left = span.blocks();
            while left > 0 {
                let n = left.min(CHUNK);
                buf.resize(n * span.block_bytes, 0);
                file.read_exact(&mut buf)?;
                part.blocks.append(&buf);
                left -= n;
            }
            part.rows += span.rows;
            m.rows += span.rows;
        }
        all.ok_or_else(|| candle_core::Error::Msg("reading no matrices".into()))
    }

    /// The rows of `parts` one after the other (e.g. Q, K and V as one matrix), all of the
    /// same width; neighbours of the same format share one run of blocks.
    pub fn stack(parts: Vec<QMatrix>) -> Result<QMatrix> {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            bail!("stacking no matrices")
        };
        for p in parts {
            if p.cols != all.cols {
                bail!("stacking matrices {} and {} wide", all.cols, p.cols)
            }
            all.rows += p.rows;
            for part in p.parts {
                match all.parts.last_mut() {
                    Some(last)
                        if std::mem::discriminant(&last.blocks)
                            == std::mem::discriminant(&part.blocks) =>
                    {
                        last.rows += part.rows;
                        last.blocks.extend(part.blocks)?;
                    }
                    _ => all.parts.push(part),
                }
            }
        }
        Ok(all)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The formats of the matrix's parts (e.g. "Q5_0+Q8_0").
    #[cfg(test)]
    fn format(&self) -> String {
        let names: Vec<&str> = self.parts.iter().map(|p| p.blocks.name()).collect();
        names.join("+")
    }

    /// The part holding row `r`, and the row's index within it.
    fn part(&self, mut r: usize) -> (&Blocks, usize) {
        for p in &self.parts {
            if r < p.rows {
                return (&p.blocks, r);
            }
            r -= p.rows;
        }
        unreachable!("row {r} beyond the matrix (callers index rows < self.rows)")
    }

    /// Row `r`, dequantised, into `out` (`cols` values): an embedding lookup.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let (blocks, r) = self.part(r);
        let per_row = self.cols / blocks.size();
        blocks.dequantize(r * per_row..(r + 1) * per_row, out);
    }

    /// Quantises `x` ([n, cols]) into `input` in the forms the parts need.
    fn quantize_input(&self, x: &[f32], input: &mut Input, interleaved: bool) {
        let sizes = || self.parts.iter().map(|p| p.blocks.size());
        if sizes().any(|s| s == BLOCK) {
            quantize(x, &mut input.q8);
            if interleaved {
                interleave(&input.q8, self.cols / BLOCK, &mut input.q8x8);
            }
        }
        if sizes().any(|s| s == SUPER) {
            quantize_k(x, &mut input.q8k);
            if interleaved {
                interleave(&input.q8k, self.cols / SUPER, &mut input.q8kx8);
            }
        }
    }

    /// Row `r` · the quantised input vectors `j`.
    #[cfg(test)]
    fn dot<const N: usize>(&self, r: usize, x: &Input, j: [usize; N]) -> [f32; N] {
        let mut y = [0f32; N];
        self.dot_rows(r..r + 1, x, Vectors::At(j), |_, got| y = got);
        y
    }

    /// Each row of `rows` · the quantised input vectors `j`, handed to `put(row, products)`
    /// (for N > 1, each weight block is unpacked once for the N vectors). The part, the
    /// format and the input vectors' slices are found once for the rows, not once a row.
    fn dot_rows<const N: usize>(
        &self,
        rows: std::ops::Range<usize>,
        x: &Input,
        j: Vectors<N>,
        mut put: impl FnMut(usize, [f32; N]),
    ) {
        let mut first = 0;
        for p in &self.parts {
            let (lo, hi) = (rows.start.max(first), rows.end.min(first + p.rows));
            if lo < hi {
                self.dot_part(&p.blocks, lo - first..hi - first, x, j, |r, y| {
                    put(first + r, y)
                });
            }
            first += p.rows;
        }
    }

    /// [`QMatrix::dot_rows`] within one part (`rows` counted in it).
    fn dot_part<const N: usize>(
        &self,
        blocks: &Blocks,
        rows: std::ops::Range<usize>,
        x: &Input,
        vectors: Vectors<N>,
        mut put: impl FnMut(usize, [f32; N]),
    ) {
        let per_row = self.cols / blocks.size();
        let at = |r: usize| r * per_row..(r + 1) * per_row;
        let j = vectors.indices();
        let v8 = || j.map(|j| &x.q8[at(j)]);
        let vk = || j.map(|j| &x.q8k[at(j)]);
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // Only the blocks of this part's format are read (the other may be empty).
            if let Vectors::Group(g) = vectors {
                // Eight interleaved vectors: the same kernels, each block at a fixed offset.
                let v8 = group::<_, N>(&x.q8x8, at(g));
                let vk = group::<_, N>(&x.q8kx8, at(g));
                self.dot_kernels(blocks, rows, at, v8, vk, put);
            } else {
                let v8 = j.map(|j| x.q8.get(at(j)).unwrap_or_default());
                let vk = j.map(|j| x.q8k.get(at(j)).unwrap_or_default());
                self.dot_kernels(blocks, rows, at, v8, vk, put);
            }
            return;
        }
        for r in rows {
            let s = at(r);
            put(
                r,
                match blocks {
                    Blocks::Q4_1 { qs, d, m } => {
                        v8().map(|x| dot_q4_1(&qs[s.clone()], &d[s.clone()], &m[s.clone()], x))
                    }
                    Blocks::Q5_0 { qs, qh, d } => {
                        v8().map(|x| dot_q5_0(&qs[s.clone()], &qh[s.clone()], &d[s.clone()], x))
                    }
                    Blocks::Q8_0 { qs, d } => {
                        v8().map(|x| dot_q8_0(&qs[s.clone()], &d[s.clone()], x))
                    }
                    Blocks::Q4K(b) => vk().map(|x| dot_q4k(&b[s.clone()], x)),
                    Blocks::Q6K(b) => vk().map(|x| dot_q6k(&b[s.clone()], x)),
                },
            );
        }
    }

    /// The AVX2 kernels for [`QMatrix::dot_part`]: `v8` and `vk`, the input vectors as the
    /// 32-value and the K-quant formats have them.
    #[cfg(target_arch = "x86_64")]
    fn dot_kernels<'a, const N: usize>(
        &self,
        blocks: &Blocks,
        rows: std::ops::Range<usize>,
        at: impl Fn(usize) -> std::ops::Range<usize>,
        v8: impl Batch<'a, Q8, N>,
        vk: impl Batch<'a, Q8K, N>,
        mut put: impl FnMut(usize, [f32; N]),
    ) {
        match blocks {
            Blocks::Q4_1 { qs, d, m } => {
                for r in rows {
                    let s = at(r);
                    // SAFETY: `avx2` is set only where the CPU has AVX2, FMA and F16C.
                    let y = unsafe { x86::dot_q4_1(&qs[s.clone()], &d[s.clone()], &m[s], v8) };
                    put(r, y);
                }
            }
            Blocks::Q5_0 { qs, qh, d } => {
                for r in rows {
                    let s = at(r);
                    // SAFETY: `avx2` is set only where the CPU has AVX2, FMA and F16C.
                    let y = unsafe { x86::dot_q5_0(&qs[s.clone()], &qh[s.clone()], &d[s], v8) };
                    put(r, y);
                }
            }
            Blocks::Q8_0 { qs, d } => {
                for r in rows {
                    let s = at(r);
                    // SAFETY: `avx2` is set only where the CPU has AVX2, FMA and F16C.
                    let y = unsafe { x86::dot_q8_0(&qs[s.clone()], &d[s], v8) };
                    put(r, y);
                }
            }
            Blocks::Q4K(b) => {
                for r in rows {
                    // SAFETY: `avx2` is set only where the CPU has AVX2, FMA and F16C.
                    let y = unsafe { x86::dot_q4k(&b[at(r)], vk) };
                    put(r, y);
                }
            }
            Blocks::Q6K(b) => {
                for r in rows {
                    // SAFETY: `avx2` is set only where the CPU has AVX2, FMA and F16C.
                    let y = unsafe { x86::dot_q6k(&b[at(r)], vk) };
                    put(r, y);
                }
            }
        }
    }

    /// `out = x · selfᵀ` for `x` [n, cols]: `out` is [n, rows]. `x` is quantised into `input`
    /// first. Rows are split over rayon's threads; each weight row is read once for all n
    /// vectors.
    pub fn matmul(&self, x: &[f32], input: &mut Input, out: &mut [f32]) -> Result<()> {
        let n = x.len() / self.cols.max(1);
        if x.len() != n * self.cols || out.len() != n * self.rows || n == 0 {
            bail!(
                "a {}×{} matrix times {} values into {}",
                self.rows,
                self.cols,
                x.len(),
                out.len()
            )
        }
        self.quantize_input(x, input, n >= 8 && self.avx2);
        let input = &*input;
        if n == 1 {
            out.par_chunks_mut(ROWS_PER_TASK)
                .enumerate()
                .for_each(|(c, ys)| {
                    let first = c * ROWS_PER_TASK;
                    self.dot_rows(first..first + ys.len(), input, Vectors::At([0]), |r, y| {
                        ys[r - first] = y[0]
                    });
                });
            return Ok(());
        }
        // Each task takes ROWS_PER_TASK rows (columns of `out`) and walks the tokens eight at a
        // time: its rows' weights and eight input vectors stay in L1 while every pair is
        // multiplied, and each input vector is read once per task.
        let rows = self.rows;
        let columns = Columns::of(out);
        (0..rows.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .for_each(|c| {
                let mine = c * ROWS_PER_TASK..((c + 1) * ROWS_PER_TASK).min(rows);
                let put = |j: usize| {
                    move |r: usize, y: &[f32]| {
                        for (k, &y) in y.iter().enumerate() {
                            // SAFETY: (j + k)·rows + r < n·rows = out.len() since j + k < n
                            // and r < rows; only this task writes column r (its rows are its
                            // own).
                            unsafe { columns.write((j + k) * rows + r, y) }
                        }
                    }
                };
                let (eights, fours) = (n / 8 * 8, n / 4 * 4);
                for j in (0..eights).step_by(8) {
                    let put = put(j);
                    let vectors = if self.avx2 {
                        Vectors::Group(j / 8)
                    } else {
                        Vectors::At(std::array::from_fn::<_, 8, _>(|k| j + k))
                    };
                    self.dot_rows(mine.clone(), input, vectors, |r, y| put(r, &y));
                }
                for j in (eights..fours).step_by(4) {
                    let put = put(j);
                    self.dot_rows(
                        mine.clone(),
                        input,
                        Vectors::At([j, j + 1, j + 2, j + 3]),
                        |r, y| put(r, &y),
                    );
                }
                for j in fours..n {
                    let put = put(j);
                    self.dot_rows(mine.clone(), input, Vectors::At([j]), |r, y| put(r, &y));
                }
            });
        Ok(())
    }
}

/// A matrix product's output, written by many tasks at once, each to its own elements.
#[derive(Clone, Copy)]
struct Columns {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: the tasks sharing it write disjoint elements (each its own columns, see
// QMatrix::matmul), and the buffer outlives them (rayon's for_each returns after all).
unsafe impl Send for Columns {}
// SAFETY: as for Send: no element is written by two tasks, and none is read meanwhile.
unsafe impl Sync for Columns {}

impl Columns {
    fn of(out: &mut [f32]) -> Columns {
        Columns {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        }
    }

    /// # Safety
    /// No other task may read or write element `i` while this one writes it.
    unsafe fn write(self, i: usize, y: f32) {
        assert!(i < self.len, "element {i} of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { *self.ptr.add(i) = y }
    }
}

/// Σ over blocks of d_w·d_x·Σ q_w·q_x + m_w·s_x (llama.cpp's `vec_dot_q4_1_q8_1`), scalar.
fn dot_q4_1(qs: &[[u8; 16]], d: &[f16], m: &[f16], x: &[Q8]) -> f32 {
    let mut sum = 0f32;
    for (((q, d), m), x) in qs.iter().zip(d).zip(m).zip(x) {
        let mut s = 0i32;
        for (j, b) in q.iter().enumerate() {
            s += i32::from(b & 0x0F) * i32::from(x.qs[j])
                + i32::from(b >> 4) * i32::from(x.qs[j + 16]);
        }
        sum += s as f32 * d.to_f32() * x.d + m.to_f32() * x.s;
    }
    sum
}

/// Σ over blocks of d_w·d_x·Σ (q_w − 16)·q_x (llama.cpp's `vec_dot_q5_0_q8_0`), scalar.
fn dot_q5_0(qs: &[[u8; 16]], qh: &[u32], d: &[f16], x: &[Q8]) -> f32 {
    let mut sum = 0f32;
    for (((q, &h), d), x) in qs.iter().zip(qh).zip(d).zip(x) {
        let s: i32 = (0..BLOCK)
            .map(|j| i32::from(q5_0_value(q, h, j)) * i32::from(x.qs[j]))
            .sum();
        sum += s as f32 * d.to_f32() * x.d;
    }
    sum
}

/// Σ over blocks of d_w·d_x·Σ q_w·q_x (llama.cpp's `vec_dot_q8_0_q8_0`), scalar.
fn dot_q8_0(qs: &[[i8; BLOCK]], d: &[f16], x: &[Q8]) -> f32 {
    let mut sum = 0f32;
    for ((q, d), x) in qs.iter().zip(d).zip(x) {
        let s: i32 = q
            .iter()
            .zip(&x.qs)
            .map(|(&a, &b)| i32::from(a) * i32::from(b))
            .sum();
        sum += s as f32 * d.to_f32() * x.d;
    }
    sum
}

/// Σ over super-blocks of d·d_x·Σ scale·Σ q·q_x − dmin·d_x·Σ min·Σ q_x (llama.cpp's
/// `vec_dot_q4_K_q8_K`), scalar.
fn dot_q4k(w: &[Q4KBlock], x: &[Q8K]) -> f32 {
    let mut sum = 0f32;
    for (b, x) in w.iter().zip(x) {
        let (mut s, mut m) = (0i32, 0i32);
        for sub in 0..SUPER / BLOCK {
            let dot: i32 = (sub * BLOCK..(sub + 1) * BLOCK)
                .map(|j| i32::from(q4k_value(b, j)) * i32::from(x.qs[j]))
                .sum();
            s += i32::from(b.scales[sub]) * dot;
            m += i32::from(b.mins[sub])
                * (i32::from(x.bsums[2 * sub]) + i32::from(x.bsums[2 * sub + 1]));
        }
        sum += b.d * x.d * s as f32 - b.dmin * x.d * m as f32;
    }
    sum
}

/// Σ over super-blocks of d·d_x·Σ scale·Σ (q − 32)·q_x (llama.cpp's `vec_dot_q6_K_q8_K`),
/// scalar.
fn dot_q6k(w: &[Q6KBlock], x: &[Q8K]) -> f32 {
    let mut sum = 0f32;
    for (b, x) in w.iter().zip(x) {
        let mut s = 0i32;
        for sub in 0..SUPER / 16 {
            let dot: i32 = (sub * 16..(sub + 1) * 16)
                .map(|j| i32::from(q6k_value(b, j)) * i32::from(x.qs[j]))
                .sum();
            s += i32::from(b.scales[sub]) * dot;
        }
        sum += b.d * x.d * s as f32;
    }
    sum
}

/// The AVX2 kernels: the scalar dot products above for one row and N input vectors, each
/// weight block unpacked once for the N. The same integer sums; only the order of the float
/// additions differs.
#[cfg(target_arch = "x86_64")]
mod x86 {
    // `for k in 0..N` walks the N input vectors: k picks the accumulator and the vector's
    // block (`x.at(k, i)`, not an index clippy sees), and a plain index keeps these kernels
    // free of iterator adaptors, as the rest of this module is.
    #![allow(clippy::needless_range_loop)]

    use std::arch::x86_64::*;

    use half::f16;

    use super::{Batch, Q4KBlock, Q6KBlock, BLOCK, Q8, Q8K};

    /// Blocks whose f16 scales are widened at once, eight per F16C instruction: one
    /// conversion per block would cost a dot product of one input vector (decoding) a sixth
    /// of its speed.
    const GROUP: usize = 64;

    /// `h` (at most [`GROUP`] scales) as f32 at the start of `out` (exact).
    #[target_feature(enable = "avx2,fma,f16c")]
    fn widen(h: &[f16], out: &mut [f32; GROUP]) {
        let h = &h[..h.len().min(GROUP)];
        let eights = h.len() / 8 * 8;
        for i in (0..eights).step_by(8) {
            // SAFETY: reads h[i..i + 8] (16 bytes) and writes out[i..i + 8], both in bounds
            // since i + 8 ≤ h.len() ≤ GROUP.
            unsafe {
                let v = _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr().add(i).cast()));
                _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            }
        }
        for (o, h) in out[eights..h.len()].iter_mut().zip(&h[eights..]) {
            *o = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h.to_bits()))));
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// Each accumulator's sum.
    #[target_feature(enable = "avx2,fma")]
    fn sums<const N: usize>(acc: [__m256; N]) -> [f32; N] {
        let mut out = [0f32; N];
        for (o, a) in out.iter_mut().zip(acc) {
            *o = hsum(a);
        }
        out
    }

    /// 32 bytes from the start of `q`.
    #[target_feature(enable = "avx2,fma")]
    fn load<T: Copy>(q: &[T]) -> __m256i {
        assert!(std::mem::size_of_val(q) >= 32);
        // SAFETY: an unaligned load of 32 bytes within `q` (checked above).
        unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
    }

    /// 16 bytes of nibbles as 32 unsigned bytes: low nibbles, then high.
    #[target_feature(enable = "avx2,fma")]
    fn unpack(q: &[u8; 16]) -> __m256i {
        // SAFETY: an unaligned load of exactly the 16 bytes of `q`.
        let raw = unsafe { _mm_loadu_si128(q.as_ptr().cast()) };
        _mm256_and_si256(
            _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw),
            _mm256_set1_epi8(0x0F),
        )
    }

    /// Bit j of `bits` as byte j: 0xFF where set, 0 where not (llama.cpp's
    /// `bytes_from_bits_32`).
    #[target_feature(enable = "avx2,fma")]
    fn bytes_from_bits(bits: u32) -> __m256i {
        let shuffle = _mm256_set_epi64x(
            0x0303_0303_0303_0303,
            0x0202_0202_0202_0202,
            0x0101_0101_0101_0101,
            0,
        );
        let v = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuffle);
        let v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
        _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1))
    }

    /// Σ u·s over 32 byte pairs (u unsigned, s signed) as 8 i32 partial sums: `maddubs`
    /// multiplies and adds pairs into i16, `madd` adds pairs again into i32. The i16 sums never
    /// saturate here: u ≤ 128 and |s| ≤ 127 everywhere it is used (2·128·127 < 2¹⁵).
    #[target_feature(enable = "avx2,fma")]
    fn dot_bytes_i32(u: __m256i, s: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
    }

    /// Σ w·x over 32 signed byte pairs as 8 f32 partial sums: `maddubs` needs one unsigned
    /// side, so it multiplies |w| by x with w's sign moved onto x.
    #[target_feature(enable = "avx2,fma")]
    fn dot_signed(w: __m256i, x: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(dot_bytes_i32(
            _mm256_sign_epi8(w, w),
            _mm256_sign_epi8(x, w),
        ))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn dot_q4_1<'a, const N: usize>(
        qs: &[[u8; 16]],
        d: &[f16],
        m: &[f16],
        x: impl Batch<'a, Q8, N>,
    ) -> [f32; N] {
        let n = qs.len().min(d.len()).min(m.len());
        let x = x.upto(n);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut offset = [0f32; N];
        let (mut ds, mut ms) = ([0f32; GROUP], [0f32; GROUP]);
        for start in (0..n).step_by(GROUP) {
            let end = n.min(start + GROUP);
            widen(&d[start..end], &mut ds);
            widen(&m[start..end], &mut ms);
            for i in start..end {
                let w = unpack(&qs[i]);
                let (d, m) = (ds[i - start], ms[i - start]);
                for k in 0..N {
                    let b = x.at(k, i);
                    let p = _mm256_cvtepi32_ps(dot_bytes_i32(w, load(&b.qs)));
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * b.d), p, acc[k]);
                    offset[k] += m * b.s;
                }
            }
        }
        let mut out = [0f32; N];
        for ((o, a), off) in out.iter_mut().zip(acc).zip(offset) {
            *o = hsum(a) + off;
        }
        out
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn dot_q5_0<'a, const N: usize>(
        qs: &[[u8; 16]],
        qh: &[u32],
        d: &[f16],
        x: impl Batch<'a, Q8, N>,
    ) -> [f32; N] {
        let n = qs.len().min(qh.len()).min(d.len());
        let x = x.upto(n);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut ds = [0f32; GROUP];
        for start in (0..n).step_by(GROUP) {
            let end = n.min(start + GROUP);
            widen(&d[start..end], &mut ds);
            for i in start..end {
                // Low nibbles with 0xF0 where the fifth bit is clear: the signed byte q − 16.
                let high =
                    _mm256_andnot_si256(bytes_from_bits(qh[i]), _mm256_set1_epi8(0xF0u8 as i8));
                let w = _mm256_or_si256(unpack(&qs[i]), high);
                let d = ds[i - start];
                for k in 0..N {
                    let b = x.at(k, i);
                    let p = dot_signed(w, load(&b.qs));
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * b.d), p, acc[k]);
                }
            }
        }
        sums(acc)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn dot_q8_0<'a, const N: usize>(
        qs: &[[i8; BLOCK]],
        d: &[f16],
        x: impl Batch<'a, Q8, N>,
    ) -> [f32; N] {
        let n = qs.len().min(d.len());
        let x = x.upto(n);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut ds = [0f32; GROUP];
        for start in (0..n).step_by(GROUP) {
            let end = n.min(start + GROUP);
            widen(&d[start..end], &mut ds);
            for i in start..end {
                let w = load(&qs[i]);
                let d = ds[i - start];
                for k in 0..N {
                    let b = x.at(k, i);
                    let p = dot_signed(w, load(&b.qs));
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * b.d), p, acc[k]);
                }
            }
        }
        sums(acc)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn dot_q4k<'a, const N: usize>(w: &[Q4KBlock], x: impl Batch<'a, Q8K, N>) -> [f32; N] {
        let x = x.upto(w.len());
        let mut acc = [_mm256_setzero_ps(); N];
        let m4 = _mm256_set1_epi8(0x0F);
        for (i, b) in w.iter().enumerate() {
            let mut isum = [_mm256_setzero_si256(); N];
            for c in 0..4 {
                let bits = load(&b.qs[32 * c..]);
                let lo = _mm256_and_si256(bits, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                let (sl, sh) = (
                    _mm256_set1_epi16(i16::from(b.scales[2 * c])),
                    _mm256_set1_epi16(i16::from(b.scales[2 * c + 1])),
                );
                for k in 0..N {
                    let q = &x.at(k, i).qs[64 * c..];
                    let pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load(q)), sl);
                    let ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load(&q[32..])), sh);
                    isum[k] = _mm256_add_epi32(isum[k], _mm256_add_epi32(pl, ph));
                }
            }
            // Each min twice, beside the two sums of 16 inputs of its sub-block: one `madd`
            // gives min·Σx per sub-block (llama.cpp's AVX2 q4_K does the same).
            // SAFETY: an unaligned load of the 8 bytes of `b.mins`.
            let mins = unsafe { _mm_loadl_epi64(b.mins.as_ptr().cast()) };
            let mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins, mins));
            for k in 0..N {
                let xb = x.at(k, i);
                let m = _mm256_cvtepi32_ps(_mm256_madd_epi16(load(&xb.bsums), mins));
                let p = _mm256_cvtepi32_ps(isum[k]);
                acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b.d * xb.d), p, acc[k]);
                acc[k] = _mm256_fnmadd_ps(_mm256_set1_ps(b.dmin * xb.d), m, acc[k]);
            }
        }
        sums(acc)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn dot_q6k<'a, const N: usize>(w: &[Q6KBlock], x: impl Batch<'a, Q8K, N>) -> [f32; N] {
        let x = x.upto(w.len());
        let mut acc = [_mm256_setzero_ps(); N];
        let (m4, m2, m32) = (
            _mm256_set1_epi8(0x0F),
            _mm256_set1_epi8(3),
            _mm256_set1_epi8(32),
        );
        for (i, b) in w.iter().enumerate() {
            let mut isum = [_mm256_setzero_si256(); N];
            for h in 0..2 {
                let (ql, qh) = (&b.ql[64 * h..], &b.qh[32 * h..]);
                let (b1, b2, bh) = (load(ql), load(&ql[32..]), load(qh));
                // Two high bits of each value, moved to bits 4 and 5.
                let high = [
                    bh,
                    _mm256_srli_epi16(bh, 2),
                    _mm256_srli_epi16(bh, 4),
                    _mm256_srli_epi16(bh, 6),
                ]
                .map(|v| _mm256_slli_epi16(_mm256_and_si256(v, m2), 4));
                // The four runs of 32 values of this half, as unsigned bytes 0..64.
                let q = [
                    _mm256_or_si256(_mm256_and_si256(b1, m4), high[0]),
                    _mm256_or_si256(_mm256_and_si256(b2, m4), high[1]),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4), high[2]),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4), high[3]),
                ];
                for (t, q) in q.into_iter().enumerate() {
                    let s = 8 * h + 2 * t;
                    // 16 values per scale: the low 128 bits take scale s, the high s + 1.
                    let scale = _mm256_set_m128i(
                        _mm_set1_epi16(i16::from(b.scales[s + 1])),
                        _mm_set1_epi16(i16::from(b.scales[s])),
                    );
                    for k in 0..N {
                        let xs = load(&x.at(k, i).qs[128 * h + 32 * t..]);
                        // (q − 32)·x as q·x − 32·x: maddubs needs the unsigned q.
                        let p = _mm256_sub_epi16(
                            _mm256_maddubs_epi16(q, xs),
                            _mm256_maddubs_epi16(m32, xs),
                        );
                        isum[k] = _mm256_add_epi32(isum[k], _mm256_madd_epi16(scale, p));
                    }
                }
            }
            for k in 0..N {
                let p = _mm256_cvtepi32_ps(isum[k]);
                acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b.d * x.at(k, i).d), p, acc[k]);
            }
        }
        sums(acc)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{Module, Tensor};

    /// Every format the kernels run, with a width each can hold (K-quants: 256s).
    const FORMATS: [(GgmlDType, usize); 5] = [
        (GgmlDType::Q4_1, 192),
        (GgmlDType::Q5_0, 192),
        (GgmlDType::Q8_0, 192),
        (GgmlDType::Q4K, 512),
        (GgmlDType::Q6K, 512),
    ];

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        crate::simd::test_values(n, seed, 1.0)
    }

    fn qtensor(rows: usize, cols: usize, dtype: GgmlDType, seed: u32) -> QTensor {
        let w = Tensor::from_vec(values(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&w, dtype).unwrap()
    }

    fn dequantized(t: &QTensor) -> Vec<Vec<f32>> {
        t.dequantize(&Device::Cpu).unwrap().to_vec2().unwrap()
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

    /// The input as the kernels saw it: the quantised numbers, dequantised, in f64.
    fn quantised_input(m: &QMatrix, input: &Input) -> Vec<f64> {
        match m.parts[0].blocks.size() {
            BLOCK => input
                .q8
                .iter()
                .flat_map(|b| b.qs.iter().map(move |&v| f64::from(v) * f64::from(b.d)))
                .collect(),
            _ => input
                .q8k
                .iter()
                .flat_map(|b| b.qs.iter().map(move |&v| f64::from(v) * f64::from(b.d)))
                .collect(),
        }
    }

    /// Rows read from a GGUF file equal the same rows of the matrix loaded in memory, for
    /// every format; a row past the end or a short buffer is an error.
    #[test]
    fn rows_read_from_the_file_equal_the_loaded_matrix() {
        use candle_core::quantized::gguf_file;
        for (dtype, cols) in FORMATS {
            let t = qtensor(5, cols, dtype, 7);
            let mut file = tempfile::tempfile().unwrap();
            gguf_file::write(
                &mut file,
                &[],
                &[("pad", &qtensor(3, 256, GgmlDType::Q8_0, 1)), ("m", &t)],
            )
            .unwrap();
            file.seek(SeekFrom::Start(0)).unwrap();
            let content = gguf_file::Content::read(&mut file).unwrap();
            let rows = FileRows::open(&content, &file, "m").unwrap().unwrap();
            let loaded = QMatrix::from_qtensor(&t).unwrap();
            assert_eq!((rows.rows(), rows.cols()), (5, cols));
            for r in [0, 3, 4] {
                let (mut got, mut want) = (vec![0f32; cols], vec![0f32; cols]);
                rows.row_into(r, &mut got).unwrap();
                loaded.row_into(r, &mut want);
                assert_eq!(got, want, "{dtype:?} row {r}");
            }
            assert!(rows.row_into(5, &mut vec![0f32; cols]).is_err());
            assert!(rows.row_into(0, &mut vec![0f32; cols - 1]).is_err());
        }
    }

    /// Blocks held in a part, and whether they are all still where the arena carved them
    /// (a run that outgrew its room moves to the heap).
    fn held(b: &Blocks) -> (usize, bool) {
        match b {
            Blocks::Q4_1 { qs, d, m } => {
                (qs.len(), qs.is_mapped() && d.is_mapped() && m.is_mapped())
            }
            Blocks::Q5_0 { qs, qh, d } => {
                (qs.len(), qs.is_mapped() && qh.is_mapped() && d.is_mapped())
            }
            Blocks::Q8_0 { qs, d } => (qs.len(), qs.is_mapped() && d.is_mapped()),
            Blocks::Q4K(b) => (b.len(), b.is_mapped()),
            Blocks::Q6K(b) => (b.len(), b.is_mapped()),
        }
    }

    /// Tensors read straight from the file, stacked, equal candle's reading of them stacked:
    /// every format, a run of one format as one part carved from the weights' arena at its final
    /// size, a format without kernels (F16) through candle as Q8_0, and more blocks than one
    /// chunk; the same read with no arena (every run on the heap).
    #[test]
    fn matrices_read_from_the_file_equal_candle_s() {
        use candle_core::quantized::gguf_file;
        let cols = 512;
        let tensors = [
            ("a", qtensor(3, cols, GgmlDType::Q4_1, 1)),
            ("b", qtensor(70, cols, GgmlDType::Q4_1, 2)),
            ("c", qtensor(2, cols, GgmlDType::Q5_0, 3)),
            ("d", qtensor(4, cols, GgmlDType::Q8_0, 4)),
            ("e", qtensor(2, cols, GgmlDType::F16, 5)),
            ("f", qtensor(3, cols, GgmlDType::Q8_0, 6)),
            ("g", qtensor(5, cols, GgmlDType::Q4K, 7)),
            ("h", qtensor(2, cols, GgmlDType::Q6K, 8)),
        ];
        let mut file = tempfile::tempfile().unwrap();
        let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
        gguf_file::write(&mut file, &[], &refs).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        let names: Vec<&str> = tensors.iter().map(|(n, _)| *n).collect();
        let mut arena = weights_arena(&content, &[]);
        let read = QMatrix::read(&content, &mut file, &names, &mut arena).unwrap();
        let on_heap = QMatrix::read(&content, &mut file, &names, &mut Arena::heap()).unwrap();
        let want = QMatrix::stack(
            tensors
                .iter()
                .map(|(_, t)| QMatrix::from_qtensor(t).unwrap())
                .collect(),
        )
        .unwrap();
        assert_eq!(read.format(), "Q4_1+Q5_0+Q8_0+Q4_K+Q6_K");
        assert_eq!(read.format(), want.format());
        assert_eq!((read.rows(), read.cols()), (91, cols));
        // a and b: 73 rows of 16 blocks, more than one chunk, in the one run carved for them;
        // Q5_0, Q4_K and Q6_K as carved. (Q8_0: d's run is carved for d, then e, through
        // candle, and f join it and it moves to the heap.)
        assert_eq!(held(&read.parts[0].blocks), (73 * 16, true));
        assert_eq!(held(&read.parts[1].blocks), (2 * 16, true));
        assert_eq!(held(&read.parts[2].blocks), (9 * 16, false));
        assert_eq!(held(&read.parts[3].blocks), (5 * 2, true));
        assert_eq!(held(&read.parts[4].blocks), (2 * 2, true));
        assert!(on_heap.parts.iter().all(|p| !held(&p.blocks).1));
        for m in [&read, &on_heap] {
            for r in 0..m.rows() {
                let (mut got, mut exp) = (vec![0f32; cols], vec![0f32; cols]);
                m.row_into(r, &mut got);
                want.row_into(r, &mut exp);
                assert_eq!(got, exp, "row {r}");
            }
            let x = values(3 * cols, 9);
            let (mut got, mut exp) = (vec![0f32; 3 * 91], vec![0f32; 3 * 91]);
            m.matmul(&x, &mut Input::default(), &mut got).unwrap();
            want.matmul(&x, &mut Input::default(), &mut exp).unwrap();
            assert_eq!(got, exp);
        }
        // A tensor of another width, or one the file does not have, is an error.
        let other = qtensor(2, 256, GgmlDType::Q8_0, 1);
        let mut file = tempfile::tempfile().unwrap();
        gguf_file::write(&mut file, &[], &[("a", &tensors[0].1), ("n", &other)]).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        let mut arena = Arena::heap();
        assert!(QMatrix::read(&content, &mut file, &["a", "n"], &mut arena).is_err());
        assert!(QMatrix::read(&content, &mut file, &["a", "missing"], &mut arena).is_err());
        assert!(QMatrix::read(&content, &mut file, &[], &mut arena).is_err());
    }

    #[test]
    fn matrix_products_equal_the_exact_products_of_the_quantised_numbers() {
        let rows = 40;
        for (dtype, cols) in FORMATS {
            // 1: a matrix-vector product; 6: four vectors at a time, then two; 13: eight, four,
            // one (40 rows: tasks of 16, 16 and 8).
            for n in [1, 6, 13] {
                let x = values(n * cols, 9);
                let m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, 5)).unwrap();
                let mut input = Input::default();
                let mut got = vec![0f32; n * rows];
                m.matmul(&x, &mut input, &mut got).unwrap();
                // candle quantises the input the same way, up to a few roundings.
                let want = candle_matmul(qtensor(rows, cols, dtype, 5), &x, n);
                assert_close(&got, &want, 2e-2);
                // The dequantised weights times the dequantised input, in f64: float rounding
                // only, but for Q4_1's offset term, which uses `s` rounded to f16 (as
                // llama.cpp's).
                let tol = if dtype == GgmlDType::Q4_1 { 1e-2 } else { 1e-3 };
                let w = dequantized(&qtensor(rows, cols, dtype, 5));
                let xd = quantised_input(&m, &input);
                for (j, xd) in xd.chunks_exact(cols).enumerate() {
                    for (r, w) in w.iter().enumerate() {
                        let exact: f64 = w.iter().zip(xd).map(|(&a, b)| f64::from(a) * b).sum();
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
    fn vectors_multiplied_eight_at_a_time_get_the_bits_of_one_at_a_time() {
        // 19 vectors: two interleaved groups of eight, then four, then one by index.
        let (rows, n) = (24, 19);
        for (dtype, cols) in FORMATS {
            let m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, 4)).unwrap();
            let x = values(n * cols, 6);
            let mut input = Input::default();
            let mut together = vec![0f32; n * rows];
            m.matmul(&x, &mut input, &mut together).unwrap();
            for (j, x) in x.chunks_exact(cols).enumerate() {
                let mut alone = vec![0f32; rows];
                m.matmul(x, &mut input, &mut alone).unwrap();
                let same = alone
                    .iter()
                    .zip(&together[j * rows..(j + 1) * rows])
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{dtype:?}, vector {j}");
            }
        }
    }

    #[test]
    fn the_simd_kernels_equal_the_scalar_ones() {
        let rows = 17;
        for (dtype, cols) in FORMATS {
            let mut m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, 11)).unwrap();
            let mut input = Input::default();
            // Eight vectors: vector 0 alone, the first four at once, and all eight at once.
            m.quantize_input(&values(8 * cols, 3), &mut input, false);
            let one: Vec<f32> = (0..rows).map(|r| m.dot(r, &input, [0])[0]).collect();
            let four: Vec<[f32; 4]> = (0..rows).map(|r| m.dot(r, &input, [0, 1, 2, 3])).collect();
            let eight: Vec<[f32; 8]> = (0..rows)
                .map(|r| m.dot(r, &input, std::array::from_fn(|k| k)))
                .collect();
            m.avx2 = false;
            for k in 0..8 {
                let scalar: Vec<f32> = (0..rows).map(|r| m.dot(r, &input, [k])[0]).collect();
                let got: Vec<f32> = eight.iter().map(|y| y[k]).collect();
                assert_close(&got, &scalar, 1e-5);
                if k < 4 {
                    let got: Vec<f32> = four.iter().map(|y| y[k]).collect();
                    assert_close(&got, &scalar, 1e-5);
                }
                if k == 0 {
                    assert_close(&one, &scalar, 1e-5);
                }
            }
        }
    }

    #[test]
    fn rows_dequantise_as_candle_does_and_other_formats_become_q8_0() {
        for (dtype, cols) in FORMATS.into_iter().chain([(GgmlDType::F16, 64)]) {
            let t = qtensor(6, cols, dtype, 2);
            let want = dequantized(&t);
            let m = QMatrix::from_qtensor(&t).unwrap();
            let mut row = vec![0f32; cols];
            // Q8_0 re-quantisation of F16 rounds; the file's own formats are exact.
            let tol = if dtype == GgmlDType::F16 { 1e-2 } else { 1e-6 };
            for (r, want) in want.iter().enumerate() {
                m.row_into(r, &mut row);
                assert_close(&row, want, tol);
            }
            let expected = if dtype == GgmlDType::F16 {
                "Q8_0"
            } else {
                m.parts[0].blocks.name()
            };
            assert_eq!(m.format(), expected);
        }
    }

    #[test]
    fn stacked_matrices_give_the_parts_rows_in_order_whatever_their_formats() {
        let cols = 256;
        let parts = [
            (8, GgmlDType::Q5_0),
            (4, GgmlDType::Q5_0),
            (12, GgmlDType::Q8_0),
            (3, GgmlDType::Q4K),
        ];
        let x = values(2 * cols, 1);
        let mut input = Input::default();
        let mut want = [Vec::new(), Vec::new()];
        let mut mats = Vec::new();
        for (seed, (rows, dtype)) in parts.into_iter().enumerate() {
            let m = QMatrix::from_qtensor(&qtensor(rows, cols, dtype, seed as u32)).unwrap();
            let mut y = vec![0f32; 2 * rows];
            m.matmul(&x, &mut input, &mut y).unwrap();
            want[0].extend_from_slice(&y[..rows]);
            want[1].extend_from_slice(&y[rows..]);
            mats.push(m);
        }
        let all = QMatrix::stack(mats).unwrap();
        assert_eq!((all.rows(), all.cols()), (27, cols));
        assert_eq!(
            all.format(),
            "Q5_0+Q8_0+Q4_K",
            "same-format neighbours merge"
        );
        let mut got = vec![0f32; 2 * 27];
        all.matmul(&x, &mut input, &mut got).unwrap();
        assert_eq!(got, want.concat());
        let narrow = vec![
            QMatrix::from_qtensor(&qtensor(2, 64, GgmlDType::Q8_0, 1)).unwrap(),
            QMatrix::from_qtensor(&qtensor(2, 32, GgmlDType::Q8_0, 1)).unwrap(),
        ];
        assert!(QMatrix::stack(narrow).is_err());
    }

    #[test]
    fn quantised_activations_are_within_half_a_step() {
        let x = values(512, 4);
        let mut q = Vec::new();
        quantize(&x, &mut q);
        for (b, c) in q.iter().zip(x.chunks_exact(BLOCK)) {
            // Half a step, plus d's rounding to f16 (2⁻¹¹ relative) times |q| ≤ 127.
            for (&q, v) in b.qs.iter().zip(c) {
                assert!(
                    (f32::from(q) * b.d - v).abs() <= b.d * 0.57,
                    "{q}·{} vs {v}",
                    b.d
                );
            }
            let s: i32 = b.qs.iter().map(|&q| i32::from(q)).sum();
            assert!((b.s - s as f32 * b.d).abs() <= 1e-3 * b.s.abs().max(1.0));
        }
        quantize(&[0.0; 32], &mut q);
        assert_eq!((q.len(), q[0].d, q[0].qs), (1, 0.0, [0; 32]));

        let mut k = Vec::new();
        quantize_k(&x, &mut k);
        assert_eq!(k.len(), 2);
        for (b, c) in k.iter().zip(x.chunks_exact(SUPER)) {
            for (&q, v) in b.qs.iter().zip(c) {
                assert!((f32::from(q) * b.d - v).abs() <= b.d.abs() * 0.51);
            }
            // The value of largest magnitude is ∓127 exactly.
            assert_eq!(b.qs.iter().map(|q| q.unsigned_abs()).max(), Some(127));
            for (s, q) in b.bsums.iter().zip(b.qs.chunks_exact(16)) {
                assert_eq!(i32::from(*s), q.iter().map(|&q| i32::from(q)).sum::<i32>());
            }
        }
        quantize_k(&[0.0; SUPER], &mut k);
        assert_eq!((k[0].d, k[0].qs, k[0].bsums), (0.0, [0; SUPER], [0; 16]));
    }

    #[test]
    fn a_mismatched_product_is_an_error() {
        let m = QMatrix::from_qtensor(&qtensor(4, 64, GgmlDType::Q8_0, 1)).unwrap();
        let mut input = Input::default();
        // 96 values: not a whole number of 64-wide rows.
        assert!(m
            .matmul(&values(96, 1), &mut input, &mut [0f32; 4])
            .is_err());
        assert!(m
            .matmul(&values(64, 1), &mut input, &mut [0f32; 3])
            .is_err());
        assert!(m.matmul(&[], &mut input, &mut []).is_err());
        // A K-quant matrix needs a width of 256s.
        let t = qtensor(2, 256, GgmlDType::Q4K, 1);
        assert!(QMatrix::from_qtensor(&t).is_ok());
    }
}
