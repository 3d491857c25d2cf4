//! History search: the int8 index against a brute-force exact reference on random data,
//! filters, FTS escaping, retrieval quality on the evaluation set (real all-MiniLM-L6-v2),
//! "no relevant history", and the `search` CLI without any LLM.

use std::collections::HashMap;

use crate::common::{conversation, embedded, embedder, fixture, message, models_dir, temp_store};
use hindsight::embed::{DIM, MODEL_ID};
use hindsight::search::ask::{self, AskOptions, NOTHING_FOUND};
use hindsight::search::{
    exact_top_k, RowFilter, SearchFilters, SearchMode, SearchOptions, Searcher, VectorIndex,
};
use hindsight::store::{Sender, Store};

/// A deterministic generator (xorshift) of unit vectors.
struct Rng(u64);
impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn unit(&mut self, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| self.next_f32()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
}

#[test]
fn index_candidates_contain_the_exact_top_10_on_random_data() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = 30_000; // above the threshold where the scan is split across threads
    let mut matrix = Vec::with_capacity(n * DIM);
    let mut index = VectorIndex::new("m", DIM);
    for i in 0..n {
        let v = rng.unit(DIM);
        index.add(i as i64, "c", Sender::User, 0, &v);
        matrix.extend_from_slice(&v);
    }
    assert_eq!(index.len(), n);
    for _ in 0..20 {
        // Queries near a stored vector, like real ones, and uniformly random ones.
        let base = &matrix[(rng.0 as usize % n) * DIM..][..DIM];
        let noise = rng.unit(DIM);
        let near: Vec<f32> = base.iter().zip(&noise).map(|(a, b)| a + 0.5 * b).collect();
        for q in [near, rng.unit(DIM)] {
            let exact: Vec<i64> = exact_top_k(&matrix, DIM, &q, 10)
                .iter()
                .map(|(row, _)| *row as i64)
                .collect();
            let candidates: Vec<i64> = index
                .candidates(&q, 200, &RowFilter::default())
                .iter()
                .map(|c| c.0)
                .collect();
            for seq in &exact {
                assert!(candidates.contains(seq), "exact hit {seq} missed");
            }
        }
    }
}

#[test]
fn a_removed_conversation_leaves_the_index_and_keys_are_not_reused() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut index = VectorIndex::new("m", DIM);
    let mut vectors = Vec::new();
    for (seq, conversation) in [(1, "a"), (2, "b"), (3, "a"), (4, "c"), (5, "b"), (6, "c")] {
        let v = rng.unit(DIM);
        index.add(seq, conversation, Sender::User, seq, &v);
        vectors.push((seq, conversation, v));
    }
    assert_eq!(index.remove_conversation("b"), 2);
    assert_eq!(index.remove_conversation("b"), 0, "already gone");
    assert_eq!(index.len(), 4);
    // Every kept row still scores as its own vector, and the removed ones are not offered.
    for (seq, conversation, v) in &vectors {
        let top = index.candidates(v, 6, &RowFilter::default());
        let seqs: Vec<i64> = top.iter().map(|c| c.0).collect();
        if *conversation == "b" {
            assert!(
                !seqs.contains(seq),
                "{seq} of a removed conversation came back"
            );
        } else {
            assert_eq!(seqs[0], *seq, "{top:?}");
            assert!(top[0].1 > 0.98, "{top:?}");
        }
        assert!(!seqs.contains(&2) && !seqs.contains(&5));
    }
    // A conversation added afterwards gets its own key: filtering by it finds only its rows.
    let v = rng.unit(DIM);
    index.add(7, "d", Sender::User, 7, &v);
    let filter = |c: &str| RowFilter {
        conversation: Some(index.conversation_key(c)),
        ..Default::default()
    };
    let only_d: Vec<i64> = index
        .candidates(&v, 10, &filter("d"))
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(only_d, vec![7]);
    let only_c: Vec<i64> = index
        .candidates(&v, 10, &filter("c"))
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(only_c.len(), 2);
    assert!(only_c.contains(&4) && only_c.contains(&6));
    // Replacing a kept message's vector still finds its (moved) row.
    let w = rng.unit(DIM);
    index.add(6, "c", Sender::User, 6, &w);
    assert_eq!(index.len(), 5);
    assert_eq!(index.candidates(&w, 1, &RowFilter::default())[0].0, 6);
}

