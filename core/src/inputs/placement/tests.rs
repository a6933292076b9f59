use super::*;
use crate::inputs::tests::*;

#[test]
fn task_definition_forms() {
    for good in [
        "runner",
        "runner:12",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/runner:3",
        "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/r_1:1",
    ] {
        assert_eq!(ok(&[("task-definition", good)], &[]).task_definition, good);
    }
    for bad in [
        "runner:0",
        "runner:latest",
        "run.ner",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/runner",
        "arn:aws:ec2:us-east-1:123456789012:task-definition/runner:1",
        "arn:aws:ecs:us-east-1:1234:task-definition/runner:1",
    ] {
        let p = only(&[("task-definition", bad)], &[]);
        assert_eq!(p.input, "task-definition");
        says(
            &p,
            &[
                &show(bad),
                "family:revision",
                "task-definition/family:revision",
            ],
        );
    }
}

#[test]
fn cluster_input_then_environment_then_default() {
    assert_eq!(
        ok(&[("cluster", "ci")], &[("ECS_CLUSTER_NAME", "env")]).cluster,
        "ci"
    );
    assert_eq!(
        ok(&[], &[("ECS_CLUSTER_NAME", "env-cluster")]).cluster,
        "env-cluster"
    );
    let arn = "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/ci";
    assert_eq!(ok(&[("cluster", arn)], &[]).cluster, arn);
    let p = only(&[], &[("ECS_CLUSTER_NAME", "bad name")]);
    assert_eq!(p.input, "cluster");
    says(&p, &["'bad name'", "ECS_CLUSTER_NAME", "1 to 255"]);
    let p = only(
        &[("cluster", "arn:aws:ecs:us-west-2:123456789012:service/x")],
        &[],
    );
    says(&p, &["cluster/NAME"]);
}

#[test]
fn launch_type_values() {
    let p = only(&[("launch-type", "FARGATE_SPOT")], &[]);
    assert_eq!(p.input, "launch-type");
    says(
        &p,
        &[
            "'FARGATE_SPOT'",
            "FARGATE, EC2 or EXTERNAL",
            "capacity-provider-strategy",
        ],
    );
    let external = ok(&[("launch-type", "External")], &[]);
    assert_eq!(external.placement, Placement::LaunchType("EXTERNAL".into()));
}

#[test]
fn capacity_provider_strategy_entries() {
    let s = ok(
        &[(
            "capacity-provider-strategy",
            "FARGATE_SPOT:3:1, FARGATE:1\nmine",
        )],
        &[],
    );
    assert_eq!(
        s.placement,
        Placement::CapacityProviders(vec![
            CapacityProvider {
                provider: "FARGATE_SPOT".into(),
                weight: Some(3),
                base: Some(1)
            },
            CapacityProvider {
                provider: "FARGATE".into(),
                weight: Some(1),
                base: None
            },
            CapacityProvider {
                provider: "mine".into(),
                weight: None,
                base: None
            },
        ])
    );
    for bad in [
        "FARGATE:1001",
        "FARGATE:1:100001",
        "FARGATE:-1",
        "FARGATE:1:2:3",
        "FAR GATE:x",
        ":1",
    ] {
        let found = problems(&[("capacity-provider-strategy", bad)], &[]);
        let p = &found[0];
        assert_eq!(p.input, "capacity-provider-strategy");
        says(p, &["provider:weight:base", "0 to 1000", "0 to 100000"]);
    }
}

#[test]
fn capacity_provider_strategy_limits() {
    let p = only(&[("capacity-provider-strategy", "A:1:1 B:1:2")], &[]);
    says(&p, &["A, B", "only one"]);
    let p = only(&[("capacity-provider-strategy", "A:1 A:2")], &[]);
    says(&p, &["'A'", "twice"]);
    let many: Vec<String> = (0..21).map(|i| format!("p{i}")).collect();
    let p = only(&[("capacity-provider-strategy", &many.join(","))], &[]);
    says(&p, &["21", "at most 20"]);
}

