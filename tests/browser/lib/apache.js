// A real OpenID Connect relying party for the browser tests: Debian's Apache httpd with
// mod_auth_openidc, started in the foreground from a generated config in a temporary
// folder (its own ServerRoot, PidFile, ErrorLog), listening on 127.0.0.1 only. It protects
// /protected/; /protected/claims is a CGI script that prints the OIDC_CLAIM_* variables
// mod_auth_openidc sets from the ID token and userinfo, and REMOTE_USER.
//
// run.sh installs apache2 and libapache2-mod-auth-openidc from Debian when missing.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { freePort } from './harness.js';

export const APACHE_BIN = process.env.APACHE_BIN || '/usr/sbin/apache2';
export const APACHE_MODULES = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';

const MODULES = [
  ['mpm_prefork_module', 'mod_mpm_prefork.so'],
  ['authn_core_module', 'mod_authn_core.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['authz_user_module', 'mod_authz_user.so'],
  ['alias_module', 'mod_alias.so'],
  ['cgi_module', 'mod_cgi.so'],
  ['auth_openidc_module', 'mod_auth_openidc.so'],
];

// Prints what mod_auth_openidc handed over: one `NAME=value` line per claim variable, sorted.
const CLAIMS_CGI = `#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\\r\\nCache-Control: no-store\\r\\n\\r\\n'
printf 'REMOTE_USER=%s\\n' "$REMOTE_USER"
env | grep '^OIDC_CLAIM_' | LC_ALL=C sort
`;

/** One GET to 127.0.0.1:port; resolves to the status code, or rejects on a socket error. */
function probe(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The port an Apache for this test will listen on, chosen before its client is registered
 * (the redirect URI names it). Resolves to { port, origin, redirectUri, claimsUrl }.
 */
export async function apacheAddress() {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    redirectUri: `${origin}/protected/redirect_uri`,
    claimsUrl: `${origin}/protected/claims`,
  };
}

/**
 * Starts Apache with mod_auth_openidc as the relying party of `issuer` (Twofold's URL) for
 * the client `clientId`/`clientSecret`, on `address` (from apacheAddress()). `scope` is
 * what it asks for. Resolves to { ...address, dir, log(), stop() }.
 */
export async function startApache({ address, issuer, clientId, clientSecret, scope = 'openid profile', timeoutMs = 20_000 }) {
  if (!existsSync(APACHE_BIN) || !existsSync(join(APACHE_MODULES, 'mod_auth_openidc.so'))) {
    throw new Error(`Apache with mod_auth_openidc not found (${APACHE_BIN}); apt-get install -y apache2 libapache2-mod-auth-openidc`);
  }
  const { port, redirectUri } = address;
  const dir = mkdtempSync(join(tmpdir(), 'twofold-apache-'));
  const asRoot = userInfo().uid === 0;
  // As root, Apache's children drop to www-data: they must be able to read the folder and
  // run the script.
  chmodSync(dir, 0o755);
  const cgi = join(dir, 'claims.cgi');
  writeFileSync(cgi, CLAIMS_CGI);
  chmodSync(cgi, 0o755);

  const conf = [
    `ServerRoot "${dir}"`,
    `DefaultRuntimeDir "${dir}"`,
    `PidFile "${dir}/apache.pid"`,
    `ErrorLog "${dir}/error.log"`,
    'LogLevel warn auth_openidc:info',
    `Mutex file:${dir} default`,
    `Listen 127.0.0.1:${port}`,
    `ServerName 127.0.0.1:${port}`,
    ...MODULES.map(([name, file]) => `LoadModule ${name} ${join(APACHE_MODULES, file)}`),
    ...(asRoot ? ['User www-data', 'Group www-data'] : []),
    'StartServers 2',
    'MinSpareServers 1',
    'MaxSpareServers 4',
    'MaxRequestWorkers 8',
    'KeepAlive Off',
    'Timeout 20',
    `DocumentRoot "${dir}"`,
    '<Directory />',
    '  AllowOverride None',
    '  Require all denied',
    '</Directory>',
    `ScriptAlias /protected/claims "${cgi}"`,
    `<Directory "${dir}">`,
    '  Require all granted',
    '</Directory>',
    '',
    `OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration`,
    `OIDCClientID ${clientId}`,
    `OIDCClientSecret ${clientSecret}`,
    `OIDCRedirectURI ${redirectUri}`,
    `OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}`,
    `OIDCScope "${scope}"`,
    'OIDCRemoteUserClaim preferred_username',
    'OIDCPKCEMethod S256',
    'OIDCProviderTokenEndpointAuth client_secret_basic',
    'OIDCPassClaimsAs environment',
    'OIDCHTTPTimeoutLong 10',
    'OIDCHTTPTimeoutShort 5',
    '<Location /protected/>',
    '  AuthType openid-connect',
    '  Require valid-user',
    '</Location>',
    '',
  ].join('\n');
  const confFile = join(dir, 'apache2.conf');
  writeFileSync(confFile, conf);

  const env = { PATH: process.env.PATH, LANG: 'C' };
  const child = spawn(APACHE_BIN, ['-f', confFile, '-DFOREGROUND'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the children go with it
  });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  let exited = false;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }); });
  });
  const killGroup = (sig) => {
    try { process.kill(-child.pid, sig); } catch { /* gone */ }
  };
  const errorLog = () => {
    try { return readFileSync(join(dir, 'error.log'), 'utf8'); } catch { return ''; }
  };
  const log = () => `${output}${errorLog()}`;
  const emergency = () => { if (!exited) killGroup('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
  process.on('exit', emergency);

  // Up when it answers; /health is not protected (denied: 403) and touches no provider.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      emergency();
      throw new Error(`apache2 exited at start:\n${log()}\n--- config ---\n${conf}`);
    }
    try {
      const status = await probe(port, '/health');
      if (status) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      emergency();
      throw new Error(`apache2 did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    ...address,
    clientId,
    dir,
    log,
    async stop() {
      if (!exited) {
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      // Children that outlived the parent.
      killGroup('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      process.off('exit', emergency);
    },
  };
}

/** The `NAME=value` lines of the claims page as an object. */
export function parseClaims(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
