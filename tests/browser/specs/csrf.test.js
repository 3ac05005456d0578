// CSRF: forms without this browser's token are refused; and the "Page not found" page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, GOOD_PASSWORD,
} from '../lib/harness.js';

const EXPIRED = 'This form has expired';

/** POSTs a urlencoded body from inside the page (same origin, with its cookies). */
function postFromPage(page, path, fields) {
  return page.evaluate(async ({ path, fields }) => {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
      credentials: 'same-origin',
    });
    return { status: res.status, type: res.type, text: await res.text() };
  }, { path, fields });
}

describe('csrf', () => {
  let env;
  let name;
  before(async () => {
    env = await startEnv();
    name = uniqueName('judy');
    const page = await env.page();
    await signUp(page, name);
    await page.context().close();
  });
  after(async () => { await env?.stop(); });

  it('refuses a login posted without the csrf field', async () => {
    const page = await env.page();
    await page.goto('/login');
    const r = await postFromPage(page, '/login', { username: name, password: GOOD_PASSWORD, next: '/' });
    assert.equal(r.status, 403);
    assert.match(r.text, /<title>This form has expired/);
    assert.match(r.text, /<h1>This form has expired<\/h1>/);
    assert.doesNotMatch(r.text, /Hi, /);
    // And no session was made: home still sends us to log in.
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');

    // The same form with its real token works (so the 403 above was about the token).
    const token = await page.locator('form[action="/login"] input[name=csrf]').inputValue();
    const ok = await postFromPage(page, '/login', { csrf: token, username: name, password: GOOD_PASSWORD, next: '/' });
    assert.equal(ok.type, 'opaqueredirect', `status ${ok.status}`);
    await page.goto('/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
    await page.context().close();
  });

  it('shows the expired-form page when the form is submitted without its token', async () => {
    const page = await env.page();
    await page.goto('/login');
    await page.locator('form[action="/login"] input[name=csrf]').evaluate((el) => el.remove());
    await page.locator('#username').fill(name);
    await page.locator('#password').fill(GOOD_PASSWORD);
    const res = await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(res.status(), 403);
    assert.equal(await page.locator('h1').innerText(), EXPIRED);
    assert.match(await page.title(), /^This form has expired/);
    await page.context().close();
  });

  it('refuses a token that belongs to another browser', async () => {
    const a = await env.page();
    const b = await env.page();
    await a.goto('/login');
    await b.goto('/login');
    const tokenA = await a.locator('form[action="/login"] input[name=csrf]').inputValue();
    const tokenB = await b.locator('form[action="/login"] input[name=csrf]').inputValue();
    assert.notEqual(tokenA, tokenB, 'each browser gets its own token');

    // B's form carrying A's token.
    await b.locator('form[action="/login"] input[name=csrf]').evaluate((el, v) => { el.value = v; }, tokenA);
    await b.locator('#username').fill(name);
    await b.locator('#password').fill(GOOD_PASSWORD);
    const res = await clickAndWait(b, b.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(res.status(), 403);
    assert.equal(await b.locator('h1').innerText(), EXPIRED);

    // A garbled token is refused too.
    const r = await postFromPage(b, '/login', { csrf: 'deadbeef', username: name, password: GOOD_PASSWORD });
    assert.equal(r.status, 403);
    assert.match(r.text, /This form has expired/);

    // A cross-context request: B's cookies with A's token, sent from B's request API.
    const direct = await b.context().request.post('/login', {
      form: { csrf: tokenA, username: name, password: GOOD_PASSWORD, next: '/' },
      maxRedirects: 0,
    });
    assert.equal(direct.status(), 403);
    assert.match(await direct.text(), /This form has expired/);
    await a.context().close();
    await b.context().close();
  });

  it('refuses a logout without the token and stays logged in', async () => {
    const page = await env.page();
    await page.goto('/login');
    await page.locator('#username').fill(name);
    await page.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(pathOf(page), '/');
    const r = await postFromPage(page, '/logout', {});
    assert.equal(r.status, 403);
    assert.match(r.text, /This form has expired/);
    await page.goto('/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);

    // A password change without the token is refused, and the password is unchanged.
    const c = await postFromPage(page, '/settings/security/password', {
      current_password: GOOD_PASSWORD, new_password: 'an attacker chosen password',
    });
    assert.equal(c.status, 403);
    await page.context().close();
  });

  it('shows "Page not found" for an unknown address', async () => {
    const page = await env.page();
    const res = await page.goto('/no/such/page');
    assert.equal(res.status(), 404);
    assert.equal(await page.locator('h1').innerText(), 'Page not found');
    assert.match(await page.title(), /^Page not found/);
    // It is styled like the rest of the site.
    assert.equal(await page.locator('link[rel=stylesheet][href="/assets/twofold.css"]').count(), 1);
    await page.context().close();
  });
});
