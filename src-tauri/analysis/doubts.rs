//! Checks an analysis against the conversation it describes, before it is stored. What fails
//! a check is kept (the person can read it) but marked "in doubt" with the reasons: the
//! Insights charts leave it out unless asked, and the panel says why. Checks are cheap and
//! lexical: a small model's failures are mostly visible as words that are not in the
//! conversation (a summary of something else, the instructions copied back), as a summary
//! that loops, or as a label that contradicts its own score. On the quality sets (8
//! analyses each, scripts/eval_quality.py): none of the Small model's 16 analyses is doubted;
//! 6 of the Tiny model's 8 on set A are, by these checks alone (BENCHMARKS.md).
use std::collections::HashSet;

use super::prompt::analyse_instructions;
use crate::llm::BuiltinChoice;
use crate::store::{Message, NewAnalysis, Sentiment};

/// Below this share of its words found in the conversation, a summary is taken as not about it.
/// Summaries by the Small model on the evaluation sets ground 0.8 to 1.0 of their words (they
/// paraphrase with the conversation's own words); a summary of the instructions grounds ~0.3.
const MIN_SUMMARY_GROUNDING: f32 = 0.5;

/// Words that say nothing about what a conversation was about (a summary's frame).
const FRAME_WORDS: [&str; 48] = [
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "they",
    "them",
    "their",
    "there",
    "about",
    "from",
    "into",
    "have",
    "has",
    "had",
    "was",
    "were",
    "are",
    "will",
    "would",
    "should",
    "could",
    "also",
    "then",
    "than",
    "been",
    "being",
    "which",
    "what",
    "when",
    "where",
    "user",
    "users",
    "assistant",
    "wants",
    "wanted",
    "asked",
    "asks",
    "discussed",
    "discuss",
    "decided",
    "suggested",
    "suggests",
    "mentioned",
    "conversation",
    "some",
    "more",
];

/// The lower-case words of `text` (runs of letters and digits).
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Lower-case words of three letters or more, frame words left out.
fn words(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3 && !FRAME_WORDS.contains(&w.as_str()))
        .collect()
}

/// A crude stem: the first five characters ("deciding" and "decided" meet at "decid").
fn stem(word: &str) -> String {
    word.chars().take(5).collect()
}

/// The share of `text`'s words whose stem occurs in `known` (1.0 when it has none).
fn grounding(text: &str, known: &HashSet<String>) -> f32 {
    let ws = words(text);
    if ws.is_empty() {
        return 1.0;
    }
    ws.iter().filter(|w| known.contains(&stem(w))).count() as f32 / ws.len() as f32
}

/// Whether `summary` repeats a run of eight words of the analysis instructions.
fn copies_instructions(summary: &str) -> bool {
    let summary = format!(" {} ", tokens(summary).join(" "));
    let instructions = tokens(&analyse_instructions());
    instructions
        .windows(8)
        .any(|run| summary.contains(&format!(" {} ", run.join(" "))))
}

/// Whether `summary` loops: a run of eight words occurring three times or more (a small
/// model's "I am glad to have you here. I am glad to have you here. …").
fn loops(summary: &str) -> bool {
    let words = tokens(summary);
    let mut seen: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    words.windows(8).any(|run| {
        let n = seen.entry(run).or_default();
        *n += 1;
        *n >= 3
    })
}

/// Why `analysis` (written by `model` about `messages`) should not be taken as fact; empty
/// when nothing is wrong with it.
pub fn doubts(analysis: &NewAnalysis, model: &str, messages: &[Message]) -> Vec<String> {
    let mut out = Vec::new();
    if model == BuiltinChoice::Tiny.spec().display_name() {
        out.push("written by the Tiny built-in model, which often gets conversations wrong".into());
    }
    let known: HashSet<String> = messages
        .iter()
        .flat_map(|m| words(&m.content))
        .map(|w| stem(&w))
        .collect();
    if copies_instructions(&analysis.summary) {
        out.push("the summary repeats the analysis instructions".into());
    } else if loops(&analysis.summary) {
        out.push("the summary repeats itself".into());
    } else if grounding(&analysis.summary, &known) < MIN_SUMMARY_GROUNDING {
        out.push("most of the summary's words are not in the conversation".into());
    }
    if !analysis.topics.is_empty()
        && analysis
            .topics
            .iter()
            .all(|t| words(t).iter().all(|w| !known.contains(&stem(w))))
    {
        out.push("none of its topics is mentioned in the conversation".into());
    }
    let score = analysis.sentiment_score;
    let contradicts = match analysis.sentiment {
        Sentiment::Positive => score < 0.0,
        Sentiment::Negative => score > 0.0,
        _ => false,
    };
    if contradicts {
        out.push(format!(
            "its sentiment ({}) contradicts its score ({score:+.2})",
            analysis.sentiment.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::store::Sender;

    fn message(text: &str) -> Message {
        Message::unstored("m", "c", Sender::User, text)
    }

    fn analysis(summary: &str, topics: &[&str], sentiment: Sentiment, score: f64) -> NewAnalysis {
        NewAnalysis {
            summary: summary.into(),
            sentiment,
            sentiment_score: score,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            key_points: Vec::new(),
            action_items: Vec::new(),
        }
    }

    fn porto() -> Vec<Message> {
        vec![
            message("We're going to Porto in April, where should we stay? Ribeira or Bonfim?"),
            message("Let's book Bonfim, it's quieter and cheaper than Ribeira."),
        ]
    }

    #[test]
    fn a_summary_in_the_conversations_words_is_not_doubted() {
        let a = analysis(
            "The user planned a Porto trip in April and decided to stay in Bonfim, quieter and cheaper than Ribeira.",
            &["porto", "travel"],
            Sentiment::Positive,
            0.6,
        );
        assert_eq!(
            doubts(&a, "Qwen2.5-Coder-0.5B-Instruct (built-in)", &porto()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_summary_of_something_else_the_instructions_or_a_contradiction_is_doubted() {
        let other = analysis(
            "I'm happy to help you with your baking recipe and sourdough starter today.",
            &["baking", "bread"],
            Sentiment::Positive,
            0.5,
        );
        let found = doubts(&other, "m", &porto());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("not in the conversation"));
        assert!(found[1].contains("topics"));

        let copied = analysis(
            "In your own words, what the user wanted and what was decided, in 2 to 4 sentences about Porto.",
            &["porto"],
            Sentiment::Neutral,
            0.0,
        );
        assert_eq!(
            doubts(&copied, "m", &porto()),
            vec!["the summary repeats the analysis instructions".to_string()]
        );

        let looping = analysis(
            "We chose Bonfim in Porto, I am glad to have you here. I am glad to have you here. I am glad to have you here. I am glad to have you here.",
            &["porto"],
            Sentiment::Neutral,
            0.0,
        );
        assert_eq!(
            doubts(&looping, "m", &porto()),
            vec!["the summary repeats itself".to_string()]
        );

        let contradiction = analysis(
            "They chose Bonfim in Porto.",
            &["porto"],
            Sentiment::Positive,
            -0.4,
        );
        assert_eq!(
            doubts(&contradiction, "m", &porto()),
            vec!["its sentiment (positive) contradicts its score (-0.40)".to_string()]
        );
    }

    #[test]
    fn the_tiny_models_analyses_are_always_in_doubt() {
        let a = analysis(
            "They chose Bonfim in Porto.",
            &["porto"],
            Sentiment::Neutral,
            0.0,
        );
        let tiny = BuiltinChoice::Tiny.spec().display_name();
        assert_eq!(doubts(&a, &tiny, &porto()).len(), 1);
    }
}
