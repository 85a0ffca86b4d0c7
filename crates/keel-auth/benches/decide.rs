//! The cost of one authorization decision: grant resolution plus the Cedar evaluation, for a
//! user with grants on a run in an experiment (the common path), timed one decision at a time.
//! Prints the percentiles as one JSON line (`bench/auth_bench.py` reads it).

use std::time::Instant;

use keel_auth::ResourceKind;
use keel_auth::actions::find;
use keel_auth::assess::{Target, assess};
use keel_auth::grants::{Defaults, Grant, GrantType, Holdings};
use keel_auth::permission::Permission;
use keel_auth::policy::{PolicyEngine, PolicyPrincipal, PolicyResource, Query};

fn main() {
    let engine = PolicyEngine::new(None).expect("engine");
    let action = find("runs.update").expect("action");
    let principal = PolicyPrincipal {
        id: "42".into(),
        username: "alice".into(),
        is_admin: false,
        kind: "user",
        groups: vec!["ml-team".into()],
    };
    let resource = PolicyResource {
        kind: ResourceKind::Run,
        id: "0123456789abcdef0123456789abcdef".into(),
        parents: vec![
            (ResourceKind::Experiment, "17".into()),
            (ResourceKind::Workspace, "default".into()),
        ],
    };
    let holdings = Holdings::new(vec![
        Grant {
            resource_type: GrantType::Experiment,
            pattern: "17".into(),
            permission: Permission::Edit,
        },
        Grant {
            resource_type: GrantType::RegisteredModel,
            pattern: "*".into(),
            permission: Permission::Read,
        },
    ]);
    let defaults = Defaults::without_workspaces(Permission::NoPermissions);
    let target = Target::InExperiment {
        kind: GrantType::Run,
        experiment: "17",
    };
    let n = 200_000;
    let mut samples = Vec::with_capacity(n);
    let mut allowed = 0usize;
    for i in 0..n + 10_000 {
        let t0 = Instant::now();
        let assessment = assess(&holdings, target, defaults);
        let d = engine.decide(&Query {
            principal: &principal,
            action,
            resource: &resource,
            assessment,
            in_scope: true,
        });
        let dt = t0.elapsed();
        allowed += usize::from(d.allowed);
        if i >= 10_000 {
            samples.push(dt.as_nanos() as f64 / 1000.0);
        }
    }
    assert_eq!(allowed, n + 10_000, "every decision allows");
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "DECIDEJSON {{\"decisions\":{n},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"mean_us\":{:.2}}}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples.iter().sum::<f64>() / samples.len() as f64
    );
}
