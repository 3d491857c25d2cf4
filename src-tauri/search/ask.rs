//! "Ask your history": retrieve the messages that answer a question (hybrid search), put them
//! with their conversations' titles, dates and summaries into a numbered context within the
//! model's budget, and let the LLM answer citing them as [1], [2]. With nothing similar enough
//! in the history the answer says so, and no LLM is asked to invent one.
use std::time::Instant;

use chrono::Datelike;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::choice::{self, Choice};
use super::price;
use super::{SearchMode, SearchOptions, Searcher};
use crate::embed::{Embedder, MODEL_ID};
use crate::error::{Error, Result};
use crate::llm::{ChatMessage, Llm, Purpose, Role, TokenLogprob};
use crate::store::{Message, Millis, Sender, Store, Turn};
use crate::time::to_rfc3339;
use ts_rs::TS;

/// Below this cosine similarity a message is not taken as relevant (all-MiniLM-L6-v2:
/// paraphrases of the same fact score ≳ 0.4, unrelated chat ≲ 0.2; see BENCHMARKS.md).
pub const MIN_SIMILARITY: f32 = 0.3;
/// Below this similarity of its best excerpt, a question is not given to the model: the
/// excerpts are shown with [`NOT_IN_EXCERPTS`]. Paraphrases of the same fact score ≳ 0.4 with
/// all-MiniLM-L6-v2; between 0.3 and 0.35 the history holds only neighbours of the subject,
/// and a small model names one of them ("What's our dog called?" → the cat). On the four Ask
/// sets (BENCHMARKS.md) it turns 4 of 18 no-answer questions honest and loses 1 of 88 right
/// answers.
pub const MIN_ANSWER_SIMILARITY: f32 = 0.35;

/// What the answer is when nothing relevant was found.
pub const NOTHING_FOUND: &str =
    "I couldn't find anything about that in your history, so I won't guess.";

/// What the answer is when the person stopped it before it was written.
pub const STOPPED: &str = "Stopped before an answer was written. The closest messages are below.";

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Excerpt {
    pub conversation_id: String,
    pub message_id: String,
    pub message: String,
    #[serde(skip)]
    pub sender: Sender,
    pub similarity: f32,
    pub title: String,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub timestamp: Millis,
    /// The turn before it in its conversation (what a short reply answers).
    pub previous: Option<Turn>,
}

/// Where the time of one `ask` went, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AskTimings {
    pub embed_ms: f64,
    pub search_ms: f64,
    pub llm_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AskResult {
    pub answer: String,
    /// `excerpts[n-1]` is what the answer cites as `[n]`.
    pub excerpts: Vec<Excerpt>,
    #[serde(skip)]
    pub timings: AskTimings,
}

/// What [`retrieve`] found: numbered excerpts and the context text built from them.
#[derive(Debug, Clone)]
pub struct Retrieved {
    pub excerpts: Vec<Excerpt>,
    pub context: String,
    /// `lines[n-1]`: excerpt [n] as the context shows it, then its date in words ("Sunday 12
    /// July 2026": an answer "July" is held by a message dated 2026-07-12). What an answer's
    /// citation is checked against.
    pub lines: Vec<String>,
    /// For a question about the person's choice: the decision it asks about in each shown
    /// conversation that records one (by conversation id). Empty for any other question (a
    /// follow-up such as "How much was it a night?" included, whatever it follows).
    pub choices: Vec<(String, Choice)>,
    /// Excerpts (by message id) the model reads but the person is shown as sources only if the
    /// answer cites them: the person's own lines below the relevance cut that
    /// `add_own_account` adds ("Will do. Cheers.").
    pub context_only: Vec<String>,
    /// The question asks what the person did ([`choice::asks_what_the_person_did`]).
    pub own_account: bool,
    pub timings: AskTimings,
}

#[derive(Debug, Clone, Copy)]
pub struct AskOptions {
    pub max_excerpts: usize,
    /// At most this many excerpts from one conversation (room for the others a question
    /// may need). 4: on the Ask evaluation sets, 3 left out the deciding turn of a long
    /// conversation (tests/fixtures/quality, set A: evidence retrieved 32 → 33 of 38; no
    /// change in the no-answer questions).
    pub per_conversation: usize,
    pub min_similarity: f32,
    /// Characters of context (excerpts, titles, summaries) at most.
    pub budget_chars: usize,
}

impl Default for AskOptions {
    fn default() -> Self {
        AskOptions {
            max_excerpts: 8,
            per_conversation: 4,
            min_similarity: MIN_SIMILARITY,
            budget_chars: 4000,
        }
    }
}

impl AskOptions {
    /// The defaults, with the context budget taken from the LLM settings (less room for the
    /// instructions, the question and the answer).
    pub fn for_settings(settings: &crate::llm::LlmSettings) -> Self {
        AskOptions {
            budget_chars: settings.context_chars.saturating_sub(1500).max(1500),
            ..Default::default()
        }
    }
}

/// The usual constant of reciprocal rank fusion (Cormack et al. 2009), which joins a
/// follow-up's two rankings: both come from the same hybrid search, so ranks compare.
const RRF_K: f64 = 60.0;

/// A message this short (characters) is shown in the context with the turn it answers.
const SHORT_REPLY: usize = 160;

