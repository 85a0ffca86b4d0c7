//! The action catalogue: every action a route may declare, with what it needs from its caller
//! and the kinds of resource it acts on. One place for all of it, so the Cedar schema, the
//! built-in policies and the list of public routes cannot disagree with each other.

use crate::permission::Capability;

/// The kind of resource an action acts on, as Cedar entity types (`Keel::<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// The server itself (its version, its description, its settings).
    Server,
    /// The web UI's page and files.
    Ui,
    /// A workspace: what top-level resources are created in and searched over.
    Workspace,
    Experiment,
    Run,
    /// An MLflow 3 logged model.
    LoggedModel,
    /// An LLM trace (its info, spans, tags and assessments).
    Trace,
    /// A model of the model registry (with its tags and aliases).
    RegisteredModel,
    /// One version of a registered model.
    ModelVersion,
    /// A prompt of the prompt registry.
    Prompt,
    /// A scorer registered on an experiment.
    Scorer,
    /// A webhook (with its delivery log).
    Webhook,
    /// A file in the artifact store (it belongs to the experiment its path starts with).
    Artifact,
    /// A user or service account (its profile, password and tokens).
    Account,
    /// A role: named permissions assigned to users.
    Role,
}

impl ResourceKind {
    pub const ALL: [Self; 15] = [
        Self::Server,
        Self::Ui,
        Self::Workspace,
        Self::Experiment,
        Self::Run,
        Self::LoggedModel,
        Self::Trace,
        Self::RegisteredModel,
        Self::ModelVersion,
        Self::Prompt,
        Self::Scorer,
        Self::Webhook,
        Self::Artifact,
        Self::Account,
        Self::Role,
    ];

    /// The Cedar entity type's name, without the namespace.
    pub fn cedar_type(self) -> &'static str {
        match self {
            Self::Server => "Server",
            Self::Ui => "Ui",
            Self::Workspace => "Workspace",
            Self::Experiment => "Experiment",
            Self::Run => "Run",
            Self::LoggedModel => "LoggedModel",
            Self::Trace => "Trace",
            Self::RegisteredModel => "RegisteredModel",
            Self::ModelVersion => "ModelVersion",
            Self::Prompt => "Prompt",
            Self::Scorer => "Scorer",
            Self::Webhook => "Webhook",
            Self::Artifact => "Artifact",
            Self::Account => "Account",
            Self::Role => "Role",
        }
    }

    /// The kind this kind's entities are `in` (their permissions come from it), if any.
    pub fn parent(self) -> Option<Self> {
        match self {
            Self::Run | Self::LoggedModel | Self::Trace | Self::Scorer | Self::Artifact => {
                Some(Self::Experiment)
            }
            Self::ModelVersion => Some(Self::RegisteredModel),
            Self::Experiment
            | Self::RegisteredModel
            | Self::Prompt
            | Self::Webhook
            | Self::Account
            | Self::Role => Some(Self::Workspace),
            Self::Server | Self::Ui | Self::Workspace => None,
        }
    }
}

/// One action of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// e.g. `runs.update`.
    pub name: &'static str,
    pub capability: Capability,
    /// The kinds of resource routes declare this action on.
    pub resources: &'static [ResourceKind],
}

impl Action {
    /// Whether callers need not authenticate.
    pub fn is_public(&self) -> bool {
        self.capability == Capability::Public
    }

    /// Whether the action only reads (and so is audited only when the operator asks): reading,
    /// listing and searching, one's own account and permissions, the server's facts, the UI.
    pub fn only_reads(&self) -> bool {
        const READS: [&str; 8] = [
            ".read", ".search", ".list", ".self", ".info", ".health", ".openapi", ".version",
        ];
        READS.iter().any(|suffix| self.name.ends_with(suffix))
    }
}

const fn action(
    name: &'static str,
    capability: Capability,
    resources: &'static [ResourceKind],
) -> Action {
    Action {
        name,
        capability,
        resources,
    }
}

use Capability as C;
use ResourceKind as R;

