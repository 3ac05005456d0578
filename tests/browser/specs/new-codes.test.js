// "Get new codes" asks first: on the codes page it is a secondary action that leads to a
// confirmation page ("Your 10 current codes will stop working"), which works without
// JavaScript; only "Yes, get new codes" makes a batch, Cancel keeps the codes.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, enableTotp, backupCodesOnPage,
  screenshot, VIEWPORTS,
} from '../lib/harness.js';

const PAGE = '/settings/two-factor/backup-codes';
const CONFIRM = `${PAGE}/new`;
const codesOf = async (page) => (await backupCodesOnPage(page)).map((c) => c.code);

/** The login-activity entries that say a new batch replaced the old one. */
async function batchesMade(page) {
  await page.goto('/settings/security');
  const rows = await page.locator('#activity tr td:first-child strong').allInnerTexts();
  return rows.filter((t) => t === 'Got new backup codes').length;
}

/** Background and text colour of an element, and those of a primary (plain) button. */
async function looks(locator) {
  return locator.evaluate((e) => {
    const probe = document.createElement('button');
    document.body.appendChild(probe);
    const p = getComputedStyle(probe);
    const primary = { bg: p.backgroundColor, color: p.color };
    probe.remove();
    const s = getComputedStyle(e);
    return { bg: s.backgroundColor, color: s.color, border: s.borderTopWidth, primary };
  });
}

describe('Get new codes asks first', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('without JavaScript: a secondary link, a confirmation page, Cancel keeps the codes, Yes makes new ones', async () => {
    const ctx = await env.context({ viewport: VIEWPORTS.desktop, javaScriptEnabled: false });
    const page = await ctx.newPage();
    await signUp(page, uniqueName('nora'));
    const { codes } = await enableTotp(page);
    assert.equal(codes.length, 10);

    await page.goto(PAGE);
    // A link styled as a secondary action (like Save as image), not a button that acts.
    const link = page.locator('#new-codes').getByRole('link', { name: 'Get new codes' });
    assert.equal(await link.getAttribute('href'), CONFIRM);
    assert.equal(await page.getByRole('button', { name: /new codes/i }).count(), 0, 'no button makes codes on this page');
    assert.equal(await page.locator(`form[action="${PAGE}"]`).count(), 0);
    const look = await looks(link);
    const secondary = await looks(page.getByRole('link', { name: 'Save as image' }));
    assert.equal(look.bg, secondary.bg, 'the background of a secondary button');
    assert.equal(look.color, secondary.color);
    assert.notEqual(look.bg, look.primary.bg, 'not the primary style');

    // The confirmation page says what will happen; nothing happened yet.
    await clickAndWait(page, link);
    assert.equal(pathOf(page), CONFIRM);
    assert.equal(await page.locator('h1').innerText(), 'Get new backup codes?');
    assert.match(await page.locator('main').innerText(), /Your 10 current codes will stop working\./);
    await screenshot(page, 'new-codes-confirm');
    await clickAndWait(page, page.getByRole('link', { name: 'Cancel, keep my codes' }));
    assert.equal(pathOf(page), PAGE);
    assert.deepEqual(await codesOf(page), codes, 'Cancel keeps the codes');
    assert.equal(await batchesMade(page), 0);

    // "Yes, get new codes" makes a new batch and shows it on the save page.
    await page.goto(PAGE);
    await clickAndWait(page, page.locator('#new-codes').getByRole('link', { name: 'Get new codes' }));
    const res = await clickAndWait(page, page.getByRole('button', { name: 'Yes, get new codes' }));
    assert.equal(res.status(), 200);
    assert.equal(pathOf(page), `${PAGE}/save?made=new`);
    const fresh = await codesOf(page);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((c) => codes.includes(c)).length <= 1, true, 'a new batch');
    assert.equal(await batchesMade(page), 1);
    await ctx.close();
  });

  it('phone: the confirmation page fits and its button is easy to tap', async () => {
    const ctx = await env.context({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    await signUp(page, uniqueName('nell'));
    await enableTotp(page);
    await page.goto(CONFIRM);
    const yes = await page.getByRole('button', { name: 'Yes, get new codes' }).boundingBox();
    assert.ok(yes.height >= 43.9 && yes.y + yes.height <= VIEWPORTS.phone.height, JSON.stringify(yes));
    await screenshot(page, 'new-codes-confirm-phone');
    await ctx.close();
  });
});