/// `s` on one line (whitespace runs become one space), cut to `max` characters with "…".
pub(crate) fn clip(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        s
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// "Sunday 12 July 2026" (UTC, as the stored times).
fn date_in_words(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%A %-d %B %Y").to_string())
        .unwrap_or_default()
}

/// An answer that is a time stamp ("2026-05-31", "2026-08-20T21:06"): people do not write
/// dates so, the excerpts' stamps are written so; `None` for any other answer.
fn stamp_date(answer: &str) -> Option<chrono::NaiveDate> {
    let a = answer.trim().trim_end_matches('.');
    let date = a.get(..10)?;
    let rest = &a[10..];
    let time_only = rest.is_empty()
        || (rest.starts_with('T') && rest[1..].chars().all(|c| c.is_ascii_digit() || c == ':'));
    if !time_only {
        return None;
    }
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Does `answer` name the day `ms` falls on: its stamp ("2026-04-15") or its day and month
/// in words ("Wednesday 15 April")?
fn names_the_day_of(answer: &str, ms: Millis) -> bool {
    let Some(day) = chrono::DateTime::from_timestamp_millis(ms).map(|d| d.date_naive()) else {
        return false;
    };
    if stamp_date(answer) == Some(day) {
        return true;
    }
    let words: Vec<String> = answer
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .collect();
    let month = day.format("%B").to_string().to_lowercase();
    let short = day.format("%b").to_string().to_lowercase();
    words.iter().any(|w| day_of_month(w) == Some(day.day()))
        && words.iter().any(|w| *w == month || *w == short)
}

/// A word that is a day of the month: "15", "015" or "15th" → 15 (1–31).
fn day_of_month(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| word.strip_suffix(s))
        .unwrap_or(word);
    digits.parse::<u32>().ok().filter(|d| (1..=31).contains(d))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The dates a message's text names, each once, in order, as a person writes them: "june 6th"
/// → "6 June", "saturday 12 december" → "Saturday 12 December", "24 of April" → "24 April".
/// A month is its name or its first three letters ("sept" too); a day is 1–31, maybe "6th".
fn dates_named(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let month = |i: usize| {
        let w = words.get(i)?;
        MONTHS.iter().position(|m| {
            let m = m.to_lowercase();
            *w == m || (w.len() >= 3 && m.starts_with(w.as_str()) && w.len() <= 4)
        })
    };
    let day = |i: usize| day_of_month(words.get(i)?);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // (start, day, month, words used)
        let found = match (day(i), month(i + 1), month(i)) {
            (Some(d), Some(m), _) => Some((d, m, 2)),
            (Some(d), None, _) if words[i + 1..].first().is_some_and(|w| w == "of") => {
                month(i + 2).map(|m| (d, m, 3))
            }
            (None, _, Some(m)) => day(i + 1).map(|d| (d, m, 2)),
            _ => None,
        };
        let Some((d, m, used)) = found else {
            i += 1;
            continue;
        };
        let weekday = i
            .checked_sub(1)
            .and_then(|j| WEEKDAYS.iter().find(|w| w.to_lowercase() == words[j]));
        let date = match weekday {
            Some(w) => format!("{w} {d} {}", MONTHS[m]),
            None => format!("{d} {}", MONTHS[m]),
        };
        if !out.contains(&date) {
            out.push(date);
        }
        i += used;
    }
    out
}

/// Whom or what a question names as the owner of its date: "ellie" in "When is Ellie's
/// birthday?", "sister" in "When is my sister's wedding?", "paweł" in "When is my anniversary
/// with Paweł?" (a possessive, or a capitalised word after the first). Lower-cased.
fn owners_named(question: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, raw) in question.split_whitespace().enumerate() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
        let owner = word
            .strip_suffix("'s")
            .or_else(|| word.strip_suffix("’s"))
            .or_else(|| word.strip_suffix("s'"));
        let name = i > 0 && word != "I" && word.starts_with(char::is_uppercase);
        if let Some(w) = owner.or(name.then_some(word)) {
            let w = w.to_lowercase();
            if w.chars().count() > 1 && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// The one date the excerpts numbered `numbers` (1-based) name in their text, with the first
/// of them that names it; `None` if they name none or several. Only an excerpt that names the
/// question's `owners` (in its text or its conversation's title) counts: "When is my sister's
/// wedding?" is not answered by a customer's wedding date, nor an anniversary by a birthday.
fn date_told(
    excerpts: &[Excerpt],
    numbers: impl Iterator<Item = usize>,
    owners: &[String],
) -> Option<(String, usize)> {
    let mut found: Vec<(String, usize)> = Vec::new();
    for k in numbers {
        let Some(e) = k.checked_sub(1).and_then(|i| excerpts.get(i)) else {
            continue;
        };
        let text = format!("{} {}", e.title, e.message).to_lowercase();
        if !owners.iter().all(|o| text.contains(o.as_str())) {
            continue;
        }
        for date in dates_named(&e.message) {
            if !found.iter().any(|(d, _)| *d == date) {
                found.push((date, k));
            }
        }
    }
    match found.len() {
        1 => found.pop(),
        _ => None,
    }
}

/// Does the question ask the date of something (not when something was said or done)? "When
/// is Ellie's birthday?", "What date does my mother arrive?" — but not "When did I get the
/// promotion?" nor "Which month did I complain?", whose answer can be the message's date.
fn asks_for_an_events_date(question: &str) -> bool {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let asks_when = words
        .iter()
        .take(3)
        .any(|w| matches!(w.as_str(), "when" | "when's" | "date" | "day"));
    let past = words
        .iter()
        .any(|w| matches!(w.as_str(), "did" | "was" | "were" | "had"));
    asks_when && !past
}

/// Finds the excerpts that answer `question` and builds the context (synchronous: embedding
/// is CPU work; call it off the async runtime's workers).
pub fn retrieve(
    store: &Store,
    searcher: &Searcher,
    embedder: &Embedder,
    question: &str,
    opts: AskOptions,
) -> Result<Retrieved> {
    retrieve_all(store, searcher, embedder, &[question], opts)
}

/// [`retrieve`] for a question asked in a thread ([`follow_up`]): its excerpts are searched
/// for with the question before it and on its own, the two rankings fused. On the quality
/// sets' 25 follow-ups an evidence message is among the excerpts for 23 (20 with the joint
/// search only, 9 with the question alone: BENCHMARKS.md "Follow-up questions").
pub fn retrieve_follow_up(
    store: &Store,
    searcher: &Searcher,
    embedder: &Embedder,
    asked: &FollowUp,
    opts: AskOptions,
) -> Result<Retrieved> {
    let searches: Vec<&str> = std::iter::once(asked.search.as_str())
        .chain(asked.alone.as_deref())
        .collect();
    retrieve_all(store, searcher, embedder, &searches, opts)
}

/// Cosine similarity of a stored message's vector to `query` (0 without either).
fn stored_similarity(store: &Store, query: Option<&[f32]>, message_id: &str) -> Result<f32> {
    Ok(match (query, store.get_embedding(message_id, MODEL_ID)?) {
        (Some(q), Some(v)) => crate::simd::dot(q, &v.vector),
        _ => 0.0,
    })
}

/// `messages[at]` as an excerpt of its conversation, with the turn it answers.
fn message_excerpt(
    messages: &[Message],
    at: usize,
    title: &str,
    similarity: f32,
) -> Option<Excerpt> {
    let m = messages.get(at)?;
    Some(Excerpt {
        conversation_id: m.conversation_id.clone(),
        message_id: m.id.clone(),
        message: m.content.clone(),
        sender: m.sender,
        similarity,
        title: title.to_owned(),
        timestamp: m.timestamp,
        previous: at
            .checked_sub(1)
            .and_then(|p| messages.get(p))
            .map(|p| Turn {
                message_id: p.id.clone(),
                sender: p.sender,
                timestamp: p.timestamp,
                content: p.content.clone(),
            }),
    })
}

/// Every message the person wrote in conversation `id` joins `excerpts` (with its similarity
/// to `query` from the stored vectors, and the turn it answers). Asked what they bought,
/// booked or chose, a 0.5B model names the assistant's recommendation or the first option the
/// excerpts mention; the search finds the options, not the person's "Ordered the De'Longhi oil
/// column" or "I've ordered the Pixel" a few turns later. Their whole side of the conversation
/// found first, shown latest first, puts what they did last at the top. On the questions of
/// the six quality sets this reaches (46), 23 right instead of 21, none lost on A to D, and 11
/// cited answers citing the evidence instead of 9 (BENCHMARKS.md "What the person did").
fn add_own_account(
    store: &Store,
    query: Option<&[f32]>,
    id: &str,
    excerpts: &mut Vec<Excerpt>,
) -> Result<Vec<String>> {
    let Some(title) = excerpts
        .iter()
        .find(|e| e.conversation_id == id)
        .map(|e| e.title.clone())
    else {
        return Ok(Vec::new());
    };
    let messages = store.all_messages(id)?;
    let mut added = Vec::new();
    for (at, m) in messages.iter().enumerate() {
        if m.sender != Sender::User || excerpts.iter().any(|e| e.message_id == m.id) {
            continue;
        }
        let similarity = stored_similarity(store, query, &m.id)?;
        excerpts.extend(message_excerpt(&messages, at, &title, similarity));
        added.push(m.id.clone());
    }
    Ok(added)
}

/// The excerpts for one or more searches (one ranking, or their reciprocal rank fusion; a
/// message keeps its best similarity), then the context built from them.
fn retrieve_all(
    store: &Store,
    searcher: &Searcher,
    embedder: &Embedder,
    searches: &[&str],
    opts: AskOptions,
) -> Result<Retrieved> {
    let searches: Vec<&str> = searches.iter().map(|s| s.trim()).collect();
    if searches.is_empty() || searches.iter().any(|s| s.is_empty()) {
        return Err(Error::Invalid("the question is empty".into()));
    }
    let (mut embed_ms, mut search_ms) = (0.0, 0.0);
    let mut ranked: Vec<(f64, Excerpt)> = Vec::new();
    let mut query = None;
    for text in &searches {
        let t0 = Instant::now();
        let q = searcher.embed_query(embedder, text)?;
        query = Some(q.clone());
        embed_ms += t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let hits = searcher.search(
            store,
            text,
            Some(&q),
            &SearchOptions {
                mode: SearchMode::Hybrid,
                limit: opts.max_excerpts * 2,
                per_conversation: opts.per_conversation,
                ..Default::default()
            },
        )?;
        search_ms += t1.elapsed().as_secs_f64() * 1e3;
        let found = hits.hits.into_iter().filter_map(|h| {
            let similarity = h.similarity?;
            (similarity >= opts.min_similarity).then_some(Excerpt {
                conversation_id: h.conversation_id,
                message_id: h.message_id,
                message: h.content,
                sender: h.sender,
                similarity,
                title: h.conversation_title,
                timestamp: h.timestamp,
                previous: h.previous,
            })
        });
        for (rank, e) in found.enumerate() {
            let score = 1.0 / (RRF_K + rank as f64 + 1.0);
            match ranked
                .iter_mut()
                .find(|(_, x)| x.message_id == e.message_id)
            {
                Some((s, x)) => {
                    *s += score;
                    x.similarity = x.similarity.max(e.similarity);
                }
                None => ranked.push((score, e)),
            }
        }
    }
    // A stable sort: one search keeps its own order.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut excerpts: Vec<Excerpt> = ranked
        .into_iter()
        .map(|(_, e)| e)
        .take(opts.max_excerpts)
        .collect();

    // The person's choice in each conversation found, and for a question about a choice the
    // message that makes it, if the search missed it ("Ok, we'll do Tomorrow, and Tomorrow, and
    // Tomorrow for March" shares few words with "Which book did I choose?").
    let mut order: Vec<String> = Vec::new();
    for e in &excerpts {
        if !order.contains(&e.conversation_id) {
            order.push(e.conversation_id.clone());
        }
    }
    let about_a_choice = searches
        .last()
        .is_some_and(|q| choice::asks_for_a_choice(q));
    let mut choices = if about_a_choice {
        decisions_found(
            store,
            query.as_ref().map(|q| q.as_slice()),
            &order,
            &mut excerpts,
        )?
    } else {
        Vec::new()
    };
    // For a question about what the person did ("which phone did I buy in the end?"), the
    // first conversation found is shown whole from their side (see `add_own_account`).
    let own_account = searches
        .last()
        .is_some_and(|q| choice::asks_what_the_person_did(q));
    let mut account = Vec::new();
    if let Some(first) = order.first().filter(|_| own_account) {
        account = add_own_account(
            store,
            query.as_ref().map(|q| q.as_slice()),
            first,
            &mut excerpts,
        )?;
    }

    // Context: conversations in order of their best excerpt, each with title and date, then
    // its excerpts, numbered in the order they are shown; stop at the budget. No summaries: a
    // small model answers from them instead of the excerpts (CI's samples after 8 analyses:
    // set B 3/10 right with them, 5/10 without; set A 7/10 either way).
    let mut shown: Vec<Excerpt> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut context = String::new();
    'conversations: for id in &order {
        let mut group: Vec<&Excerpt> = excerpts
            .iter()
            .filter(|e| &e.conversation_id == id)
            .collect();
        if own_account {
            // Latest first: what was said last is what they did.
            group.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        }
        let Some(first) = group.first() else { continue };
        let mut block = format!(
            "Conversation \"{}\" ({})\n",
            clip(&first.title, 120),
            to_rfc3339(first.timestamp).get(..10).unwrap_or("")
        );
        for e in group {
            // The person asking wrote the user's messages: "I said" matches the "I" and "we"
            // of their questions (a small model otherwise mixes up who is who).
            let who = match e.sender {
                Sender::User => "I said",
                Sender::Ai => "the assistant said",
            };
            // A short reply ("yes, the second one") means little without what it answers.
            let replying = match &e.previous {
                Some(p) if e.message.chars().count() <= SHORT_REPLY => format!(
                    " (replying to {}: \"{}\")",
                    match p.sender {
                        Sender::User => "me",
                        Sender::Ai => "the assistant",
                    },
                    clip(&p.content, 200)
                ),
                _ => String::new(),
            };
            let line = format!(
                "[{}] {} ({}): {}{}\n",
                shown.len() + 1,
                who,
                to_rfc3339(e.timestamp).get(..16).unwrap_or(""),
                clip(&e.message, 700),
                replying
            );
            if context.len() + block.len() + line.len() > opts.budget_chars && !shown.is_empty() {
                break 'conversations;
            }
            block.push_str(&line);
            lines.push(format!(
                "{} {}",
                line.trim_end(),
                date_in_words(e.timestamp)
            ));
            shown.push(e.clone());
        }
        context.push_str(&block);
        context.push('\n');
    }
    excerpts = shown;
    choices.retain(|(id, _)| excerpts.iter().any(|e| &e.conversation_id == id));
    // What they wrote that is not about the question ("Ha. Already got the lights. Thanks!",
    // 0.105) helps the model place the outcome, but is noise in the person's list of sources.
    let context_only = excerpts
        .iter()
        .filter(|e| e.similarity < opts.min_similarity && account.contains(&e.message_id))
        .map(|e| e.message_id.clone())
        .collect();
    Ok(Retrieved {
        excerpts,
        context,
        lines,
        choices,
        context_only,
        own_account,
        timings: AskTimings {
            embed_ms,
            search_ms,
            llm_ms: 0.0,
        },
    })
}

/// The decision a question about a choice asks about in each conversation of `order` that
/// records one ([`choice::pick`]); the message that makes it joins the excerpts of its
/// conversation if the search missed it.
fn decisions_found(
    store: &Store,
    query: Option<&[f32]>,
    order: &[String],
    excerpts: &mut Vec<Excerpt>,
) -> Result<Vec<(String, Choice)>> {
    let similarity = |message_id: &str| stored_similarity(store, query, message_id);
    let mut choices = Vec::new();
    for id in order {
        let messages = store.all_messages(id)?;
        let mut decisions = Vec::new();
        for c in choice::decisions(&messages) {
            let s = similarity(&c.message_id)?;
            decisions.push((c, s));
        }
        let Some(c) = choice::pick(decisions) else {
            continue;
        };
        let missed = !excerpts.iter().any(|e| e.message_id == c.message_id);
        let at = messages.iter().position(|m| m.id == c.message_id);
        let title = excerpts
            .iter()
            .find(|e| &e.conversation_id == id)
            .map(|e| e.title.clone());
        if let (true, Some(at), Some(title)) = (missed, at, title) {
            let similarity = similarity(&c.message_id)?;
            excerpts.extend(message_excerpt(&messages, at, &title, similarity));
        }
        choices.push((id.clone(), c));
    }
    Ok(choices)
}

/// What a 0.5B model follows (tests/fixtures/quality, BENCHMARKS.md "Quality of analyses and
/// Ask answers"): a JSON answer in a few words, then the number of the excerpt that says it.
/// Asked for a sentence with an inline [n], or given a "not found" reply to fall back on, the
/// model copied excerpts whole or answered "not found" with the answer in front of it.
const INSTRUCTIONS: &str = "You answer a person's question about their own past conversations \
with an AI assistant, using only the numbered excerpts from their history. \"I\" in the excerpts \
is the person asking you. Reply in JSON: \"answer\" is the answer in a few words, \"excerpt\" the \
number of the excerpt that says it.";

/// The answer's length limit in the schema: "a few words", with room for a sentence.
const MAX_ANSWER_CHARS: usize = 150;

/// An answer the schema's limit cut off ("Because I picked the one near the station, a") ends
/// at its last whole sentence, or else its last whole word with "…": never mid-word.
fn whole_answer(answer: &str) -> String {
    if answer.chars().count() < MAX_ANSWER_CHARS || answer.ends_with(['.', '!', '?']) {
        return answer.to_owned();
    }
    let sentence_end = answer
        .char_indices()
        .filter(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | ';')
                && answer[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8())
        .next_back()
        .filter(|&end| end >= answer.len() / 3);
    if let Some(end) = sentence_end {
        return answer[..end].to_owned();
    }
    let words = match answer.rfind(char::is_whitespace) {
        Some(at) => answer[..at].trim_end_matches([',', ';', ':', ' ']),
        None => answer,
    };
    format!("{words}…")
}

/// The answer's shape (`response_format`): a short answer, then the excerpt it came from.
fn answer_schema(excerpts: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
            "excerpt": {"type": "integer", "minimum": 1, "maximum": excerpts.max(1)}
        },
        "required": ["answer", "excerpt"],
        "additionalProperties": false
    })
}

