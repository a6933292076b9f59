// A stand-in of the stock runner image, ghcr.io/actions/actions-runner, that
// RUNS what a started task would run: the task's effective runner container
// (the task definition's container with the RunTask overrides applied), with
// this machine's bash and sh, under `unshare` (own mount, UTS and PID
// namespaces) with a temporary directory bind-mounted over /home, so that
// /home/runner holds stand-ins of the image's runner files. Nothing is created
// in the real /home. It needs root (to unshare and to drop to the image's
// user, uid 1001).
//
// Built from the actions/runner source (github.com/actions/runner, read
// 2026-12 at v2.336.0); behaviour modelled, code not copied:
//   images/Dockerfile              USER runner (uid 1001, in group docker 123),
//                                  WORKDIR /home/runner, no ENTRYPOINT and no CMD,
//                                  ENV RUNNER_MANUALLY_TRAP_SIG=1,
//                                  ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT=1,
//                                  ImageOS=ubuntu24, DEBIAN_FRONTEND=noninteractive;
//                                  /home/runner is mode 777, its files runner:docker
//   src/Misc/layoutroot/run.sh     copies run-helper.sh.template to run-helper.sh
//                                  and runs it with $* (unquoted) in a loop: 2 ->
//                                  "Restarting runner..."; else "Exiting runner...";
//                                  with RUNNER_MANUALLY_TRAP_SIG the helper runs as
//                                  a job (INT/TERM passed on as INT) and its code is
//                                  run.sh's; without, run.sh exits 0
//   src/Misc/layoutroot/run-helper.sh.template  refuses root without
//                                  RUNNER_ALLOW_RUNASROOT; RUNNER_WAIT_FOR_DOCKER_
//                                  IN_SECONDS; `bin/Runner.Listener run $*`; exit
//                                  codes 0 -> 0, 1 -> 0, 2 -> 2 after 5 s, 3/4 -> 2
//                                  (after waiting for update.finished), 5 -> 0,
//                                  7 -> 7 only with ACTIONS_RUNNER_RETURN_VERSION_
//                                  DEPRECATED_EXIT_CODE=1, any other -> 0
//   src/Misc/layoutroot/config.sh  refuses root without RUNNER_ALLOW_RUNASROOT,
//                                  (checks .NET's libraries with ldd: nothing to
//                                  check here), cd to its directory, `remove` ->
//                                  Runner.Listener "$@", else Runner.Listener
//                                  configure "$@"
//   bin/Runner.Listener            runner-listener.mjs (see its header)
//
// What the model cannot do (no network to GitHub) is listed in
// runner-listener.mjs; its own lines start with "[stand-in]".

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, chmod, readFile, copyFile, chown, readdir, lstat } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE24 } from './action.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LISTENER = path.join(HERE, 'runner-listener.mjs');

