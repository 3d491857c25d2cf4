//! The built-in model (in-process) versus llama.cpp's server on the same GGUF, same machine, one
//! run: time to first token and decode tokens/second, greedy, the same prompt token ids on all
//! sides. A second baseline is candle-transformers' `quantized_llama` on the same file (the
//! engine the built-in model replaced). For scripts/bench-builtin: reads BENCH_LLM_URL (the
//! server's base URL, without /v1) and HINDSIGHT_MODELS_DIR; prints a Markdown table.
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hindsight::llm::builtin::{model_path, BuiltinModel, GenParams, GGUF_FILE};
use hindsight::llm::{ChatMessage, Role};
use tokio::sync::mpsc;

const PROMPTS: &[&str] = &[
    "Explain in a paragraph how a refrigerator keeps food cold.",
    "Write a short story about a lighthouse keeper.",
    "What are the benefits of regular exercise?",
];
const TOKENS: u32 = 128;
const ROUNDS: usize = 3;
/// Repeats of the three prompts in the long prompt (about 1,000 tokens).
const LONG_REPEATS: usize = 28;

struct Sample {
    first: Duration,
    tokens: usize,
    decode: Duration,
}

impl Sample {
    fn tok_per_s(&self) -> f64 {
        (self.tokens.saturating_sub(1)) as f64 / self.decode.as_secs_f64().max(1e-9)
    }
}

fn sample(t0: Instant, times: &[Instant]) -> Option<Sample> {
    let first = *times.first()?;
    let last = *times.last()?;
    Some(Sample {
        first: first - t0,
        tokens: times.len(),
        decode: last - first,
    })
}

async fn llama(http: &reqwest::Client, base: &str, prompt: &[u32]) -> Option<Sample> {
    let body = serde_json::json!({
        "prompt": prompt, "n_predict": TOKENS, "temperature": 0.0, "stream": true,
        "cache_prompt": false,
    });
    let t0 = Instant::now();
    let resp = http
        .post(format!("{base}/completion"))
        .json(&body)
        .send()
        .await
        .ok()?;
    let mut events = resp.bytes_stream().eventsource();
    let mut times = Vec::new();
    while let Some(Ok(e)) = events.next().await {
        let v: serde_json::Value = serde_json::from_str(&e.data).ok()?;
        if v["content"].as_str().is_some_and(|c| !c.is_empty()) {
            times.push(Instant::now());
        }
        if v["stop"].as_bool() == Some(true) {
            break;
        }
    }
    sample(t0, &times)
}

async fn builtin(model: &BuiltinModel, prompt: &[u32]) -> Option<Sample> {
    let params = GenParams {
        temperature: 0.0,
        top_p: 1.0,
        max_tokens: TOKENS,
        seed: 1,
    };
    let (tx, mut rx) = mpsc::channel::<String>(1024);
    let t0 = Instant::now();
    let collect = async {
        let mut times = Vec::new();
        while rx.recv().await.is_some() {
            times.push(Instant::now());
        }
        times
    };
    let (generation, times) = tokio::join!(model.generate(prompt.to_vec(), params, tx), collect);
    generation.ok()?;
    sample(t0, &times)
}

