// Generated from the Rust side by src-tauri/app/ipc.rs: do not edit.
// `HINDSIGHT_WRITE_BINDINGS=1 cargo test --lib ipc` writes it again.
import type { Channel } from "@tauri-apps/api/core";

export type Status = "active" | "ended";

export type Sender = "user" | "ai";

export type MessageState = "complete" | "streaming" | "incomplete" | "error";

export type Conversation = { id: string, title: string, summary: string | null, status: Status, start_time: string, end_time: string | null, message_count: number, };

export type Message = { id: string, conversation_id: string, content: string, sender: Sender, timestamp: string, state: MessageState, error: string | null, 
/**
 * Emoji set on this message, in the order they were added (a single-user app: a reaction
 * is on or off).
 */
reactions: Array<string>, is_bookmarked: boolean, 
/**
 * How many earlier versions a regenerated answer has ([`MessageVersion`]).
 */
earlier_versions: number, };

export type MessageVersion = { 
/**
 * 1 for the first answer.
 */
version: number, content: string, state: MessageState, error: string | null, 
/**
 * When it was replaced by a regeneration.
 */
replaced_at: string, };

export type Sentiment = "positive" | "neutral" | "negative" | "mixed";

export type AnalysisState = "none" | "pending" | "running" | "done" | "failed";

export type Owner = "user" | "ai" | "unknown";

export type ActionItem = { id: number, conversation_id: string, text: string, owner: Owner, done: boolean, };

export type ActionItemEntry = { conversation_title: string, conversation_time: string, id: number, conversation_id: string, text: string, owner: Owner, done: boolean, };

export type ConversationAnalysis = { conversation_id: string, summary: string | null, sentiment: Sentiment | null, 
/**
 * In [-1, 1].
 */
sentiment_score: number | null, topics: Array<string>, key_points: Array<string>, action_items: Array<ActionItem>, 
/**
 * The LLM that wrote it.
 */
model: string, created_at: string, 
/**
 * Why it should not be taken as fact (`analysis::doubts`; empty: nothing found, or not
 * checked, as for imported analyses). The Insights charts leave such analyses out.
 */
doubts: Array<string>, };

export type AnalysisStatus = { conversation_id: string, state: AnalysisState, 
/**
 * Why it failed (state `failed`).
 */
error: string | null, updated_at: string | null, };

export type AnalysisProgressView = { paused: boolean, 
/**
 * Queued, not started.
 */
pending: number, running: number, 
/**
 * Failed and not analysed since.
 */
failed: number, 
/**
 * Conversations with an analysis.
 */
analysed: number, 
/**
 * Ended conversations with messages, no analysis and no job queued or running (what
 * "Analyse all" would queue; failed ones included).
 */
not_queued: number, };

export type AnalysisView = { status: AnalysisStatus, analysis: ConversationAnalysis | null, };

export type AnalysisSettings = { 
/**
 * Analyse without being asked: idle conversations, and imports.
 */
automatic: boolean, 
/**
 * Minutes after its last message before a conversation counts as idle.
 */
idle_minutes: number, };

export type ConversationDetail = { conversation: Conversation, messages: Array<Message>, analysis: ConversationAnalysis | null, analysis_status: AnalysisStatus, };

export type Bookmark = { conversation_title: string, id: string, conversation_id: string, content: string, sender: Sender, timestamp: string, state: MessageState, error: string | null, 
/**
 * Emoji set on this message, in the order they were added (a single-user app: a reaction
 * is on or off).
 */
reactions: Array<string>, is_bookmarked: boolean, 
/**
 * How many earlier versions a regenerated answer has ([`MessageVersion`]).
 */
earlier_versions: number, };

export type Page<T> = { items: Array<T>, next_cursor: string | null, };

export type TextHit = { message: Message, conversation_title: string, 
/**
 * FTS5 bm25 (lower is better).
 */
rank: number, };

export type InsightCounts = { conversations: number, messages: number, analysed: number, 
/**
 * Analyses (of the models not excluded) whose checks found something wrong: left out of
 * `analysed` and the charts unless included.
 */
in_doubt: number, open_action_items: number, };

