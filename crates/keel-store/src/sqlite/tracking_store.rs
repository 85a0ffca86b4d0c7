//! `TrackingStore` for SQLite: each method runs its SQL on the writer or a reader connection.

use async_trait::async_trait;
use keel_core::store::*;
use keel_core::*;

use super::{SqliteStore, experiments, load, logged_models, runs, search};

/// Owned copies of borrowed arguments, moved into the blocking closures.
fn own(s: &str) -> String {
    s.to_owned()
}

#[async_trait]
impl TrackingStore for SqliteStore {
    async fn insert_experiment(&self, experiment: &Experiment) -> Result<()> {
        let e = experiment.clone();
        self.write(move |tx| experiments::insert(tx, &e)).await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>> {
        let id = own(experiment_id);
        self.read(move |c| experiments::get(c, &id)).await
    }

    async fn get_experiment_by_name(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<Experiment>> {
        let (workspace, name) = (own(workspace), own(name));
        self.read(move |c| experiments::get_by_name(c, &workspace, &name))
            .await
    }

    async fn search_experiments(&self, query: &ExperimentQuery) -> Result<Vec<Experiment>> {
        let q = query.clone();
        self.read(move |c| search::experiments(c, &q)).await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str, now: i64) -> Result<()> {
        let (id, name) = (own(experiment_id), own(new_name));
        self.write(move |tx| experiments::rename(tx, &id, &name, now))
            .await
    }

    async fn set_experiment_lifecycle(
        &self,
        experiment_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()> {
        let id = own(experiment_id);
        self.write(move |tx| experiments::set_lifecycle(tx, &id, stage, now))
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag, now: i64) -> Result<()> {
        let (id, tag) = (own(experiment_id), tag.clone());
        self.write(move |tx| experiments::set_tag(tx, &id, &tag, now))
            .await
    }

    async fn delete_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        now: i64,
    ) -> Result<bool> {
        let (id, key) = (own(experiment_id), own(key));
        self.write(move |tx| experiments::delete_tag(tx, &id, &key, now))
            .await
    }

    async fn insert_run(&self, run: &Run) -> Result<()> {
        let run = run.clone();
        self.write(move |tx| runs::insert(tx, &run)).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<Run>> {
        let id = own(run_id);
        self.read(move |c| Ok(load::runs(c, std::slice::from_ref(&id))?.pop()))
            .await
    }

    async fn get_run_info(&self, run_id: &str) -> Result<Option<RunInfo>> {
        let id = own(run_id);
        self.read(move |c| load::run_info(c, &id)).await
    }

    async fn update_run(&self, update: &RunUpdate) -> Result<RunInfo> {
        let u = update.clone();
        self.write(move |tx| runs::update(tx, &u)).await
    }

    async fn set_run_lifecycle(
        &self,
        run_id: &str,
        stage: LifecycleStage,
        deleted_time: Option<i64>,
    ) -> Result<()> {
        let id = own(run_id);
        self.write(move |tx| runs::set_lifecycle(tx, &id, stage, deleted_time))
            .await
    }

    async fn log_batch(&self, batch: &LogBatch) -> Result<()> {
        let b = batch.clone();
        self.write(move |tx| runs::log_batch(tx, &b)).await
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<bool> {
        let (id, key) = (own(run_id), own(key));
        self.write(move |tx| runs::delete_tag(tx, &id, &key)).await
    }

    async fn log_inputs(&self, inputs: &LogInputs) -> Result<()> {
        let inputs = inputs.clone();
        self.write(move |tx| runs::log_inputs(tx, &inputs)).await
    }

    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        let (id, models) = (own(run_id), models.to_vec());
        self.write(move |tx| runs::log_outputs(tx, &id, &models))
            .await
    }

    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Metric>> {
        let (id, key) = (own(run_id), own(key));
        self.read(move |c| runs::history(c, &id, &key, offset, limit))
            .await
    }

    async fn metric_history_sampled(
        &self,
        run_id: &str,
        key: &str,
        steps: (Option<i64>, Option<i64>),
        max_points: usize,
    ) -> Result<Vec<Metric>> {
        let (id, key) = (own(run_id), own(key));
        self.read(move |c| runs::history_sampled(c, &id, &key, steps, max_points))
            .await
    }

    async fn search_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        let q = query.clone();
        self.read(move |c| search::runs(c, &q)).await
    }

    async fn garbage(&self, cutoff: i64) -> Result<Garbage> {
        self.read(move |c| experiments::garbage(c, cutoff)).await
    }

    async fn purge(&self, garbage: &Garbage) -> Result<Garbage> {
        let garbage = garbage.clone();
        self.write(move |tx| experiments::purge(tx, &garbage)).await
    }

    async fn search_datasets(&self, experiment_ids: &[String]) -> Result<Vec<DatasetSummary>> {
        let ids = experiment_ids.to_vec();
        self.read(move |c| runs::search_datasets(c, &ids)).await
    }

    async fn update_run_tag(&self, run_id: &str, key: &str, update: TagUpdate) -> Result<()> {
        let (id, key) = (own(run_id), own(key));
        self.write(move |tx| runs::update_tag(tx, &id, &key, update))
            .await
    }

    async fn insert_logged_model(&self, model: &LoggedModel) -> Result<()> {
        let m = model.clone();
        self.write(move |tx| logged_models::insert(tx, &m)).await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<Option<LoggedModel>> {
        let id = own(model_id);
        self.read(move |c| logged_models::get(c, &id)).await
    }

    async fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[Param],
        now: i64,
    ) -> Result<()> {
        let (id, params) = (own(model_id), params.to_vec());
        self.write(move |tx| logged_models::log_params(tx, &id, &params, now))
            .await
    }

    async fn set_logged_model_status(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
        now: i64,
    ) -> Result<()> {
        let id = own(model_id);
        self.write(move |tx| logged_models::set_status(tx, &id, status, now))
            .await
    }

    async fn set_logged_model_lifecycle(
        &self,
        model_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()> {
        let id = own(model_id);
        self.write(move |tx| logged_models::set_lifecycle(tx, &id, stage, now))
            .await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag], now: i64) -> Result<()> {
        let (id, tags) = (own(model_id), tags.to_vec());
        self.write(move |tx| logged_models::set_tags(tx, &id, &tags, now))
            .await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<bool> {
        let (id, key) = (own(model_id), own(key));
        self.write(move |tx| logged_models::delete_tag(tx, &id, &key))
            .await
    }

    async fn search_logged_models(&self, query: &LoggedModelQuery) -> Result<Vec<LoggedModel>> {
        let q = query.clone();
        self.read(move |c| logged_models::search(c, &q)).await
    }
}
