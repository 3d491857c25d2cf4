//! Local embeddings with the real all-MiniLM-L6-v2 weights: parity with sentence-transformers,
//! the backlog pass, and the background worker. The weights come from `scripts/fetch-models`
//! (scripts/test installs them into `.models/`; override with HINDSIGHT_MODELS_DIR).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{conversation, embedder, fixture, message, models_dir, temp_store};
use hindsight::embed::{embed_backlog, EmbedWorker, Embedder, DIM, MODEL_ID};
use hindsight::store::Sender;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

struct Reference {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("minilm_reference_embeddings.json")).unwrap(),
    )
    .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| Reference {
            text: i["text"].as_str().unwrap().to_owned(),
            ids: i["input_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect(),
            embedding: i["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

#[test]
fn token_ids_match_sentence_transformers() {
    let items = reference();
    assert!(items.len() >= 20);
    for (i, r) in items.iter().enumerate() {
        assert_eq!(
            embedder().token_ids(&r.text).unwrap(),
            r.ids,
            "token ids of item {i}: {:?}",
            r.text
        );
    }
    assert!(
        items.iter().any(|r| r.ids.len() == 256),
        "the fixture has a text truncated at 256 tokens"
    );
}

#[test]
fn vectors_match_sentence_transformers_one_by_one_and_batched() {
    let items = reference();
    let texts: Vec<&str> = items.iter().map(|r| r.text.as_str()).collect();
    let batched = embedder().embed_batch(&texts).unwrap(); // one packed batch: texts must not leak
    let chunked = embedder().embed(&texts, 8).unwrap(); // batches of 8, caller's order back
    for (i, r) in items.iter().enumerate() {
        let single = embedder().embed_batch(&[&r.text]).unwrap().remove(0);
        assert_eq!(single.len(), DIM);
        for (how, v) in [
            ("alone", &single),
            ("in one batch", &batched[i]),
            ("in batches of 8", &chunked[i]),
        ] {
            let cos = dot(v, &r.embedding);
            assert!(
                cos >= 0.9999,
                "item {i} {how}: cosine {cos} with sentence-transformers ({:?})",
                r.text
            );
            let norm = dot(v, v).sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "item {i} {how}: norm {norm}");
        }
    }
}

#[test]
fn a_batch_bigger_than_one_encoder_pass_gives_the_same_vectors() {
    // 24 texts of ~100-250 tokens: several thousand tokens, more than one encoder group.
    let items = reference();
    let long: Vec<String> = (0..24)
        .map(|i| {
            let r = &items[i % items.len()];
            format!("{i}: {}", r.text.repeat(1 + 200 / r.ids.len().max(1)))
        })
        .collect();
    let texts: Vec<&str> = long.iter().map(String::as_str).collect();
    let tokens: usize = texts
        .iter()
        .map(|t| embedder().token_ids(t).unwrap().len())
        .sum();
    assert!(
        tokens > 4096,
        "{tokens} tokens: not enough to need several passes"
    );
    let batched = embedder().embed_batch(&texts).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let single = embedder().embed_batch(&[t]).unwrap().remove(0);
        let cos = dot(&single, &batched[i]);
        assert!(
            cos > 0.99999,
            "text {i}: cosine {cos} alone vs in the batch"
        );
    }
}

#[test]
fn missing_model_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(dir.path()).err().expect("no model there");
    let msg = err.to_string();
    assert_eq!(err.code(), "model_missing");
    assert!(msg.contains("hindsight models download embedding"), "{msg}");
}

