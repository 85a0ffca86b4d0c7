//! Integration tests of keel-artifacts: the local store's own guarantees, and one conformance
//! suite of the `ArtifactStore` trait run against every backend (local disk, and S3 on a moto
//! server started for the run).

mod backends;
mod local;
mod moto;
mod suite;

/// Instantiates every case of [`suite`] against the store `$factory` makes; a factory returning
/// `None` skips the backend (it printed why).
macro_rules! artifact_store_suite {
    ($factory:path) => {
        artifact_store_suite!(
            @cases $factory;
            files_round_trip_and_list,
            ranges_and_versions,
            missing_things_are_not_found_or_empty,
            delete_removes_files_and_whole_folders,
            large_files_stream_both_ways,
            interrupted_writes_leave_nothing_behind,
            multipart_round_trip,
            multipart_checks_parts_and_etags,
            multipart_abort_and_unknown_uploads,
            multipart_of_an_empty_file,
            stale_uploads_are_purged,
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $factory().await else {
                    return;
                };
                crate::suite::$case(fixture.store.as_ref()).await;
            }
        )*
    };
}

mod local_store {
    artifact_store_suite!(crate::backends::local);
}

mod s3_store {
    artifact_store_suite!(crate::backends::s3);
}
