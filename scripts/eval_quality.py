#!/usr/bin/env python3
"""Quality evaluation of Hindsight's LLM analyses and "ask your history" answers.

Runs the real `hindsight` binary on the quality sets in tests/fixtures/quality/ (import, embed,
analyze every conversation, ask every question) in a fresh temporary data folder, scores the
output against the references, prints a Markdown table and can fail on thresholds (for CI).

    scripts/eval_quality.py --bin target/release/hindsight --set a --llm builtin
    scripts/eval_quality.py --bin target/release/hindsight --set both --llm http://127.0.0.1:8080/v1 \\
        --label "qwen2.5-1.5b" --out results.json --markdown table.md
    scripts/eval_quality.py --render run1.json run2.json --markdown table.md   # combine runs
    scripts/eval_quality.py --bin ... --set a --min-valid 0.9 --min-ask-accuracy 0.5   # CI gate

Python 3.11, standard library only. The scoring functions are pure and unit-tested in
scripts/test_eval_quality.py. Metric definitions: tests/fixtures/quality/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "quality"
PROMPT_RS = ROOT / "src-tauri" / "analysis" / "prompt.rs"
ASK_RS = ROOT / "src-tauri" / "search" / "ask.rs"

SENTIMENTS = ("positive", "neutral", "negative", "mixed")
ANSWERABLE_KINDS = ("fact", "paraphrase", "multi_hop", "temporal")
KINDS = ANSWERABLE_KINDS + ("no_answer",)

# ---------------------------------------------------------------------------------------------
# Text normalisation
# ---------------------------------------------------------------------------------------------
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
}

STOP_WORDS = frozenset("""
a an the and or but if then else of to in on at by for with from into onto about as is are was were
be been being am do does did doing have has had having will would shall should can could may might
must i me my mine myself we us our ours you your yours he him his she her hers it its they them their
theirs this that these those there here what which who whom whose when where why how not no nor so
too very just also than up down out off over under again once all any both each few more most other
some such only own same s t don now get got go going make sure let lets ll re ve d m o y via per
user ai assistant
""".split())


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces; "£1,150" -> "1150", "5th" -> "5",
    "16GB" -> "16 gb", "4.1" -> "4 1", number words two..sixty -> digits."""
    t = strip_accents(str(text)).lower()
    t = t.replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"(?<=\d)[,](?=\d{3}\b)", "", t)            # thousands separators
    t = re.sub(r"\b(\d+)(st|nd|rd|th)\b", r"\1", t)        # ordinals
    t = re.sub(r"'s\b", "", t)                              # possessives
    t = t.replace("'", "")                                  # don't -> dont
    t = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", t)  # 16gb -> 16 gb
    t = re.sub(r"[^a-z0-9]+", " ", t)
    words = [NUMBER_WORDS.get(w, w) for w in t.split()]
    return " ".join(words)


def stem(word: str) -> str:
    """A deliberately light stemmer (plural, -ing, -ed), applied to both sides of every match."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return _undouble(w[:-3])
    if len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        return _undouble(w[:-2])
    if len(w) > 5 and w.endswith("oes"):
        return w[:-2]
    if len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _undouble(w: str) -> str:
    """running -> run, stopped -> stop (but not fall, miss, buzz)."""
    if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "aeiouylsz":
        return w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Normalised, stemmed tokens."""
    return [stem(w) for w in normalize(text).split()]


def contains_phrase(haystack: list[str], phrase: list[str]) -> bool:
    if not phrase:
        return False
    n = len(phrase)
    first = phrase[0]
    for i in range(len(haystack) - n + 1):
        if haystack[i] == first and haystack[i:i + n] == phrase:
            return True
    return False


def phrase_in(text: str, phrase: str) -> bool:
    """Does `phrase` occur in `text` as a whole-token sequence (normalised, stemmed)?"""
    return contains_phrase(tokens(text), tokens(phrase))


def content_tokens(text: str) -> set[str]:
    return {stem(w) for w in normalize(text).split() if w not in STOP_WORDS}


# ---------------------------------------------------------------------------------------------
# Analysis scoring
# ---------------------------------------------------------------------------------------------
def fact_covered(text: str, alternatives: list[str]) -> bool:
    toks = tokens(text)
    return any(contains_phrase(toks, tokens(a)) for a in alternatives)


def fact_coverage(summary: str, facts: list[list[str]]) -> float | None:
    if not facts:
        return None
    return sum(fact_covered(summary or "", f) for f in facts) / len(facts)


