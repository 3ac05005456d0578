// The whole story, end to end, in one browser context, the way a person goes through it:
// sign up → Settings → Two-factor authentication → set up the authentication app → Turn on
// → the backup codes → Copy codes → Get new codes → log out → log in with the password →
// the code page → Try another way → Use a backup code (an old code is refused, a new one
// works) → home page with the backup-code notice → Settings → the backup codes page shows
// the used code struck through and 9 of 10 left.
//
// A screenshot is saved after every step, numbered in order, as
// artifacts/journey-NN-<step>.png, for a person to look through.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARTIFACTS, startEnv, uniqueName, submitSignup, submitLogin, clickAndWait, pathOf, submitCode,
  authenticator, backupCodesOnPage, getNewCodes, screenshot, GOOD_PASSWORD,
} from '../lib/harness.js';

const CODE = /^\d{4} \d{4}$/;
/** The message for a refused code: `what`, then "(N tries left)." */
const triesLeft = (what) => new RegExp(`^${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d tr(y|ies) left\\)\\.$`);
// A refused code's message ends with the tries the login attempt has left: "(4 tries left)."
const WRONG = "That code isn't right; check it and try again";
const TURNED_ON = 'Two-factor authentication is on.';
const NEW_CODES = 'Here are your new backup codes. The old ones no longer work.';

