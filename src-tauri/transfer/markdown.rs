//! Markdown export: one file per conversation, named `YYYY-MM-DD-title-slug-<id8>.md`.
use std::fmt::Write as _;

use crate::store::{Conversation, Message, Sender};
use crate::time::to_rfc3339;

/// `YYYY-MM-DD-title-slug-<id8>.md`, or with the whole id when `full_id`.
pub fn file_name(c: &Conversation, full_id: bool) -> String {
    let date = to_rfc3339(c.start_time)
        .chars()
        .take(10)
        .collect::<String>();
    let mut slug = String::new();
    for ch in c.title.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            slug.push(ch);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.chars().count() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() {
        "conversation"
    } else {
        slug
    };
    let id = if full_id {
        &c.id
    } else {
        &c.id[..8.min(c.id.len())]
    };
    format!("{date}-{slug}-{id}.md")
}

pub fn render(c: &Conversation, messages: &[Message]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", c.title.replace('\n', " "));
    let _ = writeln!(out, "- id: `{}`", c.id);
    let _ = writeln!(out, "- status: {}", c.status.as_str());
    let _ = writeln!(out, "- started: {}", to_rfc3339(c.start_time));
    if let Some(end) = c.end_time {
        let _ = writeln!(out, "- ended: {}", to_rfc3339(end));
    }
    if let Some(summary) = &c.summary {
        let _ = writeln!(out, "\n> {}", summary.replace('\n', "\n> "));
    }
    for m in messages {
        let who = match m.sender {
            Sender::User => "You",
            Sender::Ai => "Assistant",
        };
        let _ = write!(out, "\n## {who} · {}", to_rfc3339(m.timestamp));
        if m.is_bookmarked {
            out.push_str(" · 🔖");
        }
        if !m.reactions.is_empty() {
            let _ = write!(out, " · {}", m.reactions.join(" "));
        }
        if m.state != crate::store::MessageState::Complete {
            let _ = write!(out, " · ({})", m.state.as_str());
        }
        let _ = writeln!(out, "\n\n{}", m.content);
    }
    out
}
