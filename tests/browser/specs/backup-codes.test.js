// Settings → Two-factor authentication → Backup codes: the list (used codes struck through),
// Copy codes, Download, Save as image, Print, Get new codes, and the low-codes warnings.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startEnv, uniqueName, signUp, logOut, submitLogin, clickAndWait, pathOf, submitCode,
  enableTotp, backupCodesOnPage, getNewCodes, screenshot, GOOD_PASSWORD,
} from '../lib/harness.js';

const PAGE = '/settings/two-factor/backup-codes';
/** The codes in a copied or downloaded text, one a line between its label and its advice. */
const codeLines = (text) => text.split('\n').filter((l) => /^\d{4} \d{4}$/.test(l));
/** The message for a refused code: `what`, then "(N tries left)." */
const triesLeft = (what) => new RegExp(`^${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d tr(y|ies) left\\)\\.$`);
// A refused code's message ends with the tries the login attempt has left: "(4 tries left)."
const WRONG = "That code isn't right; check it and try again";
const NEW_CODES = 'Here are your new backup codes. The old ones no longer work.';

/** Password, then a backup code (typed as shown); resolves to where the browser landed. */
async function logInWithBackupCode(page, name, code) {
  await submitLogin(page, name, GOOD_PASSWORD);
  assert.equal(new URL(page.url()).pathname, '/login/two-factor');
  await clickAndWait(page, page.locator('#try-another-way'));
  await clickAndWait(page, page.getByRole('link', { name: 'Use a backup code' }));
  assert.equal(await page.locator('h1').innerText(), 'Enter a backup code');
  const res = await submitCode(page, code);
  return { res, path: pathOf(page) };
}

