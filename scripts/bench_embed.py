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
        m.encode(tx[:64], batch_size=32)  # warm-up, as benches/embed.rs does
        for b in (1, 8, 32):
            t = time.perf_counter()
            m.encode(tx, batch_size=b, normalize_embeddings=True)
            s = time.perf_counter() - t
            print(json.dumps({"impl": "sentence-transformers", "set": name, "batch": b, "n": len(tx),
                              "seconds": s, "per_sec": len(tx) / s, "torch": torch.__version__,
                              "threads": torch.get_num_threads()}), flush=True)


def table(candle_path, st_path):
    """Best throughput of each engine over the rounds (both engines ran alternately, so both
    saw the same machine), the ratio of the bests, and each engine's range over the rounds."""
    runs = {}
    for path in (candle_path, st_path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                runs.setdefault((r["impl"], r["set"], r["batch"]), []).append(r)
    print("| texts | batch | candle /s (best; range) | sentence-transformers /s (best; range) | ratio candle/ST |")
    print("|---|---|---|---|---|")
    for (impl, name, b), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if impl != "candle":
            continue
        c = [r["per_sec"] for r in rs]
        s = [r["per_sec"] for r in runs.get(("sentence-transformers", name, b), [])] or [float("nan")]
        print(f"| {name} ({rs[0]['n']}) | {b} | {max(c):.0f} ({min(c):.0f}–{max(c):.0f}) "
              f"| {max(s):.0f} ({min(s):.0f}–{max(s):.0f}) | {max(c) / max(s):.2f}x |")
    print(f"\n{len(c)} rounds of each engine, alternating.")


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"texts": lambda: texts(sys.argv[2]), "st": lambda: st(sys.argv[2], sys.argv[3]),
     "table": lambda: table(sys.argv[2], sys.argv[3])}[cmd]()
