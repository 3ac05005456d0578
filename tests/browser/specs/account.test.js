// Settings → Your account (issue 25): download your data, and delete the account — with a
// code when two-factor authentication is on — on a phone and a desktop, light and dark, axe
// clean; a wrong code is told and keeps the account.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, submitLogin, clickAndWait, pathOf, enableTotp, enableSms,
  readOutbox, smsCode, assertNoAxeViolations, assertNoSidewaysScroll, VIEWPORTS, GOOD_PASSWORD,
} from '../lib/harness.js';

describe('your account', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });


  it('deletes the account with a texted code, typed wrong once', async () => {
    const name = uniqueName('sms');
    const page = await env.page();
    await signUp(page, name);
    await enableSms(page, env.dataDir, '+1 415 555 0199');
    await page.goto('/settings/account');
    assert.equal(await page.getByLabel('A code from your authentication app').count(), 0, 'no app, no app option');
    await clickAndWait(page, page.getByRole('button', { name: 'Text me a code instead' }));
    assert.match(await page.locator('label[for=code]').innerText(), /Code we texted to/);
    await assertNoAxeViolations(page, 'delete with a texted code');
    const sent = readOutbox(env.dataDir).filter((m) => m.to === '+14155550199');
    const code = smsCode(sent[sent.length - 1].body);
    await page.locator('#code').fill(code === '000000' ? '111111' : '000000');
    await clickAndWait(page, page.getByRole('button', { name: 'Delete my account' }));
    assert.ok(await page.locator('#delete-error').isVisible());
    assert.equal(await page.locator('input[name=method]').getAttribute('value'), 'sms', 'the step is kept');
    await page.locator('#code').fill(code);
    await clickAndWait(page, page.getByRole('button', { name: 'Delete my account' }));
    assert.equal(pathOf(page), '/login?done=account_deleted');
    await page.context().close();
  });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const label = `${device} ${colorScheme}`;
      const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };

      it(`${label}: download the data, then delete with a code`, async () => {
        const name = uniqueName('del');
        const page = await env.page(options);
        const check = async (what) => {
          await assertNoAxeViolations(page, `${label} ${what}`);
          await assertNoSidewaysScroll(page, `${label} ${what}`);
        };
        await signUp(page, name);
        const { app, codes } = await enableTotp(page);
        await page.goto('/settings/security');
        await clickAndWait(page, page.locator('#account-settings').getByRole('link', { name: 'Manage' }));
        assert.equal(pathOf(page), '/settings/account');
        await check('your account');
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('link', { name: 'Download your data' }).click(),
        ]);
        assert.equal(download.suggestedFilename(), 'twofold-data.json');
        const data = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'));
        assert.equal(data.account.username, name);
        assert.ok(!JSON.stringify(data).includes(codes[0]), 'no backup code in the export');

        await page.locator('#code').fill('000000' === (await app.code()) ? '111111' : '000000');
        await clickAndWait(page, page.getByRole('button', { name: 'Delete my account' }));
        assert.ok(await page.locator('#delete-error').isVisible());
        await check('your account with a wrong code');
        await page.getByLabel('A backup code').check();
        await page.locator('#code').fill(codes[1]);
        await clickAndWait(page, page.getByRole('button', { name: 'Delete my account' }));
        assert.equal(pathOf(page), '/login?done=account_deleted');
        assert.match(await page.locator('main').innerText(), /Your account is deleted/);
        await submitLogin(page, name, GOOD_PASSWORD);
        assert.ok(await page.locator('#login-error').isVisible(), 'the account is gone');
        await page.context().close();
      });
    }
  }
});
