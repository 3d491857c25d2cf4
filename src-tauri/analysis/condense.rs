//! Fits a long conversation into as few analysis requests as it can. What an analysis must keep
//! (the person's situation, choices and commitments) is in the person's own messages, which stay
//! whole; the assistant's long replies (options, tables, code) are cut to their opening sentences,
//! the longest the most, until the transcript fits the budget. A 0.5B model analysing a long chat
//! in 5 to 8 parts and merging them took 2 to 3 minutes and lost the decisions of the middle
//! parts; condensed, such a chat is one request of about 30 s (BENCHMARKS.md "Long
//! conversations: one request").
use super::summary::sentences;
use crate::store::{Message, Sender};

/// Characters of a transcript line besides the text (`[2026-03-14T10:12] User: `).
const LINE_OVERHEAD: usize = 26;

/// No reply is cut shorter than this: its opening still says what it answered ("Good news: both
/// Southville and Bedminster sit on the flat south side…"). Below it, the transcript goes in more
/// than one request instead: only when the person's own messages nearly fill the budget.
const MIN_REPLY_CHARS: usize = 60;

/// Lines of a code block the person pasted that are kept when even the shortest replies leave no
/// room for all of it.
const CODE_LINES_KEPT: usize = 4;

/// The messages, with the assistant's replies (and, if that is not enough, the person's pasted
/// code) shortened so that their transcript fits `budget` characters where it can. A
/// conversation that fits already is returned as it is.
pub fn condense(messages: &[Message], budget: usize) -> Vec<Message> {
    if messages.iter().map(line_chars).sum::<usize>() <= budget {
        return messages.to_vec();
    }
    let mut out: Vec<Message> = messages
        .iter()
        .map(|m| match m.sender {
            Sender::Ai => with_content(m, plain(&m.content)),
            Sender::User => m.clone(),
        })
        .collect();
    let user_size = |ms: &[Message]| -> usize {
        ms.iter()
            .filter(|m| m.sender == Sender::User)
            .map(line_chars)
            .sum()
    };
    let replies = out.iter().filter(|m| m.sender == Sender::Ai).count();
    let least = replies * (MIN_REPLY_CHARS + LINE_OVERHEAD);
    if user_size(&out) + least > budget {
        for m in out.iter_mut().filter(|m| m.sender == Sender::User) {
            m.content = short_code(&m.content);
        }
    }
    let room = budget.saturating_sub(user_size(&out) + replies * LINE_OVERHEAD);
    let lengths: Vec<usize> = out
        .iter()
        .filter(|m| m.sender == Sender::Ai)
        .map(|m| m.content.chars().count())
        .collect();
    let cap = fair_share(&lengths, room).max(MIN_REPLY_CHARS);
    for m in out.iter_mut().filter(|m| m.sender == Sender::Ai) {
        m.content = opening(&m.content, cap);
    }
    out
}

/// Characters of a message's transcript line.
fn line_chars(m: &Message) -> usize {
    m.content.trim().chars().count() + LINE_OVERHEAD
}

fn with_content(m: &Message, content: String) -> Message {
    let mut m = m.clone();
    m.content = content;
    m
}

/// The largest cap `c` with `Σ min(len, c) ≤ room`: replies shorter than the cap stay whole, the
/// longer ones share what is left equally.
fn fair_share(lengths: &[usize], room: usize) -> usize {
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let mut left = room;
    for (i, &len) in sorted.iter().enumerate() {
        let share = left / (sorted.len() - i);
        if len > share {
            return share;
        }
        left -= len;
    }
    usize::MAX
}

/// A markdown reply as running text: a code block becomes "[code]", a table "[table]"; heading,
/// list and emphasis marks go; lines are joined.
fn plain(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut in_table = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            if !in_code {
                parts.push("[code]".into());
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if t.starts_with('|') {
            if !in_table {
                parts.push("[table]".into());
            }
            in_table = true;
            continue;
        }
        in_table = false;
        let t = t
            .trim_start_matches('#')
            .trim_start_matches(['-', '*', '>', '+'])
            .trim()
            .replace("**", "")
            .replace('`', "");
        let t = t.trim();
        if t.is_empty() || t.chars().all(|c| c == '-' || c == '=' || c == '*') {
            continue;
        }
        parts.push(t.to_owned());
    }
    parts.join(" ")
}

