//! History search: dense (the query's MiniLM vector against every message vector, via the
//! in-memory [`VectorIndex`]), BM25 (FTS5) and hybrid (cosine plus a weighted, normalised BM25 score), with
//! filters, per-conversation limits and cosine similarity on every hit. [`ask`] builds on it.
pub mod ask;
mod index;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

pub use crate::store::SearchFilters;
pub use index::{dot, exact_top_k, quantize, RowFilter, VectorIndex};

use crate::embed::{Embedder, DIM, MODEL_ID};
use crate::error::{Error, Result};
use crate::store::{fts_query_any, Millis, Sender, Store};
use crate::sync::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    Dense,
    Bm25,
    /// Cosine plus weighted BM25: the default (best on the evaluation set, BENCHMARKS.md).
    #[default]
    Hybrid,
}

impl SearchMode {
    pub fn needs_embedder(self) -> bool {
        self != SearchMode::Bm25
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchOptions {
    pub mode: SearchMode,
    pub limit: usize,
    /// At most this many hits from one conversation (so one long chat cannot crowd out the
    /// rest); 0: no limit.
    pub per_conversation: usize,
    /// Drops hits whose cosine is below this unless they match the words (BM25): a search
    /// box shows nothing rather than the least unrelated messages. 0: no cut.
    pub min_similarity: f32,
    pub filters: SearchFilters,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: SearchMode::default(),
            limit: 10,
            per_conversation: 3,
            min_similarity: 0.0,
            filters: SearchFilters::default(),
        }
    }
}

/// Largest `limit` a search accepts.
pub const MAX_LIMIT: usize = 200;
/// How many candidates each retriever contributes before fusion and grouping.
const POOL: usize = 100;
/// Weight of the (query-normalised) BM25 score beside the cosine in hybrid mode.
const BM25_WEIGHT: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub message_id: String,
    pub conversation_id: String,
    pub conversation_title: String,
    pub sender: Sender,
    #[serde(with = "crate::time::rfc3339")]
    pub timestamp: Millis,
    pub content: String,
    /// Cosine similarity of the message to the query (`null` in BM25 mode, which embeds
    /// nothing, or for a message not embedded yet).
    pub similarity: Option<f32>,
    /// The ranking score: cosine in dense mode, -bm25 in BM25 mode, the fused RRF score in
    /// hybrid mode.
    pub score: f64,
}

/// The search engine of one store: the vector index (caught up with the store before each
/// query) and an LRU cache of query embeddings.
pub struct Searcher {
    index: RwLock<VectorIndex>,
    cache: Mutex<lru::LruCache<String, Arc<Vec<f32>>>>,
}

