//! Action items from the person's own words: the tasks they said they would do ("I'll book the
//! physio tomorrow, and until then I'll swap my runs for the bike", "gonna do 10 puzzles a day
//! and play the advance", "ordering the paint tonight"), one item per task, in their words.
//!
//! Why not the model's list: on both quality sets (tests/fixtures/quality, BENCHMARKS.md) the
//! 0.5B model found 56–62 % of the tasks and half of what it listed was the assistant's advice
//! ("Ice for 10–15 minutes") or invented; the 1.5B model 75–83 % with 58–74 % precision. What
//! people commit to in a chat is said in a few fixed ways in English, and a task found in the
//! person's own sentence cannot be made up. So for a conversation in English the analysis's
//! action items are these; in another language the model's list is kept.
use std::collections::HashSet;

use crate::store::{Message, NewActionItem, Owner, Sender};

/// At most this many action items from one conversation.
const MAX_ITEMS: usize = 8;
/// A "task" longer than this (words) is a description, not a task.
const MAX_WORDS: usize = 25;

/// Word sequences by which a person commits to doing something (lower case, straight
/// apostrophes; "ill" and "im" are how "I'll" and "I'm" are typed in a hurry).
const MARKERS: &[&[&str]] = &[
    &["i'll"],
    &["ill"],
    &["i", "will"],
    &["we'll"],
    &["we", "will"],
    &["i'm", "going", "to"],
    &["im", "going", "to"],
    &["i", "am", "going", "to"],
    &["we're", "going", "to"],
    &["i'm", "gonna"],
    &["im", "gonna"],
    &["we're", "gonna"],
    &["gonna"],
    &["i", "need", "to"],
    &["we", "need", "to"],
    &["need", "to"],
    &["i", "have", "to"],
    &["we", "have", "to"],
    &["i've", "got", "to"],
    &["i", "must"],
    &["i", "plan", "to"],
    &["i'm", "planning", "to"],
    &["remind", "me", "to"],
    &["i'd", "better"],
    &["i", "should"],
    &["we", "should"],
    &["let", "me"],
    &["let's"],
];

/// Before a marker, these make it someone else's task or no task ("you need to", "I'm scared
/// I'll have to stop", "I think we'll mostly be wandering").
const NOT_A_COMMITMENT_BEFORE: &[&str] = &[
    "you", "he", "she", "they", "it", "who", "scared", "afraid", "worried", "worry", "fear",
    "hope", "hoping", "think", "guess", "wonder", "maybe", "might", "whether", "wish", "if",
    "unless",
];

/// A sentence that starts with one of these (after "ok", "so"...) is a question, with or
/// without its question mark.
const QUESTION_STARTS: &[&str] = &[
    "do", "does", "did", "should", "shall", "can", "could", "will", "would", "is", "are", "am",
    "what", "how", "when", "where", "why",
];

/// Words that open a sentence without saying anything ("ok, I'll…", "right, booking it…").
const FILLERS: &[&str] = &[
    "ok", "okay", "right", "perfect", "great", "cool", "so", "fine", "and", "but", "well", "yes",
];

/// Adverbs between a marker and its verb ("I'll just book", "we'll probably be").
const ADVERBS: &[&str] = &[
    "just",
    "definitely",
    "also",
    "probably",
    "mostly",
    "then",
    "still",
    "actually",
    "really",
];

/// Verbs tasks begin with: where "and" or a comma starts a second task ("do 10 puzzles a day
/// and play the advance"), and what "ordering the paint tonight" is made of.
const TASK_VERBS: &[&str] = &[
    "add", "apply", "arrange", "ask", "bake", "book", "bring", "build", "buy", "call", "cancel",
    "change", "chase", "check", "clean", "clear", "collect", "contact", "cook", "cut", "delete",
    "dig", "do", "draft", "drop", "email", "fill", "find", "finish", "fix", "follow", "get",
    "give", "go", "grab", "hang", "help", "install", "invite", "join", "keep", "learn", "leave",
    "let", "look", "mail", "make", "meet", "message", "move", "note", "open", "order", "organise",
    "organize", "pack", "paint", "pay", "phone", "pick", "plan", "play", "post", "practice",
    "practise", "prepare", "print", "put", "read", "register", "remove", "renew", "repair",
    "replace", "reply", "reserve", "restart", "return", "review", "ring", "run", "save",
    "schedule", "see", "sell", "send", "set", "share", "ship", "shop", "sign", "sort", "speak",
    "start", "stop", "study", "submit", "swap", "switch", "take", "talk", "tell", "test", "text",
    "tidy", "track", "try", "update", "upload", "use", "visit", "wash", "watch", "water", "write",
    "attend", "bin", "confirm", "cover", "file", "drive", "fetch", "feed", "wrap", "measure",
];