/// The answer when the model's answer is not in the excerpts it was given.
pub const NOT_IN_EXCERPTS: &str =
    "I could not find that in your history; the closest messages are below.";

/// Phrases by which a model says it found nothing.
const NOTHING_PHRASES: [&str; 6] = [
    "not found",
    "could not find",
    "couldn't find",
    "cannot find",
    "no excerpt",
    "not mentioned",
];

/// Words that say nothing about which excerpt an answer came from.
const STOP_WORDS: [&str; 38] = [
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "is", "was", "were", "be",
    "my", "our", "your", "i", "we", "you", "it", "its", "that", "this", "with", "from", "by", "as",
    "are", "did", "do", "does", "what", "which", "who", "when", "where",
];

/// The lower-case words and numbers of `text` that can tie an answer to an excerpt.
fn content_words(text: &str) -> std::collections::HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// The share of `answer`'s words that `line` holds (1.0 for an answer with no content words).
fn support(answer: &std::collections::HashSet<String>, line: &str) -> f32 {
    if answer.is_empty() {
        return 1.0;
    }
    let line = content_words(line);
    answer.iter().filter(|w| line.contains(*w)).count() as f32 / answer.len() as f32
}

/// Below this share of its words found in an excerpt, an answer is taken as made up.
const MIN_SUPPORT: f32 = 0.5;

