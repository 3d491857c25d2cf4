#!/usr/bin/env python3
"""Sentiment lab: ways of labelling a conversation's mood, scored against the quality sets.

The analysis asks the LLM for the person's overall mood (positive, neutral, negative, mixed),
and the built-in Small model agrees with the hand-written labels of tests/fixtures/quality on
20-38 % of conversations (BENCHMARKS.md). This lab tries other ways outside the app, fast, and
scores each per set. Thresholds and weights are chosen on the development sets (A, G) only;
the other sets (B-F, L, M) are held out.

  scripts/sentiment_lab.py llm     --url http://127.0.0.1:8091/v1 --model qwen [--sets ag] [--whole]
  scripts/sentiment_lab.py poles   (the same server; two yes/no questions per conversation)
  scripts/sentiment_lab.py lexicon                 (needs vaderSentiment)
  scripts/sentiment_lab.py anchors --bin target/release/hindsight   (needs numpy and the
                                   embedding model: HINDSIGHT_MODELS_DIR)
  scripts/sentiment_lab.py combined --llm-file F   (needs numpy, scikit-learn, vaderSentiment)

`llm` asks a server (llama.cpp running Small's GGUF: scripts/llama_server.py) one question per
conversation over the person's own messages and reads the four labels' probabilities from
the first token's top log-probabilities (`--out F` keeps them for `combined`), also divided by
its probabilities for content-free inputs (contextual calibration). `poles` asks whether the
person sounded happy and whether they sounded upset, and labels from the two P(yes). `lexicon`
labels from VADER's compound score of each of the person's messages. `anchors` compares the
person's messages (embedded by `hindsight embed`, the app's MiniLM) with hand-written
sentences of each mood. `combined` fits a logistic regression on A and G over the `llm`
probabilities and the lexicon's scores.
"""
import argparse
import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUALITY = os.path.join(ROOT, "tests", "fixtures", "quality")
LABELS = ["positive", "neutral", "negative", "mixed"]
DEV = "ag"
ALL = "abcdefglm"

# Words of thanks and assent that say nothing of a mood ("Perfect, thanks"), left out of the
# lexicon.
POLITE = {"thanks", "thank", "thx", "perfect", "great", "good", "ok", "okay", "sure", "cool",
          "nice", "lovely", "fine", "please", "sweet", "brilliant", "awesome", "noted", "yes",
          "yeah", "haha", "lol"}

# Sentences of each mood written for this lab, not taken from any set.
ANCHORS = {
    "positive": [
        "I'm so happy, this is wonderful news!", "I did it!! I'm thrilled.",
        "Honestly so relieved, it all worked out in the end.", "I'm really proud of how it went.",
        "That was amazing, we had the best time.", "I'm so excited about this!",
        "Great news: I got the job!", "It went really well and everyone loved it.",
        "Yay, it finally works! Feeling great.", "I'm so grateful, this made my day.",
        "She loved the present, I'm over the moon.", "We had a fantastic weekend, can't stop smiling.",
    ],
    "negative": [
        "I'm really worried about this.", "I'm so angry and fed up.",
        "This is awful, I feel terrible.", "I'm stressed and panicking.",
        "Ugh, it broke again. So frustrating.", "I'm sad and exhausted.",
        "I'm scared it's something serious.", "Today was a disaster.",
        "I'm annoyed, nobody told me about it.", "I feel like such a failure.",
        "I can't sleep, I'm anxious about it.", "Honestly I'm gutted.",
    ],
    "neutral": [
        "Can you give me a recipe for dinner?", "How do I fix this compiler error?",
        "What's the difference between these two options?", "I need a plan for next week.",
        "Ok, I'll book it on Monday.", "Thanks, that makes sense.",
        "How long does it keep in the fridge?", "Which one would you recommend?",
        "I'll order it tomorrow.", "Here are the details of my setup.",
        "What time does it start?", "Got it.",
    ],
}


def load(sets):
    """(set, conversation, reference label) for every conversation with a reference."""
    out = []
    for s in sets:
        with open(os.path.join(QUALITY, f"set_{s}_history.json")) as f:
            history = json.load(f)
        with open(os.path.join(QUALITY, f"set_{s}_refs.json")) as f:
            refs = json.load(f)
        gold = {a["conversation_id"]: a["sentiment"] for a in refs.get("analyses", [])}
        out += [(s, c, gold[c["id"]]) for c in history["conversations"] if c["id"] in gold]
    return out


def own_words(conversation):
    return [m["content"] for m in conversation["messages"] if m["sender"] == "user"]


def report(name, rows):
    """Right per set, dev and held out, and the held-out confusion matrix."""
    by = collections.defaultdict(lambda: [0, 0])
    for s, gold, pred in rows:
        by[s][0] += gold == pred
        by[s][1] += 1
    per_set = " ".join(f"{s}:{a}/{n}" for s, (a, n) in sorted(by.items()))
    dev = [sum(by[s][i] for s in by if s in DEV) for i in (0, 1)]
    held = [sum(by[s][i] for s in by if s not in DEV) for i in (0, 1)]
    print(f"{name}: {per_set} | dev {dev[0]}/{dev[1]} | held out {held[0]}/{held[1]}")
    counts = collections.Counter((g, p) for s, g, p in rows if s not in DEV)
    if counts:
        print("  held out, reference \\ label: " + " ".join(f"{lab[:4]:>5}" for lab in LABELS))
        for g in LABELS:
            print(f"  {g:>28}  " + " ".join(f"{counts[(g, p)]:>5}" for p in LABELS))


