//! Import and export of conversations: Hindsight JSON (both ways), ChatGPT exports (import),
//! Markdown (export). An import runs in one transaction: a file that fails to parse or
//! validate is rejected with the JSON path of the problem and nothing of it is kept.
pub mod chatgpt;
pub mod hindsight_json;
pub mod markdown;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::Store;
pub use hindsight_json::{ConversationJson, HindsightFile, MessageJson};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// `{` at the start: Hindsight JSON; `[`: a ChatGPT `conversations.json` (a request only:
    /// a report names what was found).
    #[default]
    Auto,
    Hindsight,
    ChatGpt,
}

impl std::fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImportFormat::Auto => "auto",
            ImportFormat::Hindsight => "hindsight",
            ImportFormat::ChatGpt => "chatgpt",
        })
    }
}

/// An export format (the window's export command; the CLI has its own flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Markdown,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub conversations_added: usize,
    pub conversations_existing: usize,
    pub messages_added: usize,
    pub messages_existing: usize,
    /// Conversations with no importable message (ChatGPT: only system/tool/hidden content).
    pub empty_skipped: usize,
    /// Analyses restored from the file (conversations that had none).
    pub analyses_added: usize,
}

impl ImportReport {
    fn count_conversation(&mut self, added: bool) {
        if added {
            self.conversations_added += 1
        } else {
            self.conversations_existing += 1
        }
    }
    fn count_message(&mut self, added: bool) {
        if added {
            self.messages_added += 1
        } else {
            self.messages_existing += 1
        }
    }
}

/// Why an import was refused: where (a JSON path) and what. Database failures that are not
/// about the data (disk full, locked) pass through unchanged.
#[derive(Debug)]
pub(crate) enum Rejection {
    Data { path: String, reason: String },
    Store(Error),
}

impl Rejection {
    fn at(path: &str, e: Error) -> Self {
        match e {
            Error::Invalid(reason) => Rejection::msg(path, &reason),
            Error::NotFound { what, id } => {
                Rejection::msg(path, &format!("{what} not found: {id}"))
            }
            other => Rejection::Store(other),
        }
    }
    fn msg(path: &str, reason: &str) -> Self {
        Rejection::Data {
            path: path.to_owned(),
            reason: reason.to_owned(),
        }
    }
    fn into_error(self, file: &str) -> Error {
        match self {
            Rejection::Data { path, reason } => Error::BadImport {
                file: file.to_owned(),
                path,
                reason,
            },
            Rejection::Store(e) => e,
        }
    }
}

/// The ids an import has met so far, with where and what: an id used twice in one file for two
/// different records is refused naming both places.
#[derive(Default)]
pub(crate) struct Seen {
    ids: HashMap<String, (String, u64)>,
}

impl Seen {
    /// Records `id` (a `what`, with a fingerprint of its content) at `path`. The same record
    /// again is fine (`Ok`); another record under the same id is a rejection.
    pub(crate) fn check(
        &mut self,
        what: &str,
        id: &str,
        content: impl Hash,
        path: &str,
    ) -> Result<(), Rejection> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.hash(&mut h);
        let fingerprint = h.finish();
        let key = format!("{what}:{}", id.trim().to_lowercase());
        match self.ids.get(&key) {
            Some((first, seen)) if *seen != fingerprint => Err(Rejection::msg(
                path,
                &format!(
                    "{what} id {id} is used twice, for different {what}s: at {first} and here"
                ),
            )),
            Some(_) => Ok(()),
            None => {
                self.ids.insert(key, (path.to_owned(), fingerprint));
                Ok(())
            }
        }
    }
}

/// A stable UUID (v5) for records that come without one, derived from their content, so a
/// second import of the same file finds them again.
pub(crate) fn derived_id(parts: &[&str]) -> uuid::Uuid {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1d_3c0e_52a4_4f7e_9d2b_8a41_c3e0_f5d7);
    uuid::Uuid::new_v5(&NAMESPACE, parts.join("\u{1f}").as_bytes())
}

fn parse<'a, T: serde::Deserialize<'a>>(text: &'a str, file: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        Error::BadImport {
            file: file.to_owned(),
            path: if path == "." { "$".into() } else { path },
            reason: e.into_inner().to_string(),
        }
    })?;
    // Anything after the document (a second document, a half-written copy) is refused too.
    de.end().map_err(|e| Error::BadImport {
        file: file.to_owned(),
        path: "$".into(),
        reason: format!("unexpected data after the JSON document ({e})"),
    })?;
    Ok(value)
}

/// Imports `text` (the contents of `file`, named in errors) in one transaction.
pub fn import_str(
    store: &Store,
    text: &str,
    format: ImportFormat,
    file: &str,
) -> Result<ImportReport> {
    let format = match format {
        ImportFormat::Auto => match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next()
        {
            Some('[') => ImportFormat::ChatGpt,
            Some('{') => ImportFormat::Hindsight,
            _ => {
                return Err(Error::BadImport {
                    file: file.to_owned(),
                    path: "$".into(),
                    reason: "not a Hindsight JSON object or a ChatGPT conversations.json array"
                        .into(),
                })
            }
        },
        f => f,
    };
    let text = text.trim_start_matches('\u{feff}');
    let mut report = ImportReport::default();
    match format {
        ImportFormat::ChatGpt => {
            let parsed: Vec<chatgpt::ChatGptConversation> = parse(text, file)?;
            report.format = ImportFormat::ChatGpt;
            store.transaction(|s| {
                chatgpt::import(s, parsed, &mut report).map_err(|r| r.into_error(file))
            })?;
        }
        _ => {
            let parsed: HindsightFile = parse(text, file)?;
            report.format = ImportFormat::Hindsight;
            store.transaction(|s| {
                hindsight_json::import(s, parsed, &mut report).map_err(|r| r.into_error(file))
            })?;
        }
    }
    Ok(report)
}

pub fn import_file(store: &Store, path: &Path, format: ImportFormat) -> Result<ImportReport> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    import_str(store, &text, format, &path.display().to_string())
}

/// Every conversation with its messages, oldest first.
pub fn export(store: &Store) -> Result<HindsightFile> {
    let conversations = store
        .all_conversations()?
        .iter()
        .map(|c| {
            let messages = store
                .all_messages(&c.id)?
                .into_iter()
                .map(|m| {
                    let versions = match m.earlier_versions {
                        0 => Vec::new(),
                        _ => store.versions_of(&m.id)?,
                    };
                    Ok((m, versions))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ConversationJson::from_store(
                c,
                messages,
                store.get_analysis(&c.id)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(HindsightFile { conversations })
}

/// Writes Hindsight JSON to `path` (via a temporary file, so a failure leaves no half file).
pub fn export_json(store: &Store, path: &Path) -> Result<usize> {
    let file = export(store)?;
    let text = serde_json::to_string_pretty(&file)?;
    crate::files::write_private(path, text.as_bytes())?;
    Ok(file.conversations.len())
}

/// Writes one Markdown file per conversation into the directory `dir` (created if needed).
pub fn export_markdown(store: &Store, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut used = HashSet::new();
    for c in store.all_conversations()? {
        let messages = store.all_messages(&c.id)?;
        // Two conversations whose names collide (same day, title and id prefix) get the full
        // id, so no file overwrites another.
        let mut name = markdown::file_name(&c, false);
        if !used.insert(name.to_lowercase()) {
            name = markdown::file_name(&c, true);
            used.insert(name.to_lowercase());
        }
        let path = dir.join(name);
        crate::files::write_private(&path, markdown::render(&c, &messages).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
