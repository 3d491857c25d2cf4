#!/usr/bin/env python3
"""Retrieval lab: compare ranking methods on the evaluation sets, fast, outside the app.

The app's own figures come from `cargo test --test it search::retrieval_quality`; this lab is
where fusion ideas were tried before one went into `search/`. It uses the real pieces: the
messages and query vectors are embedded by `hindsight embed` (the app's MiniLM), and BM25 is
SQLite FTS5 with the app's tokenizer and query rules. Every method is scored per set and per
question kind (Recall@10 any evidence, all evidence, MRR@10).

  scripts/retrieval_lab.py [--bin target/debug/hindsight] [--work /tmp/retrieval-lab]
                           [--only METHOD,...] [--chunk-words 40]

Sets: retrieval_eval, life_eval, and the questions of the quality sets (tests/fixtures/quality,
their evidence messages as the relevant ones): A-D as "quality", E-G as "decisions".

Needs numpy. Vectors are cached in --work by a hash of the texts.
"""
import argparse
import hashlib
import collections
import json
import math
import os
import re
import sqlite3
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")

STOPWORDS = set(
    "a an and are about as at be but by can did do does for from had has have how i if in is "
    "it its me my of on or our so that the their them then there this to us was we were what "
    "when where which who why will with would you your".split()
)


def sets():
    """(set name, history name, history path, questions path)."""
    out = [("old", "old", os.path.join(FIX, "retrieval_eval_history.json"),
            os.path.join(FIX, "retrieval_eval_questions.json"))]
    life = os.path.join(FIX, "life_eval")
    n = 1
    while os.path.exists(os.path.join(life, f"history_{n}.json")):
        out.append(("life", f"life{n}", os.path.join(life, f"history_{n}.json"),
                    os.path.join(life, f"questions_{n}.json")))
        n += 1
    quality = os.path.join(FIX, "quality")
    for name in "abcdefg":
        out.append(("quality" if name in "abcd" else "decisions", f"q{name}", os.path.join(quality, f"set_{name}_history.json"),
                    os.path.join(quality, f"set_{name}_refs.json")))
    return out


def load_questions(path):
    """Questions with their evidence messages as `relevant` (the quality sets' refs files keep
    them as `evidence`, beside the analyses)."""
    doc = json.load(open(path))
    if isinstance(doc, dict):
        doc = [dict(q, relevant=q.get("evidence", [])) for q in doc.get("questions", [])]
    return [q for q in doc if q.get("relevant")]


# A sentence ends at . ! ? or a line break.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def chunks(text, words=40):
    """`text` cut into runs of whole sentences of at most `words` words each (a longer
    sentence is a chunk of its own); one chunk for a short text."""
    out, cur, n = [], [], 0
    for sent in (x.strip() for x in SENTENCE_END.split(text)):
        if not sent:
            continue
        k = len(sent.split())
        if cur and n + k > words:
            out.append(" ".join(cur))
            cur, n = [], 0
        cur.append(sent)
        n += k
    if cur:
        out.append(" ".join(cur))
    return out or [text]


