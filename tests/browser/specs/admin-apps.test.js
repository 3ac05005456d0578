// The console's apps (issue 25): an admin (2FA on, granted with `twofold user grant-admin`,
// logged in with two factors) adds an OpenID Connect client at /admin/apps and sees its
// secret once, has a bad redirect URI refused by its field with nothing typed lost, edits
// it, gives it a new secret (shown once, after a confirmation) and removes it after a
// confirmation; the audit trail has each change. Every page is checked with axe and for
// sideways scrolling on a phone (375 px) and a desktop, in light and dark. (That a normal
// user gets the plain page-not-found is admin.test.js's, for every console page.)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, clickAndWait, pathOf, consoleAdmin, assertNoAxeViolations,
  assertNoSidewaysScroll, VIEWPORTS,
} from '../lib/harness.js';

describe('console apps', () => {
  let env;
  let adminState;
  const admin = uniqueName('boss');
  before(async () => {
    env = await startEnv();
    adminState = await consoleAdmin(env, admin);
  });
  after(async () => { await env?.stop(); });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const label = `${device} ${colorScheme}`;
      const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };

      it(`${label}: add, edit, a new secret, remove`, async () => {
        const ctx = await env.context({ ...options, storageState: adminState });
        const page = await ctx.newPage();
        const check = async (what) => {
          await assertNoAxeViolations(page, `${label} ${what}`);
          await assertNoSidewaysScroll(page, `${label} ${what}`);
        };
        const name = `Wiki ${label} ${uniqueName('w')}`;
        await page.goto('/admin/apps');
        await check('apps');
        await clickAndWait(page, page.getByRole('link', { name: 'Add an app' }));
        assert.equal(pathOf(page), '/admin/apps/new');
        await check('add an app');
        await page.locator('#name').fill(name);
        // A plain-http redirect URI to another host: refused by its field, the form whole.
        await page.locator('#redirect_uris').fill('http://wiki.example.test/callback');
        await page.getByLabel(/offline_access/).check();
        await page.getByLabel(/two factors/).check();
        await clickAndWait(page, page.getByRole('button', { name: 'Add app' }));
        assert.match(await page.locator('#redirect_uris-error').innerText(), /Redirect URI http:\/\/wiki\.example\.test\/callback: use https/);
        assert.equal(await page.locator('#redirect_uris').getAttribute('aria-invalid'), 'true');
        assert.equal(await page.locator('#name').inputValue(), name);
        assert.ok(await page.getByLabel(/offline_access/).isChecked(), 'the scopes ticked are kept');
        assert.ok(await page.getByLabel(/two factors/).isChecked(), 'the rules ticked are kept');
        await check('add refused');
        await page.locator('#redirect_uris').fill('https://wiki.example.test/callback\nhttp://127.0.0.1:8400/callback');
        await clickAndWait(page, page.getByRole('button', { name: 'Add app' }));
        const id = await page.locator('#client-id').innerText();
        const secret = await page.locator('#client-secret').innerText();
        assert.match(id, /^tf_/);
        assert.ok(secret.length >= 40, 'a secret');
        assert.ok(!page.url().includes(secret), 'the secret is not in the address');
        await check('the secret, once');
        await clickAndWait(page, page.getByRole('link', { name: 'Done' }));
        assert.equal(pathOf(page), '/admin/apps');
        const card = page.locator(`[id="app-${id}"]`);
        assert.match(await card.innerText(), /offline_access/);
        assert.ok(!(await page.content()).includes(secret), 'the secret is shown once');

        // Edit: a new redirect URI, the consent page off.
        await clickAndWait(page, card.getByRole('link', { name: /^Edit/ }));
        await check('edit');
        assert.ok(!(await page.content()).includes(secret));
        await page.locator('#redirect_uris').fill('https://wiki.example.test/signed-in');
        await page.getByLabel(/consent/).check();
        await clickAndWait(page, page.getByRole('button', { name: 'Save changes' }));
        assert.match(await page.locator('#done-notice').innerText(), /The app is changed/);
        assert.match(await card.innerText(), /signed-in/);
        assert.match(await card.innerText(), /no consent page/);

        // A new secret: a confirmation, then the secret once.
        await clickAndWait(page, card.getByRole('link', { name: /^New secret/ }));
        await check('confirm a new secret');
        await page.locator('#reason').fill(`leaked (${label})`);
        await clickAndWait(page, page.getByRole('button', { name: 'Make a new secret' }));
        const fresh = await page.locator('#client-secret').innerText();
        assert.notEqual(fresh, secret);
        assert.match(await page.locator('.notice.warn').innerText(), /old secret no longer works/);
        await check('the new secret, once');
        await clickAndWait(page, page.getByRole('link', { name: 'Done' }));
        assert.ok(!(await page.content()).includes(fresh), 'the new secret is shown once');

        // Remove, after its confirmation.
        await clickAndWait(page, card.getByRole('link', { name: /^Remove/ }));
        await check('confirm removal');
        await clickAndWait(page, page.getByRole('button', { name: 'Remove app' }));
        assert.equal(await page.locator('#done-notice').innerText(), 'The app is removed; its tokens no longer work.');
        assert.equal(await page.locator(`[id="app-${id}"]`).count(), 0);
        await check('apps after a removal');
        const gone = await page.goto(`/admin/apps/${id}`);
        assert.equal(gone.status(), 404);

        await page.goto(`/admin/audit?target=${id}`);
        const audit = await page.locator('#audit').innerText();
        for (const what of ['client_add', 'client_edit', 'client_rotate_secret', 'client_remove', `leaked (${label})`]) {
          assert.ok(audit.includes(what), `${what} in the audit trail`);
        }
        await ctx.close();
      });
    }
  }
});
