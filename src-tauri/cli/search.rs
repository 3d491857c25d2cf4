//! `hindsight search` (no LLM needed) and `hindsight ask`.
use std::io::Write;

use super::{print_json, progress_bar, runtime, write_out, LlmArgs};
use crate::error::{Error, Result};
use crate::search::ask::clip;
use crate::search::{SearchHit, SearchOptions, TimeRange};
use crate::store::{Millis, Sender};
use crate::time::to_rfc3339;
use crate::Hindsight;
use std::sync::Arc;

/// A date (`2026-03-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_when(s: &str) -> std::result::Result<Millis, String> {
    let s = s.trim();
    if s.len() == 10 {
        return crate::time::parse_rfc3339(&format!("{s}T00:00:00Z"));
    }
    crate::time::parse_rfc3339(s)
}

/// Searches the history ([`Hindsight::search`]) and prints the hits.
pub fn search(
    hindsight: &Hindsight,
    text: &str,
    opts: &SearchOptions,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if opts.mode.needs_embedder() {
        hindsight.load_embedder()?;
    }
    let found = hindsight.search(text, opts)?;
    if json {
        // A list of hits in rank order (as before grouping existed); each carries the time
        // range read from the text, if any, and whether it falls inside.
        let hits: Vec<JsonHit> = found
            .hits
            .iter()
            .map(|hit| JsonHit {
                hit,
                time_range: found.time_range.as_ref(),
                in_time_range: found
                    .time_range
                    .as_ref()
                    .map(|r| (r.from..r.to).contains(&hit.timestamp)),
            })
            .collect();
        return print_json(out, &hits);
    }
    if let Some(r) = &found.time_range {
        write_out(
            out,
            format_args!(
                "Time: \"{}\" read as {} to {} (messages then rank higher)\n\n",
                r.phrase,
                to_rfc3339(r.from).get(..10).unwrap_or(""),
                to_rfc3339(r.to - 1).get(..10).unwrap_or("")
            ),
        )?;
    }
    if found.hits.is_empty() {
        return write_out(out, format_args!("No matching messages.\n"));
    }
    // One group per conversation, in the order of its best hit; ranks stay global.
    let mut groups: Vec<(&str, Vec<(usize, &SearchHit)>)> = Vec::new();
    for (i, h) in found.hits.iter().enumerate() {
        match groups.iter_mut().find(|g| g.0 == h.conversation_id) {
            Some(g) => g.1.push((i + 1, h)),
            None => groups.push((&h.conversation_id, vec![(i + 1, h)])),
        }
    }
    for (_, hits) in &groups {
        let first = hits[0].1;
        write_out(
            out,
            format_args!(
                "{} — {} ({})\n",
                first.conversation_title,
                to_rfc3339(first.timestamp).get(..10).unwrap_or(""),
                first.conversation_id
            ),
        )?;
        for (n, h) in hits {
            write_out(out, format_args!("{}\n", hit_text(*n, h)))?;
        }
        write_out(out, format_args!("\n"))?;
    }
    let missing = hindsight
        .reader()
        .count_without_embedding(crate::embed::MODEL_ID)?;
    if missing > 0 && opts.mode.needs_embedder() {
        eprintln!(
            "hindsight: {missing} messages are not embedded yet and were only searched by words; run `hindsight embed`"
        );
    }
    Ok(())
}

/// One hit of `search --json`.
#[derive(serde::Serialize)]
struct JsonHit<'a> {
    #[serde(flatten)]
    hit: &'a SearchHit,
    time_range: Option<&'a TimeRange>,
    in_time_range: Option<bool>,
}

fn who(sender: Sender) -> &'static str {
    match sender {
        Sender::User => "you",
        Sender::Ai => "ai",
    }
}

fn hit_text(n: usize, h: &SearchHit) -> String {
    let sim = h
        .similarity
        .map(|s| format!("  similarity {s:.3}"))
        .unwrap_or_default();
    // A short reply is shown under the turn it answers.
    let context = match &h.previous {
        Some(p) if h.content.chars().count() <= 160 => {
            format!("    {}: {}\n", who(p.sender), clip(&p.content, 160))
        }
        _ => String::new(),
    };
    format!(
        "{n:>4}. {} [{}]{sim}\n{context}    {}: {}",
        to_rfc3339(h.timestamp)
            .get(..16)
            .unwrap_or("")
            .replace('T', " "),
        h.message_id,
        who(h.sender),
        clip(&h.content, 200),
    )
}

/// Asks the history ([`Hindsight::ask`]), printing the answer as it streams (not with
/// `--json`), then its sources. `previous` is the question this one follows up on, if any.
/// Messages without a vector are embedded first: the CLI has no background worker to do it.
pub fn ask(
    hindsight: &Arc<Hindsight>,
    question: &str,
    previous: Option<&str>,
    llm: &LlmArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let runtime = prepare_ask(hindsight, llm)?;
    let result = ask_streamed(hindsight, &runtime, question, previous, !json)?;
    if json {
        return print_json(out, &result);
    }
    print_sources(&result, out)?;
    if result.answer.is_empty() {
        return Err(empty_answer());
    }
    Ok(())
}

/// One line of `ask --questions`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionLine {
    question: String,
    #[serde(default)]
    previous: Option<String>,
}

