//! The in-memory vector index: every message vector of the current model, quantised to int8
//! (one scale per vector) in one contiguous matrix, scanned in full on every query (exact
//! scan over the quantised codes, split across the CPU cores), then the best candidates are
//! re-scored with their full-precision vectors from the store. BENCHMARKS.md has the
//! measurements behind this choice (against f32 exact scan, sqlite-vec and the seed's method).
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::error::Result;
use crate::store::{Millis, Sender, Store};

/// Which rows a scan may return (the index's share of [`crate::store::SearchFilters`]).
#[derive(Debug, Default)]
pub struct RowFilter {
    /// `Some(None)`: a conversation the index has never seen (nothing matches).
    pub conversation: Option<Option<u32>>,
    pub sender: Option<Sender>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub seqs: Option<HashSet<i64>>,
}

impl RowFilter {
    fn is_empty(&self) -> bool {
        self.conversation.is_none()
            && self.sender.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.seqs.is_none()
    }
}

pub struct VectorIndex {
    model: String,
    dim: usize,
    /// `len × dim` int8 codes, row-major.
    codes: Vec<i8>,
    /// Per row: the factor that turns codes back into the vector (max |x| / 127).
    scales: Vec<f32>,
    seqs: Vec<i64>,
    conversations: Vec<u32>,
    senders: Vec<Sender>,
    times: Vec<Millis>,
    row_of_seq: HashMap<i64, usize>,
    conversation_ids: HashMap<String, u32>,
    /// The key the next new conversation gets (keys are never reused after a removal).
    next_conversation: u32,
    /// The last embedding rowid loaded from the store.
    watermark: i64,
}

/// Quantises a vector to int8 codes with one scale (symmetric, per vector).
pub fn quantize(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        out.fill(0);
        return 0.0;
    }
    let inv = 127.0 / max;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x * inv).round().clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

simd_kernel! {
    /// Offers each row of `rows` that `allowed` lets through (all, with `None`) to `top`,
    /// scored by its int8 dot product with `q` times its scale. Compiled once per instruction
    /// set: the dot products are most of a search's time.
    fn scan_rows(
        codes: &[i8],
        scales: &[f32],
        dim: usize,
        q: &[i8],
        rows: std::ops::Range<usize>,
        allowed: Option<&dyn Fn(usize) -> bool>,
        top: &mut TopK,
    ) {
        for row in rows {
            if allowed.is_some_and(|allowed| !allowed(row)) {
                continue;
            }
            let codes = &codes[row * dim..(row + 1) * dim];
            top.offer(dot_i8(codes, q) as f32 * scales[row], row);
        }
    }
}

#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // Integer sums vectorise without reassociation concerns (exact arithmetic).
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

/// The exact dot product of two f32 vectors (lane-wise, so it vectorises).
pub use crate::simd::dot;
use crate::simd::simd_kernel;

/// A scored row, ordered so that a `BinaryHeap` of them pops the *worst* first.
#[derive(Clone, Copy)]
struct Scored(f32, usize);
impl PartialEq for Scored {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

/// Keeps the `k` best of what it is offered.
struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}
impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }
    #[inline(always)]
    fn offer(&mut self, score: f32, row: usize) {
        if self.heap.len() < self.k {
            self.heap.push(Scored(score, row));
        } else if let Some(worst) = self.heap.peek() {
            if score > worst.0 {
                self.heap.pop();
                self.heap.push(Scored(score, row));
            }
        }
    }
}

