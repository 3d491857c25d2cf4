//! Edits of a model's summary by sentence and clause. A 0.5B model pastes the person's
//! questions into its summary ("They found a flat on Rua do Heroísmo for €95 a night, is that
//! near the metro?"); a summary says what happened, so a question copied from the conversation
//! goes, and the rest of its sentence stays. A summary the schema's length limit cut off
//! mid-sentence ends at its last full one.
use crate::search::choice::words;
use crate::store::Message;

/// The sentences of `text`, each with its closing mark ("Planned a trip.", "Is it far?"). A
/// full stop inside a number ("€95.50", "2.5") ends nothing.
pub(super) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        // A small model may run on in another script without a space ("…worth.保险,").
        let ends = next.is_none_or(|n| n.is_whitespace() || (n.is_alphabetic() && !n.is_ascii()));
        if matches!(c, '.' | '!' | '?') && ends {
            let end = i + c.len_utf8();
            out.push(text[start..end].trim());
            start = end;
        }
    }
    out.push(text[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Fewer words than this left of a sentence make none ("However, they also prefer Azores,
/// which is greener." without its middle clause is "However.").
const MIN_SENTENCE_WORDS: usize = 4;

/// Keeps each sentence's clauses (split at ", ") up to the first for which `keep` fails (what
/// follows may hang on it: "…, which is greener and wilder"); a sentence left with fewer than
/// [`MIN_SENTENCE_WORDS`] words goes whole. A shortened question ends with a full stop; a
/// sentence left whole is left as written. With nothing kept, `summary` as it was.
pub fn keep_clauses(summary: &str, keep: impl Fn(&str, &str) -> bool) -> String {
    let mut kept = Vec::new();
    for sentence in sentences(summary) {
        let body = sentence.trim_end_matches(['.', '!', '?']);
        let clauses: Vec<&str> = body.split(", ").collect();
        let n = clauses
            .iter()
            .position(|c| !keep(c, sentence))
            .unwrap_or(clauses.len());
        if n == clauses.len() {
            kept.push(sentence.to_owned());
            continue;
        }
        let rest = clauses[..n].join(", ");
        if words(&rest).len() >= MIN_SENTENCE_WORDS {
            let mark = if sentence.ends_with('!') { "!" } else { "." };
            kept.push(format!("{rest}{mark}"));
        }
    }
    if kept.is_empty() {
        summary.to_owned()
    } else {
        kept.join(" ")
    }
}

/// Words a finished sentence does not end with.
const DANGLING: [&str; 24] = [
    "the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "from",
    "by", "is", "are", "was", "were", "that", "which", "who", "their", "his",
];

/// `summary` without a last sentence the length limit cut off ("… Felt like a small victory.
/// The Portuguese came in handy, and the guesthouse was the"), when a sentence comes before it.
pub fn without_cut_off_end(summary: &str) -> String {
    let all = sentences(summary);
    let Some((last, before)) = all.split_last() else {
        return summary.to_owned();
    };
    let finished = last.ends_with(['.', '!', '?', '"', '\'', ')', '…']);
    let cut = last.ends_with([',', ';', ':', '-', '('])
        || words(last)
            .last()
            .is_some_and(|w| DANGLING.contains(&w.as_str()));
    if before.is_empty() || finished || !cut {
        return summary.to_owned();
    }
    before.join(" ")
}

/// Does `clause` (as words, 3 or more) stand word for word in one of the messages?
fn copied(clause: &[String], messages: &[Message]) -> bool {
    clause.len() >= 3
        && messages.iter().any(|m| {
            let w = words(&m.content);
            w.windows(clause.len()).any(|x| x == clause)
        })
}

/// `summary` without the questions it pasted from `messages`: the last clause of a sentence
/// that ends with "?", when a message holds it word for word ("…, is that near the metro?").
/// A question in the model's own words stays as written: "Do it fix it or throw it out?" (from
/// "Do I fix it…?") is a poor sentence, but the only one that says what the person was
/// deciding, and the evaluation's facts drop without it.
pub fn without_pasted_questions(summary: &str, messages: &[Message]) -> String {
    keep_clauses(summary, |clause, sentence| {
        let asks = sentence.ends_with('?');
        let last = sentence
            .trim_end_matches(['.', '!', '?'])
            .ends_with(clause.trim_end_matches(['.', '!', '?']));
        !(asks && last && copied(&words(clause), messages))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::search::choice::conversation;

    #[test]
    fn sentences_can_be_left_out_unless_none_would_be_left() {
        // A sentence whose first clause fails goes whole (how `analyze` drops copied ones).
        let short = |_: &str, sentence: &str| sentence.len() <= 12;
        assert_eq!(
            keep_clauses("Short. A long sentence here. Ok!", short),
            "Short. Ok!"
        );
        assert_eq!(
            keep_clauses("A long sentence here.", short),
            "A long sentence here."
        );
    }

    #[test]
    fn sentences_end_at_marks_not_inside_numbers() {
        assert_eq!(
            sentences("A flat for €95.50 a night. Near the metro? Yes! Done"),
            [
                "A flat for €95.50 a night.",
                "Near the metro?",
                "Yes!",
                "Done"
            ]
        );
    }

    #[test]
    fn a_pasted_question_goes_and_the_rest_of_its_sentence_stays() {
        let c = conversation(&[
            "Bonfim sounds like us. Found a flat on Rua do Heroísmo for €95 a night, is that near the metro?",
            "Yes, Heroísmo metro station is right there.",
            "Is it worth it or a tourist trap?",
        ]);
        assert_eq!(
            without_pasted_questions(
                "They found a flat on Rua do Heroísmo for €95 a night, is that near the metro? The francesinha is local.",
                &c
            ),
            "They found a flat on Rua do Heroísmo for €95 a night. The francesinha is local."
        );
        // A whole sentence pasted as a question goes whole.
        assert_eq!(
            without_pasted_questions(
                "The user asked about a dish. Is it worth it or a tourist trap?",
                &c
            ),
            "The user asked about a dish."
        );
        // A question in the model's own words stays as written; so does a summary that is all
        // pasted question.
        let own = "The mower died. Do it fix it or throw it out? The grass is high.";
        assert_eq!(without_pasted_questions(own, &c), own);
        assert_eq!(
            without_pasted_questions("Is it worth it or a tourist trap?", &c),
            "Is it worth it or a tourist trap?"
        );
    }

    #[test]
    fn a_clause_goes_with_what_follows_it_and_a_stump_goes_whole() {
        let keep = |c: &str, _: &str| !c.contains("Azores");
        assert_eq!(
            keep_clauses(
                "They prefer Madeira, which is warmer. However, they prefer Azores, which is greener. Fly from Edinburgh, they said",
                keep
            ),
            "They prefer Madeira, which is warmer. Fly from Edinburgh, they said"
        );
        assert_eq!(
            keep_clauses(
                "The user is planning a trip to Porto, where Azores would do, and more!",
                keep
            ),
            "The user is planning a trip to Porto!"
        );
    }

    #[test]
    fn a_sentence_cut_off_by_the_length_limit_goes() {
        for cut in [
            "Felt like a small victory. The Portuguese came in handy, and the guesthouse was the",
            "Felt like a small victory. The user,",
            "Felt like a small victory.保险,",
        ] {
            assert_eq!(without_cut_off_end(cut), "Felt like a small victory.");
        }
        for whole in [
            "Felt like a small victory. They booked Zen 500",
            "The guesthouse was the",
            "Done. Nothing else…",
        ] {
            assert_eq!(without_cut_off_end(whole), whole);
        }
    }
}
