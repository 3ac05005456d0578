// Phone and desktop layouts of the two-factor pages: no sideways scrolling, big enough
// controls, and screenshots under artifacts/ for a person to look at.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, signUp, submitLogin, clickAndWait, pathOf, submitCode, enableSms, enableTotp,
  e164, smsCount, waitForSms, screenshot, assertNoSidewaysScroll, VIEWPORTS, GOOD_PASSWORD,
} from '../lib/harness.js';

// The longest username allowed, to stress headers, file names and the print heading.
const LONG_NAME = 'maximilian_longname.test_user1';
const PHONE = '+44 7911 123456';
const TO = e164(PHONE);

/** Heights of the visible buttons, inputs and button-like links in `main`, below 44 px. */
async function smallControls(page) {
  return page.locator('main button:not(.link), main input:not([type=hidden]), main a.button').evaluateAll(
    (els) => els
      .filter((e) => e.getClientRects().length > 0)
      .map((e) => ({ what: `${e.tagName.toLowerCase()} "${(e.textContent || e.id).trim()}"`, h: e.getBoundingClientRect().height }))
      .filter((x) => x.h < 43.9),
  );
}

/** On how many lines `needle` (inside `locator`'s text) is drawn; -1 when not found. */
async function linesOf(locator, needle) {
  return locator.evaluate((el, needle) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const i = n.data.indexOf(needle);
      if (i >= 0) {
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + needle.length);
        return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
      }
    }
    return -1;
  }, needle);
}

/** Password step of a login, then "Text me a code" (the app is offered first); resolves
 * once the SMS code page shows and the code was texted. */
async function toCodePage(env, page) {
  const sent = smsCount(env.dataDir, TO);
  await submitLogin(page, LONG_NAME, GOOD_PASSWORD);
  assert.equal(new URL(page.url()).pathname, '/login/two-factor');
  assert.equal(new URL(page.url()).searchParams.get('method'), 'totp');
  await page.goto('/login/two-factor?method=sms&next=/');
  await clickAndWait(page, page.getByRole('button', { name: 'Text me a code' }));
  return (await waitForSms(env.dataDir, TO, sent)).code;
}

async function check(page, label, shot) {
  await assertNoSidewaysScroll(page, label);
  assert.deepEqual(await smallControls(page), [], `${label}: controls under 44 px tall`);
  await screenshot(page, shot);
}

describe('two-factor layout', () => {
  let env;
  before(async () => {
    env = await startEnv();
    // Text message and app, so every page has all its parts.
    const page = await env.page();
    await signUp(page, LONG_NAME);
    const sms = await enableSms(page, env.dataDir, PHONE);
    assert.equal(sms.codes.length, 10);
    await enableTotp(page);
    await page.context().close();
  });
  after(async () => { await env?.stop(); });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    it(`${device} ${viewport.width}x${viewport.height}: code, methods, settings, app set-up and backup-code pages`, async () => {
      const phone = device === 'phone';
      const ctx = await env.context({ viewport, isMobile: phone, hasTouch: phone, colorScheme: 'light' });
      const page = await ctx.newPage();

      // The code page of a login.
      const code = await toCodePage(env, page);
      assert.match(await page.locator('p.lead').innerText(), /\+44 [* ]+56\./);
      await check(page, `${device} code page`, `two-factor-code-${device}`);

      // ... with an error.
      await submitCode(page, code === '000000' ? '111111' : '000000');
      assert.ok(await page.locator('#code-error').isVisible());
      await check(page, `${device} code page with error`, `two-factor-code-error-${device}`);

      // Try another way.
      await clickAndWait(page, page.locator('#try-another-way'));
      assert.equal(await page.locator('h1').innerText(), 'Try another way');
      await check(page, `${device} methods page`, `two-factor-methods-${device}`);

      // The backup-code form.
      await clickAndWait(page, page.getByRole('link', { name: 'Use a backup code' }));
      await check(page, `${device} backup-code form`, `two-factor-backup-code-${device}`);

      // Back to the SMS code, and in.
      await page.goto('/login/two-factor?method=sms&next=/');
      await submitCode(page, code);
      assert.equal(pathOf(page), '/');

      await page.goto('/settings/two-factor');
      assert.match(await page.locator('h1').innerText(), /On$/);
      await check(page, `${device} settings`, `two-factor-settings-${device}`);
      // With "Change number" open.
      await page.locator('#sms details summary').click();
      assert.ok(await page.locator('#phone').isVisible());
      await check(page, `${device} settings, change number`, `two-factor-settings-change-${device}`);

      await page.goto('/settings/two-factor/totp');
      assert.ok(await page.locator('img.qr').isVisible());
      const qr = await page.locator('img.qr').boundingBox();
      assert.ok(qr.x >= 0 && qr.x + qr.width <= viewport.width, `QR at ${JSON.stringify(qr)}`);
      await check(page, `${device} app set-up`, `two-factor-totp-${device}`);

      await page.goto('/settings/two-factor/backup-codes');
      assert.equal(await page.locator('ol.codes > li').count(), 10);
      await check(page, `${device} backup codes`, `backup-codes-${device}`);
      // Every code on one line, whole.
      const codeBoxes = await page.locator('ol.codes span.code').evaluateAll(
        (els) => els.map((e) => ({ lines: e.getClientRects().length, right: e.getBoundingClientRect().right })),
      );
      for (const b of codeBoxes) {
        assert.equal(b.lines, 1, 'a code wraps');
        assert.ok(b.right <= viewport.width, `a code is cut off at ${b.right}`);
      }

      await ctx.close();
    });
  }

  // Like the sessions' "Log out" buttons (layout.test.js): a label broken over three lines
  // looks broken.
  it('desktop: the "Try another way" buttons keep their labels on one line', async () => {
    const page = await env.page({ viewport: VIEWPORTS.desktop });
    await toCodePage(env, page);
    await clickAndWait(page, page.locator('#try-another-way'));
    const buttons = await page.locator('ul.methods li :is(button, a.button)').evaluateAll(
      (els) => els.map((e) => ({ label: e.textContent.trim(), h: Math.round(e.getBoundingClientRect().height) })),
    );
    assert.equal(buttons.length, 3);
    for (const b of buttons) assert.ok(b.h <= 50, `"${b.label}" is ${b.h}px tall: its label wrapped`);
    await page.context().close();
  });

  it('the masked phone number is not broken across lines', async () => {
    const phone = await env.page({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    await toCodePage(env, phone);
    const masked = (await phone.locator('p.lead').innerText()).match(/\+44[* ]+\d\d/)[0];
    assert.equal(await linesOf(phone.locator('p.lead'), masked), 1, `phone code page: "${masked}" is split`);
    await phone.context().close();

    const desktop = await env.page({ viewport: VIEWPORTS.desktop });
    await toCodePage(env, desktop);
    await clickAndWait(desktop, desktop.locator('#try-another-way'));
    const meta = desktop.locator('ul.methods li', { hasText: 'Text message' }).locator('.meta');
    assert.equal(await linesOf(meta, masked), 1, `desktop methods page: "${masked}" is split`);
    await desktop.context().close();
  });
});
