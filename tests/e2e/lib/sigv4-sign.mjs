// SigV4 signing of the harness's own requests to moto (AWS General Reference,
// "Create a signed AWS API request": canonical request, string to sign,
// signing key), for a moto that checks signatures and IAM
// (moto.mjs `authFreeCalls`): once its free calls are spent, the harness's
// seeding and read-back must be signed with a key moto knows, like any
// client's. Only what the harness sends is handled: POST to `/` with a body,
// no query, no session token.

import crypto from 'node:crypto';

/**
 * The headers to send for a POST of `body` to `url`: `headers` plus
 * `x-amz-date` and an `authorization` signed for `region` and `service`
 * with `accessKeyId` / `secretAccessKey`; every header given is signed, and
 * `host` (fetch sends it from the URL). `now` is for tests.
 */
export function signedHeaders({ url, region, service, headers, body, accessKeyId, secretAccessKey, now = new Date() }) {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const all = { ...lowerCased(headers), host: new URL(url).host, 'x-amz-date': amzDate };
  const names = Object.keys(all).sort();
  const canonical = [
    'POST',
    '/',
    '',
    names.map((n) => `${n}:${String(all[n]).trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    sha256hex(body ?? ''),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  let key = hmac(`AWS4${secretAccessKey}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const signature = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
  const { host: _host, ...sent } = all;
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

function lowerCased(headers = {}) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function sha256hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}
