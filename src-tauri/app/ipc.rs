//! The contract between this shell and the web UI, in one table: every command with the
//! arguments the webview sends and the result it gets, every event with its payload, and the
//! error codes. From it come both the command handler the window registers and
//! `ui/src/bindings.ts` (the wire types from the Rust types by ts-rs, then the commands, events
//! and codes), so the two sides cannot drift: the table is checked against each command's real
//! signature when this compiles, and a test fails when the checked-in bindings are stale
//! (`HINDSIGHT_WRITE_BINDINGS=1 cargo test --lib ipc` rewrites them).
use std::sync::Arc;

use tauri::ipc::{Channel, Invoke};
use tauri::{AppHandle, State, Wry};
use ts_rs::{Config, TS};

use super::analysis::STATUS_EVENT;
use super::commands::{self, *};
use super::embedding::PROGRESS_EVENT;
use super::error::{CommandError, CommandResult};
use super::link::{Link, LINK_EVENT};
use super::sync::SYNC_EVENT;
use crate::analysis::AnalysisSettings;
use crate::chat::ChatEvent;
use crate::hindsight::{EmbedState, EmbedStatus, SyncSettings, SyncStatus};
use crate::llm::catalog::BuiltinModelInfo;
use crate::llm::detect::DetectedServer;
use crate::llm::{BuiltinChoice, Engine, LlmSettings, LlmStatus, Provider};
use crate::models::{ModelEntry, ModelId, Phase as ModelPhase, Progress as ModelProgress};
use crate::search::ask::{AskResult, Excerpt};
use crate::search::when::TimeRange;
use crate::search::{SearchHit, SearchMode, SearchOptions, SearchResults};
use crate::store::{
    ActionItem, ActionItemEntry, AnalysisState, AnalysisStatus, AskedQuestion, Bookmark,
    Conversation, ConversationAnalysis, ConversationDetail, InsightCounts, Insights, Message,
    MessageState, MessageVersion, ModelAnalyses, Owner, Page, SearchFilters, Sender, Sentiment,
    SentimentPoint, Status, SyncPeer, TextHit, TopicSeries, Turn,
};
use crate::sync::SyncReport;
use crate::transfer::{ExportFormat, ImportFormat, ImportReport};
use crate::Hindsight;

/// What a parameter of a command is filled with by Tauri rather than sent by the webview.
macro_rules! injected {
    (state) => { State<'_, Arc<Hindsight>> };
    (app) => { AppHandle };
}

/// One line per command: `name[injected](arguments) ~ channel: ItsEvent => Result;`.
macro_rules! contract {
    ($( $name:ident [$($inj:ident),*] ($($arg:ident : $ty:ty),*) $(~ $ch:ident : $ev:ty)? => $ret:ty; )*) => {
        /// The window's command handler: exactly the commands of the contract.
        pub(super) fn handler() -> impl Fn(Invoke<Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$name),*]
        }

        /// Each command called with the contract's types: this compiles only while the table
        /// and the commands' signatures agree.
        #[allow(dead_code, clippy::too_many_arguments)]
        mod checked {
            use super::*;
            $(
                pub async fn $name($($inj: injected!($inj),)* $($arg: $ty,)* $($ch: Channel<$ev>)?) -> CommandResult<$ret> {
                    commands::$name($($inj,)* $($arg,)* $($ch)?).await
                }
            )*
        }

        /// The `Commands` type: per command, the arguments (as the webview names them) and
        /// the result.
        fn commands_ts(cfg: &Config) -> String {
            let mut out = String::from("export type Commands = {\n");
            $(
                #[allow(unused_mut)] // a command without arguments
                let mut args: Vec<String> = Vec::new();
                $( args.push(format!("{}: {}", camel(stringify!($arg)), <$ty as TS>::name(cfg))); )*
                $( args.push(format!("{}: Channel<{}>", camel(stringify!($ch)), <$ev as TS>::name(cfg))); )?
                out.push_str(&format!(
                    "  {}: {{ args: {{ {} }}; result: {} }};\n",
                    stringify!($name),
                    args.join("; "),
                    <$ret as TS>::name(cfg),
                ));
            )*
            out.push_str("};\n");
            out
        }
    };
}

