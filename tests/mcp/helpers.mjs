// Test helpers: a real `tock serve` on a free loopback port with a fresh SQLite
// database, a registered user with an API token, and raw JSON-RPC helpers for
// the cases the SDK client cannot produce (other protocol versions, bad input).
// TOCK_BIN selects the binary (default: build-asan/tock).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOCK_BIN = process.env.TOCK_BIN || join(ROOT, 'build-asan', 'tock');
export const JWT_SECRET = 'mcp-test-secret-0123456789abcdef0123456789abcdef';
export const SAN_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=99',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=98',
};

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value or the deadline passes. */
export async function until(fn, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function sanitizerClean(stderr) {
  for (const bad of ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'])
    if (stderr.includes(bad)) throw new Error(`sanitizer report:\n${stderr.slice(-4000)}`);
}

/** Starts `tock serve`; returns {url, dir, db, env, stop()}. */
export async function startServer(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tock-mcp-'));
  const port = await freePort();
  const db = `sqlite:${join(dir, 'tock.db')}`;
  const env = {
    ...process.env, ...SAN_ENV, TOCK_DB: db, TOCK_JWT_SECRET: JWT_SECRET,
    TOCK_LISTEN: `127.0.0.1:${port}`, TOCK_ACCESS_LOG: 'false', ...extraEnv,
  };
  const proc = spawn(TOCK_BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`tock exited: ${stderr}`);
    return (await fetch(`${url}/healthz`)).ok;
  }, 'tock serve to become healthy');
  return {
    url, dir, db, port,
    env: { TOCK_DB: db, TOCK_JWT_SECRET: JWT_SECRET },
    async stop() {
      proc.kill('SIGTERM');
      const code = await exited;
      sanitizerClean(stderr);
      if (code !== 0) throw new Error(`tock serve exited ${code}: ${stderr.slice(-4000)}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers a user and creates an API token; returns {email, jwt, token, user}. */
export async function newUser(server) {
  const email = `mcp-${randomUUID().slice(0, 12)}@example.com`;
  let r = await fetch(`${server.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery', timezone: 'Europe/Paris' }),
  });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${await r.text()}`);
  const reg = await r.json();
  r = await fetch(`${server.url}/api/v1/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${reg.token}` },
    body: JSON.stringify({ name: 'mcp test' }),
  });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${await r.text()}`);
  const tok = await r.json();
  return { email, jwt: reg.token, token: tok.token, user: reg.user };
}

/** A REST call as that user. */
export async function rest(server, user, method, path, body) {
  const headers = { Authorization: `Bearer ${user.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${server.url}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/**
 * Runs `tock mcp` as a child speaking raw newline-delimited JSON-RPC:
 * send(obj|string) writes one line; next() resolves with the next stdout line
 * parsed; close() ends stdin and resolves with {code, stderr, stdout}.
 */
export function rawStdio(args, env) {
  const proc = spawn(TOCK_BIN, ['mcp', ...args], {
    env: { PATH: process.env.PATH, ...SAN_ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '', stderr = '', all = '';
  const waiters = [];
  const lines = [];
  proc.stdout.on('data', (d) => {
    out += d;
    all += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, i));
      out = out.slice(i + 1);
    }
    while (waiters.length && lines.length) waiters.shift()(lines.shift());
  });
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  return {
    send(msg) { proc.stdin.write((typeof msg === 'string' ? msg : JSON.stringify(msg)) + '\n'); },
    next() {
      if (lines.length) return Promise.resolve(JSON.parse(lines.shift()));
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no reply; stderr: ${stderr}`)), 30000);
        waiters.push((l) => { clearTimeout(t); res(JSON.parse(l)); });
      });
    },
    async close() {
      proc.stdin.end();
      const code = await exited;
      return { code, stderr, stdout: all };
    },
  };
}

/** One raw POST /mcp; returns {status, headers, body (parsed or null)}. */
export async function mcpPost(server, { token, session, version, origin, body, accept } = {}) {
  const headers = { 'Content-Type': 'application/json',
    Accept: accept ?? 'application/json, text/event-stream' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (session) headers['Mcp-Session-Id'] = session;
  if (version) headers['MCP-Protocol-Version'] = version;
  if (origin) headers.Origin = origin;
  const r = await fetch(`${server.url}/mcp`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

export const initMsg = (version, id = 1) => ({
  jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export { readFileSync };
