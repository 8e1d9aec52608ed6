// POST/DELETE /mcp (Streamable HTTP) on a real `tock serve`, driven by the
// official SDK client (StreamableHTTPClientTransport with a bearer token) and by
// raw fetch for the HTTP rules: sessions, protocol version header, GET 405,
// DELETE, Origin, authentication.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initMsg, mcpPost, newUser, startServer } from './helpers.mjs';
import { exerciseTools } from './suite.mjs';

let server, user, other;
before(async () => {
  server = await startServer({ TOCK_MCP_ALLOWED_ORIGINS: 'https://app.example.com' });
  user = await newUser(server);
  other = await newUser(server);
});
after(async () => { await server?.stop(); });

async function sdkClient(token) {
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'tock-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** A fresh raw session: its id. */
async function rawSession(token = user.token, version = '2025-11-25') {
  const r = await mcpPost(server, { token, body: initMsg(version) });
  assert.equal(r.status, 200);
  const sid = r.headers.get('mcp-session-id');
  assert.match(sid, /^[0-9a-f]{64}$/);
  return sid;
}

const ping = (id = 2) => ({ jsonrpc: '2.0', id, method: 'ping' });

describe('MCP over Streamable HTTP', () => {
  it('serves every tool to the SDK client in a session', async () => {
    const { client, transport } = await sdkClient(user.token);
    assert.match(transport.sessionId, /^[0-9a-f]{64}$/);
    assert.equal(transport.protocolVersion, '2025-11-25');
    await exerciseTools(client, server, user);
    // DELETE ends the session; then the id is unknown (404).
    const sid = transport.sessionId;
    await transport.terminateSession();
    const r = await mcpPost(server, { token: user.token, session: sid, body: ping() });
    assert.equal(r.status, 404);
    await client.close();
  });

  it('works with an API token and a JWT alike', async () => {
    for (const token of [user.token, user.jwt]) {
      const { client } = await sdkClient(token);
      const { tools } = await client.listTools();
      assert.ok(tools.length >= 9);
      await client.close();
    }
  });

  it('negotiates the protocol version and checks the header', async () => {
    for (const v of ['2025-11-25', '2025-06-18', '2025-03-26']) {
      const r = await mcpPost(server, { token: user.token, body: initMsg(v) });
      assert.equal(r.status, 200);
      assert.equal(r.body.result.protocolVersion, v);
      assert.ok(r.headers.get('content-type').startsWith('application/json'));
      const sid = r.headers.get('mcp-session-id');
      const p = await mcpPost(server, { token: user.token, session: sid, version: v, body: ping() });
      assert.equal(p.status, 200);
      assert.deepEqual(p.body, { jsonrpc: '2.0', id: 2, result: {} });
    }
    const r = await mcpPost(server, { token: user.token, body: initMsg('2023-01-01') });
    assert.equal(r.body.result.protocolVersion, '2025-11-25');
    const sid = await rawSession();
    const bad = await mcpPost(server, { token: user.token, session: sid, version: '2099-01-01',
      body: ping() });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /MCP-Protocol-Version/);
    // Without the header the server assumes a revision it speaks (2025-03-26).
    assert.equal((await mcpPost(server, { token: user.token, session: sid, body: ping() })).status,
      200);
  });

  it('requires a known session of the same user after initialize', async () => {
    let r = await mcpPost(server, { token: user.token, body: ping() });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /Mcp-Session-Id/);
    r = await mcpPost(server, { token: user.token, session: 'f'.repeat(64), body: ping() });
    assert.equal(r.status, 404);
    r = await mcpPost(server, { token: user.token, session: 'not-a-session', body: ping() });
    assert.equal(r.status, 404);
    const sid = await rawSession();
    r = await mcpPost(server, { token: other.token, session: sid, body: ping() });
    assert.equal(r.status, 404, 'another user cannot use the session');
    r = await mcpPost(server, { token: user.token, session: sid,
      body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    assert.equal(r.status, 202);
    assert.equal(r.body, null);
    r = await mcpPost(server, { token: user.token, session: sid,
      body: { jsonrpc: '2.0', id: 3, method: 'tools/list' } });
    assert.equal(r.status, 200);
    assert.ok(r.body.result.tools.every((t) => t.inputSchema && t.outputSchema && t.annotations));
  });

  it('rejects malformed messages', async () => {
    const sid = await rawSession();
    let r = await mcpPost(server, { token: user.token, session: sid, body: '{"jsonrpc":' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, -32700);
    r = await mcpPost(server, { token: user.token, session: sid, body: [ping(1), ping(2)] });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, -32600);
    r = await mcpPost(server, { token: user.token, session: sid, body: { id: 1, method: 'ping' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, -32600);
    r = await mcpPost(server, { token: user.token, session: sid, accept: 'text/html',
      body: ping() });
    assert.equal(r.status, 406);
  });

  it('answers GET with 405 and DELETE ends a session once', async () => {
    let r = await fetch(`${server.url}/mcp`, { headers: { Authorization: `Bearer ${user.token}`,
      Accept: 'text/event-stream' } });
    assert.equal(r.status, 405);
    assert.match(r.headers.get('allow'), /POST/);
    const sid = await rawSession();
    const del = (token, session) => fetch(`${server.url}/mcp`, { method: 'DELETE',
      headers: { Authorization: `Bearer ${token}`, ...(session ? { 'Mcp-Session-Id': session } : {}) } });
    assert.equal((await del(user.token)).status, 400);
    assert.equal((await del(other.token, sid)).status, 404, 'not another user\'s session');
    assert.equal((await del(user.token, sid)).status, 204);
    assert.equal((await del(user.token, sid)).status, 404);
    r = await mcpPost(server, { token: user.token, session: sid, body: ping() });
    assert.equal(r.status, 404);
  });

  it('checks Origin', async () => {
    let r = await mcpPost(server, { token: user.token, origin: 'https://evil.example',
      body: initMsg('2025-11-25') });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('mcp-session-id'), null);
    r = await mcpPost(server, { token: user.token, origin: 'null', body: initMsg('2025-11-25') });
    assert.equal(r.status, 403);
    for (const origin of [`http://127.0.0.1:${server.port}`, 'https://app.example.com']) {
      r = await mcpPost(server, { token: user.token, origin, body: initMsg('2025-11-25') });
      assert.equal(r.status, 200, origin);
    }
    const sid = await rawSession();
    r = await fetch(`${server.url}/mcp`, { method: 'DELETE', headers: {
      Authorization: `Bearer ${user.token}`, 'Mcp-Session-Id': sid, Origin: 'http://evil' } });
    assert.equal(r.status, 403);
  });

  it('requires a bearer token', async () => {
    for (const token of [undefined, 'tock_invalid', user.jwt + 'x']) {
      const r = await mcpPost(server, { token, body: initMsg('2025-11-25') });
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /^Bearer/);
      assert.equal(r.headers.get('mcp-session-id'), null);
    }
    const sid = await rawSession();
    const r = await mcpPost(server, { session: sid, body: ping() });
    assert.equal(r.status, 401);
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
    const client = new Client({ name: 'anon', version: '1' });
    await assert.rejects(client.connect(transport));
  });
});
