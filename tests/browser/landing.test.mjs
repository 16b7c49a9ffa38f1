// The landing page in a real browser: the catalog of the
// test images dir, the TLS block only when TLS is on, copy buttons that copy
// exactly what /api/v1/images generates, a copied libiscsi command that logs
// in, no console errors, 375 px wide, usable with the keyboard alone.
// Selectors: the ones src/web/landing_page.h promises.
import assert from 'node:assert/strict';
import { after, before, test } from './lib/test.mjs';
import { assertNoPageProblems, horizontalOverflow, launchBrowser, newContext, onPage } from './lib/browser.mjs';
import { assertSecurityHeaders, env, httpGet } from './lib/env.mjs';
import { runShell } from './lib/peers.mjs';

let browser;
let catalog; // /api/v1/images of the TLS server
before(async () => {
  browser = await launchBrowser();
  const api = await httpGet(`${env.tlsOrigin}/api/v1/images`);
  assert.equal(api.status, 200, `/api/v1/images: ${api.text.slice(0, 200)}`);
  catalog = api.body.images;
});
after(async () => { await browser?.close(); });

const CATALOG_NAMES = () => [...env.imageNames, 'blank', 'multi'].sort();
const apiImage = (name) => catalog.find((i) => i.name === name);

// [name, text] of every [data-image] element in #catalog.
async function catalogEntries(page) {
  return page.$$eval('#catalog [data-image]', (els) => els.map((e) => [e.getAttribute('data-image'), e.textContent]));
}

// The <code> element of image `name`'s `kind` command: the element carrying
// data-command, or the code inside it.
async function commandCode(page, name, kind) {
  const sel = `#catalog [data-image="${name}"] [data-command="${kind}"]`;
  const handle = await page.$(sel);
  assert.ok(handle, `${sel} exists`);
  const code = (await handle.evaluate((e) => e.tagName)) === 'CODE' ? handle : await handle.$('code');
  assert.ok(code, `${sel} is or holds a <code>`);
  return code;
}

test('landing: the catalog lists the test images dir (alpha, beta, blank, multi) with their IQNs', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin });
  await onPage(context, 'landing-catalog', async (page) => {
    const res = await page.goto('/');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'] || '', /text\/html/);
    await page.locator('#try-it').waitFor();
    const entries = await catalogEntries(page);
    assert.deepEqual(entries.map(([n]) => n).sort(), CATALOG_NAMES());
    for (const [name, text] of entries) {
      const api = apiImage(name);
      if (api) assert.ok(text.includes(api.target), `[data-image=${name}] shows its IQN ${api.target}`);
    }
    assertNoPageProblems(page, 'GET /');
  });
  await context.close();
});

test('landing: the TLS block is shown when TLS is on, with the TLS portal', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin });
  await onPage(context, 'landing-tls-on', async (page) => {
    await page.goto('/');
    assert.equal(await page.locator('#tls').count(), 1);
    const text = await page.locator('#tls').textContent();
    assert.ok(text.includes(`:${env.tlsPortalPort}`), `#tls names the TLS portal port ${env.tlsPortalPort}`);
    assert.match(text, /-o new/, '#tls has the static-login sequence');
    assertNoPageProblems(page, 'GET / (TLS)');
  });
  await context.close();
});

test('landing: no TLS block on a server without TLS; same catalog', async () => {
  const context = await newContext(browser, { origin: env.plainOrigin });
  await onPage(context, 'landing-tls-off', async (page) => {
    const res = await page.goto('/');
    assert.equal(res.status(), 200);
    assert.equal(await page.locator('#tls').count(), 0);
    assert.deepEqual((await catalogEntries(page)).map(([n]) => n).sort(), CATALOG_NAMES());
    assertNoPageProblems(page, 'GET / (no TLS)');
  });
  await context.close();
});

test('landing: every command shown is the one /api/v1/images generates', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin });
  await onPage(context, 'landing-commands', async (page) => {
    await page.goto('/');
    let compared = 0;
    for (const image of catalog) {
      assert.ok(image.commands && typeof image.commands === 'object', `/api/v1/images ${image.name} has "commands"`);
      // The kinds the page marks with data-command (contract); the API may
      // carry more (a bare URL, the cleanup lines).
      for (const kind of ['iscsiadm', 'qemu', 'ipxe', 'libiscsi', 'powershell']) {
        const command = image.commands[kind];
        assert.equal(typeof command, 'string', `/api/v1/images ${image.name} commands.${kind}`);
        const code = await commandCode(page, image.name, kind);
        assert.equal(await code.evaluate((e) => e.textContent), command, `${image.name} ${kind}`);
        compared++;
      }
    }
    assert.equal(compared, catalog.length * 5, `compared ${compared} commands`);
  });
  await context.close();
});

