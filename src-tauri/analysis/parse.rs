//! Reads an analysis out of what a model wrote, tolerantly: code fences, prose around the JSON,
//! trailing commas and truncated JSON are repaired by `llm_json`; near-miss types are coerced
//! (a score given as a string, topics as one comma-separated string, action items as plain
//! strings). What cannot be read is an error that names the problem, for the retry prompt.
use serde_json::{Map, Value};

use crate::store::{NewActionItem, NewAnalysis, Owner, Sentiment};

const MAX_TOPICS: usize = 8;
const MAX_POINTS: usize = 10;
const MAX_ITEMS: usize = 15;
const MAX_TOPIC_CHARS: usize = 60;
const MAX_LINE_CHARS: usize = 500;
const MAX_SUMMARY_CHARS: usize = 2000;

/// Parses a model's answer into an analysis, or says what is wrong with it.
pub fn parse_analysis(raw: &str) -> Result<NewAnalysis, String> {
    let text = strip_thinking(raw).trim();
    if text.is_empty() {
        return Err("the answer was empty".into());
    }
    let value = llm_json::loads(text, &llm_json::RepairOptions::default())
        .map_err(|e| format!("the answer is not JSON ({e})"))?;
    let obj = match value {
        Value::Object(o) => o,
        Value::Array(mut a) if a.len() == 1 && a[0].is_object() => match a.remove(0) {
            Value::Object(o) => o,
            _ => return Err("the answer is not a JSON object".into()),
        },
        _ => return Err("the answer is not a JSON object".into()),
    };
    from_object(&obj, prose_summary(text))
}

/// Whether `raw` is a JSON object exactly as written: nothing around it, nothing to repair.
pub fn is_plain_json_object(raw: &str) -> bool {
    serde_json::from_str::<Value>(raw.trim()).is_ok_and(|v| v.is_object())
}

/// A summary written as prose beside the JSON ("Summary: …" on a line of its own): a small
/// model that copied the shape's example into the JSON often writes its real summary after it.
fn prose_summary(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let l = line
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '#' | '*' | '-' | '>'));
        let rest = l
            .strip_prefix("Summary")
            .or_else(|| l.strip_prefix("summary"))?;
        let rest = rest
            .trim_start_matches('*')
            .trim_start()
            .strip_prefix(':')?;
        let rest = rest.trim().trim_matches('*').trim();
        (!is_placeholder(rest)).then(|| rest.to_owned())
    })
}

/// Reasoning models may think aloud first (`<think>…</think>`); only what follows counts.
fn strip_thinking(raw: &str) -> &str {
    match raw.rfind("</think>") {
        Some(i) => &raw[i + "</think>".len()..],
        None => raw,
    }
}

fn field<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| obj.get(*n))
        .filter(|v| !v.is_null())
}

/// The example values of the shape shown to the model: a small model sometimes copies them. So
/// it does the schema's own key names: Small ended set E's broadband analysis with the key
/// point "key_points".
const PLACEHOLDERS: &[&str] = &[
    "key_points",
    "action_items",
    "sentiment_score",
    "2-4 sentences",
    "short lower-case noun phrase",
    "up to 6 short lower-case noun phrases",
    "…",
    "...",
    "positive|neutral|negative|mixed",
    "user|ai|unknown",
    "<your summary>",
    "your summary",
    "<topic>",
    "topic",
    "<point>",
    "point",
    "<task>",
    "task",
];

fn is_placeholder(s: &str) -> bool {
    let s = s
        .trim()
        .trim_end_matches('.')
        .trim_matches(['<', '>'])
        .to_lowercase();
    s.is_empty()
        || PLACEHOLDERS
            .iter()
            .any(|p| p.trim_matches(['<', '>']) == s.as_str())
}

/// Drops a sentence that repeats the one before it (small models loop).
fn collapse_repeats(s: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for sentence in s.split_inclusive(['.', '!', '?']) {
        let t = sentence.trim();
        if out.last().is_some_and(|last| last.trim() == t) {
            continue;
        }
        out.push(sentence);
    }
    out.concat()
}