/// A store whose messages carry random unit vectors as their embeddings.
fn random_history(
    n_conversations: usize,
    per: usize,
) -> (crate::common::TempStore, Vec<(String, Vec<f32>)>) {
    let t = temp_store();
    let mut rng = Rng(42);
    let mut vectors = Vec::new();
    t.store
        .transaction(|s| {
            for c in 0..n_conversations {
                let cid = conversation(s, &format!("c{c}"), c as i64 * 1_000_000);
                for m in 0..per {
                    let sender = if m % 2 == 0 { Sender::User } else { Sender::Ai };
                    let id = message(
                        s,
                        &cid,
                        sender,
                        &format!("message {m} of conversation {c}"),
                        c as i64 * 1_000_000 + m as i64,
                    );
                    let v = rng.unit(DIM);
                    s.put_embedding(&id, MODEL_ID, &v)?;
                    vectors.push((id, v));
                }
            }
            Ok(())
        })
        .unwrap();
    (t, vectors)
}

#[test]
fn dense_search_equals_brute_force_and_respects_filters() {
    let (t, vectors) = random_history(100, 30);
    let searcher = Searcher::new();
    let mut rng = Rng(7);
    let matrix: Vec<f32> = vectors.iter().flat_map(|v| v.1.clone()).collect();
    for _ in 0..10 {
        let q = rng.unit(DIM);
        let opts = SearchOptions {
            mode: SearchMode::Dense,
            limit: 10,
            per_conversation: 0,
            ..Default::default()
        };
        let hits = searcher
            .search(&t.store, "anything", Some(&q), &opts)
            .unwrap()
            .hits;
        let expected: Vec<(&str, f32)> = exact_top_k(&matrix, DIM, &q, 10)
            .iter()
            .map(|(row, s)| (vectors[*row].0.as_str(), *s))
            .collect();
        let got: Vec<(&str, f32)> = hits
            .iter()
            .map(|h| (h.message_id.as_str(), h.similarity.unwrap()))
            .collect();
        assert_eq!(got.len(), 10);
        for ((gid, gs), (eid, es)) in got.iter().zip(&expected) {
            assert_eq!(gid, eid);
            assert!((gs - es).abs() < 1e-5, "similarity is the exact cosine");
        }
    }
    assert_eq!(searcher.indexed(), 3000);

    // Filters: every hit satisfies them, and per-conversation grouping caps each conversation.
    let q = rng.unit(DIM);
    let target = t.store.list_conversations(None, 1).unwrap().items[0].clone();
    let bookmarked = &vectors[5].0;
    t.store.set_bookmark(bookmarked, true).unwrap();
    let cases = [
        SearchFilters {
            conversation_id: Some(target.id.to_uppercase()),
            ..Default::default()
        },
        SearchFilters {
            sender: Some(Sender::Ai),
            ..Default::default()
        },
        SearchFilters {
            from: Some(10_000_000),
            to: Some(20_000_000),
            ..Default::default()
        },
        SearchFilters {
            bookmarked_only: true,
            ..Default::default()
        },
    ];
    for filters in cases {
        for mode in [SearchMode::Dense, SearchMode::Bm25, SearchMode::Hybrid] {
            let opts = SearchOptions {
                mode,
                limit: 20,
                per_conversation: 2,
                filters: filters.clone(),
                ..Default::default()
            };
            let hits = searcher
                .search(&t.store, "message conversation", Some(&q), &opts)
                .unwrap()
                .hits;
            assert!(!hits.is_empty(), "{mode:?} {filters:?}");
            let mut per: HashMap<&str, usize> = HashMap::new();
            for h in &hits {
                *per.entry(h.conversation_id.as_str()).or_default() += 1;
                if filters.conversation_id.is_some() {
                    assert_eq!(h.conversation_id, target.id);
                }
                if let Some(s) = filters.sender {
                    assert_eq!(h.sender, s);
                }
                if let (Some(from), Some(to)) = (filters.from, filters.to) {
                    assert!(h.timestamp >= from && h.timestamp < to);
                }
                if filters.bookmarked_only {
                    assert_eq!(&h.message_id, bookmarked);
                }
            }
            assert!(per.values().all(|&n| n <= 2), "grouped per conversation");
        }
    }

    // New vectors are picked up by the next query; deleted messages vanish from results.
    let doomed = t.store.list_conversations(None, 1).unwrap().items[0]
        .id
        .clone();
    t.store.delete_conversation(&doomed).unwrap();
    let opts = SearchOptions {
        mode: SearchMode::Dense,
        limit: 50,
        per_conversation: 0,
        ..Default::default()
    };
    let hits = searcher
        .search(&t.store, "x", Some(&q), &opts)
        .unwrap()
        .hits;
    assert!(hits.iter().all(|h| h.conversation_id != doomed));
}

