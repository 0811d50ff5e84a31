// okta-dev's Universal Logout sender and Shared Signals transmitter against a recording
// receiver: every token must verify with okta-dev's published JWKS (the ID-token key, rotation
// included), and every request must carry Okta's headers, claims and bodies.
//
//   node --test end2end/okta-dev/signals.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, 'server.mjs');

const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
const ACCOUNT_DISABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-disabled';
const ACCOUNT_ENABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-enabled';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
// The app's receivers: /oauth/global-token-revocation answers 204 (the draft's success),
// /ssf/events 202 (RFC 8935 accepted), /ssf/reject 400 with RFC 8935's error body.
// --------------------------------------------------------------------------

async function startReceiver() {
  const state = { requests: [], waiters: [] };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rec = {
      method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'),
    };
    state.requests.push(rec);
    for (const w of state.waiters.splice(0)) w();
    if (req.url === '/oauth/global-token-revocation') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/ssf/events') {
      res.writeHead(202);
      res.end();
    } else if (req.url === '/ssf/reject') {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ err: 'invalid_audience', description: 'aud is not this org' }));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such receiver');
    }
  });
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** The requests recorded since the last call (and forgets them). */
    take() {
      const out = state.requests;
      state.requests = [];
      return out;
    },
    /** Resolves once at least `n` requests are recorded (asynchronous deliveries). */
    async waitFor(n, ms = 5000) {
      const deadline = Date.now() + ms;
      while (state.requests.length < n && Date.now() < deadline) {
        // eslint-disable-next-line no-await-in-loop
        await new Promise((resolve) => {
          state.waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
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
  return {
    origin: `http://127.0.0.1:${port}`,
    ready,
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
let app;

async function call(origin, p, body, method = 'POST') {
  const res = await fetch(`${origin}${p}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const dev = (p, body, method) => call(okta.origin, p, body, method);

function decode(jwt) {
  const [h, c, s] = jwt.split('.');
  assert.ok(s, `not a compact JWS: ${jwt}`);
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    claims: JSON.parse(Buffer.from(c, 'base64url')),
  };
}

/** Verifies an RS256 compact JWS with the JWKS okta-dev publishes (by the token's kid, or `kid`). */
async function verifyWithJwks(jwt, kid, origin = okta.origin) {
  const { keys } = await (await fetch(`${origin}/oauth2/v1/keys`)).json();
  const jwk = keys.find((k) => k.kid === (kid ?? decode(jwt).header.kid));
  assert.ok(jwk, `kid ${kid ?? decode(jwt).header.kid} is not published`);
  const [h, c, s] = jwt.split('.');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'));
}

before(async () => {
  app = await startReceiver();
  okta = await startOktaDev();
  assert.ok(okta.ready, `okta-dev did not start: ${okta.stderr()}`);
});

after(async () => {
  await okta?.stop();
  await app?.close();
});

describe('okta-dev /__dev/sign', () => {
  test('signs the given claims with the current ID-token key; the JWKS verifies it', async () => {
    const claims = { iss: 'x', custom: [1, 2], nested: { a: null } };
    const r = await dev('/__dev/sign', { claims });
    assert.equal(r.status, 200);
    const { keys } = await (await fetch(`${okta.origin}/oauth2/v1/keys`)).json();
    assert.equal(r.json.kid, keys[0].kid);
    const { header, claims: got } = decode(r.json.jwt);
    assert.deepEqual(header, { alg: 'RS256', kid: r.json.kid });
    assert.deepEqual(got, claims);
    assert.equal(await verifyWithJwks(r.json.jwt), true);
  });

  test('merges the header over {alg, kid}: typ added, kid removed with null, alg only claimed', async () => {
    let r = await dev('/__dev/sign', { header: { typ: 'secevent+jwt', kid: 'wrong-kid' }, claims: { a: 1 } });
    assert.deepEqual(decode(r.json.jwt).header, { alg: 'RS256', kid: 'wrong-kid', typ: 'secevent+jwt' });
    // Still signed by the current key, whatever the header says.
    assert.equal(await verifyWithJwks(r.json.jwt, r.json.kid), true);
    r = await dev('/__dev/sign', { header: { kid: null, alg: 'none' }, claims: { a: 1 } });
    assert.deepEqual(decode(r.json.jwt).header, { alg: 'none' });
    assert.equal(await verifyWithJwks(r.json.jwt, r.json.kid), true);
  });

  test('a body that is not {header?, claims} answers 400 with an error', async () => {
    for (const body of ['{not json', '[1]', {}, { claims: 'x' }, { claims: {}, header: [1] }]) {
      // eslint-disable-next-line no-await-in-loop
      const r = await dev('/__dev/sign', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(typeof r.json.error, 'string');
    }
  });
});

describe('okta-dev SSF discovery', () => {
  test('/.well-known/ssf-configuration names the issuer of discovery, its JWKS and push delivery', async () => {
    const oidc = await (await fetch(`${okta.origin}/.well-known/openid-configuration`)).json();
    const r = await dev('/.well-known/ssf-configuration', undefined, 'GET');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      spec_version: '1_0',
      issuer: oidc.issuer,
      jwks_uri: oidc.jwks_uri,
      delivery_methods_supported: ['urn:ietf:rfc:8935'],
      configuration_endpoint: `${okta.origin}/__dev/ssf/stream`,
      verification_endpoint: `${okta.origin}/__dev/ssf/verify`,
    });
  });
});

describe('okta-dev Universal Logout', () => {
  test('refuses to send until an endpoint is known, and bad input, with 4xx', async () => {
    let r = await dev('/__dev/universal-logout', { user: 'alice' });
    assert.equal(r.status, 409);
    assert.match(r.json.error, /not configured/);
    r = await dev('/__dev/universal-logout/config', { endpoint: 'ftp://x/y' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/universal-logout/config', { format: 'phone' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/universal-logout', { endpoint: `${app.origin}/oauth/global-token-revocation`, user: 'nobody-here' });
    assert.equal(r.status, 404);
    r = await dev('/__dev/universal-logout', { endpoint: `${app.origin}/oauth/global-token-revocation` });
    assert.equal(r.status, 400);
    assert.equal(app.take().length, 0);
  });

  test('clears a user: Okta-signed bearer JWT, iss_sub body, the app\'s answer reported', async () => {
    const endpoint = `${app.origin}/oauth/global-token-revocation`;
    let r = await dev('/__dev/universal-logout/config', { endpoint });
    assert.deepEqual(r.json, {
      ok: true, endpoint, client_id: 'tessera-acme', format: 'iss_sub',
    });
    r = await dev('/__dev/universal-logout', { user: 'alice' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 204);
    assert.equal(r.json.body, '');
    const [rec, ...rest] = app.take();
    assert.equal(rest.length, 0);
    assert.equal(rec.method, 'POST');
    assert.equal(rec.url, '/oauth/global-token-revocation');
    assert.equal(rec.headers['content-type'], 'application/json');
    assert.equal(rec.headers.authorization, `Bearer ${r.json.jwt}`);
    assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'iss_sub', iss: okta.origin, sub: '00u1alice' } });

    const { header, claims } = decode(r.json.jwt);
    const { keys } = await (await fetch(`${okta.origin}/oauth2/v1/keys`)).json();
    assert.deepEqual(header, { alg: 'RS256', kid: keys[0].kid, typ: 'global-token-revocation+jwt' });
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
    assert.equal(claims.iss, okta.origin);
    assert.equal(claims.sub, 'tessera-acme');
    assert.equal(claims.aud, endpoint);
    assert.equal(claims.exp - claims.iat, 300);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 10);
    assert.match(claims.jti, UUID);
    assert.equal(r.json.jti, claims.jti);
    assert.equal(await verifyWithJwks(r.json.jwt), true);

    // Every request has its own jti.
    r = await dev('/__dev/universal-logout', { user: 'alice' });
    assert.notEqual(r.json.jti, claims.jti);
    app.take();
  });

  test('email format, another client_id, a user by email or sub', async () => {
    let r = await dev('/__dev/universal-logout', { user: 'bob@example.com', format: 'email', client_id: 'other-app' });
    assert.equal(r.status, 200);
    let [rec] = app.take();
    assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'email', email: 'bob@example.com' } });
    assert.equal(decode(r.json.jwt).claims.sub, 'other-app');
    r = await dev('/__dev/universal-logout', { user: '00u3carol' });
    [rec] = app.take();
    assert.deepEqual(JSON.parse(rec.body).sub_id.sub, '00u3carol');
    await dev('/__dev/universal-logout/config', { format: 'email' });
    r = await dev('/__dev/universal-logout', { user: 'carol' });
    [rec] = app.take();
    assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'email', email: 'carol@example.com' } });
    await dev('/__dev/universal-logout/config', { format: 'iss_sub' });
  });

  test('overrides change the header, claims (null removes), body and Authorization', async () => {
    let r = await dev('/__dev/universal-logout', {
      user: 'alice',
      overrides: {
        header: { typ: 'JWT', kid: null }, claims: { exp: null, aud: 'https://elsewhere' }, body: { sub_id: { format: 'opaque', id: 'x' } },
      },
    });
    assert.equal(r.status, 200);
    let [rec] = app.take();
    const { header, claims } = decode(r.json.jwt);
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT' });
    assert.equal(claims.exp, undefined);
    assert.equal(claims.aud, 'https://elsewhere');
    assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'opaque', id: 'x' } });

    r = await dev('/__dev/universal-logout', { overrides: { raw_body: '{not json', authorization: null } });
    assert.equal(r.status, 200);
    [rec] = app.take();
    assert.equal(rec.body, '{not json');
    assert.equal(rec.headers.authorization, undefined);
    r = await dev('/__dev/universal-logout', { user: 'alice', overrides: { nonsense: 1 } });
    assert.equal(r.status, 400);
  });

  test('an app that cannot be reached answers 502 with the error', async () => {
    const port = await freePort();
    const r = await dev('/__dev/universal-logout', { user: 'alice', endpoint: `http://127.0.0.1:${port}/revoke` });
    assert.equal(r.status, 502);
    assert.equal(typeof r.json.error, 'string');
    assert.equal(r.json.status, null);
    assert.ok(r.json.jwt);
    const log = await dev('/__dev/universal-logout/log', undefined, 'GET');
    assert.equal(log.json.requests.at(-1).status, null);
  });
});

describe('okta-dev Shared Signals transmitter', () => {
  test('refuses to push until the stream is configured', async () => {
    const r = await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'alice' });
    assert.equal(r.status, 409);
    assert.equal(app.take().length, 0);
  });

  test('configures the one stream; GET returns it', async () => {
    const endpointUrl = `${app.origin}/ssf/events`;
    let r = await dev('/__dev/ssf/stream', { endpoint_url: endpointUrl, aud: 'http://127.0.0.1:3000/ssf/orgs/acme' });
    assert.equal(r.status, 200);
    assert.equal(r.json.endpoint_url, endpointUrl);
    r = await dev('/__dev/ssf/stream', undefined, 'GET');
    assert.equal(r.json.endpoint_url, endpointUrl);
    assert.equal(r.json.aud, 'http://127.0.0.1:3000/ssf/orgs/acme');
    assert.equal(r.json.format, 'iss_sub');
    assert.deepEqual(r.json.delivery, { method: 'urn:ietf:rfc:8935', endpoint_url: endpointUrl });
    assert.match(r.json.stream_id, UUID);
    r = await dev('/__dev/ssf/stream', { endpoint_url: 'not a url' });
    assert.equal(r.status, 400);
    r = await dev('/__dev/ssf/stream', { format: 'phone' });
    assert.equal(r.status, 400);
  });

  test('pushes session-revoked as a SET: secevent+jwt, no exp, iss_sub subject, the app\'s 202', async () => {
    const r = await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'alice' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 202);
    const [rec, ...rest] = app.take();
    assert.equal(rest.length, 0);
    assert.equal(rec.method, 'POST');
    assert.equal(rec.url, '/ssf/events');
    assert.equal(rec.headers['content-type'], 'application/secevent+jwt');
    assert.equal(rec.headers.accept, 'application/json');
    assert.equal(rec.headers.authorization, undefined);
    assert.equal(rec.body, r.json.jwt);

    const { header, claims } = decode(rec.body);
    const { keys } = await (await fetch(`${okta.origin}/oauth2/v1/keys`)).json();
    assert.deepEqual(header, { alg: 'RS256', kid: keys[0].kid, typ: 'secevent+jwt' });
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'events', 'iat', 'iss', 'jti', 'sub_id']);
    assert.equal(claims.exp, undefined);
    assert.equal(claims.iss, okta.origin);
    assert.equal(claims.aud, 'http://127.0.0.1:3000/ssf/orgs/acme');
    assert.match(claims.jti, /^[0-9a-f]{32}$/);
    assert.equal(r.json.jti, claims.jti);
    assert.deepEqual(claims.sub_id, { format: 'iss_sub', iss: okta.origin, sub: '00u1alice' });
    assert.deepEqual(Object.keys(claims.events), [SESSION_REVOKED]);
    const event = claims.events[SESSION_REVOKED];
    assert.deepEqual(event, {
      event_timestamp: event.event_timestamp,
      initiating_entity: 'admin',
      reason_admin: { en: "Okta admin cleared the user's sessions" },
    });
    assert.ok(Math.abs(event.event_timestamp - claims.iat) < 5);
    assert.equal(await verifyWithJwks(rec.body), true);
  });

  test('credential-change, account-disabled, account-enabled; email subjects', async () => {
    let r = await dev('/__dev/ssf/push', { event: 'credential-change', user: 'bob', format: 'email' });
    let { claims } = decode(r.json.jwt);
    assert.deepEqual(claims.sub_id, { format: 'email', email: 'bob@example.com' });
    const cc = claims.events[CREDENTIAL_CHANGE];
    assert.deepEqual(cc, { event_timestamp: cc.event_timestamp, credential_type: 'password', change_type: 'update' });
    r = await dev('/__dev/ssf/push', { event: 'account-disabled', user: 'bob', reason: 'hijacking' });
    ({ claims } = decode(r.json.jwt));
    assert.deepEqual(claims.events, { [ACCOUNT_DISABLED]: { reason: 'hijacking' } });
    r = await dev('/__dev/ssf/push', { event: 'account-enabled', user: 'bob' });
    ({ claims } = decode(r.json.jwt));
    assert.deepEqual(claims.events, { [ACCOUNT_ENABLED]: {} });
    assert.deepEqual(claims.sub_id, { format: 'iss_sub', iss: okta.origin, sub: '00u2bob' });
    const recs = app.take();
    assert.equal(recs.length, 3);
    for (const rec of recs) assert.equal(rec.headers['content-type'], 'application/secevent+jwt');
  });

  test('verification carries the stream as an opaque subject and the state', async () => {
    const stream = (await dev('/__dev/ssf/stream', undefined, 'GET')).json;
    const r = await dev('/__dev/ssf/push', { event: 'verification', state: 'st-123' });
    assert.equal(r.status, 200);
    const { claims } = decode(app.take()[0].body);
    assert.deepEqual(claims.sub_id, { format: 'opaque', id: stream.stream_id });
    assert.deepEqual(claims.events, { [VERIFICATION]: { state: 'st-123' } });
    assert.equal(claims.exp, undefined);
  });

  test('the verification endpoint answers 204, then pushes the verification event', async () => {
    const stream = (await dev('/__dev/ssf/stream', undefined, 'GET')).json;
    let r = await dev('/__dev/ssf/verify', { stream_id: stream.stream_id, state: 'from-receiver' });
    assert.equal(r.status, 204);
    await app.waitFor(1);
    const { claims } = decode(app.take()[0].body);
    assert.deepEqual(claims.events, { [VERIFICATION]: { state: 'from-receiver' } });
    r = await dev('/__dev/ssf/verify', { stream_id: 'other' });
    assert.equal(r.status, 404);
  });

  test('any event-type URI, overrides of header, claims, event and subject', async () => {
    const uri = 'https://schemas.openid.net/secevent/caep/event-type/assurance-level-change';
    const r = await dev('/__dev/ssf/push', {
      event: uri,
      user: 'alice',
      overrides: {
        header: { typ: 'JWT' }, claims: { exp: 1, aud: ['a', 'b'] }, event: { namespace: 'NIST-AAL', current_level: 'nist-aal1' }, subject: { sub: '00uOTHER' },
      },
    });
    assert.equal(r.status, 200);
    const { header, claims } = decode(app.take()[0].body);
    assert.equal(header.typ, 'JWT');
    assert.equal(claims.exp, 1);
    assert.deepEqual(claims.aud, ['a', 'b']);
    assert.deepEqual(claims.events, { [uri]: { namespace: 'NIST-AAL', current_level: 'nist-aal1' } });
    assert.deepEqual(claims.sub_id, { format: 'iss_sub', iss: okta.origin, sub: '00uOTHER' });
    for (const bad of [{ event: 'nope', user: 'alice' }, { event: 'session-revoked' }, { event: 'session-revoked', user: 'alice', overrides: { body: 1 } }]) {
      // eslint-disable-next-line no-await-in-loop
      assert.equal((await dev('/__dev/ssf/push', bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'nobody-here' })).status, 404);
    assert.equal(app.take().length, 0);
  });

  test('a receiver\'s RFC 8935 400 comes back as it was; an unreachable one answers 502', async () => {
    let r = await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'alice', endpoint_url: `${app.origin}/ssf/reject` });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 400);
    assert.deepEqual(JSON.parse(r.json.body), { err: 'invalid_audience', description: 'aud is not this org' });
    app.take();
    const port = await freePort();
    r = await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'alice', endpoint_url: `http://127.0.0.1:${port}/ssf` });
    assert.equal(r.status, 502);
    assert.equal(typeof r.json.error, 'string');
    const log = await dev('/__dev/ssf/log', undefined, 'GET');
    assert.deepEqual(log.json.requests.slice(-2).map((x) => x.status), [400, null]);
  });
});