/// Words that make an "-ing" sentence a plan with a time ("baking the sponges the friday before").
const TIME_WORDS: &[&str] = &[
    "tonight",
    "tomorrow",
    "today",
    "week",
    "weekend",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "morning",
    "evening",
    "later",
    "now",
    "next",
    "before",
    "by",
];

/// Common English words: how a conversation is recognised as English.
const ENGLISH: &[&str] = &[
    "the", "a", "an", "to", "and", "of", "in", "on", "for", "is", "it", "i", "you", "we", "my",
    "that", "this", "with", "was", "are", "be", "have", "do", "not", "but", "so", "if", "at", "me",
    "what", "can", "just", "ok", "i'll", "ill", "im", "i'm", "it's", "your", "our", "yes", "all",
    "also", "from", "or", "by", "up", "off", "out", "she", "her", "his", "they", "them", "their",
    "can't", "don't", "won't", "didn't", "isn't", "there", "then", "than", "too", "after",
    "before", "about", "one", "two", "week", "day", "now", "still", "will", "got", "get",
];

/// One word of a sentence: lower case with straight apostrophes, and where it is in the text.
#[derive(Debug)]
struct Word {
    norm: String,
    start: usize,
    end: usize,
}

fn words(sentence: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '’' || c == '£' || c == '€';
    for (i, c) in sentence.char_indices().chain([(sentence.len(), ' ')]) {
        match (start, is_word(c) && i < sentence.len()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let raw = &sentence[s..i];
                let norm = raw.replace('’', "'").trim_matches('\'').to_lowercase();
                if !norm.is_empty() {
                    out.push(Word {
                        norm,
                        start: s,
                        end: i,
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The sentences of a message, each with whether it asks a question. A sentence ends at
/// `.`, `!`, `?` or `;` followed by a space (not "9.10"), or at a line break.
fn sentences(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let ends = c == '\n'
            || (matches!(c, '.' | '!' | '?' | ';') && next.is_none_or(char::is_whitespace));
        if ends {
            let s = text[start..i].trim();
            if !s.is_empty() {
                out.push((s, c == '?'));
            }
            start = i + c.len_utf8();
        }
    }
    let s = text[start..].trim();
    if !s.is_empty() {
        out.push((s, false));
    }
    out
}

/// Is `w` a form of a task verb: "book", "booking", "making", "putting"?
fn is_task_verb(w: &str) -> bool {
    TASK_VERBS.contains(&w)
}

fn is_task_verb_ing(w: &str) -> bool {
    let Some(stem) = w.strip_suffix("ing") else {
        return false;
    };
    if stem.len() < 2 {
        return false;
    }
    if is_task_verb(stem) || is_task_verb(&format!("{stem}e")) {
        return true;
    }
    // "putting", "shopping": a doubled last consonant.
    let b = stem.as_bytes();
    b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] && is_task_verb(&stem[..stem.len() - 1])
}

/// After "going to", a word that begins a place or a thing: a determiner, or a capital letter
/// ("Lisbon") in the middle of a sentence.
fn not_a_verb(sentence: &str, w: &Word) -> bool {
    const DETERMINERS: &[&str] = &[
        "the", "a", "an", "my", "our", "his", "her", "their", "your", "this", "that", "some",
    ];
    DETERMINERS.contains(&w.norm.as_str())
        || (w.start > 0 && sentence[w.start..].starts_with(|c: char| c.is_uppercase()))
}

/// The text between word `i` and the one before it (from the sentence's start for the first):
/// spaces and punctuation, where a comma or a colon parts clauses.
fn gap_before<'a>(sentence: &'a str, ws: &[Word], i: usize) -> &'a str {
    let from = i.checked_sub(1).map_or(0, |k| ws[k].end);
    &sentence[from..ws[i].start]
}

/// Where a marker starts at word `i`: its length in words.
fn marker_at(ws: &[Word], i: usize) -> Option<usize> {
    MARKERS
        .iter()
        .filter(|m| m.len() <= ws.len() - i && m.iter().zip(&ws[i..]).all(|(a, b)| *a == b.norm))
        .map(|m| m.len())
        .max()
}

/// The index of the first word after fillers.
fn after_fillers(ws: &[Word]) -> usize {
    ws.iter()
        .position(|w| !FILLERS.contains(&w.norm.as_str()))
        .unwrap_or(ws.len())
}

/// The tasks of one sentence from word `from` on (just after a marker, or at an "-ing" verb):
/// split at a later marker, and at "and" or a comma before a task verb; each cut before a
/// reason or a condition ("so people have time", "because", ", and if he doesn't budge").
fn tasks(sentence: &str, ws: &[Word], from: usize) -> Vec<String> {
    // Word ranges of the tasks.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut start = from;
    let mut i = from;
    while i < ws.len() {
        if i > start {
            if let Some(len) = marker_at(ws, i) {
                // "…, and until then I'll swap": the joining words belong to neither task.
                let mut end = i;
                while end > start
                    && matches!(
                        ws[end - 1].norm.as_str(),
                        "and" | "then" | "until" | "also" | "so"
                    )
                {
                    end -= 1;
                }
                ranges.push((start, end));
                start = i + len;
                i = start;
                continue;
            }
            // "…, and I ask for a rotation list": another planned task.
            if let Some(verb) = planned_verb_at(ws, i) {
                let mut end = i;
                while end > start && matches!(ws[end - 1].norm.as_str(), "and" | "then") {
                    end -= 1;
                }
                ranges.push((start, end));
                start = verb;
                i = verb;
                continue;
            }
            let comma_before = gap_before(sentence, ws, i).contains(',');
            if ws[i].norm == "and"
                && ws
                    .get(i + 1)
                    .is_some_and(|n| is_task_verb(&n.norm) || is_task_verb_ing(&n.norm))
            {
                ranges.push((start, i));
                start = i + 1;
                i = start;
                continue;
            }
            if comma_before && is_task_verb(&ws[i].norm) {
                ranges.push((start, i));
                start = i;
            }
        }
        i += 1;
    }
    ranges.push((start, ws.len()));
    ranges
        .into_iter()
        .filter_map(|(s, e)| {
            // Skip adverbs at the start; cut at a reason or a condition.
            let mut s = s;
            while s < e && ADVERBS.contains(&ws[s].norm.as_str()) {
                s += 1;
            }
            let mut end = e;
            for k in s..e {
                let w = ws[k].norm.as_str();
                let next = ws.get(k + 1).map(|n| n.norm.as_str());
                let comma_before = k > s && gap_before(sentence, ws, k).contains(',');
                let cut = w == "because"
                    || (w == "so"
                        && next.is_some_and(|n| {
                            matches!(
                                n,
                                "i" | "we"
                                    | "they"
                                    | "people"
                                    | "it"
                                    | "he"
                                    | "she"
                                    | "you"
                                    | "that"
                            )
                        }))
                    || (w == "just" && next == Some("in"))
                    || (comma_before && matches!(w, "and" | "if" | "but"));
                if cut && k > s {
                    end = k;
                    break;
                }
            }
            // A task is a verb phrase: not "we'll be…", not one word.
            if end - s < 2 || end - s > MAX_WORDS || matches!(ws[s].norm.as_str(), "be" | "been") {
                return None;
            }
            let text = sentence[ws[s].start..ws[end - 1].end].trim_end_matches(['\'', '’']);
            let mut chars = text.chars();
            let first = chars.next()?;
            Some(first.to_uppercase().chain(chars).collect())
        })
        .collect()
}

/// The tasks the person committed to in one sentence.
fn sentence_tasks(sentence: &str, question: bool) -> Vec<String> {
    if question {
        return Vec::new();
    }
    let ws = words(sentence);
    let first = after_fillers(&ws);
    let Some(lead) = ws.get(first) else {
        return Vec::new();
    };
    // "will email bev tomorrow": the "I" left out, not a question.
    if lead.norm == "will" && ws.get(first + 1).is_some_and(|w| is_task_verb(&w.norm)) {
        return tasks(sentence, &ws, first + 1);
    }
    // A question, or code ("I call `parse(&line)` in a loop").
    if QUESTION_STARTS.contains(&lead.norm.as_str()) || sentence.contains('`') {
        return Vec::new();
    }
    for i in first..ws.len() {
        let Some(len) = marker_at(&ws, i) else {
            continue;
        };
        let before = i.checked_sub(1).map(|k| ws[k].norm.as_str());
        let before2 = i.checked_sub(2).map(|k| ws[k].norm.as_str());
        let other = |w: Option<&str>| w.is_some_and(|w| NOT_A_COMMITMENT_BEFORE.contains(&w));
        if other(before) || (before == Some("that") && other(before2)) {
            continue;
        }
        // "Let me check" opens a sentence or a clause; "The Running Room let me try three
        // yesterday" is someone who let me, not a task.
        if ws[i].norm == "let"
            && i != first
            && !gap_before(sentence, &ws, i)
                .trim_end()
                .ends_with([',', ':', '-', '–'])
            && !matches!(before, Some("and" | "so" | "then" | "now"))
        {
            continue;
        }
        // "I'll think about it", "let me know": no task.
        if ws.get(i + len).is_some_and(|w| {
            matches!(
                w.norm.as_str(),
                "know" | "think" | "see" | "guess" | "explain" | "be" | "wonder"
            )
        }) {
            continue;
        }
        // "I'm going to Lisbon", "we need to the station": a place, not a verb, after "to".
        if ws[i + len - 1].norm == "to" && ws.get(i + len).is_some_and(|w| not_a_verb(sentence, w))
        {
            continue;
        }
        return tasks(sentence, &ws, i + len);
    }
    // Without a marker, a plan with a time: in the sentence, or else in a clause after a colon
    // ("Cake: ordering Monday, lemon, from Sonia's Bakery", "the roof box is still in the
    // garage: selling it on Marketplace this weekend").
    let colons: Vec<usize> = (first + 1..ws.len())
        .filter(|&k| gap_before(sentence, &ws, k).trim_end().ends_with(':'))
        .collect();
    let ends = colons.iter().skip(1).copied().chain([ws.len()]);
    std::iter::once((first, ws.len()))
        .chain(colons.iter().copied().zip(ends))
        .find_map(|(start, end)| planned_verb(sentence, &ws, start, end))
        .map(|verb| tasks(sentence, &ws, verb))
        .unwrap_or_default()
}

/// Where a plan with a time starts among words `start..end` (a sentence, or a clause of one):
/// "ordering the gold paint tonight", "Monday I ask Marloes", "I'm calling them tomorrow".
fn planned_verb(sentence: &str, ws: &[Word], start: usize, end: usize) -> Option<usize> {
    let clause = &ws[start..end];
    let has_time = clause.iter().any(|w| TIME_WORDS.contains(&w.norm.as_str()))
        && !clause
            .iter()
            .any(|w| matches!(w.norm.as_str(), "yesterday" | "ago" | "last"));
    if !has_time {
        return None;
    }
    // "ordering the gold paint tonight": an -ing task verb first, a time, no "is".
    let states = clause
        .iter()
        .any(|w| matches!(w.norm.as_str(), "is" | "was" | "are" | "were"));
    if is_task_verb_ing(&ws[start].norm) && !states && !to_a_place(sentence, ws, start) {
        return Some(start);
    }
    // The present for a plan with a time: "Monday I ask Marloes", "I'm calling them tomorrow";
    // not a habit ("we usually meet on the first Thursday").
    let habit = clause.iter().any(|w| {
        matches!(
            w.norm.as_str(),
            "usually" | "always" | "normally" | "often" | "sometimes" | "each" | "every"
        )
    });
    if habit {
        return None;
    }
    (start..end)
        .find_map(|i| planned_verb_at(ws, i))
        .filter(|&verb| !to_a_place(sentence, ws, verb))
}

/// "moving to Leeds next month", "driving to the coast on Friday": the verb at `verb` goes
/// somewhere, which is news of a move or a trip, not a task.
fn to_a_place(sentence: &str, ws: &[Word], verb: usize) -> bool {
    ws.get(verb + 1).is_some_and(|w| w.norm == "to")
        && ws.get(verb + 2).is_some_and(|w| not_a_verb(sentence, w))
}

/// Where the verb is when word `i` starts "I ask…", "we book…" or "I'm calling…" (a task verb
/// in the present, which with a time in the sentence is a plan).
fn planned_verb_at(ws: &[Word], i: usize) -> Option<usize> {
    let verb = ws.get(i + 1)?;
    match ws[i].norm.as_str() {
        "i" | "we" if is_task_verb(&verb.norm) => Some(i + 1),
        "i'm" | "im" | "we're" if verb.norm != "going" && is_task_verb_ing(&verb.norm) => {
            Some(i + 1)
        }
        _ => None,
    }
}

/// The person's commitments in a conversation, in order, each once.
pub fn commitments(messages: &[Message]) -> Vec<NewActionItem> {
    let mut seen = HashSet::new();
    messages
        .iter()
        .filter(|m| m.sender == Sender::User)
        .flat_map(|m| {
            sentences(&m.content)
                .into_iter()
                .flat_map(|(s, q)| sentence_tasks(s, q))
                .collect::<Vec<_>>()
        })
        .filter(|t| seen.insert(t.to_lowercase()))
        .take(MAX_ITEMS)
        .map(|text| NewActionItem {
            text,
            owner: Owner::User,
        })
        .collect()
}

/// Does the person write in English (so that [`commitments`] can read them)? At least one
/// word in six of theirs is a common English word (English prose: about one in two; clipped
/// notes, "Wet Tupperware I can live with. Noise I can't. Ordered the Bosch 300 from Best
/// Buy", about one in five). Numbers and prices are no language's words and are not counted.
pub fn reads_as_english(messages: &[Message]) -> bool {
    let (mut common, mut total) = (0usize, 0usize);
    for m in messages.iter().filter(|m| m.sender == Sender::User) {
        for w in words(&m.content)
            .into_iter()
            .filter(|w| !w.norm.contains(|c: char| c.is_ascii_digit()))
        {
            total += 1;
            common += usize::from(ENGLISH.contains(&w.norm.as_str()));
        }
    }
    total > 0 && common * 6 >= total
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn found(text: &str) -> Vec<String> {
        sentences(text)
            .into_iter()
            .flat_map(|(s, q)| sentence_tasks(s, q))
            .collect()
    }

    #[test]
    fn one_item_per_task_in_the_persons_words() {
        assert_eq!(
            found("Fine. I'll book the physio at the sports centre tomorrow, and until then I'll swap my runs for the exercise bike."),
            ["Book the physio at the sports centre tomorrow", "Swap my runs for the exercise bike"]
        );
        assert_eq!(
            found("ok. gonna do 10 puzzles a day and play the advance in every online game this week. club is thursday"),
            ["Do 10 puzzles a day", "Play the advance in every online game this week"]
        );
        assert_eq!(
            found("I'll write out three STAR stories this weekend, book the room, and do that SQL question tomorrow night."),
            ["Write out three STAR stories this weekend", "Book the room", "Do that SQL question tomorrow night"]
        );
        assert_eq!(
            found("ok ordering the gold paint and piping nozzles tonight."),
            ["Ordering the gold paint and piping nozzles tonight"]
        );
        assert_eq!(
            found("Great, I’ll post it in the WhatsApp group tonight so people have time to get a copy."),
            ["Post it in the WhatsApp group tonight"]
        );
        assert_eq!(
            found("I'll email him on Monday with the photos, and if he doesn't budge I'll open a dispute."),
            ["Email him on Monday with the photos", "Open a dispute"]
        );
        assert_eq!(
            found(
                "Right. Monday I ask Marloes for 15 minutes, and I ask for a rota for next year."
            ),
            ["Ask Marloes for 15 minutes", "Ask for a rota for next year"]
        );
        assert_eq!(
            found("I'm calling the landlord tomorrow morning. Let me check the contract tonight."),
            [
                "Calling the landlord tomorrow morning",
                "Check the contract tonight"
            ]
        );
        assert_eq!(
            found("ok im gonna say yes. will email bev tomorrow"),
            ["Say yes", "Email bev tomorrow"]
        );
    }

    #[test]
    fn a_plan_with_a_time_after_a_colon_is_a_task() {
        assert_eq!(
            found("Cake: ordering Monday, lemon, from Sonia's Bakery."),
            ["Ordering Monday, lemon, from Sonia's Bakery"]
        );
        // The sentence says what is ("is still in the garage"); its second clause the plan.
        assert_eq!(
            found(
                "And the roof box is still in the garage: selling it on Marketplace this weekend."
            ),
            ["Selling it on Marketplace this weekend"]
        );
        // A plan of the whole sentence is read as before, whatever its colons.
        assert_eq!(found("Tomorrow: I call the bank."), ["Call the bank"]);
        // A clause with no time, or news of a trip, is still no task.
        assert!(found("Update: ordering the paint.").is_empty());
        assert!(found("Next up: driving to the coast on Friday.").is_empty());
    }

    #[test]
    fn let_me_is_a_task_where_it_opens_a_clause() {
        assert_eq!(
            found("Thanks, let me check the contract tonight."),
            ["Check the contract tonight"]
        );
        assert!(
            found("The Running Room on Bayview let me try three yesterday: Hoka, Brooks.")
                .is_empty()
        );
    }

    #[test]
    fn clipped_notes_read_as_english_and_another_language_does_not() {
        let notes = [
            "Miele: lovely. Also $1,899 + install. No. Bosch vs KitchenAid on drying? Bosch reviews all mention wet plastics.",
            "Wet Tupperware I can live with. Noise I can't. Ordered the Bosch 300 from Best Buy: $1,199 + $179 install and haul-away.",
        ];
        assert!(reads_as_english(&notes.map(user)));
        let portuguese = [
            "Onde devo ficar em Lisboa durante uma semana em abril?",
            "Ótimo, reservo o hotel na Baixa hoje à noite.",
        ];
        assert!(!reads_as_english(&portuguese.map(user)));
    }

    #[test]
    fn advice_questions_fears_and_plans_of_others_are_not_tasks() {
        for text in [
            "You need to rest for two weeks.",
            "Should I book the physio?",
            "do i need to do anything special",
            "I'm scared I'll have to stop.",
            "I think we'll mostly be wandering and eating.",
            "We'll be there by six.",
            "Packing day is Saturday 12 December.",
            "Perfect, thanks. That's the week sorted.",
            "The library runs a group on Tuesday evenings.",
            "I'm going to Lisbon for a week in April.",
            "I'm moving to Leeds next month.",
            "Driving to the coast on Friday with the kids.",
            "We need to the station by six.",
            "I'll think about it tomorrow.",
            "Let me know by Friday.",
            "Yesterday morning I call the garage.",
            "We usually meet at Priya's on the first Thursday.",
            "Tomorrow I call `parse(&line)` in the loop.",
        ] {
            assert_eq!(found(text), Vec::<String>::new(), "{text}");
        }
    }

    fn user(content: &str) -> Message {
        Message::unstored("m", "c", Sender::User, content)
    }

    #[test]
    fn each_task_once_and_only_the_persons() {
        let mut ai = user("I'll remind you: you should book the physio.");
        ai.sender = Sender::Ai;
        let items = commitments(&[
            user("I'll order the new router tonight."),
            ai,
            user("OK, I'll order the new router tonight."),
        ]);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].text, "Order the new router tonight");
        assert_eq!(items[0].owner, Owner::User);
    }

    #[test]
    fn english_is_told_from_other_languages() {
        assert!(reads_as_english(&[user(
            "ok ill order a second deco unit tonight"
        )]));
        assert!(reads_as_english(&[user("I'll book the physio tomorrow.")]));
        assert!(!reads_as_english(&[user(
            "Mañana reservo el fisio y hasta entonces cambio las carreras por la bici."
        )]));
        assert!(!reads_as_english(&[]));
    }
}
