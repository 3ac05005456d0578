// Settings → Security → Change password, and the "Confirm your password" page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, logIn, submitLogin, clickAndWait, pathOf,
  GOOD_PASSWORD, OTHER_GOOD_PASSWORD,
} from '../lib/harness.js';

const NO_MATCH = "That username and password don't match. Check them and try again.";
const CHANGED = "Your password was changed. You've been logged out everywhere else.";

async function submitChange(page, current, next) {
  await page.locator('#current_password').fill(current);
  await page.locator('#new_password').fill(next);
  return clickAndWait(page, page.getByRole('button', { name: 'Change password' }));
}

describe('change password', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('shows errors next to the fields, then changes the password', async () => {
    const name = uniqueName('erin');
    const a = await env.page();
    await signUp(a, name);
    // A second browser that is logged in before the change.
    const other = await env.page();
    await logIn(other, name);

    await a.goto('/settings/security');
    assert.equal(await a.locator('#password h2').innerText(), 'Change password');

    // Wrong current password.
    let res = await submitChange(a, 'this is not it', OTHER_GOOD_PASSWORD);
    assert.equal(res.status(), 401);
    const currentErr = a.locator('#current-error');
    assert.ok(await currentErr.isVisible());
    assert.equal(await currentErr.evaluate((e) => e.matches('p.error')), true);
    assert.equal(await a.locator('.field:has(#current_password) #current-error').count(), 1);
    assert.match(await currentErr.innerText(), /current password/);
    assert.equal(await a.locator('#new-error').count(), 0);
    assert.equal(await a.locator('#current_password').getAttribute('aria-invalid'), 'true');
    assert.equal(await a.locator('#current_password').inputValue(), '');
    assert.equal(await a.locator('#new_password').inputValue(), '');

    // Right current password, weak new one.
    res = await submitChange(a, GOOD_PASSWORD, 'password123');
    assert.equal(res.status(), 422);
    const newErr = a.locator('#new-error');
    assert.ok(await newErr.isVisible());
    assert.equal(await a.locator('.field:has(#new_password) #new-error').count(), 1);
    assert.match(await newErr.innerText(), /too common/);
    assert.equal(await a.locator('#current-error').count(), 0);
    assert.equal(await a.locator('#new_password').getAttribute('aria-invalid'), 'true');

    // Too short is refused too.
    res = await submitChange(a, GOOD_PASSWORD, 'short');
    assert.equal(res.status(), 422);
    assert.ok(await a.locator('#new-error').isVisible());

    // Success.
    await submitChange(a, GOOD_PASSWORD, OTHER_GOOD_PASSWORD);
    assert.equal(pathOf(a), '/settings/security?done=password#password');
    assert.equal(await a.locator('p.notice.ok').innerText(), CHANGED);
    // This browser is still logged in; the activity records the change.
    await a.reload();
    assert.equal(new URL(a.url()).pathname, '/settings/security');
    const activity = await a.locator('#activity table.activity').innerText();
    assert.match(activity, /Password changed/);
    assert.match(activity, /Wrong password entered/, 'the wrong current password is in the activity');
    // Only this browser's session is left.
    assert.equal(await a.locator('#sessions ul.list > li').count(), 1);

    // The other browser was logged out.
    await other.goto('/settings/security');
    assert.equal(new URL(other.url()).pathname, '/login');
    await other.context().close();

    // A fresh browser: the old password fails, the new one works.
    const c = await env.page();
    const bad = await submitLogin(c, name, GOOD_PASSWORD);
    assert.equal(bad.status(), 401);
    assert.equal(await c.locator('p.notice.bad').innerText(), NO_MATCH);
    await submitLogin(c, name, OTHER_GOOD_PASSWORD);
    assert.equal(pathOf(c), '/');
    assert.equal(await c.locator('h1').innerText(), `Hi, ${name}`);
    await c.context().close();
    await a.context().close();
  });

  it('"Confirm your password" refuses a wrong password and continues with the right one', async () => {
    const name = uniqueName('frank');
    const page = await env.page();
    await signUp(page, name);
    await page.goto('/reauth?next=/settings/security');
    assert.equal(await page.locator('h1').innerText(), 'Confirm your password');
    await page.locator('#password').fill('not the password');
    const res = await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(res.status(), 401);
    assert.equal(new URL(page.url()).pathname, '/reauth');
    const err = page.locator('#password-error');
    assert.ok(await err.isVisible());
    assert.equal(await page.locator('.field:has(#password) #password-error').count(), 1);
    assert.equal(await page.locator('#password').inputValue(), '');

    await page.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(pathOf(page), '/settings/security');
    await page.context().close();
  });

  it('"Confirm your password" needs a login', async () => {
    const page = await env.page();
    await page.goto('/reauth?next=/settings/security');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.context().close();
  });
});