describe('okta-dev signals and key rotation', () => {
  test('after rotate-keys every token is signed with the new kid, which the JWKS publishes', async () => {
    const before = (await dev('/__dev/sign', { claims: {} })).json.kid;
    const rotated = (await dev('/__dev/rotate-keys')).json;
    assert.notEqual(rotated.kid, before);
    const signed = (await dev('/__dev/sign', { claims: {} })).json;
    assert.equal(signed.kid, rotated.kid);
    assert.equal(decode(signed.jwt).header.kid, rotated.kid);
    const ul = (await dev('/__dev/universal-logout', { user: 'alice' })).json;
    assert.equal(decode(ul.jwt).header.kid, rotated.kid);
    assert.equal(await verifyWithJwks(ul.jwt), true);
    const set = (await dev('/__dev/ssf/push', { event: 'session-revoked', user: 'alice' })).json;
    assert.equal(decode(set.jwt).header.kid, rotated.kid);
    assert.equal(await verifyWithJwks(set.jwt), true);
    // The old key is still published (no drop_old) but no longer signs.
    assert.equal(await verifyWithJwks(set.jwt, before), false);
    app.take();
  });
});

// --------------------------------------------------------------------------
// The admin page
// --------------------------------------------------------------------------

/** Every visible input and select sits inside a <label> or has an aria-label. */
function unlabelled(html) {
  const out = [];
  let depth = 0;
  for (const m of html.matchAll(/<(\/?)(label|input|select)\b([^>]*)>/g)) {
    const [, close, tag, attrs] = m;
    if (tag === 'label') depth += close ? -1 : 1;
    else if (!close && depth === 0 && !/type="hidden"/.test(attrs) && !/aria-label=/.test(attrs)) out.push(m[0]);
  }
  return out;
}