describe('journey: sign up, turn on two-factor with an app, log in with a backup code', () => {
  let env;
  let ctx;
  let page;
  let shot = 0;

  /** Saves the page as artifacts/journey-NN-<step>.png, numbered in the order taken. */
  async function snap(step) {
    shot += 1;
    return screenshot(page, `journey-${String(shot).padStart(2, '0')}-${step}`);
  }

  before(async () => {
    // Screenshots of an earlier run would mix with this one's numbering.
    if (existsSync(ARTIFACTS)) {
      for (const f of readdirSync(ARTIFACTS)) {
        if (/^journey-.*\.png$/.test(f)) rmSync(join(ARTIFACTS, f));
      }
    }
    env = await startEnv();
    ctx = await env.context({ viewport: { width: 1280, height: 800 } });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
    page = await ctx.newPage();
  });
  after(async () => {
    await ctx?.close();
    await env?.stop();
  });

  it('follows the story from sign-up to a backup-code login', async () => {
    const name = uniqueName('jo');

    // 1. Sign up: lands on the home page, two-factor off.
    await page.goto('/signup');
    await snap('signup-form');
    const signup = await submitSignup(page, name, GOOD_PASSWORD);
    assert.equal(signup.status(), 200);
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
    assert.equal(await page.locator('main .card h2 .tag').first().innerText(), 'Off');
    await snap('home-signed-up');

    // 2. Settings (the header's "Security" link): the two-factor card says Off.
    await clickAndWait(page, page.locator('nav.top').getByRole('link', { name: 'Security' }));
    assert.equal(pathOf(page), '/settings/security');
    assert.equal(await page.locator('h1').innerText(), 'Security');
    assert.equal(await page.locator('#two-factor .tag').innerText(), 'Off');
    await snap('settings');

    // 3. Two-factor authentication: off, nothing set up, no backup codes yet.
    await clickAndWait(page, page.locator('#two-factor').getByRole('link', { name: 'Turn on' }));
    assert.equal(pathOf(page), '/settings/two-factor');
    assert.match(await page.locator('h1').innerText(), /^Two-factor authentication\s+Off$/);
    assert.match(await page.locator('#additional').innerText(), /set up an authentication app, a passkey or a text message first/);
    await snap('two-factor-off');

    // 4. Set up the authentication app: a QR code and the key, read from #totp-secret.
    await clickAndWait(page, page.locator('#totp').getByRole('link', { name: 'Set up authentication app' }));
    assert.equal(pathOf(page), '/settings/two-factor/totp');
    assert.equal(await page.locator('h1').innerText(), 'Set up your authentication app');
    assert.ok(await page.locator('img.qr').isVisible(), 'QR code shown');
    const shownKey = await page.locator('#totp-secret').innerText();
    assert.match(shownKey, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, `key shown as ${JSON.stringify(shownKey)}`);
    // The app's code for the current 30-second step (used once: nothing else in this
    // journey types an app code, so no step is ever reused).
    const app = authenticator(shownKey);
    await page.locator('#code').fill(await app.code());
    await snap('totp-setup');

    // 5. "Turn on": two-factor is on and the first 10 backup codes are shown at once.
    let res = await clickAndWait(page, page.getByRole('button', { name: 'Turn on' }));
    assert.equal(res.status(), 200);
    assert.equal(pathOf(page), '/settings/two-factor/backup-codes/save?made=on');
    assert.equal(res.headers()['cache-control'], 'no-store');
    assert.equal(await page.locator('h1').innerText(), 'Save your backup codes');
    assert.equal(await page.locator('p.notice.ok').innerText(), TURNED_ON);
    const first = await backupCodesOnPage(page);
    assert.equal(first.length, 10);
    assert.ok(first.every((c) => CODE.test(c.code) && !c.used), JSON.stringify(first));
    const oldCodes = first.map((c) => c.code);
    assert.equal(new Set(oldCodes).size, 10, 'the 10 codes are all different');
    assert.match(await page.locator('#codes p.meta').innerText(), /10 of 10 left$/);
    await snap('backup-codes-shown');

    // 6. "Copy codes": the clipboard holds exactly the 10 codes, one a line; the button
    // says "Copied" (for 2.5 s, then goes back).
    await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
    const copy = page.getByRole('button', { name: 'Copy codes' });
    assert.ok(await copy.isVisible());
    await copy.click();
    await page.waitForFunction(() => document.getElementById('copy-codes').textContent === 'Copied', null, { timeout: 2_000 });
    assert.equal(await page.locator('#copy-codes').innerText(), 'Copied');
    assert.equal(await page.locator('#copy-status').innerText(), 'Copied');
    await snap('codes-copied');
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    // The label, the codes one a line, the advice.
    assert.ok(clip.startsWith(`Twofold backup codes for @${name}\n`), clip);
    assert.match(clip, /Each code works once/);
    const clipLines = clip.split('\n').filter((l) => CODE.test(l));
    assert.equal(clipLines.length, 10, `10 codes on the clipboard:\n${clip}`);
    assert.deepEqual(clipLines, oldCodes, 'the clipboard holds the codes shown, in order');

    // 7. "Done", then Two-factor authentication → View backup codes → "Get new codes" (the
    // save page itself offers no way to make another batch): 10 new codes; at least 9
    // differ from the old ones (two random 8-digit codes can match by chance, but not nine).
    await clickAndWait(page, page.getByRole('link', { name: "Done — I've saved them" }));
    assert.equal(pathOf(page), '/settings/security');
    await page.goto('/settings/two-factor');
    await clickAndWait(page, page.getByRole('link', { name: 'View backup codes' }));
    res = await getNewCodes(page);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    // Post/redirect/get: the new codes are on a page a reload cannot replace.
    assert.equal(pathOf(page), '/settings/two-factor/backup-codes/save?made=new');
    assert.equal(await page.locator('p.notice.ok').innerText(), NEW_CODES);
    const fresh = await backupCodesOnPage(page);
    assert.equal(fresh.length, 10);
    assert.ok(fresh.every((c) => CODE.test(c.code) && !c.used), JSON.stringify(fresh));
    const newCodes = fresh.map((c) => c.code);
    const differ = newCodes.filter((c) => !oldCodes.includes(c));
    assert.ok(differ.length >= 9, `only ${differ.length} of the new codes differ from the old ones`);
    assert.match(await page.locator('#codes p.meta').innerText(), /10 of 10 left$/);
    await snap('new-codes');

    // A new code to log in with, and an old one (never used) that must be refused.
    const newCode = differ[2];
    const oldCode = oldCodes.find((c) => !newCodes.includes(c));

    // 8. Log out (from the home page's button).
    await clickAndWait(page, page.locator('header.top a.brand'));
    assert.equal(pathOf(page), '/');
    assert.equal(await page.locator('main .card h2 .tag').first().innerText(), 'On');
    await clickAndWait(page, page.getByRole('button', { name: 'Log out' }));
    assert.equal(pathOf(page), '/login?done=logged_out');
    assert.equal(await page.locator('nav.top').count(), 0, 'no account menu once logged out');
    await snap('logged-out');

    // 9. Log in with username and password: the code page for the app comes next.
    res = await submitLogin(page, name, GOOD_PASSWORD, { goto: '' });
    assert.equal(res.status(), 200);
    let u = new URL(page.url());
    assert.equal(u.pathname, '/login/two-factor', `after the password: ${pathOf(page)}`);
    assert.equal(u.searchParams.get('method'), 'totp');
    assert.equal(await page.locator('h1').innerText(), 'Enter the 6-digit code');
    assert.equal(await page.locator('nav.top').count(), 0, 'not logged in yet');
    await snap('code-page');

    // 10. "Try another way": the app and backup codes are offered (no phone was added).
    await clickAndWait(page, page.locator('#try-another-way'));
    assert.equal(new URL(page.url()).pathname, '/login/two-factor/methods');
    assert.equal(await page.locator('h1').innerText(), 'Try another way');
    assert.equal(await page.getByRole('link', { name: 'Use app' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Text me' }).count(), 0);
    await snap('try-another-way');

    // 11. "Use a backup code": the backup-code form.
    await clickAndWait(page, page.getByRole('link', { name: 'Use a backup code' }));
    u = new URL(page.url());
    assert.equal(u.pathname, '/login/two-factor');
    assert.equal(u.searchParams.get('method'), 'backup_code');
    assert.equal(await page.locator('h1').innerText(), 'Enter a backup code');
    assert.equal(await page.locator('label[for=code]').innerText(), 'Backup code');
    await snap('backup-code-form');

    // 12. An old code, from before "Get new codes", is refused.
    res = await submitCode(page, oldCode);
    assert.equal(res.status(), 401);
    assert.equal(new URL(page.url()).pathname, '/login/two-factor');
    assert.equal(await page.locator('h1').innerText(), 'Enter a backup code', 'still the backup-code form');
    assert.match(await page.locator('#code-error').innerText(), triesLeft(WRONG));
    assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('input[name=method]').inputValue(), 'backup_code');
    assert.equal(await page.locator('nav.top').count(), 0, 'still not logged in');
    await snap('old-code-refused');

    // 13. One of the new codes logs in: "Hi, <name>" and the backup-code notice.
    await submitCode(page, newCode);
    assert.equal(pathOf(page), '/?backup_left=9');
    assert.equal(await page.locator('h1').innerText(), `Hi, ${name}`);
    assert.equal(await page.locator('main p.notice.ok').innerText(),
      'You logged in with a backup code. You have 9 left.');
    assert.equal(await page.locator('main .notice.warn, main .notice.bad').count(), 0);
    assert.equal(await page.locator('nav.top .meta').innerText(), `@${name}`);
    await snap('home-backup-login');

    // 14. Settings → Two-factor authentication: on, 9 of 10 backup codes left.
    await clickAndWait(page, page.locator('nav.top').getByRole('link', { name: 'Security' }));
    assert.equal(pathOf(page), '/settings/security');
    assert.equal(await page.locator('#two-factor .tag').innerText(), 'On');
    await clickAndWait(page, page.locator('#two-factor').getByRole('link', { name: 'Manage' }));
    assert.equal(pathOf(page), '/settings/two-factor');
    assert.match(await page.locator('h1').innerText(), /^Two-factor authentication\s+On$/);
    assert.match(await page.locator('#additional').innerText(), /Backup codes\s+9 of 10 left/);
    await snap('two-factor-on');

    // 15. The backup codes page: the new batch, the used code struck through, 9 of 10 left.
    await clickAndWait(page, page.locator('#additional').getByRole('link', { name: 'View backup codes' }));
    assert.equal(pathOf(page), '/settings/two-factor/backup-codes');
    assert.equal(await page.locator('h1').innerText(), 'Backup codes');
    const listed = await backupCodesOnPage(page);
    assert.deepEqual(listed.map((c) => c.code), newCodes, 'the new batch, in the same order');
    assert.deepEqual(listed.map((c) => c.used), newCodes.map((c) => c === newCode));
    const used = page.locator('ol.codes > li.used');
    assert.equal(await used.count(), 1);
    assert.equal(await used.locator('span.code').innerText(), newCode);
    assert.match(await used.locator('span.code').evaluate((e) => getComputedStyle(e).textDecorationLine), /line-through/);
    assert.equal(await used.locator('.used-label').innerText(), 'used');
    assert.match(await page.locator('#codes p.meta').innerText(), / · 9 of 10 left$/);
    await snap('backup-codes-one-used');

    assert.equal(shot, 16, 'a screenshot for every step');
  });
});
