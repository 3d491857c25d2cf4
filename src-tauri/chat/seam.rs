//! Where a continued answer joins the text it continues. Small models asked to go on often
//! start the answer again; the repeated start is dropped, and a space is put before a new
//! word the join would otherwise glue to the last one.

/// A repeat shorter than this is kept (two answers may well start with the same word).
const MIN_REPEAT: usize = 12;

/// Pieces of a continuation in, text to append out.
pub struct Seam {
    partial: String,
    /// What came while it could still be the partial answer's start, said again.
    held: String,
    decided: bool,
}

fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Seam {
    /// `partial`: the answer so far.
    pub fn new(partial: &str) -> Seam {
        Seam {
            partial: partial.to_owned(),
            held: String::new(),
            decided: false,
        }
    }

    /// The text to append for `piece` (empty while it cannot tell yet).
    pub fn feed(&mut self, piece: &str) -> String {
        if self.decided {
            return piece.to_owned();
        }
        self.held.push_str(piece);
        let held = norm(&self.held);
        let partial = norm(&self.partial);
        if held.is_empty() {
            return String::new();
        }
        if partial.starts_with(&held) {
            // Still the start of the partial answer again: wait.
            return String::new();
        }
        self.decided = true;
        let held = std::mem::take(&mut self.held);
        // Did it repeat the whole partial answer before going on?
        let repeat = repeated_prefix(&held, &self.partial);
        let rest = match repeat {
            Some(end) if norm(&held[..end]).len() >= MIN_REPEAT => &held[end..],
            _ => held.as_str(),
        };
        self.join(rest)
    }

    /// What is still held when the stream ends: a pure repeat of the start is dropped.
    pub fn finish(&mut self) -> String {
        if self.decided || self.held.is_empty() {
            return String::new();
        }
        self.decided = true;
        let held = std::mem::take(&mut self.held);
        if norm(&held).len() >= MIN_REPEAT {
            return String::new();
        }
        self.join(&held)
    }

    /// `rest`, with a space in front when it starts a new word (a capital) right after one:
    /// "colours" + "The" would glue, "ye" + "llow" is one word going on.
    fn join(&self, rest: &str) -> String {
        let ends_in_word = self
            .partial
            .chars()
            .last()
            .is_some_and(char::is_alphanumeric);
        let starts_new_word = rest.chars().next().is_some_and(char::is_uppercase);
        if ends_in_word && starts_new_word {
            format!(" {rest}")
        } else {
            rest.to_owned()
        }
    }
}

/// If `text` starts with all of `partial` (whitespace and case aside), the byte offset in
/// `text` where that repeat ends.
fn repeated_prefix(text: &str, partial: &str) -> Option<usize> {
    let want: Vec<char> = partial
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if want.is_empty() {
        return None;
    }
    let mut matched = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        for lc in c.to_lowercase() {
            if want.get(matched) != Some(&lc) {
                return None;
            }
            matched += 1;
        }
        if matched == want.len() {
            return Some(i + c.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(partial: &str, pieces: &[&str]) -> String {
        let mut seam = Seam::new(partial);
        let mut out: String = pieces.iter().map(|p| seam.feed(p)).collect();
        out.push_str(&seam.finish());
        out
    }

    #[test]
    fn a_continuation_is_appended_with_a_space_where_words_meet() {
        assert_eq!(
            run("The colours are red, ye", &["llow", " and blue."]),
            "llow and blue."
        );
        assert_eq!(
            run("The colours are red", &[", yellow", " and blue."]),
            ", yellow and blue."
        );
        assert_eq!(
            run("The colours are red", &["Yellow", " and blue."]),
            " Yellow and blue."
        );
    }

    #[test]
    fn a_repeated_start_is_dropped() {
        let partial = "The rainbow is made up of seven colours";
        // Said again, then on: only the new part.
        assert_eq!(
            run(
                partial,
                &[
                    "The rainbow is ",
                    "made up of seven colours",
                    ": red, orange."
                ]
            ),
            ": red, orange."
        );
        // Said again and nothing else.
        assert_eq!(
            run(partial, &["The rainbow is made up", " of seven colours"]),
            ""
        );
        // A short shared start is no repeat.
        assert_eq!(run("The sky", &["The sea is blue."]), " The sea is blue.");
        // Starting like the answer, then going elsewhere: all kept.
        assert_eq!(
            run(partial, &["The rainbow ", "has a legend."]),
            " The rainbow has a legend."
        );
    }
}