/// The exact top `k` rows of a row-major f32 matrix by dot product with `query` (the reference
/// the index is tested and benchmarked against).
pub fn exact_top_k(matrix: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut top = TopK::new(k);
    for (row, v) in matrix.chunks_exact(dim).enumerate() {
        top.offer(dot(v, query), row);
    }
    let mut out: Vec<(usize, f32)> = top.heap.into_iter().map(|s| (s.1, s.0)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

impl VectorIndex {
    pub fn new(model: &str, dim: usize) -> Self {
        VectorIndex {
            model: model.to_owned(),
            dim,
            codes: Vec::new(),
            scales: Vec::new(),
            seqs: Vec::new(),
            conversations: Vec::new(),
            senders: Vec::new(),
            times: Vec::new(),
            row_of_seq: HashMap::new(),
            conversation_ids: HashMap::new(),
            next_conversation: 0,
            watermark: i64::MIN,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Bytes held by the matrix and its per-row data.
    pub fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + self.scales.capacity() * 4
            + self.seqs.capacity() * 8
            + self.conversations.capacity() * 4
            + self.senders.capacity()
            + self.times.capacity() * 8
            + self.row_of_seq.capacity() * 24
    }

    /// Adds (or replaces) the vector of message `seq`. Vectors of another size are ignored.
    pub fn add(
        &mut self,
        seq: i64,
        conversation_id: &str,
        sender: Sender,
        timestamp: Millis,
        vector: &[f32],
    ) {
        if vector.len() != self.dim {
            return;
        }
        let conversation = match self.conversation_ids.get(conversation_id) {
            Some(&key) => key,
            None => {
                let key = self.next_conversation;
                self.next_conversation += 1;
                self.conversation_ids
                    .insert(conversation_id.to_owned(), key);
                key
            }
        };
        let row = match self.row_of_seq.get(&seq) {
            Some(&row) => row,
            None => {
                let row = self.seqs.len();
                self.codes.resize(self.codes.len() + self.dim, 0);
                self.scales.push(0.0);
                self.seqs.push(seq);
                self.conversations.push(conversation);
                self.senders.push(sender);
                self.times.push(timestamp);
                self.row_of_seq.insert(seq, row);
                row
            }
        };
        let codes = &mut self.codes[row * self.dim..(row + 1) * self.dim];
        self.scales[row] = quantize(vector, codes);
        self.conversations[row] = conversation;
        self.senders[row] = sender;
        self.times[row] = timestamp;
    }

    /// Drops the rows of a deleted conversation (the matrix is compacted in place); returns how
    /// many. Without this its vectors would keep taking candidate slots until the next start.
    pub fn remove_conversation(&mut self, conversation_id: &str) -> usize {
        let Some(gone) = self.conversation_ids.remove(conversation_id) else {
            return 0;
        };
        let dim = self.dim;
        let mut kept = 0;
        for row in 0..self.len() {
            if self.conversations[row] == gone {
                continue;
            }
            if kept != row {
                self.codes
                    .copy_within(row * dim..(row + 1) * dim, kept * dim);
                self.scales[kept] = self.scales[row];
                self.seqs[kept] = self.seqs[row];
                self.conversations[kept] = self.conversations[row];
                self.senders[kept] = self.senders[row];
                self.times[kept] = self.times[row];
            }
            kept += 1;
        }
        let removed = self.len() - kept;
        self.codes.truncate(kept * dim);
        self.scales.truncate(kept);
        self.seqs.truncate(kept);
        self.conversations.truncate(kept);
        self.senders.truncate(kept);
        self.times.truncate(kept);
        self.row_of_seq = self
            .seqs
            .iter()
            .enumerate()
            .map(|(row, &seq)| (seq, row))
            .collect();
        removed
    }

    /// Loads the vectors stored since the last call; returns how many.
    pub fn refresh(&mut self, store: &Store) -> Result<usize> {
        let mut added = 0;
        loop {
            let rows = store.embeddings_after(&self.model, self.watermark, 20_000)?;
            let Some(last) = rows.last() else {
                return Ok(added);
            };
            self.watermark = last.rowid;
            for r in &rows {
                self.add(r.seq, &r.conversation_id, r.sender, r.timestamp, &r.vector);
            }
            added += rows.len();
        }
    }

    /// The index's id of a conversation (for [`RowFilter::conversation`]).
    pub fn conversation_key(&self, conversation_id: &str) -> Option<u32> {
        self.conversation_ids.get(conversation_id).copied()
    }

    #[inline(always)]
    fn allowed(&self, row: usize, f: &RowFilter) -> bool {
        if let Some(c) = f.conversation {
            if Some(self.conversations[row]) != c {
                return false;
            }
        }
        if f.sender.is_some_and(|s| s != self.senders[row]) {
            return false;
        }
        let t = self.times[row];
        if f.from.is_some_and(|from| t < from) || f.to.is_some_and(|to| t >= to) {
            return false;
        }
        f.seqs.as_ref().is_none_or(|s| s.contains(&self.seqs[row]))
    }

    fn scan(&self, q: &[i8], rows: std::ops::Range<usize>, k: usize, f: &RowFilter) -> TopK {
        let mut top = TopK::new(k);
        let allowed = |row: usize| self.allowed(row, f);
        let filter: Option<&dyn Fn(usize) -> bool> =
            if f.is_empty() { None } else { Some(&allowed) };
        scan_rows(
            &self.codes,
            &self.scales,
            self.dim,
            q,
            rows,
            filter,
            &mut top,
        );
        top
    }

    /// The `k` rows whose quantised vectors score best against `query` (approximate scores,
    /// best first) as (`seq`, score). Large indexes are scanned by all cores.
    pub fn candidates(&self, query: &[f32], k: usize, filter: &RowFilter) -> Vec<(i64, f32)> {
        if query.len() != self.dim || self.is_empty() || k == 0 {
            return Vec::new();
        }
        if matches!(filter.conversation, Some(None)) {
            return Vec::new();
        }
        let mut q = vec![0i8; self.dim];
        let q_scale = quantize(query, &mut q);
        let n = self.len();
        let threads = if n < 20_000 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |p| p.get().min(8))
        };
        let tops: Vec<TopK> = if threads == 1 {
            vec![self.scan(&q, 0..n, k, filter)]
        } else {
            let per = n.div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let q = &q;
                        let rows = (t * per).min(n)..((t + 1) * per).min(n);
                        s.spawn(move || self.scan(q, rows, k, filter))
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            })
        };
        let mut merged = TopK::new(k);
        for top in tops {
            for s in top.heap {
                merged.offer(s.0, s.1);
            }
        }
        let mut out: Vec<(i64, f32)> = merged
            .heap
            .into_iter()
            .map(|s| (self.seqs[s.1], s.0 * q_scale))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}
