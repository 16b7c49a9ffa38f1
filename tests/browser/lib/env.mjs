// What tests/browser/run.sh started, handed over in environment variables.
// A test run outside run.sh fails at once with the name of what is missing.
import assert from 'node:assert/strict';

function required(name) {
  const value = process.env[name];
  assert.ok(value, `environment variable ${name} is not set: run the tests through tests/browser/run.sh`);
  return value;
}

export const env = {
  // The server with iSCSI over TLS configured (plain + TLS portals).
  get tlsOrigin() { return required('SCSIPUB_BROWSER_TLS_ORIGIN'); },
  get tlsIscsiPort() { return Number(required('SCSIPUB_BROWSER_TLS_ISCSI_PORT')); },
  get tlsPortalPort() { return Number(required('SCSIPUB_BROWSER_TLS_PORTAL_PORT')); },
  // The same catalog on a server without TLS.
  get plainOrigin() { return required('SCSIPUB_BROWSER_PLAIN_ORIGIN'); },
  // An operator token of the TLS server (`scsipub admin token create`).
  get operatorToken() {
    const token = process.env.SCSIPUB_BROWSER_OPERATOR_TOKEN;
    assert.ok(token, 'no operator token: `scsipub admin token create` failed (run.sh logged why)');
    return token;
  },
  // tests/browser/held_session: one libiscsi login held until told to log out.
  get heldSessionBin() { return required('SCSIPUB_BROWSER_HELD_SESSION'); },
  // Catalog names of the images directory run.sh made (besides blank, multi).
  get imageNames() { return required('SCSIPUB_BROWSER_IMAGES').split(','); },
};

// GET a JSON document; returns { status, headers, body } with body parsed when
// the answer is JSON (else the text). Bounded by a timeout.
export async function httpGet(url, { headers = {}, redirect = 'manual' } = {}) {
  const res = await fetch(url, { headers, redirect, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body = text;
  if ((res.headers.get('content-type') || '').includes('json')) {
    try { body = JSON.parse(text); } catch { /* left as text: the test says what it wanted */ }
  }
  return { status: res.status, headers: res.headers, body, text };
}

export async function httpRequest(method, url, { headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

// Polls `probe` (async, returns a truthy value when done) every 50 ms until it
// answers or `ms` pass. Returns { value, elapsedMs } or throws with `what`.
export async function within(ms, what, probe) {
  const start = Date.now();
  let last;
  for (;;) {
    last = await probe();
    if (last) return { value: last, elapsedMs: Date.now() - start };
    if (Date.now() - start > ms) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

// The headers every HTML page carries (docs/SECURITY.md, security headers on
// every HTML page). Chromium enforces the CSP, so an inline
// script or style the pages slipped in shows as a console error too.
export function assertSecurityHeaders(headers, what) {
  const get = (n) => (typeof headers.get === 'function' ? headers.get(n) : headers[n]) || '';
  const csp = get('content-security-policy');
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
    "base-uri 'none'", "form-action 'self'"]) {
    assert.ok(csp.includes(directive), `${what}: CSP has ${directive}: '${csp}'`);
  }
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${what}: CSP allows nothing unsafe: '${csp}'`);
  assert.equal(get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal(get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
}
