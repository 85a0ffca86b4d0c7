//! Building an object store from an artifact destination URL. Credentials and regions come from
//! each backend's standard environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`), read by the
//! `object_store` builders; Keel's own options add an S3 endpoint, path-style addressing and
//! plain-HTTP endpoints (for MinIO, Ceph, moto and other S3-compatible servers).

use std::sync::Arc;

use keel_core::{Error, Result};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStoreScheme};

use super::ObjectArtifactStore;

/// S3-specific settings from Keel's configuration; unset ones keep the `AWS_*` environment's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectStoreOptions {
    /// Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`.
    pub s3_endpoint_url: Option<String>,
    /// `true`: path-style requests (`endpoint/bucket/key`); `false`: virtual-hosted style
    /// (`bucket.endpoint/key`).
    pub s3_force_path_style: Option<bool>,
    /// Allow a plain `http://` endpoint.
    pub s3_allow_http: Option<bool>,
}

/// The URL schemes Keel serves artifacts from, besides local paths.
pub const SCHEMES: &[&str] = &["s3", "gs", "az"];

/// S3 and GCS (XML multipart) refuse parts under 5 MiB except the last; Azure has no minimum.
const S3_MIN_PART: u64 = 5 * 1024 * 1024;

/// No whole-request deadline (a large download streams for as long as it takes); a stalled
/// connection fails after this long without data instead.
const REQUEST_TIMEOUT: &str = "7 days";
const READ_TIMEOUT: &str = "5 minutes";

fn bad(destination: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "Invalid artifacts destination '{destination}': {why}"
    ))
}

pub(super) fn open(destination: &str, options: &ObjectStoreOptions) -> Result<ObjectArtifactStore> {
    let (scheme, prefix) = parse(destination, options)?;
    let built = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            return open_s3_with(AmazonS3Builder::from_env(), destination, options);
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            let gcs = Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_url(destination)
                    .with_config(
                        GoogleConfigKey::Client(ClientConfigKey::Timeout),
                        REQUEST_TIMEOUT,
                    )
                    .with_config(
                        GoogleConfigKey::Client(ClientConfigKey::ReadTimeout),
                        READ_TIMEOUT,
                    )
                    .build()
                    .map_err(|e| bad(destination, e))?,
            );
            (gcs.clone() as _, gcs as _, S3_MIN_PART)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            let azure = Arc::new(
                MicrosoftAzureBuilder::from_env()
                    .with_url(destination)
                    .with_config(
                        AzureConfigKey::Client(ClientConfigKey::Timeout),
                        REQUEST_TIMEOUT,
                    )
                    .with_config(
                        AzureConfigKey::Client(ClientConfigKey::ReadTimeout),
                        READ_TIMEOUT,
                    )
                    .build()
                    .map_err(|e| bad(destination, e))?,
            );
            (azure.clone() as _, azure as _, 0)
        }
        _ => return Err(bad(destination, "unsupported scheme")),
    };
    let (store, multipart, min_part_bytes) = built;
    Ok(ObjectArtifactStore {
        store,
        multipart,
        // Only S3 signs URLs, as only the reference's S3 repository does.
        signer: None,
        prefix,
        location: location(destination),
        min_part_bytes,
    })
}

/// An `s3://` store built on `base` (a builder that may already hold credentials) rather than
/// on the `AWS_*` environment alone; for callers that manage credentials themselves, like tests.
pub(super) fn open_s3_with(
    base: AmazonS3Builder,
    destination: &str,
    options: &ObjectStoreOptions,
) -> Result<ObjectArtifactStore> {
    let (scheme, prefix) = parse(destination, options)?;
    if scheme != ObjectStoreScheme::AmazonS3 {
        return Err(bad(destination, "expected an s3:// destination"));
    }
    let s3 = Arc::new(
        s3_builder(base, destination, options)?
            .build()
            .map_err(|e| bad(destination, e))?,
    );
    Ok(ObjectArtifactStore {
        store: s3.clone(),
        multipart: s3.clone(),
        signer: Some(s3),
        prefix,
        location: location(destination),
        min_part_bytes: S3_MIN_PART,
    })
}

