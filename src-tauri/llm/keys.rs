//! The KV cache's keys, kept in the layout that scores one query against sixteen positions at
//! once. Per block of 16 positions and per KV head, `[head_dim][16]`: each dimension's sixteen
//! values side by side, so a query's scores are vector products across positions, with no
//! horizontal sum per position.
//!
//! The scores are bit for bit what `simd::dot` gives for each position (its 16 lanes, each
//! summed in order over the head's dimensions, then the lanes added in order): only the
//! layout changed, not the arithmetic, so the model's output stays as tested against
//! llama.cpp.

use crate::simd::{simd_kernel, LANES};

/// Rotated keys of the positions seen, for every KV head of one layer.
pub struct Keys {
    kv_heads: usize,
    head_dim: usize,
    len: usize,
    /// `[block][kv_head][head_dim][LANES]`; lanes past `len` in the last block are unused.
    data: Vec<f32>,
}

impl Keys {
    /// An empty cache; `head_dim` is a multiple of [`LANES`] (checked with the model's shape).
    pub fn new(kv_heads: usize, head_dim: usize) -> Keys {
        Keys {
            kv_heads,
            head_dim,
            len: 0,
            data: Vec::new(),
        }
    }

    /// Values per block of 16 positions, all heads.
    fn stride(&self) -> usize {
        self.kv_heads * self.head_dim * LANES
    }

    /// Keeps the first `len` positions (no-op if fewer are held).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.data.truncate(len.div_ceil(LANES) * self.stride());
        }
    }

    /// Appends one position: `k` holds its keys head after head (`kv_heads · head_dim`).
    pub fn push(&mut self, k: &[f32]) {
        debug_assert_eq!(k.len(), self.kv_heads * self.head_dim);
        let (block, lane) = (self.len / LANES, self.len % LANES);
        let stride = self.stride();
        if lane == 0 {
            self.data.resize((block + 1) * stride, 0.0);
        }
        let at = &mut self.data[block * stride..][..stride];
        for (x, slot) in k.iter().zip(at.chunks_exact_mut(LANES)) {
            slot[lane] = *x;
        }
        self.len += 1;
    }

    /// The scores of the queries `qs` (one or more, `head_dim` values each, back to back)
    /// against KV head `head`'s keys at positions `0..n` (`n` ≤ the positions held): query
    /// `g`'s score for position `j` at `scores[g · pad + j]`, where `pad` (returned) is `n`
    /// rounded up to a block. `scores` is replaced. Each block of keys is read once for all the
    /// queries (the heads of a group share their KV head).
    pub fn scores(&self, qs: &[f32], head: usize, n: usize, scores: &mut Vec<f32>) -> usize {
        assert!(n <= self.len, "{n} positions scored, {} held", self.len);
        debug_assert!(qs.len().is_multiple_of(self.head_dim));
        let pad = n.div_ceil(LANES) * LANES;
        // Every value is written below: no need to clear.
        scores.resize(qs.len() / self.head_dim * pad, 0.0);
        let keys = &self.data[..pad / LANES * self.stride()];
        let offset = head * self.head_dim * LANES;
        score_blocks(qs, self.head_dim, keys, self.stride(), offset, pad, scores);
        pad
    }
}

simd_kernel! {
    /// One block of 16 positions at a time, for every query while the block is in L1: lane
    /// group `l`'s sum over dimensions l, l + 16, … for the 16 positions as one vector, then
    /// the groups added in order (`simd::dot`'s order, per position).
    fn score_blocks(
        qs: &[f32],
        hd: usize,
        keys: &[f32],
        stride: usize,
        offset: usize,
        pad: usize,
        scores: &mut [f32],
    ) {
        for (i, b) in keys.chunks_exact(stride).enumerate() {
            let b = &b[offset..offset + hd * LANES];
            for (q, row) in qs.chunks_exact(hd).zip(scores.chunks_exact_mut(pad)) {
                let mut total = [0f32; LANES];
                for l in 0..LANES {
                    let mut t = [0f32; LANES];
                    let mut d = l;
                    while d < hd {
                        let qd = q[d];
                        for (t, k) in t.iter_mut().zip(&b[d * LANES..(d + 1) * LANES]) {
                            *t += qd * k;
                        }
                        d += LANES;
                    }
                    for (a, t) in total.iter_mut().zip(&t) {
                        *a += t;
                    }
                }
                row[i * LANES..(i + 1) * LANES].copy_from_slice(&total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{dot, test_values};

    #[test]
    fn scores_equal_dot_products_bit_for_bit() {
        for (kv_heads, hd) in [(2, 64), (1, 32), (3, 128)] {
            let mut keys = Keys::new(kv_heads, hd);
            let rows: Vec<Vec<f32>> = (0..37)
                .map(|p| test_values(kv_heads * hd, p + 1, 2.0))
                .collect();
            for r in &rows {
                keys.push(r);
            }
            let mut scores = Vec::new();
            for head in 0..kv_heads {
                for queries in [1, 7] {
                    let qs = test_values(queries * hd, 99 + head as u32, 2.0);
                    for n in [1, 15, 16, 17, 37] {
                        let pad = keys.scores(&qs, head, n, &mut scores);
                        assert_eq!((pad, scores.len()), (n.div_ceil(16) * 16, queries * pad));
                        for (g, q) in qs.chunks_exact(hd).enumerate() {
                            for (j, row) in rows.iter().enumerate().take(n) {
                                let want = dot(q, &row[head * hd..][..hd]);
                                let got = scores[g * pad + j];
                                assert_eq!(
                                    got.to_bits(),
                                    want.to_bits(),
                                    "head {head}, query {g}, position {j}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn truncating_then_pushing_overwrites_the_dropped_positions() {
        let (kv_heads, hd) = (2, 16);
        let mut keys = Keys::new(kv_heads, hd);
        for p in 0..20 {
            keys.push(&test_values(kv_heads * hd, p + 1, 1.0));
        }
        keys.truncate(18);
        keys.truncate(30); // more than held: nothing changes
        assert_eq!(keys.len, 18);
        let fresh = test_values(kv_heads * hd, 500, 1.0);
        keys.push(&fresh);
        let q = test_values(hd, 7, 1.0);
        let mut scores = Vec::new();
        assert_eq!(keys.scores(&q, 1, 19, &mut scores), 32);
        assert_eq!(scores[18].to_bits(), dot(&q, &fresh[hd..]).to_bits());
        let kept = test_values(kv_heads * hd, 17, 1.0);
        assert_eq!(scores[16].to_bits(), dot(&q, &kept[hd..]).to_bits());
    }
}
