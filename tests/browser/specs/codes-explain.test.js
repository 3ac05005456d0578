// Copied, downloaded and printed backup codes explain themselves, as the picture does: the
// service, the username, the server, the date and "each code works once". Printed in dark
// mode they are black on white.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startEnv, uniqueName, signUp, enableTotp, backupCodesOnPage, screenshot,
} from '../lib/harness.js';

/** What every copy of the codes must say about itself. */
function assertExplains(text, name, host, label) {
  assert.match(text, new RegExp(`Twofold backup codes for @${name}`), `${label}: service and username`);
  assert.ok(text.includes(host), `${label}: the server (${host})`);
  assert.match(text, /made \d{1,2} [A-Z][a-z]{2} \d{4}/, `${label}: the date`);
  assert.match(text, /Each code works once/, `${label}: each code works once`);
}

describe('codes that explain themselves', () => {
  let env;
  before(async () => { env = await startEnv(); });
  after(async () => { await env?.stop(); });

  it('Copy codes and Download carry the label; used codes stay out of the copy', async () => {
    const ctx = await env.context({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await ctx.newPage();
    const name = uniqueName('label');
    await signUp(page, name);
    const { codes } = await enableTotp(page);
    const host = new URL(env.url).host;

    await page.getByRole('button', { name: 'Copy codes' }).click();
    await page.locator('#copy-codes', { hasText: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assertExplains(copied, name, host, 'copied');
    for (const c of codes) assert.ok(copied.includes(c), `copied text holds ${c}`);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download', exact: true }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `twofold-backup-codes-${name}.txt`);
    const file = readFileSync(await download.path(), 'utf8');
    assertExplains(file, name, host, 'downloaded');
    // Still one code a line between the label and the advice.
    const lines = file.split('\n');
    for (const c of codes) assert.ok(lines.includes(c), `downloaded file has ${c} on a line of its own`);
    await ctx.close();
  });

  it('printed, in dark mode too: the label, the codes, black on white, no buttons', async () => {
    const ctx = await env.context({ colorScheme: 'dark' });
    const page = await ctx.newPage();
    const name = uniqueName('print');
    await signUp(page, name);
    await enableTotp(page);
    await page.goto('/settings/two-factor/backup-codes');
    const codes = await backupCodesOnPage(page);
    // The screen is dark ...
    const screenBg = await page.locator('#codes').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(screenBg, 'rgb(255, 255, 255)');
    // ... paper is not.
    await page.emulateMedia({ media: 'print', colorScheme: 'dark' });
    const look = await page.locator('#codes').evaluate((e) => ({
      bg: getComputedStyle(e).backgroundColor,
      body: getComputedStyle(document.body).backgroundColor,
      ink: getComputedStyle(e.querySelector('.code')).color,
      text: e.innerText,
    }));
    assert.equal(look.bg, 'rgb(255, 255, 255)', 'the sheet is white on paper');
    assert.equal(look.body, 'rgb(255, 255, 255)');
    assert.equal(look.ink, 'rgb(0, 0, 0)', 'the codes are black on paper');
    assertExplains(look.text, name, new URL(env.url).host, 'printed');
    for (const c of codes) assert.ok(look.text.includes(c.code));
    assert.equal(await page.locator('#save-codes').isVisible(), false, 'no buttons on paper');
    assert.equal(await page.locator('header.top').isVisible(), false);
    await screenshot(page, 'codes-printed-dark');
    await ctx.close();
  });
});
