#!/usr/bin/env python3
"""Unit tests of scripts/eval_quality.py on synthetic outputs (no hindsight build, no LLM).

    python3 scripts/test_eval_quality.py
"""
import json
import os
import stat
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_quality as eq  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTHING_FOUND = "I couldn't find anything about that in your history, so I won't guess."

PORTO_REF = {
    "conversation_id": "c1", "title": "Porto in April",
    "summary_facts": [["ribeira"], ["porto"], ["3 nights", "3 night"], ["cruise", "boat"]],
    "topics": [["travel", "trip"], ["porto", "portugal"], ["accommodation", "guesthouse"]],
    "action_items": [
        {"text": "book the Casa da Ribeira guesthouse tonight", "owner": "user"},
        {"text": "reserve the six bridges cruise for Saturday morning by Friday", "owner": "user"},
    ],
    "sentiment": "positive",
}

GOOD = {
    "summary": "The user planned a three-night trip to Porto with Tom in April and chose a guesthouse "
               "in Ribeira with a river balcony. They also picked the short six bridges boat cruise "
               "on Saturday morning.",
    "sentiment": "positive", "sentiment_score": 0.7,
    "topics": ["porto trip", "travel planning", "guesthouse booking"],
    "key_points": ["Staying at Casa da Ribeira for €120 a night", "Six bridges cruise on Saturday"],
    "action_items": [{"text": "Book Casa da Ribeira guesthouse tonight", "owner": "user"},
                     {"text": "Reserve the six bridges cruise by Friday", "owner": "user"}],
    "model": "test",
}

SHAPE_COPY = {
    "summary": "2-4 sentences",
    "sentiment": "positive", "sentiment_score": 0.0,
    "topics": ["short lower-case noun phrase"],
    "key_points": ["…"],
    "action_items": [{"text": "…", "owner": "unknown"}],
    "model": "test",
}


def prompt():
    return eq.PromptText.from_rust((ROOT / "src-tauri" / "analysis" / "prompt.rs").read_text())


class Normalisation(unittest.TestCase):
    def test_normalize(self):
        self.assertEqual(eq.normalize("£1,150 on the 5th of March"), "1150 on the 5 of march")
        self.assertEqual(eq.normalize("Inês couldn’t go"), "ines couldnt go")
        self.assertEqual(eq.normalize("16GB, 4.1kg, 56:40"), "16 gb 4 1 kg 56 40")
        self.assertEqual(eq.normalize("three nights"), "3 nights")
        self.assertEqual(eq.normalize("Ellie's room"), "ellie room")

    def test_stem_and_phrases(self):
        self.assertEqual(eq.stem("pads"), "pad")
        self.assertEqual(eq.stem("running"), "run")
        self.assertEqual(eq.stem("tomatoes"), "tomato")
        self.assertEqual(eq.stem("glasses"), "glass")
        self.assertTrue(eq.phrase_in("We stayed 3 nights in Ribeira.", "three night"))
        self.assertTrue(eq.phrase_in("Worn brake pads.", "brake pad"))
        self.assertFalse(eq.phrase_in("a 1850 quote", "185"))      # whole tokens only
        self.assertFalse(eq.phrase_in("Porto", "port"))