def embed_texts(bin_, work, key, texts):
    """MiniLM vectors of `texts` through the app: imported as one conversation, embedded."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    cache = os.path.join(work, f"{key}-{digest}.npy")
    if os.path.exists(cache):
        return np.load(cache)
    d = os.path.join(work, f"{key}.data")
    subprocess.run(["rm", "-rf", d], check=True)
    os.makedirs(d)
    # One conversation per text: the app embeds a message with the turn before it, and
    # these texts must be embedded exactly as given.
    msgs = [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "sender": "user",
         "content": t if t.strip() else ".", "timestamp": "2025-01-01T00:00:00Z"}
        for i, t in enumerate(texts)
    ]
    doc = {"conversations": [
        {"id": f"00000000-0000-4000-9000-{i:012d}", "title": "q", "status": "ended",
         "start_time": "2025-01-01T00:00:00Z", "messages": [m]}
        for i, m in enumerate(msgs)
    ]}
    path = os.path.join(d, "in.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    env = dict(os.environ)
    for cmd in (["import", path], ["embed"]):
        subprocess.run([bin_, "--data-dir", d, *cmd], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    db = sqlite3.connect(os.path.join(d, "hindsight.db"))
    rows = dict(db.execute("SELECT message_id, vector FROM embeddings"))
    v = np.stack([np.frombuffer(rows[m["id"]], dtype="<f4") for m in msgs])
    np.save(cache, v)
    subprocess.run(["rm", "-rf", d], check=True)
    return v


def fts_terms(text):
    seen, out = set(), []
    for t in re.split(r"[^\w'\-]", text):
        t = t.strip("'-").lower()
        if t and t not in STOPWORDS and t not in seen and not t.startswith("_"):
            seen.add(t)
            out.append(t)
    return out


class History:
    def __init__(self, path):
        doc = json.load(open(path))
        self.msgs = []  # dicts with conv index, position
        self.convs = doc["conversations"]
        for ci, c in enumerate(self.convs):
            for pi, m in enumerate(c["messages"]):
                self.msgs.append(dict(m, conv=ci, pos=pi, title=c.get("title", "")))
        self.index = {m["id"]: i for i, m in enumerate(self.msgs)}
        self.prev = [i - 1 if m["pos"] > 0 else None for i, m in enumerate(self.msgs)]
        self.next = [None] * len(self.msgs)
        for i, p in enumerate(self.prev):
            if p is not None:
                self.next[p] = i
        self.conv_of = np.array([m["conv"] for m in self.msgs])

    def fts(self, fields, tokenizer="unicode61 remove_diacritics 2"):
        """An in-memory FTS5 table over `fields(i) -> [text, ...]` columns."""
        cols = fields(0)
        db = sqlite3.connect(":memory:")
        names = ", ".join(f"c{k}" for k in range(len(cols)))
        db.execute(f"CREATE VIRTUAL TABLE f USING fts5({names}, tokenize = '{tokenizer}')")
        db.executemany(
            f"INSERT INTO f(rowid, {names}) VALUES (?{', ?' * len(cols)})",
            [(i, *fields(i)) for i in range(len(self.msgs))],
        )
        return db


def bm25(db, question, ncols, weights=None, limit=100):
    terms = fts_terms(question)
    if not terms:
        return {}
    q = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    w = ", ".join(str(x) for x in (weights or [1.0] * ncols))
    rows = db.execute(
        f"SELECT rowid, bm25(f, {w}) FROM f WHERE f MATCH ? ORDER BY 2 LIMIT ?", (q, limit)
    ).fetchall()
    return {r: -s for r, s in rows}


def metrics(ranked, relevant, k=10):
    rel = set(relevant)
    top = ranked[:k]
    first = next((i for i, r in enumerate(top) if r in rel), None)
    return (
        1.0 if first is not None else 0.0,
        1.0 if rel <= set(top) else 0.0,
        1.0 / (first + 1) if first is not None else 0.0,
    )


def cap(ranked, conv_of, per):
    if per <= 0:
        return ranked
    n = collections.Counter()
    out = []
    for r in ranked:
        if n[conv_of[r]] < per:
            n[conv_of[r]] += 1
            out.append(r)
    return out


def top(scores, n=100):
    return sorted(scores, key=lambda s: (-scores[s], s))[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "hindsight"))
    ap.add_argument("--work", default="/tmp/retrieval-lab")
    ap.add_argument("--per", type=int, default=0, help="per-conversation cap (0: none)")
    ap.add_argument("--only", default="", help="comma-separated method names")
    ap.add_argument("--chunk-words", type=int, default=40, help="words per chunk at most")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    data = []
    for set_name, hname, hpath, qpath in sets():
        h = History(hpath)
        qs = load_questions(qpath)
        # Plain vectors; the app's (the message, then the start of the turn before it);
        # the previous turn first (tried and dropped).
        clip = lambda t: t[:300]
        prev = [h.msgs[p]["content"] if p is not None else None for p in h.prev]
        mv = embed_texts(args.bin, args.work, f"{hname}-msg", [m["content"] for m in h.msgs])
        cv2 = embed_texts(args.bin, args.work, f"{hname}-ctx2", [
            m["content"] + ("\n\n" + clip(p) if p is not None else "")
            for m, p in zip(h.msgs, prev)
        ])
        cv3 = embed_texts(args.bin, args.work, f"{hname}-ctx3", [
            (clip(p) + "\n\n" if p is not None else "") + m["content"]
            for m, p in zip(h.msgs, prev)
        ])
        qv = embed_texts(args.bin, args.work, f"{hname}-q", [q["question"] for q in qs])
        # Each message's chunks of whole sentences (messages of one chunk have none).
        owner, texts = [], []
        for i, m in enumerate(h.msgs):
            parts = chunks(m["content"], args.chunk_words)
            if len(parts) > 1:
                owner += [i] * len(parts)
                texts += parts
        chv = (embed_texts(args.bin, args.work, f"{hname}-chunks{args.chunk_words}", texts)
               if texts else np.zeros((0, mv.shape[1]), dtype=np.float32))
        plain = h.fts(lambda i: [h.msgs[i]["content"]])
        porter = h.fts(lambda i: [h.msgs[i]["content"]], "porter unicode61 remove_diacritics 2")
        data.append((set_name, h, qs, dict(h=h, mv=mv, cv2=cv2, cv3=cv3, plain=plain,
                                            porter=porter, chv=chv,
                                            chunk_owner=np.array(owner, dtype=int)), qv))
        print(f"{hname}: {len(h.msgs)} messages, {len(qs)} questions", file=sys.stderr)

    methods = METHODS
    if args.only:
        methods = {k: v for k, v in METHODS.items() if k in args.only.split(",")}
    table = collections.defaultdict(lambda: collections.defaultdict(list))
    for set_name, h, qs, ctx, qv in data:
        for qi, q in enumerate(qs):
            rel = [h.index[r] for r in q["relevant"] if r in h.index]
            for name, fn in methods.items():
                ranked = cap(fn(ctx, q["question"], qv[qi]), h.conv_of, args.per)
                m = metrics(ranked, rel)
                table[(set_name, name)][q.get("kind", "?")].append(m)
                table[(set_name, name)]["ALL"].append(m)
    kinds = collections.OrderedDict()
    for (s, _), by in table.items():
        for k in by:
            kinds.setdefault((s, k), None)
    for set_name in dict.fromkeys(s for s, _ in table):
        ks = [k for s, k in kinds if s == set_name]
        print(f"\n## {set_name}: R@10 / all@10 / MRR@10 per kind (n)")
        print("| method | " + " | ".join(f"{k} ({len(table[(set_name, next(iter(methods)))][k])})" for k in ks) + " |")
        for name in methods:
            by = table[(set_name, name)]
            cells = []
            for k in ks:
                a = np.array(by[k])
                cells.append(f"{a[:,0].mean():.3f}/{a[:,1].mean():.3f}/{a[:,2].mean():.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------- methods

def dense_scores(ctx, qv, which="mv"):
    s = ctx[which] @ qv
    idx = np.argsort(-s)[:100]
    return {int(i): float(s[i]) for i in idx}, s


def m_dense(ctx, text, qv):
    d, _ = dense_scores(ctx, qv)
    return top(d)


def m_bm25(ctx, text, qv):
    return top(bm25(ctx["plain"], text, 1))


def m_bm25_porter(ctx, text, qv):
    return top(bm25(ctx["porter"], text, 1))


def m_hybrid_shipped(ctx, text, qv):
    d, s = dense_scores(ctx, qv)
    b = bm25(ctx["plain"], text, 1)
    best = max(b.values(), default=0.0)
    floor = min(d.values())
    out = dict(d)
    for r, v in b.items():
        out[r] = float(s[r]) + 0.2 * (v / best if best > 0 else 0)
    return top(out)


def rrf(lists, weights, k=60):
    out = collections.defaultdict(float)
    for lst, w in zip(lists, weights):
        for rank, r in enumerate(lst):
            out[r] += w / (k + rank + 1)
    return dict(out)


def m_rrf(ctx, text, qv):
    d, _ = dense_scores(ctx, qv)
    return top(rrf([top(d), top(bm25(ctx["porter"], text, 1))], [1, 1]))


def norm_minmax(x):
    if not x:
        return {}
    lo, hi = min(x.values()), max(x.values())
    return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in x.items()}


def convex(ctx, text, qv, alpha, bmdb="porter", ncols=1, weights=None, dense="mv"):
    d, s = dense_scores(ctx, qv, dense)
    b = bm25(ctx[bmdb], text, ncols, weights)
    # cosine normalised over the pool; BM25 by the query's best
    dn = norm_minmax(d)
    best = max(b.values(), default=0.0)
    lo = min(d.values())
    hi = max(d.values())
    out = {}
    for r in set(d) | set(b):
        c = (float(s[r]) - lo) / (hi - lo) if hi > lo else 0.0
        c = max(c, 0.0)
        l = b.get(r, 0.0) / best if best > 0 else 0.0
        out[r] = alpha * c + (1 - alpha) * l
    return top(out)


def propagate(h, scores, w_prev, w_next=0.0):
    """A message's score plus weighted scores of its neighbouring turns (its context)."""
    out = collections.defaultdict(float)
    for r, v in scores.items():
        out[r] += v
        n = h.next[r]
        if n is not None:
            out[n] += w_prev * v  # r is n's previous turn
        p = h.prev[r]
        if p is not None and w_next:
            out[p] += w_next * v
    return dict(out)


