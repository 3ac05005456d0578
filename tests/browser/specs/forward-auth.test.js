// Forward authentication with the real proxies: nginx (auth_request) and Caddy
// (forward_auth) in front of small sites, on made-up names under one cookie domain
// (Chromium maps *.twofold.test to 127.0.0.1). Twofold itself is auth.twofold.test; the
// session cookie covers twofold.test, so one login serves every site behind either proxy.
// The proxies run the README's configurations (tests/browser/lib/proxies.js).
//
// files.twofold.test is a site that decodes paths the naive way (`/static/..%2Fadmin` is its
// admin page) and docs.twofold.test a folder the proxy serves itself (nginx `root`, Caddy
// `file_server`): the path tricks that walk past rules matched on one reading of a path and
// served on another must be refused, whatever the site does with them. Paths with tricks
// are sent raw (http.request): a browser would resolve some of them before sending.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import {
  startEnv, freePort, uniqueName, signUp, clickAndWait, enableTotp, assertNoAxeViolations, GOOD_PASSWORD,
} from '../lib/harness.js';
import {
  startBackend, startNaiveSite, makeSiteFolder, startNginx, startCaddy, ADMIN_MARK,
} from '../lib/proxies.js';

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

# The sites whose paths are read another way: public files, an admin page (anything else
# meets default_policy).
[[access_control.rules]]
domain = ["files.twofold.test", "docs.twofold.test"]
resources = ["^/static/"]
policy = "bypass"

[[access_control.rules]]
domain = ["files.twofold.test", "docs.twofold.test"]
resources = ["^/admin"]
policy = "two_factor"

# A site in the rules that nginx does not serve (Caddy's *.twofold.test does): a client
# naming it in Host must not bring its bypass to the site nginx chose.
[[access_control.rules]]
domain = "status.twofold.test"
policy = "bypass"
`;

let env; let backend; let naive; let folder; let nginx; let caddy; let rulesDir; let AUTH;

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
  naive = await startNaiveSite();
  folder = makeSiteFolder();
  // files.twofold.test first: nginx's default server, as a machine's main site often is.
  const sites = [
    { name: 'files.twofold.test', backendPort: naive.port },
    { name: 'docs.twofold.test', root: folder.dir },
  ];
  nginx = await startNginx({
    twofold: env.url,
    authName: 'auth.twofold.test',
    sites: [...sites, ...['app', 'secure', 'public'].map((n) => ({ name: `${n}.twofold.test`, backendPort: backend.port }))],
  });
  caddy = await startCaddy({
    twofold: env.url,
    authName: 'auth.twofold.test',
    sites: [...sites, { name: '*.twofold.test', backendPort: backend.port }],
  });
});

after(async () => {
  for (const p of [caddy, nginx, naive, backend, folder]) await p?.stop().catch(() => {});
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
  await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
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
  return rawGet({ port: u.port, host: u.host, path: u.pathname + u.search, headers, localAddress });
}

/**
 * A GET to 127.0.0.1:port with the path and Host exactly as given (no URL parsing, so
 * `..`, `%2e%2e` and `//` go out as written), no redirects followed: { status, location, body }.
 */
function rawGet({ port, host, path, headers = {}, localAddress = '127.0.0.1' }) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, method: 'GET', localAddress,
      headers: { host, ...headers }, timeout: 5_000,
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

/** Paths a naive site reads as /admin, sent with no session: each must be refused. */
const WALK_TO_ADMIN = [
  '/static/..%2Fadmin',
  '/static/..;/admin',
  '/static/%2E%2E%2Fadmin',
  '/static/%2e%2e/admin',
  '/static/..%2fadmin',
  '/static/..%5Cadmin',
  '/static/..\\admin',
  '/static/..%3B/admin',
];

/** A GET of `path` on site `name` behind `proxy`, sent exactly as written. */
const at = (proxy, name, path, headers = {}) => rawGet({
  port: proxy.port, host: `${name}.twofold.test:${proxy.port}`, path, headers,
});

/**
 * Twofold refused a path it cannot check (400 bad_path): nginx, configured as the README
 * says, turns that into its 403 (never auth_request's 500); Caddy's forward_auth passes the
 * 400 on. Either way the site never answers.
 */