export type SentimentPoint = { 
/**
 * `YYYY-MM`.
 */
month: string, conversations: number, 
/**
 * Mean sentiment score in [-1, 1].
 */
average: number, positive: number, neutral: number, negative: number, mixed: number, };

export type TopicSeries = { topic: string, total: number, by_month: Array<number>, };

export type ModelAnalyses = { model: string, analyses: number, 
/**
 * One of the built-in models (set by `Library::insights`: the store knows names only).
 * Their sentiment labels are rough: the window says so under the chart.
 */
builtin: boolean, };

export type Insights = { 
/**
 * Counts; `analysed` and everything below leave out the excluded models' analyses.
 */
counts: InsightCounts, 
/**
 * Every model with analyses (excluded or not), most analyses first.
 */
models: Array<ModelAnalyses>, 
/**
 * Every month with an analysed conversation, oldest first.
 */
months: Array<string>, sentiment: Array<SentimentPoint>, topics: Array<TopicSeries>, };

export type SearchMode = "dense" | "bm25" | "hybrid";

export type SearchFilters = { conversation_id: string | null, sender: Sender | null, 
/**
 * Inclusive lower bound on the message time.
 */
from: string | null, 
/**
 * Exclusive upper bound on the message time.
 */
to: string | null, bookmarked_only: boolean, };

export type SearchOptions = { mode: SearchMode, limit: number, 
/**
 * At most this many hits from one conversation; 0 (the default): no limit. The window
 * and the CLI group a conversation's hits for display instead of dropping them.
 */
per_conversation: number, 
/**
 * Drops hits whose cosine is below this unless they match the words (BM25): a search
 * box shows nothing rather than the least unrelated messages. 0: no cut.
 */
min_similarity: number, filters: SearchFilters, 
/**
 * The moment "last month" in the question is relative to (default: now).
 */
now: string | null, };

export type Turn = { message_id: string, sender: Sender, timestamp: string, content: string, };

export type SearchHit = { message_id: string, conversation_id: string, conversation_title: string, sender: Sender, timestamp: string, content: string, 
/**
 * Cosine similarity of the message to the query (`null` in BM25 mode, which embeds
 * nothing, or for a message not embedded yet).
 */
similarity: number | null, 
/**
 * The ranking score: cosine in dense mode, -bm25 in BM25 mode, the fused score in hybrid
 * mode (see `search/fuse.rs`).
 */
score: number, 
/**
 * The turn before this one in its conversation (the context a short reply needs).
 */
previous: Turn | null, };

export type TimeRange = { from: string, to: string, 
/**
 * The words of the question that named it, as written ("last summer").
 */
phrase: string, };

export type SearchResults = { hits: Array<SearchHit>, time_range: TimeRange | null, 
/**
 * The embedding model is not installed: only words were matched (not meaning).
 */
words_only: boolean, };

export type Excerpt = { conversation_id: string, message_id: string, message: string, similarity: number, title: string, timestamp: string, 
/**
 * The turn before it in its conversation (what a short reply answers).
 */
previous: Turn | null, };

export type AskResult = { answer: string, 
/**
 * `excerpts[n-1]` is what the answer cites as `[n]`.
 */
excerpts: Array<Excerpt>, };

export type AskedQuestion = { id: number, question: string, answer: string, 
/**
 * The cited excerpts as the answer had them (`excerpts[n-1]` is `[n]`).
 */
excerpts: Array<Excerpt>, asked_at: string, };

export type ImportFormat = "auto" | "hindsight" | "chatgpt";

export type ImportReport = { format: ImportFormat, conversations_added: number, conversations_existing: number, messages_added: number, messages_existing: number, 
/**
 * Conversations with no importable message (ChatGPT: only system/tool/hidden content).
 */
empty_skipped: number, 
/**
 * Analyses restored from the file (conversations that had none).
 */
analyses_added: number, };

export type Imported = { path: string, report: ImportReport, };

export type ExportFormat = "json" | "markdown";

export type Exported = { path: string, count: number, };

export type Restored = { restored: string, previous_saved_to: string, };

export type EmbedState = "loading" | "ready" | "missing" | "error";

