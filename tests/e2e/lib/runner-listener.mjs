// A behavioural model of the stock runner's bin/Runner.Listener, run INSIDE
// the stand-in of ghcr.io/actions/actions-runner (runner-image.mjs copies it to
// /home/runner/bin/ and starts it with Node for bin/Runner.Listener). It is
// written from the actions/runner source (read 2026-12, v2.336.0), not copied
// from it; each part names what it models:
//   src/Runner.Common/CommandLineParser.cs     parse(): commands, --args, flags
//   src/Runner.Listener/CommandSettings.cs     ACTIONS_RUNNER_INPUT_<NAME> (any
//                                              case, trimmed, empty ignored),
//                                              GetArg / GetArgOrPrompt / TestFlag
//   src/Runner.Listener/Configuration/PromptManager.cs  unattended: default,
//                                              optional '' or "Invalid configuration
//                                              provided for <arg>. Terminating
//                                              unattended configuration."
//   src/Runner.Listener/Configuration/Validators.cs     url http(s), labels <= 256
//   src/Runner.Listener/Configuration/ConfigurationManager.cs  configure: url,
//                                              token (or pat), runner group by NAME,
//                                              name (default: the host name), labels
//                                              (split on ',' only), replace, work
//                                              (default _work); .runner, .credentials,
//                                              .credentials_rsaparams
//   src/Runner.Listener/Runner.cs              JIT config (base64 JSON map of base64
//                                              files, written into the root), then
//                                              LoadSettings; "run"
//   src/Runner.Listener/Program.cs             exit codes: 0 ok, 1 terminated, 2 any
//                                              other exception (retryable)
//
// What it cannot do is talk to GitHub. Where the real runner would, the model
// asks the stand-in's "server" (`scopes` in /home/.stand-in/config.json,
// written by runner-image.mjs from the fake GitHub): which scopes exist, their
// runner groups and runners, the registration tokens issued. The same file
// gives the machine's architecture (`arch`, VarUtil.OSArchitecture). Once a session would be
// created (the runner is "Listening for Jobs"), it records whom it connected
// as and ends with 0, as an ephemeral runner does after its one job. Every
// line that is the model's own, not the runner's, starts with "[stand-in]".
// Events go to /home/.stand-in/events.jsonl for the test to read.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

const RUNNER_VERSION = '2.336.0';
const ROOT = path.resolve(path.dirname(process.argv[1]), '..'); // bin/.. as HostContext's Root
const STAND_IN = path.resolve(ROOT, '..', '.stand-in');
const ENV_PREFIX = 'ACTIONS_RUNNER_INPUT_';

// Constants.Runner.CommandLine and CommandSettings.validOptions
const GENERIC_FLAGS = ['help', 'version', 'commit', 'check'];
const VALID = {
  configure: [
    'disableupdate', 'ephemeral', 'generateserviceconfig', 'replace', 'runasservice', 'unattended', 'no-default-labels',
    'auth', 'labels', 'monitorsocketaddress', 'name', 'pat', 'runnergroup', 'token', 'url', 'username',
    'windowslogonaccount', 'windowslogonpassword', 'work',
  ],
  remove: ['token', 'pat', 'local'],
  run: ['once', 'jitconfig', 'startuptype'],
  warmup: [],
};

class NonRetryable extends Error {}
class Hang extends Error {}

function event(kind, data = {}) {
  try {
    fs.appendFileSync(path.join(STAND_IN, 'events.jsonl'), JSON.stringify({ event: kind, at: Date.now(), ...data }) + '\n');
  } catch (error) {
    process.stderr.write(`[stand-in] cannot record ${kind}: ${error.message}\n`);
  }
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line) => process.stderr.write(`${line}\n`);

// --- CommandLineParser ------------------------------------------------------

