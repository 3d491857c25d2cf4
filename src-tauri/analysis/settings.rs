//! When analysis runs by itself: a conversation left idle is ended and analysed, and an import
//! queues what it brought. Stored in the history's settings, like the LLM's.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::Store;
use ts_rs::TS;

const KEY: &str = "analysis";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AnalysisSettings {
    /// Analyse without being asked: idle conversations, and imports.
    pub automatic: bool,
    /// Minutes after its last message before a conversation counts as idle.
    pub idle_minutes: u32,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            automatic: true,
            idle_minutes: 30,
        }
    }
}

impl AnalysisSettings {
    pub fn load(store: &Store) -> Result<AnalysisSettings> {
        store.setting_or_default(KEY)
    }

    pub fn save(&self, store: &Store) -> Result<()> {
        if !(1..=7 * 24 * 60).contains(&self.idle_minutes) {
            return Err(Error::Invalid(
                "idle time must be between 1 minute and 7 days".into(),
            ));
        }
        store.put_setting(KEY, &serde_json::to_value(self)?)
    }

    /// How long a conversation stays active after its last message.
    pub fn idle(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.idle_minutes) * 60)
    }
}
