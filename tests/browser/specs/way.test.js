// The person's way through (issue 23, items 1, 5 and 6), in Chromium:
//  1. where I am going: a login an app (OpenID Connect) sent someone to names the app, and
//     "Sign up", "Forgot password?" and a failed second step all keep the way to it;
//  5. a second step that runs out says so and offers "Log in again" (keeping the way), and
//     a locked second step says in its own words when to try again;
//  6. look and feel: the email field, a one-row header on a phone, the "logged out
//     everywhere else" notice in view, times in the browser's own zone, the username kept
//     by "Forgot password?", "log in" (never "sign in") for Twofold itself; and axe on the
//     new states, light and dark.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startEnv, uniqueName, signUp, logIn, submitLogin, clickAndWait, pathOf, submitCode,
  enableTotp, addClient, assertNoAxeViolations, screenshot, totpAt, totpStep, VIEWPORTS,
  GOOD_PASSWORD, OTHER_GOOD_PASSWORD, readMail, waitForResetLink, addEmail,
} from '../lib/harness.js';

const APP = 'Photo Album';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const PHONE = { viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true };

// ---- helpers -----------------------------------------------------------------------------


/** A 6-digit code the app does not show now, a step before or a step after. */
function wrongTotp(secret) {
  const now = totpStep();
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, now + d)));
  for (const c of ['000000', '111111', '222222', '333333']) if (!near.has(c)) return c;
  throw new Error('unreachable');
}

/** The `next` of the page's URL. */
const nextOf = (page) => new URL(page.url()).searchParams.get('next');

/**
 * `next` (a path) is the app's request `path`: the same address and the same parameters
 * (Twofold writes the request's parameters in its own order).
 */
function assertSameRequest(next, path, what) {
  assert.ok(next, `${what}: no next`);
  const a = new URL(next, 'http://x');
  const b = new URL(path, 'http://x');
  const params = (u) => [...u.searchParams].sort(([x], [y]) => x.localeCompare(y));
  assert.equal(a.origin + a.pathname, b.origin + b.pathname, `${what}: next=${next}`);
  assert.deepEqual(params(a), params(b), `${what}: next=${next}`);
}

