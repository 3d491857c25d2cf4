//! Vectorisable f32 building blocks shared by the embedder's kernels (`embed/kernels.rs`) and
//! the built-in model (`llm/llama.rs`): a branch-free `exp`, lane-wise reductions that LLVM
//! turns into SIMD. And the one place CPU-specific code is chosen: `simd_kernel!` compiles a
//! plain-Rust loop once per instruction set and picks one at run time (every auto-vectorised
//! kernel: the embedder's, the built-in model's, the search index's scan); [`avx2_fma`] is
//! the run-time check for the few kernels written with intrinsics (`llm/quant.rs`).

/// e^x for x in about [-87, 88], relative error ~2e-7 (Cephes' expf polynomial), branch-free
/// so that loops over it vectorise. Below -87.3 it returns ~1e-38 rather than 0.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting rounds to an integer
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n built from n's bits: the low mantissa bits of n + ROUND hold n (two's complement).
    let t = (n + ROUND).to_bits().wrapping_add(127);
    y * f32::from_bits(t.wrapping_shl(23))
}

/// Lanes of the reductions here: one AVX-512 register. Float sums and maxima only vectorise
/// when written as independent lanes (LLVM keeps a plain `sum += x` loop in order).
pub const LANES: usize = 16;

/// Σ a·b, lane-wise.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Σ xs, lane-wise.
#[inline(always)]
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// max xs (-∞ when empty), lane-wise.
#[inline(always)]
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter().fold(tail, |m, &x| m.max(x))
}

/// Compiles a function once per instruction set (AVX-512, AVX2/FMA, baseline), picked at run
/// time by `multiversion`.
macro_rules! simd_kernel {
    ($f:item) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
            "x86_64+avx2+fma"
        ))]
        $f
    };
}

pub(crate) use simd_kernel;

/// Whether this CPU runs AVX2, FMA and F16C (every AVX2 CPU has F16C): the gate of the kernels
/// written with x86 intrinsics (`#[target_feature(enable = "avx2,fma,f16c")]`), checked once
/// per process.
pub fn avx2_fma_f16c() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Deterministic pseudo-random values in [-amplitude, amplitude) (xorshift), for the kernels'
/// unit tests.
#[cfg(test)]
pub(crate) fn test_values(n: usize, seed: u32, amplitude: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32) * (2.0 * amplitude) - amplitude
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_across_its_range() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "exp({x}) = {got}, std says {want}"
            );
        }
    }

    #[test]
    fn lane_wise_reductions_equal_plain_ones() {
        let xs: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let ys: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(sum(&xs), xs.iter().sum()));
        assert_eq!(
            max(&xs),
            xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x))
        );
        assert!(close(
            dot(&xs, &ys),
            xs.iter().zip(&ys).map(|(x, y)| x * y).sum()
        ));
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }
}
