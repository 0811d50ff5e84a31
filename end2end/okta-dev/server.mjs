#!/usr/bin/env node
// okta-dev: a local stand-in for an Okta *org authorization server*, built on
// oidc-provider v9. It serves Okta's routes (/oauth2/v1/*), issues thin ID
// tokens (profile claims only from /userinfo), refuses users who are not
// assigned to the application exactly like Okta does, publishes an end-user
// dashboard with app tiles (/app/UserHome) and has a few /__dev/* switches
// for tests (key rotation, users, e-mail change).
//
// See README.md in this directory for the contract.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints NOTICEs with console.info (stdout): the harness contract
// is one stdout line ("okta-dev ready <issuer>"), so route them to stderr. Its
// "Unsupported runtime" warning for Node 20 is harmless here and silenced.
console.info = (...args) => console.error(...args);
const originalWarn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
  originalWarn(...args);
};
const { default: Provider, errors } = await import('oidc-provider');

// --------------------------------------------------------------------------
// Configuration
// --------------------------------------------------------------------------

const HOST = process.env.OKTA_DEV_HOST || '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || process.env.OKTA_DEV_PORT || '4000', 10);
const ORIGIN = (process.env.OKTA_DEV_ISSUER || `http://${HOST}:${PORT}`).replace(/\/+$/, '');
// OKTA_DEV_ISSUER_PATH (e.g. "/o/ts/") publishes the issuer under a path, kept exactly as given
// (a trailing slash included), like custom authorization servers of some IdPs; the provider's
// routes then live under that path too. /app/UserHome, /interaction and /__dev stay at the root.
const ISSUER_PATH = (process.env.OKTA_DEV_ISSUER_PATH || '').trim();
const ISSUER = ISSUER_PATH ? `${ORIGIN}${ISSUER_PATH.startsWith('/') ? '' : '/'}${ISSUER_PATH}` : ORIGIN;
const MOUNT = ISSUER_PATH ? new URL(ISSUER).pathname.replace(/\/+$/, '') : '';
const VERBOSE = /^(1|true|yes)$/i.test(process.env.OKTA_DEV_VERBOSE || '');
const PASSWORD = 'password';
const NOT_ASSIGNED = 'User is not assigned to the client application.';

function log(...args) {
  if (VERBOSE) console.error('[okta-dev]', ...args);
}

function loadClients() {
  let raw;
  if (process.env.OKTA_DEV_CLIENTS) {
    raw = process.env.OKTA_DEV_CLIENTS;
  } else if (process.env.OKTA_DEV_CLIENTS_FILE) {
    raw = fs.readFileSync(process.env.OKTA_DEV_CLIENTS_FILE, 'utf8');
  }
  let list;
  if (raw) {
    list = JSON.parse(raw);
    if (!Array.isArray(list)) list = [list];
  } else {
    list = [{
      client_id: 'tessera-acme',
      client_secret: 'acme-secret-0123456789',
      redirect_uris: ['http://127.0.0.1:3000/sso/callback'],
      initiate_login_uri: 'http://127.0.0.1:3000/sso/initiate',
      name: 'Tessera (Acme)',
    }];
  }
  return list.map((c) => {
    if (!c.client_id || !c.client_secret || !Array.isArray(c.redirect_uris) || !c.redirect_uris.length) {
      throw new Error(`invalid client definition (need client_id, client_secret, redirect_uris): ${JSON.stringify(c)}`);
    }
    const origins = [...new Set(c.redirect_uris.map((u) => new URL(u).origin))];
    return {
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris || origins.map((o) => `${o}/`),
      initiate_login_uri: c.initiate_login_uri || null,
      name: c.name || c.client_id,
    };
  });
}

const CLIENTS = loadClients();

// --------------------------------------------------------------------------
// Users
// --------------------------------------------------------------------------

const users = new Map(); // lowercase username -> user
const usersBySub = new Map(); // sub -> user

function addUser({
  username, sub, email, name, given_name: givenName, family_name: familyName, assigned = true, claims = {},
}) {
  if (!username || typeof username !== 'string') throw new Error('username is required');
  const key = username.toLowerCase();
  const display = name || username;
  const parts = display.split(/\s+/);
  const user = {
    username: key,
    sub: sub || `00u-${key}`,
    email: email || `${key}@example.com`,
    email_verified: true,
    name: display,
    given_name: givenName || parts[0],
    family_name: familyName || (parts.length > 1 ? parts.slice(1).join(' ') : ''),
    // true (every app), false (no app) or an array of client_ids
    assigned,
    // Claim overrides for /userinfo, as real IdPs send them (e.g. "email_verified": "true");
    // null removes a claim (e.g. a user without email or name).
    claims: claims && typeof claims === 'object' ? claims : {},
    updated_at: Math.floor(Date.now() / 1000),
  };
  const previous = users.get(key);
  if (previous) usersBySub.delete(previous.sub);
  users.set(key, user);
  usersBySub.set(user.sub, user);
  return user;
}

