// The password strength meter (issue 21, item 15; OWASP ASVS 4.0.3 2.1.8): as a new password
// is typed on the sign-up page and the change-password form, the line under the field says
// how guessable it is, scored by the server (POST /api/v1/password-strength) the way the form
// will judge it. On a phone (375 px), and with the meter showing the page stays accessible.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, uniqueName, signUp, clickAndWait, pathOf, assertNoAxeViolations,
  assertNoSidewaysScroll, VIEWPORTS, GOOD_PASSWORD, OTHER_GOOD_PASSWORD,
} from '../lib/harness.js';

// zxcvbn finds it at once: a site-like word and a year (issue 21 names it).
const WEAK = 'twofold2024';
// Four unrelated words: "Good" or "Strong".
const STRONG = OTHER_GOOD_PASSWORD; // 'tangerine kayak lighthouse 42'

const PHONE = { viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true, colorScheme: 'light' };

/**
 * Waits until the meter `#id` is shown and its text matches `pattern`; fails saying what it
 * showed instead (hidden, empty, another word).
 */
async function meterShows(page, id, pattern, what) {
  try {
    await page.waitForFunction(
      ([meterId, source]) => {
        const el = document.getElementById(meterId);
        return !!el && !el.hidden && new RegExp(source).test(el.textContent);
      },
      [id, pattern.source],
      { timeout: 5_000 },
    );
  } catch {
    const state = await page.evaluate((meterId) => {
      const el = document.getElementById(meterId);
      return el ? { hidden: el.hidden, text: el.textContent, level: el.getAttribute('data-level') } : null;
    }, id);
    assert.fail(`${what}: #${id} should match ${pattern}, but is ${JSON.stringify(state)}`);
  }
  const meter = page.locator(`#${id}`);
  assert.ok(await meter.isVisible(), `${what}: #${id} is visible`);
  return meter;
}

/** The meter as markup: a polite live region right under the field it describes. */
async function assertMeterMarkup(page, inputId, meterId) {
  const meter = page.locator(`#${meterId}`);
  assert.equal(await meter.count(), 1, `#${meterId} exists`);
  assert.equal(await meter.evaluate((e) => e.matches('p.strength')), true);
  assert.equal(await meter.getAttribute('aria-live'), 'polite');
  assert.equal(await page.locator(`#${inputId}`).getAttribute('data-strength'), '');
  assert.equal(await page.locator(`.field:has(#${inputId}) #${meterId}`).count(), 1,
    `#${meterId} sits in the field of #${inputId}`);
  // Nothing typed yet: nothing shown.
  assert.equal(await meter.isVisible(), false, `#${meterId} is hidden before typing`);
}

