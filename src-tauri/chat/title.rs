//! A short title for a new conversation, written by the model after its first answer. Until
//! then the first line of the question stands (`title_from`), and a title the person chose is
//! never replaced.
use serde_json::{json, Value};

use crate::error::Result;
use crate::llm::{ChatMessage, Llm, Purpose, Role};

const INSTRUCTIONS: &str = "You name conversations. Reply with a title of 2 to 6 words saying \
     what the conversation below is about, in the user's language: a subject, not a sentence, \
     no quotes, no final full stop.";

/// Longest title taken from a model, in words and characters.
const MAX_WORDS: usize = 8;
const MAX_CHARS: usize = 60;

/// The request: the first question and answer, each cut to a few hundred characters.
pub fn title_prompt(question: &str, answer: &str) -> Vec<ChatMessage> {
    let clip = |s: &str| s.chars().take(600).collect::<String>();
    vec![
        ChatMessage::new(Role::System, INSTRUCTIONS),
        ChatMessage::new(
            Role::User,
            format!(
                "User: {}\nAssistant: {}\n\nTitle:",
                clip(question.trim()),
                clip(answer.trim())
            ),
        ),
    ]
}

/// The model's title made tidy (quotes, a "Title:" prefix, markdown marks and a final stop
/// removed), or `None` when it is no title: empty, over several lines, or too long.
pub fn clean_title(raw: &str) -> Option<String> {
    let raw = raw.trim();
    // A JSON reply ({"title": "..."}), or the text itself.
    let text = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|v| v.get("title").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| raw.to_owned());
    let text = text.trim();
    if text.lines().filter(|l| !l.trim().is_empty()).count() != 1 {
        return None;
    }
    let mut t = text.trim();
    for prefix in ["Title:", "title:", "TITLE:"] {
        t = t.strip_prefix(prefix).unwrap_or(t).trim();
    }
    let t = t
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’' | '*' | '#' | '`'))
        .trim()
        .trim_end_matches(['.', '!', ':', ';', ','])
        .trim();
    let words = t.split_whitespace().count();
    if words == 0 || words > MAX_WORDS || t.chars().count() > MAX_CHARS {
        return None;
    }
    Some(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Asks `llm` for a title of the exchange (greedy, a few tokens, JSON where the server
/// constrains it); `None` when what came back is no usable title.
pub async fn suggest_title(llm: &Llm, question: &str, answer: &str) -> Result<Option<String>> {
    let extra = json!({
        "temperature": 0.0,
        "seed": 7,
        "max_tokens": 24,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "conversation_title",
                "strict": true,
                "schema": {
                    "type": "object",
                    "properties": {"title": {"type": "string"}},
                    "required": ["title"],
                    "additionalProperties": false
                }
            }
        }
    });
    let raw = llm
        .complete(Purpose::Chat, &title_prompt(question, answer), Some(extra))
        .await?;
    Ok(clean_title(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_tidied_and_non_titles_refused() {
        assert_eq!(
            clean_title(r#"{"title": "Porto trip: where to stay."}"#).as_deref(),
            Some("Porto trip: where to stay")
        );
        assert_eq!(
            clean_title("Title: \"Capital of France\"").as_deref(),
            Some("Capital of France")
        );
        assert_eq!(
            clean_title("**Sourdough   starter**").as_deref(),
            Some("Sourdough starter")
        );
        assert_eq!(clean_title(""), None);
        assert_eq!(clean_title(r#"{"title": ""}"#), None);
        assert_eq!(clean_title("Line one\nLine two"), None);
        assert_eq!(
            clean_title(
                "The user asked about the capital of France and the assistant answered Paris"
            ),
            None
        );
    }
}
