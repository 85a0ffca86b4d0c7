//! `TrackingStore` for PostgreSQL: each write method is one retried transaction, each read one
//! snapshot (or a single statement).

use async_trait::async_trait;
use keel_core::store::*;
use keel_core::*;

use super::convert::experiment_ids as numeric_ids;
use super::{
    PostgresStore, experiments, group_commit, history, inputs, load, logged_models, runs, search,
};

#[async_trait]
impl TrackingStore for PostgresStore {
    async fn insert_experiment(&self, experiment: &Experiment) -> Result<()> {
        self.write(experiment, |c, e| Box::pin(experiments::insert(c, e)))
            .await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>> {
        self.read(experiment_id, |c, id| Box::pin(experiments::get(c, id)))
            .await
    }

    async fn get_experiment_by_name(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<Experiment>> {
        self.read(&(workspace, name), |c, (workspace, name)| {
            Box::pin(experiments::get_by_name(c, workspace, name))
        })
        .await
    }

    async fn search_experiments(&self, query: &ExperimentQuery) -> Result<Vec<Experiment>> {
        self.read(query, |c, q| Box::pin(search::experiments(c, q)))
            .await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str, now: i64) -> Result<()> {
        self.write(&(experiment_id, new_name, now), |c, (id, name, now)| {
            Box::pin(experiments::rename(c, id, name, *now))
        })
        .await
    }

    async fn set_experiment_lifecycle(
        &self,
        experiment_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()> {
        self.write(&(experiment_id, stage, now), |c, (id, stage, now)| {
            Box::pin(experiments::set_lifecycle(c, id, *stage, *now))
        })
        .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag, now: i64) -> Result<()> {
        self.write(&(experiment_id, tag, now), |c, (id, tag, now)| {
            Box::pin(experiments::set_tag(c, id, tag, *now))
        })
        .await
    }

    async fn delete_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        now: i64,
    ) -> Result<bool> {
        self.write(&(experiment_id, key, now), |c, (id, key, now)| {
            Box::pin(experiments::delete_tag(c, id, key, *now))
        })
        .await
    }

    async fn insert_run(&self, run: &Run) -> Result<()> {
        self.write(run, |c, run| Box::pin(runs::insert(c, run)))
            .await
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<Run>> {
        self.read(run_id, |c, id| {
            Box::pin(async move { Ok(load::runs(c, &[id.to_owned()]).await?.pop()) })
        })
        .await
    }

    async fn get_run_info(&self, run_id: &str) -> Result<Option<RunInfo>> {
        self.query(run_id, |c, id| Box::pin(load::run_info(c, id)))
            .await
    }

    async fn update_run(&self, update: &RunUpdate) -> Result<RunInfo> {
        self.write(update, |c, u| Box::pin(runs::update(c, u)))
            .await
    }

    async fn set_run_lifecycle(
        &self,
        run_id: &str,
        stage: LifecycleStage,
        deleted_time: Option<i64>,
    ) -> Result<()> {
        self.write(&(run_id, stage, deleted_time), |c, (id, stage, t)| {
            Box::pin(runs::set_lifecycle(c, id, *stage, *t))
        })
        .await
    }

    async fn log_batch(&self, batch: &LogBatch) -> Result<()> {
        if group_commit::is_metric_only(batch) {
            return self
                .write_metrics(group_commit::MetricWrite {
                    run_id: batch.run_id.clone(),
                    metrics: batch.metrics.clone(),
                    audit: keel_core::audit::scope::claim().map(std::sync::Arc::new),
                })
                .await;
        }
        self.write(batch, |c, b| Box::pin(runs::log_batch(c, b)))
            .await
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<bool> {
        self.write(&(run_id, key), |c, (id, key)| {
            Box::pin(runs::delete_tag(c, id, key))
        })
        .await
    }

    async fn log_inputs(&self, inputs: &LogInputs) -> Result<()> {
        self.write(inputs, |c, i| Box::pin(inputs::log_inputs(c, i)))
            .await
    }

    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        self.write(&(run_id, models), |c, (id, models)| {
            Box::pin(inputs::log_outputs(c, id, models))
        })
        .await
    }

    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Metric>> {
        self.read(
            &(run_id, key, offset, limit),
            |c, (id, key, offset, limit)| Box::pin(history::history(c, id, key, *offset, *limit)),
        )
        .await
    }

    async fn metric_history_sampled(
        &self,
        run_id: &str,
        key: &str,
        (start_step, end_step): (Option<i64>, Option<i64>),
        max_points: usize,
    ) -> Result<Vec<Metric>> {
        let points = self
            .query(
                &(run_id, key, start_step, end_step),
                |c, (id, key, s, e)| Box::pin(history::history_range(c, id, key, *s, *e)),
            )
            .await?;
        Ok(keel_core::tracking::sample_evenly(points, max_points))
    }

    async fn search_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        self.read(query, |c, q| Box::pin(search::runs(c, q))).await
    }

    async fn garbage(&self, cutoff: i64) -> Result<Garbage> {
        self.read(&cutoff, |c, cutoff| {
            Box::pin(experiments::garbage(c, *cutoff))
        })
        .await
    }

    async fn purge(&self, garbage: &Garbage) -> Result<Garbage> {
        self.write(garbage, |c, g| Box::pin(experiments::purge(c, g)))
            .await
    }

    async fn search_datasets(&self, experiment_ids: &[String]) -> Result<Vec<DatasetSummary>> {
        let ids = numeric_ids(experiment_ids);
        self.query(ids.as_slice(), |c, ids| {
            Box::pin(inputs::search_datasets(c, ids))
        })
        .await
    }

    async fn update_run_tag(&self, run_id: &str, key: &str, update: TagUpdate) -> Result<()> {
        self.write(&(run_id, key, update), |c, (id, key, update)| {
            Box::pin(runs::update_tag(c, id, key, update))
        })
        .await
    }

    async fn insert_logged_model(&self, model: &LoggedModel) -> Result<()> {
        self.write(model, |c, m| Box::pin(logged_models::insert(c, m)))
            .await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<Option<LoggedModel>> {
        self.read(model_id, |c, id| Box::pin(logged_models::get(c, id)))
            .await
    }

    async fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[Param],
        now: i64,
    ) -> Result<()> {
        self.write(&(model_id, params, now), |c, (id, params, now)| {
            Box::pin(logged_models::log_params(c, id, params, *now))
        })
        .await
    }

    async fn set_logged_model_status(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
        now: i64,
    ) -> Result<()> {
        self.write(&(model_id, status, now), |c, (id, status, now)| {
            Box::pin(logged_models::set_status(c, id, *status, *now))
        })
        .await
    }

    async fn set_logged_model_lifecycle(
        &self,
        model_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()> {
        self.write(&(model_id, stage, now), |c, (id, stage, now)| {
            Box::pin(logged_models::set_lifecycle(c, id, *stage, *now))
        })
        .await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag], now: i64) -> Result<()> {
        self.write(&(model_id, tags, now), |c, (id, tags, now)| {
            Box::pin(logged_models::set_tags(c, id, tags, *now))
        })
        .await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<bool> {
        self.write(&(model_id, key), |c, (id, key)| {
            Box::pin(logged_models::delete_tag(c, id, key))
        })
        .await
    }

    async fn search_logged_models(&self, query: &LoggedModelQuery) -> Result<Vec<LoggedModel>> {
        self.read(query, |c, q| Box::pin(logged_models::search(c, q)))
            .await
    }
}
