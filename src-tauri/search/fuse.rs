//! The default (hybrid) ranking. Chosen on two evaluation sets unlike each other (paraphrased
//! questions about tasks; questions about people, places and dates in long personal histories)
//! and checked per question kind (BENCHMARKS.md, `scripts/retrieval_lab.py`):
//!
//! - **fusion by distribution**: each retriever's scores become z-scores over its own pool
//!   (how far a hit stands out from that retriever's other candidates), then add up with BM25
//!   at half weight. A retriever that is sure of its best hits (a rare name matched, a close
//!   paraphrase) has a wide spread and so decides more for that query; min-max or
//!   best-normalised scores lose this, and one retriever dominated the other on one of the
//!   sets. A candidate the word search did not find counts as a BM25 score of 0.
//! - **context**: message vectors embed the turn before each message (`embed::turn_text`),
//!   and a turn gets part of the BM25 score of the turn before it, so "yes, book that one" is
//!   found by what was being booked;
//! - **conversations**: a conversation whose title, summary or topics match the question lifts
//!   its turns' word score, and every turn is lifted by the best turn of its conversation (the
//!   conversation is found first, then the turn inside it);
//! - **time**: turns inside a time range read from the question ("last summer") rank higher.
use std::collections::HashMap;

use super::{dot, TimeRange};
use crate::embed::MODEL_ID;
use crate::error::Result;
use crate::store::Store;

/// Weight of the BM25 z-score beside the cosine's.
pub const WORDS: f64 = 0.5;
/// Share of the previous turn's BM25 score added to a turn's.
pub const WORD_CONTEXT: f64 = 0.3;
/// Weight of the conversation's own match (title, summary, topics), relative to the best
/// message BM25 score, in a turn's word score.
pub const CONVERSATION_WORDS: f64 = 0.5;
/// Share of the best score in the conversation added to each of its turns.
pub const CONVERSATION_BEST: f64 = 0.2;
/// Added (in z-score units) to a turn inside the question's time range.
pub const IN_TIME_RANGE: f64 = 1.0;

/// One ranked message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub seq: i64,
    pub score: f64,
    /// Its own cosine with the query, when it has a vector.
    pub similarity: Option<f32>,
    /// Whether words of the query matched it or the turn before it.
    pub lexical: bool,
}

impl Candidate {
    pub fn new(seq: i64, score: f64, similarity: Option<f32>, lexical: bool) -> Self {
        Candidate {
            seq,
            score,
            similarity,
            lexical,
        }
    }
}

/// Fuses the dense pool (`seq`, cosine; best first), the BM25 pool (`seq`, bm25; lower is
/// better) and the conversations' BM25 (`id`, bm25) into one ranking (unsorted).
pub fn hybrid(
    store: &Store,
    query: Option<&[f32]>,
    dense: &[(i64, f32)],
    bm25: &[(i64, f64)],
    conversations: &[(String, f64)],
    time_range: Option<&TimeRange>,
) -> Result<Vec<Candidate>> {
    let mut seeds: Vec<i64> = dense.iter().map(|d| d.0).collect();
    seeds.extend(bm25.iter().map(|b| b.0));
    seeds.sort_unstable();
    seeds.dedup();
    let mut conversation: HashMap<i64, String> = HashMap::new();
    let mut time: HashMap<i64, i64> = HashMap::new();
    // Word scores, each turn also getting part of the score of the turn before it.
    let own: HashMap<i64, f64> = bm25.iter().map(|&(s, b)| (s, -b)).collect();
    let mut words: HashMap<i64, f64> = own.clone();
    let mut added = Vec::new();
    for t in store.turn_context(&seeds)? {
        if let (Some(next), Some(&b)) = (t.next, own.get(&t.seq)) {
            *words.entry(next).or_insert(0.0) += WORD_CONTEXT * b;
            if !conversation.contains_key(&next) && seeds.binary_search(&next).is_err() {
                added.push(next);
            }
        }
        conversation.insert(t.seq, t.conversation_id);
        time.insert(t.seq, t.timestamp);
    }
    for t in store.turn_context(&added)? {
        conversation.insert(t.seq, t.conversation_id);
        time.insert(t.seq, t.timestamp);
    }
    let candidates: Vec<i64> = conversation.keys().copied().collect();

    // A conversation matching by title, summary or topics lifts its turns' word score.
    let titles: HashMap<&str, f64> = conversations
        .iter()
        .map(|(id, b)| (id.as_str(), -b))
        .collect();
    let best_title = titles.values().copied().fold(0.0f64, f64::max);
    if best_title > 0.0 {
        let best_words = words.values().copied().fold(0.0f64, f64::max);
        let scale = if best_words > 0.0 { best_words } else { 1.0 };
        for &seq in &candidates {
            if let Some(t) = conversation.get(&seq).and_then(|c| titles.get(c.as_str())) {
                *words.entry(seq).or_insert(0.0) += CONVERSATION_WORDS * t / best_title * scale;
            }
        }
    }

    // Cosines of the candidates the dense pool did not hold.
    let mut cosine: HashMap<i64, f32> = dense.iter().copied().collect();
    if let Some(q) = query {
        let missing: Vec<i64> = candidates
            .iter()
            .filter(|s| !cosine.contains_key(s))
            .copied()
            .collect();
        if !missing.is_empty() {
            for (seq, v) in store.vectors_by_seq(MODEL_ID, &missing)? {
                cosine.insert(seq, dot(&v, q));
            }
        }
    }

    // z-scores: the cosine against the dense pool, the word score against the word pool.
    let (dense_mean, dense_sd) = mean_sd(dense.iter().map(|d| d.1 as f64));
    let (words_mean, words_sd) = mean_sd(words.values().copied());
    let mut scored: Vec<Candidate> = candidates
        .iter()
        .map(|&seq| {
            let similarity = cosine.get(&seq).copied();
            // A turn without a vector yet counts as the dense pool's mean.
            let zd = similarity.map_or(0.0, |c| (c as f64 - dense_mean) / dense_sd);
            let w = words.get(&seq).copied().unwrap_or(0.0);
            let zw = if words.is_empty() {
                0.0
            } else {
                (w - words_mean) / words_sd
            };
            let mut score = zd + WORDS * zw;
            if let (Some(r), Some(&t)) = (time_range, time.get(&seq)) {
                if (r.from..r.to).contains(&t) {
                    score += IN_TIME_RANGE;
                }
            }
            Candidate {
                seq,
                score,
                similarity,
                lexical: w > 0.0,
            }
        })
        .collect();
    // The conversation found first: each turn is lifted by its conversation's best turn.
    let mut best: HashMap<&str, f64> = HashMap::new();
    for c in &scored {
        if let Some(id) = conversation.get(&c.seq) {
            let b = best.entry(id.as_str()).or_insert(f64::MIN);
            *b = b.max(c.score);
        }
    }
    for c in &mut scored {
        if let Some(b) = conversation
            .get(&c.seq)
            .and_then(|id| best.get(id.as_str()))
        {
            c.score += CONVERSATION_BEST * b;
        }
    }
    Ok(scored)
}

/// Mean and standard deviation (population; at least 1e-6, so one value is not a division
/// by zero).
fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt().max(1e-6))
}
