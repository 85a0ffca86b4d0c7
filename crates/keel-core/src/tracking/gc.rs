//! Garbage collection: permanently removing runs and experiments deleted long enough ago.

use super::*;
use crate::store::Garbage;

impl Tracking {
    /// What a collection with this minimum age would remove; changes nothing.
    pub async fn find_garbage(&self, older_than_ms: i64) -> Result<Garbage> {
        if older_than_ms < 0 {
            return Err(Error::invalid(
                "The minimum age of garbage cannot be negative.",
            ));
        }
        self.store
            .garbage(self.now().saturating_sub(older_than_ms))
            .await
    }

    /// Permanently removes the runs and experiments in `garbage` (from [`Self::find_garbage`])
    /// that are still deleted; returns those it removed.
    pub async fn purge(&self, garbage: &Garbage) -> Result<Garbage> {
        self.store.purge(garbage).await
    }
}