class AnalysisScoring(unittest.TestCase):
    def test_good_analysis_scores_high(self):
        s = eq.score_analysis(GOOD, PORTO_REF, prompt())
        self.assertTrue(s["valid"], s["problems"])
        self.assertEqual(s["fact_coverage"], 1.0)
        self.assertEqual(s["action_recall"], 1.0)
        self.assertEqual(s["action_precision"], 1.0)
        self.assertEqual(s["owner_agreement"], 1.0)
        self.assertEqual(s["topic_overlap"], 1.0)
        self.assertEqual(s["sentiment_exact"], 1.0)
        self.assertIsNone(s["copied_prompt"])
        self.assertIsNone(s["repeated"])

    def test_a_summary_pasted_from_the_messages_is_measured(self):
        messages = ["We fly out on Friday 17 April and come back on the Monday, so three nights.",
                    "Decision made, we're staying in Ribeira. I'll book it tonight before it goes."]
        own = eq.score_analysis(GOOD, PORTO_REF, prompt(), messages=messages)
        self.assertEqual(own["pasted"], 0.0)
        paste = dict(GOOD, summary="Decision made, we're staying in Ribeira. I'll book it tonight "
                                   "before it goes. A lovely trip.")
        p = eq.score_analysis(paste, PORTO_REF, prompt(), messages=messages)["pasted"]
        self.assertGreater(p, 0.8)
        self.assertLess(p, 1.0)
        self.assertIsNone(eq.score_analysis(GOOD, PORTO_REF, prompt())["pasted"])
        self.assertEqual(eq.pasted("too short to paste", messages), 0.0)

    def test_a_summary_in_the_first_or_second_person_is_caught(self):
        self.assertFalse(eq.score_analysis(GOOD, PORTO_REF, prompt())["spoken"])
        for text in ("Bonfim sounds like us.", "I found a flat.", "We're staying in Ribeira.",
                     "You should book early.", "The user asked if my plan works."):
            self.assertTrue(eq.spoken(text), text)
        for text in ("The user and Sam were flying to the US.", "They planned it well.",
                     "The user is ill."):
            self.assertFalse(eq.spoken(text), text)

    def test_copied_prompt_text_is_caught(self):
        s = eq.score_analysis(SHAPE_COPY, PORTO_REF, prompt())
        self.assertIsNotNone(s["copied_prompt"])
        self.assertEqual(s["fact_coverage"], 0.0)
        instructions = dict(GOOD, summary="You analyse a conversation between a user and an AI "
                                          "assistant and reply with one JSON object.")
        self.assertIn("summary", eq.score_analysis(instructions, PORTO_REF, prompt())["copied_prompt"])
        key_point = dict(GOOD, key_points=["only tasks someone promised to do, in a few words each"])
        self.assertIn("key_point", eq.score_analysis(key_point, PORTO_REF, prompt())["copied_prompt"])

    def test_repeated_lines_are_caught(self):
        twice = dict(GOOD, key_points=["Staying in Ribeira.", "staying in ribeira", "Cruise"])
        self.assertIn("key point", eq.repeated_lines(twice))
        loop = "They chose Ribeira because it has the best view of the river. " * 3
        self.assertIn("summary", eq.repeated_lines(dict(GOOD, summary=loop)))
        gram = ("we will book the guesthouse in ribeira tonight ok " * 3).strip()
        self.assertIsNotNone(eq.repeated_lines(dict(GOOD, summary=gram)))
        self.assertIsNone(eq.repeated_lines(GOOD))

    def test_wrong_facts_score_low(self):
        wrong = dict(GOOD, summary="The user planned a week in Lisbon and booked a hotel in Alfama.",
                     sentiment="negative", topics=["cooking"],
                     action_items=[{"text": "Buy a new phone", "owner": "user"}])
        s = eq.score_analysis(wrong, PORTO_REF, prompt())
        self.assertTrue(s["valid"])
        self.assertEqual(s["fact_coverage"], 0.0)
        self.assertEqual(s["topic_overlap"], 0.0)
        self.assertEqual(s["sentiment_exact"], 0.0)
        self.assertEqual(s["action_precision"], 0.0)
        self.assertEqual(s["action_recall"], 0.0)

    def test_invalid_and_failed(self):
        ok, problems = eq.validity(dict(GOOD, summary=" ", sentiment="happy", topics=[]))
        self.assertFalse(ok)
        self.assertEqual(len(problems), 3)
        s = eq.score_analysis(None, PORTO_REF, prompt(), ok=False)
        self.assertFalse(s["valid"])
        self.assertEqual((s["fact_coverage"], s["action_recall"], s["topic_overlap"]), (0.0, 0.0, 0.0))
        self.assertEqual(s["action_fn"], 2)

    def test_action_matching(self):
        ref = ["call the landlord on Monday", "book the ferry to Vigo by Friday"]
        pairs, p, r = eq.match_action_items(
            ["Book ferry to Vigo (Friday)", "Call landlord Monday", "Buy milk"], ref)
        self.assertEqual(sorted((i, j) for i, j, _ in pairs), [(0, 1), (1, 0)])
        self.assertAlmostEqual(p, 2 / 3)
        self.assertEqual(r, 1.0)
        # one-to-one: two near-copies of one reference item match it once
        pairs, p, r = eq.match_action_items(["call the landlord", "call landlord monday"], ref)
        self.assertEqual(len(pairs), 1)
        self.assertEqual((p, r), (0.5, 0.5))
        self.assertEqual(eq.match_action_items([], [])[1:], (1.0, 1.0))
        self.assertEqual(eq.match_action_items(["do something"], [])[1:], (0.0, 1.0))
        self.assertEqual(eq.match_action_items([], ref)[1:], (1.0, 0.0))
        # below the overlap threshold
        self.assertEqual(eq.match_action_items(["phone the plumber tomorrow"], ref)[0], [])

    def test_topics(self):
        ref = [["travel", "trip"], ["porto", "portugal"], ["budget"]]
        self.assertAlmostEqual(eq.topic_overlap(["Trips abroad", "Porto"], ref), 2 / 3)
        self.assertTrue(eq.topic_matches("porto", "porto trip"))    # either way round
        self.assertFalse(eq.topic_matches("port", "porto"))
        self.assertIsNone(eq.topic_overlap(["x"], []))

    def test_sentiment(self):
        self.assertEqual(eq.sentiment_scores("mixed", "mixed"), (1.0, 1.0))
        self.assertEqual(eq.sentiment_scores("mixed", "negative"), (0.0, 0.5))
        self.assertEqual(eq.sentiment_scores("positive", "mixed"), (0.0, 0.5))
        self.assertEqual(eq.sentiment_scores("neutral", "positive"), (0.0, 0.0))
        self.assertEqual(eq.sentiment_scores(None, "positive"), (0.0, 0.0))

    def test_aggregate(self):
        items = [{"ok": True, "seconds": 2.0, "scores": eq.score_analysis(GOOD, PORTO_REF, prompt())},
                 {"ok": False, "seconds": 4.0,
                  "scores": eq.score_analysis(None, PORTO_REF, prompt(), ok=False)}]
        m = eq.aggregate_analyses(items)
        self.assertEqual(m["valid"], 0.5)
        self.assertEqual(m["failed"], 1)
        self.assertEqual(m["fact_coverage"], 0.5)
        self.assertEqual(m["action_recall_micro"], 0.5)
        self.assertEqual(m["seconds_mean"], 3.0)


