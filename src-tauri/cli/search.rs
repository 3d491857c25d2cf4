//! `hindsight search` (no LLM needed) and `hindsight ask`.
use std::io::Write;

use super::{print_json, runtime, write_out, LlmArgs};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::paths::Locations;
use crate::search::ask::{self, AskOptions};
use crate::search::{SearchHit, SearchOptions, Searcher};
use crate::store::{Millis, Sender, Store};
use crate::time::to_rfc3339;

/// A date (`2026-03-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_when(s: &str) -> std::result::Result<Millis, String> {
    let s = s.trim();
    if s.len() == 10 {
        return crate::time::parse_rfc3339(&format!("{s}T00:00:00Z"));
    }
    crate::time::parse_rfc3339(s)
}

pub fn search(
    store: &Store,
    locations: &Locations,
    text: &str,
    opts: &SearchOptions,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let searcher = Searcher::new();
    let query = if opts.mode.needs_embedder() {
        let embedder = Embedder::load(&locations.models_dir)?;
        Some(searcher.embed_query(&embedder, text)?)
    } else {
        None
    };
    let hits = searcher.search(store, text, query.as_deref().map(Vec::as_slice), opts)?;
    if json {
        return print_json(out, &hits);
    }
    if hits.is_empty() {
        return write_out(out, format_args!("No matching messages.\n"));
    }
    for (i, h) in hits.iter().enumerate() {
        write_out(out, format_args!("{}\n", hit_text(i + 1, h)))?;
    }
    let missing = store.count_without_embedding(crate::embed::MODEL_ID)?;
    if missing > 0 && opts.mode.needs_embedder() {
        eprintln!(
            "hindsight: {missing} messages are not embedded yet and were only searched by words; run `hindsight embed`"
        );
    }
    Ok(())
}

fn hit_text(n: usize, h: &SearchHit) -> String {
    let who = match h.sender {
        Sender::User => "you",
        Sender::Ai => "ai",
    };
    let sim = h
        .similarity
        .map(|s| format!("  similarity {s:.3}"))
        .unwrap_or_default();
    let content: String = h.content.split_whitespace().collect::<Vec<_>>().join(" ");
    let content = if content.chars().count() > 200 {
        format!("{}…", content.chars().take(200).collect::<String>())
    } else {
        content
    };
    format!(
        "{n:>2}. {} — {} ({})  [{}]{sim}\n    {who}: {content}",
        h.conversation_title,
        to_rfc3339(h.timestamp).get(..10).unwrap_or(""),
        h.conversation_id,
        h.message_id,
    )
}

pub fn ask(
    store: &Store,
    locations: &Locations,
    question: &str,
    llm: &LlmArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let client = llm.llm(store, &locations.models_dir)?;
    let embedder = Embedder::load(&locations.models_dir)?;
    let searcher = Searcher::new();
    let opts = AskOptions::for_settings(client.settings());
    let retrieved = ask::retrieve(store, &searcher, &embedder, question, opts)?;
    let result = runtime()?.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
        let printer = async {
            let mut stdout = std::io::stdout();
            while let Some(piece) = rx.recv().await {
                if !json {
                    let _ = write!(stdout, "{piece}");
                    let _ = stdout.flush();
                }
            }
        };
        let (result, ()) = tokio::join!(ask::answer(&client, question, retrieved, tx), printer);
        result
    })?;
    if json {
        return print_json(out, &result);
    }
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
    if result.answer.is_empty() {
        return Err(Error::Invalid("the model gave an empty answer".into()));
    }
    Ok(())
}
