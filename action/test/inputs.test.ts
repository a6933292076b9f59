import assert from "node:assert/strict";
import { test } from "node:test";

import { readConfig } from "../src/inputs";

test("reads each named input and passes the environment's strings", () => {
  const asked: string[] = [];
  const config = readConfig(
    ["mode", "token", "labels"],
    { GITHUB_RUN_ID: "42", AWS_REGION: "eu-west-1", UNSET: undefined },
    (name) => {
      asked.push(name);
      return name === "mode" ? "start" : "";
    },
  );

  assert.deepEqual(asked, ["mode", "token", "labels"]);
  // Unset inputs are "" (the core applies the defaults).
  assert.deepEqual(config.inputs, { mode: "start", token: "", labels: "" });
  assert.deepEqual(config.env, { GITHUB_RUN_ID: "42", AWS_REGION: "eu-west-1" });
});

test("random is 16 fresh bytes of hex each time", () => {
  const a = readConfig([], {}, () => "").random;
  const b = readConfig([], {}, () => "").random;
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, b);
});

test("core.getInput reads INPUT_<NAME> the way the runner sets it", () => {
  // The default getInput, as the action uses it: names with dashes keep
  // them, upper-cased (e.g. INPUT_TASK-DEFINITION), and values are trimmed.
  process.env["INPUT_TASK-DEFINITION"] = "  runner:3 \n";
  try {
    assert.equal(readConfig(["task-definition"], {}).inputs["task-definition"], "runner:3");
  } finally {
    delete process.env["INPUT_TASK-DEFINITION"];
  }
});