def overlap_coefficient(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def match_action_items(produced: list[str], reference: list[str], threshold: float = 0.5):
    """One-to-one greedy matching on content-word overlap coefficient >= threshold.
    Returns (pairs [(produced_index, reference_index, score)], precision, recall).
    Nothing produced and nothing expected: precision 1, recall 1. Nothing expected but something
    produced: precision 0 (false positives), recall 1. Expected but nothing produced: recall 0,
    precision 1 (no false positive); the micro-averaged figures do not have this vacuous case."""
    p_sets = [content_tokens(t) for t in produced]
    r_sets = [content_tokens(t) for t in reference]
    scored = []
    for i, ps in enumerate(p_sets):
        for j, rs in enumerate(r_sets):
            s = overlap_coefficient(ps, rs)
            if s >= threshold:
                scored.append((s, i, j))
    scored.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_p, used_r, pairs = set(), set(), []
    for s, i, j in scored:
        if i in used_p or j in used_r:
            continue
        used_p.add(i)
        used_r.add(j)
        pairs.append((i, j, round(s, 3)))
    precision = len(pairs) / len(produced) if produced else 1.0
    recall = len(pairs) / len(reference) if reference else 1.0
    return pairs, precision, recall


def topic_matches(produced_topic: str, alternative: str) -> bool:
    a = " " + " ".join(tokens(produced_topic)) + " "
    b = " " + " ".join(tokens(alternative)) + " "
    if not a.strip() or not b.strip():
        return False
    return b in a or a in b


def topic_overlap(produced: list[str], reference: list[list[str]]) -> float | None:
    """Fraction of reference topics matched (either way round, whole tokens) by a produced topic."""
    if not reference:
        return None
    hit = 0
    for alts in reference:
        if any(topic_matches(p, alt) for p in produced for alt in alts):
            hit += 1
    return hit / len(reference)


def sentiment_scores(predicted, reference: str) -> tuple[float, float]:
    """(exact, adjacent): adjacent also gives half a point for mixed vs positive/negative."""
    if predicted == reference:
        return 1.0, 1.0
    pair = {predicted, reference}
    if "mixed" in pair and pair & {"positive", "negative"}:
        return 0.0, 0.5
    return 0.0, 0.0


# ---- copied prompt text ------------------------------------------------------------------------
def rust_string_literals(source: str) -> list[tuple[int, str]]:
    """(offset, value) of every string literal in Rust source: "…" with escapes and line
    continuations, r"…" and r#"…"#; comments and char literals are skipped."""
    out = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        m = re.match(r'b?r(#*)"', source[i:i + 40])
        if m and (i == 0 or not (source[i - 1].isalnum() or source[i - 1] == "_")):
            hashes = m.group(1)
            start = i + m.end()
            end = source.find('"' + hashes, start)
            if end < 0:
                break
            out.append((i, source[start:end]))
            i = end + 1 + len(hashes)
            continue
        if c == "'":
            if source.startswith("\\", i + 1):
                j = source.find("'", i + 2)
                i = n if j < 0 else j + 1
            elif i + 2 < n and source[i + 2] == "'":
                i += 3
            else:
                i += 1  # a lifetime
            continue
        if c == '"':
            j, buf = i + 1, []
            while j < n and source[j] != '"':
                if source[j] == "\\" and j + 1 < n:
                    nxt = source[j + 1]
                    if nxt == "\n":
                        j += 2
                        while j < n and source[j] in " \t\r\n":
                            j += 1
                        continue
                    buf.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(nxt, nxt))
                    j += 2
                    continue
                buf.append(source[j])
                j += 1
            out.append((i, "".join(buf)))
            i = j + 1
            continue
        i += 1
    return out


def literal_segments(literal: str) -> list[str]:
    """A literal split at format! placeholders ({SHAPE}, {problem}, {}, {:.2}) so that no
    n-gram spans text the program substitutes; {{ and }} are literal braces."""
    text = literal.replace("{{", "\x01").replace("}}", "\x02")
    parts = re.split(r"\{[A-Za-z0-9_]*(?::[^}]*)?\}", text)
    return [p.replace("\x01", "{").replace("\x02", "}") for p in parts]


class PromptText:
    """The prompt's token sequences (normalised, not stemmed) for copy detection."""

    def __init__(self, segments: list[str], n: int = 6):
        self.n = n
        self.seqs = [normalize(s).split() for s in segments]
        self.seqs = [s for s in self.seqs if s]
        self.ngrams = set()
        for s in self.seqs:
            for k in range(len(s) - n + 1):
                self.ngrams.add(tuple(s[k:k + n]))

    @classmethod
    def from_rust(cls, source: str, n: int = 6, only_const: str | None = None) -> "PromptText":
        # The prompt is what the module says before its tests: a test's example answer is no
        # prompt text a model could copy.
        source = source.split("#[cfg(test)]", 1)[0]
        lits = rust_string_literals(source)
        if only_const:
            at = source.find(f"const {only_const}")
            lits = [l for l in lits if at >= 0 and l[0] > at][:1]
        segments = [seg for _, lit in lits for seg in literal_segments(lit)]
        return cls(segments, n)

    def copied(self, text: str) -> str | None:
        """The first prompt n-gram found in `text`, or the whole of `text` when it is a run of at
        least 3 words inside the prompt, or a bare placeholder ("…"); else None."""
        raw = str(text or "")
        toks = normalize(raw).split()
        if not toks:
            return "placeholder" if raw.strip() else None
        for k in range(len(toks) - self.n + 1):
            g = tuple(toks[k:k + self.n])
            if g in self.ngrams:
                return " ".join(g)
        if len(toks) >= 3:
            for s in self.seqs:
                if contains_phrase(s, toks):
                    return " ".join(toks)
        return None


def analysis_fields(analysis: dict) -> list[tuple[str, str]]:
    items = [("summary", analysis.get("summary") or "")]
    items += [("key_point", str(p)) for p in analysis.get("key_points") or []]
    items += [("action_item", action_text(a)) for a in analysis.get("action_items") or []]
    items += [("topic", str(t)) for t in analysis.get("topics") or []]
    return items


def copied_prompt(analysis: dict, prompt: PromptText) -> str | None:
    for field, text in analysis_fields(analysis):
        hit = prompt.copied(text)
        if hit:
            return f"{field}: {hit}"
    return None


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", (text or "").strip()) if s.strip()]


def repeated_lines(analysis: dict) -> str | None:
    """Why the analysis repeats itself, or None: a summary sentence, key point or action item
    occurring twice (normalised) in its list, or an 8-gram occurring 3+ times in the summary."""
    lists = {
        "summary sentence": split_sentences(analysis.get("summary") or ""),
        "key point": [str(p) for p in analysis.get("key_points") or []],
        "action item": [action_text(a) for a in analysis.get("action_items") or []],
    }
    for name, items in lists.items():
        seen = set()
        for item in items:
            key = normalize(item)
            if not key:
                continue
            if key in seen:
                return f"{name} twice: {key[:80]}"
            seen.add(key)
    toks = normalize(analysis.get("summary") or "").split()
    counts: dict[tuple, int] = {}
    for k in range(len(toks) - 7):
        g = tuple(toks[k:k + 8])
        counts[g] = counts.get(g, 0) + 1
        if counts[g] >= 3:
            return "8-gram 3 times in summary: " + " ".join(g)
    return None


PASTE_RUN = 8


