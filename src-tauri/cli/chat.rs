//! `hindsight chat`: one message and its streamed answer ([`Hindsight::send`]).
use std::io::Write;

use super::{note_fallback, print_json, runtime, stop_signal, write_out, LlmArgs};
use crate::chat::{ChatEvent, ChatService};
use crate::error::Result;
use crate::store::MessageState;
use crate::Hindsight;

/// Sends `text` to `conversation` (a new one if `None`) and prints the answer as it streams
/// (with `--json`, the stored answer at the end). Ctrl+C or SIGTERM stops the answer, which is
/// then kept as it stands.
pub fn chat(
    hindsight: &Hindsight,
    conversation: Option<String>,
    text: &str,
    llm: &LlmArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    // An empty message creates no conversation.
    let text = ChatService::check_text(text)?;
    let conversation_id = match conversation {
        Some(id) => id,
        None => hindsight.create_conversation(Some(text))?.id,
    };
    let runtime = runtime()?;
    // The flags name the engine; `send` stores the message before that engine loads.
    let settings = llm.settings(hindsight)?;
    let choice = settings.builtin_model;
    runtime.block_on(hindsight.override_llm(settings));
    let message = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let printer = async {
            while let Some(event) = rx.recv().await {
                if let (false, ChatEvent::Token(t)) = (json, &event) {
                    let _ = write_out(out, format_args!("{t}"));
                    let _ = out.flush();
                }
            }
        };
        let stopper = async {
            stop_signal().await;
            hindsight.stop_answer(&conversation_id);
            std::future::pending::<()>().await
        };
        tokio::select! {
            (result, ()) = async { tokio::join!(hindsight.send(&conversation_id, text, tx), printer) } => result,
            () = stopper => unreachable!("pending never returns"),
        }
    });
    let message = match message {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(out);
            return Err(e);
        }
    };
    if let Ok((_, Some(reason))) = runtime.block_on(hindsight.llm_and_reason()) {
        note_fallback(&reason, choice);
    }
    if json {
        print_json(
            out,
            &serde_json::json!({"conversation_id": conversation_id, "message": message}),
        )
    } else {
        write_out(out, format_args!("\n"))?;
        if message.state != MessageState::Complete {
            eprintln!(
                "hindsight: answer {}: {}",
                message.state.as_str(),
                message.error.as_deref().unwrap_or("")
            );
        }
        Ok(())
    }
}
