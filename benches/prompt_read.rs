//! Prompt reading alone, in-process: one built-in model reads the same N-token prompt five
//! times from an empty cache (best and mean tokens/second), then decodes 64 tokens one by one.
//! No server and no baseline of its own: for comparing two builds of the engine on the same
//! machine in the same minutes, alternating them (`scripts/bench-prompt-ab`), where
//! `scripts/bench-builtin`'s ratio against llama.cpp moves with the host by more than a kernel
//! change does. Reads HINDSIGHT_MODELS_DIR, BENCH_MODEL (tiny, small or better; small by
//! default) and BENCH_TOKENS (800 by default).
use std::time::Instant;

use hindsight::llm::builtin::gguf_path;
use hindsight::llm::llama::Llama;
use hindsight::llm::BuiltinChoice;

const ROUNDS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("HINDSIGHT_MODELS_DIR").map_err(|_| "set HINDSIGHT_MODELS_DIR")?;
    let choice: BuiltinChoice = serde_json::from_value(serde_json::json!(std::env::var(
        "BENCH_MODEL"
    )
    .unwrap_or_else(|_| "small".into())))?;
    let n: usize = std::env::var("BENCH_TOKENS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(800);
    let mut file = std::fs::File::open(gguf_path(std::path::Path::new(&dir), choice))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)?;
    let mut llama = Llama::from_gguf(&content, &mut file)?;
    // Token ids spread over the vocabulary's common range; what they say does not matter.
    let ids: Vec<u32> = (0..n as u32).map(|i| 100 + (i * 7919) % 20_000).collect();
    let (mut best, mut total) = (f64::MAX, 0.0);
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        std::hint::black_box(llama.forward(&ids, 0)?);
        let s = t0.elapsed().as_secs_f64();
        best = best.min(s);
        total += s;
    }
    let t0 = Instant::now();
    for (pos, &id) in ids.iter().take(64).enumerate() {
        std::hint::black_box(llama.forward(&[id], pos)?);
    }
    let decode = 64.0 / t0.elapsed().as_secs_f64();
    println!(
        "{choice:?}, {n}-token prompt: best {:.0} tok/s, mean {:.0} tok/s; decode {decode:.1} tok/s",
        n as f64 / best,
        ROUNDS as f64 * n as f64 / total
    );
    Ok(())
}
