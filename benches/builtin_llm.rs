//! One built-in model (in-process) versus llama.cpp's server on the same GGUF, same machine, one
//! run: decode tokens/second, prompt-reading tokens/second and time to first token on a long
//! prompt, greedy, the same prompt token ids on both sides, and the memory the loaded model
//! takes. For scripts/bench-builtin, which runs it once per model: reads BENCH_LLM_URL (the
//! server's base URL, without /v1), BENCH_MODEL (tiny, small or better) and
//! HINDSIGHT_MODELS_DIR; prints one Markdown table row.
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hindsight::llm::builtin::{BuiltinModel, GenParams};
use hindsight::llm::{BuiltinChoice, ChatMessage, Role};
use tokio::sync::mpsc;

const PROMPTS: &[&str] = &[
    "Explain in a paragraph how a refrigerator keeps food cold.",
    "Write a short story about a lighthouse keeper.",
    "What are the benefits of regular exercise?",
];
const TOKENS: u32 = 128;
const ROUNDS: usize = 3;
/// Repeats of the three prompts in the long prompt (about 800 tokens).
const LONG_REPEATS: usize = 26;
/// Repeats in the analysis-length prompt (about 1,500 tokens: what an analysis of a long
/// conversation sends, where attention's share of the work is larger).
const ANALYSIS_REPEATS: usize = 52;

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

async fn llama(http: &reqwest::Client, base: &str, prompt: &[u32], n: u32) -> Option<Sample> {
    llama_with(http, base, prompt, n, false).await
}

