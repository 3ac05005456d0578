// Phone and desktop layouts (no sideways scrolling, screenshots) and dark mode.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, signUp, logIn, submitLogin, screenshot, GOOD_PASSWORD,
} from '../lib/harness.js';

const VIEWPORTS = {
  phone: { width: 375, height: 740 },
  desktop: { width: 1280, height: 800 },
};

// The longest username allowed, to stress the header and the session list.
const LONG_NAME = 'maximilian_longname.test_user1';

async function horizontalOverflow(page, width) {
  return page.evaluate((width) => {
    const doc = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5
        || (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible'))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}`);
    return { scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide };
  }, width);
}

// A phone browser (isMobile) widens its layout viewport to fit content that is too wide,
// which would make `scrollWidth <= innerWidth` pass vacuously; so the width the test asked
// for is checked as well.
async function assertNoSidewaysScroll(page, label) {
  const asked = page.viewportSize().width;
  const o = await horizontalOverflow(page, asked);
  assert.ok(
    o.scrollWidth <= o.innerWidth && o.innerWidth <= asked,
    `${label}: scrollWidth ${o.scrollWidth}, innerWidth ${o.innerWidth}, viewport ${asked}; too wide: ${o.wide.join(', ')}`,
  );
}

async function bodyBackground(page) {
  return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

describe('layout', () => {
  let env;
  before(async () => {
    env = await startEnv();
    // An account with a few sessions and some activity, so the security page is full.
    const page = await env.page();
    await signUp(page, LONG_NAME);
    await page.context().close();
    const other = await env.page({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
    await submitLogin(other, LONG_NAME, 'a wrong password here');
    await logIn(other, LONG_NAME);
    await other.context().close();
  });
  after(async () => { await env?.stop(); });

  for (const [device, viewport] of Object.entries(VIEWPORTS)) {
    it(`${device} ${viewport.width}x${viewport.height}: login and security pages fit the width`, async () => {
      const ctx = await env.context({ viewport, isMobile: device === 'phone', hasTouch: device === 'phone', colorScheme: 'light' });
      const page = await ctx.newPage();

      await page.goto('/signup');
      await assertNoSidewaysScroll(page, `${device} signup`);
      await screenshot(page, `signup-${device}`);

      await page.goto('/login');
      await assertNoSidewaysScroll(page, `${device} login`);
      await screenshot(page, `login-${device}`);

      // The login page with its error showing.
      await submitLogin(page, LONG_NAME, 'nope nope nope', { goto: null });
      assert.ok(await page.locator('p.notice.bad').isVisible());
      await assertNoSidewaysScroll(page, `${device} login with error`);
      await screenshot(page, `login-error-${device}`);

      await submitLogin(page, LONG_NAME, GOOD_PASSWORD, { goto: null });
      assert.equal(new URL(page.url()).pathname, '/');
      // (The home page is checked in its own test below: it overflows with a long name.)
      await screenshot(page, `home-${device}`);

      await page.goto('/settings/security');
      assert.equal(await page.locator('h1').innerText(), 'Security');
      assert.ok((await page.locator('#sessions ul.list > li').count()) >= 2);
      await assertNoSidewaysScroll(page, `${device} security`);
      await screenshot(page, `security-${device}`);

      await page.goto('/reauth?next=/settings/security');
      await assertNoSidewaysScroll(page, `${device} reauth`);
      await screenshot(page, `reauth-${device}`);

      await page.goto('/settings/security');
      // The security page with a field error showing.
      await page.locator('#current_password').fill('wrong');
      await page.locator('#new_password').fill('whatever new one');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Change password' }).click()]);
      assert.ok(await page.locator('#current-error').isVisible());
      await assertNoSidewaysScroll(page, `${device} security with error`);

      // Buttons and inputs are big enough to tap (44px tall, as the stylesheet intends).
      const heights = await page.locator('main button, main input:not([type=hidden]):not([hidden])').evaluateAll(
        (els) => els.map((e) => e.getBoundingClientRect().height),
      );
      for (const h of heights) assert.ok(h >= 43.9, `control height ${h}`);

      await ctx.close();
    });
  }

  // The username helper fields (there for password managers) must stay invisible.
  it('the hidden username helper fields are not shown', async () => {
    const page = await env.page({ viewport: VIEWPORTS.phone });
    await logIn(page, LONG_NAME);
    for (const path of ['/settings/security', '/reauth?next=/settings/security']) {
      await page.goto(path);
      const shown = await page.locator('input[hidden]').evaluateAll(
        (els) => els.filter((e) => e.getClientRects().length > 0).map((e) => e.name),
      );
      assert.deepEqual(shown, [], `${path}: hidden inputs shown: ${shown}`);
    }
    await page.context().close();
  });

  // The session row's text must not squeeze its "Log out" button onto two lines.
  it('session "Log out" buttons keep their label on one line on desktop', async () => {
    const page = await env.page({ viewport: VIEWPORTS.desktop });
    await logIn(page, LONG_NAME);
    await page.goto('/settings/security');
    const heights = await page.locator('#sessions li button').evaluateAll(
      (els) => els.map((e) => Math.round(e.getBoundingClientRect().height)),
    );
    assert.ok(heights.length >= 1);
    for (const h of heights) assert.ok(h <= 50, `button is ${h}px tall: its label wrapped`);
    await page.context().close();
  });

  // "Hi, <30-character username>" must wrap instead of scrolling sideways on a phone.
  it('phone: the home page fits the width with a 30-character username', async () => {
    const page = await env.page({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    await logIn(page, LONG_NAME);
    await assertNoSidewaysScroll(page, 'phone home');
    await page.context().close();
  });

  it('dark mode: the page background follows the system colour scheme', async () => {
    const light = await env.page({ colorScheme: 'light', viewport: VIEWPORTS.phone });
    const dark = await env.page({ colorScheme: 'dark', viewport: VIEWPORTS.phone });
    await light.goto('/login');
    await dark.goto('/login');
    const lightBg = await bodyBackground(light);
    const darkBg = await bodyBackground(dark);
    assert.notEqual(lightBg, darkBg, `light ${lightBg} vs dark ${darkBg}`);
    // Light is light and dark is dark (by the sum of the RGB channels).
    const sum = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).reduce((x, y) => x + y, 0);
    assert.ok(sum(lightBg) > 600, `light background ${lightBg}`);
    assert.ok(sum(darkBg) < 150, `dark background ${darkBg}`);
    // And the text colour flips with it, so it stays readable.
    const darkText = await dark.evaluate(() => getComputedStyle(document.body).color);
    assert.ok(sum(darkText) > 450, `dark text ${darkText}`);
    await screenshot(dark, 'login-phone-dark');

    await logIn(dark, LONG_NAME);
    await dark.goto('/settings/security');
    await assertNoSidewaysScroll(dark, 'dark security');
    await screenshot(dark, 'security-phone-dark');
    await light.context().close();
    await dark.context().close();
  });
});