/// Which excerpt (1-based) to cite for `answer`: the one holding most of its words, the
/// model's own choice on a tie (a small model's number is often just "2"; the words are
/// better evidence). `None` when no excerpt holds enough of them.
fn attribute(answer: &str, chosen: Option<usize>, lines: &[String]) -> Option<usize> {
    let words = content_words(answer);
    let scored: Vec<f32> = lines.iter().map(|l| support(&words, l)).collect();
    let chosen_score = chosen
        .and_then(|k| scored.get(k.wrapping_sub(1)).copied())
        .unwrap_or(-1.0);
    let (best, best_score) =
        scored
            .iter()
            .enumerate()
            .fold((None, -1.0f32), |(bi, bs), (i, &s)| {
                if s > bs {
                    (Some(i + 1), s)
                } else {
                    (bi, bs)
                }
            });
    let (k, score) = if chosen_score >= best_score {
        (chosen, chosen_score)
    } else {
        (best, best_score)
    };
    k.filter(|_| score >= MIN_SUPPORT)
}

/// The answer text and the excerpt number the model gave, from its JSON (also from a reply
/// cut off inside the answer string); a reply that is not JSON (a server that ignores
/// `response_format`) is taken as the answer itself.
fn parse_reply(text: &str) -> (String, Option<usize>) {
    let text = text.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if let Some(answer) = v["answer"].as_str() {
            let k = v["excerpt"].as_u64().and_then(|k| usize::try_from(k).ok());
            return (answer.trim().to_owned(), k);
        }
    }
    if text.starts_with('{') {
        // Cut off by the token limit: what there is of the answer string.
        if let Some(rest) = value_start(text).map(|s| &text[s..]) {
            let mut out = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => out.push(' '),
                        Some(c) => out.push(c),
                        None => break,
                    },
                    c => out.push(c),
                }
            }
            return (out.trim().to_owned(), None);
        }
        return (String::new(), None);
    }
    (text.to_owned(), None)
}

/// Below this mean log-probability of its tokens the model is guessing: ln 0.5, a token at
/// less than even odds on average. On both Ask evaluation sets (tests/fixtures/quality) the
/// answers to questions the history cannot answer fall below it (a dog's name answered with
/// the cat's, an airline answered with a neighbourhood), and few right answers do; see
/// BENCHMARKS.md.
pub const MIN_CONFIDENCE: f32 = -std::f32::consts::LN_2;

/// The mean log-probability of the tokens of the JSON reply's answer string (from its opening
/// quote's end to its closing quote), or `None` without log-probabilities.
fn answer_confidence(tokens: &[TokenLogprob]) -> Option<f32> {
    let mut text = String::new();
    let mut start: Option<usize> = None;
    let mut sum = 0.0f32;
    let mut n = 0usize;
    for t in tokens {
        let before = text.len();
        text.push_str(&t.text);
        if start.is_none() {
            start = value_start(&text);
        }
        // A token counts if it holds some of the value (it may also hold the opening quote);
        // the closing quote alone does not: how sure the model is of the answer, not of where
        // it ends (which depends on the JSON's spacing, unlike the answer).
        let Some(s) = start.filter(|&s| text.len() > s) else {
            continue;
        };
        let value = &text[s.max(before)..];
        let end = value.find('"');
        if end != Some(0) {
            sum += t.logprob;
            n += 1;
        }
        if end.is_some() {
            break;
        }
    }
    (n > 0).then(|| sum / n as f32)
}

/// Where the value of `"answer": "` starts in `text` (just after its opening quote).
fn value_start(text: &str) -> Option<usize> {
    let key = text.find("\"answer\"")? + "\"answer\"".len();
    let rest = &text[key..];
    let colon = rest.trim_start().strip_prefix(':')?;
    let quote = colon.trim_start().strip_prefix('"')?;
    Some(text.len() - quote.len())
}

/// The reply as the person sees it: the answer with its citation, or the plain word that
/// the history does not say, never an answer no excerpt supports or the model guessed.
fn finish_answer(reply: &str, lines: &[String], confidence: Option<f32>) -> String {
    let (answer, chosen) = parse_reply(reply);
    if answer.is_empty() {
        return String::new();
    }
    let answer = whole_answer(&answer);
    if confidence.is_some_and(|c| c < MIN_CONFIDENCE) {
        return NOT_IN_EXCERPTS.to_owned();
    }
    let lower = answer.to_lowercase();
    if NOTHING_PHRASES.iter().any(|p| lower.contains(p)) {
        return NOT_IN_EXCERPTS.to_owned();
    }
    // A question is no answer: asked "Where did we decide to spend Christmas?" with nothing
    // decided, the model copies the person's own "Brisbane or Hobart?". The only such answer
    // on the six quality sets (BENCHMARKS.md "An answer that asks").
    if answer.trim_end().ends_with('?') {
        return NOT_IN_EXCERPTS.to_owned();
    }
    // A free-text reply that cites for itself keeps its own citations.
    if chosen.is_none() && answer.contains('[') {
        return answer;
    }
    match attribute(&answer, chosen, lines) {
        Some(k) => {
            let answer = answer.trim_end_matches(['.', ' ']);
            format!("{answer} [{k}]")
        }
        None => NOT_IN_EXCERPTS.to_owned(),
    }
}

