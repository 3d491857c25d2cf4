// The one place the UI talks to the backend. Types mirror the Rust core's JSON.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type Status = "active" | "ended";
export type Sender = "user" | "ai";
export type MessageState = "complete" | "streaming" | "incomplete" | "error";

export interface Conversation {
  id: string;
  title: string;
  summary: string | null;
  status: Status;
  start_time: string;
  end_time: string | null;
  message_count: number;
}

export interface Message {
  id: string;
  conversation_id: string;
  content: string;
  sender: Sender;
  timestamp: string;
  state: MessageState;
  error: string | null;
  reactions: string[];
  is_bookmarked: boolean;
  /** Earlier versions of a regenerated answer (`messageVersions`). */
  earlier_versions: number;
}

/** An earlier version of a regenerated answer. */
export interface MessageVersion {
  version: number;
  content: string;
  state: MessageState;
  error: string | null;
  replaced_at: string;
}

export type Sentiment = "positive" | "neutral" | "negative" | "mixed";
export type AnalysisState = "none" | "pending" | "running" | "done" | "failed";

export interface ActionItem {
  id: number;
  conversation_id: string;
  text: string;
  owner: "user" | "ai" | "unknown";
  done: boolean;
}

/** An action item with its conversation, as the cross-conversation list gives it. */
export interface ActionItemEntry extends ActionItem {
  conversation_title: string;
  conversation_time: string;
}

export interface ImportReport {
  format: string;
  conversations_added: number;
  conversations_existing: number;
  messages_added: number;
  messages_existing: number;
  empty_skipped: number;
  analyses_added: number;
}

export interface Insights {
  /** `analysed` leaves out the `in_doubt` analyses unless they are included. */
  counts: { conversations: number; messages: number; analysed: number; in_doubt: number; open_action_items: number };
  /** Every model that wrote analyses (excluded or not), most analyses first. */
  models: { model: string; analyses: number }[];
  months: string[];
  sentiment: {
    month: string;
    conversations: number;
    average: number;
    positive: number;
    neutral: number;
    negative: number;
    mixed: number;
  }[];
  topics: { topic: string; total: number; by_month: number[] }[];
}

export interface ConversationAnalysis {
  conversation_id: string;
  summary: string | null;
  sentiment: Sentiment | null;
  sentiment_score: number | null;
  topics: string[];
  key_points: string[];
  action_items: ActionItem[];
  model: string;
  created_at: string;
  /** Why it should not be taken as fact (empty: nothing found); left out of the charts. */
  doubts: string[];
}

export interface AnalysisStatus {
  conversation_id: string;
  state: AnalysisState;
  error: string | null;
  updated_at: string | null;
}

/** When analysis runs by itself: idle conversations (ended after `idle_minutes`) and imports. */
export interface AnalysisSettings {
  automatic: boolean;
  idle_minutes: number;
}

/** The history's analyses by state (`not_queued`: what "Analyse all" would queue). */
export interface AnalysisProgress {
  pending: number;
  running: number;
  failed: number;
  analysed: number;
  not_queued: number;
  paused: boolean;
}

export interface AnalysisView {
  status: AnalysisStatus;
  analysis: ConversationAnalysis | null;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: Message[];
  analysis: ConversationAnalysis | null;
  analysis_status: AnalysisStatus;
}

export type SearchMode = "dense" | "bm25" | "hybrid";

export interface SearchHit {
  message_id: string;
  conversation_id: string;
  conversation_title: string;
  sender: Sender;
  timestamp: string;
  content: string;
  similarity: number | null;
  score: number;
  /** The turn before this one in its conversation (what a short reply answers). */
  previous: Turn | null;
}

/** A neighbouring turn shown with a hit (text cut to 300 characters). */
export interface Turn {
  message_id: string;
  sender: Sender;
  timestamp: string;
  content: string;
}

/** A time range read from the search text ("last summer"): from inclusive, to exclusive. */
export interface TimeRange {
  from: string;
  to: string;
  phrase: string;
}

export interface SearchResults {
  hits: SearchHit[];
  time_range: TimeRange | null;
}

/** A bookmarked message with its conversation's title. */
export interface Bookmark extends Message {
  conversation_title: string;
}

export interface SearchOptions {
  mode?: SearchMode;
  limit?: number;
  per_conversation?: number;
  /** Hits below this cosine are dropped unless they match the words; 0: no cut. */
  min_similarity?: number;
  filters?: {
    conversation_id?: string | null;
    sender?: Sender | null;
    from?: string | null;
    to?: string | null;
    bookmarked_only?: boolean;
  };
}

export interface Excerpt {
  conversation_id: string;
  message_id: string;
  message: string;
  similarity: number;
  title: string;
  timestamp: string;
  /** The turn before it in its conversation. */
  previous: Turn | null;
}

