//! A guard against a small model's loops inside a JSON answer. Constrained to a schema, the
//! built-in model cannot stop a looping summary ("Sunday we just wander. We've agreed: …" three
//! times over) until the string's length limit: the schema keeps it valid, not sensible. So,
//! while it writes one top-level value of the JSON object (the summary, the key points, the
//! action items), a token that would repeat a run of `n` tokens already written in that value
//! is not allowed (what `no_repeat_ngram_size` does in other engines, kept to one value so a
//! key point may still quote the summary). The model then closes the string or says something
//! new. Unconstrained text has its own guard (`builtin::looping` stops it).

use super::logit_mask::mask_unless_all;

/// Runs of this many tokens are not repeated within a value: long enough for a name or a
/// date ("Saturday 12 December") to recur, short enough to stop a sentence coming back.
pub const NO_REPEAT_TOKENS: usize = 8;

/// Where the current top-level value of the JSON object being written begins, read from the
/// generated text token by token (strings and escapes skipped, as in any JSON lexer).
#[derive(Debug, Default)]
pub struct NoRepeat {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// A key of the top-level object comes next (after its `{` or a `,`), not a value.
    key_next: bool,
    /// Index in the output of the first token of the current top-level value.
    start: usize,
    /// The key being read, and the key of the value being written.
    text: String,
    key: String,
}

impl NoRepeat {
    /// Token number `index` of the output, whose text is `text`, was written.
    pub fn accept(&mut self, index: usize, text: &str) {
        for c in text.chars() {
            if self.in_string {
                match c {
                    _ if self.escaped => self.escaped = false,
                    '\\' => self.escaped = true,
                    '"' => self.in_string = false,
                    _ => {}
                }
                if self.in_string && self.key_next && self.depth == 1 {
                    self.text.push(c);
                }
                continue;
            }
            match c {
                '"' => {
                    self.in_string = true;
                    self.text.clear();
                }
                '{' => {
                    self.depth += 1;
                    self.key_next = self.depth == 1;
                }
                '[' => self.depth += 1,
                '}' | ']' => self.depth = self.depth.saturating_sub(1),
                // A new key or a new value of the top-level object: the window starts again.
                ':' if self.depth == 1 => {
                    self.start = index + 1;
                    self.key = std::mem::take(&mut self.text);
                    self.key_next = false;
                }
                ',' if self.depth == 1 => {
                    self.start = index + 1;
                    self.key.clear();
                    self.key_next = true;
                }
                _ => {}
            }
        }
    }