#[test]
fn hostile_search_text_is_escaped_and_bad_input_is_clear() {
    let t = temp_store();
    let c = conversation(&t.store, "c", 1);
    message(
        &t.store,
        &c,
        Sender::User,
        "NEAR the \"quoted\" star* AND more",
        2,
    );
    let searcher = Searcher::new();
    let bm25 = SearchOptions {
        mode: SearchMode::Bm25,
        ..Default::default()
    };
    for text in [
        "\"",
        "NEAR(",
        "star*",
        "'; DROP TABLE messages; --",
        "AND OR NOT",
        "col:quoted",
        "^",
        "(((",
    ] {
        searcher.search(&t.store, text, None, &bm25).unwrap();
    }
    assert_eq!(
        searcher
            .search(&t.store, "quoted", None, &bm25)
            .unwrap()
            .hits
            .len(),
        1
    );
    assert_eq!(t.store.count_messages().unwrap(), 1, "nothing was dropped");
    let err = searcher.search(&t.store, "  ", None, &bm25).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let err = searcher
        .search(&t.store, "x", None, &SearchOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input", "hybrid needs the query vector");
}

struct Question {
    question: String,
    kind: String,
    relevant: Vec<String>,
    asked_at: Option<i64>,
}

fn load_questions(path: &std::path::Path) -> Vec<Question> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    raw.into_iter()
        .map(|q| Question {
            question: q["question"].as_str().unwrap().to_owned(),
            kind: q["kind"].as_str().unwrap_or("?").to_owned(),
            relevant: q["relevant"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            asked_at: q["asked_at"]
                .as_str()
                .map(|t| hindsight::time::parse_rfc3339(t).unwrap()),
        })
        .collect()
}

fn eval_history() -> (crate::common::TempStore, Vec<Question>) {
    (
        embedded(&fixture("retrieval_eval_history.json")),
        load_questions(&fixture("retrieval_eval_questions.json")),
    )
}

/// Per question: (found at 10, all evidence at 10, reciprocal rank at 10) of a mode.
fn evaluate(
    store: &Store,
    searcher: &Searcher,
    questions: &[Question],
    mode: SearchMode,
) -> Vec<[f64; 3]> {
    questions
        .iter()
        .filter(|q| !q.relevant.is_empty())
        .map(|q| {
            let vector = searcher.embed_query(embedder(), &q.question).unwrap();
            let hits = searcher
                .search(
                    store,
                    &q.question,
                    Some(&vector),
                    &SearchOptions {
                        mode,
                        limit: 10,
                        now: q.asked_at,
                        ..Default::default()
                    },
                )
                .unwrap()
                .hits;
            let ids: Vec<&str> = hits.iter().map(|h| h.message_id.as_str()).collect();
            let first = ids.iter().position(|id| q.relevant.iter().any(|r| r == id));
            [
                f64::from(u8::from(first.is_some())),
                f64::from(u8::from(
                    q.relevant.iter().all(|r| ids.contains(&r.as_str())),
                )),
                first.map_or(0.0, |r| 1.0 / (r as f64 + 1.0)),
            ]
        })
        .collect()
}

const MODES: [(&str, SearchMode); 3] = [
    ("dense", SearchMode::Dense),
    ("bm25", SearchMode::Bm25),
    ("hybrid (default)", SearchMode::Hybrid),
];

/// Scores of each mode per question kind (and "all") on one evaluation set, printed as a
/// table: Recall@10 (any evidence), all evidence in the top 10, MRR@10.
fn quality_table(
    name: &str,
    sets: &[(crate::common::TempStore, Vec<Question>)],
) -> HashMap<(String, String), [f64; 3]> {
    let mut per: HashMap<(String, String), Vec<[f64; 3]>> = HashMap::new();
    let mut kinds: Vec<String> = Vec::new();
    for (t, questions) in sets {
        let searcher = Searcher::new();
        let answerable: Vec<&Question> = questions
            .iter()
            .filter(|q| !q.relevant.is_empty())
            .collect();
        for q in &answerable {
            if !kinds.contains(&q.kind) {
                kinds.push(q.kind.clone());
            }
        }
        for (mode_name, mode) in MODES {
            let scores = evaluate(&t.store, &searcher, questions, mode);
            for (q, s) in answerable.iter().zip(scores) {
                for kind in [q.kind.as_str(), "all"] {
                    per.entry((mode_name.to_owned(), kind.to_owned()))
                        .or_default()
                        .push(s);
                }
            }
        }
    }
    kinds.sort();
    kinds.push("all".into());
    let mean = |v: &Vec<[f64; 3]>| {
        let n = v.len() as f64;
        [0, 1, 2].map(|i| v.iter().map(|s| s[i]).sum::<f64>() / n)
    };
    println!("\n{name}: Recall@10 / all evidence@10 / MRR@10 (questions)\n");
    println!(
        "| mode | {} |",
        kinds
            .iter()
            .map(|k| format!("{k} ({})", per[&(MODES[0].0.to_owned(), k.clone())].len()))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(kinds.len()));
    let mut out = HashMap::new();
    for (mode_name, _) in MODES {
        let cells: Vec<String> = kinds
            .iter()
            .map(|k| {
                let m = mean(&per[&(mode_name.to_owned(), k.clone())]);
                out.insert((mode_name.to_owned(), k.clone()), m);
                format!("{:.3} / {:.3} / {:.3}", m[0], m[1], m[2])
            })
            .collect();
        println!("| {mode_name} | {} |", cells.join(" | "));
    }
    out
}

/// The default mode is at least as good as each retriever alone, on every question kind
/// (within `noise`, for Recall@10 and MRR@10) and on the whole set (strictly as good).
fn assert_default_is_best(name: &str, table: &HashMap<(String, String), [f64; 3]>, noise: f64) {
    let default = "hybrid (default)";
    assert_eq!(SearchMode::default(), SearchMode::Hybrid);
    for ((mode, kind), single) in table.iter().filter(|((m, _), _)| m != default) {
        let ours = table[&(default.to_owned(), kind.clone())];
        let margin = if kind == "all" { 0.0 } else { noise };
        for (i, metric) in [(0, "Recall@10"), (2, "MRR@10")] {
            assert!(
                ours[i] + margin >= single[i],
                "{name}, {kind} questions: {metric} of the default ({:.3}) is below {mode} ({:.3})",
                ours[i],
                single[i]
            );
        }
    }
}

/// Search quality, per question kind, on two evaluation sets unlike each other (BENCHMARKS.md):
/// tests/fixtures/retrieval_eval_* (paraphrased questions about tasks, one history) and
/// tests/fixtures/life_eval/ (five long personal histories; names, places, dates, events,
/// questions across conversations and in time). Fails when the default stops being the best.
#[test]
fn retrieval_quality_on_the_evaluation_sets() {
    let old = [eval_history()];
    let table = quality_table("retrieval_eval (one history, 60 conversations)", &old);
    assert_default_is_best("retrieval_eval", &table, 0.03);
    assert!(table[&("hybrid (default)".into(), "all".into())][0] >= 0.85);

    let dir = fixture("life_eval");
    let life: Vec<_> = (1..)
        .map(|n| {
            (
                dir.join(format!("history_{n}.json")),
                dir.join(format!("questions_{n}.json")),
            )
        })
        .take_while(|(h, _)| h.exists())
        .map(|(h, q)| (embedded(&h), load_questions(&q)))
        .collect();
    assert!(life.len() >= 5);
    let table = quality_table("life_eval (five histories)", &life);
    assert_default_is_best("life_eval", &table, 0.03);
}

/// Ask's follow-up questions (asked in a thread, `tests/fixtures/quality/*_refs.json`
/// "follow_ups"): how often an evidence message is among the excerpts the model is given,
/// searched for alone, together with the question before, and both (what Ask does). Deterministic
/// (no LLM), over all four quality sets, two of them never tuned on.
#[test]
fn follow_up_questions_find_their_evidence_with_the_question_before() {
    let searcher = Searcher::new();
    let opts = AskOptions::default();
    let (mut n, mut alone, mut joint, mut both) = (0, 0, 0, 0);
    println!("follow-up retrieval: set | n | alone | with the question before | both (Ask)");
    for set in ["a", "b", "c", "d"] {
        let t = embedded(&fixture(&format!("quality/set_{set}_history.json")));
        let refs: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("quality/set_{set}_refs.json"))).unwrap(),
        )
        .unwrap();
        let found = |r: &ask::Retrieved, evidence: &[String]| {
            r.excerpts.iter().any(|e| evidence.contains(&e.message_id)) as usize
        };
        let (mut sn, mut sa, mut sj, mut sb) = (0, 0, 0, 0);
        for f in refs["follow_ups"].as_array().unwrap() {
            let (after, q) = (
                f["after"].as_str().unwrap(),
                f["question"].as_str().unwrap(),
            );
            let evidence: Vec<String> = serde_json::from_value(f["evidence"].clone()).unwrap();
            let asked = ask::follow_up(Some(after), q);
            let only_joint = ask::FollowUp {
                alone: None,
                ..asked.clone()
            };
            let retrieve = |a: &ask::FollowUp| {
                ask::retrieve_follow_up(&t.store, &searcher, embedder(), a, opts).unwrap()
            };
            sn += 1;
            sa += found(
                &ask::retrieve(&t.store, &searcher, embedder(), q, opts).unwrap(),
                &evidence,
            );
            sj += found(&retrieve(&only_joint), &evidence);
            sb += found(&retrieve(&asked), &evidence);
        }
        println!("  {set} | {sn} | {sa} | {sj} | {sb}");
        (n, alone, joint, both) = (n + sn, alone + sa, joint + sj, both + sb);
    }
    println!("  all | {n} | {alone} | {joint} | {both}");
    assert!(n >= 25, "{n} follow-ups");
    // The thread is what finds a follow-up's evidence; searching the question alone as well
    // adds what the joint search misses, and loses nothing.
    assert!(joint > alone + n / 3, "alone {alone}, joint {joint} of {n}");
    assert!(both >= joint, "both {both}, joint {joint} of {n}");
    // 23 of 25 here: one lost to another CPU's rounding is tolerated.
    assert!(both + 3 >= n, "both {both} of {n}");
}

