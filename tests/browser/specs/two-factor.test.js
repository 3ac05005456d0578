// Two-factor authentication: turning it on (authentication app, text message), the code
// step of a login, "Try another way", backup-code logins and a challenge that dies after
// too many wrong codes.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, logIn, logOut, submitLogin, clickAndWait, pathOf, submitCode,
  enableTotp, enableSms, backupCodesOnPage, e164, smsCount, waitForSms, totpAt, totpStep,
  GOOD_PASSWORD,
} from '../lib/harness.js';

/** The message for a refused code: `what`, then "(N tries left)." */
const triesLeft = (what) => new RegExp(`^${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d tr(y|ies) left\\)\\.$`);
// A refused code's message ends with the tries the login attempt has left: "(4 tries left)."
const WRONG = "That code isn't right; check it and try again";
const USED = 'This backup code has already been used; each code works once, so try another one';
const EXPIRED = 'Your login attempt expired. Log in again.';

/** A 6-digit code the app does not show now, a step before or a step after. */
function wrongTotp(secret) {
  const now = totpStep();
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, now + d)));
  for (const c of ['000000', '111111', '222222', '333333']) if (!near.has(c)) return c;
  throw new Error('unreachable');
}

/** The two-factor tag in the settings page's h1 (or the home page's card). */
const tagIn = (page, scope) => page.locator(`${scope} .tag`).innerText();

/** Logs in with the password and checks the code page for `method` is showing. */
async function passwordStep(page, name, method) {
  const res = await submitLogin(page, name, GOOD_PASSWORD);
  assert.equal(res.status(), 200);
  const u = new URL(page.url());
  assert.equal(u.pathname, '/login/two-factor', `after the password: ${pathOf(page)}`);
  assert.equal(u.searchParams.get('method'), method);
  assert.equal(u.searchParams.get('next'), '/');
  assert.equal(await page.locator('input[name=method]').inputValue(), method);
}

async function assertHome(page, name) {
  assert.equal(pathOf(page), '/');
  assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
}