addUser({ username: 'alice', sub: '00u1alice', email: 'alice@example.com', name: 'Alice Anderson' });
addUser({ username: 'bob', sub: '00u2bob', email: 'bob@example.com', name: 'Bob Brown' });
addUser({ username: 'carol', sub: '00u3carol', email: 'carol@example.com', name: 'Carol Chen' });
addUser({
  username: 'mallory', sub: '00u9mallory', email: 'mallory@example.com', name: 'Mallory Moore', assigned: false,
});

const AUTO_USER = /^user(\d+)$/;

function autoUser(key) {
  const m = AUTO_USER.exec(key);
  if (!m) return undefined;
  return addUser({
    username: key, sub: `00u-${key}`, email: `${key}@example.com`, name: `User ${m[1]}`, given_name: 'User', family_name: m[1],
  });
}

function findUserByLogin(login) {
  if (typeof login !== 'string') return undefined;
  const key = login.trim().toLowerCase();
  if (!key) return undefined;
  if (users.has(key)) return users.get(key);
  for (const u of users.values()) {
    if (u.email.toLowerCase() === key) return u;
  }
  const at = key.indexOf('@');
  if (at > 0 && key.endsWith('@example.com')) return autoUser(key.slice(0, at));
  return autoUser(key);
}

function findUserBySub(sub) {
  if (usersBySub.has(sub)) return usersBySub.get(sub);
  const m = /^00u-(user\d+)$/.exec(sub);
  if (m) return autoUser(m[1]);
  return undefined;
}

function isAssigned(user, clientId) {
  if (Array.isArray(user.assigned)) return user.assigned.includes(clientId);
  return user.assigned !== false;
}

// --------------------------------------------------------------------------
// Keys
// --------------------------------------------------------------------------

function b64u(buf) {
  return Buffer.from(buf).toString('base64url');
}

function generateSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint, like the opaque kids Okta publishes.
  const thumb = crypto.createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest();
  return {
    ...jwk, kid: b64u(thumb), alg: 'RS256', use: 'sig',
  };
}

let signingKeys = [generateSigningKey()]; // first one signs

// --------------------------------------------------------------------------
// Storage shared by every provider instance (survives key-rotation rebuilds)
// --------------------------------------------------------------------------