def title_scores(ctx, text):
    """BM25 of the question against conversation titles, per conversation."""
    h = ctx["h"]
    if "titles" not in ctx:
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE f USING fts5(c0, tokenize = 'porter unicode61 remove_diacritics 2')")
        db.executemany("INSERT INTO f(rowid, c0) VALUES (?, ?)", [(i, c.get("title", "")) for i, c in enumerate(h.convs)])
        ctx["titles"] = db
    return bm25(ctx["titles"], text, 1)


def zfuse(ctx, text, qv, w_bm=1.0, d_prev=0.0, w_prev=0.0, w_title=0.0, w_conv=0.0, dense="mv",
          pool=100, missing="min", title_pool_only=False):
    """Distribution-based fusion: each retriever's scores as z-scores over its own pool, so a
    retriever whose best hits stand out (a confident one) weighs more for that query."""
    h = ctx["h"]
    dense, _, lam = dense.partition("+chunks:")
    s = (ctx[dense] @ qv).astype(float)
    if lam and len(ctx["chunk_owner"]):
        # A message scores by its best chunk too: a sentence deep in a long message is
        # diluted (or cut off at 256 tokens) in the message's own vector.
        cs = (ctx["chv"] @ qv).astype(float)
        best = np.full(len(s), -1.0)
        np.maximum.at(best, ctx["chunk_owner"], cs)
        s = s + float(lam) * np.maximum(best - s, 0.0)
    if d_prev:
        prev_s = np.array([s[p] if p is not None else 0.0 for p in h.prev])
        s = s + d_prev * np.maximum(prev_s, 0)
    dpool = [int(i) for i in np.argsort(-s)[:pool]]
    b = bm25(ctx["porter"], text, 1, limit=pool)
    if w_prev:
        b = propagate(h, b, w_prev)
    if w_title:
        t = title_scores(ctx, text)
        if t:
            bt = max(t.values())
            bb = max(b.values(), default=1.0)
            among = set(dpool) | set(b) if title_pool_only else range(len(h.msgs))
            for i in among:
                m = h.msgs[i]
                if m["conv"] in t:
                    b[i] = b.get(i, 0.0) + w_title * t[m["conv"]] / bt * bb
    dv = np.array([s[i] for i in dpool])
    dm, ds = dv.mean(), dv.std() + 1e-9
    out = {}
    cands = set(dpool) | set(b)
    if b:
        bv = np.array(list(b.values()))
        bm, bs = bv.mean(), bv.std() + 1e-9
        bmin = bv.min()
    for r in cands:
        zd = (s[r] - dm) / ds
        if b:
            raw = b.get(r, bmin if missing == "min" else 0.0)
            zb = (raw - bm) / bs
        else:
            zb = 0.0
        out[r] = zd + w_bm * zb
    if w_conv:
        best = collections.defaultdict(lambda: -1e9)
        for r, v in out.items():
            best[h.msgs[r]["conv"]] = max(best[h.msgs[r]["conv"]], v)
        out = {r: v + w_conv * best[h.msgs[r]["conv"]] for r, v in out.items()}
    return top(out)


