//! Building the prompt from a conversation's history within the context budget.
use crate::llm::{ChatMessage, LlmSettings, Role};
use crate::store::{Message, MessageState, Sender};

/// A title from the first message: its first line, at most ~60 characters, cut at a word.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= 60 {
        return words;
    }
    let cut: String = words.chars().take(60).collect();
    let cut = cut
        .rsplit_once(' ')
        .map_or(cut.as_str(), |(head, _)| head)
        .to_owned();
    format!("{cut}…")
}

/// System prompt + the newest history that fits `settings.context_chars` (oldest dropped
/// first; the last user message is always kept, cut if it alone is too long). The answer
/// being written (`answering`) and failed answers are left out.
pub fn build_prompt(
    settings: &LlmSettings,
    history: &[Message],
    answering: &str,
) -> Vec<ChatMessage> {
    let mut budget = settings
        .context_chars
        .saturating_sub(settings.system_prompt.len());
    let mut picked: Vec<ChatMessage> = Vec::new();
    for m in history.iter().rev() {
        if m.id == answering || m.state == MessageState::Error || m.content.trim().is_empty() {
            continue;
        }
        let role = match m.sender {
            Sender::User => Role::User,
            Sender::Ai => Role::Assistant,
        };
        if m.content.len() > budget {
            if picked.is_empty() {
                // The newest message alone is over budget: keep its end.
                let start = m.content.len() - budget;
                let start = (start..m.content.len())
                    .find(|&i| m.content.is_char_boundary(i))
                    .unwrap_or(m.content.len());
                picked.push(ChatMessage::new(role, &m.content[start..]));
            }
            break;
        }
        budget -= m.content.len();
        picked.push(ChatMessage::new(role, m.content.clone()));
    }
    let mut prompt = Vec::with_capacity(picked.len() + 1);
    if !settings.system_prompt.trim().is_empty() {
        prompt.push(ChatMessage::new(
            Role::System,
            settings.system_prompt.trim(),
        ));
    }
    prompt.extend(picked.into_iter().rev());
    prompt
}