async function admin(fields, headers = {}) {
  const res = await fetch(`${okta.origin}/admin/app`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, html: await res.text() };
}

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
  await res.arrayBuffer();
  return res;
}

/** Signs `username` in at okta-dev; answers the cookie jar holding the Okta session. */
async function signIn(username) {
  const jar = new Map();
  const interaction = (await hop(jar, AUTHORIZE)).headers.get('location');
  await hop(jar, interaction);
  const login = await hop(jar, `${interaction}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: 'password' }).toString(),
  });
  assert.equal(login.status, 303);
  const done = await hop(jar, login.headers.get('location'));
  assert.match(done.headers.get('location'), /^http:\/\/127\.0\.0\.1:3000\/sso\/callback\?code=/);
  return jar;
}

describe('okta-dev admin page: Universal Logout and Shared Signals', () => {
  test('has the buttons and forms, every field labelled', async () => {
    const res = await fetch(`${okta.origin}/admin/app`);
    const html = await res.text();
    assert.equal(res.status, 200);
    for (const u of ['alice', 'bob', 'carol', 'mallory']) {
      assert.match(html, new RegExp(`<button id="clear-sessions-${u}" data-testid="clear-sessions-${u}"[^>]*>Clear user sessions</button>`));
    }
    assert.match(html, /<section id="universal-logout">/);
    assert.match(html, /<section id="shared-signals">/);
    assert.match(html, /<form [^>]*id="ul-config-form"/);
    assert.match(html, /<form [^>]*id="ssf-stream-form"/);
    assert.match(html, /<form [^>]*id="ssf-push-form"/);
    assert.match(html, /<select name="event" id="ssf-event">/);
    assert.match(html, /<select name="user" id="ssf-user">/);
    for (const e of ['session-revoked', 'credential-change', 'account-disabled', 'account-enabled', 'verification']) {
      assert.match(html, new RegExp(`<option value="${e}">`));
    }
    assert.match(html, /<button id="ssf-push" data-testid="ssf-push">/);
    assert.deepEqual(unlabelled(html), []);
  });

  test('"Clear user sessions" ends the Okta session and sends Universal Logout; the result shows the app\'s status', async () => {
    const endpoint = `${app.origin}/oauth/global-token-revocation`;
    let r = await admin({ action: 'ul-config', endpoint, format: 'iss_sub' });
    assert.equal(r.status, 200);
    assert.match(r.html, /id="ul-result" role="status" data-ok="true"/);
    assert.ok(r.html.includes(`<code id="ul-endpoint-current">${endpoint}</code>`));

    const jar = await signIn('bob');
    // With the Okta session, authorize goes straight back to the app.
    assert.match((await hop(jar, AUTHORIZE)).headers.get('location'), /\/sso\/callback\?code=/);
    r = await admin({ action: 'clear-sessions', user: 'bob' });
    assert.equal(r.status, 200);
    assert.match(r.html, /id="ul-result" role="status" data-ok="true" data-status="204"/);
    const [rec, ...rest] = app.take();
    assert.equal(rest.length, 0);
    assert.equal(rec.url, '/oauth/global-token-revocation');
    assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'iss_sub', iss: okta.origin, sub: '00u2bob' } });
    assert.equal(await verifyWithJwks(rec.headers.authorization.slice('Bearer '.length)), true);
    // The Okta session is gone: authorize asks for the password again.
    assert.match((await hop(jar, AUTHORIZE)).headers.get('location'), /^\/interaction\//);

    r = await admin({ action: 'clear-sessions', user: 'bob' }, { Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(app.take().length, 0);
  });

  test('the stream form and the push form deliver a SET; the result and the log show it', async () => {
    let r = await admin({
      action: 'ssf-stream', endpoint_url: `${app.origin}/ssf/events`, aud: 'http://127.0.0.1:3000/ssf/orgs/acme', format: 'email',
    });
    assert.equal(r.status, 200);
    assert.match(r.html, /id="ssf-result" role="status" data-ok="true"/);
    r = await admin({ action: 'ssf-push', event: 'account-disabled', user: 'carol' });
    assert.equal(r.status, 200);
    assert.match(r.html, /id="ssf-result" role="status" data-ok="true" data-status="202"/);
    assert.match(r.html, /<strong id="ssf-result-status">202<\/strong>/);
    let { claims } = decode(app.take()[0].body);
    assert.deepEqual(claims.sub_id, { format: 'email', email: 'carol@example.com' });
    assert.deepEqual(Object.keys(claims.events), [ACCOUNT_DISABLED]);
    r = await admin({
      action: 'ssf-push', event: 'verification', user: 'carol', state: 'page',
    });
    ({ claims } = decode(app.take()[0].body));
    assert.equal(claims.sub_id.format, 'opaque');
    assert.deepEqual(claims.events, { [VERIFICATION]: { state: 'page' } });
    const page = await (await fetch(`${okta.origin}/admin/app`)).text();
    assert.match(page, /<section id="signals-log">[\s\S]*<td>verification<\/td>[\s\S]*<td>202<\/td>/);
    await dev('/__dev/ssf/stream', { format: 'iss_sub' });
  });
});

describe('okta-dev signals configured from the environment', () => {
  test('OKTA_DEV_UL_URL, _UL_FORMAT, _SSF_URL, _SSF_AUD; an issuer path is kept in iss and discovery', async () => {
    const other = await startOktaDev({
      OKTA_DEV_ISSUER_PATH: '/o/ts/',
      OKTA_DEV_UL_URL: `${app.origin}/oauth/global-token-revocation`,
      OKTA_DEV_UL_FORMAT: 'email',
      OKTA_DEV_SSF_URL: `${app.origin}/ssf/events`,
      OKTA_DEV_SSF_AUD: 'http://127.0.0.1:3000/ssf/orgs/acme',
    });
    try {
      assert.ok(other.ready, other.stderr());
      const issuer = `${other.origin}/o/ts/`;
      const oidc = await (await fetch(`${issuer}.well-known/openid-configuration`)).json();
      assert.equal(oidc.issuer, issuer);
      for (const p of ['/o/ts/.well-known/ssf-configuration', '/.well-known/ssf-configuration/o/ts']) {
        // eslint-disable-next-line no-await-in-loop
        const meta = await call(other.origin, p, undefined, 'GET');
        assert.equal(meta.status, 200, p);
        assert.equal(meta.json.issuer, issuer);
        assert.equal(meta.json.jwks_uri, oidc.jwks_uri);
      }
      let r = await call(other.origin, '/__dev/universal-logout', { user: 'alice' });
      assert.equal(r.json.status, 204);
      let rec = app.take()[0];
      assert.deepEqual(JSON.parse(rec.body), { sub_id: { format: 'email', email: 'alice@example.com' } });
      assert.equal(decode(r.json.jwt).claims.iss, issuer);
      assert.equal(await verifyWithJwks(r.json.jwt, undefined, `${other.origin}/o/ts`), true);
      r = await call(other.origin, '/__dev/ssf/push', { event: 'session-revoked', user: 'alice' });
      assert.equal(r.json.status, 202);
      rec = app.take()[0];
      const { claims } = decode(rec.body);
      assert.equal(claims.iss, issuer);
      assert.equal(claims.aud, 'http://127.0.0.1:3000/ssf/orgs/acme');
      assert.deepEqual(claims.sub_id, { format: 'iss_sub', iss: issuer, sub: '00u1alice' });
    } finally {
      await other.stop();
    }
  });

  test('an invalid OKTA_DEV_UL_FORMAT stops okta-dev at start', async () => {
    const bad = await startOktaDev({ OKTA_DEV_UL_FORMAT: 'phone' });
    assert.equal(bad.ready, false);
    assert.equal(await bad.exited(), 1);
    assert.match(bad.stderr(), /format must be one of/);
  });
});
