// "Where you're logged in": two browsers, one logs the other out.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, logIn, clickAndWait, pathOf,
} from '../lib/harness.js';

describe('sessions', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('lists both browsers and logs the other one out', async () => {
    const name = uniqueName('gina');
    const setup = await env.page();
    await signUp(setup, name);
    // Sign-up's own session is ended so only A and B remain.
    await clickAndWait(setup, setup.getByRole('button', { name: 'Log out' }));
    await setup.context().close();

    const a = await env.page({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36' });
    const b = await env.page({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
    await logIn(a, name);
    await logIn(b, name);

    await a.goto('/settings/security');
    assert.equal(await a.locator('#sessions h2').innerText(), "Where you're logged in");
    const items = a.locator('#sessions ul.list > li');
    assert.equal(await items.count(), 2);
    const tags = a.locator('#sessions .tag');
    assert.equal(await tags.count(), 1, 'exactly one session is "This device"');
    assert.equal(await tags.innerText(), 'This device');

    // Every session has its own "Log out" form posting to its own URL.
    const actions = await a.locator('#sessions li form').evaluateAll((forms) => forms.map((f) => f.getAttribute('action')));
    assert.equal(actions.length, 2);
    for (const act of actions) assert.match(act, /^\/settings\/security\/sessions\/[^/]+\/logout$/);
    assert.notEqual(actions[0], actions[1]);

    // Log out B's session: the one that isn't tagged "This device".
    const otherItem = items.filter({ hasNot: a.locator('.tag') });
    assert.equal(await otherItem.count(), 1);
    await clickAndWait(a, otherItem.getByRole('button', { name: /Log out/ }));
    assert.equal(pathOf(a), '/settings/security?done=session#sessions');
    assert.equal(await a.locator('p.notice.ok').innerText(), 'That session was logged out.');
    assert.equal(await a.locator('#sessions ul.list > li').count(), 1);
    assert.equal(await a.locator('#sessions .tag').innerText(), 'This device');
    assert.match(await a.locator('#activity').innerText(), /Logged out a session/);

    // B is logged out: its next visit to the page ends at the login page.
    await b.goto('/settings/security');
    const u = new URL(b.url());
    assert.equal(u.pathname, '/login');
    assert.equal(u.searchParams.get('next'), '/settings/security');

    // A is still logged in.
    await a.goto('/');
    assert.equal(await a.locator('h1').innerText(), `Hi, ${name}`);
    await a.context().close();
    await b.context().close();
  });

  it('logging out this device from the list ends at the login page', async () => {
    const name = uniqueName('hank');
    const page = await env.page();
    await signUp(page, name);
    await page.goto('/settings/security');
    const mine = page.locator('#sessions ul.list > li').filter({ has: page.locator('.tag') });
    await clickAndWait(page, mine.getByRole('button', { name: 'Log out' }));
    assert.equal(pathOf(page), '/login?done=logged_out');
    await page.goto('/settings/security');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.context().close();
  });

  it('the activity lists logins and wrong passwords', async () => {
    const name = uniqueName('iris');
    const page = await env.page();
    await signUp(page, name);
    const other = await env.page();
    await other.goto('/login');
    await other.locator('#username').fill(name);
    await other.locator('#password').fill('definitely wrong');
    await clickAndWait(other, other.getByRole('button', { name: 'Log in', exact: true }));
    await other.context().close();
    await page.goto('/settings/security');
    const rows = await page.locator('#activity table.activity tr td:first-child strong').allInnerTexts();
    assert.ok(rows.includes('Wrong password entered'), `rows: ${rows}`);
    await page.context().close();
  });
});