export type EmbedStatus = { state: EmbedState, 
/**
 * For `missing`/`error`: what happened and what to do.
 */
message: string | null, progress: Progress, };

export type Progress = { 
/**
 * Messages embedded in this pass so far.
 */
done: number, 
/**
 * Messages that needed a vector when the pass started (plus any that arrived since).
 */
total: number, 
/**
 * Messages whose embedding failed in this pass (retried on the next pass).
 */
failed: number, };

export type AppInfo = { version: string, data_dir: string, models_dir: string, conversation_count: number, message_count: number, 
/**
 * What the start-up check found wrong with the database; while set, nothing is written.
 */
damaged: Array<string> | null, 
/**
 * The data folder cannot be written: the history is open read-only.
 */
read_only: boolean, };

export type ChatEvent = { "event": "started", "data": { user: Message | null, ai: Message, } } | { "event": "token", "data": string } | { "event": "done", "data": Message };

export type Provider = "auto" | "builtin" | "server";

export type Engine = "builtin" | "server";

export type BuiltinChoice = "tiny" | "small" | "better";

export type BuiltinModelInfo = { installed: boolean, choice: BuiltinChoice, 
/**
 * "Tiny", "Small", "Better".
 */
label: string, 
/**
 * The model's own name.
 */
name: string, 
/**
 * The folder under the models dir, and the GGUF in it (beside its tokenizer.json).
 */
dir: string, gguf: string, 
/**
 * Size of the GGUF.
 */
bytes: number, 
/**
 * Memory it needs while answering (weights, KV cache, buffers), rounded up.
 */
ram_bytes: number, 
/**
 * Decode speed measured on a 2-core machine (BENCHMARKS.md, scripts/bench-builtin).
 */
speed: string, 
/**
 * How to install it.
 */
fetch: string, 
/**
 * Its strengths and limits, in a line.
 */
note: string, };

export type DetectedServer = { name: string, base_url: string, models: Array<string>, };

export type LlmSettings = { 
/**
 * Server, built-in model, or `auto` (the server if it answers, else the built-in model).
 */
provider: Provider, 
/**
 * An OpenAI-compatible base URL ending in `/v1`: llama.cpp `llama-server`
 * (http://127.0.0.1:8080/v1), LM Studio (:1234/v1), Ollama (:11434/v1). Empty: no server.
 */
base_url: string, 
/**
 * Which built-in model answers when the built-in engine is used (Tiny / Small / Better).
 */
builtin_model: BuiltinChoice, 
/**
 * The model name sent to the server; empty: the first one `/v1/models` lists.
 */
model: string, temperature: number, 
/**
 * Nucleus sampling for the built-in model (servers use their own default).
 */
top_p: number, 
/**
 * A fixed sampling seed (reproducible answers); none: a new one per answer.
 */
seed: number | null, max_tokens: number, system_prompt: string, 
/**
 * The idle deadline: seconds without new text from the server before a request fails.
 */
timeout_secs: number, 
/**
 * Overall deadlines, start to end, per kind of request (seconds).
 */
chat_deadline_secs: number, analysis_deadline_secs: number, ask_deadline_secs: number, 
/**
 * A proxy for a remote server (`http://host:port`); empty: none. Environment variables
 * such as `http_proxy` are never used, and a server on this machine is never proxied.
 */
proxy: string, 
/**
 * Prompt budget in characters (≈ 4 per token): history beyond it is trimmed, oldest first.
 */
context_chars: number, };

export type LlmStatus = { provider: Engine, 
/**
 * The model's name (the configured one for a server; may be empty: the server's first).
 */
model: string, url: string | null, 
/**
 * Why the built-in model is in use, when the user did not choose it.
 */
reason: string | null, 
/**
 * Whether it can answer now: the built-in model always; a server if it answered a probe
 * (`None`: not probed).
 */
available: boolean | null, 
/**
 * Why a server is not available.
 */
problem: string | null, };

export type ModelId = "embedding" | "tiny" | "small" | "better";