#[test]
fn no_relevant_history_says_so_without_asking_the_llm() {
    let (t, _) = eval_history();
    let searcher = Searcher::new();
    let retrieved = ask::retrieve(
        &t.store,
        &searcher,
        embedder(),
        "What is the torque spec for a Boeing 737 landing gear bolt?",
        AskOptions::default(),
    )
    .unwrap();
    assert!(retrieved.excerpts.is_empty(), "{:?}", retrieved.excerpts);
    // A dead server: proves no request is made.
    let llm = hindsight::llm::Llm::server(hindsight::llm::LlmSettings {
        base_url: "http://127.0.0.1:9/v1".into(),
        ..Default::default()
    })
    .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let result = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ask::answer(&llm, "q", retrieved, tx))
        .unwrap();
    assert_eq!(result.answer, NOTHING_FOUND);
    assert!(result.excerpts.is_empty());

    // The search box's cut: unrelated text finds nothing instead of the least unrelated
    // messages, while a related query keeps its hits.
    let searcher = Searcher::new();
    searcher.refresh(&t.store).unwrap();
    let cut = SearchOptions {
        min_similarity: 0.25,
        ..Default::default()
    };
    let search = |text: &str, opts: &SearchOptions| {
        let q = searcher.embed_query(embedder(), text).unwrap();
        searcher
            .search(&t.store, text, Some(&q), opts)
            .unwrap()
            .hits
    };
    // (No word of it is in the history: a shared word would rightly keep a hit.)
    let unrelated = "quantum chromodynamics of hadron collider neutrino spectroscopy";
    assert!(!search(unrelated, &SearchOptions::default()).is_empty());
    let hits = search(unrelated, &cut);
    assert!(hits.is_empty(), "{hits:?}");
    let hits = search("sourdough starter smells like nail polish", &cut);
    assert!(
        hits[0].similarity.is_some_and(|s| s >= 0.25),
        "{:?}",
        hits.first()
    );

    // A question the history does answer gets excerpts above the threshold.
    let retrieved = ask::retrieve(
        &t.store,
        &searcher,
        embedder(),
        "why did my bread culture smell like acetone?",
        AskOptions::default(),
    )
    .unwrap();
    assert!(!retrieved.excerpts.is_empty());
    assert!(retrieved.context.contains("[1]"));
}