/// Does `answer` only repeat words of `question` ("What's the name of Ellie's best friend?" →
/// "Ellie")? Then it answers nothing: a small model with no answer in the excerpts names
/// what the question names. Not for a choice ("Ribeira or Bonfim?"), whose answer is in it.
/// On the four Ask sets (BENCHMARKS.md) it changes one answer, a no-answer question's.
fn echoes_question(answer: &str, question: &str) -> bool {
    let choice = question
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("or"));
    let words = content_words(answer);
    let asked = content_words(question);
    !choice
        && !words.is_empty()
        && words.iter().all(|w| {
            asked.contains(w)
                || asked.contains(&format!("{w}s"))
                || w.strip_suffix('s').is_some_and(|s| asked.contains(s))
        })
}

/// One greedy request for a JSON answer over `context`: the reply and how sure the model was
/// of its answer's words.
async fn ask_model(
    llm: &Llm,
    context: &str,
    question: &str,
    excerpts: usize,
) -> Result<(String, Option<f32>)> {
    let messages = [
        ChatMessage::new(Role::System, INSTRUCTIONS),
        ChatMessage::new(
            Role::User,
            format!("Excerpts:\n{context}\nQuestion: {}", question.trim()),
        ),
    ];
    // Greedy: the same question over the same history gets the same answer from the same
    // model (and the quality check in CI is reproducible). The reply is a few words of JSON,
    // so it is sent on once it is whole.
    let extra = serde_json::json!({
        "temperature": 0.0,
        "seed": 7,
        "max_tokens": 128,
        "logprobs": true,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "history_answer", "strict": true, "schema": answer_schema(excerpts)}
        }
    });
    let (reply, finish) = llm
        .complete_with_finish(Purpose::Ask, &messages, Some(extra))
        .await?;
    Ok((reply, answer_confidence(&finish.logprobs)))
}

/// "2026-05-31 [6]" → "Sunday 31 May 2026 [6]": a date the model took from a time stamp, as
/// a person writes it. Any other answer is unchanged.
fn stamp_in_words(answer: String) -> String {
    let (text, citation) = match answer.rfind(" [") {
        Some(at) if answer.ends_with(']') => answer.split_at(at),
        _ => (answer.as_str(), ""),
    };
    match stamp_date(text) {
        Some(date) => format!("{}{citation}", date.format("%A %-d %B %Y")),
        None => answer,
    }
}

/// The number in an answer's closing citation ("Ribeira [2]" → 2).
fn citation(answer: &str) -> Option<usize> {
    let inner = answer.strip_suffix(']')?;
    inner[inner.rfind('[')? + 1..].parse().ok()
}

/// An answer to "which … did I pick?" that cites a conversation recording the person's choice
/// ([`choice::decisions`]) but names something else ("Ribeira [2]", the place first mentioned):
/// the choice, cited to the message that makes it, if that is one of the excerpts.
fn the_choice(answer: String, text: &str, retrieved: &Retrieved) -> String {
    let Some(cited) = citation(&answer).and_then(|k| retrieved.excerpts.get(k.wrapping_sub(1)))
    else {
        return answer;
    };
    let Some((_, chosen)) = retrieved
        .choices
        .iter()
        .find(|(id, _)| *id == cited.conversation_id)
    else {
        return answer;
    };
    let Some(option) = chosen.option.as_deref() else {
        return answer;
    };
    if choice::answer_names(text, option) {
        return answer;
    }
    match retrieved
        .excerpts
        .iter()
        .position(|e| e.message_id == chosen.message_id)
    {
        Some(j) => format!("{option} [{}]", j + 1),
        None => answer,
    }
}

/// The excerpts the person is shown as sources: all but those in `context_only` that the
/// answer neither cites nor is found in, with the answer's citations ("[5]") renumbered to
/// match the list. A context-only line holding at least [`MIN_SUPPORT`] of the answer's words
/// stays: "Decision made, we're staying in Ribeira" (0.28, under the relevance cut) is the
/// evidence for "Ribeira", even when the model cites another line naming it.
fn sources(
    answer: &str,
    excerpts: Vec<Excerpt>,
    context_only: &[String],
) -> (String, Vec<Excerpt>) {
    let cited = citations(answer);
    let numbers: Vec<String> = cited.iter().map(usize::to_string).collect();
    let mut words = content_words(answer);
    words.retain(|w| !numbers.contains(w));
    let fixed = [NOT_IN_EXCERPTS, STOPPED, EMPTY_ANSWER].contains(&answer);
    let holds_the_answer =
        |e: &Excerpt| !fixed && !words.is_empty() && support(&words, &e.message) >= MIN_SUPPORT;
    let mut number: Vec<Option<usize>> = Vec::with_capacity(excerpts.len());
    let mut shown = Vec::with_capacity(excerpts.len());
    for (k, e) in excerpts.into_iter().enumerate() {
        if cited.contains(&(k + 1)) || !context_only.contains(&e.message_id) || holds_the_answer(&e)
        {
            shown.push(e);
            number.push(Some(shown.len()));
        } else {
            number.push(None);
        }
    }
    let renumbered =
        rewrite_citations(answer, |n| number.get(n.wrapping_sub(1)).copied().flatten());
    (renumbered, shown)
}

/// The numbers of every "[n]" in `text`.
fn citations(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    rewrite_citations(text, |n| {
        found.push(n);
        None
    });
    found
}