export function parseCommandLine(argv) {
  const commands = [];
  const flags = new Set();
  const args = new Map();
  let hasArgs = false;
  let scope = null;
  for (const arg of argv) {
    hasArgs = hasArgs || arg.startsWith('--');
    if (arg === '/?') flags.add('help');
    else if (!hasArgs) commands.push(arg.trim());
    else if (arg.startsWith('--') && arg.length > 2) {
      if (scope !== null) flags.add(scope.trim().toLowerCase()); // two --x in a row: the first was a flag
      scope = arg.slice(2);
    } else if (!arg.startsWith('-')) {
      if (scope !== null) {
        scope = scope.trim();
        if (!args.has(scope.toLowerCase())) {
          args.set(scope.toLowerCase(), arg); // first value wins; a second value is ignored
          scope = null;
        }
      }
    } // anything else ('-', '--', '-x') is ignored
  }
  if (scope !== null) flags.add(scope.toLowerCase());
  return { commands, flags, args };
}

// --- CommandSettings ----------------------------------------------------------

export class Settings {
  constructor(argv, env) {
    this.parsed = parseCommandLine(argv);
    this.envArgs = new Map();
    for (const key of Object.keys(env)) {
      if (!key.toUpperCase().startsWith(ENV_PREFIX)) continue;
      const value = String(env[key] ?? '').trim();
      if (value !== '') this.envArgs.set(key.slice(ENV_PREFIX.length).toLowerCase(), value);
      delete env[key]; // removed from the environment block
    }
  }

  isCommand(name) {
    return this.parsed.commands.length > 0 && this.parsed.commands[0].toLowerCase() === name;
  }

  commandName() {
    return ['configure', 'remove', 'run', 'warmup'].find((c) => this.isCommand(c)) ?? '';
  }

  unknowns() {
    const { commands, flags, args } = this.parsed;
    const bad = commands.filter((c) => !(c.toLowerCase() in VALID));
    if (bad.length > 0) return bad;
    for (const c of commands) {
      const options = VALID[c.toLowerCase()];
      for (const f of flags) if (!options.includes(f) && !GENERIC_FLAGS.includes(f)) bad.push(f);
      for (const a of args.keys()) if (!options.includes(a)) bad.push(a);
    }
    return bad;
  }

  arg(name) {
    if (this.parsed.args.has(name)) return this.parsed.args.get(name);
    const v = this.envArgs.get(name);
    return v ? v : null;
  }

  flag(name) {
    if (this.parsed.flags.has(name)) return true;
    // bool.TryParse: "true"/"false" in any case; anything else is false
    return (this.envArgs.get(name) ?? '').toLowerCase() === 'true';
  }

  get unattended() {
    return this.flag('unattended');
  }

  /** GetArgOrPrompt, with PromptManager.ReadValue for what is missing or invalid. */
  argOrPrompt(name, { description, defaultValue = '', valid = (v) => v !== '', optional = false }) {
    const given = this.arg(name);
    if (given) {
      this.parsed.args.delete(name);
      this.envArgs.delete(name);
      if (valid(given)) return given;
    }
    if (this.unattended) {
      if (defaultValue) return defaultValue;
      if (optional) return '';
      throw new Error(`Invalid configuration provided for ${name}. Terminating unattended configuration.`);
    }
    // Interactive: the container's stdin is closed, so every answer reads as
    // empty: the default if there is one, '' if optional, else it asks again,
    // for ever.
    process.stdout.write(`${description} ${defaultValue ? `[press Enter for ${defaultValue}] ` : optional ? '[press Enter to skip] ' : ''}\n`);
    if (defaultValue) return defaultValue;
    if (optional) return '';
    throw new Hang(`the runner asks for ${name} again and again on a closed stdin (not --unattended)`);
  }

  boolOrPrompt(name, description) {
    if (this.flag(name)) return true;
    if (!this.unattended) process.stdout.write(`${description} [press Enter for N] \n`);
    return false;
  }
}

const serverUrlValid = (v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};
const labelsValid = (v) => !v || v.split(',').filter((x) => x !== '').every((x) => x.length <= 256);

// --- the stand-in's GitHub ------------------------------------------------------

function server() {
  try {
    return JSON.parse(fs.readFileSync(path.join(STAND_IN, 'config.json'), 'utf8'));
  } catch {
    return {};
  }
}

