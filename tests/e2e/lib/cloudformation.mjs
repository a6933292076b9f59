// Deploying aws/ecs-runner.yaml into moto: CloudFormation and IAM query API
// calls (straight to moto, unrecorded, like moto.mjs's seeding), and the
// moto_server that completes moto's AWS::ECS::TaskDefinition.
//
// ---------------------------------------------------------------------------
// What moto 5.2.1's CloudFormation does with the template (checked by
// deploying it with CreateStack and reading everything back; source:
// moto/cloudformation/parsing.py and each service's
// create_from_cloudformation_json):
// - CreateStack (Query API, Version 2010-05-15, SigV4 service
//   `cloudformation`, routed by the credential scope like every moto call)
//   creates every resource at once: DescribeStacks answers CREATE_COMPLETE
//   right away, with the Outputs resolved. Parameters of type
//   List<AWS::EC2::Subnet::Id> are split at commas; !Join gives them back.
//   DescribeStackResources lists a resource it did not create (Condition
//   false, or a type it lacks) as a member with only StackName, StackId,
//   Timestamp and ResourceStatus CREATE_COMPLETE; deployStack drops those.
// - AWS::IAM::OIDCProvider is NOT supported: moto warns and skips the
//   resource, and a !Ref to it resolves to nothing (the launching role's
//   trust policy then has `"Principal": {}`). The test therefore deploys with
//   CreateOidcProvider=false after creating the provider with IAM's
//   CreateOpenIDConnectProvider, which moto does support: the template's
//   path for an account that already has the provider.
// - AWS::ECS::TaskDefinition keeps only Family, ContainerDefinitions, Volumes
//   and Memory (networkMode comes out "bridge", no cpu, no roles), so
//   moto_server_cfn.py (beside this file) passes the rest on too. With it the
//   definition reads back as the template wrote it.
// - AWS::IAM::Role keeps RoleName, the trust policy and the inline Policies
//   (GetRolePolicy returns the document as Python's repr, single quotes), but
//   IGNORES ManagedPolicyArns: ListAttachedRolePolicies of the execution role
//   is empty.
// - AWS::EC2::SecurityGroup ignores SecurityGroupEgress (moto gives every
//   group the default allow-all IPv4 egress anyway) and keeps VpcId, the
//   description and Tags (plus the aws:cloudformation:* tags).
// - AWS::ECS::Cluster and AWS::Logs::LogGroup are created by name.
// - moto checks no IAM policy here (auth checking off). With it on
//   (tests/e2e/iam.test.mjs), moto treats every Condition as met and checks
//   actions against the resource `*` only, so the launching role's policy is
//   exercised there without its conditions and with widened resources.
// ---------------------------------------------------------------------------

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, accessSync, rmSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PATCHED_SERVER = path.join(HERE, 'moto_server_cfn.py');

/**
 * Puts a `moto_server` first on PATH (for this process and what it starts,
 * so startMoto picks it up) that runs moto_server_cfn.py with the Python of
 * the real moto_server. Call before starting the world; `dispose()` puts
 * PATH back and removes the shim.
 */
