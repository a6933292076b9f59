// aws/ecs-runner.yaml as the tests read it: parsed with CloudFormation's short
// tags, its intrinsic functions resolved for given parameters and a given
// account and region, and the README's policy for the launching role next to
// it. Used by tests/aws-template.test.mjs (template vs README) and
// tests/e2e/template.test.mjs (the template deployed into moto).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './action.mjs';

export const TEMPLATE_PATH = path.join(REPO_ROOT, 'aws/ecs-runner.yaml');
const README_PATH = path.join(REPO_ROOT, 'README.md');

/** The functions CloudFormation's YAML short form has (!Ref, !Sub, ...). */
const FUNCTIONS = ['Ref', 'Condition', 'Sub', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Join', 'Select', 'Split']
  .concat(['FindInMap', 'Base64', 'Cidr', 'GetAZs', 'ImportValue', 'Transform', 'ToJsonString', 'Length']);
const longName = (f) => (f === 'Ref' || f === 'Condition' ? f : `Fn::${f}`);
const CUSTOM_TAGS = FUNCTIONS.flatMap((f) => [
  { tag: `!${f}`, resolve: (s) => ({ [longName(f)]: f === 'GetAtt' ? s.split('.') : s }) },
  { tag: `!${f}`, collection: 'seq', resolve: (seq) => ({ [longName(f)]: seq.toJSON() }) },
  { tag: `!${f}`, collection: 'map', resolve: (map) => ({ [longName(f)]: map.toJSON() }) },
]);

export function templateText() {
  return readFileSync(TEMPLATE_PATH, 'utf8');
}

/** The template as JSON-shaped data, short tags in their long form ({"Fn::Sub": ...}). */
export function readTemplate(text = templateText()) {
  return parse(text, { customTags: CUSTOM_TAGS });
}

/**
 * The JSON block under the README's "IAM policy for the role that launches"
 * heading, parsed.
 */
export function readmeLauncherPolicy(readme = readFileSync(README_PATH, 'utf8')) {
  const heading = readme.indexOf('### IAM policy for the role that launches');
  if (heading < 0) throw new Error('README.md has no "### IAM policy for the role that launches" section');
  const block = /```json\n([\s\S]*?)```/.exec(readme.slice(heading));
  if (!block) throw new Error('no ```json block after "### IAM policy for the role that launches" in README.md');
  return JSON.parse(block[1]);
}

/**
 * What CloudFormation would make of `value` in `template`: Ref, Fn::Sub,
 * Fn::GetAtt, Fn::Join, Fn::If (with Fn::Equals, Fn::Not conditions).
 * `parameters` overrides the defaults; `account`, `region`, `partition` are
 * the pseudo parameters. A resource's Ref and Arn follow the CloudFormation
 * reference of its type (names below); anything else throws, so a template
 * change the tests cannot follow is noticed.
 */
export function resolver(template, { parameters = {}, account, region, partition = 'aws', stackName = 'ecs-runner' }) {
  const pseudo = {
    'AWS::AccountId': account,
    'AWS::Region': region,
    'AWS::Partition': partition,
    'AWS::StackName': stackName,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const params = {};
  for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
    const value = parameters[name] ?? spec.Default;
    if (value !== undefined) params[name] = String(value);
  }
  for (const name of Object.keys(parameters)) {
    if (!(name in params)) throw new Error(`template has no parameter ${name}`);
  }

  const resource = (logicalId) => {
    const r = template.Resources?.[logicalId];
    if (!r) throw new Error(`template has no resource ${logicalId}`);
    return r;
  };
  // Ref and GetAtt Arn of the resource types the template has
  // (CloudFormation user guide, each type's "Return values").
  const refOf = (logicalId) => {
    const r = resource(logicalId);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::ECS::Cluster':
        return resolve(p.ClusterName);
      case 'AWS::Logs::LogGroup':
        return resolve(p.LogGroupName);
      case 'AWS::IAM::Role':
        return resolve(p.RoleName);
      case 'AWS::IAM::OIDCProvider':
        return `arn:${partition}:iam::${account}:oidc-provider/${resolve(p.Url).replace(/^https:\/\//, '')}`;
      default:
        throw new Error(`no Ref for ${r.Type} (${logicalId}) in tests/e2e/lib/template.mjs`);
    }
  };
  const attOf = (logicalId, attribute) => {
    const r = resource(logicalId);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::ECS::Cluster.Arn':
        return `arn:${partition}:ecs:${region}:${account}:cluster/${refOf(logicalId)}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:${partition}:iam::${account}:role${resolve(r.Properties.Path ?? '/')}${refOf(logicalId)}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:${partition}:logs:${region}:${account}:log-group:${refOf(logicalId)}:*`;
      default:
        throw new Error(`no GetAtt ${key} (${logicalId}) in tests/e2e/lib/template.mjs`);
    }
  };
  const ref = (name) => {
    if (name in pseudo) return pseudo[name];
    if (name in params) {
      const type = template.Parameters[name].Type;
      return type.startsWith('List<') || type === 'CommaDelimitedList' ? params[name].split(',') : params[name];
    }
    return refOf(name);
  };
  const condition = (name) => {
    const c = template.Conditions?.[name];
    if (c === undefined) throw new Error(`template has no condition ${name}`);
    return truth(c);
  };
  const truth = (c) => {
    if ('Fn::Equals' in c) {
      const [a, b] = c['Fn::Equals'].map(resolve);
      return String(a) === String(b);
    }
    if ('Fn::Not' in c) return !truth(c['Fn::Not'][0]);
    if ('Condition' in c) return condition(c.Condition);
    throw new Error(`condition ${JSON.stringify(c)} not supported by tests/e2e/lib/template.mjs`);
  };

  function resolve(value) {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref':
          return ref(arg);
        case 'Fn::GetAtt':
          return attOf(arg[0], arg[1]);
        case 'Fn::Join':
          return resolve(arg[1]).join(arg[0]);
        case 'Fn::If':
          return resolve(condition(arg[0]) ? arg[1] : arg[2]);
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          return text.replace(/\$\{(!?)([^}]+)\}/g, (whole, literal, name) => {
            if (literal) return `\${${name}}`;
            if (name in vars) return String(resolve(vars[name]));
            if (!name.includes('.') || name.startsWith('AWS::')) return String(ref(name));
            const [logicalId, attribute] = name.split('.');
            return attOf(logicalId, attribute);
          });
        }
        default:
          throw new Error(`${fn} not supported by tests/e2e/lib/template.mjs`);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  }
  return { resolve, condition, parameters: params };
}

/** The launching role's inline policy documents in the template, by PolicyName. */
export function launcherPolicies(template) {
  const roles = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('AssumeRoleWithWebIdentity'),
  );
  if (roles.length !== 1) throw new Error(`expected one role trusted by web identity, found ${roles.length}`);
  const [logicalId, role] = roles[0];
  return { logicalId, role, policies: role.Properties.Policies ?? [] };
}
