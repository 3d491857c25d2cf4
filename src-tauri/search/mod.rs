//! History search: dense (the query's MiniLM vector against every message vector, via the
//! in-memory [`VectorIndex`]), BM25 (FTS5) and hybrid (both, each turn scored with the turn
//! before it, conversations ranked by title, summary and topics, and a time range read from the
//! question: `fuse.rs`), with filters and cosine similarity on every hit. [`ask`] builds on it.
pub mod ask;
pub mod choice;
mod fuse;
mod index;
pub mod price;
pub mod when;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

pub use crate::store::SearchFilters;
pub use index::{dot, exact_top_k, quantize, RowFilter, VectorIndex};
pub use when::TimeRange;

use fuse::Candidate;

use crate::embed::{Embedder, DIM, MODEL_ID};
use crate::error::{Error, Result};
use crate::locking::lock;
use crate::store::{fts_query_any, Millis, Sender, Store, Turn};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS)]
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

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SearchOptions {
    pub mode: SearchMode,
    pub limit: usize,
    /// At most this many hits from one conversation; 0 (the default): no limit. The window
    /// and the CLI group a conversation's hits for display instead of dropping them.
    pub per_conversation: usize,
    /// Drops hits whose cosine is below this unless they match the words (BM25): a search
    /// box shows nothing rather than the least unrelated messages. 0: no cut.
    pub min_similarity: f32,
    pub filters: SearchFilters,
    /// The moment "last month" in the question is relative to (default: now).
    #[serde(with = "crate::time::rfc3339_opt")]
    #[ts(type = "string | null")]
    pub now: Option<Millis>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: SearchMode::default(),
            limit: 10,
            per_conversation: 0,
            min_similarity: 0.0,
            filters: SearchFilters::default(),
            now: None,
        }
    }
}

/// Largest `limit` a search accepts.
pub const MAX_LIMIT: usize = 200;
/// How many candidates each retriever contributes before fusion and grouping.
const POOL: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SearchHit {
    pub message_id: String,
    pub conversation_id: String,
    pub conversation_title: String,
    pub sender: Sender,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub timestamp: Millis,
    pub content: String,
    /// Cosine similarity of the message to the query (`null` in BM25 mode, which embeds
    /// nothing, or for a message not embedded yet).
    pub similarity: Option<f32>,
    /// The ranking score: cosine in dense mode, -bm25 in BM25 mode, the fused score in hybrid
    /// mode (see `search/fuse.rs`).
    pub score: f64,
    /// The turn before this one in its conversation (the context a short reply needs).
    pub previous: Option<Turn>,
}

/// What a search found, and the time range it read in the question (if any; messages in it
/// rank higher).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub time_range: Option<TimeRange>,
    /// The embedding model is not installed: only words were matched (not meaning).
    pub words_only: bool,
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
            .map_err(|_| Error::Internal("the search index is unavailable".into()))?
            .refresh(store)
    }

    /// Forgets a deleted conversation's vectors; returns how many.
    pub fn forget_conversation(&self, conversation_id: &str) -> Result<usize> {
        Ok(self
            .index
            .write()
            .map_err(|_| Error::Internal("the search index is unavailable".into()))?
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
    ) -> Result<SearchResults> {
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
        let time_range = when::parse(text, opts.now.unwrap_or_else(crate::time::now_ms));
        // The words of a time phrase ("last summer") name no message: BM25 goes without them.
        let words = match &time_range {
            Some(r) => text.replacen(&r.phrase, " ", 1),
            None => text.to_owned(),
        };
        let dense = match (opts.mode.needs_embedder(), query_vector) {
            (false, _) => Vec::new(),
            (true, Some(q)) => self.dense(store, q, pool, &opts.filters)?,
            (true, None) => {
                return Err(Error::Invalid(
                    "dense and hybrid search need the query's embedding".into(),
                ))
            }
        };
        let fts = fts_query_any(&words);
        let bm25 = match (&fts, opts.mode) {
            (_, SearchMode::Dense) | (None, _) => Vec::new(),
            (Some(q), _) => store.fts_ranked(q, &opts.filters, pool)?,
        };
        let mut ranked: Vec<Candidate> = match opts.mode {
            SearchMode::Dense => dense
                .iter()
                .map(|&(seq, c)| Candidate::new(seq, c as f64, Some(c), false))
                .collect(),
            SearchMode::Bm25 => bm25
                .iter()
                .map(|&(seq, b)| Candidate::new(seq, -b, None, true))
                .collect(),
            SearchMode::Hybrid => {
                let conversations = match &fts {
                    Some(q) if opts.filters.conversation_id.is_none() => {
                        store.conversations_ranked(q, pool)?
                    }
                    _ => Vec::new(),
                };
                fuse::hybrid(
                    store,
                    query_vector,
                    &dense,
                    &bm25,
                    &conversations,
                    time_range.as_ref(),
                )?
            }
        };
        if opts.mode == SearchMode::Bm25 {
            // BM25 embeds nothing, but a stored vector still says how close a hit is.
            if let Some(q) = query_vector {
                let seqs: Vec<i64> = ranked.iter().map(|c| c.seq).collect();
                let cos: HashMap<i64, f32> = store
                    .vectors_by_seq(MODEL_ID, &seqs)?
                    .into_iter()
                    .map(|(seq, v)| (seq, dot(&v, q)))
                    .collect();
                for c in &mut ranked {
                    c.similarity = cos.get(&c.seq).copied();
                }
            }
        }
        if opts.min_similarity > 0.0 && opts.mode != SearchMode::Bm25 {
            ranked.retain(|c| c.lexical || c.similarity.is_some_and(|s| s >= opts.min_similarity));
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.seq.cmp(&b.seq)));
        let hits = self.hydrate(store, &ranked, limit, opts)?;
        Ok(SearchResults {
            hits,
            time_range,
            words_only: false,
        })
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
            .map_err(|_| Error::Internal("the search index is unavailable".into()))?;
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
        ranked: &[Candidate],
        limit: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        // Enough rows for the page even when filters or the cap drop some.
        let seqs: Vec<i64> = ranked.iter().take(limit * 4 + 40).map(|c| c.seq).collect();
        let mut rows: HashMap<i64, _> = store
            .messages_by_seq(&seqs)?
            .into_iter()
            .map(|(seq, m, title)| (seq, (m, title)))
            .collect();
        let mut per: HashMap<String, usize> = HashMap::new();
        let mut hits = Vec::new();
        for c in ranked.iter().take(seqs.len()) {
            // A message deleted since it was indexed is simply absent.
            let Some((message, title)) = rows.remove(&c.seq) else {
                continue;
            };
            // A neighbouring turn brought in by its context must pass the filters too.
            if !opts.filters.admits(&message) {
                continue;
            }
            let n = per.entry(message.conversation_id.clone()).or_default();
            if opts.per_conversation > 0 && *n >= opts.per_conversation {
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
                similarity: c.similarity,
                score: c.score,
                previous: None,
            });
            if hits.len() == limit {
                break;
            }
        }
        // The turn before each hit, so a reply like "yes, book that one" reads with its question.
        let before: Vec<String> = hits.iter().map(|h| h.message_id.clone()).collect();
        let previous = store.previous_turns(&before)?;
        for h in &mut hits {
            h.previous = previous.get(&h.message_id).cloned();
        }
        Ok(hits)
    }
}