/** A question asked before, with what it got (store/asked.rs). */
export interface AskedQuestion {
  id: number;
  question: string;
  answer: string;
  excerpts: Excerpt[];
  asked_at: string;
}

export interface AskResult {
  answer: string;
  excerpts: Excerpt[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface EmbedStatus {
  state: "loading" | "ready" | "missing" | "error";
  message: string | null;
  progress: { done: number; total: number; failed: number };
}

export interface AppInfo {
  version: string;
  data_dir: string;
  models_dir: string;
  conversation_count: number;
  message_count: number;
  /** What the start-up check found wrong with the database; while set, nothing is written. */
  damaged: string[] | null;
  /** The data folder cannot be written: reading, search and export work; changes do not. */
  read_only: boolean;
}

/** The backend's error shape: `{code, message}`. */
export type ChatEvent =
  | { event: "started"; data: { user: Message | null; ai: Message } }
  | { event: "token"; data: string }
  | { event: "done"; data: Message };

export type Provider = "auto" | "builtin" | "server";

export type BuiltinChoice = "tiny" | "small" | "better";

/** A built-in model the app knows (llm/catalog.rs), and whether it is installed. */
export interface BuiltinModelInfo {
  choice: BuiltinChoice;
  label: string;
  name: string;
  bytes: number;
  ram_bytes: number;
  speed: string;
  fetch: string;
  note: string;
  installed: boolean;
}

/** A local LLM server found on its default port (llm/detect.rs). */
export interface DetectedServer {
  name: string;
  base_url: string;
  models: string[];
}

export interface LlmSettings {
  provider: Provider;
  base_url: string;
  builtin_model: BuiltinChoice;
  model: string;
  temperature: number;
  top_p: number;
  seed: number | null;
  max_tokens: number;
  system_prompt: string;
  /** Seconds without new text before a request fails. */
  timeout_secs: number;
  /** Overall deadlines, start to end, per kind of request (seconds). */
  chat_deadline_secs: number;
  analysis_deadline_secs: number;
  ask_deadline_secs: number;
  /** A proxy for a remote server only; empty: none (environment proxies are never used). */
  proxy: string;
  context_chars: number;
}

/** The engine in use: a server, or the built-in model (and why, if the user did not pick it). */
export interface LlmStatus {
  provider: "builtin" | "server";
  model: string;
  url: string | null;
  reason: string | null;
  /** Whether it can answer now (a server is probed); null: unknown. */
  available: boolean | null;
  /** Why a server cannot answer. */
  problem: string | null;
}

export interface BackendError {
  code: string;
  /** Plain words for the person. */
  message: string;
  /** The technical text behind it, when there is one (shown on demand, for a bug report). */
  detail?: string;
}

/** The technical detail behind a backend error, if it has one (shown on demand). */
export function errorDetail(e: unknown): string | null {
  if (typeof e === "object" && e !== null && "detail" in e) {
    const d = (e as BackendError).detail;
    return d ? String(d) : null;
  }
  return null;
}

export function errorMessage(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) {
    return String((e as BackendError).message);
  }
  return String(e);
}

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  /** Plain text for a bug report: versions, settings without secrets, the last log lines. */
  diagnostics: () => invoke<string>("diagnostics"),
  embeddingStatus: () => invoke<EmbedStatus>("embedding_status"),
  onEmbeddingProgress: (f: (s: EmbedStatus) => void): Promise<UnlistenFn> =>
    listen<EmbedStatus>("embedding-progress", (e) => f(e.payload)),
  listConversations: (cursor?: string | null, limit = 100) =>
    invoke<Page<Conversation>>("list_conversations", { cursor: cursor ?? null, limit }),
  getConversation: (id: string) => invoke<ConversationDetail>("get_conversation", { id }),
  renameConversation: (id: string, title: string) =>
    invoke<Conversation>("rename_conversation", { id, title }),
  deleteConversation: (id: string) => invoke<void>("delete_conversation", { id }),
  toggleReaction: (messageId: string, emoji: string) =>
    invoke<Message>("toggle_reaction", { messageId, emoji }),
  setBookmark: (messageId: string, bookmarked: boolean) =>
    invoke<Message>("set_bookmark", { messageId, bookmarked }),
  endConversation: (id: string) => invoke<Conversation>("end_conversation", { id }),
  reopenConversation: (id: string) => invoke<Conversation>("reopen_conversation", { id }),
  getAnalysis: (conversationId: string) =>
    invoke<AnalysisView>("get_analysis", { conversationId }),
  reanalyze: (conversationId: string) =>
    invoke<AnalysisStatus>("reanalyze", { conversationId }),
  analysisProgress: () => invoke<AnalysisProgress>("analysis_progress"),
  /** Queues every ended conversation without an analysis, newest first; returns how many. */
  analyseAll: () => invoke<number>("analyse_all"),
  pauseAnalysis: (paused: boolean) => invoke<void>("pause_analysis", { paused }),
  getAnalysisSettings: () => invoke<AnalysisSettings>("get_analysis_settings"),
  saveAnalysisSettings: (settings: AnalysisSettings) =>
    invoke<AnalysisSettings>("save_analysis_settings", { settings }),
  setActionItemDone: (id: number, done: boolean) =>
    invoke<ActionItem>("set_action_item_done", { id, done }),
  searchHistory: (text: string, options?: SearchOptions) =>
    invoke<SearchResults>("search_history", { text, options: options ?? null }),
  /** Streams the answer's pieces to `onToken`; resolves with the answer and its excerpts. */
  /** `previous`: the question this one follows up on, in the same thread. */
  askHistory: (question: string, previous: string | null, onToken: (piece: string) => void) => {
    const channel = new Channel<string>();
    channel.onmessage = onToken;
    return invoke<AskResult>("ask_history", { question, previous, onToken: channel });
  },
  /** Stops the question being answered: its result still lists the excerpts found. */
  stopAsk: () => invoke<void>("stop_ask"),
  messageVersions: (messageId: string) => invoke<MessageVersion[]>("message_versions", { messageId }),
  listAsked: (limit = 50) => invoke<AskedQuestion[]>("list_asked", { limit }),
  deleteAsked: (id: number) => invoke<void>("delete_asked", { id }),
  listBookmarks: (cursor?: string | null, limit = 100) =>
    invoke<Page<Bookmark>>("list_bookmarks", { cursor: cursor ?? null, limit }),
  /** Restores the newest good backup over the history (after the start-up check found it damaged). */
  restoreBackup: () => invoke<{ restored: string; previous_saved_to: string }>("restore_backup"),
  /** Shows the native open dialog and imports the chosen file; null when cancelled. */
  importHistory: () => invoke<{ path: string; report: ImportReport } | null>("import_history"),
  /** Shows the native save (json) or folder (markdown) dialog and exports there; null when cancelled. */
  exportHistory: (format: "json" | "markdown") =>
    invoke<{ path: string; count: number } | null>("export_history", { format }),
  getInsights: (excludeModels: string[] = [], includeDoubtful = false) =>
    invoke<Insights>("get_insights", { excludeModels, includeDoubtful }),
  listActionItems: (openOnly: boolean, limit = 200) =>
    invoke<ActionItemEntry[]>("list_action_items", { openOnly, limit }),
  createConversation: (firstText?: string) =>
    invoke<Conversation>("create_conversation", { firstText: firstText ?? null }),
  /** Streams `started`, `token`…, `done` to `onEvent`; resolves with the stored answer. */
  sendMessage: (conversationId: string, text: string, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return invoke<Message>("send_message", { conversationId, text, onEvent: channel });
  },
  /** Rewrites the conversation's last answer, streamed like `sendMessage`. */
  regenerate: (conversationId: string, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return invoke<Message>("regenerate", { conversationId, onEvent: channel });
  },
  /** Goes on with the last, unfinished answer where it stopped. */
  continueAnswer: (conversationId: string, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return invoke<Message>("continue_answer", { conversationId, onEvent: channel });
  },
  stopGeneration: (conversationId: string) => invoke<boolean>("stop_generation", { conversationId }),
  llmStatus: (refresh = false) => invoke<LlmStatus>("llm_status", { refresh }),
  /** The server's models with these (unsaved) settings: the "test connection" button. */
  listModels: (settings: LlmSettings) => invoke<string[]>("list_models", { settings }),
  builtinModels: () => invoke<BuiltinModelInfo[]>("builtin_models"),
  /** LM Studio, llama.cpp and Ollama, where they answer on their default ports. */
  detectServers: () => invoke<DetectedServer[]>("detect_servers"),
  getLlmSettings: () => invoke<LlmSettings>("get_llm_settings"),
  saveLlmSettings: (settings: LlmSettings) => invoke<LlmSettings>("save_llm_settings", { settings }),
  /** The model gave a conversation its title (after the first answer). */
  onConversationRenamed: (f: (c: Conversation) => void): Promise<UnlistenFn> =>
    listen<Conversation>("conversation-renamed", (e) => f(e.payload)),
  onAnalysisStatus: (f: (s: AnalysisStatus) => void): Promise<UnlistenFn> =>
    listen<AnalysisStatus>("analysis-status", (e) => f(e.payload)),
};
