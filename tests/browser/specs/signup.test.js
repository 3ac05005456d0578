// Sign-up page: the happy path and errors shown next to the field, with the username kept.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, submitSignup, pathOf, GOOD_PASSWORD,
} from '../lib/harness.js';

describe('sign up', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('creates the account and lands on the home page', async () => {
    const page = await env.page();
    const name = uniqueName('alice');
    const res = await page.goto('/signup');
    assert.equal(res.status(), 200);
    assert.equal(await page.locator('h1').innerText(), 'Create your account');
    assert.equal(await page.title(), 'Sign up · Twofold');

    await signUp(page, name);
    assert.equal(await page.title(), 'Your account · Twofold');
    assert.equal(await page.locator('nav.top .meta').innerText(), `@${name}`);
    const link = page.getByRole('link', { name: 'Security settings' });
    assert.equal(await link.getAttribute('href'), '/settings/security');
    assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 1);

    // A logged-in browser visiting /signup is sent home.
    await page.goto('/signup');
    assert.equal(pathOf(page), '/');
    await page.context().close();
  });

  it('folds an upper-case username to lower case', async () => {
    const page = await env.page();
    const name = uniqueName('MixedCase');
    await submitSignup(page, name, GOOD_PASSWORD);
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name.toLowerCase()}`);
    await page.context().close();
  });

  it('shows an invalid username next to the field and keeps it', async () => {
    const page = await env.page();
    const res = await submitSignup(page, 'bad name!', GOOD_PASSWORD);
    assert.equal(res.status(), 422);
    assert.equal(pathOf(page), '/signup');
    const err = page.locator('#username-error');
    assert.equal(await err.count(), 1);
    assert.ok(await err.isVisible());
    assert.equal(await err.evaluate((e) => e.matches('p.error')), true);
    assert.ok((await err.innerText()).trim().length > 0, 'username error has a message');
    // The error sits inside the username field's block, right after the input.
    assert.equal(await page.locator('.field:has(#username) #username-error').count(), 1);
    assert.equal(await page.locator('#username').inputValue(), 'bad name!');
    assert.equal(await page.locator('#username').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#username').getAttribute('aria-describedby'), /\busername-error\b/);
    assert.equal(await page.locator('#password-error').count(), 0);
    assert.equal(await page.locator('#password').inputValue(), '', 'password is never kept');
    await page.context().close();
  });

  it('refuses a username longer than 30 characters', async () => {
    const page = await env.page();
    await page.goto('/signup');
    // The input's maxlength stops typing at 30 characters ...
    assert.equal(await page.locator('#username').getAttribute('maxlength'), '30');
    const long = 'a'.repeat(31);
    await page.locator('#username').pressSequentially(long);
    assert.equal(await page.locator('#username').inputValue(), 'a'.repeat(30));
    // ... and the server refuses a longer one sent anyway (an old browser, a script).
    await page.locator('#username').evaluate((el, v) => { el.removeAttribute('maxlength'); el.value = v; }, long);
    await page.locator('#password').fill(GOOD_PASSWORD);
    const [res] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Create account' }).click(),
    ]);
    assert.equal(res.status(), 422);
    assert.ok(await page.locator('#username-error').isVisible());
    assert.match(await page.locator('#username-error').innerText(), /30/);
    assert.equal(await page.locator('#username').inputValue(), long);
    assert.equal(await page.locator('#password').inputValue(), '');
    await page.context().close();
  });

  it('refuses common passwords next to the password field and keeps the username', async () => {
    const page = await env.page();
    for (const common of ['password123', 'iloveyou']) {
      const name = uniqueName('bob');
      const res = await submitSignup(page, name, common);
      assert.equal(res.status(), 422, `${common} should be refused`);
      const err = page.locator('#password-error');
      assert.ok(await err.isVisible());
      assert.equal(await err.evaluate((e) => e.matches('p.error')), true);
      assert.match(await err.innerText(), /too common/);
      assert.equal(await page.locator('.field:has(#password) #password-error').count(), 1);
      assert.equal(await page.locator('#username-error').count(), 0);
      assert.equal(await page.locator('#username').inputValue(), name);
      assert.equal(await page.locator('#password').inputValue(), '');
      assert.equal(await page.locator('#password').getAttribute('aria-invalid'), 'true');
    }
    // A too-short password is refused the same way.
    const res = await submitSignup(page, uniqueName('bob'), 'short');
    assert.equal(res.status(), 422);
    assert.match(await page.locator('#password-error').innerText(), /8/);
    await page.context().close();
  });

  it('refuses a taken username with 409 and keeps it', async () => {
    const first = await env.page();
    const name = uniqueName('carol');
    await signUp(first, name);
    await first.context().close();

    const page = await env.page();
    const res = await submitSignup(page, name, 'a different fine password');
    assert.equal(res.status(), 409);
    assert.equal(await page.locator('#username-error').innerText(), 'That username is taken; try another.');
    assert.equal(await page.locator('#username').inputValue(), name);
    assert.equal(await page.locator('#password').inputValue(), '');
    // Taken regardless of case.
    const res2 = await submitSignup(page, name.toUpperCase(), 'a different fine password');
    assert.equal(res2.status(), 409);
    assert.equal(await page.locator('#username-error').innerText(), 'That username is taken; try another.');
    await page.context().close();
  });
});
