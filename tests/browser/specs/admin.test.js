// The operator console (issue 25): an admin (2FA on, granted with `twofold user
// grant-admin`, logged in with two factors) finds a person, opens their page and does each
// action after its confirmation page — disable, enable, log out everywhere, reset 2FA, send a
// recovery link, delete — manages a group and reads the audit trail; a normal user gets the
// plain "Page not found". Every console page is checked with axe and for sideways scrolling
// on a phone (375 px) and a desktop, in light and dark.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, consoleAdmin, assertNoAxeViolations,
  assertNoSidewaysScroll, VIEWPORTS,
} from '../lib/harness.js';

describe('operator console', () => {
  let env;
  let adminState;
  const admin = uniqueName('boss');
  before(async () => {
    env = await startEnv();
    adminState = await consoleAdmin(env, admin);
  });
  after(async () => { await env?.stop(); });

  it('answers a normal user with the plain page-not-found', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('norm'));
    for (const path of ['/admin', '/admin/users', `/admin/users/${admin}`, '/admin/apps', '/admin/audit']) {
      const res = await page.goto(path);
      assert.equal(res.status(), 404, path);
      assert.equal(await page.locator('h1').innerText(), 'Page not found');
    }
    await page.context().close();
  });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const label = `${device} ${colorScheme}`;
      const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };

      it(`${label}: each action on a person, after its confirmation`, async () => {
        const person = uniqueName('pat');
        const other = await env.page();
        await signUp(other, person);
        await other.context().close();
        const ctx = await env.context({ ...options, storageState: adminState });
        const page = await ctx.newPage();
        const check = async (what) => {
          await assertNoAxeViolations(page, `${label} ${what}`);
          await assertNoSidewaysScroll(page, `${label} ${what}`);
        };
        await page.goto('/admin');
        assert.equal(pathOf(page), '/admin');
        await check('console');
        await page.goto('/admin/users');
        await page.locator('#q').fill(person.slice(0, 5));
        await clickAndWait(page, page.getByRole('button', { name: 'Search' }));
        await check('people');
        await clickAndWait(page, page.getByRole('link', { name: person }));
        assert.equal(pathOf(page), `/admin/users/${person}`);
        await check('a person');
        const action = async (link, button, done) => {
          await clickAndWait(page, page.locator('#actions').getByRole('link', { name: link }));
          await check(`confirm ${link}`);
          await page.locator('#reason').fill(`asked by ${label}`);
          await clickAndWait(page, page.getByRole('button', { name: button }));
          if (done) assert.equal(await page.locator('#done-notice').innerText(), done);
        };
        await action('Disable', 'Disable account', 'The account is disabled; every session has ended.');
        assert.match(await page.locator('#status').innerText(), /Disabled since/);
        await action('Enable', 'Enable account', 'The account is enabled and can log in again.');
        await action('Log out everywhere', 'Log out everywhere', 'The account is logged out everywhere.');
        await action('Send recovery link', 'Send recovery link', 'A recovery link or code is on its way.');
        await action('Delete', 'Delete account', null);
        assert.equal(new URL(page.url()).pathname, '/admin/users');
        assert.match(await page.locator('.notice.ok').innerText(), /is deleted/);
        await check('people after a deletion');

        await page.goto(`/admin/audit?target=${person}`);
        const audit = await page.locator('#audit').innerText();
        for (const what of ['disable', 'enable', 'logout', 'send_recovery', 'delete', `asked by ${label}`]) {
          assert.ok(audit.includes(what), `${what} in the audit trail`);
        }
        await check('audit');
        await ctx.close();
      });

      it(`${label}: groups, and refusals that say what to do`, async () => {
        const ctx = await env.context({ ...options, storageState: adminState });
        const page = await ctx.newPage();
        const check = async (what) => {
          await assertNoAxeViolations(page, `${label} ${what}`);
          await assertNoSidewaysScroll(page, `${label} ${what}`);
        };
        const group = uniqueName('team');
        await page.goto('/admin/groups');
        await check('groups');
        await page.locator('#name').fill(group);
        await clickAndWait(page, page.getByRole('button', { name: 'Make group' }));
        assert.equal(await page.locator('#done-notice').innerText(), 'The group is made.');
        await page.locator(`#member-${group}`).fill('nobody_here_at_all');
        await clickAndWait(page, page.locator(`#group-${group}`).getByRole('button', { name: 'Add' }));
        assert.match(await page.locator('#group-error').innerText(), /no account called/);
        await check('groups with an error');
        await page.locator(`#member-${group}`).fill(admin);
        await clickAndWait(page, page.locator(`#group-${group}`).getByRole('button', { name: 'Add' }));
        assert.match(await page.locator(`#group-${group}`).innerText(), new RegExp(admin));
        await clickAndWait(page, page.locator(`#group-${group}`).getByRole('link', { name: /Remove/ }));
        await check('remove a group?');
        await clickAndWait(page, page.getByRole('button', { name: 'Remove group' }));
        assert.equal(await page.locator('#done-notice').innerText(), 'The group is removed.');
        // The last admin, on themself: the box first, then "the last admin".
        await page.goto(`/admin/users/${admin}/revoke-admin`);
        await check('confirm on oneself');
        await page.getByRole('checkbox').check();
        await clickAndWait(page, page.getByRole('button', { name: 'Remove admin role' }));
        assert.match(await page.locator('#action-error').innerText(), /last admin/);
        await check('the last admin refused');
        await page.goto('/admin/users?q=a&after=%27%00');
        assert.match(await page.locator('#q-error').innerText(), /start the search again/);
        await check('a damaged page link');
        await ctx.close();
      });
    }
  }
});