contract! {
    app_info[state]() => AppInfo;
    diagnostics[state]() => String;
    embedding_status[state]() => EmbedStatus;
    list_conversations[state](cursor: Option<String>, limit: Option<usize>) => Page<Conversation>;
    get_conversation[state](id: String) => ConversationDetail;
    list_messages[state](conversation_id: String, cursor: Option<String>, limit: Option<usize>) => Page<Message>;
    rename_conversation[state](id: String, title: String) => Conversation;
    end_conversation[state](id: String) => Conversation;
    reopen_conversation[state](id: String) => Conversation;
    delete_conversation[state](id: String) => ();
    toggle_reaction[state](message_id: String, emoji: String) => Message;
    set_bookmark[state](message_id: String, bookmarked: bool) => Message;
    list_bookmarks[state](cursor: Option<String>, limit: Option<usize>) => Page<Bookmark>;
    search_text[state](query: String, limit: Option<usize>) => Vec<TextHit>;
    create_conversation[state](first_text: Option<String>) => Conversation;
    send_message[app, state](conversation_id: String, text: String) ~ on_event: ChatEvent => Message;
    regenerate[state](conversation_id: String) ~ on_event: ChatEvent => Message;
    continue_answer[state](conversation_id: String) ~ on_event: ChatEvent => Message;
    stop_generation[state](conversation_id: String) => bool;
    message_versions[state](message_id: String) => Vec<MessageVersion>;
    get_llm_settings[state]() => LlmSettings;
    save_llm_settings[state](settings: LlmSettings) => LlmSettings;
    list_models[](settings: LlmSettings) => Vec<String>;
    llm_status[state](refresh: bool) => LlmStatus;
    builtin_models[state]() => Vec<BuiltinModelInfo>;
    detect_servers[]() => Vec<DetectedServer>;
    get_analysis[state](conversation_id: String) => AnalysisView;
    reanalyze[state](conversation_id: String) => AnalysisStatus;
    analysis_progress[state]() => AnalysisProgressView;
    analyse_all[state]() => usize;
    pause_analysis[state](paused: bool) => ();
    get_analysis_settings[state]() => AnalysisSettings;
    save_analysis_settings[state](settings: AnalysisSettings) => AnalysisSettings;
    list_action_items[state](open_only: Option<bool>, limit: Option<usize>) => Vec<ActionItemEntry>;
    set_action_item_done[state](id: i64, done: bool) => ActionItem;
    get_insights[state](exclude_models: Vec<String>, include_doubtful: Option<bool>) => Insights;
    import_history[app, state]() => Option<Imported>;
    export_history[app, state](format: ExportFormat) => Option<Exported>;
    restore_backup[app, state]() => Restored;
    search_history[app](text: String, options: Option<SearchOptions>) => SearchResults;
    ask_history[app](question: String, previous: Option<String>) ~ on_token: String => AskResult;
    stop_ask[state]() => ();
    list_asked[state](limit: Option<usize>) => Vec<AskedQuestion>;
    delete_asked[state](id: i64) => ();
    model_catalog[state]() => Vec<ModelEntry>;
    download_model[app](model: ModelId) ~ on_progress: ModelProgress => ();
    install_model_file[app](model: ModelId) ~ on_progress: ModelProgress => bool;
    pause_download[state](model: ModelId) => bool;
    discard_download[state](model: ModelId) => bool;
    remove_model[state](model: ModelId) => ();
    take_link[app]() => Option<Link>;
    get_model_mirrors[state]() => Vec<String>;
    save_model_mirrors[state](mirrors: Vec<String>) => Vec<String>;
    get_sync_status[state]() => SyncStatus;
    save_sync_settings[state](settings: SyncSettings) => SyncStatus;
    save_sync_passphrase[state](passphrase: Option<String>) => SyncStatus;
    sync_now[app, state]() => SyncStatus;
    choose_sync_folder[app]() => Option<String>;
}

/// The events the backend sends, with their payloads.
fn events_ts(cfg: &Config) -> String {
    let events = [
        (PROGRESS_EVENT, EmbedStatus::name(cfg)),
        (RENAMED_EVENT, Conversation::name(cfg)),
        (STATUS_EVENT, AnalysisStatus::name(cfg)),
        (LINK_EVENT, Link::name(cfg)),
        (SYNC_EVENT, SyncStatus::name(cfg)),
    ];
    let mut out = String::from("export type Events = {\n");
    for (name, payload) in &events {
        out.push_str(&format!("  \"{name}\": {payload};\n"));
    }
    out.push_str("};\n");
    out
}

