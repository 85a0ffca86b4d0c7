//! Integration tests of keel-store: the store conformance suite (tracking, model registry and
//! webhooks),
//! run against each backend.
//!
//! `conformance_suite!(name, make)` expands into a module `name` holding one `#[tokio::test]` per
//! conformance check. `make` is anything callable with no arguments that returns a future of a
//! [`conformance::Fixture`] over a fresh, empty database (an async closure, or a closure or
//! function returning a future), or of an `Option<Fixture>` that is `None` when the backend is
//! not available here (the test then returns; the fixture says why). The checks live in
//! `conformance/` as plain async functions
//! written against `keel_core::TrackingStore` and `keel_core::Tracking` only, so a new backend
//! gets the whole suite with one macro call:
//!
//! ```ignore
//! // tests/it/postgres.rs
//! pub async fn fresh() -> Option<Fixture> { /* new database, store, reopen closure, drop guard */ }
//! conformance_suite!(suite, async || fresh().await);
//! ```
//!
//! A check added to `conformance/` must also be listed in the macro below; an unlisted check is
//! dead code, which the lint gate rejects.

/// Expands into a module of `#[tokio::test]`s running every conformance check on one backend.
macro_rules! conformance_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            conformance_suite!(@tests $make;
                // Experiments.
                experiments::default_experiment_is_created_once,
                experiments::default_experiment_creation_is_safe_concurrently,
                experiments::create_and_get_experiment,
                experiments::experiment_names_are_unique,
                experiments::concurrent_creation_with_one_name_succeeds_once,
                experiments::unknown_experiment_is_not_found,
                experiments::rename_experiment,
                experiments::rename_onto_taken_name_fails,
                experiments::experiment_tags_set_overwrite_delete,
                experiments::delete_experiment_cascades_to_runs,
                experiments::restore_experiment_restores_only_runs_deleted_with_it,
                experiments::restore_keeps_run_deleted_earlier_in_same_millisecond,
                // Runs.
                runs::create_run_generates_name_and_tag,
                runs::create_run_takes_name_from_argument_or_tag,
                runs::create_run_with_conflicting_name_and_tag_fails,
                runs::create_run_needs_an_active_experiment,
                runs::get_run_returns_the_created_run,
                runs::update_run_changes_status_end_time_and_name,
                runs::run_name_tag_renames_the_run,
                runs::delete_and_restore_run,
                runs::delete_run_tag,
                runs::unknown_run_is_not_found,
                runs::writes_to_deleted_run_fail_and_write_nothing,
                // Logging.
                logging::log_batch_writes_metrics_params_and_tags,
                logging::log_batch_with_param_conflict_writes_nothing,
                logging::store_log_batch_with_param_conflict_writes_nothing,
                logging::relogging_same_param_value_is_ok,
                logging::tags_overwrite,
                logging::latest_metric_is_max_of_step_timestamp_value,
                logging::latest_metric_does_not_depend_on_batching,
                logging::nan_and_infinities_round_trip,
                logging::identical_metric_points_are_stored_once,
                // Metric history.
                history::metric_history_is_complete_and_ordered,
                history::metric_history_pages_with_tokens,
                history::whole_history_longer_than_a_page_is_read_in_pages,
                history::metric_history_of_unknown_run_or_key_is_empty,
                history::store_metric_history_offset_and_limit,
                history::store_metric_history_sampled_is_inclusive_step_ordered_and_even,
                history::bulk_interval_samples_each_run_and_keeps_last_point,
                history::bulk_interval_step_range_is_inclusive,
                history::bulk_interval_rejects_bad_requests,
                // Inputs and outputs.
                inputs::datasets_are_deduplicated_per_experiment,
                inputs::relogging_a_dataset_input_is_idempotent,
                inputs::dataset_input_tags_round_trip,
                inputs::search_datasets_returns_context,
                inputs::log_outputs_and_model_inputs,
                // Logged models.
                logged_models::create_and_get_logged_model,
                logged_models::create_logged_model_rejects_bad_input,
                logged_models::finalize_delete_and_allow_deleted,
                logged_models::logged_model_tags_and_params,
                logged_models::logged_model_metrics_come_from_runs,
                logged_models::search_logged_models_filters,
                logged_models::search_logged_models_orders_and_pages,
                logged_models::record_logged_model_appends_history,
                // Traces.
                traces::spans_in_batches_make_a_trace,
                traces::client_info_and_spans_merge_in_either_order,
                traces::spans_are_replaced_by_id,
                traces::a_rejected_batch_writes_nothing,
                traces::spans_page_in_read_order,
                traces::concurrent_writers_of_one_trace_lose_nothing,
                traces::whole_traces_are_stored_as_spans_then_info_would_be,
                trace_spans::span_skeleton_lists_outlines_in_read_order,
                trace_spans::one_span_reads_back_whole,
                trace_edits::trace_tags_set_overwrite_and_delete,
                trace_edits::deleting_traces_by_id_and_by_age,
                trace_edits::links_are_idempotent_and_wait_for_their_trace,
                trace_edits::a_link_racing_its_trace_is_never_lost,
                trace_edits::assessments_override_update_and_delete,
                trace_edits::old_traces_are_found_and_purged,
                // Trace search.
                trace_search::search_traces_filters_attributes_tags_and_metadata,
                trace_search::search_traces_spans_match_one_span,
                trace_search::search_traces_orders_with_missing_values_last,
                trace_search::search_traces_pages_without_overlap_or_gaps,
                trace_search::search_traces_spans_experiments_and_rejects_bad_input,
                // Model registry.
                registry::create_and_get_registered_model,
                registry::rename_moves_versions_and_aliases,
                registry::update_and_delete_registered_model,
                registry::registered_model_tags,
                registry::version_numbers_are_never_reused,
                registry::concurrent_creates_get_distinct_numbers,
                registry::model_version_fields_tags_and_updates,
                registry::stages_and_latest_versions,
                registry::aliases_point_at_versions,
                registry::sources_link_runs_and_logged_models,
                registry::search_registered_models_filters_orders_pages,
                registry::search_model_versions_filters_orders_pages,
                // Search.
                search::search_runs_filters_metrics_params_tags,
                search::search_runs_filters_attributes,
                search::search_runs_filters_datasets,
                search::search_runs_orders_by_metric_with_missing_last,
                search::search_runs_orders_by_param_and_attribute,
                search::search_runs_pages_across_missing_values,
                search::search_runs_view_types,
                search::search_runs_pages_through_250_runs,
                search::search_runs_spans_experiments,
                search::search_runs_rejects_bad_input,
                search::search_experiments_filters,
                search::search_experiments_order_by,
                search::search_experiments_view_types,
                search::search_experiments_pages,
                // Concurrency and durability.
                durability::concurrent_log_batch_to_one_run,
                durability::concurrent_runs_and_reads,
                durability::reopen_keeps_all_data,
                // Garbage collection.
                gc::garbage_respects_the_cutoff,
                gc::purge_removes_runs_and_experiments_for_good,
                gc::purge_spares_what_was_restored_meanwhile,
                gc::purge_removes_deleted_logged_models,
                // Webhooks and their delivery queue.
                webhooks::webhook_crud_soft_delete_and_paging,
                webhooks::webhooks_by_event_and_active_subscriptions,
                webhooks::delivery_queue_claims_leases_retries_and_finishes,
                // The AI gateway.
                gateway::gateway_secrets_are_unique_per_workspace_and_updated_in_place,
                gateway::model_definitions_need_their_secret_and_outlive_it,
                gateway::endpoints_keep_their_mappings_in_order_and_protect_their_models,
                gateway::models_attach_once_per_linkage_and_detach_first_mapping_first,
                gateway::bindings_are_unique_per_endpoint_and_go_with_it,
                gateway_limits::budget_policies_and_rate_limits_are_kept_per_workspace,
                gateway_limits::reservations_hold_all_or_nothing_and_settle_once,
                gateway_limits::concurrent_reservations_never_pass_a_limit,
                gateway_limits::the_usage_ledger_adds_up_and_groups_as_asked,
                gateway::guardrails_run_on_endpoints_in_order,
                gateway::workspace_deletion_takes_the_gateway_along,
                webhooks::concurrent_claims_never_hand_out_a_delivery_twice,
                webhooks::queued_deliveries_survive_a_reopen,
                webhooks::finished_deliveries_are_pruned_oldest_first,
                // Identity: accounts, tokens, roles, grants.
                identity::users_are_unique_updatable_and_deleted_with_what_they_own,
                identity::tokens_are_found_with_their_owner_revoked_and_touched,
                identity::roles_their_permissions_and_assignments,
                identity::user_grants_live_on_the_users_own_role_per_workspace,
                identity::holdings_hold_only_grants_that_bear_on_the_keys,
                identity::renamed_models_keep_their_grants,
                identity::resource_holders_are_the_grants_bearing_on_one_resource,
                // Workspaces.
                workspaces::the_catalogue_starts_with_default_and_names_are_unique,
                workspaces::experiment_names_are_unique_per_workspace,
                workspaces::restrict_refuses_a_workspace_that_holds_experiments,
                workspaces::set_default_moves_everything_unless_a_name_is_taken,
                workspaces::cascade_deletes_the_experiments_and_the_roles,
                workspaces::run_search_keeps_to_its_workspace,
                workspaces::registered_models_keep_to_their_workspace,
                workspaces::restrict_refuses_a_workspace_that_holds_models_or_webhooks,
                // The audit log.
                audit::entries_commit_only_with_the_writes_they_record,
                audit::concurrent_metric_writes_each_commit_their_own_entry,
                audit::sequencing_builds_the_tree_of_the_entries_and_proofs_verify,
                audit::racing_writers_and_sequencers_keep_one_gapless_log,
                audit::checkpoints_keys_and_searches,
                audit::retention_prunes_old_signed_entries_and_the_tree_still_verifies,
                audit::searches_find_every_match_across_many_transactions,
            );
        }
    };
    (@tests $make:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let fixture: Option<crate::conformance::Fixture> = ($make)().await.into();
                if let Some(fixture) = fixture {
                    crate::conformance::$module::$test(fixture).await;
                }
            }
        )*
    };
}

mod conformance;
mod postgres;
mod postgres_shared;
mod sqlite;
mod trace_search_links;
