"""Helpers for scripts/bench-embed: make the texts, run sentence-transformers, print the table."""
import json
import random
import sys
import time

WORDS = ("the a of to and in is for on with as by at from that this it be are was we you they "
         "travel plan budget recipe garden python rust deploy meeting invoice doctor running shoes "
         "train ticket museum weekend sourdough starter lisbon kyoto tax return laptop battery "
         "vacation hotel flight refund contract lease apartment insurance bicycle repair concert "
         "birthday gift interview resume salary question answer model local memory search").split()


def texts(out):
    rnd = random.Random(42)
    make = lambda lo, hi: " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(lo, hi)))
    sets = {"short_20w": [make(15, 25) for _ in range(1000)], "long_200w": [make(180, 220) for _ in range(200)]}
    json.dump(sets, open(out, "w"))


def st(texts_path, model_dir):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(2)
    sets = json.load(open(texts_path))
    m = SentenceTransformer(model_dir, device="cpu")
    m.max_seq_length = 256
    for name, tx in sets.items():
        m.encode(tx[:16], batch_size=8)
        for b in (1, 8, 32):
            t = time.perf_counter()
            m.encode(tx, batch_size=b, normalize_embeddings=True)
            s = time.perf_counter() - t
            print(json.dumps({"impl": "sentence-transformers", "set": name, "batch": b, "n": len(tx),
                              "seconds": s, "per_sec": len(tx) / s, "torch": torch.__version__,
                              "threads": torch.get_num_threads()}), flush=True)


def table(candle_path, st_path):
    rows = {}
    for path in (candle_path, st_path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[(r["impl"], r["set"], r["batch"])] = r
    print("| texts | batch | candle (sorted) /s | candle (unsorted) /s | sentence-transformers /s | ratio candle/ST |")
    print("|---|---|---|---|---|---|")
    for (impl, name, b), r in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if impl != "candle":
            continue
        s = rows.get(("sentence-transformers", name, b))
        st_ps = s["per_sec"] if s else float("nan")
        print(f"| {name} ({r['n']}) | {b} | {r['per_sec']:.0f} | {r['unsorted_per_sec']:.0f} | {st_ps:.0f} | {r['per_sec'] / st_ps:.2f}x |")


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"texts": lambda: texts(sys.argv[2]), "st": lambda: st(sys.argv[2], sys.argv[3]),
     "table": lambda: table(sys.argv[2], sys.argv[3])}[cmd]()
