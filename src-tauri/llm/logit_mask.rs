//! Taking tokens out of one step's choice without taking the whole choice away. The guards that
//! steer the built-in model inside a JSON answer (`repeats`: no looping run; `reported`: no
//! first or second person) mask tokens the schema allows, but never every one of them: if all
//! that is allowed would be masked, the schema's choice wins and nothing is masked.

/// Masks `tokens` out of `logits` (`-inf`) unless that leaves no token allowed, and says how
/// many were masked. `tokens` may repeat ids and name ids already masked or out of range.
pub fn mask_unless_all(logits: &mut [f32], tokens: impl IntoIterator<Item = u32>) -> usize {
    let allowed = |l: &f32| l.is_finite();
    let mut hits: Vec<u32> = tokens
        .into_iter()
        .filter(|&t| logits.get(t as usize).is_some_and(allowed))
        .collect();
    hits.sort_unstable();
    hits.dedup();
    // Counting what is allowed is a pass over the vocabulary: only when something would be masked.
    if hits.is_empty() || hits.len() >= logits.iter().filter(|l| allowed(l)).count() {
        return 0;
    }
    for &t in &hits {
        logits[t as usize] = f32::NEG_INFINITY;
    }
    hits.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_tokens_go_and_the_rest_stay() {
        let mut logits = vec![0.5f32, 0.1, f32::NEG_INFINITY, 0.3];
        assert_eq!(mask_unless_all(&mut logits, [3, 1, 3, 2, 99]), 2);
        assert_eq!(logits[0], 0.5, "not named");
        assert!(logits[1] == f32::NEG_INFINITY && logits[3] == f32::NEG_INFINITY);
    }

    #[test]
    fn nothing_is_masked_when_it_would_leave_no_choice() {
        let mut logits = vec![f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY, 2.0];
        assert_eq!(mask_unless_all(&mut logits, [1, 3]), 0);
        assert_eq!(logits, [f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY, 2.0]);
        assert_eq!(mask_unless_all(&mut logits, []), 0);
    }
}
