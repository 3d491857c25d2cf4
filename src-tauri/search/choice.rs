//! What the person chose in a conversation. Asked "which neighbourhood did I pick for the
//! Porto trip?", a 0.5B model names the first place the excerpts mention ("Ribeira looks
//! gorgeous…") even when the person went on to choose another from the assistant's list
//! ("Bonfim sounds like us."). A conversation records a decision when a statement of the
//! person names exactly one of the options the assistant listed before it, or says in words
//! that they decided ("we went with …", "… it is"); "X is too long" or "is X near the metro?"
//! decides nothing. Of several decisions, a question is about the latest of those closest to
//! it ([`pick`]): people change their minds, and one conversation may settle several things.
use crate::store::{Message, Sender};

/// Does `question` ask what the person chose ("which neighbourhood did I pick", "where did we
/// decide to stay", "what did we go with")? Not what the assistant picked ("which film did it
/// pick?"); buying, booking or joining are not choices among options: those questions are
/// left to the model.
pub fn asks_for_a_choice(question: &str) -> bool {
    let words = words(question);
    by_the_person(&words) && says_choosing(&words)
}

/// Does `question` ask what the person did: chose ([`asks_for_a_choice`]), bought, ordered,
/// booked, hired, signed up for, kept, joined, registered, got or took ("Which heater did I
/// order?", "Which rain jacket did I keep?"), or did "in the end"? Not what someone else did
/// ("which car did the assistant suggest?").
pub fn asks_what_the_person_did(question: &str) -> bool {
    let words = words(question);
    let doing = [
        "buy",
        "bought",
        "order",
        "ordered",
        "book",
        "booked",
        "hire",
        "hired",
        "sign",
        "signed",
        "keep",
        "kept",
        "join",
        "joined",
        "register",
        "registered",
        "get",
        "got",
        "take",
        "took",
    ];
    let in_the_end = words
        .windows(3)
        .any(|w| w[0] == "in" && w[1] == "the" && w[2] == "end");
    by_the_person(&words)
        && (says_choosing(&words)
            || in_the_end
            || words.iter().any(|w| doing.contains(&w.as_str())))
}

/// Is "I" or "we" among `words`?
fn by_the_person(words: &[String]) -> bool {
    words.iter().any(|w| w == "i" || w == "we")
}

/// Do `words` say choosing ("pick", "decided", "went with", "end up")?
fn says_choosing(words: &[String]) -> bool {
    let choosing = [
        "pick", "picked", "choose", "chose", "chosen", "decide", "decided", "settle", "settled",
        "opt", "opted",
    ];
    let phrasal = ["go", "went", "gone", "end", "ended"];
    let particle = ["with", "for", "up"];
    words.iter().any(|w| choosing.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|p| phrasal.contains(&p[0].as_str()) && particle.contains(&p[1].as_str()))
}

/// The person's choice in a conversation: the option and the message that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What was chosen, when the statement names it.
    pub option: Option<String>,
    /// The other options of the list the chosen one was offered in (empty when the statement
    /// says it decided without picking from a list: "we went with …").
    pub alternatives: Vec<String>,
    /// What the person asked about that the assistant set aside for that list ("Ribeira", see
    /// [`set_aside`]).
    pub set_aside: Vec<String>,
    /// The person's sentence that makes the decision, as written.
    pub statement: String,
    pub message_id: String,
}

/// The words and numbers of `text` as written.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Lower-case words and numbers of `text`, accents kept ("Heroísmo" is one word).
pub fn words(text: &str) -> Vec<String> {
    tokens(text).map(str::to_lowercase).collect()
}

/// At most this many words in an option's name: a list item with no short head ("Add 2.5 kg
/// each session…") offers no option.
const MAX_OPTION_WORDS: usize = 6;

/// Words that name nothing as an option on their own.
const TOO_COMMON: [&str; 12] = [
    "a", "b", "c", "i", "it", "the", "one", "this", "that", "yes", "no", "ok",
];

