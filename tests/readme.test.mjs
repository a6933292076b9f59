// The README's inputs/outputs tables must say what action.yaml says, and its
// two opening commands must be the ones package.json runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { render } from '../scripts/readme-tables.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const actionYaml = readFileSync(path.join(root, 'action.yaml'), 'utf8');
const action = YAML.parse(actionYaml);

test('README inputs and outputs tables equal action.yaml', () => {
  assert.equal(readme, render(readme, actionYaml), 'run `node scripts/readme-tables.mjs` and commit README.md');
});

test('every action.yaml input and output is documented in the README, in order', () => {
  const names = [...readme.matchAll(/^\| `([a-z0-9_-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(names, [...Object.keys(action.inputs), ...Object.keys(action.outputs)]);
});

test('the README opens with the demo and test commands that package.json defines', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const firstBlock = readme.split('```sh')[1].split('```')[0];
  assert.match(firstBlock, /^npm run demo\b/m);
  assert.match(firstBlock, /^npm test\b/m);
  assert.ok(pkg.scripts.demo && pkg.scripts.test);
});

test('action.yaml runs the committed bundle on node24', () => {
  assert.equal(action.runs.using, 'node24');
  assert.equal(action.runs.main, 'dist/index.js');
});
