//! The reports' last figures (for period over period): one small JSON value
//! per report, swapped atomically (`SET … GET`) so the run that writes the
//! new figures gets exactly the previous run's.

use super::{map_err, Store, StoreError};

impl Store {
    /// Stores `figures` as report `name`'s latest and returns the previous
    /// ones, if any.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn swap_report_figures(
        &self,
        name: &str,
        figures: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("SET")
            .arg(self.key(&format!("report:{name}:last")))
            .arg(figures)
            .arg("GET")
            .query_async(&mut conn)
            .await
            .map_err(map_err)
    }
}