export function useMotoWithCfnTaskDefinitions() {
  const python = motoPython();
  const check = spawnSync(python[0], [...python.slice(1), '-c', 'import moto, sys; print(sys.executable, moto.__version__)'], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    throw new Error(`cannot import moto with ${python.join(' ')} (the Python of moto_server): ${check.stderr}`);
  }
  const [executable, version] = check.stdout.trim().split(/\s+/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ecs-runner-moto-cfn-'));
  const shim = path.join(dir, 'moto_server');
  // A Python script whose #! line names moto's Python, like the console
  // script pip writes, so whatever looks for "the Python of moto_server"
  // (aws-contract.mjs) still finds it.
  writeFileSync(
    shim,
    `#!${executable}\nimport runpy\nrunpy.run_path(${JSON.stringify(PATCHED_SERVER)}, run_name="__main__")\n`,
  );
  chmodSync(shim, 0o755);
  const before = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${before}`;
  const dispose = () => {
    process.env.PATH = before;
    rmSync(dir, { recursive: true, force: true });
  };
  return { python: executable, version, dispose };
}

/**
 * The interpreter (as argv words) of the first moto_server on PATH: from its
 * `#!` line when that names a Python (a pip or venv install), else `python3`
 * (a pyenv shim is a shell script). The caller asks it for its absolute path.
 */
function motoPython() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const first = readFileSync(candidate, 'utf8').split('\n', 1)[0];
    const words = first.startsWith('#!') ? first.slice(2).trim().split(/\s+/) : [];
    if (words.length > 0 && /python[\d.]*$/.test(path.basename(words.at(-1)))) return words;
    return ['python3'];
  }
  throw new Error('moto_server is not on PATH (tests/e2e/setup.sh ensure_moto installs it)');
}

/** A query-API call (form POST, XML answer) to moto; throws with `.code` on an error answer. */
export async function query(moto, { service, version, region = moto.region }, action, params = {}) {
  const res = await fetch(`${moto.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: version, ...params }).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) {
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    throw Object.assign(new Error(`${service} ${action}: ${code}: ${text.slice(0, 500)}`), { code, status: res.status });
  }
  return text;
}

const cloudformation = (moto, action, params) =>
  query(moto, { service: 'cloudformation', version: '2010-05-15' }, action, params);
/** IAM is global: moto serves it under us-east-1. */
export const iam = (moto, action, params) =>
  query(moto, { service: 'iam', version: '2010-05-08', region: 'us-east-1' }, action, params);

/**
 * CreateStack of `templateBody` with `parameters` ({key: value}) and
 * CAPABILITY_NAMED_IAM (the template names its roles), then DescribeStacks.
 * Resolves to {stackId, status, outputs: {key: value}, resources: [{logicalId,
 * physicalId, type}]}.
 */
export async function deployStack(moto, { stackName, templateBody, parameters }) {
  const params = { StackName: stackName, TemplateBody: templateBody, 'Capabilities.member.1': 'CAPABILITY_NAMED_IAM' };
  Object.entries(parameters).forEach(([key, value], i) => {
    params[`Parameters.member.${i + 1}.ParameterKey`] = key;
    params[`Parameters.member.${i + 1}.ParameterValue`] = value;
  });
  const created = await cloudformation(moto, 'CreateStack', params);
  const stackId = xmlText(created, 'StackId');
  const described = await cloudformation(moto, 'DescribeStacks', { StackName: stackName });
  const outputs = {};
  for (const m of described.matchAll(/<OutputKey>([^<]*)<\/OutputKey>\s*<OutputValue>([^<]*)<\/OutputValue>/g)) {
    outputs[unescapeXml(m[1])] = unescapeXml(m[2]);
  }
  const listed = await cloudformation(moto, 'DescribeStackResources', { StackName: stackName });
  const resources = [...listed.matchAll(/<member>([\s\S]*?)<\/member>/g)]
    .map(([, member]) => ({
      logicalId: xmlText(member, 'LogicalResourceId', null),
      physicalId: xmlText(member, 'PhysicalResourceId', null),
      type: xmlText(member, 'ResourceType', null),
    }))
    .filter((r) => r.logicalId !== null); // moto's empty member for a resource it did not create
  return { stackId, status: xmlText(described, 'StackStatus'), outputs, resources };
}

/** The text of the first <tag> in `xml`, XML entities undone; `fallback` (or a throw) when absent. */
export function xmlText(xml, tag, fallback) {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  if (m) return unescapeXml(m[1]);
  if (fallback !== undefined) return fallback;
  throw new Error(`no <${tag}> in ${xml.slice(0, 300)}`);
}

function unescapeXml(s) {
  return s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}