fn location(destination: &str) -> String {
    destination.trim_end_matches('/').to_owned()
}

/// The destination's backend and key prefix, after checking the URL and the options.
fn parse(destination: &str, options: &ObjectStoreOptions) -> Result<(ObjectStoreScheme, Path)> {
    let url = url::Url::parse(destination).map_err(|e| bad(destination, e))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad(
            destination,
            "put credentials in the environment, not in the URL",
        ));
    }
    if !SCHEMES.contains(&url.scheme()) {
        return Err(bad(
            destination,
            format!(
                "use one of {}:// or a local directory",
                SCHEMES.join("://, ")
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(
            destination,
            "the bucket (or container) name is missing",
        ));
    }
    let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|e| bad(destination, e))?;
    let s3_only = options.s3_endpoint_url.is_some()
        || options.s3_force_path_style.is_some()
        || options.s3_allow_http.is_some();
    if s3_only && scheme != ObjectStoreScheme::AmazonS3 {
        return Err(bad(
            destination,
            "the artifacts_s3_* settings apply only to an s3:// destination",
        ));
    }
    Ok((scheme, prefix))
}

fn s3_builder(
    base: AmazonS3Builder,
    destination: &str,
    options: &ObjectStoreOptions,
) -> Result<AmazonS3Builder> {
    let mut builder = base
        .with_url(destination)
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            REQUEST_TIMEOUT,
        )
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ReadTimeout),
            READ_TIMEOUT,
        );
    if let Some(endpoint) = &options.s3_endpoint_url {
        let parsed = url::Url::parse(endpoint).map_err(|e| {
            bad(
                destination,
                format!("invalid S3 endpoint '{endpoint}': {e}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(bad(
                destination,
                format!("invalid S3 endpoint '{endpoint}': expected http(s)://host[:port]"),
            ));
        }
        if parsed.scheme() == "http" && options.s3_allow_http != Some(true) {
            return Err(bad(
                destination,
                format!(
                    "the S3 endpoint '{endpoint}' is plain HTTP; set artifacts_s3_allow_http = \
                     true to use it"
                ),
            ));
        }
        builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
    }
    if let Some(path_style) = options.s3_force_path_style {
        builder = builder.with_virtual_hosted_style_request(!path_style);
    }
    if let Some(allow) = options.s3_allow_http {
        builder = builder.with_allow_http(allow);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(destination: &str, options: &ObjectStoreOptions) -> String {
        open(destination, options)
            .map(|_| ())
            .expect_err("rejected")
            .message
    }

    #[test]
    fn destinations_are_checked() {
        let none = ObjectStoreOptions::default();
        assert!(err("ftp://host/x", &none).contains("s3://"));
        assert!(err("s3://key:secret@bucket/x", &none).contains("environment"));
        assert!(err("s3:///x", &none).contains("bucket"));
        let endpoint = ObjectStoreOptions {
            s3_endpoint_url: Some("http://127.0.0.1:9000".into()),
            ..Default::default()
        };
        assert!(err("s3://b/p", &endpoint).contains("allow_http"));
        assert!(err("gs://b/p", &endpoint).contains("s3://"));
        let bad_endpoint = ObjectStoreOptions {
            s3_endpoint_url: Some("file:///etc".into()),
            ..Default::default()
        };
        assert!(err("s3://b/p", &bad_endpoint).contains("endpoint"));
    }

    #[test]
    fn s3_destinations_open_with_a_prefix() {
        let options = ObjectStoreOptions {
            s3_endpoint_url: Some("http://127.0.0.1:9000/".into()),
            s3_force_path_style: Some(true),
            s3_allow_http: Some(true),
        };
        let store = open("s3://bucket/some/prefix/", &options).expect("opens");
        assert_eq!(store.prefix.as_ref(), "some/prefix");
        assert_eq!(store.location, "s3://bucket/some/prefix");
        assert_eq!(store.min_part_bytes, S3_MIN_PART);
        let root = open("s3://bucket", &options).expect("opens");
        assert_eq!(root.prefix.as_ref(), "");
    }
}