describe('two-factor authentication', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  describe('with an authentication app', () => {
    const name = uniqueName('tina');
    let app;
    let page;
    after(async () => { await page?.context().close(); });

    it('turns on with the app: backup codes at once, then "On" everywhere', async () => {
      page = await env.page();
      await signUp(page, name);
      // Off to begin with, on the home page and in settings.
      assert.equal(await tagIn(page, 'main .card h2'), 'Off');
      assert.equal(await page.locator('main .card').first().getByRole('link', { name: 'Turn on' }).count(), 1);
      await page.goto('/settings/two-factor');
      assert.match(await page.locator('h1').innerText(), /^Two-factor authentication\s+Off$/);
      assert.equal(await page.locator('#turn-off').count(), 0);
      assert.match(await page.locator('#additional').innerText(), /set up an authentication app, a passkey or a text message first/);

      await clickAndWait(page, page.locator('#totp').getByRole('link', { name: 'Set up authentication app' }));
      assert.equal(pathOf(page), '/settings/two-factor/totp');
      assert.equal(await page.locator('h1').innerText(), 'Set up your authentication app');

      // The QR code is a visible, square PNG (its content is checked by the Rust tests).
      const qr = page.locator('img.qr');
      assert.ok(await qr.isVisible());
      assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/);
      const img = await qr.evaluate((e) => ({
        complete: e.complete, nw: e.naturalWidth, nh: e.naturalHeight,
        w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height,
      }));
      assert.ok(img.complete && img.nw > 0, `QR image did not load: ${JSON.stringify(img)}`);
      assert.equal(img.nw, img.nh, `QR image is ${img.nw}x${img.nh}`);
      assert.ok(img.w > 100 && Math.abs(img.w - img.h) < 0.5, `QR shown at ${img.w}x${img.h}`);

      // The key, in groups of 4 for typing by hand.
      const shown = await page.locator('#totp-secret').innerText();
      assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, `secret shown as ${JSON.stringify(shown)}`);
      assert.ok(shown.replace(/ /g, '').length >= 26, 'at least 128 bits');

      // A wrong code is refused, on the same page, with a new chance.
      await page.locator('#code').fill(wrongTotp(shown.replace(/ /g, '')));
      let res = await clickAndWait(page, page.getByRole('button', { name: 'Turn on' }));
      assert.equal(res.status(), 401);
      assert.ok(await page.locator('#code-error').isVisible());
      assert.match(await page.locator('#code-error').innerText(), /That code isn't right/);
      assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#totp-secret').innerText(), shown, 'the same key is kept');

      // The right code turns 2FA on and shows the first backup codes straight away.
      const on = await enableTotp(page);
      app = on.app;
      assert.equal(on.app.secret, shown.replace(/ /g, ''));
      res = on.response;
      assert.equal(res.status(), 200);
      // Post/redirect/get: the codes are on a page that reads them back.
      assert.equal(pathOf(page), '/settings/two-factor/backup-codes/save?made=on');
      assert.equal(res.headers()['cache-control'], 'no-store');
      assert.equal(await page.locator('h1').innerText(), 'Save your backup codes');
      assert.equal(await page.locator('p.notice.ok').innerText(), 'Two-factor authentication is on.');
      assert.equal(on.codes.length, 10);
      for (const c of on.codes) assert.match(c, /^\d{4} \d{4}$/);
      assert.equal(new Set(on.codes).size, 10, 'codes are all different');
      assert.match(await page.locator('#codes .meta').innerText(), /10 of 10 left/);

      // Settings now say On, with backup codes and a way to turn it off.
      await page.goto('/settings/two-factor');
      assert.match(await page.locator('h1').innerText(), /^Two-factor authentication\s+On$/);
      assert.match(await page.locator('#totp').innerText(), /Set up\s+Added /);
      assert.match(await page.locator('#additional').innerText(), /Backup codes\s+10 of 10 left/);
      assert.equal(await page.locator('#additional').getByRole('link', { name: 'View backup codes' }).getAttribute('href'),
        '/settings/two-factor/backup-codes');
      // A link to the page that asks first (two-factor-way.test.js), not a one-tap button.
      assert.ok(await page.locator('#turn-off').getByRole('link', { name: 'Turn off' }).isVisible());
      await page.goto('/');
      assert.equal(await tagIn(page, 'main .card h2'), 'On');
      assert.equal(await page.locator('main .card').first().getByRole('link', { name: 'Manage' }).count(), 1);
    });

    it('logs in with the app: a wrong code first, then the right one', async () => {
      assert.ok(app, 'needs the previous test');
      await logOut(page);
      await passwordStep(page, name, 'totp');
      assert.equal(await page.locator('h1').innerText(), 'Enter the 6-digit code');
      assert.match(await page.locator('p.lead').innerText(), /authentication app/);
      assert.equal(await page.getByRole('button', { name: 'Resend code' }).count(), 0, 'no SMS for an app');
      assert.ok(await page.locator('#try-another-way').isVisible());
      // Not logged in yet.
      assert.equal(await page.locator('nav.top').count(), 0);

      const res = await submitCode(page, wrongTotp(app.secret));
      assert.equal(res.status(), 401);
      assert.equal(new URL(page.url()).pathname, '/login/two-factor');
      assert.match(await page.locator('#code-error').innerText(), triesLeft(WRONG));
      assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#code').inputValue(), '');
      assert.equal(await page.locator('input[name=method]').inputValue(), 'totp');

      await submitCode(page, await app.code());
      await assertHome(page, name);
      assert.equal(await tagIn(page, 'main .card h2'), 'On');
    });
  });

  describe('with a text message', () => {
    const name = uniqueName('sam');
    const typed = '+1 415 555 2671';
    const to = e164(typed);
    let page;
    after(async () => { await page?.context().close(); });

    it('adds a phone (refusing one without a country code) and turns on', async () => {
      page = await env.page();
      await signUp(page, name);
      await page.goto('/settings/two-factor');
      assert.equal(await page.locator('#sms h2').innerText(), 'Text message (SMS)');
      assert.equal(await page.locator('#phone').getAttribute('type'), 'tel');

      await page.locator('#phone').fill('415 555 2671');
      let res = await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
      assert.equal(res.status(), 422);
      assert.equal(new URL(page.url()).pathname, '/settings/two-factor/sms');
      assert.ok(await page.locator('#phone-error').isVisible());
      assert.match(await page.locator('#phone-error').innerText(), /country code/);
      assert.equal(await page.locator('#phone').inputValue(), '415 555 2671');
      assert.equal(await page.locator('#phone').getAttribute('aria-invalid'), 'true');
      assert.equal(smsCount(env.dataDir, to), 0, 'nothing was sent');

      await page.locator('#phone').fill(typed);
      await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
      assert.equal(pathOf(page), '/settings/two-factor/sms/verify');
      assert.equal(await page.locator('h1').innerText(), 'Enter the 6-digit code');
      const { code, message } = await waitForSms(env.dataDir, to, 0);
      assert.match(message.body, /is your Twofold security code/);
      assert.match(message.body, new RegExp(`#${code}$`), 'origin-bound line');

      // A wrong code first.
      const wrong = code === '000000' ? '111111' : '000000';
      res = await submitCode(page, wrong);
      assert.equal(res.status(), 401);
      assert.ok(await page.locator('#code-error').isVisible());

      res = await submitCode(page, code);
      assert.equal(res.status(), 200);
      assert.equal(await page.locator('h1').innerText(), 'Save your backup codes');
      assert.equal(await page.locator('p.notice.ok').innerText(), 'Two-factor authentication is on.');
      assert.equal((await backupCodesOnPage(page)).length, 10);

      await page.goto('/settings/two-factor');
      assert.match(await page.locator('h1').innerText(), /On$/);
      const sms = page.locator('#sms');
      assert.match(await sms.innerText(), /\+1 \*\*\* \*\*\* \*\*71/);
      assert.ok(!(await sms.innerText()).includes('2671'), 'the full number is not shown');
      assert.ok(await sms.getByRole('link', { name: 'Remove phone number' }).isVisible());
      assert.equal(await sms.locator('details summary').innerText(), 'Change number');
      assert.equal(await sms.locator('details').getAttribute('open'), null);
      assert.equal(await page.locator('#phone').isVisible(), false, 'the new-number form is folded away');
    });

    it('logs in with the texted code; "Resend code" at once asks to wait', async () => {
      await logOut(page);
      const sent = smsCount(env.dataDir, to);
      await passwordStep(page, name, 'sms');
      // The code was texted as soon as the password was right.
      const { code } = await waitForSms(env.dataDir, to, sent);
      assert.equal(await page.locator('h1').innerText(), 'Enter the 6-digit code');
      assert.equal(await page.locator('p.lead').innerText(),
        'We sent a security code to +1 *** *** **71. It works for 5 minutes.');
      assert.equal(await page.locator('#code').getAttribute('autocomplete'), 'one-time-code');

      // Too soon for another text.
      await clickAndWait(page, page.getByRole('button', { name: 'Resend code' }));
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login/two-factor');
      assert.equal(u.searchParams.get('method'), 'sms');
      const notice = await page.locator('p.notice.ok').innerText();
      const m = notice.match(/^You can ask for a new code in (\d+) seconds?\.$/);
      assert.ok(m, `notice: ${notice}`);
      assert.ok(Number(m[1]) >= 1 && Number(m[1]) <= 30, `wait ${m[1]}`);
      assert.equal(smsCount(env.dataDir, to), sent + 1, 'no second text');

      await submitCode(page, code);
      await assertHome(page, name);
    });
  });

  describe('Try another way', () => {
    const name = uniqueName('tom');
    const to = e164('+1 415 555 2672');
    let app;
    let codes;

    before(async () => {
      // Text message first (that turns 2FA on and makes the codes), then the app.
      const page = await env.page();
      await signUp(page, name);
      const sms = await enableSms(page, env.dataDir, '+1 415 555 2672');
      codes = sms.codes;
      assert.equal(codes.length, 10);
      const totp = await enableTotp(page);
      app = totp.app;
      assert.equal(totp.codes, null, 'a second method keeps the codes');
      assert.equal(pathOf(page), '/settings/two-factor?done=totp');
      assert.equal(await page.locator('p.notice.ok').innerText(), 'Your authentication app is set up.');
      await page.context().close();
    });

    it('from the app (offered first, no text sent) to a text message', async () => {
      const page = await env.page();
      const sent = smsCount(env.dataDir, to);
      await passwordStep(page, name, 'totp');
      assert.match(await page.locator('p.lead').innerText(), /authentication app/);
      assert.equal(smsCount(env.dataDir, to), sent, 'no text unless asked for');
      await clickAndWait(page, page.locator('#try-another-way'));
      assert.equal(new URL(page.url()).pathname, '/login/two-factor/methods');
      assert.equal(await page.locator('h1').innerText(), 'Try another way');
      const items = page.locator('ul.methods > li');
      assert.equal(await items.count(), 3);
      assert.match(await items.nth(0).innerText(), /Authentication app/);
      assert.match(await items.nth(1).innerText(), /Text message\s+Send a code to \+1 \*\*\* \*\*\* \*\*72/);
      assert.match(await items.nth(2).innerText(), /Backup code/);

      await clickAndWait(page, items.nth(1).getByRole('button', { name: 'Text me' }));
      const code = (await waitForSms(env.dataDir, to, sent)).code;
      const u = new URL(page.url());
      assert.equal(u.searchParams.get('method'), 'sms');
      assert.equal(await page.locator('input[name=method]').inputValue(), 'sms');
      assert.match(await page.locator('p.lead').innerText(), /We sent a security code to \+1 [* ]+72/);
      await submitCode(page, code);
      await assertHome(page, name);
      await page.context().close();

      // And the app, from the start.
      const other = await env.page();
      await passwordStep(other, name, 'totp');
      await submitCode(other, await app.code());
      await assertHome(other, name);
      await other.context().close();
    });

    it('with a backup code, which then works only once', async () => {
      const page = await env.page();
      await passwordStep(page, name, 'totp');
      await clickAndWait(page, page.locator('#try-another-way'));
      await clickAndWait(page, page.getByRole('link', { name: 'Use a backup code' }));
      assert.equal(new URL(page.url()).searchParams.get('method'), 'backup_code');
      assert.equal(await page.locator('h1').innerText(), 'Enter a backup code');
      assert.equal(await page.locator('label[for=code]').innerText(), 'Backup code');
      // Typed as shown on the codes page, with the space.
      assert.match(codes[0], / /);
      await submitCode(page, codes[0]);
      assert.equal(pathOf(page), '/?backup_left=9');
      assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
      assert.equal(await page.locator('p.notice.ok').innerText(), 'You logged in with a backup code. You have 9 left.');
      assert.equal(await page.locator('main p.notice.warn').count(), 0, 'no warning with 9 left');
      await page.context().close();

      // The same code on another login is refused.
      const again = await env.page();
      await passwordStep(again, name, 'totp');
      await clickAndWait(again, again.locator('#try-another-way'));
      await clickAndWait(again, again.getByRole('link', { name: 'Use a backup code' }));
      const res = await submitCode(again, codes[0]);
      assert.equal(res.status(), 401);
      assert.equal(new URL(again.url()).pathname, '/login/two-factor');
      assert.match(await again.locator('#code-error').innerText(), triesLeft(USED));
      assert.equal(await again.locator('h1').innerText(), 'Enter a backup code', 'still the backup-code form');
      // Another, unused code still works on the same form.
      await submitCode(again, codes[1].replace(' ', ''));
      assert.equal(pathOf(again), '/?backup_left=8');
      await again.context().close();
    });

    it('"Text me" on the methods page keeps the 30-second wait between texts', async () => {
      const page = await env.page();
      await passwordStep(page, name, 'totp');
      await clickAndWait(page, page.locator('#try-another-way'));
      const first = smsCount(env.dataDir, to);
      await clickAndWait(page, page.getByRole('button', { name: 'Text me' }));
      await waitForSms(env.dataDir, to, first);
      await clickAndWait(page, page.locator('#try-another-way'));
      const before = smsCount(env.dataDir, to);
      await clickAndWait(page, page.getByRole('button', { name: 'Text me' }));
      // Within 30 s of the first text: asked to wait; nothing sent.
      assert.equal(new URL(page.url()).searchParams.get('method'), 'sms');
      assert.match(await page.locator('p.notice.ok').innerText(), /^You can ask for a new code in \d+ seconds?\.$/);
      assert.equal(smsCount(env.dataDir, to), before);
      await page.context().close();
    });
  });

  it('a login attempt dies after 5 wrong codes', async () => {
    const name = uniqueName('wendy');
    const page = await env.page();
    await signUp(page, name);
    const { app } = await enableTotp(page);
    await logOut(page);

    await passwordStep(page, name, 'totp');
    for (let i = 1; i <= 5; i += 1) {
      const res = await submitCode(page, wrongTotp(app.secret));
      assert.equal(res.status(), 401, `wrong code #${i}`);
      const error = await page.locator('#code-error').innerText();
      if (i < 5) {
        assert.match(error, triesLeft(WRONG), `wrong code #${i}`);
      } else {
        assert.match(error, /it has ended; log in again/, 'the fifth says the attempt ended');
      }
    }
    // Even a right code (the app's next one, not used before) is too late now, and the
    // login page says why as a problem, not as a routine "expired".
    await submitCode(page, totpAt(app.secret, totpStep() + 1));
    assert.equal(pathOf(page), '/login?done=challenge_failed');
    assert.match(await page.locator('p.notice.bad').innerText(), /ended because too many wrong codes/);
    assert.equal(await page.locator('p.notice.ok').count(), 0);
    // The code page is gone for this browser too (its challenge cookie went with it).
    await page.goto('/login/two-factor?method=totp&next=/');
    assert.equal(pathOf(page), '/login?done=challenge_expired');
    // Not logged in.
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');

    // A new login works (the right code is not "used up" by the dead attempt).
    await passwordStep(page, name, 'totp');
    await submitCode(page, await app.code());
    await assertHome(page, name);
    await page.context().close();
  });
});