describe('password strength meter', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('sign-up at 375 px: "twofold2024" is called weak and refused, "tangerine kayak lighthouse 42" acceptable', async () => {
    const ctx = await env.context(PHONE);
    const page = await ctx.newPage();
    const name = uniqueName('meter');
    await page.goto('/signup');
    await assertMeterMarkup(page, 'password', 'password-strength');
    await page.locator('#username').fill(name);

    // Weak: said so while typing, before any submit.
    const asked = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/password-strength') asked.push(r.method());
    });
    await page.locator('#password').pressSequentially(WEAK, { delay: 20 });
    let meter = await meterShows(page, 'password-strength', /^Strength: (Very weak|Weak)\b/, 'weak password');
    assert.equal(await meter.getAttribute('data-level'), 'weak');
    assert.match(await meter.innerText(), /add more words or make it less predictable/);
    assert.ok(asked.length >= 1 && asked.every((m) => m === 'POST'), `the page asked the server: ${asked}`);
    await assertNoSidewaysScroll(page, 'sign-up, weak password shown');
    await assertNoAxeViolations(page, 'phone light sign-up, weak password shown');

    // The form agrees with the meter: the same password is refused.
    const res = await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
    assert.equal(res.status(), 422);
    assert.ok(await page.locator('#password-error').isVisible());
    assert.equal(await page.locator('#password').inputValue(), '', 'the password is never kept');
    assert.equal(await page.locator('#password-strength').isVisible(), false, 'a fresh page shows no meter');

    // Strong: acceptable.
    await page.locator('#password').fill(STRONG);
    meter = await meterShows(page, 'password-strength', /^Strength: (Strong|Good)$/, 'strong password');
    assert.equal(await meter.getAttribute('data-level'), 'ok');
    await assertNoSidewaysScroll(page, 'sign-up, strong password shown');
    await assertNoAxeViolations(page, 'phone light sign-up, strong password shown');

    // Emptied: the meter goes away.
    await page.locator('#password').fill('');
    await page.waitForFunction(() => document.getElementById('password-strength').hidden, null, { timeout: 5_000 });

    // And the strong one is accepted by the form.
    await page.locator('#password').fill(STRONG);
    await meterShows(page, 'password-strength', /^Strength: (Strong|Good)$/, 'strong password again');
    await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
    assert.equal(pathOf(page), '/');
    await ctx.close();
  });

  it('sign-up at 375 px in dark mode: axe-core finds nothing with either meter level showing', async () => {
    const ctx = await env.context({ ...PHONE, colorScheme: 'dark' });
    const page = await ctx.newPage();
    await page.goto('/signup');
    await page.locator('#username').fill(uniqueName('meterdark'));
    await page.locator('#password').fill(WEAK);
    await meterShows(page, 'password-strength', /^Strength: (Very weak|Weak)\b/, 'weak password (dark)');
    await assertNoAxeViolations(page, 'phone dark sign-up, weak password shown');
    await page.locator('#password').fill(STRONG);
    await meterShows(page, 'password-strength', /^Strength: (Strong|Good)$/, 'strong password (dark)');
    await assertNoAxeViolations(page, 'phone dark sign-up, strong password shown');
    await ctx.close();
  });

  it('change password at 375 px: the new-password field shows weak, then acceptable', async () => {
    const ctx = await env.context(PHONE);
    const page = await ctx.newPage();
    const name = uniqueName('meterchg');
    await signUp(page, name, GOOD_PASSWORD);
    await page.goto('/settings/security');
    await assertMeterMarkup(page, 'new_password', 'new-strength');
    // The current-password field has no meter.
    assert.equal(await page.locator('#current_password').getAttribute('data-strength'), null);
    assert.equal(await page.locator('#password-strength').count(), 0);

    await page.locator('#new_password').pressSequentially(WEAK, { delay: 20 });
    let meter = await meterShows(page, 'new-strength', /^Strength: (Very weak|Weak)\b/, 'weak new password');
    assert.equal(await meter.getAttribute('data-level'), 'weak');
    await assertNoSidewaysScroll(page, 'security, weak password shown');

    // A password built on the username is never acceptable here (the page names the user).
    await page.locator('#new_password').fill(`${name}2024`);
    meter = await meterShows(page, 'new-strength', /^Strength: /, 'password built on the username');
    await page.waitForFunction(
      () => document.getElementById('new-strength').getAttribute('data-level') === 'weak',
      null,
      { timeout: 5_000 },
    );

    await page.locator('#new_password').fill(STRONG);
    meter = await meterShows(page, 'new-strength', /^Strength: (Strong|Good)$/, 'strong new password');
    assert.equal(await meter.getAttribute('data-level'), 'ok');
    await assertNoSidewaysScroll(page, 'security, strong password shown');
    await assertNoAxeViolations(page, 'phone light security, strong password shown');

    // The change goes through with it.
    await page.locator('#current_password').fill(GOOD_PASSWORD);
    await clickAndWait(page, page.getByRole('button', { name: 'Change password' }));
    assert.equal(pathOf(page), '/settings/security?done=password#password');
    await ctx.close();
  });
});
