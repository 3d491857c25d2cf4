//! Import of a ChatGPT data export (`conversations.json`): an array of conversations, each a
//! tree of `mapping` nodes. The visible thread is the path from `current_node` up to the root;
//! it is walked backwards and reversed. System and tool messages, hidden messages, and parts
//! that are not text (images, files) are left out.
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::{derived_id, ImportReport, Rejection, Seen};
use crate::store::{Millis, NewConversation, NewMessage, Sender, Status, Store};

#[derive(Debug, Deserialize)]
pub struct ChatGptConversation {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub create_time: Option<f64>,
    #[serde(default)]
    pub update_time: Option<f64>,
    pub mapping: HashMap<String, Node>,
    #[serde(default)]
    pub current_node: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Node {
    #[serde(default)]
    pub message: Option<ChatGptMessage>,
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChatGptMessage {
    #[serde(default)]
    pub id: Option<String>,
    pub author: Author,
    #[serde(default)]
    pub create_time: Option<f64>,
    pub content: Content,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Author {
    pub role: String,
}

#[derive(Debug, Deserialize)]
pub struct Content {
    pub content_type: String,
    #[serde(default)]
    pub parts: Option<Vec<Value>>,
    #[serde(default)]
    pub text: Option<String>,
}

/// A ChatGPT time (seconds since 1970, fractional) in milliseconds; a time outside
/// 1970–9999 is refused at `path`, and one that is really in milliseconds is said to be.
fn secs_to_ms(s: f64, path: &str) -> Result<Millis, Rejection> {
    let max_secs = crate::time::MAX_MS as f64 / 1000.0;
    if s.is_finite() && (0.0..=max_secs).contains(&s) {
        return Ok((s * 1000.0).round() as Millis);
    }
    let reason = if s.is_finite() && s > max_secs && s / 1000.0 <= max_secs {
        format!(
            "{s} is not a time in seconds: it looks like milliseconds ({}). ChatGPT exports use seconds since 1970; was the file converted by another tool?",
            crate::time::to_rfc3339((s).round() as Millis)
        )
    } else {
        format!("{s} is not a time between 1970 and 9999 (seconds since 1970)")
    };
    Err(Rejection::msg(path, &reason))
}

/// The user-visible text of a message, or `None` when it has none worth importing.
fn visible_text(m: &ChatGptMessage) -> Option<(Sender, String)> {
    let sender = match m.author.role.as_str() {
        "user" => Sender::User,
        "assistant" => Sender::Ai,
        _ => return None,
    };
    if m.recipient.as_deref().is_some_and(|r| r != "all") {
        return None; // a tool call, not an answer
    }
    let hidden = m
        .metadata
        .as_ref()
        .and_then(|md| md.get("is_visually_hidden_from_conversation"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if hidden {
        return None;
    }
    let text = match m.content.content_type.as_str() {
        "text" | "multimodal_text" => m
            .content
            .parts
            .iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n\n"),
        _ => return None,
    };
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some((sender, text))
}

/// The messages of the visible thread, oldest first, each with its node key (for errors).
///
/// An export whose `current_node` is missing, null or dangling still has its messages: the
/// thread then ends at the newest message (the one a reader saw last).
fn thread(c: &ChatGptConversation) -> Vec<(&str, &ChatGptMessage)> {
    let mut out = Vec::new();
    let mut next = c
        .current_node
        .clone()
        .filter(|id| c.mapping.contains_key(id))
        .or_else(|| newest_node(c));
    // A malformed export could hold a cycle: never walk more steps than there are nodes.
    for _ in 0..=c.mapping.len() {
        let Some(id) = next else { break };
        let Some((key, node)) = c.mapping.get_key_value(&id) else {
            break;
        };
        if let Some(m) = &node.message {
            out.push((key.as_str(), m));
        }
        next = node.parent.clone();
    }
    out.reverse();
    out
}

/// The node holding the newest message (ties: the smallest key, so the choice is stable).
fn newest_node(c: &ChatGptConversation) -> Option<String> {
    c.mapping
        .iter()
        .filter_map(|(key, node)| {
            let m = node.message.as_ref()?;
            Some((m.create_time.unwrap_or(f64::MIN), key))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, key)| key.clone())
}

/// A message of the visible thread worth importing.
struct Visible<'a> {
    key: &'a str,
    sender: Sender,
    text: String,
    id: Option<&'a str>,
    time: Option<f64>,
}

fn uuid_or_derived(id: Option<&str>, fallback: &[&str]) -> String {
    match id.and_then(|s| uuid::Uuid::parse_str(s).ok()) {
        Some(u) => u.hyphenated().to_string(),
        None => derived_id(&match id {
            Some(id) => vec![id],
            None => fallback.to_vec(),
        })
        .to_string(),
    }
}

pub(super) fn import(
    store: &Store,
    file: Vec<ChatGptConversation>,
    report: &mut ImportReport,
) -> Result<(), Rejection> {
    let mut seen = Seen::default();
    for (ci, c) in file.iter().enumerate() {
        let at = format!("[{ci}]");
        let messages: Vec<Visible<'_>> = thread(c)
            .into_iter()
            .filter_map(|(key, m)| {
                visible_text(m).map(|(sender, text)| Visible {
                    key,
                    sender,
                    text,
                    id: m.id.as_deref(),
                    time: m.create_time,
                })
            })
            .collect();
        if messages.is_empty() {
            report.empty_skipped += 1;
            continue;
        }
        let start = match c.create_time {
            Some(t) => secs_to_ms(t, &format!("{at}.create_time"))?,
            None => {
                let first = messages.iter().find(|m| m.time.is_some()).ok_or_else(|| {
                    Rejection::msg(
                        &format!("{at}.create_time"),
                        "no create_time anywhere in the conversation",
                    )
                })?;
                secs_to_ms(
                    first.time.unwrap_or_default(),
                    &format!("{at}.mapping.{}.message.create_time", first.key),
                )?
            }
        };
        let title = c
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("Untitled conversation");
        let conv_key = c.conversation_id.as_deref().or(c.id.as_deref());
        let start_s = start.to_string();
        let conversation_id = uuid_or_derived(conv_key, &[title, &start_s, &messages[0].text]);
        seen.check("conversation", &conversation_id, (title, start), &at)?;

        let mut last = start;
        let mut rows = Vec::with_capacity(messages.len());
        for (
            i,
            Visible {
                key,
                sender,
                text,
                id,
                time,
            },
        ) in messages.into_iter().enumerate()
        {
            let path = format!("{at}.mapping.{key}.message");
            // Messages without a time get their predecessor's, so order is kept.
            let ts = match time {
                Some(t) => secs_to_ms(t, &format!("{path}.create_time"))?,
                None => last,
            }
            .max(start);
            last = ts;
            let id = uuid_or_derived(id, &[&conversation_id, &i.to_string()]);
            seen.check(
                "message",
                &id,
                (&conversation_id, sender.as_str(), &text),
                &path,
            )?;
            let row = NewMessage {
                id: Some(id),
                ..NewMessage::new(&conversation_id, sender, &text, ts)
            };
            rows.push((path, row));
        }
        let end = match c.update_time {
            Some(t) => secs_to_ms(t, &format!("{at}.update_time"))?,
            None => last,
        }
        .max(last);

        let (_, added) = store
            .insert_conversation(
                NewConversation {
                    id: Some(conversation_id.clone()),
                    title: title.chars().take(crate::store::MAX_TITLE_CHARS).collect(),
                    summary: None,
                    status: Status::Ended,
                    start_time: start,
                    end_time: Some(end),
                },
                true,
            )
            .map_err(|e| Rejection::at(&at, e))?;
        report.count_conversation(added);
        for (path, row) in rows {
            let (_, added) = store
                .insert_message(row, true)
                .map_err(|e| Rejection::at(&path, e))?;
            report.count_message(added);
        }
    }
    Ok(())
}
