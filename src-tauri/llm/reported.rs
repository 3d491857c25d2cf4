//! Reported speech in a JSON answer. Asked for a summary, a 0.5B model strings the person's own
//! sentences together ("I found a flat on Rua do Heroísmo, is that near the metro? Bonfim
//! sounds like us."): 13 of 32 summaries were at least half pasted (BENCHMARKS.md). While it
//! writes a value the request names (`hindsight_reported_keys`: the summary, the key points),
//! the words that only a message says of itself, the first and second person ("I", "we",
//! "my", "you", …), are not allowed, so the model writes about "the user" and "the assistant"
//! as a summary does, and cannot paste a message whole.

use std::collections::HashSet;

use tokenizers::Tokenizer;

use super::logit_mask::mask_unless_all;

/// First and second person words, as a message says them (lower case mid-sentence).
const SPOKEN: &[&str] = &[
    "I",
    "I'm",
    "I've",
    "I'd",
    "I'll",
    "me",
    "my",
    "mine",
    "myself",
    "we",
    "we're",
    "we've",
    "we'd",
    "we'll",
    "us",
    "our",
    "ours",
    "ourselves",
    "you",
    "you're",
    "you've",
    "you'd",
    "you'll",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The same words opening a sentence (a string's first token has no space before it).
const OPENING: &[&str] = &["I", "My", "We", "Our", "You", "Your"];

/// The vocabulary's tokens that are one of these words whole: " I", " we", "My", ….
#[derive(Debug, Default)]
pub struct Spoken {
    ids: Vec<u32>,
}

impl Spoken {
    /// Reads the tokenizer's vocabulary (byte-level BPE: a leading space is `Ġ`).
    pub fn of(tokenizer: &Tokenizer) -> Spoken {
        let spoken: HashSet<&str> = SPOKEN.iter().copied().collect();
        let opening: HashSet<&str> = OPENING.iter().copied().collect();
        let mut ids: Vec<u32> = tokenizer
            .get_vocab(false)
            .into_iter()
            .filter(|(token, _)| match token.strip_prefix('Ġ') {
                Some(word) => spoken.contains(word) || opening.contains(word),
                None => opening.contains(token.as_str()),
            })
            .map(|(_, id)| id)
            .collect();
        ids.sort_unstable();
        Spoken { ids }
    }

    /// Masks these words out (`-inf`), unless that leaves no token allowed; says how many.
    pub fn mask(&self, logits: &mut [f32]) -> usize {
        mask_unless_all(logits, self.ids.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(tokens: &[&str]) -> Tokenizer {
        let vocab: serde_json::Map<String, serde_json::Value> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| ((*t).to_owned(), i.into()))
            .collect();
        serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                      "continuing_subword_prefix": null, "end_of_word_suffix": null,
                      "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": []},
        })
        .to_string()
        .parse()
        .expect("a BPE tokenizer")
    }

    #[test]
    fn pronouns_are_found_whole_and_nothing_that_starts_like_one() {
        let t = tokenizer(&[
            "ĠI", "I", "Ġwe", "We", "Ġmy", "my", "Ġyou", "Ġuser", "ĠUS", "Ġmeet", "Ġyour", "Ġme",
            "ĠItaly", "Ġthey",
        ]);
        let s = Spoken::of(&t);
        let word = |id: u32| t.id_to_token(id).unwrap_or_default();
        let mut words: Vec<String> = s.ids.iter().map(|&id| word(id)).collect();
        words.sort();
        assert_eq!(
            words,
            ["I", "We", "ĠI", "Ġme", "Ġmy", "Ġwe", "Ġyou", "Ġyour"],
            "\"my\" without a space may end a word (\"Sammy\"); \"US\" is a country"
        );
    }

    #[test]
    fn masking_leaves_the_rest_and_never_everything() {
        let s = Spoken { ids: vec![1, 3] };
        let mut logits = vec![0.5f32; 5];
        assert_eq!(s.mask(&mut logits), 2);
        assert_eq!(logits.iter().filter(|l| l.is_finite()).count(), 3);
        let mut only = vec![
            f32::NEG_INFINITY,
            1.0,
            f32::NEG_INFINITY,
            2.0,
            f32::NEG_INFINITY,
        ];
        assert_eq!(s.mask(&mut only), 0, "the schema's choice wins");
        assert_eq!(only[1], 1.0);
    }
}