/// candle-transformers' quantized Llama, greedy, timed like the others (prefill in one pass).
fn candle(model: &mut ModelWeights, prompt: &[u32]) -> Option<Sample> {
    let t0 = Instant::now();
    let mut times = Vec::new();
    let step = |model: &mut ModelWeights, ids: &[u32], pos: usize| -> Option<u32> {
        let input = Tensor::new(ids, &Device::Cpu).ok()?.unsqueeze(0).ok()?;
        let logits = model.forward(&input, pos).ok()?.squeeze(0).ok()?;
        logits.argmax(0).ok()?.to_scalar::<u32>().ok()
    };
    let mut next = step(model, prompt, 0)?;
    for pos in prompt.len()..prompt.len() + TOKENS as usize {
        times.push(Instant::now());
        if next == 2 {
            break; // <|im_end|>
        }
        next = step(model, &[next], pos)?;
    }
    times.pop(); // the end-of-turn token is not text
    sample(t0, &times)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("BENCH_LLM_URL").map_err(|_| "set BENCH_LLM_URL")?;
    let models = std::env::var("HINDSIGHT_MODELS_DIR").map_err(|_| "set HINDSIGHT_MODELS_DIR")?;
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    let t = Instant::now();
    let builtin_model = BuiltinModel::load(models.as_ref())?;
    let load_builtin = t.elapsed();
    let t = Instant::now();
    let path = model_path(models.as_ref()).join(GGUF_FILE);
    let mut file = std::fs::File::open(&path)?;
    let content = gguf_file::Content::read(&mut file)?;
    let mut candle_model = ModelWeights::from_gguf(content, &mut file, &Device::Cpu)?;
    let load_candle = t.elapsed();
    let prompts: Vec<Vec<u32>> = PROMPTS
        .iter()
        .map(|p| {
            let text = builtin_model.prompt(&[ChatMessage::new(Role::User, *p)])?;
            builtin_model.token_ids(&text)
        })
        .collect::<Result<_, _>>()?;

    // A long prompt, as a chat with history gives: the three questions over and over.
    let long_text = PROMPTS.join(" ").repeat(LONG_REPEATS);
    let long = builtin_model
        .token_ids(&builtin_model.prompt(&[ChatMessage::new(Role::User, long_text)])?)?;

    let mut results: [Vec<Sample>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut long_results: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        // Interleaved so that the machine's state is shared.
        for prompt in &prompts {
            results[0].extend(llama(&http, &base, prompt).await);
            results[1].extend(builtin(&builtin_model, prompt).await);
            results[2].extend(candle(&mut candle_model, prompt));
        }
        long_results[0].extend(llama(&http, &base, &long).await);
        long_results[1].extend(builtin(&builtin_model, &long).await);
    }
    let llama_tps = median(results[0].iter().map(Sample::tok_per_s).collect());
    let llama_ttft = median(
        results[0]
            .iter()
            .map(|s| s.first.as_secs_f64() * 1e3)
            .collect(),
    );
    for (name, r, load) in [
        ("llama.cpp server (xllamacpp), Q4_1", &results[0], None),
        (
            "**built-in (the app's)**, Q4_1",
            &results[1],
            Some(load_builtin),
        ),
        (
            "candle-transformers quantized_llama, Q4_1",
            &results[2],
            Some(load_candle),
        ),
    ] {
        let tps = median(r.iter().map(Sample::tok_per_s).collect());
        let ttft = median(r.iter().map(|s| s.first.as_secs_f64() * 1e3).collect());
        rows.push(format!(
            "| {name} | {:.1} | {:.2}× | {:.0} | {:.2}× | {} |",
            tps,
            tps / llama_tps,
            ttft,
            ttft / llama_ttft,
            load.map(|d| format!("{:.2} s", d.as_secs_f64()))
                .unwrap_or_else(|| "–".into()),
        ));
    }
    let prompt_lens: Vec<String> = prompts.iter().map(|p| p.len().to_string()).collect();
    println!(
        "SmolLM2-135M-Instruct, greedy, up to {TOKENS} new tokens, prompts of {} tokens, {ROUNDS} rounds interleaved; medians.\n",
        prompt_lens.join("/")
    );
    println!("| engine | decode tok/s | vs llama.cpp | first token (ms) | vs llama.cpp | load |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    let first_ms = |r: &[Sample]| median(r.iter().map(|s| s.first.as_secs_f64() * 1e3).collect());
    let (llama_long, builtin_long) = (first_ms(&long_results[0]), first_ms(&long_results[1]));
    println!(
        "\nA {}-token prompt, first token: llama.cpp {llama_long:.0} ms, built-in {builtin_long:.0} ms ({:.2}×).",
        long.len(),
        builtin_long / llama_long
    );
    Ok(())
}
