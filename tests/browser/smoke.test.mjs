// The test infrastructure itself, independent of the pages:
// Chromium starts from playwright-core, the recorders see what they must see,
// the clipboard works on http://127.0.0.1, a held libiscsi session logs in
// and out. If these fail, every other browser test's verdict means nothing.
import assert from 'node:assert/strict';
import { after, before, test } from './lib/test.mjs';
import { launchBrowser, newContext, onPage, openPage, horizontalOverflow } from './lib/browser.mjs';
import { env, httpGet } from './lib/env.mjs';
import { holdSession, runShell, uniqueInitiator } from './lib/peers.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const dataPage = (html) => `data:text/html;charset=utf-8,${encodeURIComponent(html)}`;

test('smoke: Chromium renders a data: URL page and a click changes it', async () => {
  const context = await newContext(browser);
  await onPage(context, 'smoke-data-url', async (page) => {
    await page.goto(dataPage('<p id=p>before</p><button id=b onclick="p.textContent=\'after\'">go</button>'));
    await page.click('#b');
    assert.equal(await page.textContent('#p'), 'after');
    assert.deepEqual(page.problems, []);
  });
  await context.close();
});

test('smoke: the recorders catch console errors, page errors and dialogs', async () => {
  // A recorder that never fires would make every "no console errors" check pass.
  const context = await newContext(browser);
  const page = await openPage(context);
  await page.goto(dataPage('<script>console.error("boom"); setTimeout(() => { alert("hi"); throw new Error("bang"); }, 0)</script>'));
  await page.waitForTimeout(300);
  const problems = page.problems.join('\n');
  assert.match(problems, /console error: boom/);
  assert.match(problems, /dialog alert: hi/);
  assert.match(problems, /page error: bang/);
  await context.close();
});

test('smoke: the overflow probe sees a page wider than a 375 px viewport', async () => {
  const context = await newContext(browser, { viewport: { width: 375, height: 800 } });
  const page = await openPage(context);
  await page.goto(dataPage('<div style="width:900px">wide</div>'));
  const wide = await horizontalOverflow(page);
  assert.equal(wide.viewport, 375);
  assert.ok(wide.document > 375, `document ${wide.document} px`);
  await page.goto(dataPage('<meta name=viewport content="width=device-width"><div style="overflow-x:auto"><table><tr><td style="min-width:900px">t</td></tr></table></div>'));
  const contained = await horizontalOverflow(page);
  assert.ok(contained.document <= 375, `a table in its own scroll container widens the document to ${contained.document} px`);
  await context.close();
});

test('smoke: the JSON catalog of the test images dir, in the browser and over HTTP', async () => {
  const api = await httpGet(`${env.tlsOrigin}/api/v1/images`);
  assert.equal(api.status, 200);
  const names = api.body.images.map((i) => i.name).sort();
  for (const want of [...env.imageNames, 'blank']) assert.ok(names.includes(want), `${want} in ${names}`);
  const context = await newContext(browser, { origin: env.tlsOrigin, clipboard: true });
  await onPage(context, 'smoke-json', async (page) => {
    const res = await page.goto('/api/v1/images');
    assert.equal(res.status(), 200);
    assert.deepEqual(JSON.parse(await page.evaluate(() => document.body.innerText)), api.body);
    // http://127.0.0.1 is a secure context: the clipboard round-trips.
    const text = `scsipub clipboard probe ${Date.now()}`;
    assert.equal(await page.evaluate(async (t) => { await navigator.clipboard.writeText(t); return navigator.clipboard.readText(); }, text), text);
  });
  await context.close();
});

test('smoke: a held libiscsi session logs in and out; iscsi-inq runs from a shell', async () => {
  const api = await httpGet(`${env.tlsOrigin}/api/v1/images`);
  const blank = api.body.images.find((i) => i.name === 'blank');
  const url = `iscsi://127.0.0.1:${env.tlsIscsiPort}/${blank.target}/0`;
  const session = await holdSession(url, uniqueInitiator('smoke'));
  const r = await session.logout();
  assert.equal(r.code, 0, r.lines.join(' | '));
  assert.equal(r.lines.at(-1), 'logged-out');
  const inq = await runShell(`iscsi-inq ${url}`);
  assert.equal(inq.code, 0, inq.stderr);
  assert.match(inq.stdout, /vendor/i);
});