function assertPathRefused(which, res, label) {
  assert.ok(!res.body.includes(ADMIN_MARK), `${which} ${label}: the admin page was served (${res.status})`);
  if (which === 'nginx') {
    assert.equal(res.status, 403, `${which} ${label}: ${res.status} ${res.body.slice(0, 200)}`);
  } else {
    assert.equal(res.status, 400, `${which} ${label}: ${res.status} ${res.body.slice(0, 200)}`);
    assert.equal(JSON.parse(res.body).error.code, 'bad_path', `${which} ${label}`);
  }
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

    it('path tricks never reach the admin page without a session (a site that decodes %2F)', async () => {
      for (const path of WALK_TO_ADMIN) {
        // The trick works on the site itself: it is the proxy and Twofold that must stop it.
        const direct = await rawGet({ port: naive.port, host: 'files.twofold.test', path });
        assert.ok(direct.body.includes(ADMIN_MARK), `the naive site reads ${path} as /admin`);
        for (const accept of ['text/html', 'application/json']) {
          assertPathRefused(which, await at(proxy(), 'files', path, { accept }), `${path} (${accept})`);
        }
      }
      // The plain paths meet their rules: the public file loads, the admin page asks for a login.
      const file = await at(proxy(), 'files', '/static/x', { accept: 'text/html' });
      assert.equal(file.status, 200);
      assert.match(file.body, /Public content/);
      const admin = await at(proxy(), 'files', '/admin', { accept: 'application/json' });
      assert.equal(admin.status, 401);
      assert.ok(!admin.body.includes(ADMIN_MARK));
      // A browser keeps `..%2F` as it is (it is no dot segment to a browser): still refused.
      const p = await page();
      try {
        const url = site(proxy(), 'files', '/static/..%2Fadmin');
        const shown = await p.goto(url);
        assert.equal(shown.request().url(), url, 'the browser sent the path unchanged');
        assert.equal(shown.status(), which === 'nginx' ? 403 : 400);
        assert.ok(!(await p.content()).includes(ADMIN_MARK), 'no admin page in the browser');
      } finally {
        await p.context().close();
      }
      if (which === 'nginx') {
        assert.doesNotMatch(nginx.log(), /auth request unexpected status/, 'no 400 became a 500');
      }
    });

    it(`path tricks never reach the admin file without a session (${which === 'nginx' ? 'nginx root' : 'Caddy file_server'})`, async () => {
      for (const path of WALK_TO_ADMIN) {
        assertPathRefused(which, await at(proxy(), 'docs', path, { accept: 'text/html' }), `${path} (files)`);
      }
      const file = await at(proxy(), 'docs', '/static/x.txt');
      assert.equal(file.status, 200);
      assert.match(file.body, /Public content/);
      const admin = await at(proxy(), 'docs', '/admin', { accept: 'application/json' });
      assert.equal(admin.status, 401);
      assert.ok(!admin.body.includes(ADMIN_MARK));
    });

    it('a user without 2FA is refused at //admin, ///admin and /%61dmin, and asked for 2FA', async () => {
      const name = uniqueName('no2fa');
      const p = await page();
      try {
        await signUp(p, name);
        const cookie = await cookieHeader(p);
        for (const path of ['//admin', '///admin']) {
          for (const accept of ['text/html', 'application/json']) {
            assertPathRefused(which, await at(proxy(), 'files', path, { accept, cookie }), `${path} (${accept}, logged in)`);
          }
        }
        // `%61` is an `a`: Twofold reads /admin, and its rule asks for the second factor.
        for (const path of ['/%61dmin', '/admin']) {
          const script = await at(proxy(), 'files', path, { accept: 'application/json', cookie });
          assert.equal(script.status, 403, `${path}: ${script.status} ${script.body.slice(0, 200)}`);
          assert.ok(!script.body.includes(ADMIN_MARK), `${path} showed the admin page`);
          if (which === 'caddy') assert.equal(JSON.parse(script.body).error.code, 'two_factor_required');
          const load = await at(proxy(), 'files', path, { accept: 'text/html', cookie });
          assert.ok(!load.body.includes(ADMIN_MARK), `${path} (page load) showed the admin page`);
          if (which === 'nginx') {
            assert.equal(load.status, 302);
            assert.equal(new URL(load.location).pathname, '/authz/forbidden');
            assert.equal(new URL(load.location).searchParams.get('rd'), site(proxy(), 'files', '/admin'));
          } else {
            assert.equal(load.status, 403);
            assert.match(load.body, /\/authz\/forbidden/);
          }
        }
        await p.goto(site(proxy(), 'files', '/%61dmin'));
        await p.waitForURL((url) => url.pathname === '/authz/forbidden');
        assert.equal(await p.locator('h1').innerText(), 'Turn on two-factor authentication to continue');
        assert.ok(!(await p.content()).includes(ADMIN_MARK));
      } finally {
        await p.context().close();
      }
    });

    it('a public file loads without a session, and /admin opens after a two-factor login', async () => {
      const u = await userWithApp();
      const p = await page();
      try {
        await p.goto(site(proxy(), 'files', '/static/x'));
        assert.equal(await p.locator('h1').innerText(), 'Public file');
        assert.equal(await p.locator('#remote-user').innerText(), '');
        const wanted = site(proxy(), 'files', '/admin');
        await p.goto(wanted);
        await passwordStep(p, u.name);
        await p.locator('#code').fill(await u.app.code());
        await p.getByRole('button', { name: 'Confirm' }).click();
        assert.equal((await backOn(p, wanted)).user, u.name);
        assert.match(await p.locator('#content').innerText(), new RegExp(ADMIN_MARK));
        // Two factors open /admin as it is spelled, not the paths that cannot be checked.
        const cookie = await cookieHeader(p);
        for (const path of ['/static/..%2Fadmin', '//admin']) {
          assertPathRefused(which, await at(proxy(), 'files', path, { accept: 'text/html', cookie }), `${path} (two factors)`);
        }
        const aliased = await at(proxy(), 'files', '/%61dmin', { cookie });
        assert.equal(aliased.status, 200);
        assert.ok(aliased.body.includes(ADMIN_MARK));
      } finally {
        await p.context().close();
      }
    });

    it('an upper-case Host meets the same rules', async () => {
      const upper = (path, headers = {}) => rawGet({
        port: proxy().port, host: `FILES.TWOFOLD.TEST:${proxy().port}`, path, headers,
      });
      const file = await upper('/static/x');
      assert.equal(file.status, 200, `${file.status} ${file.body.slice(0, 200)}`);
      assert.match(file.body, /Public content/);
      const admin = await upper('/admin', { accept: 'application/json' });
      assert.equal(admin.status, 401);
      assert.ok(!admin.body.includes(ADMIN_MARK));
    });

    it("Twofold's own pages behind the proxy do not answer /api/authz/", async () => {
      const name = uniqueName('authz');
      const p = await page();
      try {
        await signUp(p, name);
        const cookie = await cookieHeader(p);
        const own = (path, headers = {}) => at(proxy(), 'auth', path, { cookie, ...headers });
        const health = await own('/healthz');
        assert.equal(health.status, 200, `Twofold's pages are served: ${health.status} ${health.body.slice(0, 200)}`);
        // Asked from outside, the endpoints would answer for any URL a visitor names.
        const asked = {
          'x-original-url': site(proxy(), 'files', '/admin'),
          'x-forwarded-proto': 'http',
          'x-forwarded-host': `files.twofold.test:${proxy().port}`,
          'x-forwarded-uri': '/admin',
        };
        for (const path of [
          '/api/authz/auth-request', '/api/authz/forward-auth', '/api/authz/forward-auth?x=1',
          '/api/authz%2Fforward-auth', '/api/%61uthz/auth-request', '/api//authz/forward-auth',
        ]) {
          const res = await own(path, asked);
          assert.equal(res.status, 404, `${which} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
          assert.doesNotMatch(res.body, /remote-user|unauthenticated|forbidden/i);
        }
      } finally {
        await p.context().close();
      }
    });
  });
}

describe('nginx, configured as the README says', () => {
  it('a Host naming another site in the rules gets the rules of the site nginx chose', async () => {
    // status.twofold.test is a bypass site in Twofold's rules (Caddy serves it) ...
    const elsewhere = await rawGet({ port: caddy.port, host: `status.twofold.test:${caddy.port}`, path: '/admin' });
    assert.equal(elsewhere.status, 200, 'status.twofold.test is open to everyone');
    // ... but nginx has no server block of that name: its default server, the files site,
    // answers, and Twofold is asked about the files site's URL.
    for (const host of ['status.twofold.test', `status.twofold.test:${nginx.port}`, 'STATUS.twofold.test.', 'public.example']) {
      const script = await rawGet({ port: nginx.port, host, path: '/admin', headers: { accept: 'application/json' } });
      assert.equal(script.status, 401, `Host ${host}: ${script.status} ${script.body.slice(0, 200)}`);
      assert.ok(!script.body.includes(ADMIN_MARK), `Host ${host} opened the admin page`);
      const load = await rawGet({ port: nginx.port, host, path: '/admin', headers: { accept: 'text/html' } });
      assert.equal(load.status, 302, `Host ${host}: ${load.status}`);
      assert.equal(new URL(load.location).searchParams.get('rd'), site(nginx, 'files', '/admin'), 'the checked URL names the files site');
    }
    // The files site's own bypass still applies there.
    const file = await rawGet({ port: nginx.port, host: 'status.twofold.test', path: '/static/x' });
    assert.equal(file.status, 200);
    assert.match(file.body, /Public content/);
  });

  it('the auth-request location is internal', async () => {
    for (const path of ['/internal/twofold', '/internal/twofold?x=1']) {
      const res = await at(nginx, 'files', path, { 'x-original-url': site(nginx, 'files', '/static/x') });
      assert.equal(res.status, 404, `${path}: ${res.status} ${res.body.slice(0, 200)}`);
    }
  });
});

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