class RustLiterals(unittest.TestCase):
    def test_extraction(self):
        src = textwrap.dedent(r'''
            // a "comment" with quotes
            /* block "quoted" */
            const A: &str = "plain \"escaped\" text\n";
            const B: &str = r#"raw "json" {x}"#;
            fn f<'a>(c: char) -> bool { c == '"' || c == '\'' }
            const C: &str = "continued \
                             line";
            fn g(p: &str) -> String { format!("Problem: {p}. Shape: {SHAPE} and {{braces}}") }
        ''')
        lits = [v for _, v in eq.rust_string_literals(src)]
        self.assertEqual(lits, ['plain "escaped" text\n', 'raw "json" {x}', "continued line",
                                "Problem: {p}. Shape: {SHAPE} and {{braces}}"])
        self.assertEqual(eq.literal_segments(lits[3]), ["Problem: ", ". Shape: ", " and {braces}"])

    def test_real_prompt_has_instructions(self):
        p = prompt()
        self.assertGreater(len(p.ngrams), 50)
        self.assertIsNone(p.copied("Tom and the user decided to stay in Ribeira for three nights."))
        # A test's example below `#[cfg(test)]` is no prompt text.
        self.assertIsNone(p.copied("The user decided to take the flu vaccine and the covid booster."))
        only = eq.PromptText.from_rust('const A: &str = "one two three four five six seven";\n'
                                       '#[cfg(test)]\nmod t { const B: &str = "a b c d e f g"; }')
        self.assertIsNotNone(only.copied("one two three four five six"))
        self.assertIsNone(only.copied("a b c d e f g"))

    def test_ask_instructions(self):
        ask = eq.PromptText.from_rust((ROOT / "src-tauri" / "search" / "ask.rs").read_text(),
                                      only_const="INSTRUCTIONS")
        self.assertIsNotNone(ask.copied('Reply in JSON: "answer" is the answer in a few words.'))
        self.assertIsNone(ask.copied(NOTHING_FOUND))


