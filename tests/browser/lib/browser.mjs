// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
// by playwright-core (which never downloads a browser of its own).
//
// Every page a test opens goes through openPage(), which records console
// errors, uncaught page errors, dialogs and failed requests, so each test can
// end with assertNoPageProblems() (no console errors, no failed requests).
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SCSIPUB_CHROMIUM || '/usr/bin/chromium';

// Every step of a test waits at most this long; a run never hangs on a page.
export const STEP_TIMEOUT_MS = 10_000;

// As root Chromium refuses to start with its sandbox; this machine has no
// network beyond the package registries, so the background services that
// phone home (component updates, sync, QUIC probes) are turned off: they only
// fill the log with refused connections.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

// A fresh context (own cookies, own clipboard permission) for one origin.
export async function newContext(browser, { origin, viewport, clipboard = false } = {}) {
  const context = await browser.newContext({
    viewport: viewport || { width: 1280, height: 900 },
    ...(origin ? { baseURL: origin } : {}),
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  if (clipboard) {
    // http://127.0.0.1 is a secure context, so navigator.clipboard exists;
    // reading it back needs the permission too.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], origin ? { origin } : undefined);
  }
  return context;
}

// Opens a page in `context` that records what went wrong while it lived.
export async function openPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} (${msg.location().url || ''})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', async (dialog) => {
    problems.push(`dialog ${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss().catch(() => {});
  });
  page.on('requestfailed', (req) => {
    const failure = req.failure();
    // A navigation that a test itself replaced (a 303 followed by the next
    // goto) is aborted on purpose; anything else is a broken asset.
    if (failure && failure.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${req.method()} ${req.url()}: ${failure.errorText}`);
    }
  });
  page.problems = problems;
  return page;
}

export function assertNoPageProblems(page, what) {
  assert.deepEqual(page.problems, [], `${what}: console errors, page errors, dialogs or failed requests`);
}

// Widths of the document against the viewport: a page "works at 375 px" when
// nothing makes the page itself scroll sideways (a table may scroll inside
// its own overflow container; that does not widen the document).
export async function horizontalOverflow(page) {
  return page.evaluate(() => ({
    viewport: window.innerWidth,
    document: document.documentElement.scrollWidth,
    body: document.body ? document.body.scrollWidth : 0,
  }));
}

// Runs `body(page)` on a fresh page of `context`; on failure saves a
// screenshot to $SCSIPUB_BROWSER_ARTIFACTS (run.sh prints where) and rethrows.
export async function onPage(context, name, body) {
  const page = await openPage(context);
  try {
    return await body(page);
  } catch (err) {
    const dir = process.env.SCSIPUB_BROWSER_ARTIFACTS;
    if (dir) {
      const file = `${dir}/${name.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`;
      await page.screenshot({ path: file, fullPage: true, timeout: 5_000 }).catch(() => {});
      err.message += `\n(screenshot: ${file}; page problems: ${JSON.stringify(page.problems)})`;
    }
    throw err;
  } finally {
    await page.close().catch(() => {});
  }
}
