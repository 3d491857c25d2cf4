//! Added latency of the app's chat path (store the user message, create the AI message, build
//! the prompt, stream through the channel) versus calling the same llama.cpp server directly
//! with reqwest + SSE. For scripts/bench-chat: reads BENCH_LLM_URL (an OpenAI-compatible
//! base URL) and prints a Markdown table. Runs alternate (direct, app) to share server state.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hindsight::chat::{ChatEvent, ChatService};
use hindsight::llm::{Llm, LlmSettings};
use tokio::sync::mpsc;

const QUESTION: &str = "List three uses of a paperclip.";

struct Sample {
    first: Duration,
    per_token: Duration,
}

fn per_token(times: &[Instant]) -> Duration {
    if times.len() < 2 {
        return Duration::ZERO;
    }
    (times[times.len() - 1] - times[0]) / (times.len() as u32 - 1)
}

async fn direct(
    http: &reqwest::Client,
    s: &LlmSettings,
) -> Result<Sample, Box<dyn std::error::Error>> {
    let body = serde_json::json!({
        "model": s.model, "stream": true, "temperature": s.temperature, "max_tokens": s.max_tokens,
        "messages": [{"role": "system", "content": s.system_prompt}, {"role": "user", "content": QUESTION}],
    });
    let t0 = Instant::now();
    let resp = http
        .post(format!("{}/chat/completions", s.base_url))
        .json(&body)
        .send()
        .await?;
    let mut events = resp.bytes_stream().eventsource();
    let mut times = Vec::new();
    while let Some(e) = events.next().await {
        let e = e?;
        if e.data == "[DONE]" {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&e.data)?;
        if v["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
        {
            times.push(Instant::now());
        }
    }
    let first = *times.first().ok_or("no tokens")? - t0;
    Ok(Sample {
        first,
        per_token: per_token(&times),
    })
}

async fn app(chat: &ChatService, llm: &Llm) -> Result<Sample, Box<dyn std::error::Error>> {
    let conversation = chat.create_conversation(Some(QUESTION))?;
    let (tx, mut rx) = mpsc::channel(256);
    let t0 = Instant::now();
    let collect = async {
        let mut times = Vec::new();
        while let Some(e) = rx.recv().await {
            if matches!(e, ChatEvent::Token(_)) {
                times.push(Instant::now());
            }
        }
        times
    };
    let (result, times) = tokio::join!(chat.send(llm, &conversation.id, QUESTION, tx), collect);
    result?;
    let first = *times.first().ok_or("no tokens")? - t0;
    Ok(Sample {
        first,
        per_token: per_token(&times),
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("BENCH_LLM_URL").map_err(|_| "set BENCH_LLM_URL")?;
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut settings = LlmSettings {
        base_url: url,
        temperature: 0.0,
        max_tokens: 32,
        ..Default::default()
    };
    let llm = Llm::server(settings.clone())?;
    // A configured app knows its model (Settings); so does the direct call.
    settings.model = llm.model().await?;
    let llm = Llm::server(settings.clone())?;
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir()?;
    let store = hindsight::store::Store::open(&dir.path().join("hindsight.db"))?;
    let chat = ChatService::new(Arc::new(Mutex::new(store)), || {});

    for _ in 0..3 {
        direct(&http, &settings).await?;
        app(&chat, &llm).await?;
    }
    let (mut d, mut a) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        d.push(direct(&http, &settings).await?);
        a.push(app(&chat, &llm).await?);
    }
    let df = median(d.iter().map(|s| s.first).collect());
    let af = median(a.iter().map(|s| s.first).collect());
    let dt = median(d.iter().map(|s| s.per_token).collect());
    let at = median(a.iter().map(|s| s.per_token).collect());
    println!(
        "{runs} runs each, alternating, median; model {}, max_tokens 32, temperature 0",
        settings.model
    );
    println!();
    println!("| path | time to first token | per token |");
    println!("|---|---|---|");
    println!(
        "| direct (reqwest + SSE) | {:.2} ms | {:.2} ms |",
        df.as_secs_f64() * 1e3,
        dt.as_secs_f64() * 1e3
    );
    println!(
        "| Hindsight chat service | {:.2} ms | {:.2} ms |",
        af.as_secs_f64() * 1e3,
        at.as_secs_f64() * 1e3
    );
    println!(
        "| added by the app | {:+.2} ms ({:.3}x) | {:+.3} ms ({:.3}x) |",
        (af.as_secs_f64() - df.as_secs_f64()) * 1e3,
        af.as_secs_f64() / df.as_secs_f64(),
        (at.as_secs_f64() - dt.as_secs_f64()) * 1e3,
        at.as_secs_f64() / dt.as_secs_f64().max(1e-9)
    );
    Ok(())
}
