// Issue 23, items 2–4: the way through the two-factor pages, as an outside usability walk
// compared them with Instagram, Google and GitHub.
//
// 2. The authentication app is offered before text messages, which are called what NIST
//    SP 800-63B calls them ("restricted"): less secure, since a texted code can be
//    intercepted. An app or site that needs two factors gets a short walk, not the whole
//    settings page with a banner.
// 3. Setting up the app on a phone starts with "Open in authenticator app" and the code
//    field; the QR code is the other-device case. On a desktop the QR code comes first and
//    there is no "open on this phone" link. "Copy key" copies the key.
// 4. Nothing destructive in one tap: turning two-factor off, or removing the phone or the
//    app, asks first on a page of its own, names what goes, and reports the result as what
//    it is (not as a green success). Those forms work without JavaScript.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, submitCode, enableSms, enableTotp,
  e164, smsCount, waitForSms, addClient, assertNoAxeViolations, assertNoSidewaysScroll,
  screenshot, VIEWPORTS,
} from '../lib/harness.js';

const LESS_SECURE = /less secure: a code sent by text can be intercepted/i;
const PASSWORD_ONLY = 'Two-factor authentication is off. Your account is protected by your password only.';

/** Top of an element's box, in page pixels. */
const topOf = async (locator) => (await locator.boundingBox()).y;

/** The ids used more than once on the page. */
const duplicateIds = (page) => page.evaluate(() => {
  const seen = new Map();
  for (const e of document.querySelectorAll('[id]')) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
});

/** The computed `display` of the element or of the nearest ancestor that hides it. */
const hiddenBy = (locator) => locator.evaluate((e) => {
  for (let n = e; n; n = n.parentElement) {
    if (getComputedStyle(n).display === 'none') return 'none';
  }
  return getComputedStyle(e).display;
});

