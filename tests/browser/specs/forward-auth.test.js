// Forward authentication with the real proxies: nginx (auth_request) and Caddy
// (forward_auth) in front of a small site, on made-up names under one cookie domain
// (Chromium maps *.twofold.test to 127.0.0.1). Twofold itself is auth.twofold.test; the
// session cookie covers twofold.test, so one login serves every site behind either proxy.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import {
  startEnv, freePort, uniqueName, signUp, clickAndWait, enableTotp, assertNoAxeViolations, GOOD_PASSWORD,
} from '../lib/harness.js';
import { startBackend, startNginx, startCaddy } from '../lib/proxies.js';

const RULES = `
[access_control]
default_policy = "deny"

[[access_control.rules]]
domain = "public.twofold.test"
resources = ["^/api/"]
policy = "one_factor"

[[access_control.rules]]
domain = "public.twofold.test"
policy = "bypass"

[[access_control.rules]]
domain = "app.twofold.test"
resources = ["^/private/"]
policy = "deny"

[[access_control.rules]]
domain = "app.twofold.test"
policy = "one_factor"

[[access_control.rules]]
domain = "secure.twofold.test"
policy = "two_factor"
`;

let env; let backend; let nginx; let caddy; let rulesDir; let AUTH;

before(async () => {
  rulesDir = mkdtempSync(join(tmpdir(), 'twofold-rules-'));
  writeFileSync(join(rulesDir, 'twofold.toml'), RULES);
  const port = await freePort();
  AUTH = `http://auth.twofold.test:${port}`;
  env = await startEnv({
    port,
    args: [
      '--config', join(rulesDir, 'twofold.toml'),
      '--public-url', AUTH,
      '--cookie-domain', 'twofold.test',
      '--trusted-proxies', '127.0.0.1/32',
      // Every test signs up from 127.0.0.1.
      '--sign-ups-per-address-hour', '0',
    ],
  });
  backend = await startBackend();
  nginx = await startNginx({ twofold: env.url, backendPort: backend.port });
  caddy = await startCaddy({ twofold: env.url, backendPort: backend.port });
});

after(async () => {
  for (const p of [caddy, nginx, backend]) await p?.stop().catch(() => {});
  await env?.stop();
  rmSync(rulesDir, { recursive: true, force: true });
});

const site = (proxy, name, path = '/') => `http://${name}.twofold.test:${proxy.port}${path}`;
const page = async () => (await env.context({ baseURL: AUTH })).newPage();

/** A user with the authentication app on, logged out again: { name, app, codes }. */
async function userWithApp() {
  const name = uniqueName('fa');
  const p = await page();
  try {
    await signUp(p, name);
    const { app, codes } = await enableTotp(p);
    return { name, app, codes };
  } finally {
    await p.context().close();
  }
}

/** On Twofold's login page (sent there by a proxy): the password step. */
async function passwordStep(p, name) {
  const at = new URL(p.url());
  assert.equal(at.origin, AUTH, `sent to Twofold's login, not ${p.url()}`);
  assert.equal(at.pathname, '/login');
  await p.locator('#username').fill(name);
  await p.locator('#password').fill(GOOD_PASSWORD);
  await clickAndWait(p, p.getByRole('button', { name: 'Log in' }));
}

/** Waits to be back on `url` (through the page that moves on) and reads what the site got. */
async function backOn(p, url) {
  await p.waitForURL(url, { timeout: 15_000 }).catch(async (e) => {
    throw new Error(`not back on ${url} but on ${p.url()}: ${(await p.locator('body').innerText()).slice(0, 400)}\n${e.message}`);
  });
  return {
    user: await p.locator('#remote-user').innerText(),
    path: await p.locator('#path').innerText(),
  };
}