test('landing: the blank libiscsi copy button copies the API text byte for byte, and it logs in', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin, clipboard: true });
  const want = apiImage('blank')?.commands?.libiscsi;
  assert.equal(typeof want, 'string', '/api/v1/images blank commands.libiscsi');
  const copied = await onPage(context, 'landing-copy', async (page) => {
    await page.goto('/');
    const code = await commandCode(page, 'blank', 'libiscsi');
    const id = await code.evaluate((e) => e.id);
    assert.ok(id, 'the libiscsi <code> has an id');
    await page.evaluate(() => navigator.clipboard.writeText('not copied yet'));
    await page.click(`button.copy[data-copy="${id}"]`);
    const text = await page.evaluate(() => navigator.clipboard.readText());
    assertNoPageProblems(page, 'copy button');
    return text;
  });
  await context.close();
  assert.equal(Buffer.from(copied).toString('hex'), Buffer.from(want).toString('hex'), 'clipboard == commands.libiscsi');
  // Run exactly what was copied, as a user pasting it into a shell would.
  const run = await runShell(copied);
  assert.equal(run.code, 0, `'${copied}' exited ${run.code}: ${run.stderr}`);
  assert.match(run.stdout, /vendor/i, 'inquiry output');
});

test('landing: every copy button copies its own code element exactly', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin, clipboard: true });
  await onPage(context, 'landing-all-copies', async (page) => {
    await page.goto('/');
    const buttons = await page.$$eval('button.copy', (bs) => bs.map((b) => b.getAttribute('data-copy')));
    assert.ok(buttons.length >= CATALOG_NAMES().length, `${buttons.length} copy buttons`);
    for (const id of buttons.slice(0, 200)) {
      const want = await page.evaluate((i) => document.getElementById(i)?.textContent ?? null, id);
      assert.notEqual(want, null, `button.copy[data-copy=${id}] points at an element`);
      await page.evaluate(() => navigator.clipboard.writeText(''));
      await page.click(`button.copy[data-copy="${id}"]`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), want, `copy ${id}`);
    }
    assertNoPageProblems(page, 'copy buttons');
  });
  await context.close();
});

test('landing: the status strip holds plain integers', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin });
  await onPage(context, 'landing-status', async (page) => {
    await page.goto('/');
    for (const stat of ['targets', 'sessions']) {
      const text = (await page.locator(`#status [data-stat="${stat}"]`).textContent()).trim();
      assert.match(text, /^\d+$/, `${stat}: '${text}'`);
    }
    assert.equal(await page.locator('#hardware').count(), 1);
  });
  await context.close();
});

test('landing: readable without JavaScript (server-rendered catalog)', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: env.tlsOrigin });
  await onPage(context, 'landing-nojs', async (page) => {
    await page.goto('/');
    assert.deepEqual((await catalogEntries(page)).map(([n]) => n).sort(), CATALOG_NAMES());
    assert.ok(((await page.locator('#try-it').textContent()) || '').includes('127.0.0.1'));
  });
  await context.close();
});

test('landing: / and /docs/api carry the security headers, have no console errors and fit a 375 px viewport', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin, viewport: { width: 375, height: 812 } });
  for (const path of ['/', '/docs/api']) {
    await onPage(context, `landing-375${path}`, async (page) => {
      const res = await page.goto(path);
      assert.equal(res.status(), 200, path);
      assertSecurityHeaders(await res.allHeaders(), path);
      await page.waitForLoadState('load');
      const o = await horizontalOverflow(page);
      assert.ok(o.document <= o.viewport, `${path}: document ${o.document} px wide in a ${o.viewport} px viewport`);
      assertNoPageProblems(page, path);
    });
  }
  await context.close();
});

test('landing: the keyboard alone reaches a copy button, and Enter on it copies', async () => {
  const context = await newContext(browser, { origin: env.tlsOrigin, clipboard: true });
  await onPage(context, 'landing-keyboard', async (page) => {
    await page.goto('/');
    await page.evaluate(() => navigator.clipboard.writeText(''));
    let focused = null;
    for (let i = 0; i < 300 && !focused; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => {
        const a = document.activeElement;
        return a && a.matches('button.copy') ? a.getAttribute('data-copy') : null;
      });
    }
    assert.ok(focused, 'Tab reaches a button.copy within 300 presses');
    await page.keyboard.press('Enter');
    const want = await page.evaluate((i) => document.getElementById(i).textContent, focused);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), want);
    assertNoPageProblems(page, 'keyboard');
  });
  await context.close();
});