/// A list item's text ("- **Bonfim**: residential", "2. Cedofeita"), or `None` for a line
/// that is not one.
fn item(line: &str) -> Option<&str> {
    let line = line.trim_start();
    ["- ", "* ", "• ", "+ "]
        .iter()
        .find_map(|m| line.strip_prefix(m))
        .or_else(|| {
            let digits = line.find(|c: char| !c.is_ascii_digit())?;
            (digits > 0)
                .then(|| {
                    line[digits..]
                        .strip_prefix(". ")
                        .or(line[digits..].strip_prefix(") "))
                })
                .flatten()
        })
        .map(str::trim)
}

/// The options a message lays out as a list: each item's emphasised head ("- **Bonfim**:
/// residential", "- *Demon Copperhead* by …") or, without emphasis, its text before a colon or
/// dash when that is short. A message with fewer than two offers none.
fn options(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in text.lines().filter_map(item) {
        let head = ["**", "__", "*", "_"]
            .iter()
            .find_map(|m| {
                let rest = item.strip_prefix(m)?;
                rest.find(m).map(|end| &rest[..end])
            })
            .unwrap_or_else(|| {
                let end = [":", " – ", " — ", " - ", " ("]
                    .iter()
                    .filter_map(|sep| item.find(sep))
                    .min()
                    .unwrap_or(item.len());
                &item[..end]
            });
        let head = head.trim().trim_end_matches([':', '.', ',']).trim();
        let n = words(head);
        let named = n.len() == 1 && TOO_COMMON.contains(&n[0].as_str());
        if (1..=MAX_OPTION_WORDS).contains(&n.len())
            && !named
            && head.chars().count() >= 3
            && !out.iter().any(|o| words(o) == n)
        {
            out.push(head.to_owned());
        }
    }
    if out.len() >= 2 {
        out
    } else {
        Vec::new()
    }
}

/// Capitalised words that start sentences and name nothing ("Good alternatives:", "Where
/// should we stay?").
const SENTENCE_STARTS: [&str; 48] = [
    "the", "and", "but", "yes", "yeah", "good", "great", "sure", "okay", "this", "that", "these",
    "those", "there", "then", "for", "if", "what", "where", "which", "how", "why", "when", "who",
    "thanks", "thank", "hi", "hey", "hello", "you", "your", "our", "my", "its", "it", "we", "they",
    "here", "some", "any", "all", "both", "also", "just", "not", "with", "from", "so",
];

/// Names the person asked about that the assistant then set aside for the options of its list:
/// asked "Ribeira looks gorgeous but is it too touristy?", it answers "Ribeira is beautiful but
/// loud at night. Good alternatives:" and a list. Capitalised words of the list's lead-in (the
/// text before its first item) that a question of the person's message holds as written
/// ("Thinking about 4 days in Porto." asks nothing about Porto), never in lower case in either
/// message (a name, not a sentence's first word), and that are no option.
fn set_aside(list_message: &str, asked: &str, options: &[String]) -> Vec<String> {
    let asked_words: Vec<&str> = sentences(asked)
        .into_iter()
        .filter(|(_, question)| *question)
        .flat_map(|(s, _)| tokens(s))
        .collect();
    let written: Vec<&str> = tokens(asked).chain(tokens(list_message)).collect();
    let mut out: Vec<String> = Vec::new();
    let lead = list_message.lines().take_while(|l| item(l).is_none());
    for w in lead.flat_map(tokens) {
        let capitalised = w.chars().next().is_some_and(char::is_uppercase);
        let l = w.to_lowercase();
        if capitalised
            && w.chars().count() >= 3
            && !SENTENCE_STARTS.contains(&l.as_str())
            && asked_words.contains(&w)
            && !written.contains(&l.as_str())
            && !options.iter().any(|o| words(o).contains(&l))
            && !out.iter().any(|o| o == w)
        {
            out.push(w.to_owned());
        }
    }
    out
}

/// Does `sentence` (as words) name `option` (its words, in order, as whole words)?
pub fn names(sentence: &[String], option: &str) -> bool {
    let o = words(option);
    !o.is_empty() && sentence.windows(o.len()).any(|w| w == o.as_slice())
}

/// Words by which a sentence turns an option down ("Demon Copperhead is too long", "not
/// Cedofeita"): such a sentence chooses nothing.
const TURNS_DOWN: [&str; 7] = ["not", "no", "never", "too", "t", "instead", "rather"];

