//! `hindsight end`, `analyze`, `actions`: the analyzer from the command line.
use std::io::Write;

use indicatif::ProgressBar;

use super::{print_json, progress_bar, runtime, write_out, LlmArgs};
use crate::error::{Error, Result};
use crate::store::{AnalysisState, ConversationAnalysis, ConversationDetail, Owner};
use crate::Hindsight;

/// Ends the conversation (queued for the window's analysis, [`Hindsight::end_conversation`]);
/// with `llm`, analyses it now, in the foreground (with a spinner).
pub fn end(
    hindsight: &Hindsight,
    id: &str,
    llm: Option<&LlmArgs>,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let conversation = hindsight.end_conversation(id)?;
    let analysis = match llm {
        Some(llm) if conversation.message_count > 0 => {
            let runtime = runtime()?;
            llm.apply(hindsight, &runtime)?;
            let spinner = spinner(json, &format!("analysing {}", conversation.title));
            let result = runtime.block_on(hindsight.analyse_now(&conversation.id));
            spinner.finish_and_clear();
            Some(result?)
        }
        _ => None,
    };
    if json {
        print_json(
            out,
            &serde_json::json!({"conversation": conversation, "analysis": analysis}),
        )
    } else {
        write_out(out, format_args!("Ended: {}\n", conversation.title))?;
        if let Some(a) = &analysis {
            write_out(out, format_args!("{}", analysis_block(a)))?;
        }
        Ok(())
    }
}

fn spinner(hidden: bool, message: &str) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Analyses the conversations `wanted`, or with none every ended one without an analysis.
/// Failures are recorded (status `failed` with the reason) and reported; the command fails if
/// any did. An unknown id fails it before anything is analysed.
pub fn analyze(
    hindsight: &Hindsight,
    wanted: &[String],
    llm: &LlmArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let ids = if wanted.is_empty() {
        hindsight.to_analyse(None)?
    } else {
        let mut ids = Vec::with_capacity(wanted.len());
        for id in wanted {
            ids.extend(hindsight.to_analyse(Some(id))?);
        }
        ids
    };
    let runtime = runtime()?;
    llm.apply(hindsight, &runtime)?;
    let bar = progress_bar(
        json,
        ids.len() as u64,
        "analysing {bar:40} {pos}/{len} conversations  {msg}",
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for id in &ids {
        let title = hindsight
            .conversation(id)
            .map(|d| d.conversation.title)
            .unwrap_or_default();
        bar.set_message(title.chars().take(40).collect::<String>());
        match runtime.block_on(hindsight.analyse_now(id)) {
            Ok(a) => done.push(a),
            Err(e) => {
                // An unreachable server fails every job the same way: stop at the first.
                let fatal = matches!(e, Error::Llm(crate::error::LlmError::Unreachable { .. }));
                failed.push(serde_json::json!({"conversation_id": id, "title": title,
                                               "code": e.code(), "error": e.to_string()}));
                if fatal {
                    bar.abandon();
                    return Err(e);
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if json {
        print_json(
            out,
            &serde_json::json!({"analysed": done, "failed": failed}),
        )?;
    } else if ids.is_empty() {
        write_out(
            out,
            format_args!("Nothing to analyse: every ended conversation has an analysis.\n"),
        )?;
    } else {
        if let (Some(a), 1) = (done.first(), wanted.len()) {
            write_out(out, format_args!("{}", analysis_block(a)))?;
        }
        write_out(
            out,
            format_args!(
                "Analysed {} conversation(s), {} failed.\n",
                done.len(),
                failed.len()
            ),
        )?;
        for f in &failed {
            eprintln!(
                "hindsight: {} ({}): {}",
                f["title"].as_str().unwrap_or(""),
                f["conversation_id"].as_str().unwrap_or(""),
                f["error"].as_str().unwrap_or("")
            );
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Analysis(format!(
            "{} of {} analyses failed; run `hindsight analyze` again to retry",
            failed.len(),
            ids.len()
        )))
    }
}

pub fn actions(
    hindsight: &Hindsight,
    open_only: bool,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let items = hindsight.action_items(open_only, limit)?;
    if json {
        return print_json(out, &items);
    }
    if items.is_empty() {
        return write_out(
            out,
            format_args!("No action items. They come from analysed conversations.\n"),
        );
    }
    for e in &items {
        write_out(
            out,
            format_args!(
                "{:>5}  [{}] {}{}  ({})\n",
                e.item.id,
                if e.item.done { "x" } else { " " },
                e.item.text,
                owner_suffix(e.item.owner),
                e.conversation_title
            ),
        )?;
    }
    Ok(())
}

fn owner_suffix(owner: Owner) -> &'static str {
    match owner {
        Owner::User => " — you",
        Owner::Ai => " — ai",
        Owner::Unknown => "",
    }
}

fn analysis_block(a: &ConversationAnalysis) -> String {
    let mut s = String::new();
    if let Some(summary) = &a.summary {
        s.push_str(&format!("\nSummary: {summary}\n"));
    }
    if !a.topics.is_empty() {
        s.push_str(&format!("Topics: {}\n", a.topics.join(", ")));
    }
    if let (Some(sentiment), Some(score)) = (a.sentiment, a.sentiment_score) {
        s.push_str(&format!(
            "Sentiment: {} ({score:+.2})\n",
            sentiment.as_str()
        ));
    }
    if !a.key_points.is_empty() {
        s.push_str("Key points:\n");
        for p in &a.key_points {
            s.push_str(&format!("  - {p}\n"));
        }
    }
    if !a.action_items.is_empty() {
        s.push_str("Action items:\n");
        for i in &a.action_items {
            s.push_str(&format!(
                "  {:>5} [{}] {}{}\n",
                i.id,
                if i.done { "x" } else { " " },
                i.text,
                owner_suffix(i.owner)
            ));
        }
    }
    s.push_str(&format!("(analysed by {})\n", a.model));
    s
}

/// The analysis part of `hindsight show`: the analysis, or where its job stands.
pub fn analysis_text(detail: &ConversationDetail) -> String {
    let status = &detail.analysis_status;
    let mut s = match &detail.analysis {
        Some(a) => analysis_block(a),
        None => match &detail.conversation.summary {
            Some(summary) => format!("\nSummary: {summary}\n"),
            None => String::new(),
        },
    };
    match status.state {
        AnalysisState::Pending | AnalysisState::Running => {
            s.push_str(&format!("Analysis: {}\n", status.state.as_str()));
        }
        AnalysisState::Failed => s.push_str(&format!(
            "Analysis failed: {} (retry: hindsight analyze {})\n",
            status.error.as_deref().unwrap_or("unknown reason"),
            detail.conversation.id
        )),
        AnalysisState::None | AnalysisState::Done => {}
    }
    s
}
