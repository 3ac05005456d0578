// Real reverse proxies in front of a tiny site, for the forward-authentication browser
// tests: Debian's nginx (auth_request) and Caddy (forward_auth), each started in the
// foreground from a generated config in a temporary folder, listening on 127.0.0.1 only,
// with Twofold deciding every request. The site echoes what it receives, so a test can see
// the Remote-User the proxy passed on.
//
// The configs are the README's "Protecting a site" snippets with the addresses filled in.
//
// run.sh installs nginx and caddy from Debian when missing.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * nginx in front of the backend for every `*.twofold.test` name, asking Twofold's
 * `/api/authz/auth-request` (at `twofold`, e.g. http://127.0.0.1:PORT) about each request.
 */
export async function startNginx({ twofold, backendPort }) {
  if (!existsSync(NGINX_BIN)) throw new Error(`nginx not found at ${NGINX_BIN} (apt-get install -y nginx)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'twofold-nginx-'));
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

  server {
    listen 127.0.0.1:${port};
    server_name .twofold.test;

    # Twofold decides every request: the original URL and method, and who asked.
    location = /internal/twofold {
      internal;
      proxy_pass ${twofold}/api/authz/auth-request;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
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
      proxy_pass http://127.0.0.1:${backendPort};
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
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proxy = await startProxy('nginx', NGINX_BIN, [
    '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'),
    '-g', 'daemon off; master_process off;',
  ], { dir, port, host: 'app.twofold.test' });
  return { ...proxy, name: 'nginx', conf };
}

/**
 * Caddy in front of the backend for every `*.twofold.test` name, asking Twofold's
 * `/api/authz/forward-auth` (at `twofold`, host:port) about each request.
 */
export async function startCaddy({ twofold, backendPort }) {
  if (!existsSync(CADDY_BIN)) throw new Error(`caddy not found at ${CADDY_BIN} (apt-get install -y caddy)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'twofold-caddy-'));
  const upstream = new URL(twofold).host;
  const conf = `{
  admin off
  auto_https off
  storage file_system ${dir}/data
}

http://*.twofold.test:${port} {
  bind 127.0.0.1
  route {
    # Only Twofold names the user: a Remote-User the client sent is dropped first.
    request_header -Remote-User
    request_header -Remote-Email
    forward_auth ${upstream} {
      uri /api/authz/forward-auth
      copy_headers Remote-User Remote-Email
    }
    reverse_proxy 127.0.0.1:${backendPort}
  }
}
`;
  writeFileSync(join(dir, 'Caddyfile'), conf);
  const proxy = await startProxy('caddy', CADDY_BIN, [
    'run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile',
  ], { dir, port, host: 'app.twofold.test', env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  return { ...proxy, name: 'caddy', conf };
}