/// Every action, sorted by name.
pub static CATALOGUE: &[Action] = &[
    action("accounts.admin", C::Admin, &[R::Account]),
    action("accounts.create", C::Manage, &[R::Workspace]),
    action("accounts.list", C::Authenticated, &[R::Workspace]),
    action(
        "accounts.self",
        C::Authenticated,
        &[R::Account, R::Workspace],
    ),
    action("artifacts.delete", C::Delete, &[R::Artifact]),
    action("artifacts.list", C::Read, &[R::Artifact]),
    // A URL that uploads a file of a run's or a logged model's artifacts straight to the bucket.
    action(
        "artifacts.presign_upload",
        C::Update,
        &[R::Run, R::LoggedModel],
    ),
    action("artifacts.read", C::Read, &[R::Artifact]),
    // A part of a multipart upload: its URL's signature is the credential (the client sends
    // parts without its tracking credentials).
    action("artifacts.upload_part", C::Public, &[R::Artifact]),
    action("artifacts.write", C::Update, &[R::Artifact]),
    // The audit log's checkpoints, verifier key and proofs (hashes only): anyone signed in may
    // check the log, as a witness would.
    action("audit.proofs.read", C::Authenticated, &[R::Server]),
    // The audit log's entries and searches over them.
    action("audit.read", C::Admin, &[R::Server]),
    action("auth.login", C::Public, &[R::Server]),
    // Ends the session of the cookie sent (an expired session must still be able to sign out).
    action("auth.logout", C::Public, &[R::Server]),
    // Issuing and revoking one's API tokens, changing one's password (handlers narrow other
    // accounts' to administrators).
    action("credentials.change", C::OwnCredentials, &[R::Account]),
    action("experiments.create", C::Create, &[R::Workspace]),
    action("experiments.delete", C::Delete, &[R::Experiment]),
    action("experiments.read", C::Read, &[R::Experiment]),
    action("experiments.restore", C::Delete, &[R::Experiment]),
    action("experiments.search", C::Authenticated, &[R::Workspace]),
    action("experiments.update", C::Update, &[R::Experiment]),
    // The AI gateway's configuration (provider credentials, the models they reach, the
    // endpoints routing to them, the guardrails they run, the budgets and rate limits calls are
    // held to): workspace
    // administrators only (a GLOBAL limit, which holds every workspace, a server
    // administrator's).
    action("gateway.endpoints.create", C::Admin, &[R::Workspace]),
    action("gateway.endpoints.delete", C::Admin, &[R::Workspace]),
    action("gateway.endpoints.read", C::Admin, &[R::Workspace]),
    action("gateway.endpoints.update", C::Admin, &[R::Workspace]),
    // Calling an endpoint (chat, embeddings, passthroughs) and listing what may be called:
    // any signed-in identity; each call is audited.
    action("gateway.guardrails.create", C::Admin, &[R::Workspace]),
    action("gateway.guardrails.delete", C::Admin, &[R::Workspace]),
    action("gateway.guardrails.read", C::Admin, &[R::Workspace]),
    action("gateway.guardrails.update", C::Admin, &[R::Workspace]),
    action("gateway.invoke", C::Authenticated, &[R::Workspace]),
    action("gateway.limits.create", C::Admin, &[R::Workspace]),
    action("gateway.limits.delete", C::Admin, &[R::Workspace]),
    action("gateway.limits.read", C::Admin, &[R::Workspace]),
    action("gateway.limits.update", C::Admin, &[R::Workspace]),
    action(
        "gateway.model_definitions.create",
        C::Admin,
        &[R::Workspace],
    ),
    action(
        "gateway.model_definitions.delete",
        C::Admin,
        &[R::Workspace],
    ),
    action("gateway.model_definitions.read", C::Admin, &[R::Workspace]),
    action(
        "gateway.model_definitions.update",
        C::Admin,
        &[R::Workspace],
    ),
    action("gateway.models.list", C::Authenticated, &[R::Workspace]),
    action("gateway.secrets.create", C::Admin, &[R::Workspace]),
    action("gateway.secrets.delete", C::Admin, &[R::Workspace]),
    action("gateway.secrets.read", C::Admin, &[R::Workspace]),
    action("gateway.secrets.update", C::Admin, &[R::Workspace]),
    // What the gateway's calls used and cost, per day, endpoint, model and user.
    action("gateway.usage.read", C::Admin, &[R::Workspace]),
    // `/graphql`: its resolvers authorize each object they read, as its REST route would.
    action("graphql.read", C::Authenticated, &[R::Workspace]),
    action("logged_models.create", C::Update, &[R::Experiment]),
    action("logged_models.delete", C::Delete, &[R::LoggedModel]),
    action(
        "logged_models.read",
        C::Read,
        &[R::LoggedModel, R::Experiment],
    ),
    // Filtered: experiments the caller may not read are dropped from the search.
    action("logged_models.search", C::Authenticated, &[R::Workspace]),
    action("logged_models.update", C::Update, &[R::LoggedModel]),
    action("model_versions.create", C::Update, &[R::RegisteredModel]),
    action("model_versions.delete", C::Delete, &[R::ModelVersion]),
    action("model_versions.read", C::Read, &[R::ModelVersion]),
    action("model_versions.search", C::Authenticated, &[R::Workspace]),
    action("model_versions.update", C::Update, &[R::ModelVersion]),
    action(
        "permissions.manage",
        C::Manage,
        &[
            R::Experiment,
            R::RegisteredModel,
            R::Prompt,
            R::Scorer,
            R::Workspace,
        ],
    ),
    action("registered_models.create", C::Create, &[R::Workspace]),
    action("registered_models.delete", C::Delete, &[R::RegisteredModel]),
    action("registered_models.read", C::Read, &[R::RegisteredModel]),
    action(
        "registered_models.search",
        C::Authenticated,
        &[R::Workspace],
    ),
    action("registered_models.update", C::Update, &[R::RegisteredModel]),
    action("roles.admin", C::Manage, &[R::Workspace]),
    action("roles.read", C::Authenticated, &[R::Workspace]),
    action("runs.create", C::Update, &[R::Experiment]),
    action("runs.delete", C::Delete, &[R::Run]),
    action("runs.read", C::Read, &[R::Run]),
    action("runs.restore", C::Delete, &[R::Run]),
    // Filtered: experiments the caller may not read are dropped from the search.
    action("runs.search", C::Authenticated, &[R::Workspace]),
    action("runs.update", C::Update, &[R::Run]),
    action("server.health", C::Public, &[R::Server]),
    action("server.info", C::Authenticated, &[R::Server]),
    // Prometheus metrics (counts by route and status, pool figures): anyone signed in, as on
    // the reference's basic-auth server, so a scraper needs only a token.
    action("server.metrics.read", C::Authenticated, &[R::Server]),
    action("server.openapi", C::Public, &[R::Server]),
    action("server.version", C::Public, &[R::Server]),
    // Listing a caller's own API tokens (handlers narrow other accounts' to administrators).
    action("tokens.self", C::Authenticated, &[R::Account]),
    action("traces.delete", C::Delete, &[R::Experiment]),
    action("traces.read", C::Read, &[R::Trace, R::Experiment]),
    // Filtered: experiments the caller may not read are dropped from the search.
    action("traces.search", C::Authenticated, &[R::Workspace]),
    action("traces.write", C::Update, &[R::Trace, R::Experiment]),
    action("ui.read", C::Public, &[R::Ui]),
    action("webhooks.create", C::Admin, &[R::Workspace]),
    action("webhooks.delete", C::Admin, &[R::Webhook]),
    action("webhooks.read", C::Admin, &[R::Webhook, R::Workspace]),
    action("webhooks.test", C::Admin, &[R::Webhook]),
    action("webhooks.update", C::Admin, &[R::Webhook]),
    action("workspaces.admin", C::Admin, &[R::Workspace]),
    action("workspaces.read", C::Authenticated, &[R::Workspace]),
];