EVIDENCE_Q = {"id": "a01", "kind": "fact", "question": "Where did we decide to stay in Porto?",
              "answer_any": [["ribeira"]], "evidence": ["m-stay"]}
NONE_Q = {"id": "a39", "kind": "no_answer", "question": "What's my dentist called?",
          "answer_any": [], "evidence": []}


def ask_result(answer, ids=("m-other", "m-stay")):
    return {"answer": answer, "excerpts": [{"message_id": i, "conversation_id": "c"} for i in ids]}


class AskScoring(unittest.TestCase):
    def test_citations(self):
        self.assertEqual(eq.parse_citations("Yes [1][3], see [2, 3] and [ 4 ]."), [1, 3, 2, 4])
        self.assertEqual(eq.parse_citations("no citations (1) here"), [])
        self.assertEqual(eq.strip_citations("Ribeira [2]."), "Ribeira  .")

    def test_answer_any(self):
        self.assertTrue(eq.answer_correct("You chose Ribeira [2].", [["ribeira"]]))
        self.assertTrue(eq.answer_correct("On Thursday, March 5th at 10am.", [["5", "march"]]))
        self.assertFalse(eq.answer_correct("In March [5].", [["5", "march"]]))   # a citation is no fact
        self.assertTrue(eq.answer_correct("It was 1:40 slower.", [["1 minute 40"], ["1 40"]]))
        self.assertFalse(eq.answer_correct("Nothing found.", []))

    def test_an_answer_naming_every_option_is_not_right(self):
        self.assertFalse(eq.answer_correct("Azores or Madeira [2]", [["madeira"]]))
        self.assertFalse(eq.answer_correct("Either Madeira or the Azores.", [["madeira"]]))
        self.assertTrue(eq.answer_correct("Madeira [2]", [["madeira"]]))
        # alternatives that are both the fact, or a long sentence that mentions an "or"
        self.assertTrue(eq.answer_correct("time zone or daylight saving", [["time zone"], ["daylight"]]))
        self.assertTrue(eq.answer_correct(
            "A test that fails in one hour is almost always a time zone or daylight-saving problem",
            [["time zone"]]))

    def test_correct_and_cited(self):
        s = eq.score_question(ask_result("You decided on Ribeira [2]."), EVIDENCE_Q)
        self.assertTrue(s["correct"])
        self.assertTrue(s["citation_ok"])
        self.assertTrue(s["retrieval_hit"])
        self.assertEqual(s["evidence_rank"], 2)

    def test_wrong_citation_and_uncited(self):
        s = eq.score_question(ask_result("You decided on Ribeira [1]."), EVIDENCE_Q)
        self.assertTrue(s["correct"])
        self.assertFalse(s["citation_ok"])
        s = eq.score_question(ask_result("You decided on Ribeira [7]."), EVIDENCE_Q)
        self.assertFalse(s["citation_ok"])
        self.assertEqual(s["cited_out_of_range"], [7])
        s = eq.score_question(ask_result("Ribeira."), EVIDENCE_Q)
        self.assertIsNone(s["citation_ok"])
        s = eq.score_question(ask_result("Cedofeita [1].", ids=("m-x",)), EVIDENCE_Q)
        self.assertFalse(s["correct"])
        self.assertFalse(s["retrieval_hit"])

    def test_no_answer_honesty(self):
        self.assertTrue(eq.score_question({"answer": NOTHING_FOUND, "excerpts": []}, NONE_Q)["honest"])
        for answer in ("Your history doesn't mention a dentist.",
                       "I don't know, there is no information about that.",
                       "There's no record of your dentist in these excerpts."):
            self.assertTrue(eq.score_question(ask_result(answer), NONE_Q)["honest"], answer)
        # a hallucinated answer, or an "honest" one that still cites something
        self.assertFalse(eq.score_question(ask_result("Your dentist is Dr Patel [1]."), NONE_Q)["honest"])
        self.assertFalse(eq.score_question(ask_result("Nothing relevant, but see [1]."), NONE_Q)["honest"])
        self.assertFalse(eq.score_question(None, NONE_Q, ok=False)["honest"])

    def test_refusal_on_answerable(self):
        s = eq.score_question({"answer": NOTHING_FOUND, "excerpts": []}, EVIDENCE_Q)
        self.assertFalse(s["correct"])
        self.assertTrue(s["refused"])

    def test_aggregate(self):
        items = [
            {"kind": "fact", "ok": True, "seconds": 1.0,
             "scores": eq.score_question(ask_result("Ribeira [2]."), EVIDENCE_Q)},
            {"kind": "paraphrase", "ok": True, "seconds": 3.0,
             "scores": eq.score_question(ask_result("Cedofeita [1]."), EVIDENCE_Q)},
            {"kind": "no_answer", "ok": True, "seconds": 2.0,
             "scores": eq.score_question({"answer": NOTHING_FOUND, "excerpts": []}, NONE_Q)},
        ]
        m = eq.aggregate_questions(items)
        self.assertEqual(m["accuracy"], 0.5)
        self.assertEqual(m["cited_any"], 1.0)
        self.assertEqual(m["citation_accuracy"], 0.5)
        self.assertEqual(m["retrieval_hit"], 1.0)
        self.assertEqual(m["no_answer_honesty"], 1.0)
        self.assertEqual(m["per_kind"]["fact"], {"n": 1, "accuracy": 1.0})
        self.assertEqual(m["per_kind"]["paraphrase"]["accuracy"], 0.0)
        self.assertEqual(m["seconds_mean"], 2.0)


