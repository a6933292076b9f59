"""moto_server, with moto's CloudFormation AWS::ECS::TaskDefinition completed.

Started in place of `moto_server` (same arguments) by tests/e2e/template.test.mjs,
see tests/e2e/lib/cloudformation.mjs. Checked against moto 5.2.1.

Why: moto 5.2.1's TaskDefinition.create_from_cloudformation_json
(moto/ecs/models.py) passes only Family, ContainerDefinitions, Volumes and
Memory to register_task_definition and drops NetworkMode,
RequiresCompatibilities, Cpu, ExecutionRoleArn, TaskRoleArn, RuntimePlatform,
EphemeralStorage and Tags. A Fargate definition from a template then comes out
as networkMode "bridge", compatibilities ["EC2"], without roles, and the action
(rightly) ignores subnets for it. Here the same call gets every property the
API's RegisterTaskDefinition takes, with the API's camelCase keys, exactly as
moto's own RegisterTaskDefinition handler would pass them. Nothing else
changes.
"""

import sys

from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs import models


def _camel(value):
    return remap_nested_keys(value, pascal_to_camelcase)


def _as_string(value):
    return None if value is None else str(value)


def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    family = properties.get("Family", f"task-definition-{int(models.mock_random.random() * 10**6)}")
    tags = [{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])]
    return models.ecs_backends[account_id][region_name].register_task_definition(
        family=family,
        container_definitions=_camel(properties.get("ContainerDefinitions", [])),
        volumes=_camel(properties.get("Volumes", [])),
        network_mode=properties.get("NetworkMode"),
        tags=tags or None,
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=_as_string(properties.get("Cpu")),
        memory=_as_string(properties.get("Memory")),
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=_camel(properties.get("RuntimePlatform")),
        ephemeral_storage=_camel(properties.get("EphemeralStorage")),
    )


models.TaskDefinition.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
