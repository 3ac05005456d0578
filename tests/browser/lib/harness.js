// Shared helpers for Twofold's browser tests: a fresh server per test file, Debian's
// Chromium driven by playwright-core, and a few page actions (sign up, log in, ...).
//
// Nothing here downloads a browser: playwright-core is pointed at /usr/bin/chromium.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, '..', 'artifacts');

export const TWOFOLD_BIN = process.env.TWOFOLD_BIN || '/work/main/target/debug/twofold';
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
 * Starts `twofold serve` on a free loopback port with a fresh data directory.
 * Resolves to { url, log(), stop() }; stop() sends SIGTERM, waits, removes the directory.
 */
export async function startServer({ timeoutMs = 20_000 } = {}) {
  if (!existsSync(TWOFOLD_BIN)) {
    throw new Error(`Twofold binary not found at ${TWOFOLD_BIN} (set TWOFOLD_BIN or run cargo build)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'twofold-browser-'));
  const child = spawn(
    TWOFOLD_BIN,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
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

/** Launches Debian's Chromium (headless) through playwright-core. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const emergency = () => { try { browser.process?.()?.kill('SIGKILL'); } catch { /* gone */ } };
  cleanups.add(emergency);
  const close = browser.close.bind(browser);
  browser.close = async () => { await close(); cleanups.delete(emergency); };
  return browser;
}

/**
 * One server and one browser for a test file. Call from `before`; `env.stop()` from `after`.
 */
export async function startEnv() {
  const server = await startServer();
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
    page.getByRole('button', { name: 'Log in' }).click(),
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
