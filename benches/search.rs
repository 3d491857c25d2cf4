//! Search latency at 10k / 100k / 1M messages (synthetic unit vectors in a real SQLite file),
//! in one run, against:
//!   - an exact f32 scan of an in-memory matrix (single thread): the design alternative;
//!   - the seed's method: vectors as JSON text in SQLite, parsed and compared per query;
//!   - sqlite-vec (vec0, cosine, brute force KNN) on the same vectors.
//!
//! Also recall@10 of the index against the exact scan. With BENCH_LLM_URL set (see
//! scripts/bench-search), `ask` end to end on the evaluation history, split into embed /
//! search / LLM. Run: ./scripts/bench-search (release build).
#![allow(clippy::unwrap_used)] // a benchmark: a panic is the failure report

use std::time::Instant;

use hindsight::embed::{DIM, MODEL_ID};
use hindsight::search::{exact_top_k, SearchMode, SearchOptions, Searcher};
use hindsight::store::{vector_to_blob, Store};
use rusqlite::params;

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn next_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn unit(&mut self, v: &mut [f32]) {
        for x in v.iter_mut() {
            *x = self.next_f32();
        }
        normalise(v);
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    for x in v.iter_mut() {
        *x /= n;
    }
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() - 1) as f64 * p).round() as usize;
    sorted_ms[i]
}

/// Times `f` on every query; returns (p50, p95) in ms.
fn time_queries(queries: &[Vec<f32>], mut f: impl FnMut(&[f32])) -> (f64, f64) {
    let mut ms: Vec<f64> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            f(q);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.95))
}

fn register_sqlite_vec() {
    type Init = unsafe extern "C" fn(
        *mut rusqlite::ffi::sqlite3,
        *mut *mut std::os::raw::c_char,
        *const rusqlite::ffi::sqlite3_api_routines,
    ) -> std::os::raw::c_int;
    // SAFETY: sqlite3_vec_init has SQLite's extension entry-point signature; the crate declares
    // it without arguments. The standard static-extension registration.
    unsafe {
        let init =
            std::mem::transmute::<*const (), Init>(sqlite_vec::sqlite3_vec_init as *const ());
        rusqlite::ffi::sqlite3_auto_extension(Some(init));
    }
}

