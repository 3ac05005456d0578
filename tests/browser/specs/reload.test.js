// Post/redirect/get: a reload never replaces the codes the user just saved. Turning
// two-factor on (with the app or the phone) and "Get new codes" end on a page that reads the
// batch back, so reloading it shows the same codes and makes no other batch.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, pathOf, enableTotp, enableSms, backupCodesOnPage, getNewCodes,
} from '../lib/harness.js';

const SAVE = '/settings/two-factor/backup-codes/save';
const codesOf = async (page) => (await backupCodesOnPage(page)).map((c) => c.code);
const madeLine = (page) => page.locator('#codes p.meta').innerText();

/** The login-activity entries that say a new batch replaced the old one. */
async function batchesMade(page) {
  await page.goto('/settings/security');
  const rows = await page.locator('#activity tr td:first-child strong').allInnerTexts();
  return rows.filter((t) => t === 'Got new backup codes').length;
}

/** Reloads the page; checks it is the same GET page with the same codes and date. */
async function reloadKeeps(page, codes, made) {
  const url = pathOf(page);
  const res = await page.reload();
  assert.equal(res.request().method(), 'GET', 'a reload is a GET');
  assert.equal(res.status(), 200);
  assert.equal(pathOf(page), url);
  assert.deepEqual(await codesOf(page), codes, 'the same codes after a reload');
  assert.equal(await madeLine(page), made, 'the same batch (same date) after a reload');
}

describe('reload after codes were made', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('turning two-factor on with the app: a reload shows the same codes, not a new QR code', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('rita'));
    const { codes, app } = await enableTotp(page);
    assert.equal(codes.length, 10);
    assert.equal(pathOf(page), `${SAVE}?made=on`);
    const made = await madeLine(page);
    await reloadKeeps(page, codes, made);
    assert.equal(await page.locator('img.qr').count(), 0, 'no QR code');
    assert.equal(await page.locator('p.notice.ok').innerText(), 'Two-factor authentication is on.');
    // The app set up is still the one (the reload started nothing new).
    await page.goto('/settings/two-factor');
    assert.match(await page.locator('#totp').innerText(), /Set up\s+Added /);
    assert.match(await page.locator('#additional').innerText(), /10 of 10 left/);
    assert.ok(app.secret.length >= 26);
    await page.goto('/settings/two-factor/backup-codes');
    assert.deepEqual(await codesOf(page), codes);
    await page.context().close();
  });

  it('turning two-factor on with the phone: a reload shows the same codes', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('rosa'));
    const { codes } = await enableSms(page, env.dataDir, '+1 415 555 2699');
    assert.equal(codes.length, 10);
    assert.equal(pathOf(page), `${SAVE}?made=on`);
    await reloadKeeps(page, codes, await madeLine(page));
    await page.goto('/settings/two-factor/backup-codes');
    assert.deepEqual(await codesOf(page), codes);
    await page.context().close();
  });

  it('"Get new codes": a reload shows the same new codes and makes no other batch', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('ruth'));
    const { codes: first } = await enableTotp(page);
    assert.equal(await batchesMade(page), 0);

    await page.goto('/settings/two-factor/backup-codes');
    await getNewCodes(page);
    assert.equal(pathOf(page), `${SAVE}?made=new`);
    const fresh = await codesOf(page);
    assert.equal(fresh.length, 10);
    assert.notDeepEqual(fresh, first);
    const made = await madeLine(page);
    await reloadKeeps(page, fresh, made);
    await reloadKeeps(page, fresh, made);
    assert.equal(await batchesMade(page), 1, 'one batch made, however often the page is reloaded');
    await page.goto('/settings/two-factor/backup-codes');
    assert.deepEqual(await codesOf(page), fresh);

    // Going back to the page after the redirect is a GET too.
    await page.goto(`${SAVE}?made=new`);
    await page.goto('/settings/security');
    await page.goBack();
    assert.equal(pathOf(page), `${SAVE}?made=new`);
    assert.deepEqual(await codesOf(page), fresh);
    assert.equal(await batchesMade(page), 1);
    await page.context().close();
  });
});