def pasted(summary: str, messages: list[str] | None, n: int = PASTE_RUN) -> float | None:
    """The share of the summary's words that lie in runs of `n` or more words copied word for word
    from one message of the conversation: a summary "in its own words" scores near 0, one that
    pastes the person's messages near 1. None without the messages."""
    if messages is None:
        return None
    words = tokens(summary)
    if len(words) < n:
        return 0.0
    grams = {tuple(m[i:i + n]) for m in map(tokens, messages) for i in range(len(m) - n + 1)}
    covered = set()
    for i in range(len(words) - n + 1):
        if tuple(words[i:i + n]) in grams:
            covered.update(range(i, i + n))
    return len(covered) / len(words)


SPOKEN = {"i", "im", "ive", "id", "ill", "me", "my", "mine", "myself", "we", "were", "weve",
          "wed", "well", "us", "our", "ours", "ourselves", "you", "youre", "youve", "youd",
          "youll", "your", "yours", "yourself", "yourselves"}
SPOKEN_RE = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")


def spoken(summary: str) -> bool:
    """Whether the summary speaks as a message does, in the first or second person ("I found a
    flat…", "Bonfim sounds like us", "you should…") rather than about the user: a pasted
    message. "US" the country and "were"/"well"/"ill" as words of their own do not count."""
    for w in SPOKEN_RE.findall(summary):
        if w == "US":
            continue
        bare = w.replace("'", "").replace("’", "").lower()
        if bare in ("were", "well", "ill", "id") and "'" not in w and "’" not in w:
            continue
        if bare in SPOKEN:
            return True
    return False


def action_text(item) -> str:
    if isinstance(item, dict):
        return str(item.get("text") or "")
    return str(item)


def validity(analysis: dict | None, ok: bool = True) -> tuple[bool, list[str]]:
    problems = []
    if not ok:
        problems.append("command failed")
    if not isinstance(analysis, dict):
        return False, problems + ["no analysis"]
    if not str(analysis.get("summary") or "").strip():
        problems.append("empty summary")
    if analysis.get("sentiment") not in SENTIMENTS:
        problems.append(f"sentiment {analysis.get('sentiment')!r}")
    topics = analysis.get("topics")
    if not isinstance(topics, list) or not any(str(t).strip() for t in topics):
        problems.append("no topics")
    return not problems, problems


def score_analysis(analysis: dict | None, ref: dict, prompt: PromptText, ok: bool = True,
                   messages: list[str] | None = None) -> dict:
    """Scores one analysis against its reference (and, given the conversation's `messages`, how
    much of its summary is pasted from them). A missing analysis scores 0 everywhere."""
    valid, problems = validity(analysis, ok)
    if not isinstance(analysis, dict):
        return {"valid": False, "problems": problems, "fact_coverage": 0.0,
                "fact_coverage_with_key_points": 0.0, "facts_missed": ref["summary_facts"],
                "action_precision": 0.0, "action_recall": 0.0, "action_tp": 0, "action_fp": 0,
                "action_fn": len(ref["action_items"]), "action_pairs": [], "owner_agreement": None,
                "topic_overlap": 0.0, "sentiment_exact": 0.0, "sentiment_adjacent": 0.0,
                "copied_prompt": None, "repeated": None, "doubted": None, "pasted": None,
                "spoken": None}
    summary = str(analysis.get("summary") or "")
    key_points = " \n ".join(str(p) for p in analysis.get("key_points") or [])
    facts = ref["summary_facts"]
    missed = [f for f in facts if not fact_covered(summary, f)]
    produced_items = analysis.get("action_items") or []
    produced = [action_text(a) for a in produced_items]
    reference = [a["text"] for a in ref["action_items"]]
    pairs, precision, recall = match_action_items(produced, reference)
    owners = [
        (produced_items[i].get("owner") if isinstance(produced_items[i], dict) else None)
        == ref["action_items"][j]["owner"]
        for i, j, _ in pairs
    ]
    exact, adjacent = sentiment_scores(analysis.get("sentiment"), ref["sentiment"])
    topics = [str(t) for t in analysis.get("topics") or []]
    return {
        "valid": valid,
        "problems": problems,
        "fact_coverage": fact_coverage(summary, facts),
        "fact_coverage_with_key_points": fact_coverage(summary + " \n " + key_points, facts),
        "facts_missed": missed,
        "action_precision": precision,
        "action_recall": recall,
        "action_tp": len(pairs),
        "action_fp": len(produced) - len(pairs),
        "action_fn": len(reference) - len(pairs),
        "action_pairs": [{"produced": produced[i], "reference": reference[j], "overlap": s}
                         for i, j, s in pairs],
        "owner_agreement": (sum(owners) / len(owners)) if owners else None,
        "topic_overlap": topic_overlap(topics, ref["topics"]),
        "sentiment_exact": exact,
        "sentiment_adjacent": adjacent,
        "copied_prompt": copied_prompt(analysis, prompt),
        "repeated": repeated_lines(analysis),
        "pasted": pasted(summary, messages),
        "spoken": spoken(summary),
        # The app's own checks (analysis/doubts.rs): None for a binary that has none.
        "doubted": (bool(analysis["doubts"]) if isinstance(analysis.get("doubts"), list)
                    else None),
    }


def mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


READ_LINE = re.compile(r"analysis read as_written=(true|false) retried=(true|false)")


def reads_logged(logs_dir: Path) -> list[dict]:
    """Every model answer read as an analysis, from the app's log in `logs_dir` (the line
    `analysis/mod.rs` writes): JSON as written or repaired by the tolerant parser, and whether
    it took the retry. One line per request, so a long conversation's parts count each."""
    found = []
    for path in sorted(logs_dir.glob("hindsight.log*")):
        for m in READ_LINE.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append({"as_written": m.group(1) == "true", "retried": m.group(2) == "true"})
    return found