export type ModelEntry = { id: ModelId, 
/**
 * "Embedding", "Tiny", "Small", "Better".
 */
label: string, name: string, 
/**
 * Bytes it takes once installed, and bytes to download.
 */
bytes: number, download_bytes: number, 
/**
 * Memory it needs while working.
 */
ram_bytes: number, 
/**
 * Speed measured on a 2-core machine (BENCHMARKS.md).
 */
speed: string, licence: string, 
/**
 * Where its bytes come from, in words.
 */
source: string, note: string, installed: boolean, 
/**
 * Bytes of a paused download (0 if none).
 */
paused_bytes: number, };

export type ModelPhase = "downloading" | "copying" | "verifying" | "installed";

export type ModelProgress = { model: ModelId, phase: ModelPhase, 
/**
 * The part being downloaded (1-based) of `parts`.
 */
part: number, parts: number, done_bytes: number, total_bytes: number, 
/**
 * Download speed since this run started (bytes per second).
 */
bytes_per_sec: number, };

export type Link = { conversation_id: string, message_id: string | null, };

export type SyncSettings = { 
/**
 * The folder another program keeps in step across machines; `None`: sync is off.
 */
folder: string | null, 
/**
 * This device's name as the others show it; empty: the computer's name.
 */
device_name: string, };

export type SyncStatus = { settings: SyncSettings, 
/**
 * What this device is called when it has no name of its own (the computer's name).
 */
default_name: string, 
/**
 * This history's sync device id, once it has synced.
 */
device: string | null, 
/**
 * A round is running now.
 */
running: boolean, 
/**
 * The last round of this window that went through.
 */
last: SyncReport | null, 
/**
 * Why the last round failed, in plain words (`None`: it went through).
 */
error: string | null, error_at: string | null, 
/**
 * The last round of this window that published changes, and the last that received some.
 */
last_sent: Moved | null, last_received: Moved | null, 
/**
 * The other devices as far as this history knows them.
 */
peers: Array<SyncPeer>, 
/**
 * This device seals its segments with a passphrase (and opens the others' with it).
 */
encrypted: boolean, 
/**
 * Changes made here not published yet.
 */
unpublished: number, };

export type SyncReport = { folder: string, device: string, name: string, 
/**
 * Changes published by this round, and the segments that carried them.
 */
sent: number, segments_written: number, 
/**
 * Others' changes written here, already here or superseded (older than what is here,
 * about a deleted conversation), refused (not valid: logged), and still waiting for
 * what they belong to.
 */
received: number, superseded: number, refused: number, waiting: number, 
/**
 * Changes of this device not published yet (an answer still being written).
 */
unpublished: number, peers: Array<SyncPeer>, 
/**
 * Why this history became a new sync device in this round, if it did.
 */
new_device: string | null, 
/**
 * This round compacted this device's segments 1 to this number into a snapshot.
 */
compacted: number | null, at: string, };

export type SyncPeer = { device: string, name: string, 
/**
 * Its segments applied here, 1 to `applied`.
 */
applied: number, seen_at: string | null, 
/**
 * Why its newer segments are not applied (a file still arriving, a newer app version).
 */
problem: string | null, };

export type Moved = { changes: number, at: string, };

export type CommandError = { 
/**
 * One of `crate::error::ERROR_CODES`.
 */
code: ErrorCode, message: string, detail?: string, };

