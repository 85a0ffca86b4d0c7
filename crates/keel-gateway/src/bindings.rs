//! What is bound to an endpoint (`endpoints/bindings/*`): today a scorer whose judge calls
//! the endpoint, as the reference's `GatewayResourceType` allows. A binding is unique per
//! endpoint and resource, lives in its endpoint's workspace and goes with it.

use keel_core::{Error, ErrorCode, Result};

use crate::Gateway;
use crate::endpoints::{EndpointKey, not_found};

/// The kinds of resource an endpoint may be bound to.
pub const RESOURCE_TYPES: [&str; 1] = ["scorer"];
/// Keel's bound on a resource ID (the reference's column size).
pub const MAX_RESOURCE_ID_CHARS: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointBinding {
    pub endpoint_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub display_name: Option<String>,
    pub created_at: i64,
    pub last_updated_at: i64,
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
}

/// The bindings a listing asks for (each field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingFilter {
    pub endpoint_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
}

/// What a store insert of a binding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingWrite {
    Done,
    EndpointNotFound,
    AlreadyBound,
}

fn check_resource_type(resource_type: &str) -> Result<()> {
    if RESOURCE_TYPES.contains(&resource_type) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid resource_type '{resource_type}'. Must be one of: {}.",
            RESOURCE_TYPES.join(", ")
        )))
    }
}

fn required(field: &str, value: Option<String>) -> Result<String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing_parameter(field))
}

impl Gateway {
    pub async fn create_binding(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
        resource_type: Option<String>,
        resource_id: Option<String>,
        created_by: Option<String>,
    ) -> Result<EndpointBinding> {
        let endpoint_id = required("endpoint_id", endpoint_id)?;
        let resource_type = required("resource_type", resource_type)?;
        let resource_id = required("resource_id", resource_id)?;
        check_resource_type(&resource_type)?;
        if resource_id.chars().count() > MAX_RESOURCE_ID_CHARS {
            return Err(Error::invalid(format!(
                "resource_id must be at most {MAX_RESOURCE_ID_CHARS} characters."
            )));
        }
        let now = self.now();
        let author = created_by.filter(|a| !a.is_empty());
        let binding = EndpointBinding {
            endpoint_id,
            resource_type,
            resource_id,
            display_name: None,
            created_at: now,
            last_updated_at: now,
            created_by: author.clone(),
            last_updated_by: author,
        };
        match self.store.insert_binding(workspace, &binding).await? {
            BindingWrite::Done => Ok(binding),
            BindingWrite::EndpointNotFound => Err(not_found(EndpointKey::Id(&binding.endpoint_id))),
            BindingWrite::AlreadyBound => Err(Error::already_exists(format!(
                "{} '{}' is already bound to endpoint '{}'",
                binding.resource_type, binding.resource_id, binding.endpoint_id
            ))),
        }
    }

    pub async fn delete_binding(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
        resource_type: Option<String>,
        resource_id: Option<String>,
    ) -> Result<()> {
        let endpoint_id = required("endpoint_id", endpoint_id)?;
        let resource_type = required("resource_type", resource_type)?;
        let resource_id = required("resource_id", resource_id)?;
        if self
            .store
            .delete_binding(workspace, &endpoint_id, &resource_type, &resource_id)
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::ResourceDoesNotExist,
                format!(
                    "GatewayEndpointBinding not found (endpoint_id='{endpoint_id}', \
                     resource_type='{resource_type}', resource_id='{resource_id}')"
                ),
            ))
        }
    }

    /// The workspace's bindings the filter asks for, oldest first.
    pub async fn list_bindings(
        &self,
        workspace: &str,
        filter: BindingFilter,
    ) -> Result<Vec<EndpointBinding>> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let filter = BindingFilter {
            endpoint_id: given(filter.endpoint_id),
            resource_type: given(filter.resource_type),
            resource_id: given(filter.resource_id),
        };
        self.store.list_bindings(workspace, &filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scorers_are_bound() {
        check_resource_type("scorer").expect("scorer");
        assert_eq!(
            check_resource_type("experiment")
                .expect_err("refused")
                .message,
            "Invalid resource_type 'experiment'. Must be one of: scorer."
        );
    }
}
