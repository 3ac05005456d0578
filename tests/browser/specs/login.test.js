// Log out, log in (wrong then right password) and the `next` redirect.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, logIn, submitLogin, clickAndWait, pathOf, GOOD_PASSWORD,
} from '../lib/harness.js';

const NO_MATCH = "That username and password don't match. Check them and try again.";

describe('log in and log out', () => {
  let env;
  let name;
  before(async () => {
    env = await startEnv();
    name = uniqueName('dave');
    const page = await env.page();
    await signUp(page, name);
    await page.context().close();
  });
  after(async () => { await env?.stop(); });

  it('logs out from the home page', async () => {
    const page = await env.page();
    await logIn(page, name);
    await clickAndWait(page, page.getByRole('button', { name: 'Log out' }));
    assert.equal(pathOf(page), '/login?done=logged_out');
    const notice = page.locator('p.notice.ok');
    assert.equal(await notice.innerText(), "You're logged out.");
    // The session is gone: home sends us to log in again.
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.context().close();
  });

  it('refuses a wrong password, keeps the username, then logs in', async () => {
    const page = await env.page();
    const res = await submitLogin(page, name, 'not my password at all');
    assert.equal(res.status(), 401);
    assert.equal(new URL(page.url()).pathname, '/login');
    const err = page.locator('p.notice.bad');
    assert.ok(await err.isVisible());
    assert.equal(await err.innerText(), NO_MATCH);
    assert.equal(await page.locator('#username').inputValue(), name);
    assert.equal(await page.locator('#username').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#password').inputValue(), '', 'password is never kept');
    // The password field has focus so the person can retype it straight away.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');

    // Now the right password, typed into the same (kept) form.
    await page.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
    await page.context().close();
  });

  it('gives the same message for an unknown username', async () => {
    const page = await env.page();
    const ghost = uniqueName('ghost');
    await submitLogin(page, ghost, GOOD_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('p.notice.bad').innerText(), NO_MATCH);
    assert.equal(await page.locator('#username').inputValue(), ghost);
    await page.context().close();
  });

  it('sends a logged-out visitor to log in and back to where they were going', async () => {
    const page = await env.page();
    await page.goto('/settings/security');
    const u = new URL(page.url());
    assert.equal(u.pathname, '/login');
    assert.equal(u.searchParams.get('next'), '/settings/security');
    assert.equal(await page.locator('form[action="/login"] input[name=next]').inputValue(), '/settings/security');

    await page.locator('#username').fill(name);
    await page.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(new URL(page.url()).pathname, '/settings/security');
    assert.equal(await page.locator('h1').innerText(), 'Security');
    await page.context().close();
  });

  it('keeps `next` across a wrong password', async () => {
    const page = await env.page();
    await submitLogin(page, name, 'wrong wrong wrong', { goto: '/login?next=/settings/security' });
    assert.equal(await page.locator('p.notice.bad').innerText(), NO_MATCH);
    await page.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(new URL(page.url()).pathname, '/settings/security');
    // Already logged in: /login?next=... goes straight there.
    await page.goto('/login?next=/settings/security');
    assert.equal(new URL(page.url()).pathname, '/settings/security');
    await page.context().close();
  });

  it('a visitor to / is sent to log in, then home', async () => {
    const page = await env.page();
    await page.goto('/');
    const u = new URL(page.url());
    assert.equal(u.pathname, '/login');
    // `next` is optional here; if present it must point home.
    assert.ok([null, '/'].includes(u.searchParams.get('next')), `next=${u.searchParams.get('next')}`);
    await submitLogin(page, name, GOOD_PASSWORD, { goto: null });
    assert.equal(pathOf(page), '/');
    await page.context().close();
  });

  it('never redirects off the site after login', async () => {
    const page = await env.page();
    await submitLogin(page, name, GOOD_PASSWORD, { goto: '/login?next=//evil.example/steal' });
    const u = new URL(page.url());
    assert.equal(u.origin, env.url);
    assert.equal(u.pathname, '/');
    await page.context().close();
  });
});