describe("the person's way through", () => {
  let env;
  let client;
  const opened = new Set(); // contexts of the running test, closed (and shot on failure) after it

  before(async () => {
    // Many accounts and logins from one address: the per-address limits are off here.
    env = await startEnv({ args: ['--sign-ups-per-address-hour', '0', '--logins-per-address-minute', '0'] });
    client = await addClient(env.dataDir, { name: APP, redirectUris: [REDIRECT_URI] });
  });
  after(async () => { await env?.stop(); });

  /** A page in a new context, closed after the test (and photographed if it failed). */
  async function open(options = {}) {
    const ctx = await env.context(options);
    opened.add(ctx);
    return ctx.newPage();
  }

  /** Wraps a test body: on failure, a screenshot of every open page is named in the error. */
  function test(name, body) {
    it(name, async () => {
      try {
        await body();
      } catch (e) {
        const shots = [];
        let i = 0;
        for (const ctx of opened) {
          for (const p of ctx.pages()) {
            i += 1;
            try {
              const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50);
              shots.push(`${p.url()} → ${await screenshot(p, `way-${slug}-${i}`)}`);
            } catch { /* closed */ }
          }
        }
        if (shots.length) e.message += `\nscreenshots:\n  ${shots.join('\n  ')}`;
        throw e;
      } finally {
        for (const ctx of opened) await ctx.close().catch(() => {});
        opened.clear();
      }
    });
  }

  /** Photo Album's authorization request (a path on Twofold). */
  function authorizePath() {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: randomBytes(12).toString('base64url'),
      code_challenge: randomBytes(32).toString('base64url'),
      code_challenge_method: 'S256',
    });
    return `/oidc/authorize?${q}`;
  }

  /** A logged-out browser goes to Photo Album's request: Twofold's login page, with `next`. */
  async function fromApp(page) {
    const path = authorizePath();
    await page.goto(path);
    const u = new URL(page.url());
    assert.equal(u.pathname, '/login', `the app's request lands on the login page: ${pathOf(page)}`);
    assertSameRequest(u.searchParams.get('next'), path, 'the login page keeps the request as next');
    return path;
  }

  async function assertDestination(page, what) {
    const dest = page.locator('#destination');
    assert.equal(await dest.count(), 1, `${what}: a #destination line on ${pathOf(page)}`);
    assert.ok(await dest.isVisible(), `${what}: #destination is visible`);
    return dest.innerText();
  }

  /** The browser ends at Photo Album's consent page (not Twofold's home). */
  async function assertAtApp(page, what) {
    await page.waitForURL((u) => u.pathname === '/oidc/authorize' || u.href.startsWith(REDIRECT_URI), { timeout: 10_000 })
      .catch(() => {});
    const u = new URL(page.url());
    assert.equal(u.pathname, '/oidc/authorize', `${what}: expected the app's consent page, got ${page.url()}`);
    assert.match(await page.locator('h1').innerText(), new RegExp(APP), `${what}: the consent page names the app`);
  }

  /** A new account with the authentication app on (and, if asked, a confirmed email). */
  async function userWithApp(prefix, { email } = {}) {
    const name = uniqueName(prefix);
    const page = await open();
    await signUp(page, name);
    const { app } = await enableTotp(page);
    if (email) await addEmail(page, env.dataDir, `${name}@example.com`);
    await page.context().close();
    opened.delete(page.context());
    return { name, app, email: email ? `${name}@example.com` : null };
  }

  /** From the app's login page: username and password, to the code page. */
  async function passwordFromApp(page, name) {
    const path = await fromApp(page);
    await submitLogin(page, name, GOOD_PASSWORD, { goto: null });
    const u = new URL(page.url());
    assert.equal(u.pathname, '/login/two-factor', `after the password: ${pathOf(page)}`);
    assertSameRequest(u.searchParams.get('next'), path, 'the code page keeps the way');
    return path;
  }

  // ---- 1. Where I am going -------------------------------------------------------------

  describe('1. where I am going', () => {
    test('1a. the login page an app sent someone to says "Log in to continue to Photo Album"', async () => {
      const page = await open();
      await fromApp(page);
      const text = await assertDestination(page, 'login from the app');
      assert.match(text, /^Log in to continue to Photo Album\.?$/);
      // Twofold's own login says nothing of the sort.
      await page.goto('/login');
      assert.equal(await page.locator('#destination').count(), 0, 'no destination on a plain /login');
      await page.goto('/login?next=/settings/security');
      assert.equal(await page.locator('#destination').count(), 0, 'no destination for Twofold\'s own pages');
    });

    test('1b. "Sign up" from that login page keeps the way: the new account ends at the app', async () => {
      const page = await open();
      const path = await fromApp(page);
      await clickAndWait(page, page.locator('#sign-up'));
      assert.equal(new URL(page.url()).pathname, '/signup');
      assertSameRequest(nextOf(page), path, 'the sign-up page keeps next');
      assert.match(await assertDestination(page, 'sign-up from the app'), /continue to Photo Album/);
      // "Log in" from there keeps it too.
      const back = new URL(await page.locator('main p.below a[href^="/login"]').getAttribute('href'), env.url);
      assertSameRequest(back.searchParams.get('next'), path, '"Log in" on the sign-up page');

      const name = uniqueName('album');
      await page.locator('#username').fill(name);
      await page.locator('#password').fill(GOOD_PASSWORD);
      await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
      assert.notEqual(pathOf(page), '/', 'not Twofold\'s home page');
      await assertAtApp(page, 'after sign-up');
    });

    test('1c. "Forgot password?" keeps the way: a new password (no second factor) ends at the app', async () => {
      const name = uniqueName('rhea');
      const email = `${name}@example.com`;
      const setup = await open();
      await signUp(setup, name);
      await addEmail(setup, env.dataDir, email);
      await setup.context().close();

      const page = await open();
      const path = await fromApp(page);
      await clickAndWait(page, page.locator('#forgot-password'));
      assert.equal(new URL(page.url()).pathname, '/recover');
      await page.locator('#identifier').fill(name);
      await clickAndWait(page, page.getByRole('button', { name: 'Send me a reset link' }));
      assert.equal(await page.locator('h1').innerText(), 'Check your email or phone');
      await page.goto(await waitForResetLink(env.dataDir, email, 0));
      assert.equal(pathOf(page), '/recover/password');
      await page.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
      await clickAndWait(page, page.getByRole('button', { name: 'Set new password' }));
      assert.notEqual(pathOf(page), '/?recovered=1', 'not Twofold\'s home page');
      await assertAtApp(page, 'after the new password');
      assert.equal(new URL(page.url()).searchParams.get('client_id'), new URL(path, env.url).searchParams.get('client_id'));
    });

    test('1c. "Forgot password?" with an authentication app: the second step, then the app', async () => {
      const user = await userWithApp('remy', { email: true });
      const page = await open();
      const path = await fromApp(page);
      await clickAndWait(page, page.locator('#forgot-password'));
      await page.locator('#identifier').fill(user.email);
      await clickAndWait(page, page.getByRole('button', { name: 'Send me a reset link' }));
      await page.goto(await waitForResetLink(env.dataDir, user.email, 0));
      await page.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
      await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login/two-factor', `the second step first: ${pathOf(page)}`);
      assert.ok(await page.locator('#recovery-step').isVisible());
      assertSameRequest(u.searchParams.get('next'), path, 'the second step keeps the way');
      await submitCode(page, await user.app.code());
      assert.notEqual(pathOf(page), '/?recovered=1', 'not Twofold\'s home page');
      await assertAtApp(page, 'after the reset\'s second step');
    });

    test('1d. a failed second step keeps the way: back to the app\'s login, then on to the app', async () => {
      const user = await userWithApp('fay');
      const page = await open();
      const path = await passwordFromApp(page, user.name);
      for (let i = 1; i <= 5; i += 1) {
        await submitCode(page, wrongTotp(user.app.secret));
        if (new URL(page.url()).pathname !== '/login/two-factor') break;
        assert.ok(await page.locator('#code-error').isVisible(), `wrong code #${i}: an error`);
      }
      // The fifth wrong code ended the attempt; whatever is sent next goes back to log in.
      if (new URL(page.url()).pathname === '/login/two-factor') {
        assert.match(await page.locator('#code-error').innerText(), /ended/);
        await submitCode(page, totpAt(user.app.secret, totpStep() + 1));
      }
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login', `after too many wrong codes: ${pathOf(page)}`);
      assertSameRequest(u.searchParams.get('next'), path, `the way is kept: ${pathOf(page)}`);
      assert.match(await page.locator('p.notice.bad').innerText(), /too many wrong codes/);
      assert.match(await assertDestination(page, 'login after a failed second step'), /^Log in to continue to Photo Album\.?$/);

      await submitLogin(page, user.name, GOOD_PASSWORD, { goto: null });
      assert.equal(new URL(page.url()).pathname, '/login/two-factor', pathOf(page));
      await submitCode(page, await user.app.code());
      await assertAtApp(page, 'after logging in again');
    });
  });

  // ---- 2. A second step that runs out; a locked one ----------------------------------------

  describe('2. a second step that runs out, and one that is paused', () => {
    test('2a. after 10 minutes the code page says the attempt ran out and offers "Log in again" to the app', async () => {
      const user = await userWithApp('otto');
      const page = await open();
      await page.clock.install();
      const path = await passwordFromApp(page, user.name);
      const left = Number(await page.locator('main#second-step').getAttribute('data-expires-in'));
      assert.ok(left > 590 && left <= 600, `data-expires-in=${left}`);
      assert.ok(await page.locator('#attempt').isVisible(), 'the form shows at first');
      assert.equal(await page.locator('#attempt-over').isVisible(), false, 'no "run out" at first');

      await page.clock.fastForward('10:01');
      assert.equal(await page.locator('#attempt').isVisible(), false, 'the form is hidden once it ran out');
      const over = page.locator('#attempt-over');
      assert.ok(await over.isVisible(), '#attempt-over shows');
      assert.match(await over.innerText(), /This login attempt has run out/);
      const again = over.getByRole('link', { name: 'Log in again' });
      assert.equal(await again.count(), 1);
      const href = new URL(await again.getAttribute('href'), env.url);
      assert.equal(href.pathname, '/login');
      assertSameRequest(href.searchParams.get('next'), path, '"Log in again" keeps the way');

      await clickAndWait(page, again);
      assertSameRequest(nextOf(page), path, 'the login page after "Log in again"');
      assert.match(await assertDestination(page, '"Log in again"'), /continue to Photo Album/);
      await submitLogin(page, user.name, GOOD_PASSWORD, { goto: null });
      await submitCode(page, await user.app.code());
      await assertAtApp(page, 'after logging in again');
    });

    test('2b. sending the form of an expired attempt goes back to log in, keeping the way', async () => {
      const user = await userWithApp('ula');
      const page = await open();
      const path = await passwordFromApp(page, user.name);
      // The attempt is gone (its cookie with it), as after its 10 minutes.
      const names = (await page.context().cookies()).map((c) => c.name).filter((n) => /challenge/.test(n));
      assert.ok(names.length > 0, 'a challenge cookie');
      for (const name of names) await page.context().clearCookies({ name });
      await submitCode(page, await user.app.code());
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login', pathOf(page));
      assert.equal(u.searchParams.get('done'), 'challenge_expired', pathOf(page));
      assertSameRequest(u.searchParams.get('next'), path, `the way is kept: ${pathOf(page)}`);
      assert.match(await assertDestination(page, 'login after an expired attempt'), /continue to Photo Album/);
    });

    test('2c. a second step paused after 10 wrong codes says "codes are paused" and when to try again', async () => {
      const user = await userWithApp('lena');
      const page = await open();
      // Two login attempts of 5 wrong codes each: the 10th wrong code in a row pauses codes.
      for (let attempt = 1; attempt <= 2; attempt += 1) {
        await passwordFromApp(page, user.name);
        for (let i = 1; i <= 5; i += 1) {
          assert.equal(new URL(page.url()).pathname, '/login/two-factor', `attempt ${attempt}, code ${i}: ${pathOf(page)}`);
          await submitCode(page, wrongTotp(user.app.secret));
        }
        await page.context().clearCookies();
      }
      await passwordFromApp(page, user.name);
      const error = page.locator('#code-error');
      assert.ok(await error.isVisible(), 'the code page says codes are paused');
      const shown = await error.innerText();
      assert.match(shown, /codes are paused/);
      assert.match(shown, /try again in 15 minutes/);
      assert.doesNotMatch(shown, /^Too many attempts/);

      // A right code while paused is refused with the same words.
      await submitCode(page, await user.app.code());
      assert.equal(new URL(page.url()).pathname, '/login/two-factor', pathOf(page));
      const after = await page.locator('#code-error').innerText();
      assert.match(after, /codes are paused/);
      assert.match(after, /try again in \d+ minutes?/);
      assert.doesNotMatch(after, /^Too many attempts/);
    });
  });

  // ---- 3. Look and feel --------------------------------------------------------------------

  describe('3. look and feel', () => {
    const STYLE = ['border-top-width', 'border-top-style', 'border-top-color', 'border-top-left-radius',
      'padding-top', 'padding-right', 'padding-bottom', 'padding-left', 'font-size', 'font-family', 'min-height'];
    const styleOf = (locator) => locator.evaluate((el, props) => {
      const cs = getComputedStyle(el);
      return Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)]));
    }, STYLE);

    test('3a. the email field looks like the other text fields', async () => {
      const page = await open();
      await page.goto('/login');
      const username = await styleOf(page.locator('#username'));
      await signUp(page, uniqueName('ella'));
      await page.goto('/settings/email');
      assert.equal(new URL(page.url()).pathname, '/settings/email');
      const email = await styleOf(page.locator('#email'));
      assert.deepEqual(email, username);
    });

    test('3b. at 375 px with a 30-character username the header is one row', async () => {
      const name = uniqueName('long').padEnd(30, 'x');
      assert.equal(name.length, 30);
      const page = await open(PHONE);
      await signUp(page, name);
      for (const path of ['/', '/settings/security']) {
        await page.goto(path);
        const header = await page.locator('header.top').boundingBox();
        const brand = await page.locator('header.top .brand').boundingBox();
        const out = await page.locator('header.top').getByRole('button', { name: 'Log out', exact: true }).boundingBox();
        assert.ok(header.height < 70, `${path}: header.top is ${header.height} px high`);
        assert.ok(Math.abs(brand.y - out.y) <= 6,
          `${path}: brand top ${brand.y} (h ${brand.height}), Log out top ${out.y} (h ${out.height})`);
        assert.ok(Math.abs((brand.y + brand.height / 2) - (out.y + out.height / 2)) <= 6, `${path}: same line`);
        assert.ok(out.x + out.width <= 375, `${path}: Log out inside the width (right ${out.x + out.width})`);
      }
    });

    test('3c. "Log out of all other sessions" at 375 px: the notice is in view', async () => {
      const name = uniqueName('ivo');
      const page = await open(PHONE);
      await signUp(page, name);
      const other = await open();
      await logIn(other, name);
      await page.goto('/settings/security');
      await clickAndWait(page, page.locator('form[action="/settings/security/sessions/logout-others"] button'));
      const notice = page.getByText("You're logged out everywhere else.", { exact: true });
      assert.equal(await notice.count(), 1, pathOf(page));
      assert.ok(await notice.isVisible());
      const box = await notice.boundingBox();
      const inner = await page.evaluate(() => window.innerHeight);
      assert.ok(box.y >= 0 && box.y + box.height <= inner,
        `the notice is at y=${box.y}..${box.y + box.height}, window 0..${inner} (${pathOf(page)})`);
      // And the other browser was logged out.
      await other.goto('/settings/security');
      assert.equal(new URL(other.url()).pathname, '/login');
    });

    test('3d. times are shown in the browser\'s own zone, with the UTC time in the title', async () => {
      const name = uniqueName('nyc');
      const page = await open({ timezoneId: 'America/New_York', locale: 'en-US' });
      await signUp(page, name);
      await page.goto('/settings/security');
      for (const scope of ['#sessions', '#activity']) {
        const times = await page.locator(`${scope} time.when`).evaluateAll((els) => els.map((el) => {
          const dt = el.getAttribute('datetime');
          const at = dt ? new Date(dt) : null;
          const hm = at && !Number.isNaN(at.getTime())
            ? new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' }).format(at)
            : null;
          return { text: el.textContent.trim(), datetime: dt, title: el.getAttribute('title'), hm };
        }));
        assert.ok(times.length > 0, `${scope}: time.when elements`);
        for (const t of times) {
          const what = `${scope} ${JSON.stringify(t)}`;
          assert.match(t.datetime ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, `${what}: ISO datetime`);
          assert.doesNotMatch(t.text, /UTC$/, `${what}: not UTC`);
          assert.match(t.text, /\b(EST|EDT|GMT-5|GMT-4)\b/, `${what}: New York's zone named`);
          assert.ok(t.text.includes(t.hm), `${what}: the New York time ${t.hm}`);
          const m = (t.title ?? '').match(/^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}), (\d{2}):(\d{2}) UTC$/);
          assert.ok(m, `${what}: the UTC text in the title`);
          const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
          const utc = Date.UTC(+m[3], months.indexOf(m[2]), +m[1], +m[4], +m[5]);
          assert.equal(new Date(t.datetime).getTime(), utc, `${what}: title and datetime are the same moment`);
        }
      }
    });

    test('3e. "Forgot password?" keeps the username typed on the login page', async () => {
      const page = await open();
      await page.goto('/login');
      await page.locator('#username').fill('someone.typed');
      await clickAndWait(page, page.locator('#forgot-password'));
      assert.equal(new URL(page.url()).pathname, '/recover');
      assert.equal(await page.locator('#identifier').inputValue(), 'someone.typed');
      // And from an app's login page, both the username and the way.
      const path = await fromApp(page);
      await page.locator('#username').fill('another.one');
      await clickAndWait(page, page.locator('#forgot-password'));
      assert.equal(new URL(page.url()).pathname, '/recover');
      assert.equal(await page.locator('#identifier').inputValue(), 'another.one');
      assertSameRequest(nextOf(page), path, 'the recovery page');
    });

    test('3f. the pages say "log in", never "sign in", for Twofold itself', async () => {
      const SIGN_IN = /\bsign(ed)?[\s-]in\b/i;
      const wordsOf = (page) => page.evaluate(() => {
        const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder],[alt],input[type=submit][value]')]
          .map((el) => ['aria-label', 'title', 'placeholder', 'alt', 'value'].map((a) => el.getAttribute(a) ?? '').join(' '));
        return `${document.title}\n${document.documentElement.textContent}\n${attrs.join('\n')}`;
      });
      const check = async (page, label) => {
        const text = (await wordsOf(page)).replace(/Sign in with Twofold/g, '');
        const m = text.match(new RegExp(`.{0,60}${SIGN_IN.source}.{0,60}`, 'i'));
        assert.equal(m, null, `${label} (${pathOf(page)}) says: ${m && JSON.stringify(m[0].replace(/\s+/g, ' '))}`);
      };
      const page = await open();
      for (const path of ['/login', '/signup', '/recover', '/recover?identifier=x']) {
        await page.goto(path);
        await check(page, path);
      }
      await fromApp(page);
      await check(page, 'login from the app');
      await clickAndWait(page, page.locator('#sign-up'));
      await check(page, 'sign-up from the app');

      // The code page, its methods page, and the settings pages.
      const user = await userWithApp('wes');
      const p2 = await open();
      await passwordFromApp(p2, user.name);
      await check(p2, 'code page');
      await submitCode(p2, wrongTotp(user.app.secret));
      await check(p2, 'code page with an error');
      await clickAndWait(p2, p2.locator('#try-another-way'));
      await check(p2, 'try another way');
      const p3 = await open();
      await signUp(p3, uniqueName('wora'));
      for (const path of ['/settings/security', '/settings/two-factor', '/settings/email']) {
        await p3.goto(path);
        await check(p3, path);
      }
    });

    test('3f. the page for an app\'s broken request calls it a "login link", not a "sign-in link"', async () => {
      const page = await open();
      const q = new URLSearchParams({
        response_type: 'code', client_id: 'no-such-app', redirect_uri: REDIRECT_URI, scope: 'openid',
        state: 'x', code_challenge: randomBytes(32).toString('base64url'), code_challenge_method: 'S256',
      });
      const res = await page.goto(`/oidc/authorize?${q}`);
      assert.equal(res.status(), 400);
      const h1 = await page.locator('h1').innerText();
      assert.match(h1, /login link/i, `h1: ${h1}`);
      const text = `${await page.title()}\n${await page.locator('body').innerText()}`;
      assert.doesNotMatch(text.replace(/Sign in with Twofold/g, ''), /\bsign(ed)?[\s-]in\b/i, text);
    });
  });

  // ---- 4. Accessibility of the new states --------------------------------------------------

  describe('4. axe on the new states at 375 px', () => {
    for (const colorScheme of ['light', 'dark']) {
      test(`4. ${colorScheme}: the login and sign-up pages with the destination, the code page that ran out`, async () => {
        const user = await userWithApp(`axe${colorScheme[0]}`);
        const page = await open({ ...PHONE, colorScheme });
        await fromApp(page);
        await assertDestination(page, 'login');
        await assertNoAxeViolations(page, `${colorScheme} login with the destination`);
        await clickAndWait(page, page.locator('#sign-up'));
        await assertDestination(page, 'sign-up');
        await assertNoAxeViolations(page, `${colorScheme} sign-up with the destination`);

        const p2 = await open({ ...PHONE, colorScheme });
        await p2.clock.install();
        await passwordFromApp(p2, user.name);
        await p2.clock.fastForward('10:01');
        assert.ok(await p2.locator('#attempt-over').isVisible(), '#attempt-over shows');
        await assertNoAxeViolations(p2, `${colorScheme} code page that ran out`);
      });
    }
  });
});
