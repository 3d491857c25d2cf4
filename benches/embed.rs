//! Embedding throughput of the candle embedder (release build), for scripts/bench-embed.
//! Reads the texts from the JSON file named by BENCH_TEXTS ({"name": [texts...], ...}) and the
//! model from HINDSIGHT_MODELS_DIR; prints one JSON line per (set, batch size).
use std::time::Instant;

use hindsight::embed::Embedder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = std::env::var("HINDSIGHT_MODELS_DIR").map_err(|_| "set HINDSIGHT_MODELS_DIR")?;
    let texts_path = std::env::var("BENCH_TEXTS").map_err(|_| "set BENCH_TEXTS")?;
    let sets: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(texts_path)?)?;
    let batches: Vec<usize> = std::env::var("BENCH_BATCHES")
        .unwrap_or_else(|_| "1,8,32".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let t0 = Instant::now();
    let embedder = Embedder::load(std::path::Path::new(&models))?;
    eprintln!("model loaded in {:.2?}", t0.elapsed());
    for (name, texts) in &sets {
        let texts: Vec<&str> = texts
            .as_array()
            .ok_or("texts")?
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        embedder.embed(&texts[..texts.len().min(64)], 32)?; // warm-up, as the ST baseline does
        for &b in &batches {
            let t = Instant::now();
            embedder.embed(&texts, b)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"impl": "candle", "set": name, "batch": b, "n": texts.len(),
                    "seconds": secs, "per_sec": texts.len() as f64 / secs})
            );
        }
    }
    Ok(())
}
