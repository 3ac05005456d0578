// The device authorization grant (RFC 8628) from openid-client (v6), as a TV or a
// command-line tool uses it: the device asks for codes and polls; the person types the code
// at /device in Chromium (logged in), sees the app and what it asks for, and connects or
// denies it with one press. The pages are checked at phone width, light and dark, with axe.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import {
  startEnv, uniqueName, signUp, clickAndWait, addClient, VIEWPORTS,
  assertNoAxeViolations, assertNoSidewaysScroll,
} from '../lib/harness.js';

describe('Sign in with Twofold on a device: openid-client device flow', () => {
  let env;
  let config; // openid-client's view of Twofold, for the device (a public client)
  let page; // the person's phone, logged in to Twofold

  before(async () => {
    env = await startEnv({ publicUrl: true });
    const client = await addClient(env.dataDir, {
      name: 'Living-room TV',
      redirectUris: ['http://127.0.0.1:9/unused'],
      flags: ['--device', '--public', '--scopes', 'openid profile offline_access'],
    });
    const discovered = await oidc.discovery(new URL(env.url), client.client_id, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests], timeout: 10,
    });
    config = discovered;
    page = await env.page({ viewport: VIEWPORTS.phone });
    await signUp(page, uniqueName('tv'));
  });

  after(async () => {
    await page?.context().close();
    await env?.stop();
  });

  /** Types `code` at /device and continues. */
  async function enter(p, code) {
    await p.goto('/device');
    await p.getByLabel('Code on your device').fill(code);
    await clickAndWait(p, p.getByRole('button', { name: 'Continue' }));
  }

  it('discovery names the device authorization endpoint and the grant', () => {
    const m = config.serverMetadata();
    assert.equal(m.device_authorization_endpoint, `${env.url}/oidc/device_authorization`);
    assert.ok(m.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'));
  });

  it('a wrong code is said so, kept in the field, and the page is accessible', async () => {
    await enter(page, 'bcdf ghjk');
    await assert.doesNotReject(page.getByRole('alert').waitFor());
    assert.match(await page.getByRole('alert').innerText(), /check the code your device shows/);
    assert.equal(await page.getByLabel('Code on your device').inputValue(), 'bcdf ghjk');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await assertNoAxeViolations(page, `/device with an error (${scheme})`);
      await assertNoSidewaysScroll(page, `/device with an error (${scheme})`);
    }
  });

  it('the device polls, the person connects it, openid-client gets verified tokens', async () => {
    const codes = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile' });
    assert.match(codes.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(codes.verification_uri, `${env.url}/device`);
    assert.equal(codes.expires_in, 600);
    const polling = oidc.pollDeviceAuthorizationGrant(config, codes);
    // The QR code's link fills the code in; the person still confirms it.
    await page.goto(codes.verification_uri_complete);
    assert.equal(await page.getByLabel('Code on your device').inputValue(), codes.user_code);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(await page.locator('h1').innerText(), 'Connect Living-room TV?');
    assert.equal(await page.locator('#device-code').innerText(), codes.user_code);
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await assertNoAxeViolations(page, `connect the device (${scheme})`);
      await assertNoSidewaysScroll(page, `connect the device (${scheme})`);
    }
    await clickAndWait(page, page.getByRole('button', { name: 'Connect' }));
    assert.equal(await page.locator('h1').innerText(), 'Device connected');
    await assertNoAxeViolations(page, 'device connected');
    const tokens = await polling;
    const claims = tokens.claims();
    assert.equal(claims.iss, env.url);
    assert.ok(claims.sid, 'the session the approval came from');
    assert.ok(claims.preferred_username);
    assert.equal(tokens.refresh_token, undefined, 'no offline_access asked');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
  });

  it('deny with one press: the device hears access_denied', async () => {
    const codes = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const polling = oidc.pollDeviceAuthorizationGrant(config, codes);
    await enter(page, codes.user_code);
    await clickAndWait(page, page.getByRole('button', { name: 'Deny' }));
    assert.equal(await page.locator('h1').innerText(), 'Device denied');
    await assert.rejects(polling, (e) => {
      assert.equal(e.error, 'access_denied', `${e.constructor.name}: ${e.message}`);
      return true;
    });
  });
});