/** Clicks a download link; resolves to { name, bytes }. */
async function download(page, locator) {
  const [dl] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  const failure = await dl.failure();
  assert.equal(failure, null, `download failed: ${failure}`);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

describe('backup codes', () => {
  let env;
  const name = uniqueName('bea');
  let codes; // the first batch, as shown when 2FA was turned on
  let page; // logged in with codes[3]

  before(async () => {
    env = await startEnv();
    const setup = await env.page();
    await signUp(setup, name);
    ({ codes } = await enableTotp(setup));
    assert.equal(codes.length, 10);
    await logOut(setup);
    await setup.context().close();

    const ctx = await env.context({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
    page = await ctx.newPage();
    const { path } = await logInWithBackupCode(page, name, codes[3]);
    assert.equal(path, '/?backup_left=9');
  });
  after(async () => { await env?.stop(); });

  it('lists the codes with the used one struck through; 9 of 10 left; not cached', async () => {
    const res = await page.goto(PAGE);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    assert.equal(await page.locator('h1').innerText(), 'Backup codes');
    assert.match(await page.locator('p.lead').innerText(), /Try another way.*Each code works once/s);

    const listed = await backupCodesOnPage(page);
    assert.deepEqual(listed.map((c) => c.code), codes, 'the same codes, in the same order');
    assert.deepEqual(listed.map((c) => c.used), codes.map((_, i) => i === 3));

    const used = page.locator('ol.codes > li.used');
    assert.equal(await used.count(), 1);
    assert.equal(await used.locator('span.code').innerText(), codes[3]);
    assert.match(await used.locator('span.code').evaluate((e) => getComputedStyle(e).textDecorationLine), /line-through/);
    assert.equal(await used.locator('.used-label').innerText(), 'used');
    const unused = page.locator('ol.codes > li:not(.used)').first();
    assert.equal(await unused.locator('span.code').evaluate((e) => getComputedStyle(e).textDecorationLine), 'none');
    assert.equal(await unused.locator('.used-label').count(), 0);

    assert.match(await page.locator('#codes p.meta').innerText(), /^Made \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC · 9 of 10 left$/);
    assert.equal(await page.locator('main .notice.warn, main .notice.bad').count(), 0, 'no warning with 9 left');

    // The buttons the script turns on, and the download links.
    for (const label of ['Copy codes', 'Print']) {
      assert.ok(await page.getByRole('button', { name: label }).isVisible(), label);
    }
    assert.equal(await page.getByRole('link', { name: 'Download' }).getAttribute('download'), `twofold-backup-codes-${name}.txt`);
    assert.equal(await page.getByRole('link', { name: 'Save as image' }).getAttribute('download'), `twofold-backup-codes-${name}.png`);
    assert.equal(await page.getByRole('link', { name: 'Save as image' }).getAttribute('href'), `${PAGE}.png`);

    await page.goto('/settings/two-factor');
    assert.match(await page.locator('#additional').innerText(), /9 of 10 left/);
  });

  it('"Copy codes" puts the unused codes on the clipboard', async () => {
    await page.goto(PAGE);
    await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
    const button = page.locator('#copy-codes');
    await button.click();
    // The label says "Copied" for a moment (2.5 s), then goes back.
    await page.waitForFunction(() => document.getElementById('copy-codes').textContent === 'Copied', null, { timeout: 2_000 });
    assert.equal(await page.locator('#copy-status').innerText(), 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    // The label first, then the unused codes one a line, then the advice.
    assert.ok(copied.startsWith(`Twofold backup codes for @${name}\n`), copied);
    assert.deepEqual(codeLines(copied), codes.filter((_, i) => i !== 3));
    assert.match(copied, /\nEach code works once\. Getting new codes cancels these\.\n/);
    await page.waitForFunction(() => document.getElementById('copy-codes').textContent === 'Copy codes', null, { timeout: 5_000 });
  });

  it('"Download" saves a text file with the codes', async () => {
    await page.goto(PAGE);
    const { name: file, bytes } = await download(page, page.getByRole('link', { name: 'Download' }));
    assert.equal(file, `twofold-backup-codes-${name}.txt`);
    // The label, then one code a line in the order shown with the used one marked, then the
    // advice.
    const text = bytes.toString('utf8');
    const lines = text.split('\n');
    assert.equal(lines[0], `Twofold backup codes for @${name}`);
    assert.match(lines[1], new RegExp(`^${new URL(env.url).host.replace(/\./g, '\\.')} · made `));
    const expected = codes.map((code, i) => (i === 3 ? `${code} (used)` : code));
    assert.deepEqual(lines.slice(3, 3 + codes.length), expected);
    assert.equal(lines[3 + codes.length], '');
    assert.match(text, /Each code works once/);
  });

  it('"Save as image" saves a PNG', async () => {
    await page.goto(PAGE);
    const { name: file, bytes } = await download(page, page.getByRole('link', { name: 'Save as image' }));
    assert.equal(file, `twofold-backup-codes-${name}.png`);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    assert.ok(width >= 200 && height >= 200, `${width}x${height}`);
  });

  it('"Print" prints, and the print view shows only the codes', async () => {
    await page.goto(PAGE);
    await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
    await page.getByRole('button', { name: 'Print' }).click();
    assert.equal(await page.evaluate(() => window.__printed), 1);

    assert.equal(await page.locator('.print-only').first().isVisible(), false, 'print heading only in print');
    await page.emulateMedia({ media: 'print' });
    try {
      for (const sel of ['header.top', 'h1', 'p.lead', '.actions', '#copy-codes', '#print-codes', '#new-codes', 'main > p.no-print']) {
        assert.equal(await page.locator(sel).first().isVisible(), false, `${sel} is hidden in print`);
      }
      const heading = page.locator('div.print-only');
      assert.ok(await heading.isVisible());
      const [title, subtitle] = (await heading.innerText()).split('\n');
      assert.equal(title, `Twofold backup codes for @${name}`);
      assert.match(subtitle, / · made \d{1,2} [A-Z][a-z]{2} \d{4}/);
      assert.ok(await page.locator('p.print-only', { hasText: 'Each code works once' }).isVisible());
      assert.ok(await page.locator('ol.codes').isVisible());
      const visibleCodes = await page.locator('ol.codes span.code').evaluateAll(
        (els) => els.filter((e) => e.getClientRects().length > 0).map((e) => e.textContent.trim()),
      );
      assert.deepEqual(visibleCodes, codes);
      assert.match(await page.locator('#codes p.meta').innerText(), /9 of 10 left/);
      await screenshot(page, 'backup-codes-print');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  });

  it('"Get new codes" makes 10 new codes and the old ones stop working', async () => {
    await page.goto(PAGE);
    const res = await getNewCodes(page);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    assert.equal(await page.locator('p.notice.ok').innerText(), NEW_CODES);
    const fresh = (await backupCodesOnPage(page));
    assert.equal(fresh.length, 10);
    assert.ok(fresh.every((c) => !c.used && /^\d{4} \d{4}$/.test(c.code)));
    const newCodes = fresh.map((c) => c.code);
    assert.equal(newCodes.filter((c) => codes.includes(c)).length, 0, 'no old code in the new batch');
    assert.match(await page.locator('#codes p.meta').innerText(), /10 of 10 left/);
    // The page shows the new batch from now on.
    await page.goto(PAGE);
    assert.deepEqual((await backupCodesOnPage(page)).map((c) => c.code), newCodes);

    // An old code that was never used no longer logs in; a new one does.
    const other = await env.page();
    let r = await logInWithBackupCode(other, name, codes[5]);
    assert.equal(r.res.status(), 401);
    assert.match(await other.locator('#code-error').innerText(), triesLeft(WRONG));
    r = await logInWithBackupCode(other, name, newCodes[0]);
    assert.equal(r.path, '/?backup_left=9');
    await other.context().close();
    codes = newCodes;
  });

  it('warns when 2 or fewer codes are left, and when none are', async () => {
    const other = await env.page();
    // codes[0] of the new batch is used; use codes[1..7]: 2 left.
    for (let i = 1; i <= 7; i += 1) {
      const r = await logInWithBackupCode(other, name, codes[i]);
      assert.equal(r.path, `/?backup_left=${9 - i}`);
      if (i < 7) await logOut(other);
    }
    const homeWarn = other.locator('main p.notice.warn');
    assert.equal(await homeWarn.innerText(),
      'You logged in with a backup code. Only 2 backup codes left. Get new codes so you can still log in if you lose your phone.');
    assert.equal(await homeWarn.getByRole('link', { name: 'Get new codes' }).getAttribute('href'), PAGE);

    await page.goto(PAGE);
    assert.equal(await page.locator('main p.notice.warn').innerText(), 'Only 2 backup codes left. Get new codes soon.');
    assert.equal(await page.locator('ol.codes > li.used').count(), 8);
    assert.match(await page.locator('#codes p.meta').innerText(), /2 of 10 left/);
    await page.locator('#copy-codes').click();
    await page.waitForFunction(() => document.getElementById('copy-codes').textContent === 'Copied', null, { timeout: 2_000 });
    assert.deepEqual(codeLines(await page.evaluate(() => navigator.clipboard.readText())), codes.slice(8));
    await page.goto('/settings/two-factor');
    assert.match(await page.locator('#additional p.notice.warn').innerText(), /^Only 2 backup codes left\./);

    await logOut(other);
    let r = await logInWithBackupCode(other, name, codes[8]);
    assert.equal(r.path, '/?backup_left=1');
    assert.match(await other.locator('main p.notice.warn').innerText(), /Only 1 backup code left\./);
    await logOut(other);
    r = await logInWithBackupCode(other, name, codes[9]);
    assert.equal(r.path, '/?backup_left=0');
    assert.match(await other.locator('main p.notice.warn').innerText(), /You have no backup codes left\./);

    await page.goto(PAGE);
    assert.match(await page.locator('main p.notice.bad').innerText(), /^You've used all your backup codes\./);
    assert.equal(await page.locator('ol.codes > li.used').count(), 10);
    assert.match(await page.locator('#codes p.meta').innerText(), /0 of 10 left/);
    await other.context().close();
  });
});
