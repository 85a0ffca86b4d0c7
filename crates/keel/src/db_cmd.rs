//! `keel db upgrade`: apply the metadata store's pending schema migrations explicitly (servers
//! also apply them at start, under the same lock) and report what was applied.

use crate::config::Config;

pub fn upgrade(config: Config) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    let uri = keel_store::StoreUri::parse(&config.backend_store_uri)
        .map_err(|e| anyhow::anyhow!("invalid backend_store_uri: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let applied = runtime
        .block_on(keel_store::upgrade(&uri))
        .map_err(|e| anyhow::anyhow!("cannot upgrade the backend store: {e}"))?;
    if applied.is_empty() {
        println!("the schema is up to date");
    }
    for (version, name) in applied {
        println!("applied migration {version} ({name})");
    }
    Ok(())
}
