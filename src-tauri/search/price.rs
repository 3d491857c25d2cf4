//! Is an answer a price? Asked what something cost, a 0.5B model with no price in front of it
//! names the nearest number it has: "How much did the engineer charge to fix the boiler?" →
//! "1.5 bar" (the boiler's pressure), "How much did my Dutch driving licence cost?" → "500 Wh"
//! (a power station's capacity). A measure is not a price, whatever the excerpts say.

use super::choice::words;

/// Does `question` ask what something cost ("How much did … cost / pay / charge / quote")?
pub fn asks_for_a_price(question: &str) -> bool {
    let words = words(question);
    let how_much = words.windows(2).any(|w| w[0] == "how" && w[1] == "much");
    let paying = [
        "cost", "costs", "pay", "paid", "charge", "charged", "quote", "quoted", "price", "spend",
        "spent", "fee",
    ];
    how_much && words.iter().any(|w| paying.contains(&w.as_str()))
}

/// Does `answer` give a number as a measure ("1.5 bar", "500Wh", "3 hours") and not as money
/// ("€220", "60 quid", "450")?
pub fn names_a_measure(answer: &str) -> bool {
    let money = [
        "€", "$", "£", "¥", "quid", "euro", "euros", "pound", "pounds", "dollar", "dollars",
        "cents", "pence",
    ];
    let lower = answer.to_lowercase();
    if money.iter().any(|m| lower.contains(m)) {
        return false;
    }
    let units = [
        "bar", "psi", "wh", "kwh", "w", "kw", "kg", "g", "lb", "lbs", "km", "m", "cm", "mm",
        "miles", "mi", "hour", "hours", "h", "minute", "minutes", "min", "mins", "second",
        "seconds", "%", "percent", "degrees", "°c", "°f", "litre", "litres", "l", "ml", "mph",
        "kph", "steps", "kcal", "calories", "gb", "mb", "tb",
    ];
    // A number then a unit, apart ("1.5 bar") or together ("500Wh").
    let tokens: Vec<String> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']'))
        .filter(|t| !t.is_empty())
        .map(|t| t.trim_end_matches(['.', '!', '?', ':']).to_owned())
        .collect();
    let number = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '–' | '-'))
            && t.chars().any(|c| c.is_ascii_digit())
    };
    tokens.iter().enumerate().any(|(i, t)| {
        let digits = t.len()
            - t.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                .len();
        let (lead, rest) = t.split_at(digits);
        (number(lead) && units.contains(&rest))
            || (number(t)
                && tokens
                    .get(i + 1)
                    .is_some_and(|u| units.contains(&u.as_str())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_about_what_something_cost_are_told_apart() {
        assert!(asks_for_a_price(
            "How much did the engineer charge to fix the boiler?"
        ));
        assert!(asks_for_a_price(
            "How much did my Dutch driving licence cost?"
        ));
        assert!(asks_for_a_price("How much did I pay for the new sofa?"));
        assert!(!asks_for_a_price("How much am I putting aside each month?"));
        assert!(!asks_for_a_price("How many hampers did we make?"));
        assert!(!asks_for_a_price(
            "What did the price list say about the 10k?"
        ));
    }

    #[test]
    fn a_measure_is_not_a_price() {
        for measure in [
            "1.5 bar",
            "500 Wh",
            "500Wh",
            "3 hours",
            "2.4 kW",
            "about 20 km.",
            "18°C",
        ] {
            assert!(names_a_measure(measure), "{measure}");
        }
        for price in [
            "€220",
            "60 quid on amazon",
            "450",
            "1,462",
            "$45–$60 a head",
            "600 a month",
            "240 euros for 3 hours",
            "the Kathmandu one",
        ] {
            assert!(!names_a_measure(price), "{price}");
        }
    }
}