#[test]
fn an_empty_answer_from_the_model_is_said_and_keeps_the_excerpts() {
    let (t, _) = eval_history();
    let retrieved = ask::retrieve(
        &t.store,
        &Searcher::new(),
        embedder(),
        "why did my bread culture smell like acetone?",
        AskOptions::default(),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(crate::common::fake_llm::fake_server(
        crate::common::fake_llm::sse_text(" \n "),
    ));
    let llm = hindsight::llm::Llm::server(hindsight::llm::LlmSettings {
        base_url: url,
        ..Default::default()
    })
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let result = rt.block_on(ask::answer(&llm, "q", retrieved, tx)).unwrap();
    assert_eq!(result.answer, ask::EMPTY_ANSWER);
    assert!(!result.excerpts.is_empty());
    let mut streamed = String::new();
    while let Ok(piece) = rx.try_recv() {
        streamed.push_str(&piece);
    }
    assert!(streamed.ends_with(ask::EMPTY_ANSWER), "{streamed:?}");
}

#[test]
fn ask_answers_from_the_right_conversation_with_the_real_server() {
    let server = crate::common::llama::start_server();
    let (t, _) = eval_history();
    let searcher = Searcher::new();
    let question = "why did my bread culture smell like acetone?";
    let retrieved = ask::retrieve(
        &t.store,
        &searcher,
        embedder(),
        question,
        AskOptions::default(),
    )
    .unwrap();
    let llm = hindsight::llm::Llm::server(hindsight::llm::LlmSettings {
        base_url: server.url.clone(),
        max_tokens: 120,
        ..Default::default()
    })
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (result, streamed) = runtime.block_on(async {
        let collect = async {
            let mut s = String::new();
            while let Some(p) = rx.recv().await {
                s.push_str(&p);
            }
            s
        };
        tokio::join!(ask::answer(&llm, question, retrieved, tx), collect)
    });
    let result = result.unwrap();
    assert!(!result.answer.is_empty());
    assert_eq!(
        result.answer,
        streamed.trim(),
        "the answer streamed as it came"
    );
    assert!(
        result
            .excerpts
            .iter()
            .any(|e| e.conversation_id == "e0000000-0000-4000-8000-000000002000"),
        "cites the sourdough conversation: {:?}",
        result.excerpts
    );
    assert!(result
        .excerpts
        .iter()
        .all(|e| e.similarity >= ask::MIN_SIMILARITY));
    let json = serde_json::to_value(&result).unwrap();
    let mut keys: Vec<&str> = json["excerpts"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "conversation_id",
            "message",
            "message_id",
            "previous",
            "similarity",
            "timestamp",
            "title"
        ]
    );
    let mut top: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, ["answer", "excerpts"]);
}

