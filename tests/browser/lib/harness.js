// Shared helpers for Twofold's browser tests: a fresh server per test file, Debian's
// Chromium driven by playwright-core, and a few page actions (sign up, log in, ...).
//
// Nothing here downloads a browser: playwright-core is pointed at /usr/bin/chromium.

import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, '..', 'artifacts');

export const TWOFOLD_BIN = process.env.TWOFOLD_BIN || join(here, '..', '..', '..', 'target', 'debug', 'twofold');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Made-up names for the forward-authentication tests (auth., app., secure.twofold.test…)
  // all reach this machine, no DNS needed.
  '--host-resolver-rules=MAP *.twofold.test 127.0.0.1',
];

// Everything started by this process, torn down on exit even when a hook never ran.
const cleanups = new Set();
process.on('exit', () => {
  for (const fn of cleanups) {
    try { fn(); } catch { /* best effort */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
export const stripAnsi = (s) => s.replace(ANSI, '');

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it; it is
 * closed again at once, so a server started soon after can bind it).
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `twofold serve` on a loopback port with a fresh data directory.
 * Resolves to { url, port, dataDir, log(), stop() }; stop() sends SIGTERM, waits, removes the
 * directory. The SMS provider is the default `outbox`: texts land in
 * `<dataDir>/sms-outbox.jsonl` (see readOutbox / waitForSmsCode below).
 *
 * `port`: listen there (default: any free port the OS gives). `publicUrl: true` passes
 * `--public-url http://127.0.0.1:<port>` (the OpenID Connect issuer; a free port is chosen
 * first when none is given, since the issuer must be known before the server starts).
 * `args`: more `twofold serve` flags.
 */
export async function startServer({ timeoutMs = 20_000, port, publicUrl = false, args = [] } = {}) {
  if (!existsSync(TWOFOLD_BIN)) {
    throw new Error(`Twofold binary not found at ${TWOFOLD_BIN} (set TWOFOLD_BIN or run cargo build)`);
  }
  if (publicUrl && port === undefined) port = await freePort();
  const flags = ['serve', '--listen', `127.0.0.1:${port ?? 0}`];
  if (publicUrl) flags.push('--public-url', `http://127.0.0.1:${port}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'twofold-browser-'));
  const child = spawn(
    TWOFOLD_BIN,
    [...flags, '--data-dir', dataDir, ...args],
    {
      env: {
        ...process.env,
        NO_COLOR: '1',
        TWOFOLD_ARGON2_MEMORY_KIB: '4096',
        TWOFOLD_ARGON2_ITERATIONS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const onData = (chunk) => { output += chunk.toString('utf8'); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  let exited = false;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }); });
  });

  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  const emergency = () => {
    if (!exited) child.kill('SIGKILL');
    removeDir();
  };
  cleanups.add(emergency);

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not report its address within ${timeoutMs} ms; output:\n${stripAnsi(output)}`));
    }, timeoutMs);
    const check = () => {
      const m = stripAnsi(output).match(/Twofold is listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}); output:\n${stripAnsi(output)}`));
    });
    check();
  }).catch((e) => { emergency(); cleanups.delete(emergency); throw e; });

  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    log: () => stripAnsi(output),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      removeDir();
      cleanups.delete(emergency);
    },
  };
}

/**
 * Runs a `twofold` admin command (`client add …`, `user …`) on the data directory (and so
 * the SQLite database and secret.key) of a server started by startServer, as an operator
 * would next to the running server. Resolves to { code, stdout, stderr }; fails after
 * `timeoutMs`. With `json: true`, resolves to the parsed stdout and fails unless it exited 0.
 */
export function twofoldCli(dataDir, args, { timeoutMs = 20_000, json = false } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      TWOFOLD_BIN,
      ['--data-dir', dataDir, ...args],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (error && code === null) {
          reject(new Error(`twofold ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        if (!json) {
          resolve({ code, stdout: stripAnsi(stdout), stderr: stripAnsi(stderr) });
          return;
        }
        if (code !== 0) {
          reject(new Error(`twofold ${args.join(' ')} exited ${code}: ${stripAnsi(stderr)}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout));
        } catch (e) {
          reject(new Error(`twofold ${args.join(' ')} printed no JSON (${e.message}): ${stdout}`));
        }
      },
    );
  });
}

/**
 * Registers an OpenID Connect client with `twofold client add … --json`; resolves to
 * { client_id, client_secret }. `redirectUris` and `postLogoutRedirectUris` are arrays;
 * `flags` are more flags (`--public`, `--require-two-factor`, `--skip-consent`).
 */
export function addClient(dataDir, { name, redirectUris, postLogoutRedirectUris = [], flags = [] }) {
  const args = ['client', 'add', '--name', name];
  for (const u of redirectUris) args.push('--redirect-uri', u);
  for (const u of postLogoutRedirectUris) args.push('--post-logout-redirect-uri', u);
  return twofoldCli(dataDir, [...args, ...flags, '--json'], { json: true });
}

/** Launches Debian's Chromium (headless) through playwright-core. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  // A first start on a cold machine can take long (fonts, caches): allow 40 s, and try
  // once more before calling it a failure of the test rather than of the machine.
  const launch = () => chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 40_000,
  });
  let browser;
  try {
    browser = await launch();
  } catch (first) {
    console.error(`Chromium did not start (${first.message.split('\n')[0]}); trying once more`);
    browser = await launch();
  }
  const emergency = () => { try { browser.process?.()?.kill('SIGKILL'); } catch { /* gone */ } };
  cleanups.add(emergency);
  const close = browser.close.bind(browser);
  browser.close = async () => { await close(); cleanups.delete(emergency); };
  return browser;
}

/**
 * One server and one browser for a test file. Call from `before`; `env.stop()` from `after`.
 */
export async function startEnv(serverOptions = {}) {
  const server = await startServer(serverOptions);
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.stop();
    throw e;
  }
  const env = {
    server,
    browser,
    url: server.url,
    dataDir: server.dataDir,
    /** A new browser context (its own cookies) whose relative URLs go to the server. */
    async context(options = {}) {
      const ctx = await browser.newContext({ baseURL: server.url, ...options });
      ctx.setDefaultTimeout(10_000);
      ctx.setDefaultNavigationTimeout(15_000);
      return ctx;
    },
    /** A new context with one page. */
    async page(options = {}) {
      const ctx = await env.context(options);
      return ctx.newPage();
    },
    async stop() {
      try { await browser.close(); } finally { await server.stop(); }
    },
  };
  return env;
}

let counter = 0;
/** A fresh, valid username: lower case letters and digits, at most 30 characters. */
export function uniqueName(prefix = 'user') {
  counter += 1;
  return `${prefix}${process.pid % 10000}${counter}`.toLowerCase().slice(0, 30);
}

/** A password that passes the server's rules. */
export const GOOD_PASSWORD = 'correct horse battery staple';
export const OTHER_GOOD_PASSWORD = 'tangerine kayak lighthouse 42';

/** Path (with query and hash) of the page's URL. */
export function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname + u.search + u.hash;
}

/** Fills and submits the sign-up form; resolves to the navigation's response. */
export async function submitSignup(page, username, password) {
  await page.goto('/signup');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Create account' }).click(),
  ]);
  return response;
}

/** Signs up and checks that the browser landed on the home page. */
export async function signUp(page, username, password = GOOD_PASSWORD) {
  await submitSignup(page, username, password);
  assert.equal(pathOf(page), '/', `sign-up of ${username} should land on /`);
  assert.equal(await page.locator('h1').innerText(), `Hi, ${username}`);
}

/** Fills and submits the login form on the current page (goes to /login first if asked). */
export async function submitLogin(page, username, password, { goto = '/login' } = {}) {
  if (goto) await page.goto(goto);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Log in', exact: true }).click(),
  ]);
  return response;
}

/** Logs in and checks that the browser left the login page. */
export async function logIn(page, username, password = GOOD_PASSWORD) {
  await submitLogin(page, username, password);
  assert.equal(pathOf(page), '/', `login of ${username} should land on /`);
  assert.equal(await page.locator('h1').innerText(), `Hi, ${username}`);
}

/** Clicks a submit button and waits for the page it leads to. */
export async function clickAndWait(page, locator) {
  const [response] = await Promise.all([page.waitForNavigation(), locator.click()]);
  return response;
}

/** Saves a full-page screenshot under artifacts/ and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}


/**
 * An admin of the operator console (issue 25): signs `name` up, turns the authentication app
 * on, grants the admin role with `twofold user grant-admin` and logs in again with both
 * factors. Returns the logged-in browser state, for `env.context({ storageState })`.
 */
export async function consoleAdmin(env, name) {
  const page = await env.page();
  await signUp(page, name);
  const { app } = await enableTotp(page);
  const granted = await twofoldCli(env.dataDir, ['user', 'grant-admin', name, '--reason', 'first admin']);
  assert.equal(granted.code, 0, granted.stderr);
  await logOut(page);
  await submitLogin(page, name, GOOD_PASSWORD);
  await submitCode(page, await app.code());
  assert.equal(pathOf(page), '/');
  const state = await page.context().storageState();
  await page.context().close();
  return state;
}

/** Logs out with the "Log out" button in the header of every logged-in page. */
export async function logOut(page) {
  await page.goto('/');
  await clickAndWait(page, page.getByRole('button', { name: 'Log out' }));
  assert.equal(pathOf(page), '/login?done=logged_out');
}

// ---- Two-factor helpers ---------------------------------------------------------------

/** The text messages the `outbox` SMS provider wrote so far: [{ to, body, sent_at }]. */
export function readOutbox(dataDir) {
  const file = join(dataDir, 'sms-outbox.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** The security code in an SMS body: the first run of exactly 6 digits. */
export function smsCode(body) {
  const m = body.match(/(?<!\d)\d{6}(?!\d)/);
  assert.ok(m, `no 6-digit code in SMS body ${JSON.stringify(body)}`);
  return m[0];
}

/** E.164 form of a phone number as typed ("+1 415 555 2671" -> "+14155552671"). */
export const e164 = (typed) => typed.replace(/[^+\d]/g, '');

/** How many texts went to `to` (E.164) so far. */
export function smsCount(dataDir, to) {
  return readOutbox(dataDir).filter((m) => m.to === to).length;
}

/**
 * Waits for text number `index` (0-based, counting texts to `to`) and returns its code and
 * message. Pass `smsCount(...)` taken before the action that sends the text.
 */
export async function waitForSms(dataDir, to, index, { timeoutMs = 5_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const msgs = readOutbox(dataDir).filter((m) => m.to === to);
    if (msgs.length > index) return { code: smsCode(msgs[index].body), message: msgs[index] };
    if (Date.now() > deadline) {
      throw new Error(`no SMS #${index} to ${to} within ${timeoutMs} ms (outbox has ${msgs.length} for it)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** RFC 4648 base32 (spaces and padding ignored) to bytes. */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export const TOTP_STEP_SECS = 30;

/** The current RFC 6238 time step (30 s). */
export const totpStep = (nowMs = Date.now()) => Math.floor(nowMs / 1000 / TOTP_STEP_SECS);

/** The 6-digit RFC 6238 code (HMAC-SHA1) for an absolute time step. */
export function totpAt(secretBase32, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

/** The authenticator code for now, or `offsetSteps` 30-second steps away. */
export function totp(secretBase32, offsetSteps = 0, nowMs = Date.now()) {
  return totpAt(secretBase32, totpStep(nowMs) + offsetSteps);
}

/**
 * An authenticator app for one secret that never repeats a time step: the server refuses a
 * step at or before the last one it accepted, and accepts the current step +-1. `code()`
 * returns a code for the earliest unused step among now and now+1 (both stay inside the
 * server's window however the clock ticks while the form is sent; now-1 might not), and
 * waits for the next 30-second step when both were used.
 */
export function authenticator(secretBase32) {
  const secret = secretBase32.replace(/\s/g, '');
  let last = -Infinity;
  return {
    secret,
    async code() {
      for (;;) {
        const now = totpStep();
        const step = Math.max(now, last + 1);
        if (step <= now + 1) {
          last = step;
          return totpAt(secret, step);
        }
        const wait = (now + 1) * TOTP_STEP_SECS * 1000 - Date.now() + 50;
        await new Promise((r) => setTimeout(r, Math.max(wait, 50)));
      }
    },
  };
}

/** The backup codes listed on the page (`ol.codes`): [{ code: '1234 5678', used }]. */
export async function backupCodesOnPage(page) {
  return page.locator('ol.codes > li').evaluateAll((lis) => lis.map((li) => ({
    code: li.querySelector('span.code')?.textContent.trim(),
    used: li.classList.contains('used'),
  })));
}

/**
 * "Get new codes" from the backup-codes page: its link, then "Yes, get new codes" on the
 * confirmation page. Resolves to the response of the page it ends on (the save page).
 */
export async function getNewCodes(page) {
  await clickAndWait(page, page.locator('#new-codes').getByRole('link', { name: 'Get new codes' }));
  assert.equal(new URL(page.url()).pathname, '/settings/two-factor/backup-codes/new');
  return clickAndWait(page, page.getByRole('button', { name: 'Yes, get new codes' }));
}

/** Types a code into `#code` and presses "Confirm"; resolves to the navigation's response. */
export async function submitCode(page, code) {
  await page.locator('#code').fill(code);
  return clickAndWait(page, page.getByRole('button', { name: 'Confirm' }));
}

/**
 * Sets up the authentication app from Settings (needs a recent login): reads the key shown
 * under the QR code, types the app's code and presses "Turn on". Resolves to
 * { app, response, codes } where `codes` are the backup codes shown when this turned
 * two-factor on (null when it was already on).
 */
export async function enableTotp(page) {
  await page.goto('/settings/two-factor/totp');
  assert.equal(new URL(page.url()).pathname, '/settings/two-factor/totp');
  const app = authenticator(await page.locator('#totp-secret').innerText());
  await page.locator('#code').fill(await app.code());
  const response = await clickAndWait(page, page.getByRole('button', { name: 'Turn on' }));
  const codes = (await page.locator('ol.codes').count()) > 0
    ? (await backupCodesOnPage(page)).map((c) => c.code)
    : null;
  return { app, response, codes };
}

/**
 * Adds a phone from Settings (needs a recent login): types it, presses "Send code", reads
 * the code from the SMS outbox and confirms it. Resolves like enableTotp (without `app`).
 */
export async function enableSms(page, dataDir, typed) {
  await page.goto('/settings/two-factor');
  const to = e164(typed);
  const before = smsCount(dataDir, to);
  await page.locator('#phone').fill(typed);
  await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
  const problem = await page.locator('#phone-error, main .notice.bad').allInnerTexts();
  assert.equal(new URL(page.url()).pathname, '/settings/two-factor/sms/verify', `${typed}: ${problem.join(' ')}`);
  const { code } = await waitForSms(dataDir, to, before);
  const response = await submitCode(page, code);
  const codes = (await page.locator('ol.codes').count()) > 0
    ? (await backupCodesOnPage(page)).map((c) => c.code)
    : null;
  return { response, codes };
}

/** Phone and desktop viewports used by the layout tests. */
export const VIEWPORTS = {
  phone: { width: 375, height: 740 },
  desktop: { width: 1280, height: 800 },
};

/**
 * Fails when the page scrolls sideways at the viewport's width, naming the widest elements.
 * (A phone browser widens its layout viewport to fit content that is too wide, so the width
 * the test asked for is checked as well as scrollWidth <= innerWidth.)
 */
export async function assertNoSidewaysScroll(page, label) {
  const asked = page.viewportSize().width;
  const o = await page.evaluate((width) => {
    const doc = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5
        || (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible'))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}`);
    return { scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide };
  }, asked);
  assert.ok(
    o.scrollWidth <= o.innerWidth && o.innerWidth <= asked,
    `${label}: scrollWidth ${o.scrollWidth}, innerWidth ${o.innerWidth}, viewport ${asked}; too wide: ${o.wide.join(', ')}`,
  );
}

// ---- Accessibility ---------------------------------------------------------------------

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (every rule that is not experimental: WCAG 2.x A and AA and best practices)
 * on the page as it is now, and fails listing each violation with the elements it found.
 * The script goes in through the DevTools protocol, which the pages' Content-Security-Policy
 * (no inline scripts) does not apply to.
 */
export async function assertNoAxeViolations(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  });
  assert.deepEqual(violations, [], `${label}: axe-core violations:\n${JSON.stringify(violations, null, 2)}`);
}

// ---- email (the mail outbox) ----------------------------------------------------------

/** The mail outbox's messages, oldest first. */
export function readMail(dataDir) {
  const file = join(dataDir, 'mail-outbox.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** Waits for reset email number `index` to `to` and returns the link's path. */
export async function waitForResetLink(dataDir, to, index, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = readMail(dataDir).filter((m) => m.to === to && m.subject.includes('Reset your Twofold password'));
    if (mails.length > index) {
      const m = mails[index].body.match(/\/recover\/[A-Za-z0-9_-]{43}/);
      assert.ok(m, `a link in ${mails[index].body}`);
      return m[0];
    }
    if (Date.now() > deadline) throw new Error(`no reset email #${index} to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Adds and confirms an email address from Settings → Email (needs a recent login). */
export async function addEmail(page, dataDir, email) {
  await page.goto('/settings/email');
  await page.locator('#email').fill(email);
  await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
  const mail = readMail(dataDir).filter((m) => m.to === email).pop();
  const code = mail.body.match(/(?<!\d)\d{6}(?!\d)/)[0];
  await page.locator('#code-input').fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Confirm' }));
  assert.match(await page.locator('main').innerText(), new RegExp(email.split('@')[1].replace('.', '\\.')));
}