#[test]
fn launch_type_and_strategy_are_exclusive() {
    let p = only(
        &[
            ("launch-type", "EC2"),
            ("capacity-provider-strategy", "FARGATE"),
        ],
        &[],
    );
    assert_eq!(p.input, "launch-type");
    says(&p, &["capacity-provider-strategy", "both"]);
}

#[test]
fn platform_version_forms() {
    assert_eq!(
        ok(&[("platform-version", "1.4.0")], &[])
            .platform_version
            .as_deref(),
        Some("1.4.0")
    );
    for bad in ["1.4", "v1.4.0", "1.x.0"] {
        let p = only(&[("platform-version", bad)], &[]);
        says(&p, &[&show(bad), "LATEST", "1.4.0"]);
    }
}

#[test]
fn fargate_needs_subnets_to_start() {
    for inputs in [
        vec![("subnets", "")],
        vec![
            ("subnets", ""),
            ("capacity-provider-strategy", "EC2CP:1,FARGATE_SPOT:1"),
        ],
    ] {
        let p = only(&inputs, &[]);
        assert_eq!(p.input, "subnets");
        says(&p, &["awsvpc", "subnets-tag", "ECS_SUBNETS"]);
    }
    // EC2 tasks may use bridge or host networking; stop and reap run none.
    assert_eq!(
        ok(&[("subnets", ""), ("launch-type", "EC2")], &[]).subnets,
        Lookup::None
    );
    for mode in ["stop", "reap"] {
        let s = ok(&[("subnets", ""), ("mode", mode)], &[("GITHUB_RUN_ID", "")]);
        assert_eq!(s.subnets, Lookup::None);
    }
    assert_eq!(
        ok(
            &[("subnets", ""), ("capacity-provider-strategy", "mine")],
            &[]
        )
        .subnets,
        Lookup::None
    );
}

#[test]
fn subnets_from_tag_or_environment() {
    let s = ok(
        &[("subnets", ""), ("subnets-tag", "Name: ci:runners ")],
        &[],
    );
    assert_eq!(
        s.subnets,
        Lookup::Tag {
            key: "Name".into(),
            value: "ci:runners".into()
        }
    );
    let s = ok(
        &[("subnets", "")],
        &[("ECS_SUBNETS", "subnet-01234567, subnet-89abcdef")],
    );
    assert_eq!(
        s.subnets,
        Lookup::Ids(vec!["subnet-01234567".into(), "subnet-89abcdef".into()])
    );
    // The input wins over the environment.
    let s = ok(&[], &[("ECS_SUBNETS", "subnet-01234567")]);
    assert_eq!(s.subnets, Lookup::Ids(vec![SUBNET.into()]));
    let p = only(&[("subnets", "")], &[("ECS_SUBNETS", "subnet-nothex1")]);
    assert_eq!(p.input, "subnets");
    says(&p, &["'subnet-nothex1'", "ECS_SUBNETS"]);
}

#[test]
fn subnet_ids_and_tags_are_checked() {
    for bad in [
        "subnet-0123456",
        "subnet-0123456789",
        "subnet-0123456789abcdef01",
        "subnet-0123456789ABCDEF0",
        "sg-01234567",
        "0123456789abcdef0",
    ] {
        let p = only(&[("subnets", bad)], &[]);
        assert_eq!(p.input, "subnets");
        says(&p, &[&show(bad), "subnet-", "8 or 17"]);
    }
    let p = only(&[("subnets-tag", "Name:x")], &[]);
    assert_eq!(p.input, "subnets");
    says(&p, &["subnets-tag", "both"]);
    for bad in ["Name", ":value"] {
        let p = only(
            &[
                ("subnets", ""),
                ("subnets-tag", bad),
                ("launch-type", "EC2"),
            ],
            &[],
        );
        assert_eq!(p.input, "subnets-tag");
        says(&p, &[&show(bad), "key:value"]);
    }
}