def aggregate_reads(reads: list[dict], analyses: int = 0) -> dict:
    """Of the answers read: the share that was JSON as written on the first try, and how many
    requests an analysis took (1 when a conversation fits one; a long one's parts and merges
    count each)."""
    return {"requests": len(reads),
            "as_written": mean(1.0 if r["as_written"] and not r["retried"] else 0.0 for r in reads),
            "retried": sum(1 for r in reads if r["retried"]),
            "requests_per_analysis": len(reads) / analyses if analyses else None}


def aggregate_analyses(items: list[dict]) -> dict:
    if not items:
        return {"n": 0}
    s = [it["scores"] for it in items]
    tp = sum(x["action_tp"] for x in s)
    fp = sum(x["action_fp"] for x in s)
    fn = sum(x["action_fn"] for x in s)
    return {
        "n": len(items),
        "valid": mean(1.0 if x["valid"] else 0.0 for x in s),
        "failed": sum(1 for it in items if not it.get("ok")),
        "fact_coverage": mean(x["fact_coverage"] for x in s),
        "fact_coverage_with_key_points": mean(x["fact_coverage_with_key_points"] for x in s),
        "action_recall": mean(x["action_recall"] for x in s),
        "action_precision": mean(x["action_precision"] for x in s),
        "action_recall_micro": tp / (tp + fn) if tp + fn else None,
        "action_precision_micro": tp / (tp + fp) if tp + fp else None,
        "owner_agreement": mean(x["owner_agreement"] for x in s),
        "topic_overlap": mean(x["topic_overlap"] for x in s),
        "sentiment_exact": mean(x["sentiment_exact"] for x in s),
        "sentiment_adjacent": mean(x["sentiment_adjacent"] for x in s),
        "copied_prompt": mean(1.0 if x["copied_prompt"] else 0.0 for x in s),
        "repeated": mean(1.0 if x["repeated"] else 0.0 for x in s),
        "pasted": mean(x.get("pasted") for x in s),
        "spoken": mean(None if x.get("spoken") is None else (1.0 if x["spoken"] else 0.0)
                       for x in s),
        "doubted": mean(None if x.get("doubted") is None else (1.0 if x["doubted"] else 0.0)
                        for x in s),
        "seconds_mean": mean(it.get("seconds") for it in items),
    }


# ---------------------------------------------------------------------------------------------
# Ask scoring
# ---------------------------------------------------------------------------------------------
CITATION_RE = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")

NO_ANSWER_PHRASES = (
    "nothing", "no relevant", "not relevant", "not find", "couldnt find", "could not find",
    "cant find", "cannot find", "cant see", "did not find", "didnt find", "unable to find",
    "dont know", "do not know", "no information", "no info", "not mentioned", "isnt mentioned",
    "no mention", "doesnt mention", "does not mention", "dont mention", "do not mention",
    "doesnt say", "does not say", "dont say", "do not say", "no record", "not in your history",
    "no details", "not specified", "doesnt specify", "does not specify", "not stated",
    "no excerpt", "not contain", "dont contain", "doesnt contain", "not available",
    "no answer", "not sure", "no data", "dont have", "do not have", "not provided",
)


def parse_citations(answer: str) -> list[int]:
    """The numbers cited as [n], [n, m] or [n][m], in order, without repeats."""
    out = []
    for m in CITATION_RE.finditer(answer or ""):
        for part in re.split(r"[,;]", m.group(1)):
            k = int(part)
            if k not in out:
                out.append(k)
    return out


def strip_citations(answer: str) -> str:
    return CITATION_RE.sub(" ", answer or "")


def _states(toks: list[str], answer_any: list[list[str]]) -> bool:
    return any(alt and all(contains_phrase(toks, tokens(p)) for p in alt) for alt in answer_any)


# An answer this short that offers alternatives ("Azores or Madeira") is a guess, not an answer.
HEDGE_MAX_WORDS = 8


def hedged(toks: list[str], answer_any: list[list[str]]) -> bool:
    """A short answer (its tokens, citations stripped) of alternatives joined by "or" where the
    expected fact is only one of them: it names every option rather than the one asked about."""
    if len(toks) > HEDGE_MAX_WORDS:
        return False
    parts, part = [], []
    for t in toks:
        if t == "or":
            parts.append(part)
            part = []
        else:
            part.append(t)
    parts = [p for p in parts + [part] if p and p != ["either"]]
    return len(parts) > 1 and not all(_states(p, answer_any) for p in parts)


def answer_correct(answer: str, answer_any: list[list[str]]) -> bool:
    """The expected fact is stated, and not as one of a few options offered."""
    toks = tokens(strip_citations(answer))
    return _states(toks, answer_any) and not hedged(toks, answer_any)


def says_no_answer(answer: str) -> bool:
    text = " " + normalize(strip_citations(answer)) + " "
    return any(" " + p + " " in text for p in NO_ANSWER_PHRASES)


def score_question(result: dict | None, q: dict, ask_prompt: PromptText | None = None,
                   ok: bool = True) -> dict:
    result = result if isinstance(result, dict) else {}
    answer = str(result.get("answer") or "")
    excerpts = result.get("excerpts") or []
    ids = [e.get("message_id") for e in excerpts if isinstance(e, dict)]
    cited = parse_citations(answer)
    cited_ids = [ids[k - 1] for k in cited if 1 <= k <= len(ids)]
    evidence = set(q.get("evidence") or [])
    ranks = [i + 1 for i, mid in enumerate(ids) if mid in evidence]
    out = {
        "ok": ok,
        "cited": cited,
        "cited_out_of_range": [k for k in cited if not 1 <= k <= len(ids)],
        "excerpts": len(ids),
        "copied_prompt": ask_prompt.copied(answer) if ask_prompt else None,
        "says_no_answer": says_no_answer(answer),
    }
    if q["kind"] == "no_answer":
        out["honest"] = ok and out["says_no_answer"] and not cited
        out["correct"] = out["honest"]
    else:
        out["correct"] = ok and answer_correct(answer, q["answer_any"])
        out["retrieval_hit"] = bool(ranks)
        out["evidence_rank"] = ranks[0] if ranks else None
        out["citation_ok"] = (any(mid in evidence for mid in cited_ids)) if cited else None
        out["refused"] = out["says_no_answer"] and not out["correct"]
    return out