/// The catalogue's action named `name`.
pub fn find(name: &str) -> Option<&'static Action> {
    CATALOGUE
        .binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &CATALOGUE[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_unique_and_findable() {
        for pair in CATALOGUE.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} {}",
                pair[0].name,
                pair[1].name
            );
        }
        for a in CATALOGUE {
            assert_eq!(find(a.name), Some(a));
            assert!(!a.resources.is_empty(), "{}", a.name);
        }
        assert!(find("runs.nonsense").is_none());
    }

    #[test]
    fn the_actions_that_change_state_are_the_writes_logins_and_signed_parts() {
        let changing: Vec<_> = CATALOGUE
            .iter()
            .filter(|a| !a.only_reads())
            .map(|a| a.name)
            .collect();
        for name in [
            "auth.login",
            "auth.logout",
            "artifacts.upload_part",
            "credentials.change",
            "runs.update",
            "webhooks.test",
        ] {
            assert!(changing.contains(&name), "{name}");
        }
        for name in [
            "runs.read",
            "runs.search",
            "accounts.self",
            "tokens.self",
            "server.info",
            "ui.read",
        ] {
            assert!(!changing.contains(&name), "{name}");
        }
    }

    #[test]
    fn only_the_login_logout_health_version_description_ui_shell_and_signed_parts_are_public() {
        let public: Vec<_> = CATALOGUE
            .iter()
            .filter(|a| a.is_public())
            .map(|a| a.name)
            .collect();
        assert_eq!(
            public,
            [
                "artifacts.upload_part",
                "auth.login",
                "auth.logout",
                "server.health",
                "server.openapi",
                "server.version",
                "ui.read"
            ]
        );
    }
}
