// Stands in for @actions/http-client and @actions/exec in dist/index.js
// (bundle.mjs). @actions/core imports them only for core.getIDToken (OIDC)
// and core.platform, which the action never uses; bundled, they (and undici)
// would make dist/index.js 20 times larger and every start 40 ms slower.
// Should @actions/core ever call them from a function we use, the step fails
// with this message instead of doing something unexpected.
function notBundled() {
  throw new Error("ecs-runner: @actions/http-client and @actions/exec are not bundled");
}

export class HttpClient {
  constructor() {
    notBundled();
  }
}
export class BearerCredentialHandler {
  constructor() {
    notBundled();
  }
}
export const exec = notBundled;
export const getExecOutput = notBundled;
