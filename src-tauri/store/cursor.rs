//! Opaque keyset cursors: `<number>:<text>` of the last row of the previous page.
use crate::error::{Error, Result};

pub(super) fn encode(key: i64, tiebreak: &str) -> String {
    format!("{key}:{tiebreak}")
}

pub(super) fn decode(cursor: &str) -> Result<(i64, String)> {
    let bad = || Error::Invalid(format!("bad page cursor: {cursor:?}"));
    let (key, rest) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((key.parse().map_err(|_| bad())?, rest.to_owned()))
}
