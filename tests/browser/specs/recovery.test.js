// "Forgot password?" in Chromium: the login page's link, the email link, the second factor
// (it is never skipped), the new password, logged in; the texted code of an account without
// email, which refuses a text as its own second factor; a dead link; and axe on every page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, logIn, submitLogin, clickAndWait, pathOf, submitCode, enableSms,
  enableTotp, assertNoAxeViolations, smsCount, waitForSms, e164, GOOD_PASSWORD, OTHER_GOOD_PASSWORD,
  readMail, waitForResetLink, addEmail,
} from '../lib/harness.js';

const PHONE = '+1 415 555 2671';


/** From the login page: "Forgot password?", the identifier, "Send me a reset link". */
async function askForReset(page, identifier) {
  await page.goto('/login');
  await clickAndWait(page, page.locator('#forgot-password'));
  assert.equal(pathOf(page), '/recover');
  await page.locator('#identifier').fill(identifier);
  await clickAndWait(page, page.getByRole('button', { name: 'Send me a reset link' }));
  assert.equal(await page.locator('h1').innerText(), 'Check your email or phone');
}

describe('Forgot password?', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('email link → authentication app code → new password → logged in, every other session out', async () => {
    const name = uniqueName('rosa');
    const email = `${name}@example.com`;
    const owner = await env.page();
    await signUp(owner, name);
    const { app, codes } = await enableTotp(owner);
    assert.ok(codes.length === 10);
    await addEmail(owner, env.dataDir, email);

    const page = await env.page();
    await askForReset(page, name);
    const link = await waitForResetLink(env.dataDir, email, 0);
    await page.goto(link);
    // The token left the address bar for an HttpOnly cookie.
    assert.equal(pathOf(page), '/recover/password');
    assert.match(await page.locator('.lead').innerText(), new RegExp(`@${name}`));
    await assertNoAxeViolations(page, 'new password');
    // A weak password is refused on the page, and the link still works.
    await page.locator('#new_password').fill('short');
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    assert.ok(await page.locator('#password-error').isVisible());
    await assertNoAxeViolations(page, 'new password with an error');
    await page.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
    // The login's own second step, saying what it finishes.
    assert.match(pathOf(page), /^\/login\/two-factor\?method=totp/);
    assert.ok(await page.locator('#recovery-step').isVisible());
    await assertNoAxeViolations(page, 'second step of a reset');
    // Nothing changed yet: the old password still opens the second step.
    const probe = await env.page();
    await submitLogin(probe, name, GOOD_PASSWORD);
    assert.match(pathOf(probe), /^\/login\/two-factor/);
    await probe.context().close();

    await submitCode(page, '000000');
    assert.ok(await page.locator('#code-error').isVisible());
    await submitCode(page, await app.code());
    assert.equal(pathOf(page), '/?recovered=1');
    assert.ok(await page.locator('#recovered').isVisible());
    await assertNoAxeViolations(page, 'home after a reset');

    // The owner's other browser was logged out; the new password is the one now.
    await owner.goto('/');
    assert.equal(pathOf(owner), '/login');
    await submitLogin(owner, name, GOOD_PASSWORD);
    assert.ok(await owner.locator('#login-error').isVisible());
    // The link worked once.
    await page.goto(link);
    assert.equal(pathOf(page), link);
    assert.match(await page.locator('#recover-notice').innerText(), /expired, was already used/);
    await owner.context().close();
    await page.context().close();
  });

  it('"Try another way" at the reset takes a backup code, used up once', async () => {
    const name = uniqueName('sami');
    const email = `${name}@example.com`;
    const page = await env.page();
    await signUp(page, name);
    const { codes } = await enableTotp(page);
    await addEmail(page, env.dataDir, email);
    await page.context().close();

    const p = await env.page();
    await askForReset(p, email);
    await p.goto(await waitForResetLink(env.dataDir, email, 0));
    await p.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
    await clickAndWait(p, p.getByRole('button', { name: 'Continue' }));
    await clickAndWait(p, p.locator('#try-another-way'));
    await clickAndWait(p, p.getByRole('link', { name: 'Use a backup code' }));
    await submitCode(p, codes[0]);
    assert.equal(pathOf(p), '/?recovered=1');
    await p.context().close();

    // That backup code is spent: it does not open a login.
    const again = await env.page();
    await submitLogin(again, name, OTHER_GOOD_PASSWORD);
    await again.goto('/login/two-factor?method=backup_code');
    await submitCode(again, codes[0]);
    assert.match(await again.locator('#code-error').innerText(), /already been used/);
    await again.context().close();
  });

  it('a texted code for an account without email; the phone cannot be its own second factor', async () => {
    const name = uniqueName('noor');
    const page = await env.page();
    await signUp(page, name);
    const { codes } = await enableSms(page, env.dataDir, PHONE);
    await page.context().close();

    const p = await env.page();
    const to = e164(PHONE);
    const before = smsCount(env.dataDir, to);
    await askForReset(p, PHONE);
    await assertNoAxeViolations(p, 'check your email or phone');
    const { code } = await waitForSms(env.dataDir, to, before);
    // A wrong code first: the error sits by the field.
    await p.locator('#code').fill(code === '000000' ? '111111' : '000000');
    await clickAndWait(p, p.getByRole('button', { name: 'Continue' }));
    assert.ok(await p.locator('#code-error').isVisible());
    await assertNoAxeViolations(p, 'reset code with an error');
    await p.locator('#code').fill(code);
    await clickAndWait(p, p.getByRole('button', { name: 'Continue' }));
    assert.equal(pathOf(p), '/recover/password');
    await p.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
    await clickAndWait(p, p.getByRole('button', { name: 'Continue' }));
    // Only the backup code is offered, and no text was sent for this step.
    assert.match(pathOf(p), /^\/login\/two-factor\?method=backup_code/);
    assert.equal(smsCount(env.dataDir, to), before + 1);
    await clickAndWait(p, p.locator('#try-another-way'));
    assert.equal(await p.getByRole('button', { name: 'Text me' }).count(), 0);
    await clickAndWait(p, p.getByRole('link', { name: 'Use a backup code' }));
    await submitCode(p, codes[1]);
    assert.equal(pathOf(p), '/?recovered=1');
    await p.context().close();
  });

  it('an account without two-factor: the link and a new password log straight in', async () => {
    const name = uniqueName('ines');
    const email = `${name}@example.com`;
    const page = await env.page();
    await signUp(page, name);
    await addEmail(page, env.dataDir, email);
    await page.context().close();
    const p = await env.page();
    await p.goto('/recover');
    await assertNoAxeViolations(p, 'reset your password');
    await p.locator('#identifier').fill(name);
    await clickAndWait(p, p.getByRole('button', { name: 'Send me a reset link' }));
    await p.goto(await waitForResetLink(env.dataDir, email, 0));
    await p.locator('#new_password').fill(OTHER_GOOD_PASSWORD);
    await clickAndWait(p, p.getByRole('button', { name: 'Set new password' }));
    assert.equal(pathOf(p), '/?recovered=1');
    await p.context().close();
    const q = await env.page();
    await logIn(q, name, OTHER_GOOD_PASSWORD);
    await q.context().close();
  });

  it('a made-up link says it is dead and offers a new one', async () => {
    const p = await env.page();
    const res = await p.goto(`/recover/${'A'.repeat(43)}`);
    assert.equal(res.status(), 410);
    assert.ok(await p.locator('#recover-notice').isVisible());
    await assertNoAxeViolations(p, 'dead reset link');
    await p.goto('/recover/password');
    assert.equal(pathOf(p), '/recover?expired=1');
    await p.context().close();
  });
});