def from_extremes(best, worst, up, down):
    """A conversation's label from its most positive and most negative message scores."""
    if best > up and worst > down:
        return "mixed"
    if best > up:
        return "positive"
    if worst > down:
        return "negative"
    return "neutral"


def report_tuned(name, data, grid):
    """Labels (set, reference, (best, worst)) rows by `from_extremes` with the (up, down)
    thresholds of `grid` that get most of the dev sets right, and reports them."""
    def label(d, up, down):
        return from_extremes(d[2][0], d[2][1], up, down)

    dev = [d for d in data if d[0] in DEV]
    up, down = max(((sum(label(d, u, w) == d[1] for d in dev), u, w)
                    for u in grid for w in grid))[1:]
    report(f"{name}, thresholds {up:.2f}/{down:.2f} (chosen on A, G)",
           [(d[0], d[1], label(d, up, down)) for d in data])


def first_token(args, prompt):
    """(lower-case token, probability) of the model's most likely first answer tokens to
    `prompt` (greedy, the server's top 20 log-probabilities)."""
    body = {"model": args.model, "max_tokens": 1, "temperature": 0, "logprobs": True,
            "top_logprobs": 20,
            "messages": [{"role": "system",
                          "content": "You judge the mood of a person from what they wrote."},
                         {"role": "user", "content": prompt}]}
    req = urllib.request.Request(args.url.rstrip("/") + "/chat/completions",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.load(r)
    return [(t["token"].strip().lower(), math.exp(t["logprob"]))
            for t in out["choices"][0]["logprobs"]["content"][0]["top_logprobs"]]


def llm_probs(args, data):
    """The four labels' probabilities for the mood of `data` (the first answer token's top
    log-probabilities, summed over tokens that begin a label)."""
    question = ("\n\nWhat was the user's overall mood: positive, neutral, negative or mixed? "
                "Answer with one word.")
    p = dict.fromkeys(LABELS, 0.0)
    for tok, prob in first_token(args, data + question):
        for label in LABELS:
            if len(tok) >= 3 and label.startswith(tok):
                p[label] += prob
    return p


def llm_data(c, whole):
    if whole:
        return "A conversation between a user and an AI assistant:\n" + "\n".join(
            f"{'User' if m['sender'] == 'user' else 'AI'}: {m['content'][:300]}"
            for m in c["messages"])
    return ("The user's messages in a conversation with an AI assistant:\n"
            + "\n".join(f"- {t}" for t in own_words(c)))


# Content-free inputs for contextual calibration (Zhao et al. 2021, "Calibrate before use"):
# what the model says of no content at all is its bias, divided out of every answer.
CONTENT_FREE = ["N/A", "", "[MESSAGE]"]


def cmd_llm(args):
    rows, calibrated, kept = [], [], []
    bias = dict.fromkeys(LABELS, 0.0)
    for text in CONTENT_FREE:
        c = {"messages": [{"sender": "user", "content": text}]}
        p = llm_probs(args, llm_data(c, args.whole))
        total = sum(p.values()) + 1e-9
        for label in LABELS:
            bias[label] += p[label] / total / len(CONTENT_FREE)
    print("content-free probabilities: " + " ".join(f"{k} {v:.3f}" for k, v in bias.items()))
    for s, c, gold in load(args.sets):
        p = llm_probs(args, llm_data(c, args.whole))
        rows.append((s, gold, max(p, key=p.get)))
        cal = {label: p[label] / (bias[label] + 1e-4) for label in LABELS}
        calibrated.append((s, gold, max(cal, key=cal.get)))
        kept.append({"set": s, "id": c["id"], "reference": gold, "p": p})
    whole = " (whole conversation)" if args.whole else ""
    report("llm, most probable label" + whole, rows)
    report("llm, calibrated on content-free inputs" + whole, calibrated)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"content_free": bias, "conversations": kept}, f, indent=1)


def llm_yes(args, data, question):
    """P(yes) against P(no) for a yes/no `question` about `data` (first answer token)."""
    tokens = first_token(args, data + "\n\n" + question + " Answer yes or no.")
    yes = sum(prob for tok, prob in tokens if tok == "yes")
    no = sum(prob for tok, prob in tokens if tok == "no")
    return yes / (yes + no + 1e-9)


# Two yes/no questions, one per pole, mapped to a label as the lexicon's extremes are.
UP_QUESTION = ("Did the user sound happy, excited, relieved, proud or delighted anywhere "
               "(more than polite thanks)?")
DOWN_QUESTION = "Did the user sound worried, stressed, frustrated, sad, angry or disappointed anywhere?"


