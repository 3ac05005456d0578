// Accessibility: axe-core finds no violation on any page, on a phone (375 px) and a desktop,
// in light and dark. Pages are visited in the states people see them in: empty forms, forms
// with an error, two-factor on and off, the second step of a login by each method.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, submitLogin, clickAndWait, pathOf, submitCode, enableSms,
  enableTotp, assertNoAxeViolations, VIEWPORTS, GOOD_PASSWORD,
} from '../lib/harness.js';

const PHONE = '+1 415 555 2671';

describe('accessibility (axe-core)', () => {
  let env;
  const on = uniqueName('axeon'); // text message and app set up
  const off = uniqueName('axeoff'); // two-factor off
  let onState; // cookies of a logged-in browser of `on`
  let offState;

  before(async () => {
    env = await startEnv();
    const a = await env.page();
    await signUp(a, on);
    await enableSms(a, env.dataDir, PHONE);
    await enableTotp(a);
    // A number waiting for its code, for the phone code page.
    await a.goto('/settings/two-factor');
    await a.locator('details.change summary').click();
    await a.locator('#phone').fill('+1 415 555 2672');
    await clickAndWait(a, a.getByRole('button', { name: 'Send code' }));
    assert.equal(pathOf(a), '/settings/two-factor/sms/verify');
    onState = await a.context().storageState();
    await a.context().close();
    const b = await env.page();
    await signUp(b, off);
    offState = await b.context().storageState();
    await b.context().close();
  });
  after(async () => { await env?.stop(); });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const label = `${device} ${colorScheme}`;
      const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };

      it(`${label}: the pages of people who are not logged in`, async () => {
        const ctx = await env.context(options);
        const page = await ctx.newPage();
        const check = (what) => assertNoAxeViolations(page, `${label} ${what}`);
        await page.goto('/signup');
        await check('sign-up');
        await page.locator('#username').fill('bad name!');
        await page.locator('#password').fill('password');
        await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
        assert.ok(await page.locator('#username-error').isVisible());
        await check('sign-up with an error');
        await page.goto('/login?done=logged_out');
        await check('login');
        // (A name without an account: wrong passwords for `on` would pause its logins.)
        await submitLogin(page, uniqueName('nobody'), 'not the password', { goto: null });
        assert.ok(await page.locator('#login-error').isVisible());
        await check('login with an error');
        await page.goto('/no/such/page');
        await check('page not found');

        await submitLogin(page, on, GOOD_PASSWORD);
        assert.equal(new URL(page.url()).pathname, '/login/two-factor');
        await check('code page (app)');
        await submitCode(page, '12345');
        assert.ok(await page.locator('#code-error').isVisible());
        await check('code page with an error');
        await page.goto('/login/two-factor?method=sms&next=/');
        await check('code page (text message)');
        await page.goto('/login/two-factor?method=backup_code&next=/');
        await check('code page (backup code)');
        await page.goto('/login/two-factor/methods?next=/');
        await check('Try another way');
        await ctx.close();
      });

      it(`${label}: the pages of a logged-in account`, async () => {
        const ctx = await env.context({ ...options, storageState: onState });
        const page = await ctx.newPage();
        const check = (what) => assertNoAxeViolations(page, `${label} ${what}`);
        const visit = async (path, what) => {
          await page.goto(path);
          assert.equal(pathOf(page), path, `${what} is shown, not redirected`);
          await check(what);
        };
        await visit('/', 'home');
        await visit('/settings/security', 'security');
        await visit('/reauth?next=/settings/security', 'confirm your password');
        await visit('/settings/two-factor', 'two-factor settings (on)');
        await visit('/settings/two-factor/totp', 'app set-up');
        await visit('/settings/two-factor/backup-codes', 'backup codes');
        await visit('/settings/two-factor/backup-codes/save?made=on', 'save your backup codes');
        await visit('/settings/two-factor/backup-codes/new', 'get new codes?');
        await visit('/settings/email', 'email settings');
        // With an address waiting for its code, and a wrong one typed.
        await page.locator('#email').fill('ann@example.com');
        await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
        await page.locator('#code-input').fill('000000');
        await clickAndWait(page, page.getByRole('button', { name: 'Confirm' }));
        assert.ok(await page.locator('#code-error').isVisible());
        await check('email settings with a code error');

        await visit('/settings/two-factor/sms/verify', 'phone code page');
        await submitCode(page, '12345');
        assert.ok(await page.locator('#code-error').isVisible());
        await check('phone code page with an error');
        await ctx.close();

        const offCtx = await env.context({ ...options, storageState: offState });
        const offPage = await offCtx.newPage();
        await offPage.goto('/settings/security');
        await offPage.locator('#current_password').fill('not the password');
        await offPage.locator('#new_password').fill('a new long password');
        await clickAndWait(offPage, offPage.getByRole('button', { name: 'Change password' }));
        assert.ok(await offPage.locator('#current-error').isVisible());
        await assertNoAxeViolations(offPage, `${label} security with an error`);
        for (const path of ['/', '/settings/two-factor']) {
          await offPage.goto(path);
          assert.equal(pathOf(offPage), path);
          await assertNoAxeViolations(offPage, `${label} ${path} with two-factor off`);
        }
        await offPage.locator('#phone').fill('415 555 2671');
        await clickAndWait(offPage, offPage.getByRole('button', { name: 'Send code' }));
        assert.ok(await offPage.locator('#phone-error').isVisible());
        await assertNoAxeViolations(offPage, `${label} two-factor settings with a phone error`);
        await offCtx.close();
      });
    }
  }
});