/// The sentences of a message as written, without their closing marks, each with whether it
/// is a question.
fn sentences(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        // "8.15" and "2.5" are numbers, not two sentences.
        let decimal = c == '.'
            && text[..i].ends_with(|p: char| p.is_ascii_digit())
            && text[i + 1..].starts_with(|n: char| n.is_ascii_digit());
        if matches!(c, '.' | '!' | '?' | '\n' | ';') && !decimal {
            out.push((&text[start..i], c == '?'));
            start = i + c.len_utf8();
        }
    }
    out.push((&text[start..], false));
    out.retain(|(s, _)| !words(s).is_empty());
    out
}

/// The statements of a message: its sentences that are not questions, as written.
fn statements(text: &str) -> Vec<&str> {
    sentences(text)
        .into_iter()
        .filter(|(_, question)| !question)
        .map(|(s, _)| s)
        .collect()
}

/// Words by which people say they decided, and whether what they chose follows them ("going
/// with the RSPB membership", "we'll do Tomorrow, and Tomorrow, and Tomorrow") or not
/// ("decision made, we're staying in Ribeira").
const DECIDING: [(&[&str], bool); 16] = [
    (&["going", "with"], true),
    (&["go", "with"], true),
    (&["went", "with"], true),
    (&["going", "for"], true),
    (&["went", "for"], true),
    (&["opted", "for"], true),
    (&["settled", "on"], true),
    (&["decided", "on"], true),
    (&["we", "ll", "do"], true),
    (&["we", "ll", "take"], true),
    (&["i", "ll", "take"], true),
    (&["booked"], true),
    (&["chose"], true),
    (&["picked"], true),
    (&["decided"], false),
    (&["decision", "made"], false),
];

/// At most this many words in what a statement says was chosen ("Octopus Flexible and Zen
/// 500"); a longer rest is a sentence, not a name.
const MAX_CHOSEN_WORDS: usize = 8;

/// What a statement says was decided: `Some(None)` when it says a decision was made without
/// naming what ("Decision made."), `Some(Some(name))` with the name that follows its words of
/// deciding ("Going with the RSPB membership and the Collins guide" → "RSPB membership and the
/// Collins guide", "Six bridges cruise it is" → "Six bridges cruise"), `None` for no decision.
fn decided(statement: &str) -> Option<Option<String>> {
    let w = words(statement);
    if w.ends_with(&["it".to_owned(), "is".to_owned()]) && w.len() > 2 {
        let name = statement.trim_end().trim_end_matches(['.', '!']).trim_end();
        let name = name[..name.len().saturating_sub(2)].trim_end();
        let name = name[..name.len().saturating_sub(2)].trim();
        return Some(short_name(name));
    }
    for (cue, names_it) in DECIDING {
        let Some(at) = w
            .windows(cue.len())
            .position(|x| x.iter().zip(cue).all(|(a, b)| a == b))
        else {
            continue;
        };
        if !names_it {
            return Some(None);
        }
        // The rest of the statement after the cue's last word, as written.
        let rest = after_words(statement, at + cue.len());
        let rest = [",", " but ", " because ", " since ", " as ", " so "]
            .iter()
            .filter_map(|sep| rest.find(sep))
            .min()
            .map_or(rest, |end| &rest[..end]);
        return Some(short_name(rest));
    }
    None
}

/// `text` after its first `n` words (as [`words`] counts them).
fn after_words(text: &str, n: usize) -> &str {
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let w = c.is_alphanumeric();
        if w && !in_word {
            if seen == n {
                return &text[i..];
            }
            seen += 1;
        }
        in_word = w;
    }
    ""
}

/// Words that point back to something said before, and name nothing themselves.
const POINTING: [&str; 12] = [
    "that", "this", "it", "them", "those", "these", "one", "ones", "same", "then", "there", "so",
];

