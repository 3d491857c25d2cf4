//! The one error the UI sees: `{ "code": "...", "message": "...", "detail": "..." }`: a plain
//! message, and the technical text behind it (when there is one) for "details".
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Serialize, TS)]
pub struct CommandError {
    /// One of `crate::error::ERROR_CODES`.
    #[ts(type = "ErrorCode")]
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub detail: Option<String>,
}

impl From<crate::Error> for CommandError {
    fn from(e: crate::Error) -> Self {
        if matches!(e, crate::Error::Internal(_)) {
            tracing::error!("{e}");
        }
        CommandError {
            code: e.code(),
            message: e.plain(),
            detail: e.detail(),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
