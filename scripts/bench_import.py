"""Times `hindsight import` against a raw-SQLite baseline on the same generated file.

Usage: bench_import.py HINDSIGHT_BINARY [--conversations N] [--messages M] [--runs R]
"""
import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid

WORDS = ("travel plan budget recipe garden python rust deploy meeting invoice doctor "
         "running shoes train ticket museum weekend sourdough starter lisbon kyoto tax "
         "return laptop battery vacation hotel flight refund contract lease apartment "
         "insurance bicycle repair concert birthday gift interview resume salary").split()


def make_file(path, n_conv, n_msg, seed=7):
    rnd = random.Random(seed)
    start = 1_700_000_000
    convs = []
    for i in range(n_conv):
        t0 = start + i * 3600
        msgs = []
        for j in range(n_msg):
            words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 60)))
            msgs.append({
                "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "sender": "user" if j % 2 == 0 else "ai",
                "content": words.capitalize() + ".",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + j * 30)),
            })
        convs.append({
            "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "title": f"Conversation {i}: " + " ".join(rnd.choice(WORDS) for _ in range(4)),
            "status": "ended",
            "start_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
            "end_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + n_msg * 30)),
            "messages": msgs,
        })
    with open(path, "w") as f:
        json.dump({"conversations": convs}, f)


def time_hindsight(binary, file, runs):
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            subprocess.run([binary, "--data-dir", d, "import", file, "--json"], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    return times


def schema(binary, file):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([binary, "--data-dir", d, "list", "--limit", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        con = sqlite3.connect(os.path.join(d, "hindsight.db"))
        rows = con.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND NOT (type = 'table' AND name LIKE 'messages_fts_%') "
                           "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END").fetchall()
        return [r[0] for r in rows]


def parse_ms(s):
    from datetime import datetime
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def time_baseline(file, ddl, runs):
    """The floor: parse the JSON and insert the same rows with executemany, one transaction,
    the same schema (FTS triggers included), WAL on."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            con = sqlite3.connect(os.path.join(d, "b.db"))
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            for stmt in ddl:
                con.execute(stmt)
            data = json.load(open(file))
            with con:
                con.executemany(
                    "INSERT INTO conversations (id, title, status, start_time, end_time) VALUES (?,?,?,?,?)",
                    [(c["id"], c["title"], c["status"], parse_ms(c["start_time"]), parse_ms(c["end_time"]))
                     for c in data["conversations"]])
                con.executemany(
                    "INSERT INTO messages (id, conversation_id, content, sender, timestamp) VALUES (?,?,?,?,?)",
                    [(m["id"], c["id"], m["content"], m["sender"], parse_ms(m["timestamp"]))
                     for c in data["conversations"] for m in c["messages"]])
            con.close()
            times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        file = os.path.join(d, "history.json")
        make_file(file, a.conversations, a.messages)
        size = os.path.getsize(file) / 1e6
        ddl = schema(a.binary, file)
        h = time_hindsight(a.binary, file, a.runs)
        b = time_baseline(file, ddl, a.runs)
    hm, bm = statistics.median(h), statistics.median(b)
    n_msgs = a.conversations * a.messages
    print(f"file: {a.conversations} conversations, {n_msgs} messages, {size:.1f} MB; {a.runs} runs each, median")
    print()
    print("| method | median s | messages/s | ratio vs baseline |")
    print("|---|---|---|---|")
    print(f"| `hindsight import` (release, whole process) | {hm:.3f} | {n_msgs / hm:,.0f} | {hm / bm:.2f}x |")
    print(f"| baseline: Python sqlite3 executemany, same schema | {bm:.3f} | {n_msgs / bm:,.0f} | 1.00x |")


if __name__ == "__main__":
    main()