describe('issue 23: the way through the two-factor pages', () => {
  let env;
  let client; // an app registered with --require-two-factor
  before(async () => {
    // Every test signs up from 127.0.0.1, more than the 10 an hour allowed by default.
    env = await startEnv({ args: ['--sign-ups-per-address-hour', '0'] });
    client = await addClient(env.dataDir, {
      name: 'Team Wiki',
      redirectUris: ['https://wiki.example.com/callback'],
      flags: ['--require-two-factor'],
    });
  });
  after(async () => { await env?.stop(); });

  /** Where /oidc/authorize sends a user without two factors. */
  const requiredPath = () => {
    const authorize = `/oidc/authorize?${new URLSearchParams({
      client_id: client.client_id, response_type: 'code', scope: 'openid',
      redirect_uri: 'https://wiki.example.com/callback', state: 's', code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    })}`;
    return `/settings/two-factor?${new URLSearchParams({ next: authorize, required: '1' })}`;
  };

  describe('2. the authentication app first', () => {
    it('settings offer the app before text messages, and say text messages are less secure', async () => {
      const page = await env.page();
      await signUp(page, uniqueName('order'));
      await page.goto('/settings/two-factor');
      const order = await page.locator('#totp, #sms').evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(order, ['totp', 'sms'], 'the app comes first');
      assert.ok(await topOf(page.locator('#totp')) < await topOf(page.locator('#sms')));
      assert.match(await page.locator('#totp').innerText(), /Recommended/);
      assert.match(await page.locator('#sms').innerText(), LESS_SECURE);
      // The app's button is the main one; the texting form's is not.
      assert.equal(await page.locator('#totp a.button:not(.secondary)').innerText(), 'Set up authentication app');
      assert.equal(await page.locator('#sms').getByRole('button', { name: 'Send code' }).getAttribute('class'), 'secondary');
      await page.context().close();
    });

    it('an app that needs two factors gets a short walk: app first, texts second, and where it goes after', async () => {
      const page = await env.page();
      const name = uniqueName('walk');
      await signUp(page, name);
      await page.goto(requiredPath());
      assert.equal(await page.locator('h1').innerText(), 'Set up two-factor authentication');
      // One sentence of why.
      assert.match(await page.locator('#app-waiting').innerText(),
        /^The app or site you're going to needs two-factor authentication: [^.]+\.$/);
      // Not the settings page with a banner.
      assert.equal(await page.locator('#sms, #totp, #additional, #turn-off, #phone').count(), 0);
      // The app is the main action, text messages the other one, and said to be weaker.
      const app = page.getByRole('link', { name: 'Set up an authentication app' });
      const sms = page.getByRole('link', { name: 'Use text messages instead' });
      assert.equal(await app.getAttribute('href'), '/settings/two-factor/totp');
      assert.doesNotMatch(await app.getAttribute('class'), /secondary/);
      assert.match(await sms.getAttribute('class'), /secondary/);
      assert.ok(await topOf(app) < await topOf(sms), 'the app first');
      assert.match(await page.locator('main').innerText(), LESS_SECURE);
      // Where the person goes afterwards: the app, by its name.
      assert.match(await page.locator('#afterwards').innerText(), /save your backup codes.*straight back to Team Wiki/);

      await clickAndWait(page, app);
      assert.equal(pathOf(page), '/settings/two-factor/totp');
      const { codes } = await enableTotp(page);
      assert.equal(codes?.length, 10);
      const done = page.getByRole('link', { name: 'Done — I\'ve saved them' });
      assert.equal(await done.getAttribute('href'), '/settings/two-factor/continue');
      await clickAndWait(page, done);
      assert.equal(new URL(page.url()).pathname, '/oidc/authorize', 'back to the app');
      await page.context().close();
    });

    it('"Use text messages instead" is a focused page that keeps a mistyped number', async () => {
      const page = await env.page();
      await signUp(page, uniqueName('walksms'));
      await page.goto(requiredPath());
      await clickAndWait(page, page.getByRole('link', { name: 'Use text messages instead' }));
      assert.equal(pathOf(page), '/settings/two-factor/sms');
      assert.equal(await page.locator('h1').innerText(), 'Get codes by text message');
      assert.match(await page.locator('main').innerText(), LESS_SECURE);
      assert.equal(await page.getByRole('link', { name: 'Set up an authentication app instead' }).getAttribute('href'),
        '/settings/two-factor/totp');
      assert.match(await page.locator('#afterwards').innerText(), /straight back to Team Wiki/);
      assert.equal(await page.locator('#totp, #additional').count(), 0, 'not the settings page');

      await page.locator('#phone').fill('415 555 2673');
      const res = await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
      assert.equal(res.status(), 422);
      assert.equal(await page.locator('h1').innerText(), 'Get codes by text message', 'still the focused page');
      assert.match(await page.locator('#phone-error').innerText(), /country code/);
      assert.equal(await page.locator('#phone').inputValue(), '415 555 2673', 'what was typed is kept');
      assert.equal(await page.locator('#phone').getAttribute('aria-invalid'), 'true');

      const to = e164('+1 415 555 2673');
      const sent = smsCount(env.dataDir, to);
      await page.locator('#phone').fill('+1 415 555 2673');
      await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
      assert.equal(pathOf(page), '/settings/two-factor/sms/verify');
      await submitCode(page, (await waitForSms(env.dataDir, to, sent)).code);
      assert.equal(await page.locator('h1').innerText(), 'Save your backup codes');
      await clickAndWait(page, page.getByRole('link', { name: 'Done — I\'ve saved them' }));
      assert.equal(new URL(page.url()).pathname, '/oidc/authorize', 'back to the app');
      await page.context().close();
    });
  });

  describe('3. authentication app set-up on a phone and on a desktop', () => {
    it('phone 375 px: "Open in authenticator app" and the code field first, the QR code for another device', async () => {
      const page = await env.page({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
      await signUp(page, uniqueName('phoneapp'));
      await page.goto('/settings/two-factor/totp');
      const open = page.getByRole('link', { name: 'Open in authenticator app' });
      assert.ok(await open.isVisible());
      assert.match(await open.getAttribute('href'), /^otpauth:\/\/totp\//);
      const code = page.locator('#code');
      const qr = page.locator('img.qr');
      const other = page.getByRole('heading', { name: 'Using another device? Scan this QR code' });
      assert.ok(await other.isVisible());
      assert.ok(await qr.isVisible());
      const [openTop, codeTop, otherTop, qrTop] = await Promise.all([open, code, other, qr].map(topOf));
      assert.ok(openTop < codeTop, `open link at ${openTop}, code field at ${codeTop}`);
      assert.ok(codeTop < otherTop && otherTop < qrTop, `code ${codeTop}, "another device" ${otherTop}, QR ${qrTop}`);
      const box = await code.boundingBox();
      assert.ok(box.y + box.height <= VIEWPORTS.phone.height, `the code field is on the first screen (ends at ${box.y + box.height})`);
      assert.ok(await page.getByRole('button', { name: 'Turn on' }).isVisible());
      assert.deepEqual(await duplicateIds(page), []);
      await assertNoSidewaysScroll(page, 'phone app set-up');
      await screenshot(page, 'two-factor-way-totp-phone');
      await page.context().close();
    });

    it('desktop 1280 px: the QR code first, and no "open on this phone" link', async () => {
      const page = await env.page({ viewport: VIEWPORTS.desktop });
      await signUp(page, uniqueName('deskapp'));
      await page.goto('/settings/two-factor/totp');
      const qr = page.locator('img.qr');
      assert.ok(await qr.isVisible());
      assert.ok(await topOf(qr) < await topOf(page.locator('#code')), 'the QR code comes before the code field');
      assert.equal(await page.getByRole('link', { name: 'Open in authenticator app' }).count(), 0, 'no link for this phone');
      assert.equal(await hiddenBy(page.locator('#open-app')), 'none', 'hidden with display: none');
      assert.equal(await page.getByText('Using another device?').isVisible(), false);
      assert.deepEqual(await duplicateIds(page), []);
      await screenshot(page, 'two-factor-way-totp-desktop');
      await page.context().close();
    });

    for (const [device, viewport] of Object.entries(VIEWPORTS)) {
      it(`${device}: "Copy key" puts the key on the clipboard`, async () => {
        const phone = device === 'phone';
        const ctx = await env.context({ viewport, isMobile: phone, hasTouch: phone });
        await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
        const page = await ctx.newPage();
        await signUp(page, uniqueName('copykey'));
        await page.goto('/settings/two-factor/totp');
        await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
        const key = (await page.locator('#totp-secret').innerText()).replace(/\s/g, '');
        const copy = page.getByRole('button', { name: 'Copy key' });
        assert.ok(await copy.isVisible(), 'the button shows');
        await copy.click();
        await page.waitForFunction(() => document.getElementById('copy-key-status').textContent === 'Key copied', null, { timeout: 2_000 });
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
        await ctx.close();
      });
    }
  });

  describe('4. nothing destructive in one tap', () => {
    it('turning two-factor off asks first, names what goes, and says plainly that it is off (no JavaScript)', async () => {
      const page = await env.page({ javaScriptEnabled: false });
      await signUp(page, uniqueName('off'));
      await enableSms(page, env.dataDir, '+1 415 555 2674');
      await enableTotp(page);
      await page.goto('/settings/two-factor');
      await clickAndWait(page, page.locator('#turn-off').getByRole('link', { name: 'Turn off' }));
      assert.equal(pathOf(page), '/settings/two-factor/disable');
      assert.equal(await page.locator('h1').innerText(), 'Turn off two-factor authentication?');
      const lost = await page.locator('#lost').innerText();
      assert.match(lost, /\+1 \*\*\* \*\*\* \*\*74/, 'the phone number');
      assert.match(lost, /authentication app/);
      assert.match(lost, /10 backup codes/);
      assert.match(await page.locator('main').innerText(), /protected by your password only/);
      const confirm = page.getByRole('button', { name: 'Turn off two-factor authentication' });
      assert.match(await confirm.getAttribute('class'), /\bdanger\b/);
      const red = await confirm.evaluate((e) => getComputedStyle(e).backgroundColor);
      assert.equal(red, 'rgb(198, 40, 40)', 'a red button');

      // "Keep two-factor authentication on" changes nothing.
      await clickAndWait(page, page.getByRole('link', { name: 'Keep two-factor authentication on' }));
      assert.equal(pathOf(page), '/settings/two-factor');
      assert.match(await page.locator('h1').innerText(), /On$/);

      await clickAndWait(page, page.locator('#turn-off').getByRole('link', { name: 'Turn off' }));
      await clickAndWait(page, page.getByRole('button', { name: 'Turn off two-factor authentication' }));
      assert.equal(pathOf(page), '/settings/two-factor?done=off');
      assert.match(await page.locator('h1').innerText(), /Off$/);
      assert.equal(await page.locator('main p.notice.warn').innerText(), PASSWORD_ONLY);
      assert.equal(await page.locator('main p.notice.ok').count(), 0, 'not reported as a success');
      // Nothing left to turn off: the confirmation page sends back to the settings.
      await page.goto('/settings/two-factor/disable');
      assert.equal(pathOf(page), '/settings/two-factor');
      await page.context().close();
    });

    it('removing the phone or the app asks first, names what goes, and reports it neutrally (no JavaScript)', async () => {
      const page = await env.page({ javaScriptEnabled: false });
      await signUp(page, uniqueName('remove'));
      await enableSms(page, env.dataDir, '+1 415 555 2675');
      await enableTotp(page);

      // The phone, with the app left: two-factor stays on.
      await page.goto('/settings/two-factor');
      await clickAndWait(page, page.locator('#sms').getByRole('link', { name: 'Remove phone number' }));
      assert.equal(pathOf(page), '/settings/two-factor/sms/remove');
      assert.equal(await page.locator('h1').innerText(), 'Remove your phone number?');
      assert.match(await page.locator('#lost').innerText(), /\+1 \*\*\* \*\*\* \*\*75/);
      assert.match(await page.locator('main').innerText(), /still log in with your authentication app/);
      await clickAndWait(page, page.getByRole('link', { name: 'Keep my phone number' }));
      assert.match(await page.locator('#sms').innerText(), /\*\*75/, 'kept');
      await clickAndWait(page, page.locator('#sms').getByRole('link', { name: 'Remove phone number' }));
      await clickAndWait(page, page.getByRole('button', { name: 'Remove phone number' }));
      assert.equal(pathOf(page), '/settings/two-factor?done=sms_removed');
      assert.match(await page.locator('h1').innerText(), /On$/);
      assert.equal(await page.locator('main p.notice.info').innerText(),
        'Your phone number was removed. Security codes won\'t be texted to it any more.');
      assert.equal(await page.locator('main p.notice.ok').count(), 0, 'not reported as a success');

      // The app, the last method: the page says two-factor goes with it.
      await clickAndWait(page, page.locator('#totp').getByRole('link', { name: 'Remove authentication app' }));
      assert.equal(pathOf(page), '/settings/two-factor/totp/remove');
      assert.equal(await page.locator('h1').innerText(), 'Remove your authentication app?');
      const lost = await page.locator('#lost').innerText();
      assert.match(lost, /authentication app/);
      assert.match(lost, /10 backup codes/);
      assert.match(await page.locator('main').innerText(), /two-factor authentication will be turned off/);
      await clickAndWait(page, page.getByRole('button', { name: 'Remove authentication app' }));
      assert.equal(pathOf(page), '/settings/two-factor?done=totp_removed');
      assert.match(await page.locator('h1').innerText(), /Off$/);
      assert.equal(await page.locator('main p.notice.warn').innerText(),
        `Your authentication app was removed. ${PASSWORD_ONLY}`);
      assert.equal(await page.locator('main p.notice.ok').count(), 0);
      await page.context().close();
    });
  });

  describe('every new page: phone and desktop, light and dark, axe clean', () => {
    let onState;
    let offState;
    before(async () => {
      const a = await env.page();
      await signUp(a, uniqueName('axeway'));
      await enableSms(a, env.dataDir, '+1 415 555 2676');
      await enableTotp(a);
      onState = await a.context().storageState();
      await a.context().close();
      const b = await env.page();
      await signUp(b, uniqueName('axewayoff'));
      offState = await b.context().storageState();
      await b.context().close();
    });

    for (const [device, viewport] of Object.entries(VIEWPORTS)) {
      for (const colorScheme of ['light', 'dark']) {
        const label = `${device} ${colorScheme}`;
        const options = { viewport, colorScheme, isMobile: device === 'phone', hasTouch: device === 'phone' };
        it(label, async () => {
          const check = async (page, what) => {
            await assertNoAxeViolations(page, `${label} ${what}`);
            await assertNoSidewaysScroll(page, `${label} ${what}`);
            assert.deepEqual(await duplicateIds(page), [], `${label} ${what}`);
          };
          const off = await env.context({ ...options, storageState: offState });
          let page = await off.newPage();
          await page.goto(requiredPath());
          await check(page, 'the walk');
          await screenshot(page, `two-factor-way-walk-${device}-${colorScheme}`);
          await page.goto('/settings/two-factor/sms');
          await check(page, 'text messages page');
          await page.locator('#phone').fill('415 555 2671');
          await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
          assert.ok(await page.locator('#phone-error').isVisible());
          await check(page, 'text messages page with an error');
          await page.goto('/settings/two-factor/totp');
          await check(page, 'app set-up');
          await page.goto('/settings/two-factor');
          await check(page, 'settings (off)');
          await off.close();

          const on = await env.context({ ...options, storageState: onState });
          page = await on.newPage();
          for (const [path, what] of [
            ['/settings/two-factor', 'settings (on)'],
            ['/settings/two-factor/disable', 'turn off?'],
            ['/settings/two-factor/sms/remove', 'remove the phone?'],
            ['/settings/two-factor/totp/remove', 'remove the app?'],
            ['/settings/two-factor?done=off', 'settings, turned off notice'],
            ['/settings/two-factor?done=sms_removed', 'settings, phone removed notice'],
          ]) {
            await page.goto(path);
            assert.equal(pathOf(page), path, `${what} is shown`);
            await check(page, what);
          }
          await screenshot(page, `two-factor-way-notice-${device}-${colorScheme}`);
          await page.goto('/settings/two-factor/disable');
          await screenshot(page, `two-factor-way-turn-off-${device}-${colorScheme}`);
          await on.close();
        });
      }
    }
  });
});
