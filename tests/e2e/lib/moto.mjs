// moto (the AWS emulator) for the end-to-end tests: start/stop, reset, seed,
// read back.
//
// ---------------------------------------------------------------------------
// What moto 5.2.1 does, for what we rely on. Checked by running moto_server
// 5.2.1 (python 3.11) with raw JSON 1.1 / EC2 query requests, and read in its
// source (moto/ecs/models.py, moto/ecs/responses.py,
// moto/moto_api/_internal/{managed_state_model,state_manager,responses}.py).
//
// Server
// - `moto_server -H 127.0.0.1 -p PORT`: /moto-api/ answers after ~0.6 s; the
//   first ECS call takes ~1.3 s more while the service loads.
// - Routing is by the credential scope in `Authorization`
//   (`Credential=AKID/DATE/<region>/<service>/aws4_request`), and the region is
//   taken from it too. With auth checking off (the default) a fake header
//   `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/<region>/ecs/aws4_request,
//   SignedHeaders=host, Signature=0` is enough; that is how we seed. A request
//   with no Authorization goes to S3 (answers ListAllMyBucketsResult).
// - `POST /moto-api/reset` -> 200 {"status":"ok"}: forgets every cluster, task,
//   task definition, VPC. Each region's default VPC (one default subnet per AZ
//   a/b/c, one default security group) is recreated WITH NEW IDS. Reset does
//   NOT reset the state manager: transitions are process-global, so set the
//   `ecs::task` transition again after each reset (`freshWorld` does).
// - Unknown ECS operation, and every Python exception below: HTTP 500 with an
//   HTML body (not JSON).
//
// ECS (JSON 1.1, X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>)
// - Errors: 400, header x-amzn-errortype, body {"__type": "<Name>", "message",
//   "Message"} (no `prefix#`). Errors raised by the EC2 backend inside ECS
//   calls carry only "Message" (capital M), e.g. RunTask with an unknown subnet:
//   400 {"__type":"InvalidSubnetID.NotFound","Message":"The subnet ID
//   'subnet-bogus' does not exist"}.
// - CreateCluster {clusterName}. There is no `default` cluster until created.
// - RegisterTaskDefinition: accepts a container without `memory`, but RunTask
//   of it is then a 500 (moto adds None to an int): every container needs
//   `memory` or `memoryReservation`. networkMode awsvpc, task cpu/memory and
//   requiresCompatibilities are echoed.
// - DescribeTaskDefinition {taskDefinition: family | family:rev | ARN} ->
//   {taskDefinition: {containerDefinitions[{name, image, memory, ...}], ...}};
//   unknown -> 400 ClientException "Unable to describe task definition."
// - RunTask reads cluster, taskDefinition, count, overrides, startedBy, tags,
//   launchType, networkConfiguration, group, platformVersion. It IGNORES
//   clientToken (no idempotency), capacityProviderStrategy, propagateTags,
//   enableExecuteCommand, and keeps no networkConfiguration on the task (so
//   assignPublicIp, subnets[1..] and the exact request are only visible in the
//   proxy's record, see aws-proxy.mjs).
//   - Only launchType FARGATE places tasks without EC2 instances. Any other
//     path -- launchType EC2/EXTERNAL, or NO launchType (i.e. a
//     capacityProviderStrategy alone) -- needs registered container instances,
//     else 500 ("No instances found in cluster", HTML). So capacity provider
//     tests can only check the recorded request (or intercept the answer).
//   - launchType not in EC2|FARGATE|EXTERNAL -> 400 InvalidParameterException.
//   - awsvpc without networkConfiguration -> 400 InvalidParameterException
//     "Network Configuration must be provided when networkMode 'awsvpc' is
//     specified."; an empty subnets list -> 500; an awsvpcConfiguration
//     without securityGroups -> 500 (real ECS then uses the VPC's default
//     security group; `securityGroups: []` works), so a test of a start
//     with subnets but no security groups has the proxy add that
//     (aws-proxy.mjs `forwardAs`).
//   - One ENI is created in subnets[0] with all securityGroups (unknown sg ids
//     are accepted); a subnet of a CreateVpc VPC needs ModifyVpcAttribute
//     EnableDnsHostnames=true first, else 500.
//   - Unknown cluster -> 400, x-amzn-errortype ClusterNotFoundException,
//     {"__type":"ClusterNotFoundException","message":"Cluster not found.",
//     "Message":"Cluster not found."} (the cluster is not named). Unknown task
//     definition -> 400 ClientException "Unable to describe task definition."
//   - Answer 200 {"tasks":[...], "failures":[]}; failures is always empty.
//   - A task: taskArn arn:aws:ecs:<region>:123456789012:task/<cluster>/<uuid>,
//     clusterArn, taskDefinitionArn, lastStatus (see the state manager below),
//     desiredStatus "RUNNING", stoppedReason "", NO stopCode, NO
//     createdAt/startedAt/stoppingAt/stoppedAt, launchType, platformVersion (as
//     sent, absent if not), startedBy, group "family:<family>", overrides and
//     tags echoed exactly as sent, attachments [{id, type
//     "ElasticNetworkInterface", status "ATTACHED", details [subnetId,
//     networkInterfaceId, macAddress, privateDnsName, privateIPv4Address]}].
//     privateIPv4Address is a random 10.x.x.x, not inside the subnet.
//     containers[] has ONE entry, for the FIRST container definition only
//     (even with two), lastStatus "PENDING" forever, exitCode 0,
//     networkInterfaces [] always, and its taskArn wrongly holds the task
//     definition ARN.
// - DescribeTasks {cluster, tasks: [arn or id], include: ["TAGS"]} -> tags only
//   with include TAGS. Unknown task -> 200 {"tasks":[], "failures":[]} (never a
//   MISSING failure). Unknown cluster -> 400 ClusterNotFoundException. EACH
//   DescribeTasks of a task ticks its state machine (see below): reading tasks
//   back in a test changes what the action would see next. It matches loosely
//   (describe_tasks in moto/ecs/models.py): a task is returned when its ARN is
//   an entry, or its id is a SUBSTRING of any entry, in any cluster; so
//   `tasks: ["arn1,\n id2"]` returns both tasks. A test of how the action
//   splits a list of tasks must check the request, not moto's answer.
// - ListTasks {cluster, startedBy, desiredStatus, family} filters exactly
//   (startedBy by equality); returns ARNs; does not tick the state machine.
//   Unknown cluster -> 400 ClusterNotFoundException.
// - StopTask {cluster, task, reason} -> {task}: lastStatus and desiredStatus
//   STOPPED at once, stoppedReason = reason (the ONLY way to set it), still no
//   stopCode. Stopping a stopped task again: 200. Unknown task: 500 (HTML).
// - ListTagsForResource on a task ARN returns [] even for a tagged task (use
//   DescribeTasks include TAGS).
//
// EC2 query API (Version 2016-11-15, form POST, XML answers)
// - DescribeSubnets / DescribeSecurityGroups with Filter.1.Name=tag:KEY,
//   Filter.1.Value.1=VALUE work; no match -> 200 with an empty <subnetSet/> /
//   <securityGroupInfo/>. Unknown SubnetId.1 -> 400 <Response><Errors><Error>
//   <Code>InvalidSubnetID.NotFound</Code>. An unsupported filter name -> 500.
// - CreateVpc, ModifyVpcAttribute (EnableDnsHostnames.Value=true),
//   CreateSubnet (VpcId, CidrBlock, AvailabilityZone), CreateSecurityGroup
//   (GroupName, GroupDescription, VpcId -> <groupId>), CreateTags
//   (ResourceId.N, Tag.N.Key, Tag.N.Value) all work.
//
// Task definitions (what the `image` tests rely on; checked against 5.2.1)
// - RegisterTaskDefinition echoes family, networkMode, requiresCompatibilities,
//   cpu/memory (strings), runtimePlatform, executionRoleArn/taskRoleArn,
//   ephemeralStorage, volumes and each container's logConfiguration and
//   mountPoints; it keeps `tags` (read back by DescribeTaskDefinition with
//   include ["TAGS"], answer field `tags`) but does not return them itself.
//   Revisions count up from 1 per family (max existing + 1).
// - NO registeredAt (nor registeredBy/deregisteredAt) on any task definition:
//   a test that needs an age adds it with a proxy rewrite, as reap's tests do
//   for a task's createdAt.
// - DescribeTaskDefinition {taskDefinition: family} returns the HIGHEST
//   revision even when it is INACTIVE (real ECS: the latest ACTIVE one).
//   Unknown family or revision, or a deleted one: 400 ClientException "Unable
//   to describe task definition.".
// - DeregisterTaskDefinition {taskDefinition: family:rev | ARN} -> status
//   INACTIVE (a family alone: 400 ClientException "Revision is missing.").
//   ListTaskDefinitions {familyPrefix, status} matches the family exactly,
//   ACTIVE by default.
// - DeleteTaskDefinitions {taskDefinitions: [1..10 family:rev | ARN]}: an
//   ACTIVE one is a failure ("still in ACTIVE status"), an INACTIVE one is
//   removed at once (answered with status DELETE_IN_PROGRESS; afterwards
//   DescribeTaskDefinition of it is 400 and no ListTaskDefinitions lists it).
//
// CloudWatch Logs (JSON 1.1, X-Amz-Target Logs_20140328.<Op>, SigV4 service
// `logs`, routed like ECS by the credential scope)
// - CreateLogGroup (again: 400 ResourceAlreadyExistsException),
//   CreateLogStream, PutLogEvents {logEvents: [{timestamp ms, message}]} (no
//   sequence token needed) work.
// - GetLogEvents {logGroupName, logStreamName, limit, startFromHead: false}
//   returns the LAST `limit` events, oldest first, as real CloudWatch does.
//   An unknown stream (or group): 400 ResourceNotFoundException, whose message
//   says "log group" even for a missing stream.
//
// State manager (task lifecycle)
// - moto's task transitions are RUNNING -> DEACTIVATING -> STOPPING ->
//   DEPROVISIONING -> STOPPED. A task is created RUNNING: moto NEVER shows
//   PROVISIONING, PENDING or ACTIVATING.
// - `POST /moto-api/state-manager/set-transition` {"model_name":"ecs::task",
//   "transition": {...}} -> 201; `unset-transition` {"model_name"} -> 201;
//   `GET get-transition?model_name=ecs::task`.
// - lastStatus seen (RunTask answer; 1st, 2nd, 3rd, 4th DescribeTasks):
//     default (= manual, times 1):   RUNNING; DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED
//     manual, times 1000000:         RUNNING; RUNNING, RUNNING, RUNNING, RUNNING ...
//     manual, times 0:               DEACTIVATING; STOPPING, DEPROVISIONING, STOPPED, STOPPED
//     immediate:                     STOPPED; STOPPED, STOPPED, ...
//     time, seconds N:               RUNNING until N s after creation; then a read
//                                    moves it ONE step if N s passed since the last
//                                    step (so one step per read at most)
//   desiredStatus stays "RUNNING" throughout (only StopTask changes it), and
//   stoppedReason stays "", with no stopCode.
// - So "STOPPED without ever being seen RUNNING" IS possible: `immediate`
//   makes the RunTask answer itself say lastStatus STOPPED (and every later
//   DescribeTasks). But moto cannot give such a task a stopCode at all, nor a
//   stoppedReason (StopTask is the only way to set one, and would race the
//   action). For the reason text, the tests run moto `immediate` and let the
//   proxy add stopCode/stoppedReason to moto's STOPPED tasks (aws-proxy.mjs
//   `rewrite`), which is exactly how real ECS reports a failed image pull.
//   `manual, times 0` shows DEACTIVATING/STOPPING/DEPROVISIONING before STOPPED
//   (never RUNNING), states real ECS only shows after RUNNING.
//
// Signatures and IAM (startMoto `authFreeCalls`; moto/core/authorization.py,
// moto/iam/access_control.py, moto/iam/policy_conditions.py; checked against
// moto_server 5.2.1)
// - Env INITIAL_NO_AUTH_ACTION_COUNT=N: moto answers its first N service
//   calls (any service; /moto-api/ calls do not count) without checking
//   anything; from call N+1 on it checks every call. Unset (the default)
//   means never. The harness seeds with the free calls (fake scope), creates
//   IAM users and keys (CreateUser, PutUserPolicy, CreateAccessKey: key ids
//   AKIA...), spends what is left (`spendFreeCalls`), then signs its own
//   calls with a key of its own (`signAs`). `POST /moto-api/reset` forgets
//   the users too, so a test file with auth keeps its world (no reset).
// - Checked: the SigV4 signature, recomputed with botocore for the key's
//   secret; an unknown key -> 403 InvalidClientTokenId (EC2: 401
//   AuthFailure); a wrong signature -> 403 SignatureDoesNotMatch (EC2: 401
//   AuthFailure); an IAM user key sent with X-Amz-Security-Token -> 403
//   InvalidClientTokenId. A form POST (EC2, IAM) is verified over the form
//   moto parsed, encoded again as Python's urlencode does, not over the
//   bytes sent: the client must encode that way (`formEncode`).
// - Then the policy: the caller's inline and attached policies (and its
//   groups') must allow `<credential-scope service>:<operation>`, e.g.
//   ecs:RunTask, ec2:DescribeSubnets, logs:GetLogEvents; else 403
//   AccessDenied "User: arn:aws:iam::123456789012:user/NAME is not authorized
//   to perform: ecs:RunTask" (no resource named). Every refusal is XML,
//   `<ErrorResponse><Errors><Error><Code>..<Message>..`, even from ECS and
//   Logs (JSON services), with no x-amzn-errortype header.
// - Only the action a call is named for is checked: not iam:PassRole for
//   RegisterTaskDefinition or RunTask with roles, not ecs:TagResource for
//   RunTask with tags (real AWS checks both).
// - ECS, EC2 and Logs actions are checked against the resource "*": a
//   statement whose Resource is an ARN (even with wildcards) never matches,
//   so it allows nothing (and denies nothing).
// - Conditions are not evaluated: only StringEquals is known, and it is
//   compared with request values moto never collects for these services, so
//   every Condition counts as met (an Allow with a condition that would not
//   hold still allows; a Deny with one still denies).
// ---------------------------------------------------------------------------