class Store {
  // Same interface as oidc-provider's internal LRU (get/set/delete/has), but
  // bounded by expiry plus a generous size cap so load tests with thousands of
  // users do not evict in-flight interactions.
  constructor(maxSize = 500_000) {
    this.map = new Map();
    this.maxSize = maxSize;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  get(key) {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expiry !== undefined && e.expiry <= Date.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key) {
    return this.get(key) !== undefined;
  }

  set(key, value, { maxAge } = {}) {
    const expiry = typeof maxAge === 'number' && Number.isFinite(maxAge) ? Date.now() + maxAge : undefined;
    this.map.delete(key);
    this.map.set(key, { value, expiry });
    if (this.map.size > this.maxSize) {
      this.map.delete(this.map.keys().next().value);
    }
    return this;
  }

  delete(key) {
    return this.map.delete(key);
  }

  sweep() {
    const now = Date.now();
    for (const [k, e] of this.map) {
      if (e.expiry !== undefined && e.expiry <= now) this.map.delete(k);
    }
  }
}

const store = new Store();
let adapter; // undefined = oidc-provider's default in-memory adapter
try {
  // oidc-provider has no "exports" map; its memory adapter accepts an external store.
  const mod = await import('oidc-provider/lib/adapters/memory_adapter.js');
  const MemoryAdapter = mod.default;
  adapter = (model) => new MemoryAdapter(model, store);
} catch (err) {
  console.error(`[okta-dev] falling back to the default memory adapter: ${err.message}`);
}

const COOKIE_KEYS = [crypto.randomBytes(32).toString('base64url')];

// --------------------------------------------------------------------------
// HTML helpers
// --------------------------------------------------------------------------

function esc(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f4f4;margin:0;color:#1d1d21}
  header{background:#fff;border-bottom:1px solid #ddd;padding:12px 24px;font-weight:600}
  header .logo{color:#00297a}
  main{max-width:760px;margin:32px auto;padding:0 16px}
  .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:28px 36px;max-width:360px;margin:40px auto}
  h1{font-size:1.3em;font-weight:600;margin:0 0 18px}
  label{display:block;font-size:.9em;margin:12px 0 4px}
  input[type=text],input[type=password]{width:100%;box-sizing:border-box;height:38px;padding:0 8px;border:1px solid #aaa;border-radius:4px;font-size:15px}
  input[type=submit],button{margin-top:18px;width:100%;height:40px;border:0;border-radius:4px;background:#1662dd;color:#fff;font-size:15px;cursor:pointer}
  .error{background:#fde8e8;border:1px solid #e0b4b4;color:#9f1c1c;padding:8px 10px;border-radius:4px;font-size:.9em}
  .client{color:#555;font-size:.9em;margin-bottom:8px}
  .tiles{display:flex;flex-wrap:wrap;gap:16px}
  .app-tile{display:block;width:160px;height:90px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:14px;text-decoration:none;color:#1d1d21;font-weight:600}
  .app-tile:hover{border-color:#1662dd}
  .hint{color:#666;font-size:.85em;margin-top:16px}
`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><span class="logo">okta</span>-dev &middot; ${esc(ISSUER)}</header>
${body}
</body>
</html>`;
}

function loginPage({
  uid, client, username = '', error,
}) {
  const clientName = client ? (CLIENTS.find((c) => c.client_id === client)?.name || client) : '';
  return page('Sign In', `
<main>
<div class="card" id="okta-sign-in">
<h1>Sign In</h1>
${clientName ? `<div class="client">to <strong id="okta-client-name">${esc(clientName)}</strong></div>` : ''}
${error ? `<div class="error o-form-error-container" role="alert" id="okta-signin-error">${esc(error)}</div>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" id="okta-signin-form" autocomplete="off">
<label for="okta-signin-username">Username</label>
<input type="text" name="username" id="okta-signin-username" value="${esc(username)}" autofocus>
<label for="okta-signin-password">Password</label>
<input type="password" name="password" id="okta-signin-password">
<input type="submit" id="okta-signin-submit" value="Sign in">
</form>
<p class="hint">Users: alice, bob, carol, mallory (not assigned), user&lt;N&gt;; password: <code>password</code></p>
</div>
</main>`);
}

function errorPage(status, error, description) {
  return page('Error', `
<main>
<div class="card">
<h1 id="okta-error-title">${esc(error)}</h1>
<p id="okta-error-description">${esc(description || '')}</p>
<p class="hint">HTTP ${status}</p>
</div>
</main>`);
}

// --------------------------------------------------------------------------
// Provider
// --------------------------------------------------------------------------

const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
    'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
};

async function findAccount(ctx, sub) {
  const user = findUserBySub(sub);
  if (!user) return undefined;
  return {
    accountId: user.sub,
    async claims() {
      // The provider filters these by granted scope; with conformIdTokenClaims
      // the ID token of the code flow only carries sub (+ protocol claims).
      const out = {
        sub: user.sub,
        email: user.email,
        email_verified: user.email_verified,
        name: user.name,
        given_name: user.given_name,
        family_name: user.family_name,
        preferred_username: user.email,
        locale: 'en_US',
        zoneinfo: 'America/Los_Angeles',
        updated_at: user.updated_at,
      };
      for (const [k, v] of Object.entries(user.claims)) {
        if (k === 'sub') continue;
        if (v === null) delete out[k]; else out[k] = v;
      }
      return out;
    },
  };
}

async function loadExistingGrant(ctx) {
  // Okta org AS apps never show a consent screen: grant whatever was asked.
  const { client, session } = ctx.oidc;
  const accountId = session?.accountId;
  const grantId = ctx.oidc.result?.consent?.grantId || session?.grantIdFor(client.clientId);
  let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
  if (!accountId) return grant;
  // An existing Okta session does not bypass app assignment (e.g. the user was
  // unassigned meanwhile, or is assigned to another app only): Okta answers the
  // authorize request with access_denied, redirected to the client with state.
  const user = findUserBySub(accountId);
  if (!user || !isAssigned(user, client.clientId)) {
    throw new errors.AccessDenied(NOT_ASSIGNED);
  }
  if (grant && grant.accountId !== accountId) grant = undefined;
  if (!grant) {
    grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
  }
  const scopes = [...ctx.oidc.requestParamOIDCScopes];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const claims = [...ctx.oidc.requestParamClaims];
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

function buildProvider(keys) {
  const provider = new Provider(ISSUER, {
    adapter,
    clients: CLIENTS.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      client_name: c.name,
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
      require_auth_time: true, // Okta's ID tokens always carry auth_time
    })),
    jwks: { keys },
    findAccount,
    loadExistingGrant,
    conformIdTokenClaims: true,
    claims: CLAIMS,
    scopes: ['openid', 'email', 'profile'],
    pkce: { required: () => false },
    cookies: {
      keys: COOKIE_KEYS,
      long: { httpOnly: true, sameSite: 'lax', secure: false },
      short: { httpOnly: true, sameSite: 'lax', secure: false },
    },
    routes: {
      authorization: '/oauth2/v1/authorize',
      token: '/oauth2/v1/token',
      jwks: '/oauth2/v1/keys',
      userinfo: '/oauth2/v1/userinfo',
      end_session: '/oauth2/v1/logout',
      revocation: '/oauth2/v1/revoke',
      introspection: '/oauth2/v1/introspect',
      pushed_authorization_request: '/oauth2/v1/par',
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async () => true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          // Okta signs out without asking; auto-submit the confirmation form.
          ctx.body = page('Signing out', `
<main><div class="card"><h1>Signing out&hellip;</h1>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>')}
<button type="submit" form="op.logoutForm" value="yes" name="logout" id="okta-signout-submit">Sign out</button>
</div></main>
<script>document.getElementById('op.logoutForm').submit()</script>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<main><div class="card"><h1 id="okta-signed-out">You have been signed out</h1></div></main>');
        },
      },
    },
    clientBasedCORS: () => false,
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 300,
      IdToken: 3600,
      Interaction: 3600,
      Session: 2 * 3600,
      Grant: 24 * 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(ctx.status, out.error, out.error_description);
    },
  });
  provider.proxy = false;
  provider.on('server_error', (ctx, err) => console.error('[okta-dev] server_error', err));
  if (VERBOSE) {
    for (const ev of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error']) {
      provider.on(ev, (ctx, err) => log(ev, err.error, err.error_description));
    }
  }
  return { provider, callback: provider.callback() };
}

let current = buildProvider(signingKeys);

// --------------------------------------------------------------------------
// HTTP plumbing
// --------------------------------------------------------------------------

function send(res, status, body, type = 'text/html; charset=utf-8', headers = {}) {
  res.writeHead(status, {
    'Content-Type': type, 'Cache-Control': 'no-store', ...headers,
  });
  res.end(body);
}

function sendJson(res, status, obj) {
  send(res, status, `${JSON.stringify(obj)}\n`, 'application/json');
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req) {
  const raw = await readBody(req);
  if (!raw.trim()) return {};
  return JSON.parse(raw);
}

function publicUser(u) {
  return {
    username: u.username, sub: u.sub, email: u.email, name: u.name, assigned: u.assigned,
  };
}

async function handleInteraction(req, res, uid) {
  const { provider } = current;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, errorPage(400, 'invalid_request', `interaction session not found or expired (${err.message})`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, errorPage(400, 'invalid_request', 'interaction mismatch'));
    return;
  }
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    send(res, 200, loginPage({ uid, client: params.client_id, username: params.login_hint || '' }));
    return;
  }
  // Any other prompt (consent): no consent screen at Okta, grant and continue.
  await finishConsent(provider, req, res, details);
}

async function finishConsent(provider, req, res, details) {
  const { prompt: { details: missing = {} }, params, session } = details;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function handleLogin(req, res, uid) {
  const { provider } = current;
  const form = new URLSearchParams(await readBody(req));
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, errorPage(400, 'invalid_request', `interaction session not found or expired (${err.message})`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, errorPage(400, 'invalid_request', 'interaction mismatch'));
    return;
  }
  const username = form.get('username') || '';
  const password = form.get('password') || '';
  const user = findUserByLogin(username);
  if (!user || password !== PASSWORD) {
    log('login failed for', username);
    send(res, 200, loginPage({
      uid, client: details.params.client_id, username, error: 'Unable to sign in',
    }));
    return;
  }
  const clientId = details.params.client_id;
  if (!isAssigned(user, clientId)) {
    log('login of unassigned user', user.username, 'for', clientId);
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: NOT_ASSIGNED,
    }, { mergeWithLastSubmission: false });
    return;
  }
  log('login ok', user.username, 'for', clientId);
  await provider.interactionFinished(req, res, {
    login: { accountId: user.sub, amr: ['pwd'], remember: true },
  }, { mergeWithLastSubmission: false });
}

