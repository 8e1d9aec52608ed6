// The checks both transports share: tools/list and every tool called through the
// official SDK client (which validates each structuredContent against the tool's
// outputSchema), cross-checked over the REST API (same services, same events),
// plus the error cases.
import assert from 'node:assert/strict';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { rest } from './helpers.mjs';

export const TOOLS = ['add_task', 'get_task', 'list_tasks', 'update_task', 'complete_task',
  'reopen_task', 'delete_task', 'list_tags', 'stop_recurrence', 'set_reminder',
  'cancel_reminder', 'list_reminders'];
const READ_ONLY = new Set(['get_task', 'list_tasks', 'list_tags', 'list_reminders']);

export async function checkToolList(client) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of TOOLS) assert.ok(names.includes(n), `tool ${n} is listed`);
  for (const t of tools) {
    assert.equal(t.inputSchema.type, 'object', t.name);
    assert.equal(t.outputSchema?.type, 'object', t.name);
    assert.equal(typeof t.title, 'string');
    assert.ok(t.description.length > 20, t.name);
    const a = t.annotations;
    assert.equal(typeof a.readOnlyHint, 'boolean', t.name);
    assert.equal(typeof a.destructiveHint, 'boolean', t.name);
    assert.equal(typeof a.idempotentHint, 'boolean', t.name);
    assert.equal(a.readOnlyHint, READ_ONLY.has(t.name), t.name);
  }
  assert.equal(tools.find((t) => t.name === 'delete_task').annotations.destructiveHint, true);
  assert.deepEqual(tools.find((t) => t.name === 'add_task').inputSchema.required, ['title']);
  return tools;
}

/** Calls a tool that must succeed; checks the text block carries the same JSON. */
export async function ok(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, false, `${name}: ${JSON.stringify(r.content)}`);
  assert.equal(r.content.length, 1);
  assert.equal(r.content[0].type, 'text');
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return r.structuredContent;
}

