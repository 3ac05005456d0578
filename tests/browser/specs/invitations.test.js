// Invitations (issue 25) on a Twofold started with `--sign-up invite`: the operator's first
// invitation comes from the CLI and makes the first admin; the login page offers no sign-up
// and /signup says it is by invitation; in the console an admin makes an invitation bound to
// an address and a group, copies its link (shown once), and the invited person opens it on
// a phone or a desktop, reads what it binds and makes the account; the link is then spent,
// and another invitation is revoked after its confirmation page. Each page is checked with
// axe and for sideways scrolling, in light and dark.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, submitLogin, submitCode, clickAndWait, pathOf, enableTotp,
  twofoldCli, logOut, GOOD_PASSWORD, assertNoAxeViolations, assertNoSidewaysScroll, VIEWPORTS,
} from '../lib/harness.js';

/** Opens an invitation link and makes the account; lands on the home page. */
async function signUpWith(page, link, username) {
  await page.goto(link);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(GOOD_PASSWORD);
  await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
  assert.equal(pathOf(page), '/', `the invited sign-up of ${username} lands on /`);
}

describe('invitations', () => {
  let env;
  let adminState;
  const admin = uniqueName('boss');
  const group = uniqueName('crew');
  before(async () => {
    env = await startEnv({ args: ['--sign-up', 'invite'] });
    assert.equal((await twofoldCli(env.dataDir, ['group', 'add', group])).code, 0);
    const first = await twofoldCli(env.dataDir, ['invite', 'create', '--json'], { json: true });
    assert.match(first.url, /^\/signup\?invite=[A-Za-z0-9_-]{43}$/);
    const page = await env.page();
    await signUpWith(page, first.url, admin);
    const { app } = await enableTotp(page);
    const granted = await twofoldCli(env.dataDir, ['user', 'grant-admin', admin]);
    assert.equal(granted.code, 0, granted.stderr);
    await logOut(page);
    await submitLogin(page, admin, GOOD_PASSWORD);
    await submitCode(page, await app.code());
    assert.equal(pathOf(page), '/');
    // The home page shows an admin the way to the console.
    await clickAndWait(page, page.locator('#console-link').getByRole('link', { name: 'Open the console' }));
    assert.equal(pathOf(page), '/admin');
    adminState = await page.context().storageState();
    await page.context().close();
  });
  after(async () => { await env?.stop(); });

  it('offers no sign-up without an invitation, and says so', async () => {
    const page = await env.page();
    await page.goto('/login');
    assert.equal(await page.locator('#sign-up').count(), 0);
    const res = await page.goto('/signup');
    assert.equal(res.status(), 403);
    assert.match(await page.locator('#sign-up-gate').innerText(), /by invitation only/);
    await assertNoAxeViolations(page, 'sign-up by invitation only');
    await page.context().close();
  });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const label = `${device} ${colorScheme}`;
      const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };
      const check = async (page, what) => {
        await assertNoAxeViolations(page, `${label} ${what}`);
        await assertNoSidewaysScroll(page, `${label} ${what}`);
      };

      it(`${label}: an admin invites someone, who makes the account from the link`, async () => {
        const ctx = await env.context({ ...options, storageState: adminState });
        const page = await ctx.newPage();
        await page.goto('/admin/invitations');
        assert.match(await page.locator('#sign-up-mode').innerText(), /by invitation/);
        await check(page, 'invitations');
        const person = uniqueName('ivy');
        const email = `${person}@example.com`;
        await page.locator('#email').fill(email);
        await page.locator('#group').selectOption(group);
        await clickAndWait(page, page.getByRole('button', { name: 'Make invitation link' }));
        const link = await page.locator('#invitation-link').inputValue();
        assert.match(link, /\/signup\?invite=[A-Za-z0-9_-]{43}$/);
        await check(page, 'a new invitation link');
        // Shown once: the list does not hold it.
        await page.goto('/admin/invitations');
        assert.equal(await page.locator('#invitation-link').count(), 0);
        assert.match(await page.locator('#invitations').innerText(), new RegExp(`${email}[\\s\\S]*Open`));

        const guest = await env.page(options);
        await guest.goto(link);
        const said = await guest.locator('#invitation').innerText();
        assert.ok(said.includes(email) && said.includes(group), said);
        await check(guest, 'an invited sign-up');
        await signUpWith(guest, link, person);
        await guest.context().close();
        const again = await env.page(options);
        const res = await again.goto(link);
        assert.equal(res.status(), 403);
        assert.match(await again.locator('#sign-up-gate').innerText(), /already used/);
        await check(again, 'a used invitation');
        await again.context().close();

        await page.goto('/admin/groups');
        assert.match(await page.locator(`#group-${group}`).innerText(), new RegExp(person));
        await ctx.close();
      });

      it(`${label}: an invitation is revoked after its confirmation, and a bad address is refused`, async () => {
        const ctx = await env.context({ ...options, storageState: adminState });
        const page = await ctx.newPage();
        await page.goto('/admin/invitations');
        await page.locator('#email').fill('not an address');
        await clickAndWait(page, page.getByRole('button', { name: 'Make invitation link' }));
        assert.match(await page.locator('#invitation-error').innerText(), /not an email address/);
        assert.equal(await page.locator('#email').inputValue(), 'not an address');
        await check(page, 'a refused address');
        await page.locator('#email').fill('');
        await clickAndWait(page, page.getByRole('button', { name: 'Make invitation link' }));
        const link = await page.locator('#invitation-link').inputValue();
        await page.goto('/admin/invitations');
        await clickAndWait(page, page.locator('#invitations').getByRole('link', { name: /Revoke/ }).first());
        await check(page, 'revoke an invitation?');
        await clickAndWait(page, page.getByRole('button', { name: 'Revoke invitation' }));
        assert.match(await page.locator('#done-notice').innerText(), /revoked/);
        const guest = await env.page(options);
        const res = await guest.goto(link);
        assert.equal(res.status(), 403);
        assert.match(await guest.locator('#sign-up-gate').innerText(), /not one we know/);
        await guest.context().close();
        await ctx.close();
      });
    }
  }
});
