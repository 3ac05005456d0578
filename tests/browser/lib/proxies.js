// Real reverse proxies in front of small sites, for the forward-authentication browser
// tests: Debian's nginx (auth_request) and Caddy (forward_auth), each started in the
// foreground from a generated config in a temporary folder, listening on 127.0.0.1 only,
// with Twofold deciding every request.
//
// The sites: one that echoes what it receives (a test sees the Remote-User the proxy passed
// on), one that reads paths the way a naive application does (it decodes `%2F`, drops `;`
// parameters and resolves `..` before routing, so `/static/..%2Fadmin` is its admin page),
// and a folder of files served by the proxy itself (nginx `root`, Caddy `file_server`).
//
// The configs are the README's "Protecting a site" snippets with the addresses filled in:
// one nginx `server` block per site, the checked URL built from the block's own name
// (plus `:$server_port`, the README's variant for a site off the default port), the
// auth-request location `internal`, Twofold's `400` turned into a `403`; and Twofold's own
// pages served with `/api/authz/` blocked.
//
// run.sh installs nginx and caddy from Debian when missing.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { createServer, request } from 'node:http';
import { freePort } from './harness.js';

export const NGINX_BIN = process.env.NGINX_BIN || '/usr/sbin/nginx';
export const CADDY_BIN = process.env.CADDY_BIN || '/usr/bin/caddy';

/**
 * The protected site: answers every request with a page naming the path, the Remote-User
 * header it got (`#remote-user`) and every header (`#headers`, JSON).
 */