/// `cache_prompt`: the server keeps the last prompt's cache and reads only what differs.
async fn llama_with(
    http: &reqwest::Client,
    base: &str,
    prompt: &[u32],
    n: u32,
    cache_prompt: bool,
) -> Option<Sample> {
    let body = serde_json::json!({
        "prompt": prompt, "n_predict": n, "temperature": 0.0, "stream": true,
        "cache_prompt": cache_prompt,
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

async fn builtin(model: &BuiltinModel, prompt: &[u32], n: u32) -> Option<Sample> {
    builtin_with(model, prompt, n, None).await
}

async fn builtin_with(
    model: &BuiltinModel,
    prompt: &[u32],
    n: u32,
    schema: Option<serde_json::Value>,
) -> Option<Sample> {
    let params = GenParams {
        temperature: 0.0,
        top_p: 1.0,
        max_tokens: n,
        seed: 1,
        schema,
        logprobs: false,
        reported: Vec::new(),
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// This process's resident memory, from /proc/self/statm.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("BENCH_LLM_URL").map_err(|_| "set BENCH_LLM_URL")?;
    let models = std::env::var("HINDSIGHT_MODELS_DIR").map_err(|_| "set HINDSIGHT_MODELS_DIR")?;
    let choice: BuiltinChoice = serde_json::from_value(serde_json::json!(std::env::var(
        "BENCH_MODEL"
    )
    .unwrap_or_else(|_| "small".into())))?;
    let spec = choice.spec();
    let http = reqwest::Client::new();
    let rss_before = rss_bytes();
    let t = Instant::now();
    let model = BuiltinModel::load(models.as_ref(), choice)?;
    let load = t.elapsed();
    let rss_loaded = rss_bytes().saturating_sub(rss_before);
    let prompts: Vec<Vec<u32>> = PROMPTS
        .iter()
        .map(|p| model.token_ids(&model.prompt(&[ChatMessage::new(Role::User, *p)])?))
        .collect::<Result<_, _>>()?;
    // A long prompt, as a chat with history or an analysis gives.
    let long_text = PROMPTS.join(" ").repeat(LONG_REPEATS);
    let long =
        model.token_ids(&model.prompt(&[ChatMessage::new(Role::User, long_text.clone())])?)?;

    // The questions in reverse order: no prefix shared with the long prompt, which the
    // built-in worker's cache would otherwise not read again (llama.cpp's is off here).
    let reversed: Vec<&str> = PROMPTS.iter().rev().copied().collect();
    let longer = model.token_ids(&model.prompt(&[ChatMessage::new(
        Role::User,
        reversed.join(" ").repeat(ANALYSIS_REPEATS),
    )])?)?;

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_long, mut theirs_long) = (Vec::new(), Vec::new());
    let (mut ours_longer, mut theirs_longer) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // Interleaved so that both see the machine in the same state.
        for prompt in &prompts {
            theirs.extend(llama(&http, &base, prompt, TOKENS).await);
            ours.extend(builtin(&model, prompt, TOKENS).await);
        }
        theirs_long.extend(llama(&http, &base, &long, 2).await);
        ours_long.extend(builtin(&model, &long, 2).await);
        theirs_longer.extend(llama(&http, &base, &longer, 2).await);
        ours_longer.extend(builtin(&model, &longer, 2).await);
    }
    // The KV cache is full-size after the long prompt: measured before the schema runs (their
    // grammar's vocabulary trie is not part of the loaded model).
    let rss = rss_bytes().saturating_sub(rss_before);

    // A chat's next turn: the long prompt, an answer and one more question. Ours read from
    // nothing (an unrelated prompt just before) and right after the turn before it (the cache
    // holds that turn); llama.cpp's server with its prompt cache, right after the turn too.
    let next = model.token_ids(&model.prompt(&[
        ChatMessage::new(Role::User, long_text),
        ChatMessage::new(Role::Assistant, "Noted: three questions, asked many times."),
        ChatMessage::new(Role::User, "Which of them came first?"),
    ])?)?;
    let (mut cold, mut warm, mut warm_ref) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        llama_with(&http, &base, &long, 2, true).await;
        warm_ref.extend(llama_with(&http, &base, &next, 2, true).await);
        builtin(&model, &prompts[0], 2).await;
        cold.extend(builtin(&model, &next, 2).await);
        builtin(&model, &long, 2).await;
        warm.extend(builtin(&model, &next, 2).await);
    }

    // Schema-constrained decoding's cost: the analysis schema against free text, same prompt.
    let analysis = model.token_ids(&model.prompt(&[
        ChatMessage::new(
            Role::System,
            "Reply with a JSON analysis of the conversation: sentiment, sentiment_score, \
             topics, summary, key_points, action_items.",
        ),
        ChatMessage::new(Role::User, PROMPTS.join("\n")),
    ])?)?;
    let schema = hindsight::analysis::schema();
    builtin_with(&model, &analysis, 8, Some(schema.clone())).await; // compiles the schema
    let (mut free, mut constrained) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        free.extend(builtin_with(&model, &analysis, TOKENS, None).await);
        constrained.extend(builtin_with(&model, &analysis, TOKENS, Some(schema.clone())).await);
    }
    let tps = |r: &[Sample]| median(r.iter().map(Sample::tok_per_s).collect());
    let first = |r: &[Sample]| median(r.iter().map(|s| s.first.as_secs_f64()).collect());
    let (decode, decode_ref) = (tps(&ours), tps(&theirs));
    let (ttft, ttft_ref) = (first(&ours_long), first(&theirs_long));
    let (prompt_tps, prompt_tps_ref) = (long.len() as f64 / ttft, long.len() as f64 / ttft_ref);
    println!(
        "| {} ({}) | {decode:.1} / {decode_ref:.1} | **{:.2}×** | {prompt_tps:.0} / {prompt_tps_ref:.0} | **{:.2}×** | {:.2} / {:.2} s | **{:.2}×** | {:.0} MB ({:.2}× the file) | {:.1} s |",
        spec.label,
        spec.name,
        decode / decode_ref,
        prompt_tps / prompt_tps_ref,
        ttft,
        ttft_ref,
        ttft / ttft_ref,
        rss as f64 / 1e6,
        rss as f64 / spec.bytes as f64,
        load.as_secs_f64(),
    );
    let (cold, warm, warm_ref) = (first(&cold), first(&warm), first(&warm_ref));
    println!(
        "next turn: {} answers a {}-token chat's next turn in {warm:.2} s after the turn before ({cold:.2} s read from nothing: {:.2}×; llama.cpp with its prompt cache {warm_ref:.2} s: {:.2}×)",
        spec.name,
        next.len(),
        warm / cold,
        warm / warm_ref
    );
    let (ours_longer, theirs_longer) = (first(&ours_longer), first(&theirs_longer));
    println!(
        "analysis length: {} reads a {}-token prompt at {:.0} tok/s, llama.cpp at {:.0} ({:.2}×; first token {ours_longer:.2} / {theirs_longer:.2} s)",
        spec.name,
        longer.len(),
        longer.len() as f64 / ours_longer,
        longer.len() as f64 / theirs_longer,
        theirs_longer / ours_longer,
    );
    let (free, constrained) = (tps(&free), tps(&constrained));
    println!(
        "constrained: {} decodes {constrained:.1} tok/s under the analysis schema, {free:.1} as free text ({:.2}×)",
        spec.name,
        constrained / free
    );
    eprintln!(
        "{}: greedy, {TOKENS} new tokens after prompts of {} tokens, and a {}-token prompt; {ROUNDS} rounds interleaved; medians",
        spec.name,
        prompts.iter().map(|p| p.len().to_string()).collect::<Vec<_>>().join("/"),
        long.len()
    );
    eprintln!(
        "{}: memory {:.0} MB once loaded, {:.0} MB after the runs (the KV cache and buffers)",
        spec.name,
        rss_loaded as f64 / 1e6,
        rss as f64 / 1e6
    );
    Ok(())
}
