//! The Cedar authorization engine: the schema (generated from the action catalogue), the
//! built-in policies that reproduce MLflow's permission model, operators' own policies
//! (validated strictly against the schema), and one decision per request.
//!
//! The built-in policies read three facts computed from grants by [`crate::assess`]:
//! `context.permission` (the caller's level on the resource, 0 = NO_PERMISSIONS to
//! 4 = MANAGE), `context.parent_permission` (their level on the container it is in, which they
//! must at least read) and `context.denied` (a DENY grant applies), and one from the credential:
//! `context.in_scope` (an API token limited to scopes covers the action; see [`crate::scope`]).
//! Operators' policies can use those, the principal's attributes and groups, and the resource's
//! place in the hierarchy. Any error while deciding is a deny.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Policy, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use keel_core::{Error, Result};

use crate::actions::{self, Action, ResourceKind};
use crate::assess::Assessment;
use crate::permission::Capability;

/// The Cedar namespace of Keel's entity types and actions.
pub const NAMESPACE: &str = "Keel";

/// The built-in policies, each with an `@id` reported with every decision it takes part in,
/// and the capability whose actions it covers (a policy covering no catalogued action is left
/// out: strict validation refuses a policy that can never apply).
const BUILT_IN: &[(Option<Capability>, &str)] = &[
    (
        None,
        r#"@id("keel.admin")
permit (principal, action, resource)
when { principal.is_admin };"#,
    ),
    (
        Some(Capability::Authenticated),
        r#"@id("keel.authenticated")
permit (principal, action in Keel::Action::"authenticated", resource);"#,
    ),
    (
        Some(Capability::OwnCredentials),
        r#"@id("keel.own_credentials")
permit (principal, action in Keel::Action::"own_credentials", resource);"#,
    ),
    (
        Some(Capability::Create),
        r#"@id("keel.create")
permit (principal, action in Keel::Action::"create", resource);"#,
    ),
    (
        Some(Capability::Public),
        r#"@id("keel.public")
permit (principal, action in Keel::Action::"public", resource);"#,
    ),
    (
        Some(Capability::Read),
        r#"@id("keel.read")
permit (principal, action in Keel::Action::"read", resource)
when { context.permission >= 1 && context.parent_permission >= 1 };"#,
    ),
    (
        Some(Capability::Use),
        r#"@id("keel.use")
permit (principal, action in Keel::Action::"use", resource)
when { context.permission >= 2 && context.parent_permission >= 1 };"#,
    ),
    (
        Some(Capability::Update),
        r#"@id("keel.update")
permit (principal, action in Keel::Action::"update", resource)
when { context.permission >= 3 && context.parent_permission >= 1 };"#,
    ),
    (
        Some(Capability::Delete),
        r#"@id("keel.delete")
permit (principal, action in Keel::Action::"delete", resource)
when { context.permission >= 4 && context.parent_permission >= 1 };"#,
    ),
    (
        Some(Capability::Manage),
        r#"@id("keel.manage")
permit (principal, action in Keel::Action::"manage", resource)
when { context.permission >= 4 && context.parent_permission >= 1 };"#,
    ),
    (
        None,
        r#"@id("keel.token_scope")
forbid (principal, action, resource)
unless { context.in_scope };"#,
    ),
    (
        None,
        r#"@id("keel.deny")
forbid (principal, action, resource)
when { context.denied }
unless { principal.is_admin };"#,
    ),
];

/// The built-in policies that apply to some catalogued action, parsed, each with the
/// capability whose actions it covers (`None`: every action).
fn built_in_policies() -> Result<Vec<(Option<Capability>, Policy)>> {
    BUILT_IN
        .iter()
        .filter(|(c, _)| c.is_none_or(|c| actions::CATALOGUE.iter().any(|a| a.capability == c)))
        .enumerate()
        .map(|(i, (c, text))| {
            Policy::parse(Some(PolicyId::new(format!("builtin{i}"))), *text)
                .map(|p| (*c, p))
                .map_err(|e| Error::internal(format!("Keel's built-in policies are invalid: {e}")))
        })
        .collect()
}

/// Who is asking, as policies see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyPrincipal {
    /// The user's or service account's ID.
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    /// `user` or `service_account`.
    pub kind: &'static str,
    /// Groups (from the identity provider) and roles the principal is in.
    pub groups: Vec<String>,
}

/// What is acted on: a resource of a kind, and the chain of resources it belongs to (a run's
/// experiment, that experiment's workspace).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyResource {
    pub kind: ResourceKind,
    pub id: String,
    /// Outward: the direct parent first.
    pub parents: Vec<(ResourceKind, String)>,
}

/// One authorization question.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub principal: &'a PolicyPrincipal,
    pub action: &'a Action,
    pub resource: &'a PolicyResource,
    /// What the caller's grants give on the resource.
    pub assessment: Assessment,
    /// Whether the credential's scopes cover the action (an unlimited one covers all).
    pub in_scope: bool,
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The IDs of the policies that decided (the permits that allowed, or the forbids that
    /// denied); empty when nothing permitted.
    pub policy_ids: Vec<String>,
    /// Evaluation errors, if any (each one makes the decision a deny).
    pub errors: Vec<String>,
}