/// `name` without a leading article, if it is short enough to be a name.
fn short_name(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches(['.', ',', '!', ':']);
    let name = ["the ", "The ", "a ", "A ", "an ", "An "]
        .iter()
        .find_map(|a| name.strip_prefix(a))
        .unwrap_or(name)
        .trim();
    let w = words(name);
    // "we'll go with that", "going with it": a word that points back names nothing.
    let points_back = w.iter().all(|w| POINTING.contains(&w.as_str()));
    ((1..=MAX_CHOSEN_WORDS).contains(&w.len()) && !points_back).then(|| name.to_owned())
}

/// The person's decisions in `messages` (one conversation, oldest first), in order: each
/// statement of theirs that says they decided ("we went with …") or that names exactly one of
/// the options the assistant listed before it ("Bonfim sounds like us."), and does not turn
/// anything down. One per message (its last). A conversation may hold several, about different
/// things ("staying in Ribeira", then "six bridges cruise it is") or the same (a change of
/// mind): [`pick`] chooses the one a question asks about.
pub fn decisions(messages: &[Message]) -> Vec<Choice> {
    let mut offered: Vec<String> = Vec::new();
    // Each list as offered with what it set aside, latest last: a chosen option's alternatives
    // are its latest list's.
    let mut lists: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut out: Vec<Choice> = Vec::new();
    let mut asked = "";
    for m in messages {
        match m.sender {
            Sender::Ai => {
                let list = options(&m.content);
                for o in &list {
                    if !offered.iter().any(|x| words(x) == words(o)) {
                        offered.push(o.clone());
                    }
                }
                if !list.is_empty() {
                    let aside = set_aside(&m.content, asked, &list);
                    lists.push((list, aside));
                }
            }
            Sender::User => {
                asked = &m.content;
                let mut last = None;
                for s in statements(&m.content) {
                    let w = words(s);
                    if w.iter().any(|w| TURNS_DOWN.contains(&w.as_str())) {
                        continue;
                    }
                    // A statement that is only the option ("Obrigada!" after a list of phrases
                    // to learn) says nothing about it.
                    let mut named = offered
                        .iter()
                        .filter(|o| names(&w, o) && w.len() >= words(o).len() + 2);
                    let option = match (named.next(), named.next()) {
                        (Some(o), None) => Some(Some(o.clone())),
                        _ => None,
                    };
                    if let Some(option) = option.or_else(|| decided(s)) {
                        last = Some((option, s.trim()));
                    }
                }
                if let Some((option, statement)) = last {
                    let (alternatives, set_aside) = option
                        .as_deref()
                        .map(words)
                        .and_then(|chosen| {
                            let (list, aside) = lists
                                .iter()
                                .rev()
                                .find(|(l, _)| l.iter().any(|x| words(x) == chosen))?;
                            let others = list.iter().filter(|x| words(x) != chosen);
                            Some((others.cloned().collect(), aside.clone()))
                        })
                        .unwrap_or_default();
                    out.push(Choice {
                        option,
                        alternatives,
                        set_aside,
                        statement: statement.to_owned(),
                        message_id: m.id.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Decisions whose message is this close (cosine) to the best one's are about the same thing.
/// Paraphrases of one subject differ by a few hundredths with all-MiniLM-L6-v2; different
/// subjects of one conversation by more.
const SAME_SUBJECT: f32 = 0.05;

/// The decision a question asks about, from `decisions` with the question's similarity to
/// each one's message: the latest of those about the same thing as the closest (the person may
/// have changed their mind).
pub fn pick(decisions: Vec<(Choice, f32)>) -> Option<Choice> {
    let best = decisions
        .iter()
        .map(|(_, s)| *s)
        .fold(f32::NEG_INFINITY, f32::max);
    decisions
        .into_iter()
        .filter(|(_, s)| *s >= best - SAME_SUBJECT)
        .map(|(c, _)| c)
        .next_back()
}

/// Does `answer` already name `option`: hold half its words or more ("Octopus Flexible" for
/// "Octopus Flexible and Zen 500")?
pub fn answer_names(answer: &str, option: &str) -> bool {
    let a = words(answer);
    let o: Vec<String> = words(option)
        .into_iter()
        .filter(|w| !["and", "the", "a", "of", "with"].contains(&w.as_str()))
        .collect();
    !o.is_empty() && 2 * o.iter().filter(|w| a.contains(w)).count() >= o.len()
}

/// Test messages: `turns` alternate user, assistant, user, … with ids m0, m1, ….
#[cfg(test)]
pub(crate) fn conversation(turns: &[&str]) -> Vec<Message> {
    turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let sender = if i % 2 == 0 { Sender::User } else { Sender::Ai };
            Message::unstored(format!("m{i}"), "c", sender, *t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    /// The latest decision, as when the question is as close to every one of them.
    fn choice(messages: &[Message]) -> Option<Choice> {
        pick(decisions(messages).into_iter().map(|c| (c, 0.5)).collect())
    }

    #[test]
    fn questions_about_a_choice_are_told_from_others() {
        for q in [
            "which neighbourhood did I pick for the Porto trip?",
            "Where did we decide to stay in Porto?",
            "Which book did I choose for the book club?",
            "What did we go with for broadband?",
            "Which one did I end up with?",
        ] {
            assert!(asks_for_a_choice(q), "{q}");
        }
        for q in [
            "Which campsite did I book?",
            "Which gym did I join this year?",
            "Where do we go on Friday?",
            "What did the assistant suggest for Porto?",
            "Which movie did it pick for a night in?",
        ] {
            assert!(!asks_for_a_choice(q), "{q}");
        }
    }

    #[test]
    fn questions_about_what_the_person_did_are_told_from_others() {
        for q in [
            "Which neighbourhood did I pick for the Porto trip?",
            "Which campsite did we book?",
            "Which rain jacket did I keep?",
            "What did I sign up for with the training money?",
            "Which phone did I buy in the end?",
        ] {
            assert!(asks_what_the_person_did(q), "{q}");
        }
        for q in [
            "Which car did the assistant suggest?",
            "What is my cat called?",
            "When is Ellie's parents' evening?",
            "Which hotel did Maura book?",
        ] {
            assert!(!asks_what_the_person_did(q), "{q}");
        }
    }

    #[test]
    fn the_option_the_person_names_after_the_list_is_the_choice() {
        let c = conversation(&[
            "Where should we stay? Ribeira looks gorgeous but is it too touristy?",
            "Ribeira is loud at night. Good alternatives:\n- **Bonfim**: residential\n- **Cedofeita**: galleries\n- **Baixa**: central",
            "Bonfim sounds like us. Found a flat on Rua do Heroísmo, is that near the metro?",
            "Yes, Heroísmo station is right there.",
        ]);
        let got = choice(&c).unwrap();
        assert_eq!(got.option.as_deref(), Some("Bonfim"));
        assert_eq!(got.alternatives, ["Cedofeita", "Baixa"]);
        assert_eq!(got.set_aside, ["Ribeira"]);
        assert_eq!(got.message_id, "m2");
    }

    #[test]
    fn only_a_name_the_person_asked_about_is_set_aside() {
        let list = ["Bonfim", "Cedofeita"].map(str::to_owned);
        let reply = "Ribeira is loud. For Porto, good alternatives:\n- **Bonfim**: quiet\n- **Cedofeita**: arty";
        // Porto is where they go, not a question; "Where"/"For" start sentences; Bonfim is listed.
        assert_eq!(
            set_aside(
                reply,
                "4 days in Porto. Where? Ribeira or Bonfim, is it touristy?",
                &list
            ),
            ["Ribeira"]
        );
        assert!(set_aside(reply, "Is it nice? Ribeira is.", &list).is_empty());
        // A word the messages also write in lower case is no name.
        assert!(set_aside(
            "Cheap is good. Options:\n- **Bonfim**\n- **Cedofeita**",
            "Cheap or central? cheap",
            &list
        )
        .is_empty());
    }

    #[test]
    fn a_turned_down_option_or_a_question_is_no_choice_and_the_latest_wins() {
        let c = conversation(&[
            "My turn to choose the book club book.",
            "A few ideas:\n- *Tomorrow, and Tomorrow, and Tomorrow* by Gabrielle Zevin\n- *Demon Copperhead* by Barbara Kingsolver\n- *The Seven Moons of Maali Almeida*",
            "Demon Copperhead is too long for a month. Is the Seven Moons of Maali Almeida any good?",
            "It is.",
            "Ok, we'll do Tomorrow, and Tomorrow, and Tomorrow for March.",
        ]);
        assert_eq!(
            choice(&c).unwrap().option.as_deref(),
            Some("Tomorrow, and Tomorrow, and Tomorrow")
        );
        // Without the last message nothing was chosen.
        assert_eq!(choice(&c[..4]), None);
    }

    #[test]
    fn lists_without_short_heads_and_single_items_offer_nothing() {
        assert!(options("Kit list:\n- Waterproof jacket and trousers (even if the forecast is good)\n- 2 litres of water, lunch, snacks and a very long tail of things").is_empty());
        assert!(options("- **Wasdale Head**: basic").is_empty());
        assert!(options("**A:** squat 3×5\n**B:** deadlift").is_empty());
        assert!(options(
            "1. Add 2.5 kg each session while your form stays good and warm up\n2. Sleep"
        )
        .is_empty());
        // No list before it: the person's message chooses nothing.
        let c = conversation(&["I like Bonfim. We'll stay there.", "Good idea."]);
        assert_eq!(choice(&c), None);
        // Only the option's name, said back: no choice.
        let c = conversation(&[
            "How do I say thanks?",
            "- *Obrigada*: thank you\n- *Bom dia*: good morning",
            "Obrigada! I'll practise.",
        ]);
        assert_eq!(choice(&c), None);
    }

    #[test]
    fn a_decision_in_the_persons_words_is_read_with_what_it_names() {
        for (said, chosen) in [
            (
                "We went with Octopus Flexible and Zen 500. Anything else?",
                Some("Octopus Flexible and Zen 500"),
            ),
            (
                "Her wifi is terrible. Going with the RSPB membership and the Collins guide.",
                Some("RSPB membership and the Collins guide"),
            ),
            ("Six bridges cruise it is.", Some("Six bridges cruise")),
            ("We'll do the 8.15 showing", Some("8.15 showing")),
            ("Going with that one.", None),
            ("Decided. Booking it tonight", None),
        ] {
            let c = conversation(&["Which one?", "Up to you.", said]);
            let got = choice(&c).unwrap();
            assert_eq!(got.option.as_deref(), chosen, "{said}");
        }
        // Turned down, or no decision at all.
        for said in ["We won't go with Virgin.", "Still thinking about it."] {
            assert_eq!(
                choice(&conversation(&["Which one?", "Up to you.", said])),
                None
            );
        }
    }

    #[test]
    fn the_decision_asked_about_is_the_latest_of_those_closest_to_the_question() {
        let c = conversation(&[
            "Where to stay, and is the boat trip worth it?",
            "- **Ribeira**: the river\n- **Cedofeita**: quieter",
            "Decision made, we're staying in Ribeira.",
            "The six bridges cruise is short.",
            "Six bridges cruise it is.",
            "Good.",
            "Actually, we'll take Cedofeita after all.",
        ]);
        let d = decisions(&c);
        let ids: Vec<&str> = d.iter().map(|c| c.message_id.as_str()).collect();
        assert_eq!(ids, ["m2", "m4", "m6"]);
        let asked = |sims: [f32; 3]| pick(d.iter().cloned().zip(sims).collect()).unwrap();
        // About where to stay: the change of mind counts.
        assert_eq!(asked([0.6, 0.3, 0.58]).option.as_deref(), Some("Cedofeita"));
        // About the boat trip.
        assert_eq!(
            asked([0.3, 0.6, 0.35]).option.as_deref(),
            Some("Six bridges cruise")
        );
        assert_eq!(pick(Vec::new()), None);
    }

    #[test]
    fn an_answer_names_an_option_when_it_holds_half_its_words() {
        assert!(answer_names(
            "Octopus Flexible",
            "Octopus Flexible and Zen 500"
        ));
        assert!(!answer_names(
            "Octopus Intelligent Go",
            "Octopus Flexible and Zen 500"
        ));
        assert!(answer_names("We chose Bonfim.", "Bonfim"));
        assert!(!answer_names("Ribeira", "Bonfim"));
    }
}