/// `text` with each "[n]" given the number `to(n)` returns (unchanged where it returns None).
fn rewrite_citations(text: &str, mut to: impl FnMut(usize) -> Option<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        match after[digits..]
            .starts_with(']')
            .then(|| after[..digits].parse::<usize>())
        {
            Some(Ok(n)) => {
                out.push_str(&format!("[{}]", to(n).unwrap_or(n)));
                rest = &after[digits + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An answer about what the person did that cites the assistant ("oil column heater", cited to
/// its list of heaters) cites instead the person's own line holding as many of its words, if
/// one holds enough ("Ordered the De'Longhi oil column"): what they did is shown by what they
/// said, not by what they were offered.
fn cite_own_words(answer: String, text: &str, retrieved: &Retrieved) -> String {
    let Some(k) = citation(&answer) else {
        return answer;
    };
    if retrieved
        .excerpts
        .get(k.wrapping_sub(1))
        .is_none_or(|e| e.sender == Sender::User)
    {
        return answer;
    }
    let words = content_words(text);
    let own = retrieved
        .excerpts
        .iter()
        .zip(&retrieved.lines)
        .enumerate()
        .filter(|(_, (e, _))| e.sender == Sender::User)
        .map(|(j, (_, line))| (j + 1, support(&words, line)))
        .filter(|&(_, s)| s >= MIN_SUPPORT)
        .fold(None, |best: Option<(usize, f32)>, (j, s)| match best {
            Some((_, b)) if b >= s => best,
            _ => Some((j, s)),
        });
    match own {
        Some((j, _)) => format!("{}[{j}]", &answer[..answer.len() - format!("[{k}]").len()]),
        None => answer,
    }
}

/// What the answer is when the model wrote nothing.
pub const EMPTY_ANSWER: &str =
    "The model returned an empty answer; the excerpts below are what your history holds. Try asking again.";

/// A question as it is searched for and shown to the model. A follow-up ("and where did we
/// stay there?") means little alone: it is searched for together with the question before it
/// in the thread, and the model is told what it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub search: String,
    /// The question alone, searched for too when it follows another.
    pub alone: Option<String>,
    pub question: String,
}

pub fn follow_up(previous: Option<&str>, question: &str) -> FollowUp {
    let question = question.trim();
    match previous.map(str::trim).filter(|p| !p.is_empty()) {
        None => FollowUp {
            search: question.to_owned(),
            alone: None,
            question: question.to_owned(),
        },
        Some(previous) => FollowUp {
            search: format!("{previous}\n{question}"),
            alone: Some(question.to_owned()),
            question: format!("{question} (asked after: \"{previous}\")"),
        },
    }
}

/// Keeps a question and what it got in the store's list of past questions (not a stopped
/// one: it has no answer).
pub fn remember(store: &Store, question: &str, result: &AskResult) -> Result<()> {
    if result.answer == STOPPED {
        return Ok(());
    }
    store.save_asked(
        question,
        &result.answer,
        &serde_json::to_value(&result.excerpts)?,
    )?;
    Ok(())
}

/// [`answer`], unless `stop` is cancelled first: then the model is dropped mid-reply (a
/// server's stream is closed, the built-in engine stops at its next token) and the result
/// keeps the excerpts found, with [`STOPPED`] for the answer.
pub async fn answer_until(
    llm: &Llm,
    question: &str,
    retrieved: Retrieved,
    tokens: mpsc::Sender<String>,
    stop: &CancellationToken,
) -> Result<AskResult> {
    let (_, excerpts) = sources(STOPPED, retrieved.excerpts.clone(), &retrieved.context_only);
    let timings = retrieved.timings.clone();
    tokio::select! {
        result = answer(llm, question, retrieved, tokens) => result,
        () = stop.cancelled() => Ok(AskResult {
            answer: STOPPED.to_owned(),
            excerpts,
            timings,
        }),
    }
}

/// Streams the answer to `tokens` (each piece as it arrives) and returns the whole result.
pub async fn answer(
    llm: &Llm,
    question: &str,
    retrieved: Retrieved,
    tokens: mpsc::Sender<String>,
) -> Result<AskResult> {
    let mut timings = retrieved.timings.clone();
    if retrieved.excerpts.is_empty() {
        let _ = tokens.send(NOTHING_FOUND.to_owned()).await;
        return Ok(AskResult {
            answer: NOTHING_FOUND.to_owned(),
            excerpts: Vec::new(),
            timings,
        });
    }
    let best = retrieved
        .excerpts
        .iter()
        .map(|e| e.similarity)
        .fold(f32::MIN, f32::max);
    if best < MIN_ANSWER_SIMILARITY {
        tracing::info!(
            excerpts = retrieved.excerpts.len(),
            best,
            "ask: nothing close enough to answer from"
        );
        let _ = tokens.send(NOT_IN_EXCERPTS.to_owned()).await;
        let (answer, excerpts) =
            sources(NOT_IN_EXCERPTS, retrieved.excerpts, &retrieved.context_only);
        return Ok(AskResult {
            answer,
            excerpts,
            timings,
        });
    }
    tracing::debug!(context = %retrieved.context, "ask: the excerpts the model reads");
    let t0 = Instant::now();
    let n = retrieved.excerpts.len();
    let (reply, confidence) = ask_model(llm, &retrieved.context, question, n).await?;
    timings.llm_ms = t0.elapsed().as_secs_f64() * 1e3;
    tracing::debug!(%reply, "ask: the model's reply");
    let mut answer = finish_answer(&reply, &retrieved.lines, confidence);
    let (text, chosen) = parse_reply(&reply);
    // "When is Ellie's birthday?" answered with the day a message mentioning her was written:
    // the model copied the excerpt's time stamp. On the four Ask sets every such answer to a
    // question about an event's date was wrong (8 of 8, two of them no-answer questions). The
    // date is then read from the text of the excerpts whose stamp was copied and of the one the
    // model chose, if together they name one date ("ellie turns 9 on june 6th" → "6 June");
    // otherwise there is no answer.
    let copied: Vec<usize> = if asks_for_an_events_date(question) {
        let excerpts = retrieved.excerpts.iter().enumerate();
        excerpts
            .filter(|(_, e)| names_the_day_of(&text, e.timestamp))
            .map(|(k, _)| k + 1)
            .collect()
    } else {
        Vec::new()
    };
    // A measure is no price ("How much did the engineer charge?" → "1.5 bar"): on the six
    // quality sets, two no-answer questions' answers, and no right one (BENCHMARKS.md "An
    // answer that asks, a measure for a price").
    let not_a_price = price::asks_for_a_price(question) && price::names_a_measure(&text);
    if echoes_question(&text, question) || not_a_price {
        answer = NOT_IN_EXCERPTS.to_owned();
    } else if !copied.is_empty() {
        answer = match date_told(
            &retrieved.excerpts,
            chosen.into_iter().chain(copied),
            &owners_named(question),
        ) {
            Some((date, k)) => format!("{date} [{k}]"),
            None => NOT_IN_EXCERPTS.to_owned(),
        };
    }
    // Decided once, where the question is searched for: `choices` is empty unless it asks
    // about a choice (a follow-up's `question` also carries the one before it).
    if !retrieved.choices.is_empty() {
        answer = the_choice(answer, &text, &retrieved);
    }
    if retrieved.own_account {
        answer = cite_own_words(answer, &text, &retrieved);
    }
    answer = stamp_in_words(answer);
    if answer.is_empty() {
        // A small model can stop at once; the excerpts are still worth showing, with a word.
        answer = EMPTY_ANSWER.to_owned();
    }
    let (answer, excerpts) = sources(&answer, retrieved.excerpts, &retrieved.context_only);
    tracing::info!(
        excerpts = excerpts.len(),
        embed_ms = timings.embed_ms,
        search_ms = timings.search_ms,
        llm_ms = timings.llm_ms,
        confidence,
        answered = !matches!(answer.as_str(), NOT_IN_EXCERPTS | EMPTY_ANSWER),
        "ask answered"
    );
    let _ = tokens.send(answer.clone()).await;
    Ok(AskResult {
        answer,
        excerpts,
        timings,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn an_answer_cut_by_the_length_limit_ends_on_a_whole_sentence_or_word() {
        let short = "Bonfim, near the metro";
        assert_eq!(whole_answer(short), short);
        let sentences = format!(
            "We picked Bonfim in the end. It is quiet, cheap and near the metro. {}, a",
            "Because it is near the station and the river walk ".repeat(2)
        );
        assert!(sentences.chars().count() >= MAX_ANSWER_CHARS);
        assert_eq!(
            whole_answer(&sentences),
            "We picked Bonfim in the end. It is quiet, cheap and near the metro."
        );
        let one = format!(
            "Because I picked {}in Lisbon, a",
            "the one near the river ".repeat(6)
        );
        let cut = whole_answer(&one);
        assert!(cut.ends_with("in Lisbon…"), "{cut}");
        let whole = format!("{}in Lisbon.", "the one near the river ".repeat(7));
        assert_eq!(
            whole_answer(&whole),
            whole,
            "it ended at the limit, but whole"
        );
        // The citation goes after the shortened answer.
        let reply = format!("{{\"answer\": \"{sentences}\", \"excerpt\": 1}}");
        let lines = vec![
            "[1] I said: We picked Bonfim in the end, quiet, cheap and near the metro.".to_owned(),
        ];
        assert_eq!(
            finish_answer(&reply, &lines, None),
            "We picked Bonfim in the end. It is quiet, cheap and near the metro [1]"
        );
    }

    #[test]
    fn dates_are_read_from_a_message_as_people_write_them() {
        let d = |t: &str| dates_named(t);
        assert_eq!(
            d("ellie turns 9 on june 6th and wants a unicorn cake"),
            ["6 June"]
        );
        assert_eq!(
            d("packing day is saturday 12 december. rota by end of september"),
            ["Saturday 12 December"]
        );
        assert_eq!(d("museum on 24 april. pay £12 by friday"), ["24 April"]);
        assert_eq!(
            d("the 3rd of Sept, then Oct 14"),
            ["3 September", "14 October"]
        );
        // One date named twice is one date; a year or a price is no day.
        assert_eq!(d("24 April … yes, 24 april"), ["24 April"]);
        assert!(d("I may buy 2 in 2026 for £60").is_empty());
        assert!(d("April 2026 was busy").is_empty());
    }

    /// An excerpt of conversation "c" whose id is its text.
    fn test_excerpt(sender: Sender, text: &str) -> Excerpt {
        Excerpt {
            conversation_id: "c".into(),
            message_id: text.into(),
            message: text.into(),
            sender,
            similarity: 0.5,
            title: "t".into(),
            timestamp: 0,
            previous: None,
        }
    }

    #[test]
    fn a_copied_stamp_gives_way_to_the_one_date_its_excerpts_name() {
        let excerpt = |text: &str| test_excerpt(Sender::User, text);
        let ex = [
            excerpt("first hamper meeting went ok"),
            excerpt("packing day is saturday 12 december"),
            excerpt("ellie turns 9 on june 6th"),
        ];
        assert_eq!(
            date_told(&ex, [1, 2].into_iter(), &[]),
            Some(("Saturday 12 December".to_owned(), 2))
        );
        // Two dates: which one is meant is not known, so none is told.
        assert_eq!(date_told(&ex, [2, 3].into_iter(), &[]), None);
        assert_eq!(date_told(&ex, [1, 9, 0].into_iter(), &[]), None);
        // Whose date: Ellie's birthday is hers, a customer's wedding is not my sister's.
        let owners = owners_named("When is Ellie's birthday?");
        assert_eq!(owners, ["ellie"]);
        assert_eq!(
            date_told(&ex, [2, 3].into_iter(), &owners),
            Some(("6 June".to_owned(), 3))
        );
        let wedding = [excerpt(
            "the Hendersons' wedding is on saturday 21 november",
        )];
        let owners = owners_named("When is my sister's wedding?");
        assert_eq!(owners, ["sister"]);
        assert_eq!(date_told(&wedding, [1].into_iter(), &owners), None);
        assert_eq!(
            owners_named("When is my wedding anniversary with Paweł?"),
            ["paweł"]
        );
        assert!(owners_named("What date do we fly out to Porto?") == ["porto"]);
        assert!(owners_named("When do they want to see her again?").is_empty());
    }

    #[test]
    fn context_only_lines_are_shown_as_sources_when_cited_or_holding_the_answer() {
        let excerpt = |text: &str| test_excerpt(Sender::User, text);
        let ex: Vec<Excerpt> = ["cheers", "ordered the oil column", "fan or heater?", "ok"]
            .iter()
            .map(|t| excerpt(t))
            .collect();
        let only = ["cheers".to_owned(), "ok".to_owned()];
        let ids = |v: &[Excerpt]| v.iter().map(|e| e.message_id.clone()).collect::<Vec<_>>();
        // Not cited: left out, and the citations that follow them renumbered.
        let (answer, shown) = sources("Oil column [2]", ex.clone(), &only);
        assert_eq!(answer, "Oil column [1]");
        assert_eq!(ids(&shown), ["ordered the oil column", "fan or heater?"]);
        let (answer, _) = sources("The heater [3] or [2]; see [x] and [12]", ex.clone(), &only);
        assert_eq!(answer, "The heater [2] or [1]; see [x] and [12]");
        // Cited: shown, whatever its similarity.
        let (answer, shown) = sources("Cheers [1]", ex.clone(), &only);
        assert_eq!(answer, "Cheers [1]");
        assert_eq!(shown.len(), 3);
        // No answer, nothing to renumber; nothing context-only, nothing changes.
        let (answer, shown) = sources(NOT_IN_EXCERPTS, ex.clone(), &only);
        assert_eq!((answer.as_str(), shown.len()), (NOT_IN_EXCERPTS, 2));
        let (answer, shown) = sources("Oil column [2]", ex.clone(), &[]);
        assert_eq!((answer.as_str(), shown.len()), ("Oil column [2]", 4));
        // Holding the answer, cited or not: shown, and the numbers follow the list.
        let ex: Vec<Excerpt> = [
            "cheers",
            "decision made, staying in Ribeira",
            "Ribeira from the airport?",
        ]
        .iter()
        .map(|t| excerpt(t))
        .collect();
        let only = [
            "cheers".to_owned(),
            "decision made, staying in Ribeira".to_owned(),
        ];
        let (answer, shown) = sources("Ribeira [3]", ex.clone(), &only);
        assert_eq!(answer, "Ribeira [2]");
        assert_eq!(
            ids(&shown),
            [
                "decision made, staying in Ribeira",
                "Ribeira from the airport?"
            ]
        );
        // A citation number is no word of the answer, and a fixed reply holds none.
        let ex = vec![excerpt("2 cheers"), excerpt("the heaters")];
        let only = ["2 cheers".to_owned()];
        assert_eq!(sources("Heaters [2]", ex.clone(), &only).1.len(), 1);
        assert_eq!(sources("2 heaters [2]", ex.clone(), &only).1.len(), 1);
        assert_eq!(sources("2 [2]", ex.clone(), &only).1.len(), 1);
        assert_eq!(sources(STOPPED, ex, &only).1.len(), 1);
    }

    #[test]
    fn what_the_person_did_is_cited_to_their_own_words() {
        let excerpt = test_excerpt;
        let offered = "Oil column heater: $150-$250, silent. Fan heater: $40, noisy.";
        let said = "Righto. Ordered the De'Longhi oil column from Bunnings for $249.";
        let retrieved = Retrieved {
            excerpts: vec![
                excerpt(Sender::Ai, offered),
                excerpt(Sender::User, said),
                excerpt(Sender::User, "Will do. Cheers."),
            ],
            context: String::new(),
            lines: vec![
                format!("[1] the assistant said (2026-08-03T19:00): {offered}"),
                format!("[2] I said (2026-08-03T19:05): {said}"),
                "[3] I said (2026-08-03T19:09): Will do. Cheers.".to_owned(),
            ],
            choices: Vec::new(),
            context_only: Vec::new(),
            own_account: true,
            timings: AskTimings::default(),
        };
        let cite = |answer: &str, text: &str| cite_own_words(answer.to_owned(), text, &retrieved);
        assert_eq!(
            cite("oil column heater [1]", "oil column heater"),
            "oil column heater [2]"
        );
        // Their words already cited, or none of theirs holding the answer: unchanged.
        assert_eq!(cite("De'Longhi [2]", "De'Longhi"), "De'Longhi [2]");
        assert_eq!(cite("Fan heater [1]", "Fan heater"), "Fan heater [1]");
        assert_eq!(cite("no citation", "no citation"), "no citation");
    }

    #[test]
    fn a_follow_up_is_searched_with_the_question_before_it() {
        assert_eq!(
            follow_up(None, "  Where did we stay in Porto? "),
            FollowUp {
                search: "Where did we stay in Porto?".into(),
                alone: None,
                question: "Where did we stay in Porto?".into()
            }
        );
        let f = follow_up(Some("When did we go to Porto?"), "And where did we stay?");
        assert_eq!(f.search, "When did we go to Porto?\nAnd where did we stay?");
        assert_eq!(f.alone.as_deref(), Some("And where did we stay?"));
        assert_eq!(
            f.question,
            "And where did we stay? (asked after: \"When did we go to Porto?\")"
        );
        assert_eq!(follow_up(Some("  "), "q").search, "q");
    }

    fn lines() -> Vec<String> {
        vec![
            "[1] I said (2026-01-12T20:15): We fly out on Friday 17 April.".to_owned(),
            "[2] the assistant said (2026-01-12T20:16): Ribeira is on the Douro, Cedofeita is quieter.".to_owned(),
            "[3] I said (2026-01-12T20:20): Booked Casa da Ribeira, €120 a night!".to_owned(),
        ]
    }

    #[test]
    fn the_citation_goes_to_the_excerpt_that_holds_the_answer() {
        // The model's number is kept when its excerpt holds the answer as well as any other.
        assert_eq!(
            finish_answer(
                r#"{"answer": "Casa da Ribeira", "excerpt": 3}"#,
                &lines(),
                None
            ),
            "Casa da Ribeira [3]"
        );
        // A wrong number is corrected to the excerpt with most of the answer's words.
        assert_eq!(
            finish_answer(
                r#"{"answer": "Friday 17 April.", "excerpt": 2}"#,
                &lines(),
                None
            ),
            "Friday 17 April [1]"
        );
        // A tie keeps the model's choice.
        assert_eq!(
            finish_answer(r#"{"answer": "Ribeira", "excerpt": 2}"#, &lines(), None),
            "Ribeira [2]"
        );
    }

    #[test]
    fn an_answer_no_excerpt_supports_is_not_given() {
        assert_eq!(
            finish_answer(
                r#"{"answer": "a tennis racket", "excerpt": 1}"#,
                &lines(),
                None
            ),
            NOT_IN_EXCERPTS
        );
        assert_eq!(
            finish_answer(r#"{"answer": "Not found", "excerpt": 1}"#, &lines(), None),
            NOT_IN_EXCERPTS
        );
        // A question is no answer, though an excerpt holds its words.
        assert_eq!(
            finish_answer(
                r#"{"answer": "Ribeira or Cedofeita?", "excerpt": 2}"#,
                &lines(),
                None
            ),
            NOT_IN_EXCERPTS
        );
        // An out-of-range number is no help; the words decide.
        assert_eq!(
            finish_answer(r#"{"answer": "Cedofeita", "excerpt": 9}"#, &lines(), None),
            "Cedofeita [2]"
        );
    }

    fn tokens(pieces: &[(&str, f32)]) -> Vec<TokenLogprob> {
        pieces
            .iter()
            .map(|&(text, logprob)| TokenLogprob {
                text: text.to_owned(),
                logprob,
            })
            .collect()
    }

    #[test]
    fn an_answer_that_only_repeats_the_question_is_no_answer() {
        assert!(echoes_question(
            "Ellie",
            "What's the name of Ellie's best friend?"
        ));
        assert!(echoes_question(
            "the boiler.",
            "How much did the engineer charge to fix the boiler?"
        ));
        assert!(!echoes_question(
            "Maya",
            "What's the name of Ellie's best friend?"
        ));
        assert!(!echoes_question(
            "Bonfim",
            "Did we stay in Ribeira or Bonfim?"
        ));
        assert!(!echoes_question("", "Where did we stay?"));
    }

    #[test]
    fn dates_copied_from_time_stamps_are_told_apart_and_written_in_words() {
        assert!(stamp_date("2026-05-31").is_some());
        assert!(stamp_date("2026-08-20T21:06").is_some());
        assert!(stamp_date("31 May 2026").is_none());
        assert!(stamp_date("2026-05-31 at the latest").is_none());
        assert_eq!(
            stamp_in_words("2026-05-31 [6]".into()),
            "Sunday 31 May 2026 [6]"
        );
        assert_eq!(
            stamp_in_words("2026-08-20T21:06".into()),
            "Thursday 20 August 2026"
        );
        assert_eq!(stamp_in_words("Ribeira [2]".into()), "Ribeira [2]");
        assert!(asks_for_an_events_date("When is Ellie's birthday?"));
        assert!(asks_for_an_events_date(
            "What date does my mother arrive from Kraków?"
        ));
        assert!(asks_for_an_events_date("When's the school trip?"));
        assert!(!asks_for_an_events_date(
            "When did I get the Team Lead promotion?"
        ));
        assert!(!asks_for_an_events_date(
            "In which month did I complain about the noise?"
        ));
        assert!(!asks_for_an_events_date("Where did we stay in Porto?"));
        // 2026-04-15T09:30Z
        let written = 1_776_245_400_000;
        assert!(names_the_day_of("2026-04-15", written));
        assert!(names_the_day_of("Wednesday 15 April 2026", written));
        assert!(names_the_day_of("April 15th", written));
        assert!(!names_the_day_of("24 April", written));
        assert!(!names_the_day_of("Saturday", written));
    }

    #[test]
    fn a_guessed_answer_is_not_given() {
        // Only the answer's own tokens count: not the structure's, not the closing quote.
        let reply = tokens(&[
            ("{", -3.0),
            ("\"", 0.0),
            ("answer", 0.0),
            ("\":", 0.0),
            (" \"", -0.1),
            ("Rib", -0.2),
            ("eira", -0.1),
            ("\",", -0.3),
            (" \"excerpt\": 3}", -5.0),
        ]);
        let c = answer_confidence(&reply).unwrap();
        assert!((c - (-0.15)).abs() < 1e-6, "{c}");
        let json = r#"{"answer": "Casa da Ribeira", "excerpt": 3}"#;
        assert_eq!(
            finish_answer(json, &lines(), Some(c)),
            "Casa da Ribeira [3]"
        );
        assert_eq!(finish_answer(json, &lines(), Some(-1.2)), NOT_IN_EXCERPTS);
        // The opening quote and the first letters in one token.
        let fused = tokens(&[("{\"answer\": \"Rib", -0.4), ("eira\"}", -0.2)]);
        assert!((answer_confidence(&fused).unwrap() - (-0.3)).abs() < 1e-6);
        // No log-probabilities (a server that does not give them): no judgement.
        assert_eq!(answer_confidence(&[]), None);
        assert_eq!(answer_confidence(&tokens(&[("Ribeira", -4.0)])), None);
    }

    #[test]
    fn replies_that_are_not_whole_json_are_read_as_well_as_they_can_be() {
        // Cut off by the token limit inside the answer.
        assert_eq!(
            parse_reply(r#"{"answer": "Casa da \"Ribeira"#),
            ("Casa da \"Ribeira".to_owned(), None)
        );
        assert_eq!(
            finish_answer(r#"{"answer": "Casa da Rib"#, &lines(), None),
            "Casa da Rib [3]"
        );
        assert_eq!(parse_reply(r#"{"excerpt": 2"#), (String::new(), None));
        // A server that ignores response_format: free text with its own citations is kept.
        assert_eq!(
            finish_answer("You stayed in Ribeira [3].", &lines(), None),
            "You stayed in Ribeira [3]."
        );
        assert_eq!(
            finish_answer("You stayed in Ribeira.", &lines(), None),
            "You stayed in Ribeira [2]"
        );
        assert_eq!(finish_answer("  ", &lines(), None), "");
    }
}
