// The save-your-codes moment, right after two-factor was turned on and after "Get new
// codes": on a 375 px phone the save buttons come first and fit the first screen, the codes
// are in two columns, "Done — I've saved them" leads on, and nothing makes another batch.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, enableTotp, backupCodesOnPage, getNewCodes,
  assertNoSidewaysScroll, assertNoAxeViolations, screenshot, VIEWPORTS,
} from '../lib/harness.js';

const SAVE = '/settings/two-factor/backup-codes/save';
const SAVE_BUTTONS = [['button', 'Copy codes'], ['link', 'Save as image'], ['link', 'Download'], ['button', 'Print']];

/** Distinct left edges of the codes (one per column) and how many rows they make. */
async function columns(page) {
  const boxes = await page.locator('ol.codes > li').evaluateAll((lis) => lis.map((li) => {
    const r = li.getBoundingClientRect();
    return { left: Math.round(r.left), top: Math.round(r.top) };
  }));
  return { lefts: new Set(boxes.map((b) => b.left)).size, rows: new Set(boxes.map((b) => b.top)).size };
}

/** Checks the save page as a phone shows it before any scrolling. */
async function checkSavePage(page, label) {
  assert.equal(await page.locator('h1').innerText(), 'Save your backup codes');
  assert.equal(await page.evaluate(() => window.scrollY), 0);
  const height = page.viewportSize().height;
  for (const [role, name] of SAVE_BUTTONS) {
    const box = await page.getByRole(role, { name, exact: true }).boundingBox();
    assert.ok(box, `${label}: ${name} is shown`);
    assert.ok(box.y >= 0 && box.y + box.height <= height, `${label}: ${name} is in the first screen (${box.y}+${box.height} of ${height})`);
  }
  // First: the buttons above the codes, on the page and in reading order.
  const actions = await page.locator('#save-codes').boundingBox();
  const list = await page.locator('ol.codes').boundingBox();
  assert.ok(actions.y + actions.height <= list.y, `${label}: the save buttons come before the codes`);
  assert.ok(await page.locator('#save-codes').evaluate(
    (a) => Boolean(a.compareDocumentPosition(document.querySelector('ol.codes')) & Node.DOCUMENT_POSITION_FOLLOWING),
  ));
  assert.deepEqual(await columns(page), { lefts: 2, rows: 5 }, `${label}: ten codes in two columns`);
  // Nothing on this page makes another batch.
  assert.equal(await page.getByRole('button', { name: /new codes/i }).count(), 0, `${label}: no Get new codes button`);
  assert.equal(await page.getByRole('link', { name: /new codes/i }).count(), 0, `${label}: no Get new codes link`);
  assert.equal(await page.locator('form[action="/settings/two-factor/backup-codes"]').count(), 0);
  // A clear way on: the primary (filled) button style.
  const done = page.getByRole('link', { name: 'Done — I\'ve saved them' });
  assert.equal(await done.getAttribute('href'), '/settings/security');
  const look = await done.evaluate((e) => {
    const s = getComputedStyle(e);
    const probe = document.createElement('button');
    document.body.appendChild(probe);
    const primary = getComputedStyle(probe).backgroundColor;
    probe.remove();
    return { bg: s.backgroundColor, primary };
  });
  assert.equal(look.bg, look.primary, `${label}: Done looks like the primary button`);
  await assertNoSidewaysScroll(page, label);
}

describe('saving the codes', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('phone 375 px: after turning two-factor on, save buttons first, two columns, Done leads on', async () => {
    const ctx = await env.context({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    await signUp(page, uniqueName('sally'));
    const { codes } = await enableTotp(page);
    assert.equal(pathOf(page), `${SAVE}?made=on`);
    assert.equal(codes.length, 10);
    await checkSavePage(page, 'turned on');
    await screenshot(page, 'save-codes-phone');
    await assertNoAxeViolations(page, 'save page, phone');

    await clickAndWait(page, page.getByRole('link', { name: 'Done — I\'ve saved them' }));
    assert.equal(pathOf(page), '/settings/security');
    assert.match(await page.locator('#two-factor h2').innerText(), /On/);

    // The codes page at 375 px: two columns there too, used codes included.
    await page.goto('/settings/two-factor/backup-codes');
    assert.deepEqual(await columns(page), { lefts: 2, rows: 5 });
    await assertNoSidewaysScroll(page, 'codes page');

    // After "Get new codes": the same save page, with the new batch.
    await getNewCodes(page);
    assert.equal(pathOf(page), `${SAVE}?made=new`);
    const fresh = (await backupCodesOnPage(page)).map((c) => c.code);
    assert.notDeepEqual(fresh, codes);
    await checkSavePage(page, 'new codes');
    await ctx.close();
  });

  it('phone 375 px dark and desktop: the save page passes axe-core', async () => {
    for (const [viewport, colorScheme] of [[VIEWPORTS.phone, 'dark'], [VIEWPORTS.desktop, 'light'], [VIEWPORTS.desktop, 'dark']]) {
      const ctx = await env.context({ viewport, colorScheme });
      const page = await ctx.newPage();
      await signUp(page, uniqueName('sam'));
      await enableTotp(page);
      assert.equal(pathOf(page), `${SAVE}?made=on`);
      await assertNoAxeViolations(page, `save page ${viewport.width} ${colorScheme}`);
      await ctx.close();
    }
  });
});
