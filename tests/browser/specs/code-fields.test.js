// Code fields take a code however it was pasted (spaces and dashes are stripped before any
// length limit), keep a malformed entry after the error so it can be mended, and the
// backup-code field is not offered the texted code.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, authenticator, logOut, submitLogin, GOOD_PASSWORD,
} from '../lib/harness.js';

describe('code fields', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('set-up: a malformed code is kept after the error; a widely spaced paste still works', async () => {
    const page = await env.page();
    const name = uniqueName('fields');
    await signUp(page, name);
    await page.goto('/settings/two-factor/totp');
    const app = authenticator(await page.locator('#totp-secret').innerText());

    await page.locator('#code').fill('12 34a');
    const bad = await clickAndWait(page, page.getByRole('button', { name: 'Turn on' }));
    assert.equal(bad.status(), 422);
    assert.equal(await page.locator('#code').inputValue(), '12 34', 'what was typed stays (digits and spaces)');
    assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');

    const code = await app.code();
    const spaced = ` ${code.slice(0, 3)}  -  ${code.slice(3)} `;
    assert.ok(spaced.length > 9);
    await page.locator('#code').fill(spaced);
    assert.equal(await page.locator('#code').inputValue(), spaced, 'the field takes the whole paste');
    await clickAndWait(page, page.getByRole('button', { name: 'Turn on' }));
    assert.match(pathOf(page), /^\/settings\/two-factor\/backup-codes\/save/);

    // At login, the backup-code field is not offered the texted code; the app field is.
    await logOut(page);
    await submitLogin(page, name, GOOD_PASSWORD);
    assert.equal(await page.locator('#code').getAttribute('autocomplete'), 'one-time-code');
    await page.goto('/login/two-factor?method=backup_code');
    assert.equal(await page.locator('#code').getAttribute('autocomplete'), 'off');
    await page.locator('#code').fill('1234 567');
    await clickAndWait(page, page.getByRole('button', { name: 'Confirm' }));
    assert.equal(await page.locator('#code').inputValue(), '1234 567', 'a short backup code stays to be mended');
  });
});
