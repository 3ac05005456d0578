// Sign in with Twofold from openid-client (v6, a certified relying-party library nobody here
// wrote): discovery, the authorization code flow with PKCE S256, state and nonce, the ID
// token's signature checked against the JWKS, code reuse, refresh-token rotation and reuse
// detection, userinfo, introspection, revocation, prompt=none and RP-initiated logout.
// Chromium does the interactive part (the login and consent); openid-client the rest.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createPublicKey, createVerify } from 'node:crypto';
import * as oidc from 'openid-client';
import {
  startEnv, uniqueName, signUp, logOut, clickAndWait, submitCode, enableTotp, pathOf,
  addClient, freePort, GOOD_PASSWORD,
} from '../lib/harness.js';

/** A stand-in for the app's callback: answers every GET with 200 "ok" on 127.0.0.1. */
async function startCallbackServer() {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end('ok');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

/** Expects `promise` to reject with an OAuth error answer `error` from the server. */
async function rejectsWith(promise, error, what) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.error, error, `${what}: ${e.constructor.name} ${e.code} ${e.error}: ${e.message}`);
    return true;
  }, what);
}

/** Verifies an RS256 JWT against a JWKS by hand (node:crypto), returning its header and claims. */
function verifyRs256(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  assert.equal(header.alg, 'RS256');
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the JWKS has the key ${header.kid}: ${JSON.stringify(jwks.keys.map((k) => k.kid))}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(key, Buffer.from(s, 'base64url'));
  assert.ok(ok, 'the ID token signature verifies with the JWKS key');
  // And a changed payload does not.
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url')), sub: 'someone-else' })).toString('base64url');
  assert.equal(createVerify('RSA-SHA256').update(`${h}.${forged}`).verify(key, Buffer.from(s, 'base64url')), false);
  return { header, claims: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) };
}