class ThresholdsAndTables(unittest.TestCase):
    RUN = {"set": "a", "label": "test",
           "metrics": {"analysis": {"n": 2, "valid": 0.9, "repeated": 0.1, "seconds_mean": 12.0},
                       "ask": {"n": 3, "accuracy": 0.4, "per_kind": {"fact": {"n": 1, "accuracy": 1.0}}}}}

    def test_thresholds(self):
        self.assertEqual(eq.check_thresholds(self.RUN, {"min_valid": 0.9, "max_repeated": 10}), [])
        fails = eq.check_thresholds(self.RUN, {"min_valid": 95, "min_ask_accuracy": 0.5,
                                               "max_seconds_per_analysis": 10,
                                               "min_no_answer": 0.5, "min_facts": None})
        self.assertEqual(len(fails), 4, fails)
        self.assertTrue(any("not measured" in f for f in fails))
        self.assertTrue(any("--min-valid" in f for f in fails))

    def test_markdown(self):
        table = eq.markdown([self.RUN])
        self.assertIn("| a | test | 2 | 90 | – |", table)
        self.assertIn("| a | test | 100 (1) | – |", table)

    def test_reads_logged(self):
        with tempfile.TemporaryDirectory() as d:
            logs = Path(d)
            (logs / "hindsight.log.1").write_text(
                "x INFO hindsight::analysis: analysis read as_written=false retried=false\n")
            (logs / "hindsight.log").write_text(
                "x INFO hindsight::search: ask answered\n"
                "x INFO hindsight::analysis: analysis read as_written=true retried=false\n"
                "x INFO hindsight::analysis: analysis read as_written=true retried=true\n")
            reads = eq.reads_logged(logs)
        self.assertEqual(len(reads), 3)
        agg = eq.aggregate_reads(reads)
        self.assertEqual((agg["requests"], agg["retried"]), (3, 1))
        self.assertAlmostEqual(agg["as_written"], 1 / 3)
        self.assertEqual(eq.aggregate_reads([])["as_written"], None)
        # Two analyses took three requests (a long conversation's part and merge count each).
        per = eq.aggregate_reads(reads, 2)
        self.assertEqual(per["requests_per_analysis"], 1.5)
        self.assertTrue(eq.check_thresholds({"set": "l", "metrics": {"analysis": per}},
                                            {"max_requests_per_analysis": 1}))
        self.assertFalse(eq.check_thresholds(
            {"set": "l", "metrics": {"analysis": eq.aggregate_reads(reads, 3)}},
            {"max_requests_per_analysis": 1}))
        self.assertTrue(eq.check_thresholds({"set": "a", "metrics": {"analysis": agg}},
                                            {"min_as_written": 1.0}))

    def test_round_robin(self):
        items = [{"k": k, "i": i} for i, k in enumerate("aaaabbc")]
        picked = eq.pick_round_robin(items, "k", 4)
        self.assertEqual([x["i"] for x in picked], [0, 1, 4, 6])
        self.assertEqual(len(eq.pick_round_robin(items, "k", None)), 7)


