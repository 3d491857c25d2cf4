//! Insights across all conversations: counts, sentiment per month and the leading topics per
//! month, from the stored analyses (one aggregate query each; months are UTC). Analyses in
//! doubt (`analysis::doubts`) are left out unless asked for, and so are those of chosen
//! models: a weak model's analyses are not charted as fact.
use std::collections::HashMap;

use serde::Serialize;

use super::Store;
use crate::error::Result;
use ts_rs::TS;

/// How many topics the topic series follow (the most frequent overall).
pub const TOP_TOPICS: usize = 6;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct InsightCounts {
    pub conversations: i64,
    pub messages: i64,
    pub analysed: i64,
    /// Analyses (of the models not excluded) whose checks found something wrong: left out of
    /// `analysed` and the charts unless included.
    pub in_doubt: i64,
    pub open_action_items: i64,
}

/// The analysed conversations started in one month.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SentimentPoint {
    /// `YYYY-MM`.
    pub month: String,
    pub conversations: i64,
    /// Mean sentiment score in [-1, 1].
    pub average: f64,
    pub positive: i64,
    pub neutral: i64,
    pub negative: i64,
    pub mixed: i64,
}

/// How many analysed conversations touched `topic`, month by month (`Insights::months`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TopicSeries {
    pub topic: String,
    pub total: i64,
    pub by_month: Vec<i64>,
}

/// A model that wrote analyses, and how many.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ModelAnalyses {
    pub model: String,
    pub analyses: i64,
    /// One of the built-in models (set by `Library::insights`: the store knows names only).
    /// Their sentiment labels are rough: the window says so under the chart.
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Insights {
    /// Counts; `analysed` and everything below leave out the excluded models' analyses.
    pub counts: InsightCounts,
    /// Every model with analyses (excluded or not), most analyses first.
    pub models: Vec<ModelAnalyses>,
    /// Every month with an analysed conversation, oldest first.
    pub months: Vec<String>,
    pub sentiment: Vec<SentimentPoint>,
    pub topics: Vec<TopicSeries>,
}

const MONTH: &str = "strftime('%Y-%m', c.start_time / 1000, 'unixepoch')";

/// The analyses charted: not by an excluded model (?1, a JSON array), not in doubt unless ?2.
const KEPT: &str = "a.model NOT IN (SELECT value FROM json_each(?1)) AND (?2 OR a.doubts = '[]')";

impl Store {
    /// Insights over the analyses of every model but `exclude_models`, those in doubt only
    /// if `include_doubtful`.
    pub fn insights(&self, exclude_models: &[String], include_doubtful: bool) -> Result<Insights> {
        // The excluded models as one bound JSON array, read with json_each.
        let excluded = serde_json::to_string(exclude_models)?;
        let counts = self.conn.query_row(
            &format!(
                "SELECT (SELECT count(*) FROM conversations),
                        (SELECT count(*) FROM messages),
                        (SELECT count(*) FROM conversation_analysis a WHERE {KEPT}),
                        (SELECT count(*) FROM conversation_analysis a
                         WHERE a.model NOT IN (SELECT value FROM json_each(?1))
                           AND a.doubts <> '[]'),
                        (SELECT count(*) FROM action_items WHERE done = 0)"
            ),
            rusqlite::params![excluded, include_doubtful],
            |r| {
                Ok(InsightCounts {
                    conversations: r.get(0)?,
                    messages: r.get(1)?,
                    analysed: r.get(2)?,
                    in_doubt: r.get(3)?,
                    open_action_items: r.get(4)?,
                })
            },
        )?;

        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MONTH} AS month, count(*), avg(coalesce(a.sentiment_score, 0)),
                    sum(a.sentiment = 'positive'), sum(a.sentiment = 'neutral'),
                    sum(a.sentiment = 'negative'), sum(a.sentiment = 'mixed')
             FROM conversation_analysis a JOIN conversations c ON c.id = a.conversation_id
             WHERE {KEPT}
             GROUP BY month ORDER BY month"
        ))?;
        let sentiment = stmt
            .query_map(rusqlite::params![excluded, include_doubtful], |r| {
                Ok(SentimentPoint {
                    month: r.get(0)?,
                    conversations: r.get(1)?,
                    average: r.get(2)?,
                    positive: r.get(3)?,
                    neutral: r.get(4)?,
                    negative: r.get(5)?,
                    mixed: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MONTH} AS month, lower(trim(t.value)) AS topic, count(DISTINCT c.id)
             FROM conversation_analysis a JOIN conversations c ON c.id = a.conversation_id,
                  json_each(a.topics) t
             WHERE t.type = 'text' AND trim(t.value) <> ''
               AND {KEPT}
             GROUP BY month, topic"
        ))?;
        let rows = stmt
            .query_map(rusqlite::params![excluded, include_doubtful], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        // One sentiment row per month, already in order.
        let months: Vec<String> = sentiment.iter().map(|p| p.month.clone()).collect();
        let mut totals: HashMap<&str, i64> = HashMap::new();
        for (_, topic, n) in &rows {
            *totals.entry(topic.as_str()).or_default() += n;
        }
        let mut ranked: Vec<(&str, i64)> = totals.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let topics = ranked
            .into_iter()
            .take(TOP_TOPICS)
            .map(|(topic, total)| TopicSeries {
                topic: topic.to_owned(),
                total,
                by_month: months
                    .iter()
                    .map(|m| {
                        rows.iter()
                            .filter(|(month, t, _)| month == m && t == topic)
                            .map(|(_, _, n)| n)
                            .sum()
                    })
                    .collect(),
            })
            .collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT model, count(*) AS n FROM conversation_analysis
             GROUP BY model ORDER BY n DESC, model",
        )?;
        let models = stmt
            .query_map([], |r| {
                Ok(ModelAnalyses {
                    model: r.get(0)?,
                    analyses: r.get(1)?,
                    builtin: false,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Insights {
            counts,
            models,
            months,
            sentiment,
            topics,
        })
    }
}
