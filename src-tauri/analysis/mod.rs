//! The conversation analyzer: asks the LLM for a summary, topics, sentiment, action items and
//! key points of an ended conversation, with structured output (`response_format` JSON
//! schema), a tolerant parser and one repair retry. A conversation longer than the context
//! budget has the assistant's replies cut to their openings (`condense.rs`); if it still does
//! not fit, it is analysed in chunks (map) whose analyses are merged by the LLM (reduce); action
//! items of every chunk are kept. In an English conversation the action items are instead the
//! commitments found in the person's own words (`commitments.rs`: measured better than the
//! built-in models' lists).
mod commitments;
mod condense;
mod decisions;
mod doubts;
mod parse;
mod prompt;
mod queue;
mod settings;
mod summary;

use std::collections::HashSet;

pub use commitments::{commitments, reads_as_english};
pub use decisions::add_decisions;
pub use doubts::doubts;
pub use parse::parse_analysis;
pub use prompt::{chunk_transcript, schema};
pub use queue::AnalysisQueue;
pub use settings::AnalysisSettings;
pub use summary::{without_cut_off_end, without_pasted_questions};

use crate::chat::SharedStore;
use crate::error::{Error, Result};
use crate::llm::{ChatMessage, Llm, LlmSettings, Purpose, Role};
use crate::locking::lock;
use crate::store::{AnalysisState, ConversationAnalysis, Message, NewAnalysis};

/// Longest answer asked for, in tokens (the schema bounds every field).
const MAX_ANSWER_TOKENS: u32 = 500;

/// How much conversation text goes into one request.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// Characters of transcript (or merged parts) per request.
    pub budget_chars: usize,
    pub max_tokens: u32,
}

impl AnalyzeOptions {
    /// The chat prompt budget of the settings, less the instructions and room for the answer
    /// (≈ 4 characters per token).
    pub fn from_settings(settings: &LlmSettings) -> Self {
        let overhead = prompt::analyse_instructions().len() + MAX_ANSWER_TOKENS as usize * 2;
        AnalyzeOptions {
            budget_chars: settings.context_chars.saturating_sub(overhead).max(600),
            max_tokens: MAX_ANSWER_TOKENS,
        }
    }
}

/// One request: instructions + data, parsed; if the answer cannot be read, the model is shown
/// the problem and asked once more.
async fn ask(
    llm: &Llm,
    instructions: String,
    data: String,
    opts: AnalyzeOptions,
) -> Result<NewAnalysis> {
    let mut messages = vec![
        ChatMessage::new(Role::System, instructions),
        ChatMessage::new(Role::User, data),
    ];
    let extra = prompt::request_extra(opts.max_tokens);
    let first = llm
        .complete(Purpose::Analysis, &messages, Some(extra.clone()))
        .await?;
    let problem = match parse_analysis(&first) {
        Ok(a) => {
            read(&first, false);
            return Ok(a);
        }
        Err(problem) => problem,
    };
    messages.push(ChatMessage::new(Role::Assistant, first));
    messages.push(ChatMessage::new(
        Role::User,
        prompt::retry_instructions(&problem),
    ));
    let second = llm
        .complete(Purpose::Analysis, &messages, Some(extra))
        .await?;
    let analysis = parse_analysis(&second).map_err(|again| {
        Error::Analysis(format!(
            "the model's answer could not be read as an analysis ({problem}; after a retry: {again})"
        ))
    })?;
    read(&second, true);
    Ok(analysis)
}

/// Logs that an answer was read as an analysis, and whether it was JSON as written (no repair
/// by the tolerant parser) and on the first try: `scripts/eval_quality.py` counts these lines.
fn read(answer: &str, retried: bool) {
    let as_written = parse::is_plain_json_object(answer);
    tracing::info!(as_written, retried, "analysis read");
}

/// Analyses a conversation's messages (map over chunks, then reduce), without the questions
/// the model pasted into its summary or a last sentence cut off; in English, the action items
/// are the person's commitments in their own words, and the key points start with what they
/// chose.
pub async fn analyze(llm: &Llm, messages: &[Message], opts: AnalyzeOptions) -> Result<NewAnalysis> {
    let mut analysis = analyze_with_model(llm, messages, opts).await?;
    // A line repeating the instructions describes the prompt, not the conversation: on the six
    // quality sets, one key point of 109 analyses (BENCHMARKS.md "JSON as written").
    let copies = prompt::copies_instructions;
    analysis.key_points.retain(|p| !copies(p));
    analysis.action_items.retain(|a| !copies(&a.text));
    analysis.summary = summary::keep_clauses(&analysis.summary, |_, sentence| !copies(sentence));
    analysis.summary = without_cut_off_end(&without_pasted_questions(&analysis.summary, messages));
    if reads_as_english(messages) {
        analysis.action_items = commitments(messages);
        add_decisions(&mut analysis, messages);
    }
    Ok(analysis)
}