#[test]
fn backlog_pass_embeds_every_message_including_empty_ones() {
    let t = temp_store();
    let s = &t.store;
    hindsight::transfer::import_file(
        s,
        &fixture("hindsight_sample.json"),
        hindsight::transfer::ImportFormat::Auto,
    )
    .unwrap();
    let c = conversation(s, "extra", 0);
    let empty = message(s, &c, Sender::Ai, "", 1);
    let total = s.count_messages().unwrap() as usize;

    let mut seen = Vec::new();
    let p = embed_backlog(s, embedder(), 3, |p| seen.push(p)).unwrap();
    assert_eq!((p.done, p.total, p.failed), (total, total, 0));
    assert_eq!(seen.first().map(|p| p.done), Some(0));
    assert!(
        seen.windows(2).all(|w| w[0].done <= w[1].done),
        "progress only grows"
    );
    assert_eq!(s.count_embeddings(MODEL_ID).unwrap(), total);
    assert_eq!(s.count_without_embedding(MODEL_ID).unwrap(), 0);

    // Stored as little-endian f32 of the right dimension, equal to a fresh embedding of the
    // message followed by the start of the turn before it (the first turn has none).
    let lisbon = "5a0d7c1e-1b7a-4d0e-8f1f-0c1c5e8d3b03";
    let stored = s.get_embedding(lisbon, MODEL_ID).unwrap().unwrap().vector;
    let previous = "Alfama and Baixa are central and walkable; Príncipe Real is quieter with good cafés. For a week, **Baixa** keeps you close to the trams.";
    let text = hindsight::embed::turn_text("Is a day trip to Sintra worth it?", Some(previous));
    assert_eq!(
        text,
        format!("Is a day trip to Sintra worth it?\n\n{previous}")
    );
    let fresh = embedder().embed_batch(&[text.as_str()]).unwrap().remove(0);
    let first = "5a0d7c1e-1b7a-4d0e-8f1f-0c1c5e8d3b01";
    let stored_first = s.get_embedding(first, MODEL_ID).unwrap().unwrap().vector;
    let fresh_first = embedder()
        .embed_batch(&[
            "I'm going to Lisbon for a week in April. Which neighbourhoods should I stay in?",
        ])
        .unwrap()
        .remove(0);
    assert!(dot(&stored_first, &fresh_first) > 0.99999);
    assert_eq!(stored.len(), DIM);
    assert!(dot(&stored, &fresh) > 0.99999);
    assert_eq!(
        s.get_embedding(&empty, MODEL_ID)
            .unwrap()
            .unwrap()
            .vector
            .len(),
        DIM,
        "deliberate: \"\" gets a vector"
    );

    // A second pass has nothing to do.
    let again = embed_backlog(s, embedder(), 32, |_| {}).unwrap();
    assert_eq!((again.done, again.total), (0, 0));
}

#[test]
fn semantic_neighbours_make_sense() {
    let v = embedder()
        .embed(
            &[
                "Which neighbourhood should I stay in when visiting Lisbon?",
                "Where to sleep in Lisbon",
                "My sourdough starter smells of acetone",
            ],
            32,
        )
        .unwrap();
    assert!(
        dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2,
        "paraphrases are closer than unrelated text"
    );
}

#[test]
fn worker_embeds_the_backlog_at_start_and_new_messages_when_woken() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "worker", 0);
    message(s, &c, Sender::User, "left over from before a crash", 1);
    let db = t.dir.path().join("hindsight.db");
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    let worker = EmbedWorker::start(
        db,
        std::sync::Arc::new(Embedder::load(&models_dir()).unwrap()),
        move |p| sink.lock().unwrap().push(p),
    )
    .unwrap();

    let wait_until_embedded = |n: usize| {
        let t0 = Instant::now();
        while s.count_embeddings(MODEL_ID).unwrap() < n {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the worker did not embed {n} messages"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_until_embedded(1);
    let id = message(
        s,
        &c,
        Sender::Ai,
        "a new answer, stored while the worker runs",
        2,
    );
    worker.wake();
    wait_until_embedded(2);
    assert!(s.get_embedding(&id, MODEL_ID).unwrap().is_some());
    worker.shutdown();
    let p = progress.lock().unwrap();
    assert!(
        p.iter().any(|p| p.done == 1 && p.total == 1),
        "progress reported: {p:?}"
    );
}

/// A turn whose text changes (a regenerated answer) makes its own vector and the next turn's
/// stale: the next turn's vector embeds the start of it.
#[test]
fn a_changed_turn_makes_its_own_and_the_next_vector_stale() {
    let t = temp_store();
    let s = &t.store;
    let c = conversation(s, "c", 0);
    let question = message(s, &c, Sender::User, "which flat?", 1);
    let answer = message(s, &c, Sender::Ai, "the one in Bonfim", 2);
    let reply = message(s, &c, Sender::User, "book that one", 3);
    let other = message(s, &conversation(s, "d", 10), Sender::User, "unrelated", 11);
    embed_backlog(s, embedder(), 8, |_| {}).unwrap();
    assert_eq!(s.count_without_embedding(MODEL_ID).unwrap(), 0);
    s.update_message(
        &answer,
        "the one in Cedofeita",
        hindsight::store::MessageState::Complete,
        None,
    )
    .unwrap();
    let stale: Vec<String> = s.messages_without_embedding(MODEL_ID, 10).unwrap();
    assert_eq!(stale, [answer.clone(), reply.clone()]);
    embed_backlog(s, embedder(), 8, |_| {}).unwrap();
    let stored = s.get_embedding(&reply, MODEL_ID).unwrap().unwrap().vector;
    let fresh = embedder()
        .embed_batch(&["book that one\n\nthe one in Cedofeita"])
        .unwrap()
        .remove(0);
    assert!(dot(&stored, &fresh) > 0.99999);
    assert!(s.get_embedding(&question, MODEL_ID).unwrap().is_some());
    assert!(s.get_embedding(&other, MODEL_ID).unwrap().is_some());
}
