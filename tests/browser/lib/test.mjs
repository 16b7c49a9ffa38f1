// node:test with a per-test time limit, so one stuck page or peer fails its
// own test instead of hanging the run (the option works on Node.js 18, which
// is Debian 12's, where --test-timeout does not exist yet).
import { test as nodeTest } from 'node:test';

export { after, before } from 'node:test';

export const TEST_TIMEOUT_MS = 120_000;

export function test(name, fn) {
  return nodeTest(name, { timeout: TEST_TIMEOUT_MS }, fn);
}