/// Asks every question of a JSON Lines file (`-`: standard input) in one run: the model and
/// the answer's schema are loaded once, not once per question. The whole file is read and
/// checked before the first question. One question failing does not stop the others; the
/// run fails at the end if any did.
pub fn ask_many(
    hindsight: &Arc<Hindsight>,
    file: &std::path::Path,
    llm: &LlmArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let text = if file == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Error::io("<stdin>", e))?
    } else {
        std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?
    };
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: QuestionLine = serde_json::from_str(line).map_err(|e| {
            Error::Invalid(format!(
                "{} line {}: expected {{\"question\": \"…\", \"previous\": \"…\"}}: {e}",
                file.display(),
                n + 1
            ))
        })?;
        lines.push(q);
    }
    if lines.is_empty() {
        return Err(Error::Invalid(format!("{}: no questions", file.display())));
    }
    let runtime = prepare_ask(hindsight, llm)?;
    let mut failed = 0;
    for q in &lines {
        let started = std::time::Instant::now();
        if !json {
            write_out(out, format_args!("Q: {}\n", q.question))?;
        }
        let result = ask_streamed(
            hindsight,
            &runtime,
            &q.question,
            q.previous.as_deref(),
            !json,
        )
        .and_then(|r| {
            if r.answer.is_empty() {
                Err(empty_answer())
            } else {
                Ok(r)
            }
        });
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(result) if json => {
                let mut line = serde_json::to_value(&result)?;
                if let Some(fields) = line.as_object_mut() {
                    fields.insert("question".into(), q.question.clone().into());
                    fields.insert("previous".into(), q.previous.clone().into());
                    fields.insert("seconds".into(), seconds.into());
                }
                write_out(out, format_args!("{line}\n"))?;
            }
            Ok(result) => {
                print_sources(&result, out)?;
                write_out(out, format_args!("\n"))?;
            }
            Err(e) => {
                failed += 1;
                if json {
                    let line = serde_json::json!({"question": q.question, "previous": q.previous,
                                                  "error": e.to_string(), "seconds": seconds});
                    write_out(out, format_args!("{line}\n"))?;
                } else {
                    write_out(out, format_args!("\nerror: {e}\n\n"))?;
                }
            }
        }
        // Each answer reaches a reader (a script, a pipe) as soon as it is done.
        out.flush().map_err(|e| Error::io("<stdout>", e))?;
    }
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "{failed} of {} questions could not be answered",
            lines.len()
        )));
    }
    Ok(())
}

fn empty_answer() -> Error {
    Error::Invalid("the model gave an empty answer".into())
}

/// The LLM of this run, and a vector for every message: Ask cites by meaning, and a message
/// without a vector (just imported; the app's worker would embed it in the background) could
/// never be an excerpt.
fn prepare_ask(hindsight: &Arc<Hindsight>, llm: &LlmArgs) -> Result<tokio::runtime::Runtime> {
    let runtime = runtime()?;
    llm.apply(hindsight, &runtime)?;
    let missing = hindsight.count_unembedded()?;
    if missing > 0 {
        eprintln!("note: embedding {missing} messages that have no vector yet (`hindsight embed` does this ahead of time)");
        let p = hindsight.embed_backlog(crate::embed::DEFAULT_BATCH, |_| {})?;
        if p.failed > 0 {
            eprintln!(
                "note: {} messages could not be embedded and are left out of the answer; run `hindsight embed` to retry",
                p.failed
            );
        }
    }
    Ok(runtime)
}

/// One question, its answer printed to stdout as it streams when `print` is set.
fn ask_streamed(
    hindsight: &Arc<Hindsight>,
    runtime: &tokio::runtime::Runtime,
    question: &str,
    previous: Option<&str>,
    print: bool,
) -> Result<crate::search::ask::AskResult> {
    runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
        let printer = async {
            let mut stdout = std::io::stdout();
            while let Some(piece) = rx.recv().await {
                if print {
                    let _ = write!(stdout, "{piece}");
                    let _ = stdout.flush();
                }
            }
        };
        let (result, ()) = tokio::join!(hindsight.ask(question, previous, tx), printer);
        result
    })
}

/// The answer's sources, numbered as it cites them.
fn print_sources(result: &crate::search::ask::AskResult, out: &mut impl Write) -> Result<()> {
    write_out(out, format_args!("\n"))?;
    if !result.excerpts.is_empty() {
        write_out(out, format_args!("\nSources:\n"))?;
    }
    for (i, e) in result.excerpts.iter().enumerate() {
        let content: String = e.message.chars().take(160).collect();
        write_out(
            out,
            format_args!(
                "[{}] {} — {} (similarity {:.3})\n    {}\n",
                i + 1,
                e.title,
                to_rfc3339(e.timestamp).get(..10).unwrap_or(""),
                e.similarity,
                content.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        )?;
    }
    Ok(())
}

/// Embeds every message that has no vector yet, with a progress bar (`hindsight embed`).
pub fn embed(hindsight: &Hindsight, batch: usize, json: bool, out: &mut impl Write) -> Result<()> {
    let embedder = hindsight.load_embedder()?;
    let bar = progress_bar(
        json,
        0,
        "embedding {bar:40} {pos}/{len} messages  {per_sec}  eta {eta}",
    );
    let t0 = std::time::Instant::now();
    let p = hindsight.embed_backlog(batch, |p| {
        bar.set_length(p.total as u64);
        bar.set_position((p.done + p.failed) as u64);
    })?;
    bar.finish();
    let total = hindsight.reader().count_embeddings(embedder.model_id())?;
    if json {
        print_json(
            out,
            &serde_json::json!({"model": embedder.model_id(), "embedded": p.done, "failed": p.failed,
                                "messages_with_vectors": total, "seconds": t0.elapsed().as_secs_f64()}),
        )?;
    } else {
        write_out(
            out,
            format_args!(
                "Embedded {} messages in {:.1?} ({} failed); {} messages have vectors for {}\n",
                p.done,
                t0.elapsed(),
                p.failed,
                total,
                embedder.model_id()
            ),
        )?;
    }
    if p.failed > 0 {
        return Err(Error::Embed(format!(
            "{} messages could not be embedded; run again to retry",
            p.failed
        )));
    }
    Ok(())
}