const norm = (u) => u.replace(/\/+$/, '').toLowerCase();

/** The scope a config URL names, as the stand-in's GitHub knows it (null: unknown). */
function scopeOf(srv, url) {
  if (!srv.scopes) return { runnerGroups: [{ id: 1, name: 'Default', default: true }], runners: [], tokens: null };
  return Object.entries(srv.scopes).find(([u]) => norm(u) === norm(url))?.[1] ?? null;
}

function apiOf(url) {
  const u = new URL(url);
  return u.hostname === 'github.com' ? 'https://api.github.com' : `${u.origin}/api/v3`;
}

// --- files in the root ----------------------------------------------------------

const file = (name) => path.join(ROOT, name);

function saveJson(name, value) {
  const target = file(name);
  fs.rmSync(target, { force: true });
  fs.writeFileSync(target, JSON.stringify(value, null, 2));
}

/** Newtonsoft matches property names in any case; the model does too. */
function field(obj, name) {
  if (!obj || typeof obj !== 'object') return undefined;
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const fromB64url = (s) => Buffer.from(s, 'base64url');

/** Convert.FromBase64String: strict, whitespace ignored. */
function fromBase64Strict(text) {
  const s = String(text).replace(/[\s]/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Error(
      'The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.',
    );
  }
  return Buffer.from(s, 'base64');
}

// --- configure (ConfigurationManager.ConfigureAsync) -----------------------------

function configure(cmd) {
  out();
  out('--------------------------------------------------------------------------------');
  out('|                       Self-hosted runner registration                        |');
  out('--------------------------------------------------------------------------------');
  if (cmd.flag('generateserviceconfig')) throw new Error('[stand-in] --generateServiceConfig is not modelled');
  if (fs.existsSync(file('.runner')) || fs.existsSync(file('.runner_migrated'))) {
    throw new Error(
      "Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.cmd remove' or './config.sh remove' first.",
    );
  }
  const srv = server();
  out();
  out('# Authentication');
  out();
  const url = cmd.argOrPrompt('url', { description: 'What is the URL of your repository?', valid: serverUrlValid });
  const pat = cmd.arg('pat');
  let token = null;
  let tokenFrom = 'token';
  if (pat) {
    tokenFrom = 'pat';
    cmd.parsed.args.delete('pat');
  } else {
    token = cmd.argOrPrompt('token', { description: 'What is your runner register token?' });
  }
  const scope = scopeOf(srv, url);
  // GetTenantCredential: POST {api}/actions/runner-registration with the token
  if (!scope || (scope.tokens && tokenFrom === 'token' && !scope.tokens.includes(token))) {
    throw new Error(`Http response code: NotFound from 'POST ${apiOf(url)}/actions/runner-registration'`);
  }
  if (tokenFrom === 'pat') throw new Error('[stand-in] registering with a PAT (--pat) is not modelled');
  out();
  out('√ Connected to GitHub');

  // The RSA key is made (and saved) before the runner is registered.
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  saveJson('.credentials_rsaparams', {
    d: b64(fromB64url(jwk.d)),
    dp: b64(fromB64url(jwk.dp)),
    dq: b64(fromB64url(jwk.dq)),
    exponent: b64(fromB64url(jwk.e)),
    inverseQ: b64(fromB64url(jwk.qi)),
    modulus: b64(fromB64url(jwk.n)),
    p: b64(fromB64url(jwk.p)),
    q: b64(fromB64url(jwk.q)),
  });

  out();
  out('# Runner Registration');
  out();
  const groups = scope.runnerGroups ?? [];
  const defaultPool = groups.find((g) => g.default) ?? null;
  let poolName = null;
  let pool;
  const groupAsked = cmd.arg('runnergroup');
  if (groups.length > 0) {
    poolName = cmd.argOrPrompt('runnergroup', {
      description: 'Enter the name of the runner group to add this runner to:',
      defaultValue: defaultPool?.name ?? 'default',
    });
    pool = groups.find((g) => g.name.toLowerCase() === poolName.toLowerCase());
  } else pool = defaultPool;
  if (!pool && poolName === null) throw new Error('Could not find any self-hosted runner groups. Contact support.');
  if (!pool) throw new Error(`Could not find any self-hosted runner group named "${poolName}".`);

  const ephemeral = cmd.flag('ephemeral');
  const disableUpdate = cmd.flag('disableupdate');
  const noDefaultLabels = cmd.flag('no-default-labels');
  const name = cmd.argOrPrompt('name', { description: 'Enter the name of runner:', defaultValue: os.hostname() || 'myrunner' });
  const labelText = cmd.argOrPrompt('labels', {
    description: "This runner will have the following labels: 'self-hosted', 'Linux', 'X64' \nEnter any additional labels (ex. label-1,label-2):",
    valid: labelsValid,
    optional: true,
  });
  const userLabels = [];
  for (const l of labelText ? labelText.split(',').filter((x) => x !== '') : []) {
    if (!userLabels.some((u) => u.toLowerCase() === l.toLowerCase())) userLabels.push(l);
  }
  out();
  const existing = (scope.runners ?? []).some((n) => n.toLowerCase() === name.toLowerCase());
  let replace = false;
  if (existing) {
    out('A runner exists with the same name');
    replace = cmd.boolOrPrompt('replace', 'Would you like to replace the existing runner? (Y/N)');
    if (!replace && cmd.unattended) throw new Error(`A runner exists with the same name ${name}.`);
    if (!replace) throw new Hang('the runner asks for another name again and again on a closed stdin');
  }
  if (noDefaultLabels && userLabels.length === 0) {
    throw new Error('Disabling default labels via --no-default-labels without specifying --labels is not supported');
  }
  const arch = srv.arch === 'ARM64' ? 'ARM64' : 'X64';
  const labels = [...(noDefaultLabels ? [] : ['self-hosted', 'Linux', arch]), ...userLabels];
  // GitHub's own rule (not in the runner): names of at most 64 characters.
  if (name.length > 64) throw new Error(`[stand-in GitHub] refuses the runner name ${JSON.stringify(name)}: more than 64 characters`);
  const agentId = 1 + crypto.randomInt(1_000_000);
  out(replace ? '√ Successfully replaced the runner' : '√ Runner successfully added');

  const host = new URL(url).hostname;
  const tenant = crypto.randomBytes(37).toString('base64url');
  const serverUrl =
    host === 'github.com' ? `https://pipelinesghubeus${1 + crypto.randomInt(25)}.actions.githubusercontent.com/${tenant}/` : `${new URL(url).origin}/_services/pipelines/`;
  saveJson('.credentials', {
    scheme: 'OAuth',
    data: { clientId: crypto.randomUUID(), authorizationUrl: `${serverUrl}_apis/oauth2/token`, requireFipsCryptography: 'True' },
  });
  out();
  out('# Runner settings');
  out();
  const work = cmd.argOrPrompt('work', { description: 'Enter name of work folder:', defaultValue: '_work' });
  const settings = { agentId, agentName: name, poolId: pool.id, poolName: pool.name, serverUrl, gitHubUrl: url, workFolder: work };
  if (ephemeral) settings.ephemeral = true;
  if (disableUpdate) settings.disableUpdate = true;
  saveJson('.runner', settings);
  out();
  out('√ Settings Saved.');
  out();
  event('registered', {
    url,
    token,
    name,
    labels,
    userLabels,
    runnerGroup: poolName,
    runnerGroupAsked: groupAsked,
    pool: { id: pool.id, name: pool.name },
    work,
    ephemeral,
    replace,
    disableUpdate,
    noDefaultLabels,
    unattended: cmd.unattended,
    agentId,
  });
  return 0;
}

// --- run (Runner.ExecuteCommand after configure/remove/warmup) ---------------------

function applyJitConfig(encoded) {
  const decoded = fromBase64Strict(encoded).toString('utf8');
  let map;
  try {
    map = JSON.parse(decoded);
  } catch (error) {
    throw new Error(`Unexpected character encountered while parsing value: ${error.message}`);
  }
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new Error('Cannot deserialize the JIT configuration into Dictionary<string, string>');
  const files = [];
  for (const [name, value] of Object.entries(map)) {
    if (typeof value !== 'string') throw new Error(`Unexpected value for ${name}: not a string`);
    const target = path.resolve(ROOT, name); // Path.Combine: an absolute key is taken as it is
    const content = fromBase64Strict(value);
    fs.writeFileSync(target, content);
    files.push({ name, bytes: content.length });
  }
  return files;
}

/** The OAuth credential a session is created with: .credentials plus the key in .credentials_rsaparams. */
function checkCredentials() {
  const credFile = file('.credentials');
  if (!fs.existsSync(credFile) && !fs.existsSync(file('.credentials_migrated'))) {
    throw new Error(`Could not find file '${credFile}'.`);
  }
  const cred = JSON.parse(fs.readFileSync(credFile, 'utf8'));
  const scheme = field(cred, 'scheme');
  const data = field(cred, 'data') ?? {};
  if (scheme !== 'OAuth') throw new NonRetryable(`[stand-in] credential scheme ${JSON.stringify(scheme)}: only OAuth is modelled`);
  for (const k of ['clientId', 'authorizationUrl']) {
    if (!field(data, k)) throw new NonRetryable(`[stand-in] .credentials has no ${k}: the OAuth token exchange would fail`);
  }
  const keyFile = file('.credentials_rsaparams');
  if (!fs.existsSync(keyFile)) throw new NonRetryable(`RSA key file ${keyFile} was not found`);
  // RSAParametersSerializable: these exact names, each base64 of big-endian bytes
  const p = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  const names = { n: 'modulus', e: 'exponent', d: 'd', p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'inverseQ' };
  const jwk = { kty: 'RSA' };
  for (const [j, n] of Object.entries(names)) {
    if (typeof p[n] !== 'string' || p[n] === '') throw new NonRetryable(`[stand-in] .credentials_rsaparams has no ${n}`);
    jwk[j] = fromBase64Strict(p[n]).toString('base64url');
  }
  // The runner signs its OAuth client assertion with this key; GitHub checks
  // it against the public key registered for the runner.
  try {
    const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
    const pub = crypto.createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    const probe = Buffer.from(`stand-in ${Date.now()}`);
    const signature = crypto.sign('sha256', probe, key);
    if (!crypto.verify('sha256', probe, pub, signature)) throw new Error('its signature does not verify with its modulus');
    const bits = fromB64url(jwk.n).length * 8;
    return { clientId: field(data, 'clientId'), authorizationUrl: field(data, 'authorizationUrl'), keyBits: bits };
  } catch (error) {
    throw new NonRetryable(`[stand-in] the RSA key in .credentials_rsaparams cannot sign: ${error.message}`);
  }
}

function run(cmd) {
  const jit = cmd.arg('jitconfig');
  let jitFiles = null;
  if (jit) {
    try {
      jitFiles = applyJitConfig(jit);
      event('jit-config-applied', { files: jitFiles });
    } catch (error) {
      err(error.message);
      event('jit-config-rejected', { message: error.message });
      return 1;
    }
  }
  // LoadSettings, before anything else: not configured is a NonRetryableException
  if (!fs.existsSync(file('.runner')) && !fs.existsSync(file('.runner_migrated'))) {
    event('not-configured');
    throw new NonRetryable('Not configured. Run config.(sh/cmd) to configure the runner.');
  }
  const settings = JSON.parse(fs.readFileSync(file('.runner'), 'utf8'));
  event('settings-loaded', { settings });
  if (!cmd.isCommand('run')) {
    out('[stand-in] (usage)');
    return 0;
  }
  if (cmd.flag('once')) out("Warning: '--once' is going to be deprecated in the future, please consider using '--ephemeral' during runner registration.");
  const credential = checkCredentials();
  const work = String(field(settings, 'workFolder') || '_work');
  const workDir = path.resolve(ROOT, work);
  try {
    fs.mkdirSync(workDir, { recursive: true });
    fs.accessSync(workDir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    err(`Fail to create and validate runner's work directory '${workDir}'.`);
    return 1;
  }
  const agentId = Number(field(settings, 'agentId'));
  const name = field(settings, 'agentName');
  if (!Number.isInteger(agentId) || agentId <= 0 || !name) {
    throw new NonRetryable(`[stand-in] .runner names no runner (agentId ${field(settings, 'agentId')}, agentName ${name})`);
  }
  if (!field(settings, 'serverUrl') && !field(settings, 'serverUrlV2')) throw new NonRetryable('[stand-in] .runner has no serverUrl');
  out('√ Connected to GitHub');
  out();
  out(`Current runner version: '${RUNNER_VERSION}'`);
  out(`${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}: Listening for Jobs`);
  event('connected', {
    how: jitFiles ? 'jit' : 'config',
    id: agentId,
    name,
    poolId: field(settings, 'poolId'),
    poolName: field(settings, 'poolName'),
    serverUrl: field(settings, 'serverUrl'),
    serverUrlV2: field(settings, 'serverUrlV2'),
    gitHubUrl: field(settings, 'gitHubUrl') ?? null,
    workFolder: work,
    workDir,
    ephemeral: Boolean(field(settings, 'ephemeral')),
    disableUpdate: Boolean(field(settings, 'disableUpdate')),
    credential,
    jitFiles,
  });
  out('[stand-in] no job will come: the session ends here, as an ephemeral runner ends after its job');
  return 0;
}

function remove(cmd) {
  if (cmd.flag('local')) {
    for (const f of ['.credentials', '.credentials_rsaparams', '.runner']) fs.rmSync(file(f), { force: true });
    out('√ Removed .credentials');
    out('√ Removed .runner');
    return 0;
  }
  const token = cmd.arg('pat') ? null : cmd.argOrPrompt('token', { description: 'Enter runner remove token:' });
  for (const f of ['.credentials', '.credentials_rsaparams', '.runner']) fs.rmSync(file(f), { force: true });
  event('removed', { token });
  out('√ Runner removed successfully');
  return 0;
}

// --- Program.MainAsync ------------------------------------------------------------

function main(argv) {
  const env = { ...process.env };
  const cmd = new Settings(argv, env);
  event('listener', { argv, command: cmd.commandName(), envArgs: [...cmd.envArgs.keys()] });
  const unknown = cmd.unknowns();
  if (unknown.length > 0) {
    const name = cmd.commandName();
    err(
      name
        ? `Unrecognized command-line input arguments for command ${name}: '${unknown.join(', ')}'. For usage refer to: .\\config.cmd --help or ./config.sh --help`
        : `This command does not recognize the command-line input arguments: '${unknown.join(', ')}'. For usage refer to: .\\config.cmd --help or ./config.sh --help`,
    );
  }
  if (cmd.flag('help')) {
    out('[stand-in] (usage)');
    return 0;
  }
  if (cmd.flag('version')) {
    out(RUNNER_VERSION);
    return 0;
  }
  if (cmd.isCommand('configure')) {
    try {
      return configure(cmd);
    } catch (error) {
      if (error instanceof Hang) throw error;
      err(error.message);
      event('configure-failed', { message: error.message });
      return 1;
    }
  }
  if (cmd.isCommand('remove')) {
    try {
      return remove(cmd);
    } catch (error) {
      if (error instanceof Hang) throw error;
      err(error.message);
      return 1;
    }
  }
  if (cmd.isCommand('warmup')) return 0;
  return run(cmd);
}

function start() {
  let code;
  try {
    code = main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof Hang) {
      err(`[stand-in] ${error.message}: waiting until the container is stopped`);
      event('hang', { message: error.message });
      setInterval(() => {}, 1 << 30);
      return;
    }
    err(`An error occurred: ${error.message}`);
    code = error instanceof NonRetryable ? 1 : 2;
  }
  event('listener-exit', { code });
  process.exitCode = code;
}

// Run as bin/Runner.Listener; imported (for its parser), it does nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) start();