impl Default for Searcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Searcher {
    pub fn new() -> Self {
        Searcher {
            index: RwLock::new(VectorIndex::new(MODEL_ID, DIM)),
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(256).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// Loads vectors stored since the last call (all of them the first time).
    pub fn refresh(&self, store: &Store) -> Result<usize> {
        self.index
            .write()
            .map_err(|_| Error::Invalid("the search index is unavailable".into()))?
            .refresh(store)
    }

    /// Forgets a deleted conversation's vectors; returns how many.
    pub fn forget_conversation(&self, conversation_id: &str) -> Result<usize> {
        Ok(self
            .index
            .write()
            .map_err(|_| Error::Invalid("the search index is unavailable".into()))?
            .remove_conversation(conversation_id))
    }

    /// Bytes held by the in-memory index.
    pub fn memory_bytes(&self) -> usize {
        self.index.read().map(|i| i.memory_bytes()).unwrap_or(0)
    }

    pub fn indexed(&self) -> usize {
        self.index.read().map(|i| i.len()).unwrap_or(0)
    }

    /// The query's embedding, from the cache when the same text was asked before.
    pub fn embed_query(&self, embedder: &Embedder, text: &str) -> Result<Arc<Vec<f32>>> {
        let key = text.trim().to_owned();
        if let Some(v) = lock(&self.cache).get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(
            embedder
                .embed(&[key.as_str()], 1)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Embed("no vector for the query".into()))?,
        );
        lock(&self.cache).put(key, v.clone());
        Ok(v)
    }

    /// Searches the history. `query_vector` is the query's embedding (needed for dense and
    /// hybrid modes; see [`Searcher::embed_query`]).
    pub fn search(
        &self,
        store: &Store,
        text: &str,
        query_vector: Option<&[f32]>,
        opts: &SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        if text.trim().is_empty() {
            return Err(Error::Invalid("the search text is empty".into()));
        }
        if text.len() > 10_000 {
            return Err(Error::Invalid(
                "the search text is too long (10,000 bytes at most)".into(),
            ));
        }
        let limit = opts.limit.clamp(1, MAX_LIMIT);
        let pool = POOL.max(limit * 4);
        let dense = match (opts.mode.needs_embedder(), query_vector) {
            (false, _) => Vec::new(),
            (true, Some(q)) => self.dense(store, q, pool, &opts.filters)?,
            (true, None) => {
                return Err(Error::Invalid(
                    "dense and hybrid search need the query's embedding".into(),
                ))
            }
        };
        let bm25 = if opts.mode == SearchMode::Dense {
            Vec::new()
        } else {
            match fts_query_any(text) {
                Some(q) => store.fts_ranked(&q, &opts.filters, pool)?,
                None => Vec::new(),
            }
        };
        // Exact cosine of every candidate (fetched for BM25 hits the dense pool missed).
        let mut similarity: HashMap<i64, f32> = dense.iter().copied().collect();
        if let Some(q) = query_vector {
            let missing: Vec<i64> = bm25
                .iter()
                .map(|b| b.0)
                .filter(|s| !similarity.contains_key(s))
                .collect();
            if !missing.is_empty() {
                for (seq, v) in store.vectors_by_seq(MODEL_ID, &missing)? {
                    similarity.insert(seq, dot(&v, q));
                }
            }
        }
        // (seq, score) best first.
        let mut ranked: Vec<(i64, f64)> = match opts.mode {
            SearchMode::Dense => dense.iter().map(|&(s, c)| (s, c as f64)).collect(),
            SearchMode::Bm25 => bm25.iter().map(|&(s, b)| (s, -b)).collect(),
            SearchMode::Hybrid => fuse(&dense, &bm25, &similarity),
        };
        if opts.min_similarity > 0.0 && opts.mode != SearchMode::Bm25 {
            let lexical: HashSet<i64> = bm25.iter().map(|b| b.0).collect();
            ranked.retain(|(seq, _)| {
                lexical.contains(seq)
                    || similarity
                        .get(seq)
                        .is_some_and(|&c| c >= opts.min_similarity)
            });
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.hydrate(store, &ranked, &similarity, limit, opts.per_conversation)
    }

    /// Dense retrieval: int8 candidates from the index, re-scored exactly (cosine of the
    /// stored f32 vectors), best first.
    fn dense(
        &self,
        store: &Store,
        query: &[f32],
        pool: usize,
        filters: &SearchFilters,
    ) -> Result<Vec<(i64, f32)>> {
        self.refresh(store)?;
        let index = self
            .index
            .read()
            .map_err(|_| Error::Invalid("the search index is unavailable".into()))?;
        let filter = RowFilter {
            conversation: filters
                .conversation_id
                .as_deref()
                .map(|id| {
                    crate::store::normalize_id("conversation", id)
                        .map(|id| index.conversation_key(&id))
                })
                .transpose()?,
            sender: filters.sender,
            from: filters.from,
            to: filters.to,
            seqs: if filters.bookmarked_only {
                Some(store.bookmarked_seqs()?)
            } else {
                None
            },
        };
        // Re-scoring a generous candidate set makes the int8 scan's ranking exact in practice
        // (recall@10 vs exact f32 in BENCHMARKS.md).
        let candidates = index.candidates(query, (pool * 2).max(200), &filter);
        drop(index);
        let seqs: Vec<i64> = candidates.iter().map(|c| c.0).collect();
        let mut exact: Vec<(i64, f32)> = store
            .vectors_by_seq(MODEL_ID, &seqs)?
            .into_iter()
            .map(|(seq, v)| (seq, dot(&v, query)))
            .collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        exact.truncate(pool);
        Ok(exact)
    }

    fn hydrate(
        &self,
        store: &Store,
        ranked: &[(i64, f64)],
        similarity: &HashMap<i64, f32>,
        limit: usize,
        per_conversation: usize,
    ) -> Result<Vec<SearchHit>> {
        let seqs: Vec<i64> = ranked.iter().map(|r| r.0).collect();
        let mut rows: std::collections::HashMap<i64, _> = store
            .messages_by_seq(&seqs)?
            .into_iter()
            .map(|(seq, m, title)| (seq, (m, title)))
            .collect();
        let mut per: std::collections::HashMap<String, usize> = Default::default();
        let mut hits = Vec::new();
        for &(seq, score) in ranked {
            // A message deleted since it was indexed is simply absent.
            let Some((message, title)) = rows.remove(&seq) else {
                continue;
            };
            let n = per.entry(message.conversation_id.clone()).or_default();
            if per_conversation > 0 && *n >= per_conversation {
                continue;
            }
            *n += 1;
            hits.push(SearchHit {
                message_id: message.id,
                conversation_id: message.conversation_id,
                conversation_title: title,
                sender: message.sender,
                timestamp: message.timestamp,
                content: message.content,
                similarity: similarity.get(&seq).copied(),
                score,
            });
            if hits.len() == limit {
                break;
            }
        }
        Ok(hits)
    }
}

/// Hybrid score: the exact cosine plus `BM25_WEIGHT` × the BM25 score scaled to [0, 1] by
/// the query's best BM25 score. Measured on the evaluation set against reciprocal rank fusion,
/// which did worse than dense alone there (BENCHMARKS.md): cosine carries meaning, BM25 lifts exact names and rare words.
fn fuse(
    dense: &[(i64, f32)],
    bm25: &[(i64, f64)],
    similarity: &HashMap<i64, f32>,
) -> Vec<(i64, f64)> {
    // A candidate without a vector (not embedded yet) scores like the weakest dense candidate.
    let floor = dense.last().map_or(0.0, |d| d.1 as f64);
    let best = bm25.iter().map(|b| -b.1).fold(0.0f64, f64::max);
    let mut scores: HashMap<i64, f64> = dense.iter().map(|&(s, c)| (s, c as f64)).collect();
    for &(seq, b) in bm25 {
        let base = similarity.get(&seq).map_or(floor, |&c| c as f64);
        let lexical = if best > 0.0 { -b / best } else { 0.0 };
        scores.insert(seq, base + BM25_WEIGHT * lexical);
    }
    scores.into_iter().collect()
}
