// `tock mcp` over stdio, driven by the official SDK client (StdioClientTransport)
// and by raw newline-delimited JSON-RPC for what the SDK cannot send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SAN_ENV, TOCK_BIN, initMsg, newUser, rawStdio, sanitizerClean, startServer }
  from './helpers.mjs';
import { exerciseTools } from './suite.mjs';

// exerciseTools expects a user without tasks: each use takes a fresh one.

let server, user;
before(async () => {
  server = await startServer();
  user = await newUser(server);
});
after(async () => { await server?.stop(); });

async function sdkClient(env, args = []) {
  const transport = new StdioClientTransport({
    command: TOCK_BIN, args: ['mcp', ...args], env: { ...SAN_ENV, ...env }, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'tock-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

describe('tock mcp over stdio', () => {
  it('serves every tool to the SDK client, acting as TOCK_TOKEN\'s user', async () => {
    const { client, stderr } = await sdkClient({ ...server.env, TOCK_TOKEN: user.token });
    assert.equal(client.getServerVersion().name, 'tock');
    assert.deepEqual(client.getServerCapabilities().tools, { listChanged: false });
    assert.ok(client.getInstructions().includes('list_tasks'));
    await exerciseTools(client, server, user);
    await client.close();
    sanitizerClean(stderr());
  });

  it('accepts a JWT as TOCK_TOKEN and --user EMAIL', async () => {
    for (const [env, args] of [[{ TOCK_TOKEN: user.jwt }, []], [{}, ['--user', user.email]]]) {
      const { client } = await sdkClient({ ...server.env, ...env }, args);
      const t = (await client.callTool({ name: 'add_task', arguments: { title: 'via ' + args } }))
        .structuredContent;
      const { items } = (await client.callTool({ name: 'list_tasks', arguments: { q: 'via' } }))
        .structuredContent;
      assert.ok(items.some((x) => x.id === t.id));
      await client.close();
    }
  });

  it('forwards every tool to a running server with TOCK_URL (no database)', async () => {
    const fresh = await newUser(server);
    const { client, stderr } = await sdkClient({ TOCK_URL: server.url, TOCK_TOKEN: fresh.token });
    await exerciseTools(client, server, fresh);
    await client.close();
    sanitizerClean(stderr());
    for (const env of [{ TOCK_URL: server.url, TOCK_TOKEN: 'tock_bogus' },
      { TOCK_URL: server.url }, { TOCK_URL: 'http://127.0.0.1:1', TOCK_TOKEN: user.token },
      { TOCK_URL: 'ftp://x', TOCK_TOKEN: user.token }]) {
      const res = await rawStdio([], env).close();
      assert.notEqual(res.code, 0, JSON.stringify(env));
      assert.equal(res.stdout, '');
      assert.match(res.stderr, /TOCK_TOKEN|TOCK_URL|reach/);
    }
  });

  it('negotiates the protocol version and keeps stdout to protocol lines', async () => {
    const p = rawStdio([], { ...server.env, TOCK_TOKEN: user.token });
    for (const v of ['2025-11-25', '2025-06-18', '2025-03-26']) {
      p.send(initMsg(v, v));
      const r = await p.next();
      assert.equal(r.id, v);
      assert.equal(r.result.protocolVersion, v);
    }
    p.send(initMsg('2024-01-01', 7));
    assert.equal((await p.next()).result.protocolVersion, '2025-11-25');
    p.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    p.send({ jsonrpc: '2.0', id: 8, method: 'ping' });
    assert.deepEqual(await p.next(), { jsonrpc: '2.0', id: 8, result: {} });
    p.send('{"jsonrpc":"2.0","id":9,"method":');
    let r = await p.next();
    assert.equal(r.error.code, -32700);
    assert.equal(r.id, null);
    p.send([{ jsonrpc: '2.0', id: 10, method: 'ping' }]);
    assert.equal((await p.next()).error.code, -32600);
    p.send({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'nope' } });
    r = await p.next();
    assert.equal(r.id, 11);
    assert.equal(r.error.code, -32602);
    p.send({ jsonrpc: '2.0', id: 12, method: 'tools/call',
      params: { name: 'add_task', arguments: { title: 'x', description: 'line\nbreak' } } });
    r = await p.next();
    assert.equal(r.result.isError, false);
    assert.equal(r.result.structuredContent.description, 'line\nbreak');
    p.send('');
    p.send({ jsonrpc: '2.0', id: 13, method: 'ping' });
    assert.equal((await p.next()).id, 13);
    const { code, stderr, stdout } = await p.close();
    assert.equal(code, 0, stderr);
    sanitizerClean(stderr);
    // Every stdout line is one JSON-RPC message; logs went to stderr.
    for (const line of stdout.trim().split('\n')) assert.equal(JSON.parse(line).jsonrpc, '2.0');
    assert.ok(stderr.includes('"level"'), 'logs are on stderr');
  });

  it('requires initialize first', async () => {
    const p = rawStdio([], { ...server.env, TOCK_TOKEN: user.token });
    p.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal((await p.next()).error.code, -32600);
    assert.equal((await p.close()).code, 0);
  });

  it('refuses to start without a valid user', async () => {
    for (const env of [{}, { TOCK_TOKEN: 'tock_bogus' }]) {
      const p = rawStdio(Object.keys(env).length ? [] : [], { ...server.env, ...env });
      const { code, stderr, stdout } = await p.close();
      assert.notEqual(code, 0);
      assert.equal(stdout, '');
      assert.match(stderr, /TOCK_TOKEN|--user/);
    }
    const p = rawStdio(['--user', 'nobody@example.com'], server.env);
    const { code, stderr } = await p.close();
    assert.notEqual(code, 0);
    assert.match(stderr, /no user/);
  });
});