#[test]
fn cli_search_needs_no_llm_and_bm25_needs_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let empty_models = tempfile::tempdir().unwrap();
    let run = |args: &[&str], models: &std::path::Path| {
        crate::common::hindsight(dir.path(), Some(models), args)
    };
    let history = fixture("retrieval_eval_history.json");
    assert!(run(&["import", history.to_str().unwrap()], &models_dir())
        .status
        .success());
    assert!(run(&["embed", "--json"], &models_dir()).status.success());
    let o = run(
        &[
            "search",
            "how did I fix the mixer in the kitchen that kept leaking?",
            "--json",
            "--limit",
            "5",
        ],
        &models_dir(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(hits.len(), 5);
    for key in [
        "message_id",
        "conversation_id",
        "conversation_title",
        "sender",
        "timestamp",
        "content",
        "similarity",
        "score",
    ] {
        assert!(hits[0].get(key).is_some(), "{key}");
    }
    assert!(hits[0]["similarity"].as_f64().unwrap() > 0.3);
    assert!(hits
        .iter()
        .any(|h| h["conversation_id"] == "e0000000-0000-4000-8000-000000012000"));

    let o = run(
        &["search", "Porto", "--mode", "bm25", "--json"],
        empty_models.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!hits.is_empty());
    assert!(hits[0]["similarity"].is_null());

    let o = run(&["search", "Porto", "--json"], empty_models.path());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("hindsight models download embedding"));
}