function dashboard() {
  const tiles = CLIENTS.map((c) => {
    const href = c.initiate_login_uri
      ? `${c.initiate_login_uri}${c.initiate_login_uri.includes('?') ? '&' : '?'}iss=${encodeURIComponent(ISSUER)}`
      : '#';
    return `<a class="app-tile" data-client-id="${esc(c.client_id)}" href="${esc(href)}">${esc(c.name)}</a>`;
  }).join('\n');
  return page('My Apps', `
<main>
<h1>My Apps</h1>
<div class="tiles" id="app-tiles">
${tiles}
</div>
</main>`);
}

async function handleDev(req, res, url) {
  const path = url.pathname;
  if (path === '/__dev/health' && req.method === 'GET') {
    sendJson(res, 200, { ok: true, issuer: ISSUER });
    return;
  }
  if (path === '/__dev/rotate-keys' && req.method === 'POST') {
    const dropOld = /^(1|true|yes)$/i.test(url.searchParams.get('drop_old') || '');
    const key = generateSigningKey();
    signingKeys = dropOld ? [key] : [key, ...signingKeys];
    current = buildProvider(signingKeys);
    log('rotated keys; signing kid', key.kid, 'published', signingKeys.map((k) => k.kid).join(','));
    sendJson(res, 200, { kid: key.kid, kids: signingKeys.map((k) => k.kid) });
    return;
  }
  if (path === '/__dev/users' && req.method === 'GET') {
    sendJson(res, 200, [...users.values()].map(publicUser));
    return;
  }
  if (path === '/__dev/users' && req.method === 'POST') {
    const body = await readJson(req);
    if (!body.username) {
      sendJson(res, 400, { error: 'username is required' });
      return;
    }
    const u = addUser({ ...body, assigned: body.assigned === undefined ? true : body.assigned });
    sendJson(res, 201, publicUser(u));
    return;
  }
  const m = /^\/__dev\/users\/([^/]+)\/email$/.exec(path);
  if (m && req.method === 'POST') {
    const user = findUserByLogin(decodeURIComponent(m[1]));
    if (!user) {
      sendJson(res, 404, { error: 'no such user' });
      return;
    }
    const body = await readJson(req);
    if (typeof body.email !== 'string' || !body.email.includes('@')) {
      sendJson(res, 400, { error: 'email is required' });
      return;
    }
    user.email = body.email;
    user.updated_at = Math.floor(Date.now() / 1000);
    sendJson(res, 200, publicUser(user));
    return;
  }
  const a = /^\/__dev\/users\/([^/]+)\/assigned$/.exec(path);
  if (a && req.method === 'POST') {
    const user = findUserByLogin(decodeURIComponent(a[1]));
    if (!user) {
      sendJson(res, 404, { error: 'no such user' });
      return;
    }
    const body = await readJson(req);
    if (typeof body.assigned !== 'boolean' && !Array.isArray(body.assigned)) {
      sendJson(res, 400, { error: 'assigned must be a boolean or an array of client_ids' });
      return;
    }
    user.assigned = body.assigned;
    sendJson(res, 200, publicUser(user));
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}

async function route(req, res) {
  const url = new URL(req.url, ORIGIN);
  const path = url.pathname;

  if (path === '/' && req.method === 'GET') {
    send(res, 302, '', 'text/plain', { Location: '/app/UserHome' });
    return;
  }
  if (path === '/app/UserHome' && req.method === 'GET') {
    send(res, 200, dashboard());
    return;
  }
  if (path.startsWith('/__dev/')) {
    await handleDev(req, res, url);
    return;
  }
  let m = /^\/interaction\/([^/]+)$/.exec(path);
  if (m && req.method === 'GET') {
    await handleInteraction(req, res, m[1]);
    return;
  }
  m = /^\/interaction\/([^/]+)\/login$/.exec(path);
  if (m && req.method === 'POST') {
    await handleLogin(req, res, m[1]);
    return;
  }
  if (MOUNT) {
    if (path !== MOUNT && !path.startsWith(`${MOUNT}/`)) {
      send(res, 404, errorPage(404, 'not_found', `the issuer lives at ${ISSUER}`));
      return;
    }
    // Mounted like a sub-app: oidc-provider reads its mount path from originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(MOUNT.length) || '/';
  }
  current.callback(req, res);
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    console.error('[okta-dev] error', req.method, req.url, err);
    if (!res.headersSent) {
      send(res, 500, errorPage(500, 'server_error', err.message));
    } else {
      res.end();
    }
  });
});
server.keepAliveTimeout = 5000;

server.on('error', (err) => {
  console.error(`[okta-dev] cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  process.stdout.write(`okta-dev ready ${ISSUER}\n`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log('received', signal, 'shutting down');
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
