//! The person's decisions as key points, read from their own words (`search/choice.rs`), not
//! from the model. Asked for an analysis of the Porto conversation ("Ribeira looks gorgeous…",
//! a list of three other neighbourhoods, "Bonfim sounds like us."), a 0.5B model writes that
//! the user "should stay in Ribeira": the first place named. The app knows better what was
//! chosen, as it knows better what was promised (`commitments.rs`).
use super::summary::{keep_clauses, sentences};
use crate::search::choice::{self, names, words, Choice};
use crate::store::{Message, NewAnalysis};

/// At most this many decisions become key points (the latest).
const MAX_DECISIONS: usize = 2;

/// Key points never exceed this many (the schema's `maxItems`).
const MAX_KEY_POINTS: usize = 5;

/// Words by which a key point or a clause of the summary states a choice, a preference or a
/// recommendation ("They prefer Azores" beside "They prefer Madeira", when the person said
/// "Madeira it is"; "where they should stay in Ribeira", when they chose Bonfim).
const CHOOSING: [&str; 15] = [
    "should",
    "chose",
    "chosen",
    "choose",
    "chooses",
    "decide",
    "decided",
    "decides",
    "picked",
    "picks",
    "opted",
    "settled",
    "prefer",
    "prefers",
    "preferred",
];

/// Words by which a statement settles on what it names ("going with the accountant", "we'll
/// do Tomorrow, and Tomorrow, and Tomorrow"), or approves one option of a list ("Bonfim sounds
/// like us", "booking Sky Zone tomorrow"). Ask reads a choice from weaker words, since a
/// question asks for it ("picked", "went for"); a key point is written for every conversation,
/// so only these count: in the evaluation histories "picked him up today", "going for hours"
/// and "Broadband I totally forgot about" are no decisions.
const SETTLES: [&[&str]; 18] = [
    &["decision", "made"],
    &["decided"],
    &["going", "with"],
    &["go", "with"],
    &["went", "with"],
    &["opted", "for"],
    &["settled", "on"],
    &["decided", "on"],
    &["we", "ll", "do"],
    &["chose"],
    &["sounds", "like", "us"],
    &["sounds", "perfect"],
    &["is", "perfect"],
    &["good", "idea"],
    &["booking"],
    &["booked"],
    &["i", "book"],
    &["we", "book"],
];

/// Words by which a sentence that names the chosen option says what became of it ("they will
/// stay in Bonfim", "booked Sky Zone"); "Bonfim sounds like they're using it" does not.
const STATES: [&str; 14] = [
    "will", "stay", "stays", "staying", "go", "goes", "going", "went", "book", "books", "booked",
    "booking", "select", "selected",
];

/// Words a chosen thing's name does not start with ("booked for 7:30", "going with her").
const NOT_A_NAME: [&str; 15] = [
    "for", "to", "at", "in", "on", "up", "her", "him", "us", "it", "them", "me", "you", "my", "our",
];

/// Does the person's statement settle on `option` in words that leave no doubt?
fn firm(c: &Choice) -> bool {
    let Some(option) = c.option.as_deref() else {
        return false;
    };
    let w = words(&c.statement);
    let named = words(option);
    let settles = SETTLES
        .iter()
        .any(|cue| w.windows(cue.len()).any(|x| x == *cue))
        || w.ends_with(&["it".to_owned(), "is".to_owned()])
        || w.last().is_some_and(|l| l == "then");
    settles
        && named
            .first()
            .is_some_and(|f| !NOT_A_NAME.contains(&f.as_str()))
}

/// The decisions that stand at the end of the conversation, oldest first: each firm one,
/// except one the person later changed (a later decision among the same list's options).
fn standing(messages: &[Message]) -> Vec<Choice> {
    let mut out: Vec<Choice> = Vec::new();
    for c in choice::decisions(messages) {
        let Some(option) = c.option.as_deref() else {
            continue;
        };
        if !firm(&c) {
            continue;
        }
        let o = words(option);
        out.retain(|earlier| {
            let same = |x: &str| words(x) == o;
            let e = earlier.option.as_deref().map(words).unwrap_or_default();
            !(e == o
                || earlier.alternatives.iter().any(|a| same(a))
                || c.alternatives.iter().any(|a| words(a) == e))
        });
        out.push(c);
    }
    let skip = out.len().saturating_sub(MAX_DECISIONS);
    out.into_iter().skip(skip).collect()
}

/// "booked" when the person said so, else "chose".
fn verb(c: &Choice) -> &'static str {
    let booked = words(&c.statement)
        .iter()
        .any(|w| ["book", "booked", "booking"].contains(&w.as_str()));
    if booked {
        "booked"
    } else {
        "chose"
    }
}