def cmd_poles(args):
    data, kept = [], []
    for s, c, gold in load(args.sets):
        text = llm_data(c, args.whole)
        up, down = llm_yes(args, text, UP_QUESTION), llm_yes(args, text, DOWN_QUESTION)
        data.append((s, gold, (up, down)))
        kept.append({"set": s, "id": c["id"], "reference": gold, "up": up, "down": down})
    report_tuned("poles" + (" (whole conversation)" if args.whole else ""), data,
                 [x / 20 for x in range(1, 20)])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(kept, f, indent=1)


def vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    analyzer = SentimentIntensityAnalyzer()
    for w in POLITE:
        analyzer.lexicon.pop(w, None)
    return analyzer


def lexicon_scores(analyzer, conversation):
    scores = [analyzer.polarity_scores(t)["compound"] for t in own_words(conversation)]
    return max(scores), -min(scores), scores


def cmd_lexicon(args):
    analyzer = vader()
    data = [(s, g, lexicon_scores(analyzer, c)[:2]) for s, c, g in load(ALL)]
    report_tuned("lexicon", data, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])


def cmd_anchors(args):
    import numpy as np
    import sqlite3
    # One conversation per message: the app embeds a message with the turn before it, and
    # here each message must be embedded alone.
    convs, where = [], {}

    def add(text, key):
        mid = str(uuid.uuid5(uuid.NAMESPACE_URL, "m" + key))
        convs.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "c" + key)), "title": "lab",
                      "status": "ended", "start_time": "2020-01-01T00:00:00Z",
                      "end_time": "2020-01-01T00:01:00Z",
                      "messages": [{"id": mid, "sender": "user", "content": text,
                                    "timestamp": "2020-01-01T00:00:00Z"}]})
        return mid

    anchors = {label: [add(t, f"anchor{label}{i}") for i, t in enumerate(texts)]
               for label, texts in ANCHORS.items()}
    data = load(ALL)
    for s, c, g in data:
        for m in c["messages"]:
            if m["sender"] == "user":
                where[m["id"]] = add(m["content"], "msg" + m["id"])
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "history.json")
        with open(path, "w") as f:
            json.dump({"conversations": convs}, f)
        for argv in (["import", path], ["embed"]):
            subprocess.run([args.bin, "--data-dir", work] + argv, check=True,
                           stdout=subprocess.DEVNULL)
        db = sqlite3.connect(os.path.join(work, "hindsight.db"))
        vec = {mid: np.frombuffer(b, dtype="<f4")
               for mid, b in db.execute("SELECT message_id, vector FROM embeddings")}
        db.close()
    mats = {label: np.array([vec[m] for m in ids]) for label, ids in anchors.items()}

    def extremes(c):
        best, worst = -1.0, -1.0
        for m in c["messages"]:
            if m["sender"] != "user":
                continue
            sim = {label: np.sort(mat @ vec[where[m["id"]]])[-3:].mean()
                   for label, mat in mats.items()}
            best = max(best, sim["positive"] - sim["neutral"])
            worst = max(worst, sim["negative"] - sim["neutral"])
        return best, worst

    report_tuned("anchors", [(s, g, extremes(c)) for s, c, g in data],
                 [x / 100 for x in range(-15, 25)])


def cmd_combined(args):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    with open(args.llm_file) as f:
        llm = {x["id"]: x["p"] for x in json.load(f)["conversations"]}
    analyzer = vader()
    xs, ys, sets = [], [], []
    for s, c, g in load(ALL):
        if c["id"] not in llm:
            continue
        best, worst, scores = lexicon_scores(analyzer, c)
        p = llm[c["id"]]
        total = sum(p.values()) + 1e-9
        xs.append([math.log(p[label] / total + 1e-4) for label in LABELS]
                  + [best, worst, sum(x > 0.3 for x in scores), sum(x < -0.3 for x in scores)])
        ys.append(g)
        sets.append(s)
    x, y, sets = np.array(xs), np.array(ys), np.array(sets)
    dev = np.isin(sets, list(DEV))
    for c in (0.1, 0.3, 1.0, 3.0):
        model = LogisticRegression(C=c, max_iter=2000).fit(x[dev], y[dev])
        report(f"combined, C={c}", list(zip(sets, y, model.predict(x))))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("llm")
    q.add_argument("--url", default="http://127.0.0.1:8091/v1")
    q.add_argument("--model", default="qwen")
    q.add_argument("--sets", default=ALL)
    q.add_argument("--out")
    q.add_argument("--whole", action="store_true",
                   help="give the whole conversation (each message's first 300 characters), "
                        "not only the person's messages")
    q = sub.add_parser("poles")
    q.add_argument("--url", default="http://127.0.0.1:8091/v1")
    q.add_argument("--model", default="qwen")
    q.add_argument("--sets", default=ALL)
    q.add_argument("--out")
    q.add_argument("--whole", action="store_true")
    sub.add_parser("lexicon")
    q = sub.add_parser("anchors")
    q.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "hindsight"))
    q = sub.add_parser("combined")
    q.add_argument("--llm-file", required=True)
    args = p.parse_args()
    {"llm": cmd_llm, "poles": cmd_poles, "lexicon": cmd_lexicon, "anchors": cmd_anchors,
     "combined": cmd_combined}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