#[test]
fn cli_ask_answers_with_cited_excerpts_from_the_real_server() {
    let server = crate::common::llama::start_server();
    let dir = tempfile::tempdir().unwrap();
    let models = models_dir();
    let run =
        |args: &[&str]| crate::common::hindsight_ok(dir.path(), Some(&models), args).into_bytes();
    let history = fixture("retrieval_eval_history.json");
    // Straight after an import: Ask embeds what has no vector yet before it searches.
    run(&["import", history.to_str().unwrap()]);
    let out = run(&[
        "ask",
        "Which neighbourhood did I pick for the Porto trip?",
        "--url",
        &server.url,
        "--json",
    ]);
    let result: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(!result["answer"].as_str().unwrap().is_empty());
    let excerpts = result["excerpts"].as_array().unwrap();
    assert!(excerpts
        .iter()
        .any(|e| e["conversation_id"] == "e0000000-0000-4000-8000-000000001000"));
    let text = String::from_utf8(run(&[
        "ask",
        "Which neighbourhood did I pick for the Porto trip?",
        "--url",
        &server.url,
    ]))
    .unwrap();
    assert!(text.contains("Sources:\n[1] "), "{text}");

    // Several questions in one run (`--questions`, JSON Lines): one answer line each, in order,
    // the follow-up searched with the question before it.
    let questions = dir.path().join("questions.jsonl");
    std::fs::write(
        &questions,
        "{\"question\": \"Which neighbourhood did I pick for the Porto trip?\"}\n\n\
         {\"question\": \"And how long was the trip?\", \"previous\": \"Which neighbourhood did I pick for the Porto trip?\"}\n",
    )
    .unwrap();
    let q = questions.to_str().unwrap();
    let out = String::from_utf8(run(&[
        "ask",
        "--questions",
        q,
        "--url",
        &server.url,
        "--json",
    ]))
    .unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON answer per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0]["question"],
        "Which neighbourhood did I pick for the Porto trip?"
    );
    assert!(lines[0]["previous"].is_null());
    assert_eq!(lines[1]["question"], "And how long was the trip?");
    assert_eq!(
        lines[1]["previous"],
        "Which neighbourhood did I pick for the Porto trip?"
    );
    for line in &lines {
        assert!(!line["answer"].as_str().unwrap().is_empty(), "{line}");
        assert!(line["seconds"].as_f64().unwrap() > 0.0, "{line}");
        assert!(
            line["excerpts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["conversation_id"] == "e0000000-0000-4000-8000-000000001000"),
            "the Porto conversation, for the follow-up too: {line}"
        );
    }
    // A bad line is reported with its number before anything is asked.
    std::fs::write(
        &questions,
        "{\"question\": \"ok\"}\n{\"quesion\": \"typo\"}\n",
    )
    .unwrap();
    let o = crate::common::hindsight(
        dir.path(),
        Some(&models),
        &["ask", "--questions", q, "--url", &server.url, "--json"],
    );
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "nothing asked");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2"), "{err}");
    // A question and a file of questions are one or the other.
    let o = crate::common::hindsight(dir.path(), Some(&models), &["ask", "x", "--questions", q]);
    assert!(!o.status.success());
}

