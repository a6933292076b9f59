// Writes the README's inputs and outputs tables from action.yaml, the one
// source of truth. `--check` only compares and exits 1 when they differ
// (tests/readme.test.mjs runs that).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

function cell(text) {
  return String(text ?? '').trim().replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

export function tables(actionYaml) {
  const action = YAML.parse(actionYaml);
  const inputs = ['| Input | Default | Description |', '|---|---|---|'];
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const def = spec.default === undefined ? '' : `\`${cell(spec.default)}\``;
    inputs.push(`| \`${name}\` | ${def} | ${cell(spec.description)} |`);
  }
  const outputs = ['| Output | Description |', '|---|---|'];
  for (const [name, spec] of Object.entries(action.outputs ?? {})) {
    outputs.push(`| \`${name}\` | ${cell(spec.description)} |`);
  }
  return { inputs: inputs.join('\n'), outputs: outputs.join('\n') };
}

export function render(readme, actionYaml) {
  const t = tables(actionYaml);
  const put = (text, marker, table) => {
    const re = new RegExp(`(<!-- ${marker}:[^>]*-->\\n)[\\s\\S]*?(\\n<!-- /${marker} -->)`);
    if (!re.test(text)) throw new Error(`README.md has no <!-- ${marker}: --> section`);
    return text.replace(re, (_, open, close) => `${open}${table}${close}`);
  };
  return put(put(readme, 'inputs-table', t.inputs), 'outputs-table', t.outputs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readmePath = path.join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const next = render(readme, readFileSync(path.join(root, 'action.yaml'), 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md tables differ from action.yaml: run `node scripts/readme-tables.mjs`');
      process.exit(1);
    }
  } else if (next !== readme) {
    writeFileSync(readmePath, next);
    console.log('README.md tables updated');
  }
}