/** A raw GET through a proxy, no redirects followed: { status, location, body }. */
function raw(url, headers = {}, localAddress = '127.0.0.1') {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method: 'GET', localAddress,
      headers: { host: u.host, ...headers }, timeout: 5_000,
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

for (const which of ['nginx', 'caddy']) {
  const proxy = () => (which === 'nginx' ? nginx : caddy);

  describe(`behind ${which}`, () => {
    it('a visit is sent to the login, and password + app code bring the user back', async () => {
      const u = await userWithApp();
      const p = await page();
      try {
        const wanted = site(proxy(), 'app', '/wiki/page?x=1&y=a%20b');
        await p.goto(wanted);
        await passwordStep(p, u.name);
        assert.equal(new URL(p.url()).pathname, '/login/two-factor');
        await p.locator('#code').fill(await u.app.code());
        await p.getByRole('button', { name: 'Confirm' }).click();
        const got = await backOn(p, wanted);
        assert.equal(got.user, u.name, 'the site sees Remote-User');
        assert.equal(got.path, '/wiki/page?x=1&y=a%20b');
        // One login for every site under the cookie domain, through the same proxy.
        await p.goto(site(proxy(), 'secure', '/'));
        assert.equal((await backOn(p, site(proxy(), 'secure', '/'))).user, u.name);
      } finally {
        await p.context().close();
      }
    });

    it('"Try another way" and a backup code bring the user back too', async () => {
      const u = await userWithApp();
      const p = await page();
      try {
        const wanted = site(proxy(), 'secure', '/reports');
        await p.goto(wanted);
        await passwordStep(p, u.name);
        await clickAndWait(p, p.locator('#try-another-way'));
        await clickAndWait(p, p.getByRole('link', { name: 'Use a backup code' }));
        await p.locator('#code').fill(u.codes[0]);
        await p.getByRole('button', { name: 'Confirm' }).click();
        assert.equal((await backOn(p, wanted)).user, u.name);
      } finally {
        await p.context().close();
      }
    });

    it('a two_factor site refuses a password-only login and offers to turn 2FA on', async () => {
      const name = uniqueName('one');
      const p = await page();
      try {
        await signUp(p, name);
        const wanted = site(proxy(), 'secure', '/');
        const res = await raw(wanted, { accept: 'application/json', cookie: await cookieHeader(p) });
        assert.equal(res.status, 403, 'a script is told 403');
        await p.goto(wanted);
        await p.waitForURL((url) => url.pathname === '/authz/forbidden');
        assert.equal(await p.locator('h1').innerText(), 'Turn on two-factor authentication to continue');
        await assertNoAxeViolations(p, `forbidden page, two-factor missing (${which})`);
        // Turning it on leads back: confirming the app's code proved the second factor in
        // this very session, so the site takes it at once.
        await clickAndWait(p, p.getByRole('link', { name: 'Turn on two-factor authentication' }));
        assert.match(await p.locator('#app-waiting').innerText(), /needs two-factor authentication/);
        await enableTotp(p);
        await p.getByRole('link', { name: 'Done — I\'ve saved them' }).click();
        assert.equal((await backOn(p, wanted)).user, name);
      } finally {
        await p.context().close();
      }
    });

    it('a deny path gives 403, and a script gets 401 where a page would be redirected', async () => {
      const name = uniqueName('deny');
      const p = await page();
      try {
        // Logged out: a script's fetch from a page of the site gets 401, not a redirect.
        await p.goto(site(proxy(), 'public', '/'));
        assert.equal(await p.locator('h1').innerText(), 'Protected site');
        const xhr = await p.evaluate(async () => {
          const r = await fetch('/api/data', { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
          return { status: r.status, redirected: r.redirected };
        });
        assert.deepEqual(xhr, { status: 401, redirected: false });

        await signUp(p, name);
        const denied = site(proxy(), 'app', '/private/x');
        const res = await raw(denied, { accept: 'application/json', cookie: await cookieHeader(p) });
        assert.equal(res.status, 403);
        const shown = await p.goto(denied);
        if (which === 'caddy') assert.equal(shown.status(), 403, 'Caddy passes Twofold\'s 403 on');
        await p.waitForURL((url) => url.pathname === '/authz/forbidden');
        assert.equal(await p.locator('h1').innerText(), 'You can\'t open this page');
        await assertNoAxeViolations(p, `forbidden page, denied (${which})`);
        // The rest of the site is open to the same session.
        await p.goto(site(proxy(), 'app', '/ok'));
        assert.equal((await backOn(p, site(proxy(), 'app', '/ok'))).user, name);
      } finally {
        await p.context().close();
      }
    });

    it('spoofed forwarded headers and Remote-User never open a rule', async () => {
      // A client naming another site in the forwarded headers still meets the rules of
      // the site it asked for; a Remote-User it sends never reaches the site.
      const spoof = {
        accept: 'application/json',
        'x-forwarded-host': 'public.twofold.test',
        'x-forwarded-uri': '/',
        'x-original-url': 'http://public.twofold.test/',
        'remote-user': 'admin',
      };
      const res = await raw(site(proxy(), 'secure', '/'), spoof);
      assert.equal(res.status, 401, `${which}: ${res.status} ${res.body.slice(0, 200)}`);
      const open = await raw(site(proxy(), 'public', '/'), { 'remote-user': 'admin' });
      assert.equal(open.status, 200);
      assert.match(open.body, /<code id="remote-user"><\/code>/, 'no Remote-User on a bypass site');
    });
  });
}

/** The Cookie header the page's browser would send to the protected sites. */
async function cookieHeader(p) {
  const cookies = await p.context().cookies('http://app.twofold.test/');
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

describe('one login, both proxies', () => {
  it('logging out ends access behind nginx and Caddy at once', async () => {
    const u = await userWithApp();
    const p = await page();
    try {
      const viaNginx = site(nginx, 'app', '/n');
      const viaCaddy = site(caddy, 'app', '/c');
      await p.goto(viaNginx);
      await passwordStep(p, u.name);
      await p.locator('#code').fill(await u.app.code());
      await p.getByRole('button', { name: 'Confirm' }).click();
      assert.equal((await backOn(p, viaNginx)).user, u.name);
      await p.goto(viaCaddy);
      assert.equal((await backOn(p, viaCaddy)).user, u.name, 'no second login behind Caddy');
      await p.goto(`${AUTH}/`);
      await clickAndWait(p, p.getByRole('button', { name: 'Log out' }));
      for (const url of [viaNginx, viaCaddy]) {
        await p.goto(url);
        assert.equal(new URL(p.url()).origin, AUTH, `${url} asks for a login again`);
        assert.equal(new URL(p.url()).pathname, '/login');
      }
    } finally {
      await p.context().close();
    }
  });

  it('an rd outside the cookie domain is ignored after login', async () => {
    const name = uniqueName('rd');
    const p = await page();
    try {
      await signUp(p, name);
      await clickAndWait(p, p.getByRole('button', { name: 'Log out' }));
      await p.goto(`${AUTH}/login?rd=${encodeURIComponent('http://evil.example/steal')}`);
      await passwordStep(p, name);
      assert.equal(p.url(), `${AUTH}/`);
      assert.equal(await p.locator('h1').innerText(), `Hi, ${name}`);
    } finally {
      await p.context().close();
    }
  });

  it('Twofold answers forwarded requests only from its trusted proxies', async () => {
    const u = uniqueName('trust');
    const p = await page();
    try {
      await signUp(p, u);
      const headers = {
        cookie: await cookieHeader(p),
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'app.twofold.test',
        'x-forwarded-uri': '/',
      };
      const endpoint = `${env.url}/api/authz/forward-auth`;
      const trusted = await raw(endpoint, headers, '127.0.0.1');
      assert.equal(trusted.status, 200);
      // Another address (127.0.0.2 is loopback too, but not in --trusted-proxies 127.0.0.1/32).
      const stranger = await raw(endpoint, headers, '127.0.0.2');
      assert.equal(stranger.status, 401);
      assert.equal(JSON.parse(stranger.body).error.code, 'untrusted_proxy');
    } finally {
      await p.context().close();
    }
  });
});