/// One decision as a key point: "The user chose Bonfim (the assistant also suggested Cedofeita
/// and Baixa).", or "booked" when the person said so.
fn point(c: &Choice) -> Option<String> {
    let option = c.option.as_deref()?;
    let verb = verb(c);
    let also = match c.alternatives.as_slice() {
        [] => String::new(),
        [one] => format!(" (the assistant also suggested {one})"),
        [rest @ .., last] => format!(
            " (the assistant also suggested {} and {last})",
            rest.join(", ")
        ),
    };
    Some(format!("The user {verb} {option}{also}."))
}

/// The conversation's standing decisions as key points, oldest first.
#[cfg(test)]
fn decision_points(messages: &[Message]) -> Vec<String> {
    standing(messages).iter().filter_map(point).collect()
}

/// The options a decision was made against: the other options of its list and what the
/// person had asked about before the list (Ribeira).
fn rivals(c: &Choice) -> impl Iterator<Item = &String> {
    c.alternatives.iter().chain(&c.set_aside)
}

/// Does a text (as words) hold a word of [`CHOOSING`]?
fn choosing(w: &[String]) -> bool {
    w.iter().any(|x| CHOOSING.contains(&x.as_str()))
}

/// Does `text` (a key point or a clause) state a choice of one of `decisions`' rivals and not
/// of the option chosen?
fn states_a_rival(text: &str, decisions: &[Choice]) -> bool {
    let w = words(text);
    choosing(&w)
        && decisions.iter().any(|c| {
            rivals(c).any(|r| names(&w, r)) && !c.option.as_deref().is_some_and(|o| names(&w, o))
        })
}