import { spawn } from 'node:child_process';
import net from 'node:net';
import { startAwsProxy, HARNESS_ACCESS_KEY_ID } from './aws-proxy.mjs';
import { signedHeaders } from './sigv4-sign.mjs';

const ECS_TARGET = 'AmazonEC2ContainerServiceV20141113.';
const LOGS_TARGET = 'Logs_20140328.';
const EC2_VERSION = '2016-11-15';
const IAM_VERSION = '2010-05-08';

/** Children still running, killed if the test process exits without `stop()`. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto_server on a free port plus the recording proxy in front of it.
 * `moto.url` is moto itself (seeding and read-back go there, unrecorded);
 * `moto.endpoint` is the proxy, for the action's AWS_ENDPOINT_URL.
 * `credentials` maps access key id -> secret, for signature checks.
 * `contract: false` leaves out the AWS request contract (aws-contract.mjs).
 * `authFreeCalls: N` starts a moto that checks signatures and IAM policies
 * after its first N calls (INITIAL_NO_AUTH_ACTION_COUNT, see "Signatures and
 * IAM" above); without it (the default) moto checks neither, ever.
 */
export async function startMoto({
  region = 'eu-west-1',
  credentials = {},
  readyTimeoutMs = 30_000,
  contract = true,
  authFreeCalls = null,
} = {}) {
  if (authFreeCalls !== null && !(Number.isInteger(authFreeCalls) && authFreeCalls >= 0)) {
    throw new Error(`authFreeCalls must be a whole number >= 0, not ${authFreeCalls}`);
  }
  const port = await freePort();
  // moto reads no AWS_* variables we need; keep the host's out of it.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true' };
  if (authFreeCalls !== null) env.INITIAL_NO_AUTH_ACTION_COUNT = String(authFreeCalls);
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stop() also ends anything it forks
  });
  running.add(child);
  let log = '';
  const keep = (c) => {
    log = (log + c.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', (e) => keep(`spawn error: ${e.message}\n`));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(`moto_server exited before it was ready:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/moto-api/state-manager/get-transition?model_name=ecs::task`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child, 'SIGKILL');
      running.delete(child);
      throw new Error(`moto_server not ready after ${readyTimeoutMs} ms:\n${log}`);
    }
    await sleep(150);
  }

  let proxy;
  try {
    proxy = await startAwsProxy({ upstream: url, credentials, contract });
  } catch (error) {
    killGroup(child, 'SIGKILL');
    running.delete(child);
    throw error;
  }
  return new Moto({ url, region, child, exited, proxy, log: () => log, authFreeCalls });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Moto {
  /** The key the harness's own calls are signed with (`signAs`); null: the fake scope. */
  #signer = null;

  constructor({ url, region, child, exited, proxy, log, authFreeCalls = null }) {
    this.url = url;
    this.region = region;
    this.child = child;
    this.exited = exited;
    this.proxy = proxy;
    this.log = log;
    /** startMoto's `authFreeCalls`: null when moto checks no signature or policy. */
    this.authFreeCalls = authFreeCalls;
  }

  /** The URL the action must use (AWS_ENDPOINT_URL): the recording proxy. */
  get endpoint() {
    return this.proxy.url;
  }

  /** Stops the proxy and moto (SIGTERM, then SIGKILL after 3 s). */
  async stop() {
    await this.proxy.close().catch(() => {});
    if (this.child.exitCode === null && this.child.signalCode === null) {
      killGroup(this.child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), 3_000);
      await this.exited;
      clearTimeout(timer);
    }
    running.delete(this.child);
  }

  // --- signatures and IAM (startMoto `authFreeCalls`) ----------------------

  /**
   * Signs the harness's own calls from now on (seeding, read-back, `iam`)
   * with `{accessKeyId, secretAccessKey}`, a key moto issued (CreateAccessKey
   * while calls were free): what a moto that checks signatures needs. `null`
   * goes back to the fake scope.
   */
  signAs(credentials) {
    this.#signer = credentials;
  }

  /**
   * Spends the free calls moto has left (each with the fake scope, which
   * moto accepts only while calls are free) until it refuses one as
   * InvalidClientTokenId: from then on moto checks the signature and the IAM
   * policy of every call. Resolves to the number of free calls spent. Throws
   * when this moto checks nothing (no `authFreeCalls`), or still accepts the
   * fake scope after `authFreeCalls` calls.
   */
  async spendFreeCalls() {
    if (this.authFreeCalls === null) throw new Error('this moto checks no signatures: start it with authFreeCalls');
    for (let spent = 0; spent <= this.authFreeCalls; spent++) {
      const res = await fetch(`${this.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `${ECS_TARGET}ListClusters`,
          authorization: fakeAuthorization(this.region, 'ecs'),
        },
        body: '{}',
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      if (res.ok) continue;
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
      if (res.status === 403 && code === 'InvalidClientTokenId') return spent;
      throw new Error(`moto refused a free call with HTTP ${res.status} ${text.slice(0, 300)}`);
    }
    throw new Error(`moto still accepts unsigned calls after authFreeCalls (${this.authFreeCalls}) of them`);
  }

  /** An IAM query API call (IAM is global: moto serves it under us-east-1); the XML answer, or throws with `.code`. */
  async iam(action, params = {}) {
    return this.#query('iam', IAM_VERSION, 'us-east-1', action, params);
  }

  /**
   * The headers of a harness call: `headers` plus the fake scope's
   * Authorization, or a real SigV4 signature after `signAs`.
   */
  #signed(region, service, headers, body) {
    if (!this.#signer) return { ...headers, authorization: fakeAuthorization(region, service) };
    return signedHeaders({ url: this.url, region, service, headers, body, ...this.#signer });
  }

  // --- moto-api ---------------------------------------------------------

  async reset() {
    await this.#motoApi('/moto-api/reset', {});
    this.proxy.clear();
  }

  /** e.g. {progression: 'manual', times: 1000000} or {progression: 'immediate'}. */
  async setTaskTransition(transition) {
    await this.#motoApi('/moto-api/state-manager/set-transition', { model_name: 'ecs::task', transition });
  }

  async #motoApi(path, body) {
    const res = await fetch(this.url + path, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`moto ${path}: HTTP ${res.status} ${await res.text()}`);
  }

  // --- raw calls (unrecorded: straight to moto) -------------------------

  /** An ECS JSON 1.1 call. Resolves to the answer, or throws an Error with `.type`/`.status`. */
  async ecs(operation, body = {}, region = this.region) {
    return this.#json('ecs', ECS_TARGET, 'ECS', operation, body, region);
  }

  /** A CloudWatch Logs JSON 1.1 call; errors as for `ecs`. */
  async logs(operation, body = {}, region = this.region) {
    return this.#json('logs', LOGS_TARGET, 'Logs', operation, body, region);
  }

  async #json(service, targetPrefix, what, operation, body, region) {
    const payload = JSON.stringify(body);
    const res = await fetch(`${this.url}/`, {
      method: 'POST',
      headers: this.#signed(
        region,
        service,
        { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': targetPrefix + operation },
        payload,
      ),
      body: payload,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let type = `HTTP ${res.status}`;
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text);
        type = parsed.__type ?? type;
        message = parsed.message ?? parsed.Message ?? message;
      } catch {
        // moto's 500s are HTML; its signature and IAM refusals XML
        type = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? type;
        message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? message;
      }
      throw Object.assign(new Error(`${what} ${operation}: ${type}: ${message}`), { type, status: res.status });
    }
    return text ? JSON.parse(text) : {};
  }

  /** An EC2 query API call. Resolves to the XML text, or throws with `.code`. */
  async ec2(action, params = {}, region = this.region) {
    return this.#query('ec2', EC2_VERSION, region, action, params);
  }

  async #query(service, version, region, action, params) {
    const form = formEncode({ Action: action, Version: version, ...params });
    const res = await fetch(`${this.url}/`, {
      method: 'POST',
      headers: this.#signed(region, service, { 'content-type': 'application/x-www-form-urlencoded' }, form),
      body: form,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (!res.ok) {
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
      throw Object.assign(new Error(`${service.toUpperCase()} ${action}: ${code}: ${text.slice(0, 300)}`), { code, status: res.status });
    }
    return text;
  }

  // --- seeding ------------------------------------------------------------

  /**
   * A clean moto with what most tests need: transition `manual` times 1e6
   * (tasks stay RUNNING), cluster `runners`, task definitions `gh-runner` (one
   * container `runner`) and `gh-runner-sidecar` (`sidecar` then `runner`), and
   * a network tagged `placement=ecs` (see `seedNetwork`). Returns the seeds.
   */
  async freshWorld({ cluster = 'runners', transition = { progression: 'manual', times: 1_000_000 } } = {}) {
    await this.reset();
    await this.setTaskTransition(transition);
    await this.createCluster(cluster);
    const runnerTaskDefinition = await this.registerRunnerTaskDefinition();
    const sidecarTaskDefinition = await this.registerTaskDefinition('gh-runner-sidecar', [
      { name: 'sidecar', image: 'public.ecr.aws/docker/library/busybox:latest', memory: 128 },
      { name: 'runner', image: 'ghcr.io/actions/actions-runner:latest', memory: 1024 },
    ]);
    const network = await this.seedNetwork();
    return { cluster, runnerTaskDefinition, sidecarTaskDefinition, network };
  }

  async createCluster(name) {
    return (await this.ecs('CreateCluster', { clusterName: name })).cluster;
  }

  /** An awsvpc Fargate task definition; every container gets `memory` (moto needs it). */
  async registerTaskDefinition(family, containers) {
    const answer = await this.ecs('RegisterTaskDefinition', {
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      containerDefinitions: containers.map((c) => ({ essential: true, memory: 512, ...c })),
    });
    return answer.taskDefinition;
  }

  /** `gh-runner`: the stock runner image, one container `runner`. */
  async registerRunnerTaskDefinition(family = 'gh-runner') {
    return this.registerTaskDefinition(family, [
      { name: 'runner', image: 'ghcr.io/actions/actions-runner:latest', command: ['/home/runner/run.sh'], memory: 2048 },
    ]);
  }

  /**
   * A VPC with two subnets and one security group tagged `key=value`, plus a
   * decoy subnet and security group with the same key but another value (they
   * must NOT be used). Returns {vpcId, subnets, securityGroups, decoySubnet,
   * decoySecurityGroup, securityGroupNames}.
   */
  async seedNetwork({ key = 'placement', value = 'ecs' } = {}) {
    const vpcXml = await this.ec2('CreateVpc', { CidrBlock: '10.77.0.0/16' });
    const vpcId = xmlValue(vpcXml, 'vpcId');
    // Without this moto's RunTask in the VPC's subnets is a 500 (see above).
    await this.ec2('ModifyVpcAttribute', { VpcId: vpcId, 'EnableDnsHostnames.Value': 'true' });
    const subnet = async (cidr, az) =>
      xmlValue(
        await this.ec2('CreateSubnet', { VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: `${this.region}${az}` }),
        'subnetId',
      );
    const group = async (name) =>
      xmlValue(
        await this.ec2('CreateSecurityGroup', { GroupName: name, GroupDescription: `e2e ${name}`, VpcId: vpcId }),
        'groupId',
      );
    const subnets = [await subnet('10.77.1.0/24', 'a'), await subnet('10.77.2.0/24', 'b')];
    const decoySubnet = await subnet('10.77.3.0/24', 'c');
    const securityGroupNames = ['runners-egress'];
    const securityGroups = [await group(securityGroupNames[0])];
    const decoySecurityGroup = await group('not-for-runners');
    await this.tag([...subnets, ...securityGroups], { [key]: value });
    await this.tag([decoySubnet, decoySecurityGroup], { [key]: `not-${value}` });
    return { vpcId, subnets, securityGroups, securityGroupNames, decoySubnet, decoySecurityGroup };
  }

  async tag(resourceIds, tags) {
    const params = {};
    resourceIds.forEach((id, i) => {
      params[`ResourceId.${i + 1}`] = id;
    });
    Object.entries(tags).forEach(([k, v], i) => {
      params[`Tag.${i + 1}.Key`] = k;
      params[`Tag.${i + 1}.Value`] = v;
    });
    await this.ec2('CreateTags', params);
  }

  /** Subnet ids with tag `key=value`, as the action should find them. */
  async subnetIdsTagged(key, value) {
    const xml = await this.ec2('DescribeSubnets', { 'Filter.1.Name': `tag:${key}`, 'Filter.1.Value.1': value });
    return xmlValues(xml, 'subnetId');
  }

  /** Security group ids (not names) with tag `key=value`. */
  async securityGroupIdsTagged(key, value) {
    const xml = await this.ec2('DescribeSecurityGroups', { 'Filter.1.Name': `tag:${key}`, 'Filter.1.Value.1': value });
    return xmlValues(xml, 'groupId');
  }

  /**
   * Writes `messages` as the events of `stream` in `group` (both created if
   * need be), one millisecond apart, ending now: what the awslogs driver of
   * a task would have written.
   */
  async writeLog(group, stream, messages) {
    try {
      await this.logs('CreateLogGroup', { logGroupName: group });
    } catch (error) {
      if (error.type !== 'ResourceAlreadyExistsException') throw error;
    }
    await this.logs('CreateLogStream', { logGroupName: group, logStreamName: stream });
    const end = Date.now();
    const logEvents = messages.map((message, i) => ({ timestamp: end - messages.length + 1 + i, message }));
    if (logEvents.length > 0) await this.logs('PutLogEvents', { logGroupName: group, logStreamName: stream, logEvents });
  }

  // --- reading back what the action started --------------------------------

  /** Task ARNs in `cluster` (optionally filtered by startedBy/desiredStatus). Does not tick states. */
  async listTaskArns(cluster, { startedBy, desiredStatus } = {}) {
    const body = { cluster };
    if (startedBy) body.startedBy = startedBy;
    if (desiredStatus) body.desiredStatus = desiredStatus;
    return (await this.ecs('ListTasks', body)).taskArns;
  }

  /**
   * Every task of `cluster`, described with TAGS and simplified (see
   * `summarizeTask`). NOTE: DescribeTasks ticks moto's state machine; call it
   * after the action has finished.
   */
  async tasks(cluster, filters = {}) {
    const arns = await this.listTaskArns(cluster, filters);
    if (arns.length === 0) return [];
    const answer = await this.ecs('DescribeTasks', { cluster, tasks: arns, include: ['TAGS'] });
    return answer.tasks.map(summarizeTask);
  }

  /**
   * Every revision of `family` that still exists (ACTIVE and INACTIVE; a
   * deleted one is gone), by revision: {arn, revision, status, spec (the
   * ecs-runner:spec tag), tags: {k: v}, raw}.
   */
  async taskDefinitionRevisions(family) {
    const arns = [];
    for (const status of ['ACTIVE', 'INACTIVE']) {
      arns.push(...(await this.ecs('ListTaskDefinitions', { familyPrefix: family, status })).taskDefinitionArns);
    }
    const out = [];
    for (const arn of arns) {
      const answer = await this.ecs('DescribeTaskDefinition', { taskDefinition: arn, include: ['TAGS'] });
      const tags = Object.fromEntries((answer.tags ?? []).map((t) => [t.key, t.value]));
      const td = answer.taskDefinition;
      out.push({ arn, revision: td.revision, status: td.status, spec: tags['ecs-runner:spec'], tags, raw: td });
    }
    return out.sort((a, b) => a.revision - b.revision);
  }

  /** Tasks in every cluster moto knows (for "nothing was started anywhere"). */
  async allTasks() {
    const { clusterArns } = await this.ecs('ListClusters', {});
    const all = [];
    for (const arn of clusterArns) all.push(...(await this.tasks(arn)));
    return all;
  }
}

/**
 * A task as tests want to look at it: {arn, id, cluster, lastStatus,
 * desiredStatus, stoppedReason, startedBy, launchType, platformVersion,
 * taskDefinitionArn, tags: {k: v}, env: {container: {NAME: value}},
 * overrides (raw), ip, subnetId, eniId, raw}.
 */
export function summarizeTask(task) {
  const eni = (task.attachments ?? []).find((a) => a.type === 'ElasticNetworkInterface');
  const detail = (name) => eni?.details?.find((d) => d.name === name)?.value;
  const env = {};
  for (const o of task.overrides?.containerOverrides ?? []) {
    env[o.name] = Object.fromEntries((o.environment ?? []).map((e) => [e.name, e.value]));
  }
  return {
    arn: task.taskArn,
    id: task.taskArn.split('/').pop(),
    cluster: task.clusterArn?.split('/').pop(),
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    stoppedReason: task.stoppedReason,
    startedBy: task.startedBy,
    launchType: task.launchType,
    platformVersion: task.platformVersion,
    taskDefinitionArn: task.taskDefinitionArn,
    tags: Object.fromEntries((task.tags ?? []).map((t) => [t.key, t.value])),
    env,
    overrides: task.overrides,
    ip: detail('privateIPv4Address'),
    subnetId: detail('subnetId'),
    eniId: detail('networkInterfaceId'),
    raw: task,
  };
}

/**
 * moto routes by this scope; the signature itself is not checked (auth off).
 * The proxy exempts this key from the request contract (aws-proxy.mjs).
 */
function fakeAuthorization(region, service) {
  return `AWS4-HMAC-SHA256 Credential=${HARNESS_ACCESS_KEY_ID}/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/**
 * A form body encoded as Python's urlencode does (quote_plus: every byte but
 * letters, digits and `_.-~` percent-encoded, a space as `+`). moto verifies
 * the signature of a form POST over the form it parsed, encoded again that
 * way (botocore's AWSRequest), not over the bytes sent; URLSearchParams
 * leaves `*!'()` as they are, so a policy document signed in its encoding
 * would not verify.
 */
function formEncode(params) {
  const encode = (s) =>
    encodeURIComponent(String(s))
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return Object.entries(params)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
}

function xmlValue(xml, tag) {
  const v = xmlValues(xml, tag)[0];
  if (!v) throw new Error(`no <${tag}> in ${xml.slice(0, 300)}`);
  return v;
}

function xmlValues(xml, tag) {
  // Deduplicated: a security group that references itself repeats its groupId.
  return [...new Set([...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]))];
}