FAKE_BIN = r'''#!PYTHON
"""A stand-in for the hindsight CLI: an oracle built from the references (or a failing one)."""
import json, os, shutil, sys
args = sys.argv[1:]
data = args[args.index("--data-dir") + 1]
cmd = args[2]
refs = json.load(open(os.environ["FAKE_REFS"]))
if os.environ.get("FAKE_FAIL") and cmd in ("analyze", "ask"):
    sys.stderr.write('{"error": {"code": "llm", "message": "server unreachable"}}\n')
    sys.exit(1)
if cmd in ("analyze", "ask"):
    assert "--builtin" in args and args[args.index("--builtin-model") + 1] == "tiny", args
if cmd == "import":
    shutil.copy(args[3], os.path.join(data, "history.json"))
    print(json.dumps({"format": "hindsight", "conversations_added": 1}))
elif cmd == "embed":
    print(json.dumps({"embedded": 1, "failed": 0}))
elif cmd == "analyze":
    # like the real CLI: every id up to the first flag, one analysis each
    ids = args[3:next(i for i, a in enumerate(args) if i > 3 and a.startswith("--"))]
    analysed = []
    for cid in ids:
        ref = next(a for a in refs["analyses"] if a["conversation_id"] == cid)
        analysed.append({"conversation_id": cid,
                         "summary": "They talked. " + ". ".join(f[0] for f in ref["summary_facts"]) + ".",
                         "sentiment": ref["sentiment"], "sentiment_score": 0.1,
                         "topics": [t[0] for t in ref["topics"]], "key_points": ["A fact"],
                         "action_items": [dict(a, id=i, done=False)
                                          for i, a in enumerate(ref["action_items"])],
                         "model": "oracle"})
    # like the real CLI: a log line per answer read; the last one took the retry
    os.makedirs(os.path.join(data, "logs"), exist_ok=True)
    with open(os.path.join(data, "logs", "hindsight.log"), "a") as f:
        for k in range(len(ids)):
            retried = "true" if k == len(ids) - 1 else "false"
            f.write(f"2026-12-03T10:00:00Z  INFO main hindsight::analysis: analysis read "
                    f"as_written=true retried={retried}\n")
    print(json.dumps({"analysed": analysed, "failed": []}))
elif cmd == "ask":
    def answer(question, previous):
        q = next(q for q in refs["questions"] + refs["follow_ups"] if q["question"] == question)
        # a follow-up is found only with the question it follows up on, as in the window's thread
        alone = q["kind"] == "follow_up" and previous is None
        if q["kind"] == "follow_up" and not alone:
            assert previous == q["after"], (question, previous)
        if q["kind"] == "no_answer" or alone:
            return {"answer": "I couldn't find anything about that in your history, so I won't guess.",
                    "excerpts": []}
        ex = [{"message_id": m, "conversation_id": "c", "similarity": 0.5, "title": "t"} for m in q["evidence"]]
        return {"answer": " and ".join(q["answer_any"][0]) + " [1].", "excerpts": ex}
    if "--questions" in args:
        # like the real CLI: one JSON line per question of the file, in order
        for line in open(args[args.index("--questions") + 1]):
            q = json.loads(line)
            print(json.dumps(dict(answer(q["question"], q.get("previous")), question=q["question"],
                                  previous=q.get("previous"), seconds=0.5)))
    else:
        previous = args[args.index("--previous") + 1] if "--previous" in args else None
        print(json.dumps(answer(args[3], previous)))
'''


