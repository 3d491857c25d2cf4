//! Full-text search over message content (FTS5, BM25). User text never reaches MATCH raw: each
//! whitespace-separated term becomes a quoted FTS5 string, so `"`, `*`, `NEAR(`, `AND`, `-`
//! and `'; DROP TABLE` are searched for as words, never parsed as query syntax.
use rusqlite::params;

use super::{clamp_limit, messages, Store, TextHit};
use crate::error::Result;

/// Turns free user text into an FTS5 query matching every term (implicit AND), or `None` when
/// the text has no terms at all.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Words too common to help a ranked (OR) query.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "about", "as", "at", "be", "but", "by", "can", "did", "do", "does",
    "for", "from", "had", "has", "have", "how", "i", "if", "in", "is", "it", "its", "me", "my",
    "of", "on", "or", "our", "so", "that", "the", "their", "them", "then", "there", "this", "to",
    "us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "you", "your",
];

/// Free user text as an FTS5 query matching *any* of its terms (stop words dropped), for BM25
/// ranking of natural questions; `None` when nothing is left.
pub fn fts_query_any(text: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let terms: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|t| {
            t.trim_matches(|c: char| c == '\'' || c == '-')
                .to_lowercase()
        })
        .filter(|t| !t.is_empty() && !STOPWORDS.contains(&t.as_str()))
        .filter(|t| seen.insert(t.clone()))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

impl Store {
    /// Messages whose content contains every term of `text`, best BM25 first.
    pub fn search_text(&self, text: &str, limit: usize) -> Result<Vec<TextHit>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "WITH hits AS (
                 SELECT rowid, bm25(messages_fts) AS rank FROM messages_fts
                 WHERE messages_fts MATCH ?1 ORDER BY rank LIMIT ?2)
             SELECT {COLUMNS}, c.title, hits.rank
             FROM messages m
             JOIN hits ON hits.rowid = m.seq
             JOIN conversations c ON c.id = m.conversation_id
             ORDER BY hits.rank",
            COLUMNS = messages::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![query, clamp_limit(limit) as i64], |r| {
            Ok(TextHit {
                message: messages::from_row(r)?,
                conversation_title: r.get(messages::AFTER)?,
                rank: r.get(messages::AFTER + 1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