describe('Sign in with Twofold: openid-client', () => {
  let env;
  let cb;
  let redirectUri;
  let postLogoutUri;
  let config; // openid-client's view of Twofold, for the confidential client
  let client;
  let user; // { name, app }
  let page; // a browser with a Twofold session (after the first login)

  before(async () => {
    env = await startEnv({ publicUrl: true });
    cb = await startCallbackServer();
    redirectUri = `${cb.origin}/callback`;
    postLogoutUri = `${cb.origin}/logged-out`;
    client = await addClient(env.dataDir, {
      name: 'openid-client test app',
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [postLogoutUri],
      // Refresh tokens only for a client registered with offline_access (contract v3).
      flags: ['--scopes', 'openid profile email phone offline_access'],
    });
    config = await oidc.discovery(
      new URL(env.url),
      client.client_id,
      undefined,
      oidc.ClientSecretBasic(client.client_secret),
      { execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks], timeout: 10 },
    );
    const setup = await env.page();
    const name = uniqueName('rp');
    await signUp(setup, name);
    const { app } = await enableTotp(setup);
    await logOut(setup);
    await setup.context().close();
    user = { name, app };
  });

  after(async () => {
    await page?.context().close();
    await cb?.stop();
    await env?.stop();
  });

  /**
   * Sends the browser to the authorization URL and resolves to the URL Twofold sent it
   * back to (the callback, with `code` or `error`). `interact(page)` does the login and
   * consent when they are asked for.
   */
  async function authorize(p, params, interact = async () => {}) {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, ...params });
    await p.goto(url.href);
    if (!p.url().startsWith(redirectUri)) await interact(p);
    await p.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 15_000 });
    return new URL(p.url());
  }

  /** The password, the authentication app's code, and Allow on the consent page. */
  async function logInAndAllow(p) {
    assert.equal(new URL(p.url()).pathname, '/login', `expected the login, got ${pathOf(p)}`);
    await p.locator('#username').fill(user.name);
    await p.locator('#password').fill(GOOD_PASSWORD);
    await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(new URL(p.url()).pathname, '/login/two-factor', pathOf(p));
    await submitCode(p, await user.app.code());
    // Twofold moves on to the app's request by itself (a page, not a redirect: a form may
    // not end outside the site); the first time, that is the consent page.
    await p.waitForURL((u) => u.pathname === '/oidc/authorize' || u.href.startsWith(redirectUri), { timeout: 10_000 });
    if (!p.url().startsWith(redirectUri)) await allow(p);
  }

  /** Allow on the consent page. */
  async function allow(p) {
    assert.equal(new URL(p.url()).pathname, '/oidc/authorize', pathOf(p));
    assert.equal(await p.locator('h1').innerText(), 'Log in to openid-client test app');
    await p.getByRole('button', { name: 'Allow' }).click();
  }

  /** A new PKCE/state/nonce set and the authorization parameters for it. */
  async function checks(scope = 'openid profile') {
    const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
    const expectedState = oidc.randomState();
    const expectedNonce = oidc.randomNonce();
    return {
      checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true },
      params: {
        scope,
        state: expectedState,
        nonce: expectedNonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
      },
    };
  }

  it('discovery names the issuer, the endpoints and what the contract says', () => {
    const m = config.serverMetadata();
    assert.equal(m.issuer, env.url);
    for (const [k, path] of [
      ['authorization_endpoint', '/oidc/authorize'], ['token_endpoint', '/oidc/token'],
      ['userinfo_endpoint', '/oidc/userinfo'], ['jwks_uri', '/oidc/jwks'],
      ['introspection_endpoint', '/oidc/introspect'], ['revocation_endpoint', '/oidc/revoke'],
      ['end_session_endpoint', '/oidc/logout'],
    ]) assert.equal(m[k], `${env.url}${path}`, k);
    assert.deepEqual(m.response_types_supported, ['code']);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.id_token_signing_alg_values_supported[0], 'RS256');
    for (const a of ['client_secret_basic', 'client_secret_post', 'none']) {
      assert.ok(m.token_endpoint_auth_methods_supported.includes(a), a);
    }
    for (const g of ['authorization_code', 'refresh_token']) assert.ok(m.grant_types_supported.includes(g), g);
  });

  let first; // the first login's tokens and the code that gave them
  it('log in (password + app), consent: an ID token with nonce, amr and a JWKS signature', async () => {
    page = await env.page();
    const c = await checks();
    const back = await authorize(page, c.params, logInAndAllow);
    assert.equal(back.searchParams.get('state'), c.params.state);
    assert.equal(back.searchParams.get('iss'), env.url);
    assert.ok(back.searchParams.get('code'));
    const tokens = await oidc.authorizationCodeGrant(config, back, c.checks);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.expires_in > 0);
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access');
    const claims = tokens.claims();
    assert.equal(claims.iss, env.url);
    assert.equal(claims.aud, client.client_id);
    assert.equal(claims.nonce, c.params.nonce);
    assert.equal(claims.preferred_username, user.name);
    assert.deepEqual(claims.amr, ['pwd', 'mfa', 'otp']);
    assert.ok(claims.auth_time <= claims.iat && claims.iat < claims.exp);
    // openid-client checked the signature (enableNonRepudiationChecks); check it again by hand.
    const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
    const { claims: mine } = verifyRs256(tokens.id_token, jwks);
    assert.equal(mine.sub, claims.sub);
    first = { tokens, url: back, checks: c.checks, sub: claims.sub };
  });

  it('userinfo answers the access token with the same subject and username', async () => {
    const info = await oidc.fetchUserInfo(config, first.tokens.access_token, first.sub);
    assert.equal(info.sub, first.sub);
    assert.equal(info.preferred_username, user.name);
  });

  it('a wrong PKCE verifier or nonce is refused', async () => {
    // Consent is remembered and the session is live: the code comes straight back.
    const c = await checks();
    const back = await authorize(page, c.params);
    const wrongVerifier = { ...c.checks, pkceCodeVerifier: oidc.randomPKCECodeVerifier() };
    await rejectsWith(oidc.authorizationCodeGrant(config, back, wrongVerifier), 'invalid_grant', 'a wrong code_verifier');
    // openid-client refuses an ID token whose nonce is not the one it sent.
    const c2 = await checks();
    const back2 = await authorize(page, c2.params);
    await assert.rejects(
      oidc.authorizationCodeGrant(config, back2, { ...c2.checks, expectedNonce: oidc.randomNonce() }),
      (e) => {
        // openid-client's ClientError wraps oauth4webapi's, which names the claim.
        assert.equal(e.cause?.code, 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', `${e.constructor.name}: ${e.message}`);
        assert.equal(e.cause?.cause?.claim, 'nonce', `${e.message}: ${JSON.stringify(e.cause?.cause)}`);
        return true;
      },
    );
  });

  it('a code used twice answers invalid_grant, and the tokens it gave stop working', async () => {
    const c = await checks('openid profile offline_access');
    // offline_access is a new scope: consent again.
    const back = await authorize(page, c.params, allow);
    const tokens = await oidc.authorizationCodeGrant(config, back, c.checks);
    assert.ok(tokens.refresh_token);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
    await rejectsWith(oidc.authorizationCodeGrant(config, back, c.checks), 'invalid_grant', 'the code again');
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false, 'access token revoked');
    assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, false, 'refresh token revoked');
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck));
    await rejectsWith(oidc.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 'its refresh token');
  });

  it('refresh tokens rotate; a rotated one used again revokes the whole chain', async () => {
    const c = await checks('openid profile offline_access');
    const back = await authorize(page, c.params);
    const t0 = await oidc.authorizationCodeGrant(config, back, c.checks);
    const t1 = await oidc.refreshTokenGrant(config, t0.refresh_token);
    assert.ok(t1.refresh_token && t1.refresh_token !== t0.refresh_token, 'a new refresh token');
    assert.ok(t1.access_token !== t0.access_token);
    assert.equal(t1.claims().sub, first.sub);
    assert.deepEqual(t1.claims().amr, ['pwd', 'mfa', 'otp'], 'a refreshed ID token keeps the login\'s amr');
    assert.equal(t1.claims().auth_time, t0.claims().auth_time);
    const t2 = await oidc.refreshTokenGrant(config, t1.refresh_token);
    assert.equal((await oidc.fetchUserInfo(config, t2.access_token, first.sub)).preferred_username, user.name);
    // t0's refresh token was rotated away: using it again is a theft signal.
    await rejectsWith(oidc.refreshTokenGrant(config, t0.refresh_token), 'invalid_grant', 'a rotated refresh token');
    await rejectsWith(oidc.refreshTokenGrant(config, t2.refresh_token), 'invalid_grant', 'the newest refresh token of the chain');
    assert.equal((await oidc.tokenIntrospection(config, t2.access_token)).active, false);
  });

  it('introspection describes a live token; revocation ends it', async () => {
    const c = await checks('openid profile offline_access');
    const back = await authorize(page, c.params);
    const t = await oidc.authorizationCodeGrant(config, back, c.checks);
    const info = await oidc.tokenIntrospection(config, t.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, client.client_id);
    assert.equal(info.sub, first.sub);
    assert.equal(info.username, user.name);
    assert.ok(info.scope.split(' ').includes('offline_access'));
    assert.ok(info.exp > Date.now() / 1000);
    const rt = await oidc.tokenIntrospection(config, t.refresh_token);
    assert.equal(rt.active, true);

    await oidc.tokenRevocation(config, t.access_token);
    assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false);
    await assert.rejects(oidc.fetchUserInfo(config, t.access_token, first.sub));
    assert.equal((await oidc.tokenIntrospection(config, t.refresh_token)).active, true, 'revoking the access token leaves the refresh token');
    await oidc.tokenRevocation(config, t.refresh_token);
    await rejectsWith(oidc.refreshTokenGrant(config, t.refresh_token), 'invalid_grant', 'a revoked refresh token');
    // An unknown token is revoked "successfully" too (RFC 7009 §2.2).
    await oidc.tokenRevocation(config, 'not-a-token-twofold-issued');
    // Introspection is for the token's own client: another client learns nothing.
    const other = await addClient(env.dataDir, { name: 'another app', redirectUris: [`${cb.origin}/other`] });
    const otherConfig = new oidc.Configuration(config.serverMetadata(), other.client_id, undefined, oidc.ClientSecretBasic(other.client_secret));
    oidc.allowInsecureRequests(otherConfig);
    const c3 = await checks();
    const live = await oidc.authorizationCodeGrant(config, await authorize(page, c3.params), c3.checks);
    assert.equal((await oidc.tokenIntrospection(otherConfig, live.access_token)).active, false, 'another client sees it inactive');
    assert.equal((await oidc.tokenIntrospection(config, live.access_token)).active, true);
    // And a wrong client secret is invalid_client.
    const badConfig = new oidc.Configuration(config.serverMetadata(), client.client_id, undefined, oidc.ClientSecretBasic('wrong-secret'));
    oidc.allowInsecureRequests(badConfig);
    await assert.rejects(oidc.tokenIntrospection(badConfig, live.access_token), (e) => {
      assert.ok(e.status === 401 || e.error === 'invalid_client', `${e.constructor.name}: ${e.message}`);
      return true;
    });
  });

  it('prompt=none without a Twofold session answers login_required to the app', async () => {
    const fresh = await env.page();
    try {
      const c = await checks();
      const back = await authorize(fresh, { ...c.params, prompt: 'none' });
      assert.equal(back.searchParams.get('error'), 'login_required');
      assert.equal(back.searchParams.get('state'), c.params.state);
      await assert.rejects(oidc.authorizationCodeGrant(config, back, c.checks), (e) => {
        assert.equal(e.error, 'login_required', `${e.constructor.name}: ${e.message}`);
        return true;
      });
    } finally {
      await fresh.context().close();
    }
  });

  it('prompt=none with a session and consent gives a code without a page', async () => {
    const c = await checks();
    const back = await authorize(page, { ...c.params, prompt: 'none' });
    assert.equal(back.searchParams.get('error'), null, back.href);
    const t = await oidc.authorizationCodeGrant(config, back, c.checks);
    assert.equal(t.claims().sub, first.sub);
  });

  it('Cancel on the consent page answers access_denied to the app, with its state', async () => {
    // phone is a scope not allowed yet: the consent page comes back.
    const c = await checks('openid profile phone');
    const back = await authorize(page, c.params, async (p) => {
      assert.equal(new URL(p.url()).pathname, '/oidc/authorize', pathOf(p));
      assert.match(await p.locator('main').innerText(), /Your verified phone number/);
      await p.getByRole('button', { name: 'Cancel' }).click();
    });
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), c.params.state);
    assert.equal(back.searchParams.get('code'), null);
    await assert.rejects(oidc.authorizationCodeGrant(config, back, c.checks), (e) => {
      assert.equal(e.error, 'access_denied', `${e.constructor.name}: ${e.message}`);
      return true;
    });
  });

  it('client_secret_post authenticates the client as well as HTTP Basic', async () => {
    const postConfig = new oidc.Configuration(config.serverMetadata(), client.client_id, undefined, oidc.ClientSecretPost(client.client_secret));
    oidc.allowInsecureRequests(postConfig);
    oidc.enableNonRepudiationChecks(postConfig);
    const c = await checks();
    const t = await oidc.authorizationCodeGrant(postConfig, await authorize(page, c.params), c.checks);
    assert.equal(t.claims().sub, first.sub);
    assert.equal((await oidc.tokenIntrospection(postConfig, t.access_token)).active, true);
    // A wrong secret in the form is invalid_client.
    const wrong = new oidc.Configuration(config.serverMetadata(), client.client_id, undefined, oidc.ClientSecretPost('wrong-secret'));
    oidc.allowInsecureRequests(wrong);
    const c2 = await checks();
    await rejectsWith(oidc.authorizationCodeGrant(wrong, await authorize(page, c2.params), c2.checks), 'invalid_client', 'a wrong client_secret');
  });

  it('a public client with PKCE (token_endpoint_auth_method none)', async () => {
    const pub = await addClient(env.dataDir, { name: 'public app', redirectUris: [redirectUri], flags: ['--public', '--skip-consent'] });
    assert.equal(pub.client_secret, null);
    const pubConfig = new oidc.Configuration(config.serverMetadata(), pub.client_id, undefined, oidc.None());
    oidc.allowInsecureRequests(pubConfig);
    oidc.enableNonRepudiationChecks(pubConfig);
    const c = await checks();
    const url = oidc.buildAuthorizationUrl(pubConfig, { redirect_uri: redirectUri, ...c.params });
    await page.goto(url.href);
    await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 15_000 });
    const t = await oidc.authorizationCodeGrant(pubConfig, new URL(page.url()), c.checks);
    assert.equal(t.claims().aud, pub.client_id);
    assert.equal(t.claims().sub, first.sub);
    // Without PKCE a public client is refused at the authorization endpoint.
    const noPkce = oidc.buildAuthorizationUrl(pubConfig, { redirect_uri: redirectUri, scope: 'openid', state: 's1' });
    await page.goto(noPkce.href);
    await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.get('error'), 'invalid_request');
  });

  it('prompt=login asks for the password and second factor again, then comes back once', async () => {
    const c = await checks();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, ...c.params, prompt: 'login' });
    await page.goto(url.href);
    const u = new URL(page.url());
    assert.equal(u.pathname, '/login', `a new login, not ${page.url()}`);
    assert.equal(u.searchParams.get('again'), '1');
    await logInAndAllow(page);
    await page.waitForURL((x) => x.href.startsWith(redirectUri), { timeout: 15_000 });
    const t = await oidc.authorizationCodeGrant(config, new URL(page.url()), c.checks);
    assert.ok(t.claims().auth_time >= first.tokens.claims().auth_time);
    assert.ok(Math.abs(t.claims().auth_time - Date.now() / 1000) < 60, 'auth_time is this login');
    assert.deepEqual(t.claims().amr, ['pwd', 'mfa', 'otp']);
  });

  it('RP-initiated logout with id_token_hint, post_logout_redirect_uri and state ends the Twofold session', async () => {
    // The hint must name this browser's own session (contract v3): an ID token of the
    // session the browser holds now.
    const c0 = await checks();
    const now = await authorize(page, { ...c0.params, prompt: 'none' });
    const current = await oidc.authorizationCodeGrant(config, now, c0.checks);
    const state = oidc.randomState();
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: current.id_token,
      post_logout_redirect_uri: postLogoutUri,
      state,
    });
    await page.goto(url.href);
    await page.waitForURL((u) => u.href.startsWith(postLogoutUri), { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.get('state'), state);
    // Twofold's session is gone: its pages ask to log in, and prompt=none says login_required.
    await page.goto(`${env.url}/settings/security`);
    assert.equal(new URL(page.url()).pathname, '/login');
    const c = await checks();
    const back = await authorize(page, { ...c.params, prompt: 'none' });
    assert.equal(back.searchParams.get('error'), 'login_required');
    // An address that is not registered is refused on a page, not followed.
    const bad = oidc.buildEndSessionUrl(config, {
      id_token_hint: first.tokens.id_token,
      post_logout_redirect_uri: `${cb.origin}/elsewhere`,
    });
    const res = await page.goto(bad.href);
    assert.equal(res.status(), 400);
    assert.equal(new URL(page.url()).origin, env.url);
  });

  it('an app may post the end-session request: Twofold asks first, then logs out and goes back', async () => {
    // Log in again (the previous test logged out).
    const c = await checks();
    const back = await authorize(page, c.params, logInAndAllow);
    const t = await oidc.authorizationCodeGrant(config, back, c.checks);
    const state = oidc.randomState();
    // The app's own page posts the form (no Twofold CSRF token: it is not Twofold's form).
    await page.goto(`${cb.origin}/app`);
    await Promise.all([
      page.waitForURL((u) => u.origin === env.url, { timeout: 10_000 }),
      page.evaluate(({ action, fields }) => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = action;
        for (const [k, v] of Object.entries(fields)) {
          const i = document.createElement('input');
          i.type = 'hidden';
          i.name = k;
          i.value = v;
          f.append(i);
        }
        document.body.append(f);
        f.submit();
      }, {
        action: config.serverMetadata().end_session_endpoint,
        fields: { id_token_hint: t.id_token, post_logout_redirect_uri: postLogoutUri, state },
      }),
    ]);
    assert.equal(await page.locator('h1').innerText(), 'Log out of Twofold?');
    // Not logged out yet.
    const stillIn = await page.context().newPage();
    await stillIn.goto(`${env.url}/settings/security`);
    assert.equal(new URL(stillIn.url()).pathname, '/settings/security', 'the post alone logs nobody out');
    await stillIn.close();
    await page.getByRole('main').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL((u) => u.href.startsWith(postLogoutUri), { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.get('state'), state);
    await page.goto(`${env.url}/settings/security`);
    assert.equal(new URL(page.url()).pathname, '/login', 'the Twofold session ended');
    // A bare link (no id_token_hint) asks too; Twofold's own form (with its CSRF token) is
    // the confirmation.
    await page.goto(`${env.url}/oidc/logout`);
    assert.equal(await page.locator('h1').innerText(), 'Log out of Twofold?');
    await clickAndWait(page, page.getByRole('main').getByRole('button', { name: 'Log out' }));
    assert.equal(await page.locator('h1').innerText(), "You're logged out");
  });
});