fn bench_size(n: usize, seed_queries: usize, embedder: Option<&hindsight::embed::Embedder>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    let conn = store.connection();
    // Clustered data (messages of a topic are near each other), like real embeddings.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ n as u64);
    let centroids: Vec<Vec<f32>> = (0..1000)
        .map(|_| {
            let mut c = vec![0f32; DIM];
            rng.unit(&mut c);
            c
        })
        .collect();
    let mut matrix = vec![0f32; n * DIM];
    let t = Instant::now();
    conn.execute_batch(
        "CREATE TABLE seed_embeddings (message_id TEXT PRIMARY KEY, vector TEXT NOT NULL);
         CREATE VIRTUAL TABLE vec_items USING vec0(embedding float[384] distance_metric=cosine);
         BEGIN;",
    )
    .unwrap();
    {
        let mut conv = conn
            .prepare("INSERT INTO conversations (id, title, start_time) VALUES (?1, ?2, 0)")
            .unwrap();
        let mut msg = conn
            .prepare(
                "INSERT INTO messages (seq, id, conversation_id, content, sender, timestamp)
                 VALUES (?1, ?2, ?3, ?4, 'user', ?1)",
            )
            .unwrap();
        let mut emb = conn
            .prepare(
                "INSERT INTO embeddings (message_id, model, dim, vector, created_at)
                 VALUES (?1, ?2, 384, ?3, 0)",
            )
            .unwrap();
        let mut seed = conn
            .prepare("INSERT INTO seed_embeddings (message_id, vector) VALUES (?1, ?2)")
            .unwrap();
        let mut vec = conn
            .prepare("INSERT INTO vec_items (rowid, embedding) VALUES (?1, ?2)")
            .unwrap();
        let mut noise = vec![0f32; DIM];
        let mut conversation = String::new();
        for i in 0..n {
            if i % 20 == 0 {
                conversation = uuid::Uuid::new_v4().to_string();
                conv.execute([&conversation, &words(&mut rng, 4, 1.0)])
                    .unwrap();
            }
            let id = uuid::Uuid::new_v4().to_string();
            let c = &centroids[(rng.next_u64() % 1000) as usize];
            rng.unit(&mut noise);
            let v = &mut matrix[i * DIM..(i + 1) * DIM];
            for ((x, a), b) in v.iter_mut().zip(c).zip(&noise) {
                *x = a + 0.9 * b;
            }
            normalise(v);
            msg.execute(params![
                i as i64 + 1,
                id,
                conversation,
                words(&mut rng, 14, 1.0)
            ])
            .unwrap();
            let blob = vector_to_blob(v);
            emb.execute(params![id, MODEL_ID, blob]).unwrap();
            if seed_queries > 0 {
                seed.execute(params![id, serde_json::to_string(&v.to_vec()).unwrap()])
                    .unwrap();
            }
            vec.execute(params![i as i64 + 1, blob]).unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    eprintln!("  {n}: data written in {:.1?}", t.elapsed());

    let texts: Vec<String> = (0..50).map(|_| words(&mut rng, 3, 100.0)).collect();
    let queries: Vec<Vec<f32>> = (0..50)
        .map(|_| {
            let row = (rng.next_u64() as usize) % n;
            let mut noise = vec![0f32; DIM];
            rng.unit(&mut noise);
            let mut q: Vec<f32> = matrix[row * DIM..(row + 1) * DIM]
                .iter()
                .zip(&noise)
                .map(|(a, b)| a + 0.7 * b)
                .collect();
            normalise(&mut q);
            q
        })
        .collect();

    // Ours: the app's search path (index scan, exact re-scoring from SQLite, hydration).
    let searcher = Searcher::new();
    let t = Instant::now();
    searcher.refresh(&store).unwrap();
    let load = t.elapsed();
    let opts = SearchOptions {
        mode: SearchMode::Dense,
        limit: 10,
        per_conversation: 0,
        ..Default::default()
    };
    let mut ours_hits = Vec::new();
    let (ours50, ours95) = time_queries(&queries, |q| {
        ours_hits.push(searcher.search(&store, "q", Some(q), &opts).unwrap().hits);
    });

    // The default search (what the sidebar and `hindsight search` run): the dense path above
    // plus BM25 over messages and conversation titles, each hit's neighbouring turns and the
    // fusion (`search/fuse.rs`).
    let hybrid = SearchOptions {
        mode: SearchMode::Hybrid,
        limit: 10,
        ..Default::default()
    };
    let mut i = 0;
    let (hy50, hy95) = time_queries(&queries, |q| {
        let found = searcher.search(&store, &texts[i % texts.len()], Some(q), &hybrid);
        assert!(!found.unwrap().hits.is_empty());
        i += 1;
    });

    // As you type in the sidebar: each keystroke's text is new, so its embedding is computed
    // (the real model), then the default search runs.
    let typing = embedder.map(|e| {
        let mut i = 0;
        time_queries(&queries, |_| {
            let text = format!("{} {i}", texts[i % texts.len()]);
            let q = searcher.embed_query(e, &text).unwrap();
            searcher.search(&store, &text, Some(&q), &hybrid).unwrap();
            i += 1;
        })
    });

    // Exact f32 reference (also the recall oracle).
    let mut exact = Vec::new();
    let (ex50, ex95) = time_queries(&queries, |q| exact.push(exact_top_k(&matrix, DIM, q, 10)));
    let seq_ids: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT id FROM messages ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let mut found = 0;
    for (hits, truth) in ours_hits.iter().zip(&exact) {
        for (row, _) in truth {
            if hits.iter().any(|h| h.message_id == seq_ids[*row]) {
                found += 1;
            }
        }
    }
    let recall = found as f64 / (10 * queries.len()) as f64;

    // sqlite-vec brute-force KNN.
    let mut knn = conn
        .prepare("SELECT rowid, distance FROM vec_items WHERE embedding MATCH ?1 AND k = 10")
        .unwrap();
    let (sv50, sv95) = time_queries(&queries, |q| {
        let rows: Vec<(i64, f64)> = knn
            .query_map([vector_to_blob(q)], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 10);
    });

    // The seed's method: load every vector as JSON, parse, cosine, sort.
    let seed = if seed_queries > 0 {
        let mut stmt = conn
            .prepare("SELECT message_id, vector FROM seed_embeddings")
            .unwrap();
        let (s50, s95) = time_queries(&queries[..seed_queries], |q| {
            let qn = q.iter().map(|x| x * x).sum::<f32>().sqrt();
            let mut scored: Vec<(String, f32)> = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .unwrap()
                .map(|row| {
                    let (id, json) = row.unwrap();
                    let v: Vec<f32> = serde_json::from_str(&json).unwrap();
                    let dot: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
                    let vn = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    (id, dot / (vn * qn))
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            scored.truncate(10);
        });
        Some((s50, s95))
    } else {
        None
    };

    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "| {n} | {ours50:.2} / {ours95:.2} | {hy50:.2} / {hy95:.2} | {} | {ex50:.2} / {ex95:.2} | {sv50:.2} / {sv95:.2} | {} | {:.1}× / {:.1}× | {recall:.3} | {:.0} MB (f32: {:.0} MB) | {:.2} s |",
        typing.map_or("not run".into(), |(a, b)| format!("{a:.2} / {b:.2}")),
        seed.map_or("not run".into(), |(a, b)| format!("{a:.0} / {b:.0} ({seed_queries} q)")),
        sv50 / ours50,
        seed.map_or(f64::NAN, |(a, _)| a / ours50),
        mb(searcher.memory_bytes()),
        mb(n * DIM * 4),
        load.as_secs_f64()
    );
}

fn bench_ask(url: &str) {
    use hindsight::search::ask::{self, AskOptions};
    let models = std::env::var("HINDSIGHT_MODELS_DIR").unwrap_or_else(|_| ".models".into());
    let embedder = hindsight::embed::Embedder::load(std::path::Path::new(&models)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ask.db")).unwrap();
    hindsight::transfer::import_file(
        &store,
        std::path::Path::new("tests/fixtures/retrieval_eval_history.json"),
        hindsight::transfer::ImportFormat::Auto,
    )
    .unwrap();
    hindsight::embed::embed_backlog(&store, &embedder, 32, |_| {}).unwrap();
    let llm = hindsight::llm::Llm::server(hindsight::llm::LlmSettings {
        base_url: url.into(),
        temperature: 0.0,
        max_tokens: 128,
        ..Default::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let questions = [
        "why did my bread culture smell like acetone?",
        "Which neighbourhood did I pick for the Porto trip?",
        "how did I fix the mixer in the kitchen that kept leaking?",
        "What did the assistant suggest for my knee pain when I ramped up my running?",
        "What films were recommended after I liked Arrival?",
    ];
    println!("\n| question | embed ms | search ms | LLM ms | total ms | excerpts |\n|---|---|---|---|---|---|");
    let searcher = Searcher::new();
    for q in questions {
        let t = Instant::now();
        let retrieved =
            ask::retrieve(&store, &searcher, &embedder, q, AskOptions::default()).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
        let result = runtime
            .block_on(async {
                let drain = async { while rx.recv().await.is_some() {} };
                tokio::join!(ask::answer(&llm, q, retrieved, tx), drain).0
            })
            .unwrap();
        let tm = &result.timings;
        println!(
            "| {q} | {:.1} | {:.1} | {:.0} | {:.0} | {} |",
            tm.embed_ms,
            tm.search_ms,
            tm.llm_ms,
            t.elapsed().as_secs_f64() * 1e3,
            result.excerpts.len()
        );
    }
}

/// `n` words of a synthetic vocabulary of 20,000 with Zipf frequencies (rank r has
/// probability ∝ 1/r, as in text). `min_rank` 100 draws only words outside the 100 most
/// common, as a question's words are once its stop words are dropped.
fn words(rng: &mut Rng, n: usize, min_rank: f64) -> String {
    (0..n)
        .map(|_| {
            let u = (rng.next_u64() % 1_000_000) as f64 / 1_000_000.0;
            let lo = min_rank.ln();
            format!("w{}", (lo + u * (20_000f64.ln() - lo)).exp() as u32)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probing
    }
    register_sqlite_vec();
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "threads: {}\n\n| messages | ours p50 / p95 ms | ours, default (hybrid) p50 / p95 ms | as you type: embed + default p50 / p95 ms | exact f32 scan (1 thread) p50 / p95 ms | sqlite-vec p50 / p95 ms | seed method p50 / p95 ms | sqlite-vec / ours, seed / ours (p50) | recall@10 vs exact | index memory | index load |\n|---|---|---|---|---|---|---|---|---|---|---|",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    // The real model, when installed (scripts/bench-search fetches it), for the as-you-type column.
    let models = std::env::var("HINDSIGHT_MODELS_DIR").unwrap_or_else(|_| ".models".into());
    let embedder = hindsight::embed::Embedder::load(std::path::Path::new(&models)).ok();
    for n in sizes {
        let seed_queries = match n {
            0..=20_000 => 20,
            20_001..=200_000 => 5,
            _ => 2,
        };
        bench_size(n, seed_queries, embedder.as_ref());
    }
    if let Ok(url) = std::env::var("BENCH_LLM_URL") {
        bench_ask(&url);
    }
}