export type Commands = {
  app_info: { args: {  }; result: AppInfo };
  diagnostics: { args: {  }; result: string };
  embedding_status: { args: {  }; result: EmbedStatus };
  list_conversations: { args: { cursor: string | null; limit: number | null }; result: Page<Conversation> };
  get_conversation: { args: { id: string }; result: ConversationDetail };
  list_messages: { args: { conversationId: string; cursor: string | null; limit: number | null }; result: Page<Message> };
  rename_conversation: { args: { id: string; title: string }; result: Conversation };
  end_conversation: { args: { id: string }; result: Conversation };
  reopen_conversation: { args: { id: string }; result: Conversation };
  delete_conversation: { args: { id: string }; result: null };
  toggle_reaction: { args: { messageId: string; emoji: string }; result: Message };
  set_bookmark: { args: { messageId: string; bookmarked: boolean }; result: Message };
  list_bookmarks: { args: { cursor: string | null; limit: number | null }; result: Page<Bookmark> };
  search_text: { args: { query: string; limit: number | null }; result: Array<TextHit> };
  create_conversation: { args: { firstText: string | null }; result: Conversation };
  send_message: { args: { conversationId: string; text: string; onEvent: Channel<ChatEvent> }; result: Message };
  regenerate: { args: { conversationId: string; onEvent: Channel<ChatEvent> }; result: Message };
  continue_answer: { args: { conversationId: string; onEvent: Channel<ChatEvent> }; result: Message };
  stop_generation: { args: { conversationId: string }; result: boolean };
  message_versions: { args: { messageId: string }; result: Array<MessageVersion> };
  get_llm_settings: { args: {  }; result: LlmSettings };
  save_llm_settings: { args: { settings: LlmSettings }; result: LlmSettings };
  list_models: { args: { settings: LlmSettings }; result: Array<string> };
  llm_status: { args: { refresh: boolean }; result: LlmStatus };
  builtin_models: { args: {  }; result: Array<BuiltinModelInfo> };
  detect_servers: { args: {  }; result: Array<DetectedServer> };
  get_analysis: { args: { conversationId: string }; result: AnalysisView };
  reanalyze: { args: { conversationId: string }; result: AnalysisStatus };
  analysis_progress: { args: {  }; result: AnalysisProgressView };
  analyse_all: { args: {  }; result: number };
  pause_analysis: { args: { paused: boolean }; result: null };
  get_analysis_settings: { args: {  }; result: AnalysisSettings };
  save_analysis_settings: { args: { settings: AnalysisSettings }; result: AnalysisSettings };
  list_action_items: { args: { openOnly: boolean | null; limit: number | null }; result: Array<ActionItemEntry> };
  set_action_item_done: { args: { id: number; done: boolean }; result: ActionItem };
  get_insights: { args: { excludeModels: Array<string>; includeDoubtful: boolean | null }; result: Insights };
  import_history: { args: {  }; result: Imported | null };
  export_history: { args: { format: ExportFormat }; result: Exported | null };
  restore_backup: { args: {  }; result: Restored };
  search_history: { args: { text: string; options: SearchOptions | null }; result: SearchResults };
  ask_history: { args: { question: string; previous: string | null; onToken: Channel<string> }; result: AskResult };
  stop_ask: { args: {  }; result: null };
  list_asked: { args: { limit: number | null }; result: Array<AskedQuestion> };
  delete_asked: { args: { id: number }; result: null };
  model_catalog: { args: {  }; result: Array<ModelEntry> };
  download_model: { args: { model: ModelId; onProgress: Channel<ModelProgress> }; result: null };
  install_model_file: { args: { model: ModelId; onProgress: Channel<ModelProgress> }; result: boolean };
  pause_download: { args: { model: ModelId }; result: boolean };
  discard_download: { args: { model: ModelId }; result: boolean };
  remove_model: { args: { model: ModelId }; result: null };
  take_link: { args: {  }; result: Link | null };
  get_model_mirrors: { args: {  }; result: Array<string> };
  save_model_mirrors: { args: { mirrors: Array<string> }; result: Array<string> };
  get_sync_status: { args: {  }; result: SyncStatus };
  save_sync_settings: { args: { settings: SyncSettings }; result: SyncStatus };
  save_sync_passphrase: { args: { passphrase: string | null }; result: SyncStatus };
  sync_now: { args: {  }; result: SyncStatus };
  choose_sync_folder: { args: {  }; result: string | null };
};

export type Events = {
  "embedding-progress": EmbedStatus;
  "conversation-renamed": Conversation;
  "analysis-status": AnalysisStatus;
  "open-link": Link;
  "sync-status": SyncStatus;
};

/** Every `code` a backend error can carry (stable: the UI and scripts rely on them). */
export type ErrorCode = "not_found" | "invalid_input" | "internal" | "bad_import" | "busy" | "model_missing" | "embed" | "analysis_failed" | "database" | "database_damaged" | "read_only" | "io" | "json" | "llm_unreachable" | "llm_timeout" | "llm_deadline" | "llm_too_long" | "llm_http" | "llm_server" | "llm_protocol" | "llm_interrupted" | "cancelled" | "llm_builtin" | "download_failed" | "no_disk_space";
