// Issue 24: passkeys and security keys in a real Chromium, with its DevTools virtual
// authenticator (CDP `WebAuthn`) standing in for the fingerprint reader or the USB key.
// Adding one (which turns two-factor authentication on), the second step with it,
// "Log in with a passkey", passkey autofill, a cloned authenticator refused, removal, a
// password reset finished with a passkey, and an OpenID Connect app receiving `hwk`.
//
// WebAuthn needs a relying party id, and an IP address is none: the server runs with
// `--public-url http://localhost:PORT` and the browser goes to localhost.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, freePort, addClient, addEmail,
  waitForResetLink, assertNoAxeViolations, assertNoSidewaysScroll, VIEWPORTS, GOOD_PASSWORD,
  OTHER_GOOD_PASSWORD, readMail,
} from '../lib/harness.js';

describe('issue 24: passkeys and security keys in the browser', () => {
  let env;
  let base;
  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    env = await startEnv({
      port,
      args: ['--public-url', base, '--sign-ups-per-address-hour', '0'],
    });
  });
  after(async () => { await env?.stop(); });

  /**
   * A browser context on localhost with a virtual platform authenticator (user verification
   * on, presence given automatically). `credential` puts a copy of a passkey in it.
   */
  async function withAuthenticator({ credential, viewport, colorScheme, autofill = false } = {}) {
    const ctx = await env.context({ baseURL: base, ...(viewport ? { viewport } : {}), ...(colorScheme ? { colorScheme } : {}) });
    const page = await ctx.newPage();
    // Chromium's virtual authenticator answers a conditional request (passkey autofill) as
    // soon as it can, as if the person had picked the passkey from the username's
    // suggestions: a page that offers autofill would log in by itself. Tests of the other
    // ways see a browser without autofill; the autofill test turns it on.
    if (!autofill) {
      await page.addInitScript(() => {
        if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
    }
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    if (credential) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    // The authenticator's presence, turned off while a password is typed (belt and braces).
    const presence = (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    return { page, cdp, authenticatorId, credentials, presence };
  }

  /** Settings → Add a passkey → name → the browser's dialog (answered by the authenticator). */
  async function addPasskey(page, name) {
    await page.goto('/settings/two-factor/passkeys/add');
    assert.equal(await page.locator('h1').innerText(), 'Add a passkey');
    await page.locator('#passkey-name').fill(name);
    return clickAndWait(page, page.getByRole('button', { name: 'Create passkey' }));
  }

  /** A new account, logged in, with one passkey (so two-factor authentication on). */
  async function userWithPasskey(prefix, keyName = 'This laptop') {
    const a = await withAuthenticator();
    const name = uniqueName(prefix);
    await signUp(a.page, name);
    await addPasskey(a.page, keyName);
    return { ...a, name };
  }

  /** Logs out from the home page (and keeps the authenticator from answering autofill). */
  async function logOut(a) {
    const { page } = a;
    await a.presence(false);
    await page.goto('/');
    await clickAndWait(page, page.getByRole('button', { name: 'Log out' }));
    assert.equal(pathOf(page), '/login?done=logged_out');
  }

  /** The password on /login: resolves on the page after it, the authenticator ready again. */
  async function password(a, name, pw = GOOD_PASSWORD) {
    const { page } = a;
    await a.presence(false);
    await page.goto('/login');
    await page.locator('#username').fill(name);
    await page.locator('#password').fill(pw);
    const res = await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
    await a.presence(true);
    return res;
  }

  /** "Log in with a passkey" on /login (autofill kept quiet until the button). */
  async function passkeyButton(a) {
    const { page } = a;
    await a.presence(false);
    await page.goto('/login');
    await page.locator('#passkey-login').waitFor();
    await a.presence(true);
    return clickAndWait(page, page.getByRole('button', { name: 'Log in with a passkey' }));
  }

  it('adding the first passkey turns two-factor authentication on, with backup codes; the list names it', async () => {
    const { page, name, credentials } = await userWithPasskey('add', 'Work laptop');
    // The first method: the backup codes to save, as after setting up the app.
    assert.match(pathOf(page), /^\/settings\/two-factor\/backup-codes/);
    assert.equal(await page.locator('ol.codes li').count(), 10);
    assert.equal((await credentials()).length, 1, 'the authenticator holds one passkey');
    await page.goto('/settings/two-factor');
    assert.match(await page.locator('h1').innerText(), /On/);
    const section = page.locator('#passkeys');
    assert.match(await section.innerText(), /Work laptop/);
    assert.match(await section.innerText(), /not used yet/);
    assert.match(await section.innerText(), /can't be phished/);
    // The owner is told (the activity list names it).
    await page.goto('/settings/security');
    assert.match(await page.locator('main').innerText(), /[Pp]asskey/);
    assert.ok(name);
  });

  it('a name is asked for before the browser makes anything; a taken authenticator is said plainly', async () => {
    const { page, credentials } = await userWithPasskey('named');
    await page.goto('/settings/two-factor/passkeys/add');
    await page.locator('#passkey-name').fill('   ');
    await page.getByRole('button', { name: 'Create passkey' }).click();
    assert.match(await page.locator('#passkey-error').innerText(), /Give your passkey a name/);
    assert.equal((await credentials()).length, 1, 'nothing was made on the authenticator');
    // The same authenticator again: the browser refuses (excludeCredentials), the page says why.
    await page.locator('#passkey-name').fill('Again');
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page.locator('#passkey-error:not([hidden])').waitFor();
    assert.match(await page.locator('#passkey-error').innerText(), /already holds a passkey for your account/);
    assert.equal(pathOf(page), '/settings/two-factor/passkeys/add');
  });

  it('second step: the passkey is the default, and "Try another way" lists it with the others', async () => {
    const a = await userWithPasskey('second');
    const { page, name } = a;
    await logOut(a);
    await password(a, name);
    assert.match(pathOf(page), /^\/login\/two-factor\?method=webauthn/);
    assert.equal(await page.locator('h1').innerText(), 'Use your passkey');
    await assertNoAxeViolations(page, 'second step with a passkey');
    await clickAndWait(page, page.locator('#try-another-way'));
    const ways = await page.locator('ul.methods').innerText();
    assert.match(ways, /Passkey or security key/);
    assert.match(ways, /Backup code/);
    await clickAndWait(page, page.getByRole('link', { name: 'Use passkey' }));
    await clickAndWait(page, page.getByRole('button', { name: 'Use passkey' }));
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
    await page.goto('/settings/two-factor');
    assert.match(await page.locator('#passkeys').innerText(), /last used/);
  });

  it('"Log in with a passkey": no username, no password', async () => {
    const a = await userWithPasskey('nopw');
    const { page, name } = a;
    await logOut(a);
    assert.equal(await page.locator('#username').getAttribute('autocomplete'), 'username webauthn');
    await passkeyButton(a);
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
  });

  it('passkey autofill: the login page asks with conditional mediation and logs in with the chosen passkey', async () => {
    const a = await withAuthenticator({ autofill: true });
    const { page } = a;
    const name = uniqueName('autofill');
    await signUp(page, name);
    await addPasskey(page, 'This laptop');
    await logOut(a);
    // Watch what the page asks navigator.credentials for.
    const asked = [];
    await page.exposeBinding('notePasskeyRequest', (_, mediation) => { asked.push(mediation); });
    await page.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (o) => { window.notePasskeyRequest(o.mediation || 'modal'); return get(o); };
    });
    // Chromium's virtual authenticator answers a conditional request with its passkey, as
    // a person picking it from the username field's suggestions would.
    await a.presence(true);
    await page.goto('/login');
    await page.waitForURL((u) => u.pathname === '/', { timeout: 10_000 });
    assert.deepEqual(asked, ['conditional'], 'one request, with conditional mediation, and no button pressed');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
  });

  it('a cloned authenticator (its signature counter went back) is refused, and the owner told', async () => {
    const a = await userWithPasskey('clone');
    const { page, name, credentials } = a;
    const [copy] = await credentials();
    // The original is used once more: the server now knows a higher counter.
    await logOut(a);
    await passkeyButton(a);
    assert.equal(pathOf(page), '/');
    // The copy, with the counter it had before, in another browser.
    const other = await withAuthenticator({ credential: { ...copy, signCount: copy.signCount } });
    await passkeyButton(other);
    assert.equal(pathOf(other.page), '/login/passkey');
    assert.match(await other.page.locator('#login-error').innerText(), /a copy of it may exist/);
    await page.goto('/settings/security');
    assert.match(await page.locator('main').innerText(), /copy|clone/i, `${name} is told`);
  });

  it('removing a passkey asks first, says what stays, and the passkey no longer logs in', async () => {
    const a = await userWithPasskey('remove', 'Old phone');
    const { page, name, credentials } = a;
    const [copy] = await credentials();
    await page.goto('/settings/two-factor');
    await clickAndWait(page, page.getByRole('link', { name: 'Remove Old phone' }));
    assert.equal(await page.locator('h1').innerText(), 'Remove this passkey?');
    assert.match(await page.locator('#lost').innerText(), /Old phone/);
    // Its only method: two-factor authentication goes too, and the page says so.
    assert.match(await page.locator('main').innerText(), /only second step/);
    await assertNoAxeViolations(page, 'remove a passkey');
    await clickAndWait(page, page.getByRole('button', { name: 'Remove passkey' }));
    assert.equal(pathOf(page), '/settings/two-factor?done=passkey_removed');
    assert.match(await page.locator('main .notice').first().innerText(), /Two-factor authentication is off/);
    assert.doesNotMatch(await page.locator('#passkeys').innerText(), /Old phone/);
    // The authenticator still holds it; the server refuses it.
    const other = await withAuthenticator({ credential: copy });
    await passkeyButton(other);
    assert.match(await other.page.locator('#login-error').innerText(), /isn't set up for an account here/);
    assert.ok(name);
  });

  it('a malformed answer on the second step is a clear 422, never a 500, and the step goes on', async () => {
    const a = await userWithPasskey('bad');
    const { page, name } = a;
    await logOut(a);
    await password(a, name);
    for (const junk of ['not json', '{"id":"x","rawId":"x","type":"public-key","response":{}}', 'x'.repeat(20_000)]) {
      // The script posts only what the authenticator gave: the junk goes by hand.
      await page.locator('#passkey-step input[name=credential]').evaluate((e, v) => { e.value = v; }, junk);
      const [res] = await Promise.all([
        page.waitForNavigation(),
        page.locator('#passkey-step').evaluate((f) => HTMLFormElement.prototype.submit.call(f)),
      ]);
      assert.equal(res.status(), 422, junk.slice(0, 40));
      assert.match(await page.locator('#passkey-error').innerText(), /couldn't be checked/);
    }
    await clickAndWait(page, page.getByRole('button', { name: 'Use passkey' }));
    assert.equal(pathOf(page), '/');
  });

  it('"Forgot password?" finished with a passkey as the second factor', async () => {
    const a = await userWithPasskey('reset');
    const { page, name } = a;
    const email = `${name}@example.com`;
    await addEmail(page, env.dataDir, email);
    await logOut(a);
    await page.goto('/recover');
    await page.locator('#identifier').fill(name);
    await clickAndWait(page, page.getByRole('button', { name: 'Send me a reset link' }));
    await page.goto(await waitForResetLink(env.dataDir, email, 0));
    assert.equal(pathOf(page), '/recover/password');
    await page.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    assert.match(pathOf(page), /^\/login\/two-factor\?method=webauthn/);
    assert.ok(await page.locator('#recovery-step').isVisible());
    await a.presence(true);
    await clickAndWait(page, page.getByRole('button', { name: 'Use passkey' }));
    assert.equal(pathOf(page), '/?recovered=1');
    // The new password is the one now.
    await logOut(a);
    await password(a, name, OTHER_GOOD_PASSWORD);
    assert.match(pathOf(page), /^\/login\/two-factor/);
    assert.ok(readMail(env.dataDir).some((m) => m.to === email && /password/i.test(m.subject)));
  });

  it('an OpenID Connect app receives amr ["hwk","user","mfa"] after "Log in with a passkey"', async () => {
    const a = await userWithPasskey('oidc');
    const { page } = a;
    await logOut(a);
    const redirectUri = 'http://127.0.0.1:9/callback';
    const client = await addClient(env.dataDir, { name: 'Passkey app', redirectUris: [redirectUri] });
    // The app's callback, answered in the browser.
    let callback;
    await page.route(`${redirectUri}**`, (route) => {
      callback = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'ok' });
    });
    const verifier = 'v'.repeat(50);
    const { createHash } = await import('node:crypto');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    await page.goto(`/oidc/authorize?${new URLSearchParams({
      client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: redirectUri,
      state: 'st', nonce: 'n1', code_challenge: challenge, code_challenge_method: 'S256',
    })}`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.locator('#passkey-login').waitFor();
    await a.presence(true);
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    // The first time, the app asks for consent.
    const allow = page.getByRole('button', { name: 'Allow' });
    await allow.waitFor({ timeout: 15_000 });
    await allow.click();
    await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 10_000 });
    assert.ok(callback?.searchParams.get('code'), `a code came back: ${callback}`);
    const res = await fetch(`${base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: callback.searchParams.get('code'),
        redirect_uri: redirectUri, code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { id_token: idToken } = await res.json();
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString('utf8'));
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
    assert.equal(claims.nonce, 'n1');
  });

  it('an app that needs two factors: "Use a passkey" on the walk, then straight back to the app', async () => {
    const a = await withAuthenticator();
    const { page } = a;
    await signUp(page, uniqueName('walk'));
    const client = await addClient(env.dataDir, {
      name: 'Strict app', redirectUris: ['http://127.0.0.1:9/callback'], flags: ['--require-two-factor'],
    });
    await page.goto(`/oidc/authorize?${new URLSearchParams({
      client_id: client.client_id, response_type: 'code', scope: 'openid', state: 's',
      redirect_uri: 'http://127.0.0.1:9/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256',
    })}`);
    assert.equal(await page.locator('h1').innerText(), 'Set up two-factor authentication');
    await clickAndWait(page, page.getByRole('link', { name: 'Use a passkey' }));
    await page.locator('#passkey-name').fill('Phone');
    await clickAndWait(page, page.getByRole('button', { name: 'Create passkey' }));
    assert.equal(await page.locator('ol.codes li').count(), 10, 'the backup codes to save');
    await clickAndWait(page, page.getByRole('link', { name: 'Done — I\'ve saved them' }));
    assert.equal(new URL(page.url()).pathname, '/oidc/authorize', 'back to the app');
    assert.equal(await page.locator('h1').innerText(), 'Log in to Strict app');
  });


  it('deletes the account from Settings → Your account with the passkey (issue 25)', async () => {
    const a = await userWithPasskey('gone');
    const { page } = a;
    await page.goto('/settings/account');
    await clickAndWait(page, page.getByRole('button', { name: 'Confirm with a passkey instead' }));
    assert.equal(await page.locator('#passkey-step').count(), 1);
    await assertNoAxeViolations(page, 'delete with a passkey');
    await clickAndWait(page, page.getByRole('button', { name: 'Use passkey and delete my account' }));
    assert.equal(pathOf(page), '/login?done=account_deleted');
    assert.match(await page.locator('main').innerText(), /Your account is deleted/);
    await a.page.context().close();
  });

  for (const [label, viewport] of [['phone', VIEWPORTS.phone], ['desktop', VIEWPORTS.desktop]]) {
    for (const colorScheme of ['light', 'dark']) {
      it(`the passkey pages on a ${label}, ${colorScheme}: no sideways scroll, axe clean`, async () => {
        const a = await withAuthenticator({ viewport, colorScheme });
        const name = uniqueName('look');
        await signUp(a.page, name);
        await a.page.goto('/settings/two-factor/passkeys/add');
        await assertNoSidewaysScroll(a.page, `add, ${label} ${colorScheme}`);
        await assertNoAxeViolations(a.page, `add, ${label} ${colorScheme}`);
        await addPasskey(a.page, 'A rather long passkey name for a small screen');
        await a.page.goto('/settings/two-factor');
        await assertNoSidewaysScroll(a.page, `settings, ${label} ${colorScheme}`);
        await assertNoAxeViolations(a.page, `settings, ${label} ${colorScheme}`);
        await logOut(a);
        await a.page.locator('#passkey-login').waitFor();
        await assertNoSidewaysScroll(a.page, `login, ${label} ${colorScheme}`);
        await assertNoAxeViolations(a.page, `login, ${label} ${colorScheme}`);
        await password(a, name);
        await assertNoSidewaysScroll(a.page, `second step, ${label} ${colorScheme}`);
        await assertNoAxeViolations(a.page, `second step, ${label} ${colorScheme}`);
        await a.page.context().close();
      });
    }
  }
});