fn clip(s: &str, max: usize) -> String {
    let s = collapse_repeats(&s.split_whitespace().collect::<Vec<_>>().join(" "));
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn from_object(
    obj: &Map<String, Value>,
    prose_summary: Option<String>,
) -> Result<NewAnalysis, String> {
    let summary = match field(obj, &["summary", "Summary", "overview"]) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(_) => return Err("`summary` must be a string".into()),
        None => String::new(),
    };
    // A copied example is no summary; one written as prose beside the JSON is.
    let summary = if is_placeholder(&summary) {
        prose_summary.unwrap_or_default()
    } else {
        summary
    };
    let (sentiment, score) = sentiment(obj)?;
    let topics = string_list(obj, &["topics", "Topics", "tags"], "topics")?
        .into_iter()
        .map(|t| {
            clip(
                t.trim_matches(|c: char| c == '#' || c.is_whitespace()),
                MAX_TOPIC_CHARS,
            )
            .to_lowercase()
        })
        .filter(|t| !is_placeholder(t));
    let topics = dedupe(topics, MAX_TOPICS);
    let key_points = dedupe(
        string_list(
            obj,
            &["key_points", "keyPoints", "key points", "points"],
            "key_points",
        )?
        .into_iter()
        .filter(|p| !is_placeholder(p))
        .map(|p| clip(&p, MAX_LINE_CHARS)),
        MAX_POINTS,
    );
    let action_items = action_items(obj)?;
    // A model that skipped the summary but wrote key points: they are the summary.
    let summary = if summary.trim().is_empty() {
        if key_points.is_empty() {
            return Err("`summary` is missing or empty".into());
        }
        key_points
            .iter()
            .take(3)
            .map(|p| {
                let p = p.trim();
                if p.ends_with(['.', '!', '?']) {
                    p.to_owned()
                } else {
                    format!("{p}.")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        summary
    };
    Ok(NewAnalysis {
        summary: clip(&summary, MAX_SUMMARY_CHARS),
        sentiment,
        sentiment_score: score,
        topics,
        key_points,
        action_items,
    })
}

fn dedupe(items: impl Iterator<Item = String>, max: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
        .take(max)
        .collect()
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn sentiment(obj: &Map<String, Value>) -> Result<(Sentiment, f64), String> {
    // `sentiment` may be a label, a number, or an object {label, score}.
    let raw = field(obj, &["sentiment", "Sentiment", "mood"]);
    let (label_value, mut score) = match raw {
        Some(Value::Object(o)) => (
            field(o, &["label", "sentiment", "value"]).cloned(),
            field(o, &["score"]).and_then(number),
        ),
        Some(v) => (Some(v.clone()), None),
        None => (None, None),
    };
    if score.is_none() {
        score = field(obj, &["sentiment_score", "sentimentScore", "score"]).and_then(number);
    }
    let label = match &label_value {
        Some(Value::String(s)) => {
            let s = s.to_lowercase();
            // "very positive", "Mostly negative." …: the first label word that appears.
            let found = [
                ("mixed", Sentiment::Mixed),
                ("negative", Sentiment::Negative),
                ("positive", Sentiment::Positive),
                ("neutral", Sentiment::Neutral),
            ]
            .into_iter()
            .filter_map(|(w, l)| s.find(w).map(|i| (i, l)))
            .min_by_key(|(i, _)| *i)
            .map(|(_, l)| l);
            match found {
                Some(l) => Some(l),
                None => {
                    return Err(format!(
                        "`sentiment` {s:?} is not one of positive, neutral, negative, mixed"
                    ))
                }
            }
        }
        Some(v @ Value::Number(_)) => {
            score = score.or_else(|| number(v));
            None
        }
        Some(_) => return Err("`sentiment` must be a string".into()),
        None => None,
    };
    // A score slightly outside [-1, 1] is clamped; one on another scale (0–10, 0–100) means
    // nothing here: the label decides, and without a label the answer is unusable.
    if let Some(s) = score {
        if !(-1.5..=1.5).contains(&s) {
            if label.is_none() {
                return Err(format!("`sentiment_score` {s} is not in [-1, 1]"));
            }
            score = None;
        }
    }
    let score = score.map(|s| s.clamp(-1.0, 1.0));
    match (label, score) {
        (Some(l), Some(s)) => Ok((l, s)),
        (Some(l), None) => Ok((
            l,
            match l {
                Sentiment::Positive => 0.6,
                Sentiment::Negative => -0.6,
                Sentiment::Neutral | Sentiment::Mixed => 0.0,
            },
        )),
        (None, Some(s)) => Ok((
            if s > 0.25 {
                Sentiment::Positive
            } else if s < -0.25 {
                Sentiment::Negative
            } else {
                Sentiment::Neutral
            },
            s,
        )),
        (None, None) => Err("`sentiment` is missing".into()),
    }
}

/// A list of strings; also accepts one string of comma/semicolon/newline separated parts and
/// objects with a text-like field. A missing list is empty.
fn string_list(
    obj: &Map<String, Value>,
    names: &[&str],
    what: &str,
) -> Result<Vec<String>, String> {
    match field(obj, names) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split([',', ';', '\n'])
            .map(|p| {
                p.trim()
                    .trim_start_matches(['-', '*', '•'])
                    .trim()
                    .to_owned()
            })
            .filter(|p| !p.is_empty())
            .collect()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Object(o) => field(o, &["text", "name", "topic", "point", "title"])
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_owned()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect()),
        Some(_) => Err(format!("`{what}` must be a list of strings")),
    }
}

fn owner(v: Option<&Value>) -> Owner {
    let Some(s) = v.and_then(Value::as_str) else {
        return Owner::Unknown;
    };
    match s.trim().to_lowercase().as_str() {
        "user" | "me" | "i" | "human" | "you" | "person" => Owner::User,
        "ai" | "assistant" | "bot" | "model" | "hindsight" => Owner::Ai,
        _ => Owner::Unknown,
    }
}

fn action_items(obj: &Map<String, Value>) -> Result<Vec<NewActionItem>, String> {
    let items = match field(
        obj,
        &[
            "action_items",
            "actionItems",
            "action items",
            "actions",
            "todos",
        ],
    ) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => s.split('\n').map(|l| Value::String(l.to_owned())).collect(),
        Some(_) => return Err("`action_items` must be a list".into()),
    };
    let mut seen = std::collections::HashSet::new();
    Ok(items
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(NewActionItem {
                text: s.clone(),
                owner: Owner::Unknown,
            }),
            Value::Object(o) => field(o, &["text", "task", "item", "description", "action"])
                .and_then(Value::as_str)
                .map(|t| NewActionItem {
                    text: t.to_owned(),
                    owner: owner(field(o, &["owner", "assignee", "who"])),
                }),
            _ => None,
        })
        .map(|i| NewActionItem {
            text: clip(
                i.text.trim().trim_start_matches(['-', '*', '•']).trim(),
                MAX_LINE_CHARS,
            ),
            owner: i.owner,
        })
        .filter(|i| !is_placeholder(&i.text) && seen.insert(i.text.to_lowercase()))
        .take(MAX_ITEMS)
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fenced_json_with_prose_and_trailing_commas() {
        let raw = "Sure! Here is the analysis:\n```json\n{\"summary\": \"Planned a trip.\", \"topics\": [\"Travel\", \"travel\", \"Lisbon\",], \"sentiment\": \"Positive\", \"sentiment_score\": 0.7, \"action_items\": [], \"key_points\": [\"Stay in Baixa\"],}\n```\nHope this helps.";
        let a = parse_analysis(raw).unwrap();
        assert_eq!(a.summary, "Planned a trip.");
        assert_eq!(a.topics, vec!["travel", "lisbon"]);
        assert_eq!(a.sentiment, Sentiment::Positive);
        assert_eq!(a.key_points, vec!["Stay in Baixa"]);
    }

    #[test]
    fn truncated_json_is_closed() {
        let raw = r#"{"summary": "Fixed a flaky test.", "sentiment": "mixed", "sentiment_score": 0.1, "topics": ["testing", "ci"#;
        let a = parse_analysis(raw).unwrap();
        assert_eq!(a.sentiment, Sentiment::Mixed);
        assert_eq!(a.topics[0], "testing");
    }

    #[test]
    fn near_miss_types_are_coerced() {
        let raw = r#"{"summary": "S.", "sentiment": {"label": "very negative", "score": "-0.8"},
            "topics": "Tax forms, deadlines", "action_items": ["File the W-2",
            {"task": "Send receipts", "owner": "assistant"}]}"#;
        let a = parse_analysis(raw).unwrap();
        assert_eq!(a.sentiment, Sentiment::Negative);
        assert!((a.sentiment_score + 0.8).abs() < 1e-9);
        assert_eq!(a.topics, vec!["tax forms", "deadlines"]);
        assert_eq!(a.action_items.len(), 2);
        assert_eq!(a.action_items[1].owner, Owner::Ai);
    }

    #[test]
    fn a_summary_written_as_prose_after_a_copied_shape_is_used() {
        // SmolLM2-135M (the built-in model), verbatim.
        let raw = r#"{"sentiment": "positive|neutral|negative|mixed", "sentiment_score": 0.0, "topics": ["short lower-case noun phrase"], "summary": "2-4 sentences", "key_points": ["…"], "action_items": [{"text": "The capital of France is Paris. The answer is Paris.", "owner": "user|ai|unknown"}]}

Summary: The answer to the question "What is the capital of France?" is Paris."#;
        let a = parse_analysis(raw).unwrap();
        assert_eq!(
            a.summary,
            r#"The answer to the question "What is the capital of France?" is Paris."#
        );
        assert!(a.topics.is_empty() && a.key_points.is_empty());
        let a = parse_analysis(
            r#"{"summary": "Switching broadband.", "sentiment": "neutral", "key_points": ["Pure Telecom it is", "key_points"], "topics": ["action_items", "broadband"]}"#,
        )
        .unwrap();
        assert_eq!(a.key_points, ["Pure Telecom it is"]);
        assert_eq!(a.topics, ["broadband"]);
        // Only a line of its own counts, and a copied example there is no summary either.
        assert!(parse_analysis(r#"{"summary": "…"} The summary: none"#).is_err());
        assert!(parse_analysis("{\"summary\": \"…\"}\n**Summary:** 2-4 sentences").is_err());
    }

    #[test]
    fn copied_examples_and_loops_are_cleaned() {
        let raw = r#"{"sentiment": "neutral", "sentiment_score": 0, "topics": ["up to 6 short lower-case noun phrases", "moving"],
            "summary": "2-4 sentences", "key_points": ["Book a van. Book a van. Book a van. Then pack.", "…"],
            "action_items": [{"text": "…", "owner": "user|ai|unknown"}]}"#;
        let a = parse_analysis(raw).unwrap();
        assert_eq!(a.topics, vec!["moving"]);
        assert_eq!(a.key_points, vec!["Book a van. Then pack."]);
        assert_eq!(a.summary, "Book a van. Then pack.", "key points stand in");
        assert!(a.action_items.is_empty());
    }

    #[test]
    fn json_as_written_is_told_from_json_the_parser_repaired() {
        assert!(is_plain_json_object(" {\"summary\": \"x\"}\n"));
        let repaired = [
            "```json\n{\"summary\": \"x\"}\n```",
            "{\"summary\": \"x\",}",
            "{\"summary\": \"x",
            "[{}]",
        ];
        for raw in repaired {
            assert!(!is_plain_json_object(raw), "{raw}");
        }
    }

    #[test]
    fn unusable_answers_say_why() {
        assert!(parse_analysis("I cannot help with that.").is_err());
        assert!(parse_analysis("").is_err());
        assert!(parse_analysis(r#"{"summary": 5, "sentiment": "positive"}"#)
            .unwrap_err()
            .contains("summary"));
        assert!(
            parse_analysis(r#"{"summary": "", "sentiment": "positive"}"#)
                .unwrap_err()
                .contains("summary")
        );
        // …unless key points can stand in for it.
        let a = parse_analysis(
            r#"{"summary": "", "sentiment": "neutral", "key_points": ["Book a van", "Tell the landlord"]}"#,
        )
        .unwrap();
        assert_eq!(a.summary, "Book a van. Tell the landlord.");
        assert!(parse_analysis(r#"{"summary": "x", "sentiment": "happy"}"#)
            .unwrap_err()
            .contains("sentiment"));
        assert!(parse_analysis(r#"{"summary": "x", "sentiment_score": 7}"#)
            .unwrap_err()
            .contains("[-1, 1]"));
    }
}
