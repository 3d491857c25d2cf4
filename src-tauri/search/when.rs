//! Time in questions: "last month", "in April 2025", "last summer", "3 weeks ago" → a range
//! of time, by rules (English), relative to the moment the question is asked. Search lifts the
//! messages inside the range and shows the range it understood; it never hides the others
//! (a misread phrase must not lose the answer). Days are UTC days; seasons are the northern
//! hemisphere's meteorological ones (spring = March to May).
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use serde::Serialize;

use crate::store::Millis;
use ts_rs::TS;

/// A time range found in a question: `from` inclusive, `to` exclusive (UTC ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TimeRange {
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub from: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[ts(type = "string")]
    pub to: Millis,
    /// The words of the question that named it, as written ("last summer").
    pub phrase: String,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            *m == w || (w.len() == 3 && m.starts_with(w)) || (w == "sept" && *m == "september")
        })
        .map(|i| i as u32 + 1)
}

/// First month of a season (meteorological, northern hemisphere).
fn season_of(word: &str) -> Option<u32> {
    match word {
        "spring" => Some(3),
        "summer" => Some(6),
        "autumn" | "fall" => Some(9),
        "winter" => Some(12),
        _ => None,
    }
}

fn year_of(word: &str) -> Option<i32> {
    let w = word.trim_end_matches(['s', '\'']);
    (w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
        .filter(|y| (1970..=2200).contains(y))
}

fn number_of(word: &str) -> Option<i64> {
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    match word {
        "a" | "an" => Some(1),
        "couple" => Some(2),
        "few" => Some(3),
        _ => word
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .or_else(|| WORDS.iter().position(|w| *w == word).map(|i| i as i64 + 1)),
    }
}

fn ms(d: NaiveDate) -> Millis {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

fn month_start(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// `[first day of (year, month), + months)`.
fn months_range(year: i32, month: u32, months: u32) -> Option<(Millis, Millis)> {
    let start = month_start(year, month)?;
    let end = start.checked_add_months(Months::new(months))?;
    Some((ms(start), ms(end)))
}

/// The season of `year` starting in month `first` (winter 2025 is December 2025 to February
/// 2026).
fn season_range(year: i32, first: u32) -> Option<(Millis, Millis)> {
    months_range(year, first, 3)
}

/// The most recent season (starting month `first`) that has begun before `today`; `strictly`:
/// one that has also ended.
fn recent_season(today: NaiveDate, first: u32, strictly: bool) -> Option<(Millis, Millis)> {
    let mut year = today.year();
    loop {
        let (from, to) = season_range(year, first)?;
        let t = ms(today);
        if (strictly && to <= t) || (!strictly && from <= t) {
            return Some((from, to));
        }
        year -= 1;
        if year < today.year() - 2 {
            return None;
        }
    }
}

/// The most recent `month` that began on or before `today` (`strictly`: before this month).
fn recent_month(today: NaiveDate, month: u32, strictly: bool) -> Option<(Millis, Millis)> {
    let year = if month < today.month() || (month == today.month() && !strictly) {
        today.year()
    } else {
        today.year() - 1
    };
    months_range(year, month, 1)
}

/// A day of the month as a number ("20", "20th", "1st").
fn day_of(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    (matches!(suffix, "" | "st" | "nd" | "rd" | "th") && (1..=2).contains(&digits.len()))
        .then(|| digits.parse().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d))
}

/// "20th of September", "September 20th", "5 March 2025" at word `i`: that day, as
/// `((from, to), words used)`. Without a year, the most recent such day up to `today`.
fn day_of_month(
    words: &[(String, usize, usize)],
    i: usize,
    today: NaiveDate,
) -> Option<((Millis, Millis), usize)> {
    let w = |i: usize| words.get(i).map(|x| x.0.as_str()).unwrap_or("");
    let (day, month, used) = if let Some(d) = day_of(w(i)) {
        if w(i + 1) == "of" {
            (d, month_of(w(i + 2))?, 3)
        } else {
            (d, month_of(w(i + 1))?, 2)
        }
    } else {
        let m = month_of(w(i))?;
        (day_of(w(i + 1))?, m, 2)
    };
    let (year, used) = match year_of(w(i + used)) {
        Some(y) => (y, used + 1),
        None => {
            let this = NaiveDate::from_ymd_opt(today.year(), month, day)?;
            (
                if this <= today {
                    today.year()
                } else {
                    today.year() - 1
                },
                used,
            )
        }
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let from = ms(date);
    Some(((from, from + Duration::days(1).num_milliseconds()), used))
}

/// The time range a question names, if any, relative to `now`.
pub fn parse(question: &str, now: Millis) -> Option<TimeRange> {
    let now_t = DateTime::<Utc>::from_timestamp_millis(now)?;
    let today = now_t.date_naive();
    // Words with their byte spans in the question (for the phrase as written).
    let mut words: Vec<(String, usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in question
        .char_indices()
        .chain(std::iter::once((question.len(), ' ')))
    {
        let part = c.is_alphanumeric() || c == '\'';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((question[s..i].to_lowercase(), s, i));
                start = None;
            }
            _ => {}
        }
    }
    let w = |i: usize| words.get(i).map(|x| x.0.as_str()).unwrap_or("");
    let day = Duration::days(1);
    let t = ms(today);
    for i in 0..words.len() {
        let found: Option<((Millis, Millis), usize)> = (|| {
            let (a, b, c) = (w(i), w(i + 1), w(i + 2));
            match a {
                "today" | "tonight" => return Some(((t, t + day.num_milliseconds()), 1)),
                "yesterday" => return Some(((t - day.num_milliseconds(), t), 1)),
                // "last night", but not "his last night of freedom".
                "last" | "past" | "previous"
                    if b == "night"
                        && !matches!(
                            if i > 0 { w(i - 1) } else { "" },
                            "his" | "her" | "my" | "their" | "our" | "your" | "its" | "the" | "a"
                        ) =>
                {
                    return Some(((t - day.num_milliseconds(), t), 2))
                }
                _ => {}
            }
            // "this week / month / year / summer"
            if a == "this" {
                let r = match b {
                    "week" => {
                        let monday =
                            today - Duration::days(today.weekday().num_days_from_monday() as i64);
                        (ms(monday), ms(monday) + 7 * day.num_milliseconds())
                    }
                    "month" => months_range(today.year(), today.month(), 1)?,
                    "year" => months_range(today.year(), 1, 12)?,
                    s => recent_season(today, season_of(s)?, false)?,
                };
                return Some((r, 2));
            }
            // "last / past / previous week | month | year | weekend | spring | April"
            if matches!(a, "last" | "past" | "previous") {
                let r = match b {
                    "week" => {
                        let monday =
                            today - Duration::days(today.weekday().num_days_from_monday() as i64);
                        (ms(monday) - 7 * day.num_milliseconds(), ms(monday))
                    }
                    "weekend" => {
                        let monday =
                            today - Duration::days(today.weekday().num_days_from_monday() as i64);
                        (ms(monday) - 2 * day.num_milliseconds(), ms(monday))
                    }
                    "month" => {
                        let first = month_start(today.year(), today.month())?;
                        let prev = first.checked_sub_months(Months::new(1))?;
                        (ms(prev), ms(first))
                    }
                    "year" => months_range(today.year() - 1, 1, 12)?,
                    s => {
                        if let Some(m) = month_of(s) {
                            recent_month(today, m, true)?
                        } else {
                            recent_season(today, season_of(s)?, true)?
                        }
                    }
                };
                return Some((r, 2));
            }
            // "N days / weeks / months / years ago" (a or a couple of)
            let (n, unit, used) = if b == "of" {
                (number_of(a)?, c, 4)
            } else {
                (number_of(a)?, b, 3)
            };
            let unit = unit.trim_end_matches('s');
            let after = w(i + used - 1);
            if after != "ago" {
                return None;
            }
            let (center, half) = match unit {
                // That day: [its start, its end).
                "day" => (
                    t - n * day.num_milliseconds() + day.num_milliseconds() / 2,
                    day.num_milliseconds() / 2,
                ),
                "week" => (
                    t - n * 7 * day.num_milliseconds(),
                    4 * day.num_milliseconds(),
                ),
                "month" => (
                    ms(today.checked_sub_months(Months::new(n as u32))?),
                    16 * day.num_milliseconds(),
                ),
                "year" => (
                    ms(today.checked_sub_months(Months::new(12 * n as u32))?),
                    183 * day.num_milliseconds(),
                ),
                _ => return None,
            };
            Some(((center - half, center + half), used))
        })();
        let found = found.or_else(|| day_of_month(&words, i, today));
        let found = found.or_else(|| {
            // "April 2025", "spring 2025", "in April", "in 2025", "summer of 2024"
            let (a, b, c) = (w(i), w(i + 1), w(i + 2));
            let prev = if i > 0 { w(i - 1) } else { "" };
            let (year, used) = match (year_of(b), b, year_of(c)) {
                (Some(y), _, _) => (Some(y), 2),
                (None, "of", Some(y)) => (Some(y), 3),
                _ => (None, 1),
            };
            if let Some(m) = month_of(a) {
                // A bare "may" is a verb far more often than a month.
                if a == "may"
                    && year.is_none()
                    && !matches!(
                        prev,
                        "in" | "during" | "since" | "before" | "after" | "early" | "late" | "mid"
                    )
                {
                    return None;
                }
                // "march" alone could be a verb too; "in/during March" or a year makes it a month.
                if year.is_none()
                    && !matches!(
                        prev,
                        "in" | "during"
                            | "since"
                            | "before"
                            | "after"
                            | "early"
                            | "late"
                            | "mid"
                            | "of"
                            | "last"
                    )
                    && a == "march"
                {
                    return None;
                }
                let r = match year {
                    Some(y) => months_range(y, m, 1)?,
                    None => recent_month(today, m, false)?,
                };
                return Some((r, used));
            }
            if let Some(first) = season_of(a) {
                let r = match year {
                    Some(y) => season_range(y, first)?,
                    None if matches!(prev, "in" | "during" | "over") => {
                        recent_season(today, first, false)?
                    }
                    None => return None,
                };
                return Some((r, used));
            }
            // A bare number is a year only after a time word ("in 2024", not "the 1984 novel").
            if let Some(y) = year_of(a) {
                if matches!(
                    prev,
                    "in" | "during" | "since" | "before" | "after" | "of" | "from"
                ) {
                    return Some((months_range(y, 1, 12)?, 1));
                }
            }
            None
        });
        let Some(((mut from, mut to), used)) = found else {
            continue;
        };
        let mut first = i;
        // "since April": from its start to now; "after April": from its end; "before April":
        // up to its start.
        match if i > 0 { w(i - 1) } else { "" } {
            "since" => {
                to = now.max(from + 1);
                first = i - 1;
            }
            "after" => {
                from = to;
                to = now.max(from + 1);
                first = i - 1;
            }
            "before" => {
                to = from;
                from = 0;
                first = i - 1;
            }
            "in" | "during" | "from" | "on" | "over" => first = i - 1,
            _ => {}
        }
        let last = (i + used - 1).min(words.len() - 1);
        return Some(TimeRange {
            from: from.max(0),
            to: to.max(from + 1),
            phrase: question[words[first].1..words[last].2].to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn at(s: &str) -> Millis {
        crate::time::parse_rfc3339(s).unwrap()
    }

    fn range(q: &str) -> Option<(String, String, String)> {
        parse(q, at("2026-03-18T12:00:00Z")).map(|r| {
            (
                crate::time::to_rfc3339(r.from)[..10].to_owned(),
                crate::time::to_rfc3339(r.to)[..10].to_owned(),
                r.phrase,
            )
        })
    }

    fn is(q: &str, from: &str, to: &str, phrase: &str) {
        assert_eq!(
            range(q),
            Some((from.into(), to.into(), phrase.into())),
            "{q}"
        );
    }

    #[test]
    fn phrases_become_ranges() {
        is(
            "what did I cook yesterday?",
            "2026-03-17",
            "2026-03-18",
            "yesterday",
        );
        is(
            "what did we do last month",
            "2026-02-01",
            "2026-03-01",
            "last month",
        );
        is(
            "Where did I go in April 2025?",
            "2025-04-01",
            "2025-05-01",
            "in April 2025",
        );
        is(
            "where did I go in April",
            "2025-04-01",
            "2025-05-01",
            "in April",
        );
        is(
            "what happened in March",
            "2026-03-01",
            "2026-04-01",
            "in March",
        );
        is(
            "what was I doing last summer",
            "2025-06-01",
            "2025-09-01",
            "last summer",
        );
        is(
            "plans for this year",
            "2026-01-01",
            "2027-01-01",
            "this year",
        );
        is(
            "what did I read in 2024",
            "2024-01-01",
            "2025-01-01",
            "in 2024",
        );
        is(
            "trips in the summer of 2024",
            "2024-06-01",
            "2024-09-01",
            "summer of 2024",
        );
        is(
            "who did I meet 3 weeks ago",
            "2026-02-21",
            "2026-03-01",
            "3 weeks ago",
        );
        is(
            "what did I buy two days ago",
            "2026-03-16",
            "2026-03-17",
            "two days ago",
        );
        is(
            "what did I do last winter",
            "2025-12-01",
            "2026-03-01",
            "last winter",
        );
        is(
            "books since January",
            "2026-01-01",
            "2026-03-18",
            "since January",
        );
        is(
            "what did I plan before June 2025",
            "1970-01-01",
            "2025-06-01",
            "before June 2025",
        );
        is(
            "what did I do on the 20th of september",
            "2025-09-20",
            "2025-09-21",
            "20th of september",
        );
        is(
            "dinner on March 5th",
            "2026-03-05",
            "2026-03-06",
            "on March 5th",
        );
        is(
            "the party on 5 March 2025",
            "2025-03-05",
            "2025-03-06",
            "on 5 March 2025",
        );
    }

    #[test]
    fn ordinary_words_are_not_times() {
        for q in [
            "what may I eat after the surgery?",
            "did we march for the climate?",
            "what did Priya say about her sister",
            "the 1984 novel",
            "last time we spoke about the garden",
            "what happened on his last night of freedom",
            "I ran 5 km",
        ] {
            assert_eq!(range(q).map(|r| r.2), None, "{q}");
        }
    }
}