/// Every type the contract names, declared in dependency-free order (TypeScript does not mind).
fn types_ts(cfg: &Config) -> Vec<String> {
    vec![
        Status::decl(cfg),
        Sender::decl(cfg),
        MessageState::decl(cfg),
        Conversation::decl(cfg),
        Message::decl(cfg),
        MessageVersion::decl(cfg),
        Sentiment::decl(cfg),
        AnalysisState::decl(cfg),
        Owner::decl(cfg),
        ActionItem::decl(cfg),
        ActionItemEntry::decl(cfg),
        ConversationAnalysis::decl(cfg),
        AnalysisStatus::decl(cfg),
        AnalysisProgressView::decl(cfg),
        AnalysisView::decl(cfg),
        AnalysisSettings::decl(cfg),
        ConversationDetail::decl(cfg),
        Bookmark::decl(cfg),
        Page::<()>::decl(cfg),
        TextHit::decl(cfg),
        InsightCounts::decl(cfg),
        SentimentPoint::decl(cfg),
        TopicSeries::decl(cfg),
        ModelAnalyses::decl(cfg),
        Insights::decl(cfg),
        SearchMode::decl(cfg),
        SearchFilters::decl(cfg),
        SearchOptions::decl(cfg),
        Turn::decl(cfg),
        SearchHit::decl(cfg),
        TimeRange::decl(cfg),
        SearchResults::decl(cfg),
        Excerpt::decl(cfg),
        AskResult::decl(cfg),
        AskedQuestion::decl(cfg),
        ImportFormat::decl(cfg),
        ImportReport::decl(cfg),
        Imported::decl(cfg),
        ExportFormat::decl(cfg),
        Exported::decl(cfg),
        Restored::decl(cfg),
        EmbedState::decl(cfg),
        EmbedStatus::decl(cfg),
        crate::embed::Progress::decl(cfg),
        AppInfo::decl(cfg),
        ChatEvent::decl(cfg),
        Provider::decl(cfg),
        Engine::decl(cfg),
        BuiltinChoice::decl(cfg),
        BuiltinModelInfo::decl(cfg),
        DetectedServer::decl(cfg),
        LlmSettings::decl(cfg),
        LlmStatus::decl(cfg),
        ModelId::decl(cfg),
        ModelEntry::decl(cfg),
        ModelPhase::decl(cfg),
        ModelProgress::decl(cfg),
        Link::decl(cfg),
        SyncSettings::decl(cfg),
        SyncStatus::decl(cfg),
        SyncReport::decl(cfg),
        SyncPeer::decl(cfg),
        crate::hindsight::Moved::decl(cfg),
        CommandError::decl(cfg),
    ]
}

/// `conversation_id` → `conversationId`: how Tauri names a command's arguments in JavaScript.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The whole of `ui/src/bindings.ts`.
pub fn typescript() -> String {
    // serde_json writes every integer as a JSON number, and none of ours nears 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust side by src-tauri/app/ipc.rs: do not edit.\n\
         // `HINDSIGHT_WRITE_BINDINGS=1 cargo test --lib ipc` writes it again.\n\
         import type { Channel } from \"@tauri-apps/api/core\";\n\n",
    );
    for decl in types_ts(&cfg) {
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push_str("\n\n");
    }
    out.push_str(&commands_ts(&cfg));
    out.push('\n');
    out.push_str(&events_ts(&cfg));
    out.push('\n');
    let codes: Vec<String> = crate::error::ERROR_CODES
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    out.push_str(&format!(
        "/** Every `code` a backend error can carry (stable: the UI and scripts rely on them). */\nexport type ErrorCode = {};\n",
        codes.join(" | ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_bindings_are_what_the_rust_side_generates() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
        let generated = typescript();
        if std::env::var_os("HINDSIGHT_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).expect("write the bindings");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "ui/src/bindings.ts is stale: run `HINDSIGHT_WRITE_BINDINGS=1 cargo test --lib ipc` \
             and commit it"
        );
    }

    #[test]
    fn arguments_are_named_as_tauri_names_them() {
        assert_eq!(camel("conversation_id"), "conversationId");
        assert_eq!(camel("on_event"), "onEvent");
        assert_eq!(camel("text"), "text");
    }
}