class EndToEndWithFakeBinary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.bin = self.dir / "hindsight"
        self.bin.write_text(FAKE_BIN.replace("PYTHON", sys.executable))
        self.bin.chmod(self.bin.stat().st_mode | stat.S_IEXEC)
        os.environ["FAKE_REFS"] = str(ROOT / "tests" / "fixtures" / "quality" / "set_b_refs.json")

    def tearDown(self):
        os.environ.pop("FAKE_FAIL", None)
        self.tmp.cleanup()

    def run_eval(self, *extra):
        out, md = self.dir / "r.json", self.dir / "t.md"
        argv = ["--bin", str(self.bin), "--set", "b", "--llm", "builtin", "--builtin-model", "tiny",
                "--analyses", "5", "--questions", "6", "--out", str(out), "--markdown", str(md),
                "--label", "oracle", *extra]
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")
        try:
            code = eq.main(argv)
        finally:
            sys.stdout.close()
            sys.stdout, sys.stderr = stdout, stderr
        return code, json.loads(out.read_text()), md.read_text()

    def test_oracle_passes_thresholds(self):
        code, results, table = self.run_eval("--min-valid", "1", "--min-facts", "0.99",
                                             "--min-action-recall", "1", "--min-ask-accuracy", "1",
                                             "--min-citation-accuracy", "1", "--min-no-answer", "1")
        self.assertEqual(code, 0)
        run = results["runs"][0]
        self.assertEqual(run["metrics"]["analysis"]["n"], 5)
        self.assertEqual(run["metrics"]["ask"]["n"], 6)
        self.assertEqual(run["metrics"]["analysis"]["sentiment_exact"], 1.0)
        self.assertEqual(run["metrics"]["analysis"]["requests"], 5)
        self.assertEqual(run["metrics"]["analysis"]["retried"], 1)
        self.assertAlmostEqual(run["metrics"]["analysis"]["as_written"], 0.8)
        self.assertEqual(run["metrics"]["analysis"]["copied_prompt"], 0.0)
        self.assertEqual(set(run["metrics"]["ask"]["per_kind"]), set(eq.KINDS))
        self.assertIn("| b | oracle | 5 | 100 | 80 | 100 |", table)
        self.assertFalse(Path(run["data_dir"]).exists())

    def test_one_analyze_for_all_scores_as_one_per_conversation(self):
        _, batch, _ = self.run_eval("--questions", "0")
        _, single, _ = self.run_eval("--questions", "0", "--one-by-one")
        for results in (batch, single):
            self.assertEqual(results["runs"][0]["metrics"]["analysis"]["valid"], 1.0)
        self.assertEqual([a["scores"] for a in batch["runs"][0]["analyses"]],
                         [a["scores"] for a in single["runs"][0]["analyses"]])

    def test_one_ask_for_all_scores_as_one_per_question(self):
        _, batch, _ = self.run_eval("--analyses", "0", "--follow-ups", "3", "--follow-ups-alone")
        _, single, _ = self.run_eval("--analyses", "0", "--follow-ups", "3", "--follow-ups-alone",
                                     "--one-by-one")
        for part in ("questions", "follow_ups", "follow_ups_alone"):
            got = [(q["id"], q["previous"], q["ok"], q["scores"]) for q in batch["runs"][0][part]]
            want = [(q["id"], q["previous"], q["ok"], q["scores"]) for q in single["runs"][0][part]]
            self.assertEqual(got, want, part)
            self.assertTrue(got, part)
        self.assertEqual(batch["runs"][0]["questions"][0]["seconds"], 0.5, "each answer's own time")

    def test_follow_ups_are_asked_after_their_question_and_alone(self):
        code, results, table = self.run_eval("--follow-ups", "3", "--follow-ups-alone",
                                             "--min-follow-up-accuracy", "1")
        self.assertEqual(code, 0)
        run = results["runs"][0]
        self.assertEqual(run["metrics"]["follow_up"]["n"], 3)
        self.assertEqual(run["metrics"]["follow_up"]["accuracy"], 1.0)
        self.assertEqual(run["metrics"]["follow_up_alone"]["accuracy"], 0.0)
        self.assertEqual(run["follow_ups"][0]["previous"], "What opening does Gerald always play against me?")
        self.assertIsNone(run["follow_ups_alone"][0]["previous"])
        self.assertIn("| b | oracle | 3 | 100 | 100 | 100 | 0 | 0 |", table)
        code, _, _ = self.run_eval("--follow-ups", "0", "--min-follow-up-accuracy", "0.5")
        self.assertEqual(code, 1)

    def test_failing_binary_is_invalid_and_fails_thresholds(self):
        os.environ["FAKE_FAIL"] = "1"
        code, results, _ = self.run_eval("--min-valid", "0.5")
        self.assertEqual(code, 1)
        run = results["runs"][0]
        self.assertEqual(run["metrics"]["analysis"]["valid"], 0.0)
        self.assertIn("server unreachable", run["analyses"][0]["stderr"])
        self.assertEqual(run["metrics"]["ask"]["accuracy"], 0.0)
        self.assertEqual(run["metrics"]["ask"]["no_answer_honesty"], 0.0)


class Fixtures(unittest.TestCase):
    def test_references_match_histories(self):
        for s in "ab":
            d = ROOT / "tests" / "fixtures" / "quality"
            history = json.loads((d / f"set_{s}_history.json").read_text())
            refs = json.loads((d / f"set_{s}_refs.json").read_text())
            ids = {m["id"] for c in history["conversations"] for m in c["messages"]}
            convs = {c["id"] for c in history["conversations"]}
            self.assertEqual({a["conversation_id"] for a in refs["analyses"]}, convs)
            for q in refs["questions"]:
                self.assertTrue(set(q["evidence"]) <= ids, q["id"])
                self.assertEqual(q["kind"] == "no_answer", not q["answer_any"], q["id"])
            self.assertGreaterEqual(len(refs["follow_ups"]), 8)
            for q in refs["follow_ups"]:
                self.assertTrue(q["evidence"] and set(q["evidence"]) <= ids, q["id"])
                self.assertTrue(q["after"] and q["answer_any"], q["id"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