/** The stock image's repository, with a tag or a digest. */
export const STOCK_IMAGE = /^ghcr\.io\/actions\/actions-runner(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?$/;

/** images/Dockerfile: what the image itself gives a container. */
export const IMAGE_CONFIG = Object.freeze({
  user: 'runner',
  workingDir: '/home/runner',
  entrypoint: null,
  cmd: null,
  env: Object.freeze({
    // Docker's default PATH (the Dockerfile sets none of its own)
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    DEBIAN_FRONTEND: 'noninteractive',
    RUNNER_MANUALLY_TRAP_SIG: '1',
    ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT: '1',
    ImageOS: 'ubuntu24',
  }),
});

/** The image's users: adduser --uid 1001 runner (its own group 1001), in docker (123). */
const USERS = { runner: { uid: 1001, gid: 1001, groups: [123], home: '/home/runner' }, root: { uid: 0, gid: 0, groups: [], home: '/root' } };

/** The stock command: the image has no CMD, so a task must give one. */
export const STOCK_COMMAND = Object.freeze(['/home/runner/run.sh']);

// --- the effective container ----------------------------------------------------

/**
 * What ECS would run for one task: the task definition's runner container with
 * RunTask's `overrides.containerOverrides[name]` applied (a `command` replaces
 * the container's; `environment` entries are added, or replace those of the
 * same name), over the image's configuration (its ENV first; its user and
 * working directory unless the definition sets them). `taskDefinition` is
 * DescribeTaskDefinition's `taskDefinition`, `runTask` the RunTask request
 * body. The container is `containerName`, else the one the overrides name,
 * else the definition's only container.
 */
export function effectiveContainer(taskDefinition, runTask, { containerName } = {}) {
  const defs = taskDefinition.containerDefinitions ?? [];
  const overrides = runTask?.overrides?.containerOverrides ?? [];
  const name = containerName ?? overrides[0]?.name ?? (defs.length === 1 ? defs[0].name : undefined);
  const def = defs.find((c) => c.name === name);
  if (!def) {
    throw new Error(
      `no runner container ${JSON.stringify(name)} in ${taskDefinition.family}:${taskDefinition.revision} (containers: ${defs.map((c) => c.name).join(', ')})`,
    );
  }
  const override = overrides.find((o) => o.name === def.name) ?? {};
  const environment = { ...IMAGE_CONFIG.env };
  for (const { name: k, value } of def.environment ?? []) environment[k] = value ?? '';
  for (const { name: k, value } of override.environment ?? []) environment[k] = value ?? '';
  const command = override.command !== undefined ? override.command : (def.command ?? null);
  return {
    name: def.name,
    image: def.image,
    entryPoint: def.entryPoint?.length ? [...def.entryPoint] : IMAGE_CONFIG.entrypoint,
    command: command?.length ? [...command] : IMAGE_CONFIG.cmd,
    environment,
    user: def.user || IMAGE_CONFIG.user,
    workingDirectory: def.workingDirectory || IMAGE_CONFIG.workingDir,
    cpuArchitecture: taskDefinition.runtimePlatform?.cpuArchitecture === 'ARM64' ? 'ARM64' : 'X64',
    overridden: { command: override.command !== undefined, environment: (override.environment ?? []).map((e) => e.name) },
  };
}

/**
 * The effective runner container of every task the action started, from what
 * it really sent: each recorded RunTask (the proxy's record: request body and
 * moto's answer) and the task definition it names, as moto describes it.
 * Returns [{taskArn, taskDefinitionArn, runTask, taskDefinition, container}],
 * in the order of the RunTask calls.
 */
export async function startedContainers(moto, { containerName } = {}) {
  const out = [];
  const described = new Map();
  for (const call of moto.proxy.calls('RunTask')) {
    if (call.status !== 200 || !call.response) continue;
    const answer = JSON.parse(call.response);
    for (const task of answer.tasks ?? []) {
      const arn = task.taskDefinitionArn ?? call.body.taskDefinition;
      if (!described.has(arn)) {
        described.set(arn, (await moto.ecs('DescribeTaskDefinition', { taskDefinition: arn })).taskDefinition);
      }
      const taskDefinition = described.get(arn);
      out.push({
        taskArn: task.taskArn,
        taskDefinitionArn: arn,
        runTask: call.body,
        taskDefinition,
        container: effectiveContainer(taskDefinition, call.body, { containerName }),
      });
    }
  }
  return out;
}

/**
 * The stand-in's view of GitHub, from the fake (github.mjs): for each
 * repository `{serverUrl}/{owner}/{repo}` (its one runner group, Default, id
 * 1) and organization `{serverUrl}/{org}` (the fake's runner groups), with the
 * names of the runners registered there and the registration tokens the fake
 * issued for it.
 */
export function githubAsSeenByRunner(gh, serverUrl) {
  const scopes = {};
  const of = (key) => ({
    runners: [...gh.runners.values()].filter((r) => r.scope === key).map((r) => r.name),
    tokens: gh.issued.filter((i) => i.kind === 'registration' && i.scope === key).map((i) => i.value),
  });
  for (const repo of gh.repos) {
    scopes[`${serverUrl}/${repo}`] = { runnerGroups: [{ id: 1, name: 'Default', default: true }], ...of(`repo:${repo}`) };
  }
  for (const org of gh.orgs) {
    scopes[`${serverUrl}/${org}`] = {
      runnerGroups: gh.runnerGroups.map((g) => ({ id: g.id, name: g.name, default: Boolean(g.default) })),
      ...of(`org:${org}`),
    };
  }
  return scopes;
}

// --- the image's files -----------------------------------------------------------

const RUN_SH = `#!/bin/bash
# stand-in of /home/runner/run.sh (actions/runner src/Misc/layoutroot/run.sh)
here="$(cd -P "$(dirname "$(readlink -f "\${BASH_SOURCE[0]}")")" && pwd)"

fresh_helper() { cp -f "$here/run-helper.sh.template" "$here/run-helper.sh"; }

plain() {
  while true; do
    fresh_helper
    "$here/run-helper.sh" $*
    code=$?
    if [[ $code -eq 2 ]]; then echo "Restarting runner..."; continue; fi
    if [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" && $code -eq 7 ]]; then echo "Exiting runner..."; exit $code; fi
    echo "Exiting runner..."
    exit 0
  done
}

trapped() {
  set -m
  trap 'kill -INT -$helper' INT TERM
  while true; do
    fresh_helper
    "$here/run-helper.sh" $* &
    helper=$!
    wait $helper
    code=$?
    if [[ $code -eq 2 ]]; then echo "Restarting runner..."; continue; fi
    if [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" && $code -eq 7 ]]; then echo "Exiting runner..."; exit $code; fi
    echo "Exiting runner..."
    trap - INT TERM
    wait $helper
    exit $code
  done
}

if [[ -n "$RUNNER_UPDATE_CA_CERTS" ]]; then echo "[stand-in] would update the certificate store (RUNNER_UPDATE_CA_CERTS)"; fi
if [[ -z "$RUNNER_MANUALLY_TRAP_SIG" ]]; then plain $*; else trapped $*; fi
`;

const RUN_HELPER = `#!/bin/bash
# stand-in of /home/runner/run-helper.sh.template (actions/runner src/Misc/layoutroot/run-helper.sh.template)
if [ "$(id -u)" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run interactively with sudo"
  exit 1
fi
shopt -s nocasematch
here="$(cd -P "$(dirname "$(readlink -f "\${BASH_SOURCE[0]}")")" && pwd)"

if [ -n "$RUNNER_WAIT_FOR_DOCKER_IN_SECONDS" ] && [ "$RUNNER_WAIT_FOR_DOCKER_IN_SECONDS" -gt 0 ]; then
  echo "Waiting for docker to be ready."
  for _ in $(seq "$RUNNER_WAIT_FOR_DOCKER_IN_SECONDS"); do
    if docker ps > /dev/null 2>&1; then echo "Docker is ready."; break; fi
    "$here/safe_sleep.sh" 1
  done
fi

"$here/bin/Runner.Listener" run $*
code=$?
case $code in
  0) echo "Runner listener exit with 0 return code, stop the service, no retry needed."; exit 0 ;;
  1) echo "Runner listener exit with terminated error, stop the service, no retry needed."; exit 0 ;;
  2) echo "Runner listener exit with retryable error, re-launch runner in 5 seconds."; "$here/safe_sleep.sh" 5; exit 2 ;;
  3|4)
    echo "Runner listener exit because of updating, re-launch runner after successful update"
    for _ in $(seq 0 30); do
      if [ -f update.finished ]; then echo "Update finished successfully."; rm update.finished; break; fi
      "$here/safe_sleep.sh" 1
    done
    exit 2 ;;
  5) echo "Runner listener exit with Session Conflict error, stop the service, no retry needed."; exit 0 ;;
  7)
    if [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" ]]; then
      echo "Runner listener exit with deprecated version exit code: $code."; exit $code
    fi
    echo "Exiting with unknown error code: $code"; exit 0 ;;
  *) echo "Exiting with unknown error code: $code"; exit 0 ;;
esac
`;

const CONFIG_SH = `#!/bin/bash
# stand-in of /home/runner/config.sh (actions/runner src/Misc/layoutroot/config.sh)
if [ "$(id -u)" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run with sudo"
  exit 1
fi
# (the real one checks .NET's native libraries with ldd here, and sources env.sh)
here="$(cd -P "$(dirname "$(readlink -f "\${BASH_SOURCE[0]}")")" && pwd)"
cd "$here"
shopt -s nocasematch
if [[ "$1" == "remove" ]]; then
  ./bin/Runner.Listener "$@"
else
  ./bin/Runner.Listener configure "$@"
fi
`;

const SAFE_SLEEP = `#!/bin/bash
sleep "$1"
`;

const listenerStub = (node) => `#!/bin/sh
# stand-in of bin/Runner.Listener: the model in listener.mjs, run with Node
exec '${node}' "$(dirname "$0")/listener.mjs" "$@"
`;

/** Lays out the stand-in's /home in `dir`: runner/ (the image's files) and .stand-in/ (the model's state). */
async function layout(dir, { arch, scopes }) {
  const runner = path.join(dir, 'runner');
  const state = path.join(dir, '.stand-in');
  await mkdir(path.join(runner, 'bin'), { recursive: true });
  await mkdir(state);
  const files = [
    ['run.sh', RUN_SH, 0o755],
    ['run-helper.sh.template', RUN_HELPER, 0o755],
    ['config.sh', CONFIG_SH, 0o755],
    ['safe_sleep.sh', SAFE_SLEEP, 0o755],
    ['bin/Runner.Listener', listenerStub(NODE24), 0o755],
  ];
  for (const [name, text, mode] of files) {
    await writeFile(path.join(runner, name), text);
    await chmod(path.join(runner, name), mode);
  }
  await copyFile(LISTENER, path.join(runner, 'bin/listener.mjs'));
  await writeFile(path.join(state, 'config.json'), JSON.stringify({ arch, scopes: scopes ?? undefined }));
  await writeFile(path.join(state, 'events.jsonl'), '');
  // chmod 777 /home/runner; COPY --chown=runner:docker
  await chmod(dir, 0o755);
  await chmod(runner, 0o777);
  await chownTree(runner, 1001, 123);
  await chownTree(state, 1001, 123);
}

async function chownTree(p, uid, gid) {
  await chown(p, uid, gid);
  if ((await lstat(p)).isDirectory()) for (const e of await readdir(p)) await chownTree(path.join(p, e), uid, gid);
}

function userOf(spec) {
  const [who, group] = String(spec).split(':');
  const named = USERS[who];
  const uid = named ? named.uid : Number(who);
  if (!Number.isInteger(uid)) throw new Error(`the stand-in knows no user ${JSON.stringify(spec)}`);
  const byUid = Object.values(USERS).find((u) => u.uid === uid);
  const gid = group !== undefined ? (USERS[group]?.gid ?? Number(group)) : (byUid?.gid ?? uid);
  return { uid, gid, groups: byUid?.groups ?? [], home: byUid?.home ?? '/' };
}

// --- running it -------------------------------------------------------------------

/**
 * Runs `container` (from effectiveContainer) as the stock image would, for at
 * most `timeoutMs` (then everything in it is killed). `scopes`
 * (githubAsSeenByRunner) is GitHub as the runner sees it; without it every
 * URL is a scope with only the Default group. Resolves to
 * {started, argv, exitCode, signal, timedOut, output, stdout, stderr,
 *  configured, connected, registrations, events, why}:
 *   started       false when the container cannot start (no command), `why` says why
 *   configured    the runner found a configuration (.runner) when it ran
 *   connected     {how: 'jit'|'config', id, name, poolId, poolName, gitHubUrl,
 *                  workFolder, ephemeral, ...} of the last session, or null
 *   registrations what config.sh registered: {url, token, name, labels,
 *                  runnerGroup (the group NAME used), runnerGroupAsked (the
 *                  --runnergroup / ACTIONS_RUNNER_INPUT_RUNNERGROUP given, or
 *                  null: the default group), pool {id, name},
 *                  work, ephemeral, replace, unattended, ...}
 *   output        stdout and stderr as they came
 */
export async function runContainer(container, { timeoutMs = 20_000, scopes = null, hostname = 'ip-10-0-1-23.ec2.internal' } = {}) {
  if (!STOCK_IMAGE.test(container.image ?? '')) {
    throw new Error(`the stand-in models ghcr.io/actions/actions-runner only, not ${container.image}`);
  }
  const argv = [...(container.entryPoint ?? []), ...(container.command ?? [])];
  if (argv.length === 0) {
    const why = 'CannotStartContainerError: Error response from daemon: no command specified';
    return { started: false, why, argv, exitCode: null, signal: null, timedOut: false, output: why, stdout: '', stderr: '', configured: false, connected: null, registrations: [], events: [] };
  }
  const user = userOf(container.user ?? IMAGE_CONFIG.user);
  const env = { HOSTNAME: hostname, HOME: user.home, ...container.environment };
  for (const k of Object.keys(env)) {
    if (k.includes('=') || k === '') throw new Error(`environment name ${JSON.stringify(k)} cannot be passed`);
  }
  if (argv[0].includes('=')) throw new Error(`the stand-in cannot run a command named ${JSON.stringify(argv[0])}`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecs-runner-image-'));
  try {
    await layout(dir, { arch: container.cpuArchitecture ?? 'X64', scopes });
    const workdir = container.workingDirectory ?? IMAGE_CONFIG.workingDir;
    // Docker creates a missing working directory; only /home is ours to write.
    if (workdir.startsWith('/home/')) await mkdir(path.join(dir, workdir.slice('/home/'.length)), { recursive: true });
    const setup = 'mount --bind "$1" /home && hostname "$2" && cd "$3" && shift 3 && exec "$@"';
    const groups = user.groups.length ? [`--groups=${user.groups.join(',')}`] : ['--clear-groups'];
    const args = [
      '--mount', '--uts', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private',
      '/bin/sh', '-c', setup, 'container', dir, hostname, workdir,
      '/usr/bin/setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, ...groups, '--',
      '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ];
    const child = spawn('/usr/bin/unshare', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let output = '';
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      output += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
      output += c;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The container's PID 1 is unshare's child; killing it ends every
      // process of its PID namespace. (--kill-child alone does not: the
      // parent-death signal is cleared when setpriv changes the user.)
      for (const pid of childrenOf(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    }, timeoutMs);
    const { code, signal } = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
    });
    clearTimeout(timer);
    const text = await readFile(path.join(dir, '.stand-in/events.jsonl'), 'utf8').catch(() => '');
    const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const connected = events.filter((e) => e.event === 'connected').pop() ?? null;
    return {
      started: true,
      argv,
      exitCode: timedOut ? null : code,
      signal: timedOut ? 'SIGKILL' : signal,
      timedOut,
      output,
      stdout,
      stderr,
      configured: events.some((e) => e.event === 'settings-loaded'),
      connected,
      registrations: events.filter((e) => e.event === 'registered'),
      events,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The host pids whose parent is `pid` (from /proc/<pid>/stat). */
function childrenOf(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // it ended meanwhile
    }
  }
  return out;
}

/** True when this machine can run the stand-in (root, unshare, setpriv). */
export function canRunStandIn() {
  return process.getuid?.() === 0 && existsSync('/usr/bin/unshare') && existsSync('/usr/bin/setpriv') && existsSync(NODE24);
}

/** A short account of a stand-in run, for assertion messages. */
export function describeContainerRun(result, container) {
  const env = Object.entries(container?.environment ?? {})
    .map(([k, v]) => `${k}=${/TOKEN|JITCONFIG/i.test(k) ? `<${String(v).length} chars>` : v}`)
    .join('\n    ');
  return [
    `container ${container?.name} (${container?.image}) argv ${JSON.stringify(result.argv)}`,
    `  environment:\n    ${env}`,
    `  exit ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}${result.timedOut ? ' TIMED OUT' : ''}${result.started === false ? ` NOT STARTED: ${result.why}` : ''}`,
    `--- its output\n${result.output.slice(-6000)}`,
  ].join('\n');
}