/** Calls a tool that must fail as a tool result (isError), not a protocol error. */
export async function fails(client, name, args, code, field) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r)}`);
  assert.equal(r.structuredContent, undefined);
  const err = JSON.parse(r.content[0].text).error;
  assert.equal(err.code, code, JSON.stringify(err));
  if (field !== undefined) assert.equal(err.field, field, JSON.stringify(err));
  assert.ok(err.message.length > 0);
  return err;
}

export async function rpcError(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof McpError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

export async function exerciseTools(client, server, user) {
  await checkToolList(client);

  const t = await ok(client, 'add_task', {
    title: 'Pay rent', due: '2031-01-01T09:00', tags: ['Home', 'bills'], priority: 'high',
    description: 'to the landlord', recurrence: { rrule: 'FREQ=MONTHLY', recur_from: 'due' },
  });
  assert.equal(t.title, 'Pay rent');
  assert.equal(t.timezone, 'Europe/Paris');
  assert.deepEqual(t.tags, ['bills', 'home']);
  assert.equal(t.recurrence.rrule, 'FREQ=MONTHLY');
  // The same task through REST, and the same event the REST API emits.
  let r = await rest(server, user, 'GET', `/api/v1/tasks/${t.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.title, 'Pay rent');
  r = await rest(server, user, 'GET', `/api/v1/tasks/${t.id}/history`);
  assert.deepEqual(r.body.items.map((e) => e.type), ['task.created']);

  const milk = await ok(client, 'add_task', { title: 'Buy milk', tags: ['shop'] });
  assert.equal(milk.due, null);

  assert.equal((await ok(client, 'get_task', { id: t.id })).id, t.id);

  let l = await ok(client, 'list_tasks', { q: 'mil' });
  assert.deepEqual(l.items.map((x) => x.id), [milk.id]);
  l = await ok(client, 'list_tasks', {
    tags: ['home', 'shop'], tag_mode: 'any', status: ['todo'], priority: ['high', 'none'],
    sort: ['priority:desc', 'title:asc'], due_after: '2020-01-01', has_due: true,
    recurring: true, overdue: false,
  });
  assert.deepEqual(l.items.map((x) => x.id), [t.id]);
  l = await ok(client, 'list_tasks', { sort: ['title:asc'], limit: 1 });
  assert.equal(l.items[0].id, milk.id);
  assert.equal(typeof l.next_cursor, 'string');
  l = await ok(client, 'list_tasks', { sort: ['title:asc'], limit: 1, cursor: l.next_cursor });
  assert.equal(l.items[0].id, t.id);
  assert.equal(l.next_cursor, null);
  l = await ok(client, 'list_tasks', { series_id: t.series_id, due_before: '2031-01-01' });
  assert.deepEqual(l.items.map((x) => x.id), [t.id]);

  const u = await ok(client, 'update_task', {
    id: t.id, expected_version: t.version, title: 'Pay the rent', description: null,
  });
  assert.equal(u.title, 'Pay the rent');
  assert.equal(u.description, '');
  assert.equal(u.version, t.version + 1);
  await fails(client, 'update_task', { id: t.id, expected_version: t.version, title: 'x' },
    'precondition_failed', 'expected_version');

  const tags = await ok(client, 'list_tags', {});
  assert.deepEqual(tags.items.map((x) => x.name).sort(), ['bills', 'home', 'shop']);
  assert.deepEqual((await ok(client, 'list_tags', { prefix: 'ho' })).items.map((x) => x.name),
    ['home']);

  const s = await ok(client, 'stop_recurrence', { id: t.id });
  assert.equal(s.recurrence, null);
  r = await rest(server, user, 'GET', `/api/v1/tasks/${t.id}`);
  assert.equal(r.body.recurrence, null);

  // Reminders: the same rows the REST API shows.
  const rem = await ok(client, 'set_reminder', { task_id: t.id, offset_minutes: 60 });
  assert.equal(rem.kind, 'offset');
  assert.equal(rem.fire_at, '2031-01-01T07:00:00.000Z'); // 09:00 Paris - 1 h
  const rem2 = await ok(client, 'set_reminder', { task_id: t.id, at: '2030-12-31T20:00' });
  assert.equal(rem2.at, '2030-12-31T19:00:00.000Z');
  r = await rest(server, user, 'GET', `/api/v1/tasks/${t.id}/reminders`);
  assert.deepEqual(r.body.items.map((x) => x.id).sort(), [rem.id, rem2.id].sort());
  let rl = await ok(client, 'list_reminders', { task_id: t.id });
  assert.equal(rl.items.length, 2);
  rl = await ok(client, 'list_reminders', { from: '2031-01-01', to: '2031-01-02' });
  assert.deepEqual(rl.items.map((x) => x.id), [rem.id]);
  assert.deepEqual(await ok(client, 'cancel_reminder', { reminder_id: rem2.id }),
    { id: rem2.id, cancelled: true });
  assert.equal((await rest(server, user, 'GET', `/api/v1/reminders/${rem2.id}`)).status, 404);
  await fails(client, 'cancel_reminder', { reminder_id: rem2.id }, 'not_found');
  await fails(client, 'set_reminder', { task_id: t.id }, 'invalid_argument', 'offset_minutes');
  await fails(client, 'set_reminder', { task_id: t.id, at: '2001-01-01T00:00' },
    'invalid_argument', 'at');
  await fails(client, 'set_reminder', { task_id: '999999', offset_minutes: 5 }, 'not_found');
  await fails(client, 'list_reminders', { to: 'someday' }, 'invalid_argument', 'to');

  const c = await ok(client, 'complete_task', { id: milk.id });
  assert.equal(c.status, 'done');
  assert.equal((await rest(server, user, 'GET', `/api/v1/tasks/${milk.id}`)).body.status, 'done');
  const o = await ok(client, 'reopen_task', { id: milk.id, expected_version: c.version });
  assert.equal(o.status, 'todo');

  const d = await ok(client, 'delete_task', { id: milk.id });
  assert.deepEqual(d, { id: milk.id, deleted: true });
  assert.equal((await rest(server, user, 'GET', `/api/v1/tasks/${milk.id}`)).status, 404);

  // Validation and business errors are tool results with isError.
  await fails(client, 'add_task', {}, 'invalid_argument', 'title');
  await fails(client, 'add_task', { title: 'x', priority: 'p1' }, 'invalid_argument', 'priority');
  await fails(client, 'add_task', { title: 'x', colour: 'red' }, 'invalid_argument', 'colour');
  await fails(client, 'add_task', { title: 'x', tags: ['ok', 3] }, 'invalid_argument', 'tags[1]');
  await fails(client, 'add_task', { title: 'x', due: '2031-02-30' }, 'invalid_argument', 'due');
  await fails(client, 'add_task', { title: 'x', recurrence: { rrule: 'FREQ=DAILY' } },
    'invalid_argument', 'recurrence');
  await fails(client, 'list_tasks', { limit: 500 }, 'invalid_argument', 'limit');
  await fails(client, 'list_tasks', { sort: ['rank:desc'] }, 'invalid_argument', 'sort');
  await fails(client, 'list_tasks', { cursor: 'nope' }, 'invalid_argument', 'cursor');
  await fails(client, 'get_task', { id: milk.id }, 'not_found');
  await fails(client, 'complete_task', { id: '999999' }, 'not_found');
  await fails(client, 'update_task', { id: t.id }, 'invalid_argument');

  // Unknown tools and malformed params are JSON-RPC errors.
  await rpcError(client.callTool({ name: 'no_such_tool', arguments: {} }), -32602);
  await rpcError(client.request({ method: 'tools/call', params: { name: 42 } },
    CallToolResultSchema), -32602);
  await rpcError(client.request({ method: 'tools/call',
    params: { name: 'list_tags', arguments: [1] } }, CallToolResultSchema), -32602);
  await rpcError(client.request({ method: 'prompts/list', params: {} }, CallToolResultSchema),
    -32601);
  // The session still works after errors.
  await client.ping();
  return t;
}