export async function startBackend() {
  const server = createServer((req, res) => {
    const user = req.headers['remote-user'] ?? '';
    const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Protected site</title></head>
<body><main><h1>Protected site</h1>
<p>Path: <code id="path">${esc(req.url)}</code></p>
<p>Remote-User: <code id="remote-user">${esc(user)}</code></p>
<pre id="headers">${esc(JSON.stringify(req.headers))}</pre></main></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { port, stop: () => new Promise((r) => server.close(r)) };
}

/** The admin page of the naive site and of the file folder: what no trick may reach. */
export const ADMIN_MARK = 'ADMIN PAGE';

/**
 * How a naive application or file server reads a path before routing it: percent-decoded
 * once (`%2F` becomes a `/`), `\` read as `/`, `;` parameters dropped (`..;` is `..`, as in
 * Java servers), then `.`/`..` segments and `//` resolved.
 */
export function naivePath(url) {
  let path = url.split('?')[0];
  try { path = decodeURIComponent(path); } catch { /* kept as sent */ }
  path = path.replace(/\\/g, '/').split('/').map((segment) => segment.split(';')[0]).join('/');
  return posix.normalize(path);
}

/**
 * A protected site that decodes paths as naivePath does: `/admin` (and anything under it)
 * is the secret admin page, `/static/…` public content, anything else 404. Each page names
 * the path as sent (`#raw-path`) and the Remote-User it got (`#remote-user`).
 */
export async function startNaiveSite() {
  const server = createServer((req, res) => {
    const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const path = naivePath(req.url);
    let status = 200; let title; let text;
    if (path === '/admin' || path.startsWith('/admin/')) {
      title = 'Admin'; text = `${ADMIN_MARK}: every account's secrets`;
    } else if (path.startsWith('/static/')) {
      title = 'Public file'; text = 'Public content, for everyone';
    } else {
      status = 404; title = 'Not found'; text = 'No such page';
    }
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><main><h1>${title}</h1><p id="content">${esc(text)}</p>
<p>Path as sent: <code id="raw-path">${esc(req.url)}</code>, read as <code id="path">${esc(path)}</code></p>
<p>Remote-User: <code id="remote-user">${esc(req.headers['remote-user'] ?? '')}</code></p></main></body></html>`;
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { port, stop: () => new Promise((r) => server.close(r)) };
}

/**
 * A folder for a proxy to serve itself (nginx `root`, Caddy `file_server`): `static/x.txt`
 * is public, the file `admin` the admin page. Returns { dir, stop() }.
 */
export function makeSiteFolder() {
  const dir = mkdtempSync(join(tmpdir(), 'twofold-files-'));
  mkdirSync(join(dir, 'static'));
  writeFileSync(join(dir, 'static', 'x.txt'), 'Public content, for everyone\n');
  writeFileSync(join(dir, 'admin'), `<!doctype html><title>Admin</title><h1>${ADMIN_MARK}</h1>\n`);
  return { dir, stop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** One GET to 127.0.0.1:port; resolves to the status, or rejects on a socket error. */
function probe(port, host) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', headers: { host }, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Runs `bin args` until it answers on `port`; resolves to { port, dir, log(), stop() }. */
async function startProxy(name, bin, args, { dir, port, host, timeoutMs = 20_000, env = {} }) {
  const child = spawn(bin, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => { output += c.toString('utf8'); });
  child.stderr.on('data', (c) => { output += c.toString('utf8'); });
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));
  const errorLog = join(dir, 'error.log');
  const log = () => output + (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const { code, signal } = await exit;
      const out = log();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${name} exited early (code ${code}, signal ${signal}):\n${out}`);
    }
    try {
      await probe(port, host);
      return { port, dir, log, stop };
    } catch {
      if (Date.now() > deadline) {
        const out = log();
        await stop();
        throw new Error(`${name} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}


/** What a site serves: a backend on 127.0.0.1 (`backendPort`) or a folder (`root`). */
function nginxContent(site) {
  if (site.root) return `root ${site.root};\n      default_type text/html;`;
  return `proxy_pass http://127.0.0.1:${site.backendPort};`;
}

/**
 * The README's nginx `server` block for one protected site, `twofold` being Twofold's
 * address (http://127.0.0.1:PORT). The checked URL is built from this block's own name
 * (`$server_name`, never the client's Host header), with `:$server_port` since the tests
 * listen off the default port.
 */
export function nginxSiteBlock({ port, twofold, site, defaultServer = false }) {
  return `
  server {
    listen 127.0.0.1:${port}${defaultServer ? ' default_server' : ''};
    server_name ${site.name};

    # Twofold decides every request: the original URL and method, and who asked. The URL
    # names this server block's own site, never the Host header the client sent.
    location = /internal/twofold {
      internal;
      proxy_pass ${twofold}/api/authz/auth-request;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$server_name:$server_port$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
      # A path Twofold will not check answers 400: a refusal (auth_request would make
      # any status but 2xx, 401 and 403 a 500).
      proxy_intercept_errors on;
      error_page 400 = @twofold_refused;
    }

    location / {
      auth_request /internal/twofold;
      # Who Twofold says it is (never what the client sent), and where to send a browser.
      auth_request_set $twofold_user $upstream_http_remote_user;
      auth_request_set $twofold_email $upstream_http_remote_email;
      auth_request_set $twofold_location $upstream_http_location;
      proxy_set_header Remote-User $twofold_user;
      proxy_set_header Remote-Email $twofold_email;
      error_page 401 = @twofold_login;
      error_page 403 = @twofold_forbidden;
      ${nginxContent(site)}
    }

    # A page load is sent to log in; a script gets the 401.
    location @twofold_login {
      if ($twofold_location) { return 302 $twofold_location; }
      return 401;
    }
    location @twofold_forbidden {
      if ($twofold_location) { return 302 $twofold_location; }
      return 403;
    }
    location @twofold_refused { return 403; }
  }
`;
}

/** The README's nginx `server` block for Twofold's own pages: `/api/authz/` stays inside. */
export function nginxTwofoldBlock({ port, twofold, name }) {
  return `
  server {
    listen 127.0.0.1:${port};
    server_name ${name};

    # The forward-auth endpoints answer the proxies over loopback, never a visitor.
    location ^~ /api/authz/ { return 404; }

    location / {
      proxy_pass ${twofold};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
`;
}

/**
 * nginx on one port: a server block per protected site (`sites`, each
 * { name, backendPort } or { name, root }; the first is the default server, as the only
 * or main site of a machine often is) and Twofold's own pages at `authName`, asking
 * Twofold (at `twofold`, e.g. http://127.0.0.1:PORT) about each request.
 */
export async function startNginx({ twofold, sites, authName }) {
  if (!existsSync(NGINX_BIN)) throw new Error(`nginx not found at ${NGINX_BIN} (apt-get install -y nginx)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'twofold-nginx-'));
  const servers = sites.map((site, i) => nginxSiteBlock({ port, twofold, site, defaultServer: i === 0 })).join('');
  const conf = `
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${servers}${nginxTwofoldBlock({ port, twofold, name: authName })}}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proxy = await startProxy('nginx', NGINX_BIN, [
    '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'),
    '-g', 'daemon off; master_process off;',
  ], { dir, port, host: sites[0].name });
  return { ...proxy, name: 'nginx', conf };
}

/** What a Caddy site serves: a backend (`backendPort`) or a folder (`root`). */
function caddyContent(site) {
  if (site.root) return `root * ${site.root}\n    file_server`;
  return `reverse_proxy 127.0.0.1:${site.backendPort}         # the site`;
}

/**
 * Caddy on one port: the README's site block for each protected site (`sites`, each
 * { name, backendPort } or { name, root }; `name` may be `*.twofold.test`) and Twofold's
 * own pages at `authName` with `/api/authz/` blocked, asking Twofold's
 * `/api/authz/forward-auth` (at `twofold`, host:port) about each request.
 */
export async function startCaddy({ twofold, sites, authName }) {
  if (!existsSync(CADDY_BIN)) throw new Error(`caddy not found at ${CADDY_BIN} (apt-get install -y caddy)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'twofold-caddy-'));
  const upstream = new URL(twofold).host;
  const blocks = sites.map((site) => `
http://${site.name}:${port} {
  bind 127.0.0.1
  route {
    # Only Twofold names the user: a Remote-User the client sent is dropped first.
    request_header -Remote-User
    request_header -Remote-Email
    forward_auth ${upstream} {
      uri /api/authz/forward-auth
      copy_headers Remote-User Remote-Email
    }
    ${caddyContent(site)}
  }
}
`).join('');
  const conf = `{
  admin off
  auto_https off
  storage file_system ${dir}/data
}

# Twofold's own pages: the forward-auth endpoints answer the proxies, never a visitor.
http://${authName}:${port} {
  bind 127.0.0.1
  respond /api/authz/* 404
  reverse_proxy ${upstream}
}
${blocks}`;
  writeFileSync(join(dir, 'Caddyfile'), conf);
  const first = sites.find((s) => !s.name.includes('*')) ?? { name: authName };
  const proxy = await startProxy('caddy', CADDY_BIN, [
    'run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile',
  ], { dir, port, host: first.name, env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  return { ...proxy, name: 'caddy', conf };
}
