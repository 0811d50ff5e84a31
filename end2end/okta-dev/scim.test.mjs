// okta-dev's SCIM 2.0 client against a recording SCIM server: every /__dev/scim/* call must
// send exactly the requests (method, path, headers, body, order) Okta's lifecycle management
// sends to a SCIM 2.0 app integration, and report what it sent and got back.
//
//   node --test end2end/okta-dev/scim.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, 'server.mjs');
const TOKEN = 'scim-token-0123456789abcdef';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// --------------------------------------------------------------------------
// A SCIM 2.0 service provider that records every request and answers like one
// (ListResponse for filters, 201 + id on create, 409 on a duplicate userName, PATCH ops applied).
// --------------------------------------------------------------------------

function scimError(res, status, detail) {
  res.writeHead(status, { 'Content-Type': 'application/scim+json' });
  res.end(JSON.stringify({ schemas: [ERROR], status: String(status), detail }));
}

function scimJson(res, status, obj) {
  res.writeHead(status, { 'Content-Type': 'application/scim+json' });
  res.end(JSON.stringify(obj));
}

async function startRecorder() {
  const state = {
    requests: [], users: new Map(), groups: new Map(), seq: 0, hook: null, groupPatchStatus: 204,
  };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const rec = {
      method: req.method, url: req.url, headers: req.headers, body: raw ? JSON.parse(raw) : undefined,
    };
    state.requests.push(rec);
    if (state.hook && (await state.hook(req, res, rec))) return;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      scimError(res, 401, 'bad token');
      return;
    }
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    if (!p.startsWith('/scim/v2/')) {
      scimError(res, 404, 'not a SCIM path');
      return;
    }
    const rest = p.slice('/scim/v2'.length);
    let m;
    if (rest === '/Users' && req.method === 'GET') {
      const f = /^userName eq "(.*)"$/.exec(url.searchParams.get('filter') || '');
      const found = [...state.users.values()].filter((u) => !f || u.userName.toLowerCase() === f[1].toLowerCase());
      scimJson(res, 200, {
        schemas: [LIST], totalResults: found.length, startIndex: 1, itemsPerPage: found.length, Resources: found,
      });
    } else if (rest === '/Users' && req.method === 'POST') {
      if ([...state.users.values()].some((u) => u.userName.toLowerCase() === rec.body.userName.toLowerCase())) {
        scimError(res, 409, 'User already exists in the database.');
        return;
      }
      state.seq += 1;
      const user = { ...rec.body, id: `u-${state.seq}`, meta: { resourceType: 'User' } };
      delete user.password;
      state.users.set(user.id, user);
      scimJson(res, 201, user);
    } else if ((m = /^\/Users\/([^/]+)$/.exec(rest))) {
      const user = state.users.get(decodeURIComponent(m[1]));
      if (!user) {
        scimError(res, 404, 'User not found');
      } else if (req.method === 'GET') {
        scimJson(res, 200, user);
      } else if (req.method === 'PUT') {
        const next = { ...rec.body, id: user.id };
        state.users.set(user.id, next);
        scimJson(res, 200, next);
      } else if (req.method === 'PATCH') {
        for (const op of rec.body.Operations) {
          if (op.op === 'replace' && !op.path) Object.assign(user, op.value);
        }
        scimJson(res, 200, user);
      } else {
        scimError(res, 405, 'method');
      }
    } else if (rest === '/Groups' && req.method === 'POST') {
      state.seq += 1;
      const group = {
        schemas: [GROUP], id: `g-${state.seq}`, displayName: rec.body.displayName, members: [], meta: { resourceType: 'Group' },
      };
      state.groups.set(group.id, group);
      scimJson(res, 201, group);
    } else if ((m = /^\/Groups\/([^/]+)$/.exec(rest))) {
      const group = state.groups.get(decodeURIComponent(m[1]));
      if (!group) {
        scimError(res, 404, 'Group not found');
      } else if (req.method === 'PATCH') {
        for (const op of rec.body.Operations) {
          let r;
          if (op.op === 'add' && op.path === 'members') {
            for (const v of op.value) if (!group.members.some((x) => x.value === v.value)) group.members.push(v);
          } else if (op.op === 'remove' && (r = /^members\[value eq "(.*)"\]$/.exec(op.path))) {
            group.members = group.members.filter((x) => x.value !== r[1]);
          } else if (op.op === 'replace' && !op.path) {
            group.displayName = op.value.displayName;
          }
        }
        if (state.groupPatchStatus === 204) {
          res.writeHead(204);
          res.end();
        } else {
          scimJson(res, 200, group);
        }
      } else if (req.method === 'DELETE') {
        state.groups.delete(group.id);
        res.writeHead(204);
        res.end();
      } else {
        scimError(res, 405, 'method');
      }
    } else {
      scimError(res, 404, 'no such endpoint');
    }
  });
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const base = `http://127.0.0.1:${server.address().port}/scim/v2`;
  return {
    state,
    base,
    /** The requests recorded since the last call (and forgets them). */
    take() {
      const out = state.requests.map((r) => r);
      state.requests = [];
      return out;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// --------------------------------------------------------------------------
// okta-dev as a child process
// --------------------------------------------------------------------------

async function startOktaDev(env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = await new Promise((resolve) => {
    setTimeout(() => resolve(false), 20_000).unref();
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('okta-dev ready ')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    ready,
    child,
    stderr: () => stderr,
    /** The exit code, or 'hung' (and the child is killed) after 10 s. */
    exited: () => new Promise((resolve) => {
      if (child.exitCode !== null) {
        resolve(child.exitCode);
        return;
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 10_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    }),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      child.on('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

let okta;
let peer;

async function dev(p, body, method = 'POST') {
  const res = await fetch(`${okta.origin}${p}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return { status: res.status, json: await res.json() };
}

/** "METHOD path-below-the-base-URL" of recorded requests. */
function lines(recs) {
  return recs.map((r) => `${r.method} ${r.url.slice('/scim/v2'.length)}`);
}

const FILTER = (login) => `/Users?filter=${encodeURIComponent(`userName eq "${login}"`)}&startIndex=1&count=100`;

function profilePatch(login, given, family, display) {
  return {
    schemas: [PATCH],
    Operations: [{
      op: 'replace',
      value: {
        userName: login,
        name: { givenName: given, familyName: family },
        emails: [{ primary: true, value: login, type: 'work' }],
        displayName: display,
      },
    }],
  };
}

const ACTIVE = (active) => ({ schemas: [PATCH], Operations: [{ op: 'replace', value: { active } }] });

before(async () => {
  peer = await startRecorder();
  okta = await startOktaDev();
  assert.ok(okta.ready, `okta-dev did not start: ${okta.stderr()}`);
});

after(async () => {
  await okta?.stop();
  await peer?.close();
});

describe('okta-dev SCIM client', () => {
  test('refuses provisioning until configured, and bad configuration, with 4xx', async () => {
    let r = await dev('/__dev/scim/assign', { user: 'alice' });
    assert.equal(r.status, 409);
    assert.equal(r.json.ok, false);
    assert.match(r.json.error, /not configured/);
    r = await dev('/__dev/scim/config', { base_url: 'ftp://example.com/scim', token: TOKEN });
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/config', { base_url: `${peer.base}?x=1`, token: TOKEN });
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/config', { base_url: peer.base, token: 'has space' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/config', '{not json');
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/config', { base_url: peer.base, token: TOKEN, update_mode: 'post' });
    assert.equal(r.status, 400);
    assert.equal(peer.take().length, 0);
  });

  test('configures base URL and token; the token is never echoed', async () => {
    const r = await dev('/__dev/scim/config', { base_url: `${peer.base}/`, token: TOKEN });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      ok: true, base_url: peer.base, token_set: true, update_mode: 'patch', send_password: false,
    });
    const s = await dev('/__dev/scim/state', undefined, 'GET');
    assert.equal(s.json.base_url, peer.base);
    assert.ok(!JSON.stringify(s.json).includes(TOKEN));
  });

  test('assigning a new user: GET filter, then POST /Users with Okta\'s body and headers', async () => {
    const r = await dev('/__dev/scim/assign', { user: 'alice' });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true, JSON.stringify(r.json));
    const recs = peer.take();
    assert.deepEqual(lines(recs), [
      'GET /Users?filter=userName%20eq%20%22alice%40example.com%22&startIndex=1&count=100',
      'POST /Users',
    ]);
    assert.equal(FILTER('alice@example.com'), recs[0].url.slice('/scim/v2'.length));
    for (const rec of recs) {
      assert.equal(rec.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(rec.headers['user-agent'], 'Okta SCIM Client 1.0.0');
      assert.equal(rec.headers.accept, 'application/scim+json');
    }
    assert.equal(recs[0].headers['content-type'], undefined);
    assert.equal(recs[1].headers['content-type'], 'application/scim+json; charset=utf-8');
    const expected = {
      schemas: [USER],
      userName: 'alice@example.com',
      name: { givenName: 'Alice', familyName: 'Anderson' },
      emails: [{ primary: true, value: 'alice@example.com', type: 'work' }],
      displayName: 'Alice Anderson',
      locale: 'en-US',
      externalId: '00u1alice',
      groups: [],
      active: true,
    };
    assert.deepEqual(recs[1].body, expected);
    // Same attribute order as Okta's request.
    assert.deepEqual(Object.keys(recs[1].body), Object.keys(expected));
    // The answer reports what was sent and received, and the SCIM id is remembered.
    assert.deepEqual(r.json.requests.map((q) => [q.method, q.path, q.status]), [
      ['GET', FILTER('alice@example.com'), 200],
      ['POST', '/Users', 201],
    ]);
    assert.deepEqual(r.json.requests[1].request, expected);
    assert.equal(r.json.requests[1].body.id, 'u-1');
    assert.equal(r.json.scim_id, 'u-1');
    assert.equal(r.json.created, true);
    const users = await dev('/__dev/users', undefined, 'GET');
    assert.equal(users.json.find((u) => u.username === 'alice').assigned, true);
  });

  test('assigning a user the app already has active: link and push the profile (PATCH)', async () => {
    const r = await dev('/__dev/scim/assign', { user: 'alice@example.com' });
    assert.equal(r.json.ok, true);
    const recs = peer.take();
    assert.deepEqual(lines(recs), [`GET ${FILTER('alice@example.com')}`, 'PATCH /Users/u-1']);
    assert.deepEqual(recs[1].body, profilePatch('alice@example.com', 'Alice', 'Anderson', 'Alice Anderson'));
    assert.equal(r.json.created, false);
  });

  test('a profile change is PATCHed as a replace of name, email and userName', async () => {
    const r = await dev('/__dev/scim/profile', { user: 'alice', family_name: 'Archer', email: 'alice.archer@example.com' });
    assert.equal(r.json.ok, true, JSON.stringify(r.json));
    const recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Users/u-1']);
    assert.deepEqual(recs[0].body, profilePatch('alice.archer@example.com', 'Alice', 'Archer', 'Alice Archer'));
    assert.equal(peer.state.users.get('u-1').userName, 'alice.archer@example.com');
  });

  test('unassigning: PATCH active=false without a path, and no more sign-in', async () => {
    const r = await dev('/__dev/scim/unassign', { user: 'alice' });
    assert.equal(r.json.ok, true);
    const recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Users/u-1']);
    assert.deepEqual(recs[0].body, ACTIVE(false));
    assert.equal(recs[0].headers['content-type'], 'application/scim+json; charset=utf-8');
    const users = await dev('/__dev/users', undefined, 'GET');
    assert.equal(users.json.find((u) => u.username === 'alice').assigned, false);
    assert.equal(peer.state.users.get('u-1').active, false);
  });

  test('re-assigning a user the app holds inactive: GET filter, PATCH active=true, profile', async () => {
    const r = await dev('/__dev/scim/assign', { user: 'alice' });
    assert.equal(r.json.ok, true);
    const recs = peer.take();
    assert.deepEqual(lines(recs), [
      `GET ${FILTER('alice.archer@example.com')}`, 'PATCH /Users/u-1', 'PATCH /Users/u-1',
    ]);
    assert.deepEqual(recs[1].body, ACTIVE(true));
    assert.deepEqual(recs[2].body, profilePatch('alice.archer@example.com', 'Alice', 'Archer', 'Alice Archer'));
  });

  test('deactivating the Okta user: PATCH active=false, sessions end, sign-in refused; reactivation', async () => {
    // alice signs in at okta-dev (an Okta session exists) before she is deactivated.
    const first = await signIn('alice');
    assert.match(first.location, /^http:\/\/127\.0\.0\.1:3000\/sso\/callback\?code=/);
    let r = await dev('/__dev/scim/deactivate', { user: 'alice' });
    assert.equal(r.json.ok, true);
    let recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Users/u-1']);
    assert.deepEqual(recs[0].body, ACTIVE(false));
    // The old session no longer signs her in silently, and the password no longer works.
    const again = await authorize(first.jar);
    assert.match(again.location, /^\/interaction\//, 'the session ended: back to the sign-in form');
    const login = await postLogin(again.jar, again.location, 'alice');
    assert.equal(login.status, 200);
    assert.match(login.text, /Unable to sign in/);

    r = await dev('/__dev/scim/reactivate', { user: 'alice' });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Users/u-1']);
    assert.deepEqual(recs[0].body, ACTIVE(true));
    const back = await signIn('alice');
    assert.match(back.location, /\/sso\/callback\?code=/);
  });

  test('a user the app never got: deactivate/profile send nothing', async () => {
    let r = await dev('/__dev/scim/deactivate', { user: 'carol' });
    assert.deepEqual([r.status, r.json.ok, r.json.requests], [200, true, []]);
    r = await dev('/__dev/scim/reactivate', { user: 'carol' });
    assert.deepEqual([r.status, r.json.ok, r.json.requests], [200, true, []]);
    r = await dev('/__dev/scim/profile', { user: 'carol', given_name: 'Caroline' });
    assert.deepEqual([r.status, r.json.ok, r.json.requests], [200, true, []]);
    assert.equal(peer.take().length, 0);
  });

  test('bad input answers 4xx and sends nothing', async () => {
    let r = await dev('/__dev/scim/assign', { user: 'nobody-here' });
    assert.equal(r.status, 404);
    r = await dev('/__dev/scim/assign', {});
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/assign', '[1]');
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/profile', { user: 'alice', email: 'not-an-email' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/groups', { name: 'X', members: 'alice' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/scim/groups', { name: 'X', members: ['ghost'] });
    assert.equal(r.status, 404);
    r = await dev('/__dev/scim/groups/rename', { name: 'never-pushed', new_name: 'Y' });
    assert.equal(r.status, 404);
    r = await dev('/__dev/scim/groups/delete', { name: 'never-pushed' });
    assert.equal(r.status, 404);
    r = await dev('/__dev/scim/nope', {});
    assert.equal(r.status, 404);
    assert.equal(peer.take().length, 0);
  });

  test('Group Push: POST /Groups then PATCH add; update = name PATCH then remove/add; rename; delete', async () => {
    assert.equal((await dev('/__dev/scim/assign', { user: 'bob' })).json.ok, true);
    assert.equal((await dev('/__dev/scim/assign', { user: 'carol' })).json.ok, true);
    peer.take();
    let r = await dev('/__dev/scim/groups', { name: 'Engineering', members: ['alice', 'bob', 'mallory'] });
    assert.equal(r.json.ok, true, JSON.stringify(r.json));
    assert.deepEqual(r.json.skipped, [{ user: 'mallory', reason: 'not assigned to the app' }]);
    let recs = peer.take();
    assert.deepEqual(lines(recs), ['POST /Groups', 'PATCH /Groups/g-4']);
    assert.deepEqual(recs[0].body, { schemas: [GROUP], displayName: 'Engineering', members: [] });
    assert.deepEqual(recs[1].body, {
      schemas: [PATCH],
      Operations: [{
        op: 'add',
        path: 'members',
        value: [
          { value: 'u-1', display: 'alice.archer@example.com' },
          { value: 'u-2', display: 'bob@example.com' },
        ],
      }],
    });
    // Pushing the same members again sends nothing.
    r = await dev('/__dev/scim/groups', { name: 'engineering', members: ['alice', 'bob'] });
    assert.deepEqual([r.json.ok, r.json.requests], [true, []]);
    // Changed members: Okta's name update, then removes and adds in one PATCH.
    r = await dev('/__dev/scim/groups', { name: 'Engineering', members: ['bob', 'carol'] });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Groups/g-4', 'PATCH /Groups/g-4']);
    assert.deepEqual(recs[0].body, {
      schemas: [PATCH], Operations: [{ op: 'replace', value: { id: 'g-4', displayName: 'Engineering' } }],
    });
    assert.deepEqual(recs[1].body, {
      schemas: [PATCH],
      Operations: [
        { op: 'remove', path: 'members[value eq "u-1"]' },
        { op: 'add', path: 'members', value: [{ value: 'u-3', display: 'carol@example.com' }] },
      ],
    });
    assert.deepEqual(peer.state.groups.get('g-4').members.map((m) => m.value), ['u-2', 'u-3']);
    r = await dev('/__dev/scim/groups/rename', { name: 'Engineering', new_name: 'Platform' });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), ['PATCH /Groups/g-4']);
    assert.deepEqual(recs[0].body, {
      schemas: [PATCH], Operations: [{ op: 'replace', value: { id: 'g-4', displayName: 'Platform' } }],
    });
    r = await dev('/__dev/scim/groups/delete', { name: 'Platform' });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), ['DELETE /Groups/g-4']);
    assert.equal(recs[0].body, undefined);
    const s = await dev('/__dev/scim/state', undefined, 'GET');
    assert.deepEqual(s.json.groups, []);
  });

  test('Group Push splits large memberships into PATCHes of at most 100 members', async () => {
    const names = Array.from({ length: 230 }, (_, i) => `user${i + 1}`);
    for (const n of names) {
      // eslint-disable-next-line no-await-in-loop
      const r = await dev('/__dev/scim/assign', { user: n });
      assert.equal(r.json.ok, true);
    }
    peer.take();
    peer.state.groupPatchStatus = 200;
    const r = await dev('/__dev/scim/groups', { name: 'Everyone', members: names });
    assert.equal(r.json.ok, true);
    const recs = peer.take();
    assert.deepEqual(lines(recs).map((l) => l.replace(/g-\d+/, 'G')), ['POST /Groups', 'PATCH /Groups/G', 'PATCH /Groups/G', 'PATCH /Groups/G']);
    const sizes = recs.slice(1).map((x) => x.body.Operations[0].value.length);
    assert.deepEqual(sizes, [100, 100, 30]);
    assert.equal(recs[1].body.Operations[0].value[0].display, 'user1@example.com');
    const group = [...peer.state.groups.values()].find((g) => g.displayName === 'Everyone');
    assert.equal(group.members.length, 230);
    // Removing 150 of them: 100 + 50 removes, after the name update.
    const r2 = await dev('/__dev/scim/groups', { name: 'Everyone', members: names.slice(150) });
    assert.equal(r2.json.ok, true);
    const recs2 = peer.take();
    assert.equal(recs2.length, 3);
    assert.deepEqual(recs2[0].body.Operations[0].op, 'replace');
    assert.deepEqual(recs2.slice(1).map((x) => x.body.Operations.length), [100, 50]);
    assert.ok(recs2[1].body.Operations.every((o) => o.op === 'remove' && /^members\[value eq "u-\d+"\]$/.test(o.path)));
    assert.equal(group.members.length, 80);
    peer.state.groupPatchStatus = 204;
  });

  test('update_mode=put: profile changes and deactivation are GET /Users/{id} then PUT of the whole user', async () => {
    let r = await dev('/__dev/scim/config', { update_mode: 'put' });
    assert.equal(r.json.update_mode, 'put');
    r = await dev('/__dev/scim/profile', { user: 'bob', given_name: 'Robert' });
    assert.equal(r.json.ok, true, JSON.stringify(r.json));
    let recs = peer.take();
    assert.deepEqual(lines(recs), ['GET /Users/u-2', 'PUT /Users/u-2']);
    assert.deepEqual(recs[1].body, {
      schemas: [USER],
      userName: 'bob@example.com',
      name: { givenName: 'Robert', familyName: 'Brown' },
      emails: [{ primary: true, value: 'bob@example.com', type: 'work' }],
      displayName: 'Robert Brown',
      locale: 'en-US',
      externalId: '00u2bob',
      groups: [],
      active: true,
      id: 'u-2',
      meta: { resourceType: 'User' },
    });
    r = await dev('/__dev/scim/unassign', { user: 'bob' });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), ['GET /Users/u-2', 'PUT /Users/u-2']);
    assert.equal(recs[1].body.active, false);
    assert.equal(recs[1].body.id, 'u-2');
    // oin: active changes by PATCH, profile by GET + PUT.
    r = await dev('/__dev/scim/config', { update_mode: 'oin' });
    r = await dev('/__dev/scim/assign', { user: 'bob' });
    assert.equal(r.json.ok, true);
    recs = peer.take();
    assert.deepEqual(lines(recs), [`GET ${FILTER('bob@example.com')}`, 'PATCH /Users/u-2', 'GET /Users/u-2', 'PUT /Users/u-2']);
    assert.deepEqual(recs[1].body, ACTIVE(true));
    await dev('/__dev/scim/config', { update_mode: 'patch' });
  });

  test('send_password adds Okta\'s password placeholder on create', async () => {
    await dev('/__dev/scim/config', { send_password: true });
    const r = await dev('/__dev/scim/assign', { user: 'user900' });
    assert.equal(r.json.ok, true);
    const recs = peer.take();
    assert.deepEqual(Object.keys(recs[1].body), [
      'schemas', 'userName', 'name', 'emails', 'displayName', 'locale', 'externalId', 'groups', 'password', 'active',
    ]);
    assert.match(recs[1].body.password, /^[a-z0-9]{8}$/);
    await dev('/__dev/scim/config', { send_password: false });
  });

  test('failures are reported with status and body, never crash okta-dev', async () => {
    // The app answers 409 to the create (a userName it already holds but did not find).
    peer.state.hook = async (req, res, rec) => {
      if (rec.method === 'GET' && rec.url.startsWith('/scim/v2/Users?')) {
        scimJson(res, 200, {
          schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [],
        });
        return true;
      }
      return false;
    };
    let r = await dev('/__dev/scim/assign', { user: 'carol' });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, false);
    assert.deepEqual(r.json.requests.map((q) => q.status), [200, 409]);
    assert.equal(r.json.requests[1].body.detail, 'User already exists in the database.');
    // A server error, a non-JSON body.
    peer.state.hook = async (req, res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('boom');
      return true;
    };
    r = await dev('/__dev/scim/unassign', { user: 'carol' });
    assert.deepEqual([r.json.ok, r.json.requests[0].status, r.json.requests[0].body], [false, 500, 'boom']);
    // A redirect is not followed.
    peer.state.hook = async (req, res) => {
      res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
      return true;
    };
    r = await dev('/__dev/scim/assign', { user: 'carol' });
    assert.deepEqual([r.json.ok, r.json.requests.length, r.json.requests[0].status], [false, 1, 302]);
    // An answer larger than the cap.
    peer.state.hook = async (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/scim+json' });
      res.end(`{"x":"${'a'.repeat(2 << 20)}"}`);
      return true;
    };
    r = await dev('/__dev/scim/assign', { user: 'carol' });
    assert.equal(r.json.ok, false);
    assert.match(r.json.requests[0].error, /larger than/);
    // No answer within 5 s.
    peer.state.hook = async () => true;
    const t0 = Date.now();
    r = await dev('/__dev/scim/assign', { user: 'carol' });
    const took = Date.now() - t0;
    assert.equal(r.json.ok, false);
    assert.match(r.json.requests[0].error, /no answer within 5000 ms/);
    assert.ok(took >= 4500 && took < 9000, `took ${took} ms`);
    peer.state.hook = null;
    // Nobody listening.
    const closed = await freePort();
    await dev('/__dev/scim/config', { base_url: `http://127.0.0.1:${closed}/scim/v2`, token: TOKEN });
    r = await dev('/__dev/scim/assign', { user: 'carol' });
    assert.equal(r.json.ok, false);
    assert.equal(r.json.requests[0].status, null);
    assert.ok(r.json.requests[0].error);
    // A new base URL forgets the old links; back to the recorder (links reset again).
    let s = await dev('/__dev/scim/state', undefined, 'GET');
    assert.deepEqual(s.json.users, []);
    await dev('/__dev/scim/config', { base_url: peer.base });
    s = await dev('/__dev/scim/state', undefined, 'GET');
    assert.equal(s.json.token_set, true);
    assert.ok(okta.child.exitCode === null, 'okta-dev still runs');
    assert.match(okta.stderr(), /scim POST \/Users failed: 409/);
    peer.take();
  });

  test('GET /__dev/scim/log lists the last 100 requests (method, path, status, ms)', async () => {
    const r = await dev('/__dev/scim/log', undefined, 'GET');
    assert.equal(r.status, 200);
    assert.equal(r.json.requests.length, 100);
    const last = r.json.requests.at(-1);
    assert.equal(last.method, 'GET');
    assert.equal(last.path, FILTER('carol@example.com'));
    assert.equal(last.status, null);
    assert.equal(typeof last.ms, 'number');
    assert.ok(!JSON.stringify(r.json).includes(TOKEN));
  });

  test('the admin page assigns and pushes with plain form posts, escaping what it prints', async () => {
    await dev('/__dev/users', { username: 'eve', email: 'eve@example.com', name: '<script>alert(1)</script> Evil' });
    let res = await fetch(`${okta.origin}/admin/app`);
    let html = await res.text();
    assert.equal(res.status, 200);
    assert.match(html, /<form method="post" action="\/admin\/app"/);
    assert.ok(!html.includes('<script>alert(1)</script>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; Evil'));
    const post = (fields, headers = {}) => fetch(`${okta.origin}/admin/app`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
    res = await post({ action: 'assign', user: 'eve' });
    html = await res.text();
    assert.equal(res.status, 200);
    assert.match(html, /id="scim-result" role="status" data-ok="true"/);
    let recs = peer.take();
    assert.deepEqual(lines(recs), [`GET ${FILTER('eve@example.com')}`, 'POST /Users']);
    assert.equal(recs[1].body.displayName, '<script>alert(1)</script> Evil');
    assert.ok(!html.includes('<script>alert(1)</script>'));
    res = await post({ action: 'push', name: 'Sales <b>', members: 'eve, carol' });
    html = await res.text();
    recs = peer.take();
    assert.deepEqual(lines(recs).map((l) => l.replace(/g-\d+/, 'G')), ['POST /Groups', 'PATCH /Groups/G']);
    assert.ok(html.includes('Sales &lt;b&gt;'));
    assert.ok(!html.includes('Sales <b>'));
    res = await post({ action: 'deactivate', user: 'eve' });
    assert.equal(res.status, 200);
    assert.deepEqual(peer.take().map((x) => x.body), [ACTIVE(false)]);
    res = await post({ action: 'assign', user: '' });
    assert.equal(res.status, 400);
    res = await post({ action: 'assign', user: 'eve' }, { Origin: 'http://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(peer.take().length, 0);
  });
});

describe('okta-dev SCIM configuration from the environment', () => {
  test('OKTA_DEV_SCIM_URL, _TOKEN, _UPDATE configure provisioning at start', async () => {
    const other = await startOktaDev({
      OKTA_DEV_SCIM_URL: peer.base, OKTA_DEV_SCIM_TOKEN: TOKEN, OKTA_DEV_SCIM_UPDATE: 'put',
    });
    try {
      assert.ok(other.ready);
      const s = await (await fetch(`${other.origin}/__dev/scim/state`)).json();
      assert.deepEqual([s.base_url, s.token_set, s.update_mode], [peer.base, true, 'put']);
      const r = await (await fetch(`${other.origin}/__dev/scim/assign`, {
        method: 'POST', body: JSON.stringify({ user: 'user901' }),
      })).json();
      assert.equal(r.ok, true);
      assert.deepEqual(lines(peer.take()), [`GET ${FILTER('user901@example.com')}`, 'POST /Users']);
    } finally {
      await other.stop();
    }
  });

  test('an invalid OKTA_DEV_SCIM_UPDATE stops okta-dev at start', async () => {
    const bad = await startOktaDev({ OKTA_DEV_SCIM_UPDATE: 'sometimes' });
    assert.equal(bad.ready, false);
    assert.equal(await bad.exited(), 1);
    assert.match(bad.stderr(), /update_mode must be one of/);
  });
});

// --------------------------------------------------------------------------
// Signing in at okta-dev with a cookie jar (authorize -> sign-in form -> callback)
// --------------------------------------------------------------------------

const AUTHORIZE = '/oauth2/v1/authorize?client_id=tessera-acme&response_type=code&scope=openid'
  + `&redirect_uri=${encodeURIComponent('http://127.0.0.1:3000/sso/callback')}&state=s1&nonce=n1`;

async function hop(jar, url, init = {}) {
  const res = await fetch(new URL(url, okta.origin), {
    redirect: 'manual',
    ...init,
    headers: { ...(init.headers || {}), Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}

async function authorize(jar = new Map()) {
  const res = await hop(jar, AUTHORIZE);
  await res.arrayBuffer();
  return { jar, location: res.headers.get('location') || '' };
}

async function postLogin(jar, interaction, username) {
  await (await hop(jar, interaction)).arrayBuffer();
  const res = await hop(jar, `${interaction}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: 'password' }).toString(),
  });
  return { status: res.status, location: res.headers.get('location') || '', text: await res.text() };
}

/** Signs `username` in; answers the final redirect to the client and the jar (with the Okta session). */
async function signIn(username) {
  const { jar, location } = await authorize();
  assert.match(location, /^\/interaction\//);
  const login = await postLogin(jar, location, username);
  assert.equal(login.status, 303, login.text.slice(0, 300));
  const res = await hop(jar, login.location);
  await res.arrayBuffer();
  return { jar, location: res.headers.get('location') || '' };
}