def aggregate_questions(items: list[dict]) -> dict:
    if not items:
        return {"n": 0}
    answerable = [it for it in items if it["kind"] != "no_answer"]
    none = [it for it in items if it["kind"] == "no_answer"]
    a = [it["scores"] for it in answerable]
    with_cites = [x for x in a if x["cited"]]
    per_kind = {}
    for kind in KINDS:
        ks = [it["scores"] for it in items if it["kind"] == kind]
        if ks:
            per_kind[kind] = {"n": len(ks), "accuracy": mean(1.0 if x["correct"] else 0.0 for x in ks)}
    return {
        "n": len(items),
        "answerable": len(answerable),
        "failed": sum(1 for it in items if not it.get("ok")),
        "accuracy": mean(1.0 if x["correct"] else 0.0 for x in a),
        "cited_any": mean(1.0 if x["cited"] else 0.0 for x in a),
        "citation_accuracy": mean(1.0 if x["citation_ok"] else 0.0 for x in with_cites),
        "retrieval_hit": mean(1.0 if x["retrieval_hit"] else 0.0 for x in a),
        "refused": mean(1.0 if x["refused"] else 0.0 for x in a),
        "no_answer_honesty": mean(1.0 if it["scores"]["honest"] else 0.0 for it in none),
        "copied_prompt": mean(1.0 if it["scores"]["copied_prompt"] else 0.0 for it in items),
        "per_kind": per_kind,
        "seconds_mean": mean(it.get("seconds") for it in items),
    }


# ---------------------------------------------------------------------------------------------
# Thresholds and tables
# ---------------------------------------------------------------------------------------------
# flag name -> (section, metric, "min" | "max", is a rate)
THRESHOLDS = {
    "min_valid": ("analysis", "valid", "min", True),
    "min_as_written": ("analysis", "as_written", "min", True),
    "min_facts": ("analysis", "fact_coverage", "min", True),
    "min_action_recall": ("analysis", "action_recall", "min", True),
    "min_action_precision": ("analysis", "action_precision", "min", True),
    "min_topics": ("analysis", "topic_overlap", "min", True),
    "min_sentiment": ("analysis", "sentiment_exact", "min", True),
    "max_copied": ("analysis", "copied_prompt", "max", True),
    "max_repeated": ("analysis", "repeated", "max", True),
    "max_doubted": ("analysis", "doubted", "max", True),
    "max_pasted": ("analysis", "pasted", "max", True),
    "max_spoken": ("analysis", "spoken", "max", True),
    "max_seconds_per_analysis": ("analysis", "seconds_mean", "max", False),
    "max_requests_per_analysis": ("analysis", "requests_per_analysis", "max", False),
    "min_ask_accuracy": ("ask", "accuracy", "min", True),
    "min_citation_accuracy": ("ask", "citation_accuracy", "min", True),
    "min_cited": ("ask", "cited_any", "min", True),
    "min_retrieval": ("ask", "retrieval_hit", "min", True),
    "min_no_answer": ("ask", "no_answer_honesty", "min", True),
    "max_seconds_per_question": ("ask", "seconds_mean", "max", False),
    "min_follow_up_accuracy": ("follow_up", "accuracy", "min", True),
    "min_follow_up_retrieval": ("follow_up", "retrieval_hit", "min", True),
}


def check_thresholds(run: dict, limits: dict) -> list[str]:
    """Failures of one run ({"set", "label", "metrics": {"analysis", "ask"}}) against `limits`
    (flag name -> value; rates as fractions, or percentages when > 1)."""
    failures = []
    for flag, limit in limits.items():
        if limit is None:
            continue
        section, metric, kind, rate = THRESHOLDS[flag]
        if rate and limit > 1:
            limit = limit / 100.0
        value = (run["metrics"].get(section) or {}).get(metric)
        name = f"set {run['set']}: {section} {metric}"
        if value is None:
            failures.append(f"{name} was not measured (--{flag.replace('_', '-')} {limit:g})")
        elif kind == "min" and value < limit:
            failures.append(f"{name} = {value:.3f} is below --{flag.replace('_', '-')} {limit:g}")
        elif kind == "max" and value > limit:
            failures.append(f"{name} = {value:.3f} is above --{flag.replace('_', '-')} {limit:g}")
    return failures


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}"


def secs(v) -> str:
    return "–" if v is None else f"{v:.1f}"


MAIN_HEADER = ("| set | label | n an | valid% | as written% | facts% | actR% | actP% | topics% | sent% | sent~% | "
               "copy% | rep% | paste% | 1st% | doubt% | s/an | n q | ask% | cite% | cited% | retr% | honest% | s/q |")
FOLLOW_HEADER = ("| set | label | n follow-ups | in thread ask% | cite% | retr% | "
                 "alone ask% | alone retr% |")
KIND_HEADER = "| set | label | fact% | paraphrase% | multi_hop% | temporal% | no_answer% (honest) |"


