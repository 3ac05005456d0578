// "Log out" is reachable from the header of every logged-in page, and the current session's
// own button on Security says what it does.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, enableTotp, VIEWPORTS, assertNoSidewaysScroll,
} from '../lib/harness.js';

const PAGES = [
  '/',
  '/settings/security',
  '/settings/two-factor',
  '/settings/two-factor/totp',
  '/settings/two-factor/backup-codes',
  '/settings/two-factor/backup-codes/new',
];

describe('the header', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('every logged-in page has one Log out, in the header, on a phone too', async () => {
    const page = await env.page({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    await signUp(page, uniqueName('header'));
    await enableTotp(page);
    for (const path of PAGES) {
      await page.goto(path);
      assert.equal(pathOf(page), path);
      const buttons = page.getByRole('button', { name: 'Log out', exact: true });
      assert.equal(await buttons.count(), 1, `${path}: one Log out button`);
      assert.equal(await page.locator('header.top').getByRole('button', { name: 'Log out', exact: true }).count(), 1, `${path}: in the header`);
      assert.ok(await buttons.isVisible(), `${path}: visible`);
      await assertNoSidewaysScroll(page, path);
    }
    // From a settings page, it logs out.
    await page.goto('/settings/two-factor');
    await clickAndWait(page, page.getByRole('button', { name: 'Log out', exact: true }));
    assert.equal(pathOf(page), '/login?done=logged_out');
    assert.equal(await page.locator('header.top').getByRole('button', { name: 'Log out' }).count(), 0, 'no Log out once logged out');
    await page.goto('/settings/security');
    assert.match(pathOf(page), /^\/login/);
  });

  it('the current session says "Log out this device"', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('device'));
    await page.goto('/settings/security');
    const row = page.locator('#sessions li', { hasText: 'This device' });
    assert.equal(await row.getByRole('button', { name: 'Log out this device' }).count(), 1);
    await clickAndWait(page, row.getByRole('button', { name: 'Log out this device' }));
    assert.match(pathOf(page), /^\/login/);
  });
});