METHODS = collections.OrderedDict()
# The single retrievers.
METHODS["dense"] = m_dense
METHODS["dense_context"] = lambda c, t, q: top(dense_scores(c, q, "cv2")[0])
METHODS["bm25"] = m_bm25
METHODS["bm25_porter"] = m_bm25_porter
# Fusions of plain vectors with BM25 (the old default first).
METHODS["old_default"] = m_hybrid_shipped
METHODS["rrf"] = m_rrf
METHODS["convex0.5"] = lambda c, t, q: convex(c, t, q, 0.5)
METHODS["z"] = lambda c, t, q: zfuse(c, t, q, 0.5)


def default(c, t, q, dense="cv2", w_bm=0.5, w_prev=0.3, w_title=0.5, w_conv=0.2):
    """The shipped formula (src-tauri/search/fuse.rs) without the time range."""
    return zfuse(c, t, q, w_bm, dense=dense, w_prev=w_prev, w_title=w_title, w_conv=w_conv,
                 missing="zero", title_pool_only=True)


METHODS["default"] = default
# The default with one part changed or removed.
METHODS["default_plain_vectors"] = lambda c, t, q: default(c, t, q, dense="mv")
METHODS["default_previous_turn_first"] = lambda c, t, q: default(c, t, q, dense="cv3")
METHODS["default_bm25_full_weight"] = lambda c, t, q: default(c, t, q, w_bm=1.0)
METHODS["default_no_previous_words"] = lambda c, t, q: default(c, t, q, w_prev=0.0)
METHODS["default_chunks1"] = lambda c, t, q: default(c, t, q, dense="cv2+chunks:1")
METHODS["default_chunks0.5"] = lambda c, t, q: default(c, t, q, dense="cv2+chunks:0.5")
METHODS["default_no_conversations"] = lambda c, t, q: default(c, t, q, w_title=0.0, w_conv=0.0)

if __name__ == "__main__":
    main()