/// The schema, the policies and the authorizer, built once at start.
pub struct PolicyEngine {
    schema: Schema,
    schema_text: String,
    operator_policies: bool,
    authorizer: Authorizer,
    /// Each policy's `@id` (reading an annotation parses its key every time: done once here).
    policy_ids: HashMap<PolicyId, String>,
    /// The policies that can apply to each capability's actions.
    by_capability: HashMap<Capability, PolicySet>,
    /// Each catalogued action's entity, in its capability's group (built once).
    actions: HashMap<&'static str, (EntityUid, Entity)>,
    types: HashMap<ResourceKind, EntityTypeName>,
    user_type: EntityTypeName,
    group_type: EntityTypeName,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("policies", &self.policy_ids.len())
            .finish_non_exhaustive()
    }
}

impl PolicyEngine {
    /// The engine with the built-in policies and, if given, an operator's policy file's text
    /// (`source` names it in errors). Every policy is validated strictly against the schema;
    /// an invalid one is an error naming its ID.
    pub fn new(operator_policies: Option<(&str, &str)>) -> Result<Self> {
        let schema_text = schema_text();
        let (schema, _warnings) = Schema::from_cedarschema_str(&schema_text)
            .map_err(|e| Error::internal(format!("Keel's Cedar schema is invalid: {e}")))?;
        let built_in = built_in_policies()?;
        let mut policies = PolicySet::from_policies(built_in.iter().map(|(_, p)| p.clone()))
            .map_err(|e| Error::internal(format!("Keel's built-in policies are invalid: {e}")))?;
        let mut operators = Vec::new();
        if let Some((source, text)) = operator_policies {
            let extra = PolicySet::from_str(text).map_err(|e| {
                Error::invalid(format!("the policies in {source} do not parse: {e:?}"))
            })?;
            for (i, policy) in extra.policies().enumerate() {
                // Cedar numbers each set's policies from zero: give the operator's their own.
                let policy = policy.new_id(PolicyId::new(format!("operator{i}")));
                policies.add(policy.clone()).map_err(|e| {
                    Error::invalid(format!(
                        "policy '{}' in {source} cannot be added: {e}",
                        policy_id(&policy)
                    ))
                })?;
                operators.push(policy);
            }
            if let Some(template) = extra.templates().next() {
                return Err(Error::invalid(format!(
                    "policy '{}' in {source} is a template; only static policies are supported",
                    template.id()
                )));
            }
        }
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if let Some(first) = validation.validation_errors().next() {
            let id = policies
                .policy(first.policy_id())
                .map_or_else(|| first.policy_id().to_string(), policy_id);
            return Err(Error::invalid(format!(
                "policy '{id}' is not valid against Keel's Cedar schema: {first}"
            )));
        }
        let name = |n: &str| {
            EntityTypeName::from_str(&format!("{NAMESPACE}::{n}"))
                .map_err(|e| Error::internal(format!("entity type {n}: {e}")))
        };
        let mut types = HashMap::new();
        for kind in ResourceKind::ALL {
            types.insert(kind, name(kind.cedar_type())?);
        }
        let action_type = name("Action")?;
        let actions = actions::CATALOGUE
            .iter()
            .map(|a| {
                let uid = uid_of(&action_type, a.name);
                let group = uid_of(&action_type, a.capability.group());
                let entity = Entity::new_no_attrs(uid.clone(), HashSet::from([group]));
                (a.name, (uid, entity))
            })
            .collect();
        let policy_ids = policies
            .policies()
            .map(|p| (p.id().clone(), policy_id(p)))
            .collect();
        // A built-in policy's scope names one capability's action group, which an action is
        // in or not once and for all: each capability's decisions evaluate only the policies
        // that can apply to its actions (operators' policies apply to any).
        let by_capability = Capability::ALL
            .into_iter()
            .map(|c| {
                let applicable = built_in
                    .iter()
                    .filter(|(bc, _)| bc.is_none_or(|bc| bc == c))
                    .map(|(_, p)| p.clone())
                    .chain(operators.iter().cloned());
                PolicySet::from_policies(applicable)
                    .map(|set| (c, set))
                    .map_err(|e| Error::internal(format!("policy set for {c:?}: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            schema,
            schema_text,
            operator_policies: operator_policies.is_some(),
            authorizer: Authorizer::new(),
            policy_ids,
            by_capability,
            actions,
            types,
            user_type: name("User")?,
            group_type: name("Group")?,
        })
    }

    /// Whether an operator added policies (which may restrict even administrators).
    pub fn has_operator_policies(&self) -> bool {
        self.operator_policies
    }

    /// The Cedar schema operators write their policies against.
    pub fn schema_text(&self) -> &str {
        &self.schema_text
    }

    /// The schema (for validating other policy sets against it).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Decides one query. Any error is a deny, reported in [`Decision::errors`].
    pub fn decide(&self, query: &Query<'_>) -> Decision {
        match self.evaluate(query) {
            Ok(decision) => decision,
            Err(e) => Decision {
                allowed: false,
                policy_ids: Vec::new(),
                errors: vec![e],
            },
        }
    }

    fn evaluate(&self, query: &Query<'_>) -> std::result::Result<Decision, String> {
        let (principal_uid, principal) = self.principal_entity(query.principal)?;
        let (action_uid, action) = self
            .actions
            .get(query.action.name)
            .ok_or_else(|| format!("action {} is not in the catalogue", query.action.name))?;
        let (resource_uid, resource) = self.resource_entity(query.resource)?;
        // Each entity carries its ancestors already closed (a user's groups, an action's
        // group, a resource's whole chain of containers), and ancestors need no entity of
        // their own: they have no attributes. Three entities, nothing for Cedar to compute.
        let entities = Entities::from_entities([principal, action.clone(), resource], None)
            .map_err(|e| e.to_string())?;
        let a = query.assessment;
        let context = Context::from_pairs([
            (
                "permission".to_owned(),
                RestrictedExpression::new_long(a.permission.rank()),
            ),
            (
                "parent_permission".to_owned(),
                RestrictedExpression::new_long(a.parent_permission.rank()),
            ),
            (
                "denied".to_owned(),
                RestrictedExpression::new_bool(a.denied),
            ),
            (
                "in_scope".to_owned(),
                RestrictedExpression::new_bool(query.in_scope),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let request = Request::new(
            principal_uid,
            action_uid.clone(),
            resource_uid,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let policies = self
            .by_capability
            .get(&query.action.capability)
            .ok_or_else(|| format!("no policies for {:?}", query.action.capability))?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        let policy_ids = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.policy_ids
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow && errors.is_empty(),
            policy_ids,
            errors,
        })
    }

    /// The principal, in its groups.
    fn principal_entity(
        &self,
        p: &PolicyPrincipal,
    ) -> std::result::Result<(EntityUid, Entity), String> {
        let uid = uid_of(&self.user_type, &p.id);
        let groups: HashSet<EntityUid> = p
            .groups
            .iter()
            .map(|g| uid_of(&self.group_type, g))
            .collect();
        let attrs = HashMap::from([
            (
                "username".to_owned(),
                RestrictedExpression::new_string(p.username.clone()),
            ),
            (
                "is_admin".to_owned(),
                RestrictedExpression::new_bool(p.is_admin),
            ),
            (
                "kind".to_owned(),
                RestrictedExpression::new_string(p.kind.to_owned()),
            ),
        ]);
        let entity = Entity::new(uid.clone(), attrs, groups).map_err(|e| e.to_string())?;
        Ok((uid, entity))
    }

    /// The resource, in every container of its chain.
    fn resource_entity(
        &self,
        r: &PolicyResource,
    ) -> std::result::Result<(EntityUid, Entity), String> {
        let uid = |k: ResourceKind, id: &str| {
            self.types
                .get(&k)
                .map(|t| uid_of(t, id))
                .ok_or_else(|| format!("no entity type for {k:?}"))
        };
        let resource = uid(r.kind, &r.id)?;
        let ancestors = r
            .parents
            .iter()
            .map(|(k, id)| uid(*k, id))
            .collect::<std::result::Result<HashSet<_>, _>>()?;
        Ok((resource.clone(), Entity::new_no_attrs(resource, ancestors)))
    }
}

fn uid_of(t: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
}

/// A policy's `@id` annotation, or Cedar's own ID for it.
fn policy_id(policy: &cedar_policy::Policy) -> String {
    policy
        .annotation("id")
        .map_or_else(|| policy.id().to_string(), str::to_owned)
}

/// The Cedar schema, generated from the action catalogue.
pub fn schema_text() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "namespace {NAMESPACE} {{");
    s.push_str("  entity Group;\n");
    s.push_str(
        "  entity User in [Group] = { \"username\": String, \"is_admin\": Bool, \"kind\": String };\n",
    );
    for kind in ResourceKind::ALL {
        match kind.parent() {
            Some(p) => {
                let _ = writeln!(s, "  entity {} in [{}];", kind.cedar_type(), p.cedar_type());
            }
            None => {
                let _ = writeln!(s, "  entity {};", kind.cedar_type());
            }
        }
    }
    s.push_str(
        "  type Request = { \"permission\": Long, \"parent_permission\": Long, \"denied\": Bool, \"in_scope\": Bool };\n",
    );
    for c in Capability::ALL {
        let _ = writeln!(s, "  action \"{}\";", c.group());
    }
    for a in actions::CATALOGUE {
        let resources: Vec<_> = a.resources.iter().map(|r| r.cedar_type()).collect();
        let _ = writeln!(
            s,
            "  action \"{}\" in [\"{}\"] appliesTo {{ principal: [User], resource: [{}], context: Request }};",
            a.name,
            a.capability.group(),
            resources.join(", ")
        );
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests;