/// The transcript parts an analysis sends, one request each: the conversation condensed to
/// fit `budget` where it can (`condense.rs`), then cut into chunks of at most `budget`.
pub fn transcript_chunks(messages: &[Message], budget: usize) -> Vec<String> {
    chunk_transcript(&condense::condense(messages, budget), budget)
}

/// What the model writes about the conversation, all of it.
async fn analyze_with_model(
    llm: &Llm,
    messages: &[Message],
    opts: AnalyzeOptions,
) -> Result<NewAnalysis> {
    let chunks = transcript_chunks(messages, opts.budget_chars);
    if chunks.is_empty() {
        return Err(Error::Invalid(
            "the conversation has no text to analyse".into(),
        ));
    }
    let n = chunks.len();
    let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    let sent: usize = chunks.iter().map(|c| c.chars().count()).sum();
    tracing::info!(chars, sent, parts = n, "analysis transcript");
    let mut parts = Vec::with_capacity(n);
    for (i, chunk) in chunks.iter().enumerate() {
        let part = (n > 1).then_some((i + 1, n));
        parts.push(
            ask(
                llm,
                prompt::analyse_instructions(),
                prompt::wrap_transcript(chunk, part),
                opts,
            )
            .await?,
        );
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let mut merged = merge(llm, &parts, opts).await?;
    // The reduce step may drop action items; none of the parts' items is lost.
    let mut seen: HashSet<String> = merged
        .action_items
        .iter()
        .map(|i| i.text.to_lowercase())
        .collect();
    for item in parts.iter().flat_map(|p| &p.action_items) {
        if seen.insert(item.text.to_lowercase()) {
            merged.action_items.push(item.clone());
        }
    }
    if merged.topics.is_empty() {
        let mut seen = HashSet::new();
        merged.topics = parts
            .iter()
            .flat_map(|p| p.topics.clone())
            .filter(|t| seen.insert(t.clone()))
            .take(6)
            .collect();
    }
    Ok(merged)
}

/// Merges part analyses, in groups that fit the budget, until one is left.
async fn merge(llm: &Llm, parts: &[NewAnalysis], opts: AnalyzeOptions) -> Result<NewAnalysis> {
    if parts.len() == 1 {
        return Ok(parts[0].clone());
    }
    let wrapped = prompt::wrap_parts(parts);
    if wrapped.chars().count() <= opts.budget_chars || parts.len() == 2 {
        return ask(llm, prompt::merge_instructions(), wrapped, opts).await;
    }
    let (left, right) = parts.split_at(parts.len() / 2);
    let left = Box::pin(merge(llm, left, opts)).await?;
    let right = Box::pin(merge(llm, right, opts)).await?;
    Box::pin(merge(llm, &[left, right], opts)).await
}

/// Analyses a stored conversation and stores the result; the job status goes `running`, then
/// `done`, or `failed` with the reason (the error is also returned).
pub async fn analyze_conversation(
    store: &SharedStore,
    llm: &Llm,
    conversation_id: &str,
) -> Result<ConversationAnalysis> {
    let messages = {
        let s = lock(store);
        s.queue_analysis(conversation_id)?;
        s.set_analysis_state(conversation_id, AnalysisState::Running, None)?;
        s.all_messages(conversation_id)?
    };
    let opts = AnalyzeOptions::from_settings(llm.settings());
    let started = std::time::Instant::now();
    let result = async {
        let model = llm.model().await?;
        let analysis = analyze(llm, &messages, opts).await?;
        let doubts = doubts(&analysis, &model, &messages);
        tracing::info!(
            conversation = conversation_id, model = %model, messages = messages.len(),
            seconds = started.elapsed().as_secs_f64(), action_items = analysis.action_items.len(),
            doubts = doubts.len(), "analysis done"
        );
        lock(store).put_checked_analysis(conversation_id, &analysis, &model, &doubts)
    }
    .await;
    if let Err(e) = &result {
        tracing::warn!(
            conversation = conversation_id,
            messages = messages.len(),
            seconds = started.elapsed().as_secs_f64(),
            code = e.code(),
            "analysis failed: {e}"
        );
        // If even this fails (conversation deleted meanwhile), the original error matters more.
        let _ = lock(store).set_analysis_state(
            conversation_id,
            AnalysisState::Failed,
            Some(&e.to_string()),
        );
    }
    result
}