/// The whole sentences of `text` that fit `cap` characters, then "…"; at least the first
/// sentence's first `cap` characters.
fn opening(text: &str, cap: usize) -> String {
    if text.chars().count() <= cap {
        return text.to_owned();
    }
    let mut kept = String::new();
    for sentence in sentences(text) {
        let grown = kept.chars().count() + sentence.chars().count() + 1;
        if grown > cap {
            break;
        }
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(sentence);
    }
    if kept.is_empty() {
        kept = text.chars().take(cap).collect::<String>();
        if let Some(space) = kept.rfind(' ') {
            kept.truncate(space);
        }
    }
    kept.push_str(" …");
    kept
}

/// The person's message with each pasted code block cut to its first [`CODE_LINES_KEPT`] lines.
fn short_code(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut code_lines = 0;
    let mut dropped = 0;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        if fence && in_code && dropped > 0 {
            out.push(format!("[… {dropped} more lines]"));
        }
        if fence {
            in_code = !in_code;
            code_lines = 0;
            dropped = 0;
            out.push(line.to_owned());
            continue;
        }
        if in_code {
            code_lines += 1;
            if code_lines > CODE_LINES_KEPT {
                dropped += 1;
                continue;
            }
        }
        out.push(line.to_owned());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(sender: Sender, content: &str) -> Message {
        Message::unstored("m", "c", sender, content)
    }

    #[test]
    fn a_conversation_that_fits_is_left_as_it_is() {
        let ms = vec![
            msg(Sender::User, "Porto or Lisbon?"),
            msg(Sender::Ai, "## Options\n\n| a | b |\n|---|---|\n| 1 | 2 |"),
        ];
        let out = condense(&ms, 1000);
        assert_eq!(out[1].content, ms[1].content);
    }

    #[test]
    fn the_persons_messages_stay_whole_and_the_longest_replies_are_cut_most() {
        let long =
            "Southville is flat and close to North Street. It has pubs and parks. ".repeat(30);
        let ms = vec![
            msg(
                Sender::User,
                "Going with Southville, Greville Road, £1,325 pcm.",
            ),
            msg(Sender::Ai, &long),
            msg(Sender::User, "Booked Aire Valley for Saturday 18 April."),
            msg(Sender::Ai, "Nice one. That is a big job ticked off."),
        ];
        let budget = 700;
        let out = condense(&ms, budget);
        assert_eq!(out[0].content, ms[0].content);
        assert_eq!(out[2].content, ms[2].content);
        // The short reply fits whole; the long one keeps whole opening sentences.
        assert_eq!(out[3].content, ms[3].content);
        assert!(out[1]
            .content
            .starts_with("Southville is flat and close to North Street. It has pubs and parks."));
        assert!(out[1].content.ends_with(" …"));
        // Untrimmed: stricter than the function's own measure.
        let total: usize = out
            .iter()
            .map(|m| m.content.chars().count() + LINE_OVERHEAD)
            .sum();
        assert!(total <= budget, "{total} > {budget}");
    }

    #[test]
    fn code_and_tables_in_a_reply_become_markers() {
        let reply = "Here's a minimal structure.\n\n## 1. Add a clock\n\n```python\nclass Clock:\n    pass\n```\n\n| Area | Rent |\n|---|---|\n| Southville | £1,300 |\n\n- **Pick** the flat one.";
        assert_eq!(
            plain(reply),
            "Here's a minimal structure. 1. Add a clock [code] [table] Pick the flat one."
        );
    }

    #[test]
    fn a_reply_is_never_cut_below_its_minimum_and_pasted_code_is_shortened_first() {
        let code: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let person = format!("Here's sessions.py:\n```python\n{code}```\nClock injection it is.");
        let reply = "Agreed, an explicit clock lets you move time. ".repeat(20);
        let ms = vec![msg(Sender::User, &person), msg(Sender::Ai, &reply)];
        let out = condense(&ms, 300);
        assert!(out[0].content.contains("line 3\n[… 36 more lines]"));
        assert!(out[0].content.ends_with("Clock injection it is."));
        assert!(out[1].content.chars().count() >= MIN_REPLY_CHARS - 10);
        assert!(out[1].content.starts_with("Agreed, an explicit clock"));
    }

    #[test]
    fn the_fair_share_keeps_short_replies_whole() {
        assert_eq!(fair_share(&[100, 1000, 1000], 1100), 500);
        assert_eq!(fair_share(&[100, 200], 1000), usize::MAX);
        assert_eq!(fair_share(&[], 10), usize::MAX);
    }
}