def markdown(runs: list[dict]) -> str:
    lines = [MAIN_HEADER, "|" + "---|" * (MAIN_HEADER.count("|") - 1)]
    for r in runs:
        an, ask = r["metrics"].get("analysis") or {}, r["metrics"].get("ask") or {}
        lines.append("| " + " | ".join([
            r["set"], r["label"], str(an.get("n", 0)), pct(an.get("valid")), pct(an.get("as_written")),
            pct(an.get("fact_coverage")), pct(an.get("action_recall")),
            pct(an.get("action_precision")), pct(an.get("topic_overlap")),
            pct(an.get("sentiment_exact")), pct(an.get("sentiment_adjacent")),
            pct(an.get("copied_prompt")), pct(an.get("repeated")), pct(an.get("pasted")),
            pct(an.get("spoken")), pct(an.get("doubted")),
            secs(an.get("seconds_mean")),
            str(ask.get("n", 0)), pct(ask.get("accuracy")), pct(ask.get("citation_accuracy")),
            pct(ask.get("cited_any")), pct(ask.get("retrieval_hit")),
            pct(ask.get("no_answer_honesty")), secs(ask.get("seconds_mean")),
        ]) + " |")
    lines += ["", KIND_HEADER, "|" + "---|" * (KIND_HEADER.count("|") - 1)]
    for r in runs:
        pk = (r["metrics"].get("ask") or {}).get("per_kind") or {}
        cells = []
        for kind in KINDS:
            k = pk.get(kind)
            cells.append("–" if not k else f"{pct(k['accuracy'])} ({k['n']})")
        lines.append("| " + " | ".join([r["set"], r["label"]] + cells) + " |")
    follow = [r for r in runs if (r["metrics"].get("follow_up") or {}).get("n")]
    if follow:
        lines += ["", FOLLOW_HEADER, "|" + "---|" * (FOLLOW_HEADER.count("|") - 1)]
        for r in follow:
            f, alone = r["metrics"]["follow_up"], r["metrics"].get("follow_up_alone") or {}
            lines.append("| " + " | ".join([
                r["set"], r["label"], str(f["n"]), pct(f.get("accuracy")),
                pct(f.get("citation_accuracy")), pct(f.get("retrieval_hit")),
                pct(alone.get("accuracy")), pct(alone.get("retrieval_hit")),
            ]) + " |")
    lines += ["", "as written: answers read as analyses that were JSON as written, first try (no repair, no retry); facts: summary fact coverage; actR/actP: action-item recall/precision (mean per "
              "conversation); sent~: mixed vs positive/negative counts half; copy: copies prompt "
              "text; rep: repeats itself; paste: share of the summary pasted word for word from the "
              "messages (runs of 8 words or more); 1st: summaries in the first or second person ("
              "\"I\", \"we\", \"you\": a message, not a summary); ask: answerable questions correct; cite: cited answers "
              "citing an evidence message; cited: answers with a [n]; retr: evidence retrieved; "
              "honest: no-answer questions answered \"not found\" without citations; follow-ups: "
              "questions asked right after another one (--previous, as in a thread in the window), "
              "and the same questions asked alone."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Running the binary
# ---------------------------------------------------------------------------------------------
def run_cmd(argv: list[str], env: dict, timeout: float) -> dict:
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = -1
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = f"timed out after {timeout:g} s"
    except OSError as e:
        rc, out, err = -2, "", f"could not run {argv[0]}: {e}"
    return {"rc": rc, "stdout": out, "stderr": err, "seconds": time.monotonic() - t0}


def parse_json(text: str):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def extract_analysis(doc) -> dict | None:
    """`analyze ID --json` prints {"analysed": [analysis], "failed": [...]}; `end --json` prints
    {"conversation": ..., "analysis": {...}}. Either is accepted."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("analysis"), dict):
        return doc["analysis"]
    done = doc.get("analysed")
    if isinstance(done, list) and done and isinstance(done[0], dict):
        return done[0]
    return None


def llm_flags(args) -> list[str]:
    flags = ["--builtin"] if args.llm == "builtin" else ["--url", args.llm]
    if args.builtin_model:
        flags += ["--builtin-model", args.builtin_model]
    if args.model:
        flags += ["--model", args.model]
    return flags


def pick_round_robin(items: list[dict], key: str, n: int | None) -> list[dict]:
    """The first n items taking one of each `key` value in turn (file order within a value), so
    a short run still covers every kind; the result keeps file order."""
    if n is None or n >= len(items):
        return list(items)
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(it[key], []).append(i)
    chosen: list[int] = []
    while len(chosen) < n:
        for g in groups.values():
            if g and len(chosen) < n:
                chosen.append(g.pop(0))
    return [items[i] for i in sorted(chosen)]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_set(args, set_name: str, prompt: PromptText, ask_prompt: PromptText | None) -> dict:
    history = args.fixtures / f"set_{set_name}_history.json"
    messages = {c["id"]: [m["content"] for m in c["messages"]]
                for c in json.loads(history.read_text())["conversations"]}
    refs = json.loads((args.fixtures / f"set_{set_name}_refs.json").read_text())
    env = dict(os.environ)
    env.pop("HINDSIGHT_DATA_DIR", None)
    if not env.get("HINDSIGHT_MODELS_DIR"):
        env.pop("HINDSIGHT_MODELS_DIR", None)
    if args.models_dir:
        env["HINDSIGHT_MODELS_DIR"] = str(args.models_dir)
    data_dir = Path(tempfile.mkdtemp(prefix=f"hindsight-quality-{set_name}-"))
    base = [str(args.bin), "--data-dir", str(data_dir)]
    run = {"set": set_name, "label": args.label, "llm": args.llm,
           "builtin_model": args.builtin_model, "model": args.model, "data_dir": str(data_dir),
           "steps": {}, "analyses": [], "questions": [], "follow_ups": [], "follow_ups_alone": [],
           "metrics": {}}
    try:
        for step, argv in (("import", ["import", str(history), "--json"]), ("embed", ["embed", "--json"])):
            log(f"[{set_name}] {step} …")
            r = run_cmd(base + argv, env, args.timeout)
            run["steps"][step] = {"rc": r["rc"], "seconds": round(r["seconds"], 2),
                                  "output": parse_json(r["stdout"]), "stderr": r["stderr"][-2000:]}
            if r["rc"] != 0:
                raise SystemExit(f"eval_quality: `hindsight {step}` failed (exit {r['rc']}):\n"
                                 f"{r['stderr'].strip()}")
        if args.conversations:
            # By title or id (titles of several sets may be given at once: each set takes its own).
            wanted = set(args.conversations)
            chosen = [r for r in refs["analyses"]
                      if r["title"] in wanted or r["conversation_id"] in wanted]
        else:
            chosen = pick_round_robin(refs["analyses"], "sentiment", args.analyses)
        batch = None
        if chosen and not args.one_by_one:
            # One `analyze` for every chosen conversation: one model load, not one each.
            log(f"[{set_name}] analysing {len(chosen)} conversations in one run …")
            r = run_cmd(base + ["analyze"] + [ref["conversation_id"] for ref in chosen]
                        + ["--json"] + llm_flags(args), env, args.timeout * len(chosen))
            doc = parse_json(r["stdout"])
            done = {a.get("conversation_id"): a for a in (doc or {}).get("analysed") or []
                    if isinstance(a, dict)}
            batch = {"r": r, "doc": doc, "done": done, "seconds": r["seconds"] / len(chosen)}
        for k, ref in enumerate(chosen, 1):
            if batch is None:
                r = run_cmd(base + ["analyze", ref["conversation_id"], "--json"] + llm_flags(args),
                            env, args.timeout)
                doc = parse_json(r["stdout"])
                analysis = extract_analysis(doc)
                ok = r["rc"] == 0 and analysis is not None
            else:
                doc = batch["doc"]
                analysis = batch["done"].get(ref["conversation_id"])
                ok = analysis is not None
                r = dict(batch["r"], rc=0 if ok else (batch["r"]["rc"] or 1),
                         seconds=batch["seconds"])
            scores = score_analysis(analysis, ref, prompt, ok,
                                    messages.get(ref["conversation_id"]))
            run["analyses"].append({
                "conversation_id": ref["conversation_id"], "title": ref["title"], "ok": ok,
                "rc": r["rc"], "seconds": round(r["seconds"], 2),
                "stderr": r["stderr"][-2000:] if r["rc"] != 0 or not ok else "",
                "failed": (doc or {}).get("failed") if isinstance(doc, dict) else None,
                "analysis": analysis, "reference": ref, "scores": scores})
            log(f"[{set_name}] analysis {k}/{len(chosen)} {ref['title'][:40]!r}: "
                f"{'ok' if ok else 'FAILED'} in {r['seconds']:.1f} s"
                + ("" if ok else f" ({r['stderr'].strip()[-200:]})"))
        run["reads"] = reads_logged(data_dir / "logs") if chosen else []
        def scored(q: dict, previous: str | None, doc, rc: int, seconds: float, stderr: str) -> dict:
            """One answer (`doc`, as `ask --json` prints it) scored; `previous` asked it as a
            follow-up."""
            ok = rc == 0 and isinstance(doc, dict) and "error" not in doc
            doc = doc if ok else {}
            return {
                "id": q["id"], "kind": q["kind"], "question": q["question"], "previous": previous,
                "ok": ok, "rc": rc if rc != 0 or ok else 1, "seconds": round(seconds, 2),
                "stderr": stderr[-2000:] if not ok else "",
                "answer": doc.get("answer") if ok else None,
                "excerpts": [{key: e.get(key) for key in ("message_id", "conversation_id", "similarity", "title")}
                             for e in (doc.get("excerpts") or []) if isinstance(e, dict)],
                "timings": doc.get("timings"),
                "answer_any": q["answer_any"], "evidence": q["evidence"],
                "scores": score_question(doc if ok else None, q, ask_prompt, ok)}

        def ask_one(q: dict, previous: str | None) -> dict:
            """One `hindsight ask` process for one question."""
            argv = ["ask", q["question"]] + (["--previous", previous] if previous else [])
            r = run_cmd(base + argv + ["--json"] + llm_flags(args), env, args.timeout)
            return scored(q, previous, parse_json(r["stdout"]), r["rc"], r["seconds"], r["stderr"])

        def ask_all(plan: list[tuple[str, dict, str | None]]) -> list[dict]:
            """Every question in one `hindsight ask --questions FILE` (one model load, one
            schema compiled, as the window asks one after another); its answers come one JSON
            line each, in order. A line missing (the run died) scores as a failed answer."""
            qfile = data_dir / "questions.jsonl"
            qfile.write_text("".join(json.dumps({"question": q["question"], "previous": prev}) + "\n"
                                     for _, q, prev in plan))
            log(f"[{set_name}] asking {len(plan)} questions in one run …")
            r = run_cmd(base + ["ask", "--questions", str(qfile), "--json"] + llm_flags(args),
                        env, args.timeout * len(plan))
            docs = [parse_json(line) for line in r["stdout"].splitlines() if line.strip()]
            items = []
            for k, (_, q, prev) in enumerate(plan):
                doc = docs[k] if k < len(docs) else None
                if not (isinstance(doc, dict) and doc.get("question") == q["question"]):
                    items.append(scored(q, prev, None, r["rc"] or 1, r["seconds"] / len(plan),
                                        r["stderr"] or "no answer line"))
                    continue
                items.append(scored(q, prev, doc, 0, float(doc.get("seconds") or 0.0),
                                    str(doc.get("error") or "")))
            return items

        def logged(what: str, item: dict) -> None:
            log(f"[{set_name}] {what} {item['id']} ({item['kind']}): "
                f"{'correct' if item['scores']['correct'] else 'wrong'} in {item['seconds']:.1f} s"
                + ("" if item["ok"] else f" ({item['stderr'].strip()[-200:]})"))

        questions = pick_round_robin(refs["questions"], "kind", args.questions)
        follow_ups = (refs.get("follow_ups") or [])[:args.follow_ups]
        # (where the answer goes, the question, the question it follows up on)
        plan: list[tuple[str, dict, str | None]] = [("questions", q, None) for q in questions]
        for q in follow_ups:
            plan.append(("follow_ups", q, q["after"]))
            if args.follow_ups_alone:
                plan.append(("follow_ups_alone", q, None))
        counts = {"questions": len(questions), "follow_ups": len(follow_ups),
                  "follow_ups_alone": len(follow_ups)}
        names = {"questions": "ask", "follow_ups": "follow-up", "follow_ups_alone": "follow-up"}
        items = ask_all(plan) if plan and not args.one_by_one else []
        for k, (where, q, prev) in enumerate(plan):
            item = items[k] if items else ask_one(q, prev)
            run[where].append(item)
            logged(f"{names[where]} {len(run[where])}/{counts[where]}"
                   + (" alone" if where == "follow_ups_alone" else ""), item)
    finally:
        if args.keep_data:
            log(f"[{set_name}] data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    analysis = aggregate_analyses(run["analyses"])
    if run["analyses"]:
        analysis.update(aggregate_reads(run.get("reads") or [], len(run["analyses"])))
    run["metrics"] = {"analysis": analysis,
                      "ask": aggregate_questions(run["questions"]),
                      "follow_up": aggregate_questions(run["follow_ups"]),
                      "follow_up_alone": aggregate_questions(run["follow_ups_alone"])}
    return run


def rescore_questions(run: dict, ask_prompt: PromptText | None) -> dict:
    """A stored run's answers scored again by today's rules (`--render`): a run written before a
    scoring change is shown as it scores now."""
    for key in ("questions", "follow_ups", "follow_ups_alone"):
        for it in run.get(key) or []:
            ok = bool(it.get("ok"))
            doc = {"answer": it.get("answer"), "excerpts": it.get("excerpts") or []}
            it["scores"] = score_question(doc if ok else None, it, ask_prompt, ok)
    metrics = run.setdefault("metrics", {})
    metrics["ask"] = aggregate_questions(run.get("questions") or [])
    metrics["follow_up"] = aggregate_questions(run.get("follow_ups") or [])
    metrics["follow_up_alone"] = aggregate_questions(run.get("follow_ups_alone") or [])
    return run


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, help="the hindsight binary")
    p.add_argument("--set", choices=["a", "b", "c", "d", "e", "f", "g", "l", "m", "both", "all", "long",
                                     "decisions"],
                   default="a",
                   help="a (dev), b, c, d, e and f (held out; e: decisions, Ask only in practice; "
                   "f: decisions, another person and voice); g: decisions, the development set for them; "
                   "decisions = e, f and g; l and m: long conversations (10-17k "
                   "characters; m held out); both = a and b; all = a, b, c and d; long = l and m")
    p.add_argument("--llm", default="builtin", help="'builtin' or a server base URL (default builtin)")
    p.add_argument("--builtin-model", help="passed through as --builtin-model NAME")
    p.add_argument("--model", help="server model name, passed through as --model NAME")
    p.add_argument("--analyses", type=int, help="analyse only N conversations (spread over sentiments)")
    p.add_argument("--conversations", nargs="+", metavar="TITLE_OR_ID",
                   help="analyse these conversations (titles or ids) instead of a sample")
    p.add_argument("--questions", type=int, help="ask only N questions (spread over kinds)")
    p.add_argument("--follow-ups", type=int, help="ask only the first N follow-up questions (0: none)")
    p.add_argument("--one-by-one", action="store_true",
                   help="one `analyze` per conversation and one `ask` per question (a binary "
                        "without batches), not one run for all")
    p.add_argument("--follow-ups-alone", action="store_true",
                   help="also ask each follow-up without its earlier question (the baseline)")
    p.add_argument("--out", type=Path, help="write every per-item result here (JSON)")
    p.add_argument("--markdown", type=Path, help="write the tables here too")
    p.add_argument("--label", help="row name in the table (default: the --llm value)")
    p.add_argument("--fixtures", type=Path, default=FIXTURES)
    p.add_argument("--prompt-file", type=Path, default=PROMPT_RS)
    p.add_argument("--ask-file", type=Path, default=ASK_RS)
    p.add_argument("--models-dir", type=Path, help="sets HINDSIGHT_MODELS_DIR for the runs")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per command (default 1800)")
    p.add_argument("--keep-data", action="store_true", help="keep the temporary data folders")
    p.add_argument("--render", nargs="+", type=Path, metavar="RESULTS",
                   help="only print the tables of earlier --out files (no run)")
    g = p.add_argument_group("thresholds (rates as fractions 0-1, or percentages > 1); exit 1 if missed")
    for flag, (section, metric, kind, rate) in THRESHOLDS.items():
        g.add_argument("--" + flag.replace("_", "-"), type=float, metavar="X",
                       help=f"{kind} {section} {metric}")
    args = p.parse_args(argv)
    if not args.render and not args.bin:
        p.error("--bin is required (or --render)")
    if args.label is None:
        args.label = args.llm if not args.builtin_model else f"{args.llm}:{args.builtin_model}"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    limits = {flag: getattr(args, flag) for flag in THRESHOLDS}
    if args.render:
        runs = []
        ask_prompt = (PromptText.from_rust(args.ask_file.read_text(), only_const="INSTRUCTIONS")
                      if args.ask_file.exists() else None)
        for path in args.render:
            runs += [rescore_questions(r, ask_prompt) for r in json.loads(path.read_text())["runs"]]
    else:
        if not Path(args.bin).exists():
            found = shutil.which(str(args.bin))
            if not found:
                print(f"eval_quality: no binary at {args.bin}", file=sys.stderr)
                return 2
            args.bin = Path(found)
        args.bin = Path(args.bin).resolve()
        prompt = PromptText.from_rust(args.prompt_file.read_text())
        ask_prompt = (PromptText.from_rust(args.ask_file.read_text(), only_const="INSTRUCTIONS")
                      if args.ask_file.exists() else None)
        sets = {"both": ["a", "b"], "all": ["a", "b", "c", "d"], "long": ["l", "m"],
                "decisions": ["e", "f", "g"]}.get(args.set, [args.set])
        runs = [run_set(args, s, prompt, ask_prompt) for s in sets]
        if args.out:
            args.out.write_text(json.dumps({"runs": runs}, indent=1, ensure_ascii=False) + "\n")
    table = markdown(runs)
    print(table, end="")
    if args.markdown:
        args.markdown.write_text(table)
    failures = [f for r in runs for f in check_thresholds(r, limits)]
    if failures:
        print("\nQUALITY BELOW THRESHOLD:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