/// Asked what they did ("Which heater did I order?"), the model reads all of the person's
/// side of the conversation, latest first; the lines of it that are not about the question
/// ("Will do. Cheers.") stay out of the sources shown unless cited, and the answer's [n]
/// points into the list shown.
#[test]
fn what_the_person_did_is_read_whole_but_only_relevant_lines_are_sources() {
    let t = temp_store();
    let c = conversation(
        &t.store,
        "Freezing rental, need a heater",
        1_780_000_000_000,
    );
    let at = |k: i64| 1_780_000_000_000 + k * 60_000;
    message(&t.store, &c, Sender::User, "It's 11 degrees in our lounge room tonight. Which heater should I get for a draughty rental?", at(0));
    message(&t.store, &c, Sender::Ai, "Your options: a fan heater (cheap to buy, noisy), a ceramic heater, or an oil column heater (slow but even heat, quiet).", at(1));
    let ordered = message(
        &t.store,
        &c,
        Sender::User,
        "Righto. Ordered the De'Longhi oil column heater from Bunnings for $249.",
        at(2),
    );
    message(
        &t.store,
        &c,
        Sender::Ai,
        "Good plan. Put it in the room you're in and shut the door.",
        at(3),
    );
    let filler = message(&t.store, &c, Sender::User, "Will do. Cheers.", at(4));
    let p = hindsight::embed::embed_backlog(&t.store, embedder(), 32, |_| {}).unwrap();
    assert_eq!(p.failed, 0);

    let question = "Which heater did I order?";
    let retrieved = ask::retrieve(
        &t.store,
        &Searcher::new(),
        embedder(),
        question,
        AskOptions::default(),
    )
    .unwrap();
    let ids: Vec<String> = retrieved
        .excerpts
        .iter()
        .map(|e| e.message_id.clone())
        .collect();
    // Latest first: the filler, then the order, in the context the model reads.
    let (f, o) = (
        ids.iter().position(|i| *i == filler).unwrap(),
        ids.iter().position(|i| *i == ordered).unwrap(),
    );
    assert!(f < o, "{ids:?}");
    assert!(retrieved.context.contains("Will do. Cheers."));
    assert_eq!(retrieved.context_only, std::slice::from_ref(&filler));

    // The model answers citing the order: the filler is not listed, and [n] follows.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reply = format!(
        r#"{{"answer": "the De'Longhi oil column heater", "excerpt": {}}}"#,
        o + 1
    );
    let url = rt.block_on(crate::common::fake_llm::fake_server(
        crate::common::fake_llm::sse_text(&reply),
    ));
    let llm = hindsight::llm::Llm::server(hindsight::llm::LlmSettings {
        base_url: url,
        ..Default::default()
    })
    .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let result = rt
        .block_on(ask::answer(&llm, question, retrieved, tx))
        .unwrap();
    assert!(
        result.excerpts.iter().all(|e| e.message_id != filler),
        "{:?}",
        result.excerpts
    );
    assert_eq!(result.excerpts.len(), ids.len() - 1);
    let cited = result
        .answer
        .rsplit('[')
        .next()
        .and_then(|n| n.trim_end_matches(']').parse::<usize>().ok());
    assert!(
        result
            .answer
            .starts_with("the De'Longhi oil column heater ["),
        "{}",
        result.answer
    );
    assert_eq!(
        cited
            .and_then(|n| result.excerpts.get(n - 1))
            .map(|e| e.message_id.as_str()),
        Some(ordered.as_str()),
        "{}",
        result.answer
    );
}