#[test]
fn repeated_ids_are_kept_once_and_counts_are_limited() {
    let s = ok(&[("subnets", &format!("{SUBNET} {SUBNET}"))], &[]);
    assert_eq!(s.subnets, Lookup::Ids(vec![SUBNET.into()]));
    let seventeen: Vec<String> = (0..17).map(|i| format!("subnet-{i:08x}")).collect();
    let p = only(&[("subnets", &seventeen.join(","))], &[]);
    says(&p, &["17", "at most 16"]);
    let six: Vec<String> = (0..6).map(|i| format!("sg-{i:017x}")).collect();
    let p = only(&[("security-groups", &six.join(" "))], &[]);
    assert_eq!(p.input, "security-groups");
    says(&p, &["6", "at most 5"]);
}

#[test]
fn security_groups_ids_tag_or_environment() {
    let s = ok(
        &[("security-groups", "sg-01234567 sg-0123456789abcdef0")],
        &[],
    );
    assert_eq!(
        s.security_groups,
        Lookup::Ids(vec!["sg-01234567".into(), "sg-0123456789abcdef0".into()])
    );
    let s = ok(&[("security-groups-tag", "role:runner")], &[]);
    assert_eq!(
        s.security_groups,
        Lookup::Tag {
            key: "role".into(),
            value: "runner".into()
        }
    );
    let s = ok(&[], &[("ECS_SECURITY_GROUPS", "sg-89abcdef")]);
    assert_eq!(s.security_groups, Lookup::Ids(vec!["sg-89abcdef".into()]));
    let p = only(&[("security-groups", "default")], &[]);
    says(&p, &["'default'", "security group id", "sg-"]);
    let p = only(
        &[
            ("security-groups", "sg-01234567"),
            ("security-groups-tag", "a:b"),
        ],
        &[],
    );
    assert_eq!(p.input, "security-groups");
}

#[test]
fn assign_public_ip_values() {
    for (raw, want) in [
        ("ENABLED", true),
        ("True", true),
        ("disabled", false),
        ("FALSE", false),
    ] {
        assert_eq!(
            ok(&[("assign-public-ip", raw)], &[]).assign_public_ip,
            want,
            "{raw}"
        );
    }
    let p = only(&[("assign-public-ip", "yes")], &[]);
    says(&p, &["'yes'", "ENABLED, DISABLED, true or false"]);
}

#[test]
fn container_name_rules() {
    assert_eq!(
        ok(&[("container-name", "runner_1")], &[])
            .container_name
            .as_deref(),
        Some("runner_1")
    );
    let p = only(&[("container-name", "run ner")], &[]);
    says(&p, &["'run ner'", "1 to 255"]);
}

#[test]
fn capacity_fallback_is_a_launch_type_or_a_strategy_other_than_the_placement() {
    let s = ok(
        &[
            ("capacity-provider-strategy", "FARGATE_SPOT:1"),
            ("capacity-fallback", "fargate"),
        ],
        &[],
    );
    assert_eq!(
        s.capacity_fallback,
        Some(Placement::LaunchType("FARGATE".into()))
    );
    let s = ok(&[("capacity-fallback", "FARGATE_SPOT:2,FARGATE:1:1")], &[]);
    assert_eq!(
        s.capacity_fallback,
        Some(Placement::CapacityProviders(vec![
            CapacityProvider {
                provider: "FARGATE_SPOT".into(),
                weight: Some(2),
                base: None
            },
            CapacityProvider {
                provider: "FARGATE".into(),
                weight: Some(1),
                base: Some(1)
            },
        ]))
    );
    let p = only(&[("capacity-fallback", "FARGATE")], &[]);
    assert_eq!(p.input, "capacity-fallback");
    says(&p, &["'FARGATE'", "already"]);
    let p = only(&[("capacity-fallback", "spot:x")], &[]);
    assert_eq!(p.input, "capacity-fallback");
    says(&p, &["'spot:x'", "provider:weight"]);
}