/// Puts the decisions first among `analysis`'s key points. A key point of the model's that
/// states a choice of the chosen option or of one of its rivals goes (the decision says it,
/// or it says the wrong one); so do the last ones beyond the limit. In the summary, a clause
/// that says a rival was chosen or recommended goes ("…, where they should stay in Ribeira."),
/// and a summary that never says what became of the chosen option ends with it: "The user
/// chose Pure Telecom."
pub fn add_decisions(analysis: &mut NewAnalysis, messages: &[Message]) {
    let decisions = standing(messages);
    if decisions.is_empty() {
        return;
    }
    analysis.summary = keep_clauses(&analysis.summary, |clause, _| {
        !states_a_rival(clause, &decisions)
    });
    for c in &decisions {
        let Some(option) = c.option.as_deref() else {
            continue;
        };
        let stated = sentences(&analysis.summary).iter().any(|s| {
            let w = words(s);
            names(&w, option) && (choosing(&w) || w.iter().any(|x| STATES.contains(&x.as_str())))
        });
        if stated {
            continue;
        }
        let s = analysis.summary.trim_end();
        let stop = if s.is_empty() || s.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        analysis.summary = format!("{s}{stop} The user {} {option}.", verb(c))
            .trim_start()
            .to_owned();
    }
    let points: Vec<String> = decisions.iter().filter_map(point).collect();
    let chosen_or_rival = |p: &str| {
        let w = words(p);
        choosing(&w)
            && decisions
                .iter()
                .flat_map(|c| c.option.iter().chain(rivals(c)))
                .any(|o| names(&w, o))
    };
    let kept: Vec<String> = analysis
        .key_points
        .drain(..)
        .filter(|p| !chosen_or_rival(p) && !points.contains(p))
        .collect();
    let mut all: Vec<String> = points.into_iter().chain(kept).collect();
    all.truncate(MAX_KEY_POINTS);
    analysis.key_points = all;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::search::choice::conversation;
    use crate::store::Sentiment;

    fn porto() -> Vec<Message> {
        conversation(&[
            "4 days in Porto. Where should we stay? Ribeira looks gorgeous but is it too touristy?",
            "Ribeira is loud at night. Good alternatives:\n- **Bonfim**: residential, cheaper\n- **Cedofeita**: galleries\n- **Baixa**: central",
            "Bonfim sounds like us. Found a flat on Rua do Heroísmo for €95 a night, is that near the metro?",
            "Yes, Heroísmo metro station is right there.",
            "Perfect, booking the 9:10 train on the Saturday.",
        ])
    }

    fn analysis(key_points: &[&str]) -> NewAnalysis {
        NewAnalysis {
            summary: "The user planned a trip.".into(),
            sentiment: Sentiment::Positive,
            sentiment_score: 0.5,
            topics: vec!["travel".into()],
            key_points: key_points.iter().map(|p| (*p).to_owned()).collect(),
            action_items: Vec::new(),
        }
    }

    /// The summary `summary` becomes in an analysis of the Porto conversation.
    fn porto_summary(summary: &str) -> String {
        let mut a = analysis(&[]);
        a.summary = summary.into();
        add_decisions(&mut a, &porto());
        a.summary
    }

    #[test]
    fn the_chosen_option_comes_first_with_what_else_was_offered() {
        assert_eq!(
            decision_points(&porto()),
            ["The user chose Bonfim (the assistant also suggested Cedofeita and Baixa)."]
        );
        let mut a = analysis(&[
            "The user decided to stay in Cedofeita.",
            "They prefer Bonfim.",
            "A flat on Rua do Heroísmo costs €95 a night.",
            "Bonfim is residential.",
        ]);
        add_decisions(&mut a, &porto());
        assert_eq!(
            a.key_points,
            [
                "The user chose Bonfim (the assistant also suggested Cedofeita and Baixa).",
                "A flat on Rua do Heroísmo costs €95 a night.",
                "Bonfim is residential.",
            ]
        );
    }

    #[test]
    fn a_change_of_mind_keeps_the_later_choice_and_other_decisions_stay() {
        let c = conversation(&[
            "Where to stay, and is the boat trip worth it?",
            "- **Ribeira**: the river\n- **Cedofeita**: quieter",
            "Decision made, we're staying in Ribeira.",
            "The six bridges cruise is short.",
            "Six bridges cruise it is.",
            "Good.",
            "Actually, we'll go with Cedofeita after all.",
        ]);
        // Ribeira, then Cedofeita from the same list: the change of mind stands.
        assert_eq!(
            decision_points(&c),
            [
                "The user chose Six bridges cruise.",
                "The user chose Cedofeita (the assistant also suggested Ribeira).",
            ]
        );
        let c = conversation(&[
            "Which one?",
            "- **Bonfim**: residential\n- **Cedofeita**: galleries",
            "Bonfim sounds like us.",
            "Good.",
            "Hmm, going with Cedofeita after all, it has the galleries.",
        ]);
        assert_eq!(
            decision_points(&c),
            ["The user chose Cedofeita (the assistant also suggested Bonfim)."]
        );
    }

    #[test]
    fn only_words_that_settle_it_make_a_decision() {
        let list = "- **Broadband**: call today\n- **Council tax**: register\n- **Energy**: meter";
        for said in [
            "Broadband I totally forgot about.",
            "Picked him up today!",
            "Fitting booked for 3rd april.",
            "Liam is going with her to Leeds.",
            "The lowboy has been going for hours.",
        ] {
            let c = conversation(&["Moving next week.", list, said]);
            assert_eq!(decision_points(&c), Vec::<String>::new(), "{said}");
        }
        for (said, point) in [
            (
                "Ok going with the accountant.",
                "The user chose accountant.",
            ),
            ("Semi it is.", "The user chose Semi."),
            (
                "Ok booking Sky Zone tomorrow.",
                "The user booked Sky Zone (the assistant also suggested Pottery painting).",
            ),
        ] {
            let c = conversation(&[
                "Party ideas?",
                "- **Sky Zone**: trampolines\n- **Pottery painting**: calm",
                said,
            ]);
            assert_eq!(decision_points(&c), [point], "{said}");
        }
    }

    #[test]
    fn a_summary_that_never_says_what_became_of_the_choice_ends_with_it() {
        assert_eq!(
            porto_summary("The user planned four days in Porto with Sam"),
            "The user planned four days in Porto with Sam. The user chose Bonfim."
        );
        // Named, but not as what they did: "sounds like they're using it".
        assert_eq!(
            porto_summary("Porto for four days. Bonfim sounds like they're using it."),
            "Porto for four days. Bonfim sounds like they're using it. The user chose Bonfim."
        );
        let stated = "The user will stay in Bonfim, near the metro.";
        assert_eq!(porto_summary(stated), stated);
    }

    #[test]
    fn a_clause_that_says_a_rival_was_chosen_goes() {
        let mut a = analysis(&["They should stay in Ribeira", "Ribeira is loud at night."]);
        a.summary = "The user is planning a trip to Porto with Sam, where they should stay in \
            Ribeira. They found a flat. They decided on Cedofeita."
            .into();
        add_decisions(&mut a, &porto());
        assert_eq!(
            a.summary,
            "The user is planning a trip to Porto with Sam. They found a flat. The user chose Bonfim."
        );
        // Ribeira was what the person asked about, and a fact about it stays.
        assert_eq!(
            a.key_points,
            [
                "The user chose Bonfim (the assistant also suggested Cedofeita and Baixa).",
                "Ribeira is loud at night.",
            ]
        );
        // Applied twice, it changes nothing more.
        let once = a.clone();
        add_decisions(&mut a, &porto());
        assert_eq!(a, once);
        // A clause that names the chosen option too is left as written.
        let both = "They should stay in Bonfim rather than Ribeira.";
        assert_eq!(porto_summary(both), both);
    }

    #[test]
    fn without_a_decision_the_key_points_are_the_models() {
        let c = conversation(&["Where should we stay?", "Anywhere central."]);
        let mut a = analysis(&["The user decided to stay in Ribeira."]);
        add_decisions(&mut a, &c);
        assert_eq!(a.key_points, ["The user decided to stay in Ribeira."]);
        let mut a = analysis(&["one", "two", "three", "four", "five"]);
        add_decisions(&mut a, &porto());
        assert_eq!(a.key_points.len(), MAX_KEY_POINTS);
        assert!(a.key_points[0].starts_with("The user chose Bonfim"));
    }
}