    /// The key of the top-level value being written ("" between values).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Masks out (`-inf`) each token that would end a repeat of `NO_REPEAT_TOKENS` tokens of
    /// the current value, unless that leaves no token allowed (the schema's choice then wins),
    /// and says how many it masked.
    /// Only a token `maskable` says may be is masked: the engine lets through one inside a word
    /// (masked, the model finished a repeated name some other way: "CedofeITA"; the repeat is
    /// stopped at the next word instead) and one with a quote (closing the string is how a
    /// loop should end).
    pub fn mask(&self, out: &[u32], logits: &mut [f32], maskable: impl Fn(u32) -> bool) -> usize {
        let n = NO_REPEAT_TOKENS;
        let value = &out[self.start.min(out.len())..];
        if value.len() < n {
            return 0;
        }
        let tail = &value[value.len() - (n - 1)..];
        let repeats = value
            .windows(n)
            .filter(|w| &w[..n - 1] == tail)
            .map(|w| w[n - 1])
            .filter(|&t| maskable(t));
        mask_unless_all(logits, repeats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(guard: &mut NoRepeat, pieces: &[&str]) {
        for (i, p) in pieces.iter().enumerate() {
            guard.accept(i, p);
        }
    }

    #[test]
    fn a_run_written_in_this_value_is_not_written_again() {
        let mut guard = NoRepeat::default();
        // {"summary": "a b c d e f g h a b c d e f g
        let pieces = [
            "{\"", "summary", "\":", " \"", "a", " b", " c", " d", " e", " f", " g", " h", " a",
            " b", " c", " d", " e", " f", " g",
        ];
        feed(&mut guard, &pieces);
        let out: Vec<u32> = vec![
            0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 10, 11, 12, 13, 14, 15, 16,
        ];
        let mut logits = vec![0.0f32; 20];
        guard.mask(&out, &mut logits, |_| true);
        assert_eq!(
            logits[17],
            f32::NEG_INFINITY,
            "\" h\" would repeat eight tokens"
        );
        assert_eq!(logits.iter().filter(|l| l.is_finite()).count(), 19);
    }

    #[test]
    fn a_repeat_is_stopped_between_words_not_inside_one() {
        let mut guard = NoRepeat::default();
        let pieces = [
            "{\"", "s", "\":", " \"", " a", " b", " c", " d", " e", " f", " g", "h", " a", " b",
            " c", " d", " e", " f", " g",
        ];
        feed(&mut guard, &pieces);
        let out: Vec<u32> = vec![
            0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 10, 11, 12, 13, 14, 15, 16,
        ];
        let mut logits = vec![0.0f32; 20];
        // Token 17 ("h") continues the word " g": it is left to the model.
        guard.mask(&out, &mut logits, |t| t != 17);
        assert!(logits.iter().all(|l| l.is_finite()), "{logits:?}");
    }

    #[test]
    fn another_value_may_quote_the_one_before() {
        let mut guard = NoRepeat::default();
        // {"summary": "a b c d e f g h", "key_points": ["a b c d e f g
        let words = ["a", " b", " c", " d", " e", " f", " g", " h"];
        let pieces = [
            &["{\"", "summary", "\":", " \""][..],
            &words,
            &["\",", " \"", "key_points", "\":", " [\""],
            &words[..7],
        ]
        .concat();
        feed(&mut guard, &pieces);
        let out: Vec<u32> = vec![
            0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 4, 3, 5, 2, 6, 10, 11, 12, 13, 14, 15, 16,
        ];
        let mut logits = vec![0.0f32; 20];
        guard.mask(&out, &mut logits, |_| true);
        assert!(logits.iter().all(|l| l.is_finite()), "{logits:?}");
    }

    #[test]
    fn a_colon_or_comma_inside_a_string_starts_nothing() {
        let mut guard = NoRepeat::default();
        feed(
            &mut guard,
            &[
                "{\"",
                "summary",
                "\":",
                " \"",
                "we agreed: a",
                ", b",
                "\\\"",
                "c",
            ],
        );
        assert_eq!(guard.start, 3);
        assert_eq!(guard.key(), "summary");
    }

    #[test]
    fn the_key_is_known_through_its_value_and_forgotten_after_it() {
        let mut guard = NoRepeat::default();
        feed(&mut guard, &["{\"", "topics", "\":", " [\"a\", \"b"]);
        assert_eq!(guard.key(), "topics");
        feed(&mut guard, &["\"],", " \"", "sum\\\"mary"]);
        assert_eq!(guard.key(), "", "between values");
        feed(&mut guard, &["\":", " \"I"]);
        assert_eq!(guard.key(), "sum\\\"mary");
    }

    #[test]
    fn the_schema_wins_when_every_allowed_token_would_repeat() {
        let mut guard = NoRepeat::default();
        let pieces = [
            "{\"", "s", "\":", " \"", "a", "a", "a", "a", "a", "a", "a", "a", "a",
        ];
        feed(&mut guard, &pieces);
        let out: Vec<u32> = vec![0, 1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9];
        let mut logits = vec![f32::NEG_INFINITY; 20];
        logits[9] = 1.0; // the only token the schema allows
        guard.mask(&out, &mut logits, |_| true);
        assert_eq!(logits[9], 1.0);
    }
}
