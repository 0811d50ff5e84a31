#!/usr/bin/env node
// okta-dev: a local stand-in for an Okta *org authorization server*, built on
// oidc-provider v9. It serves Okta's routes (/oauth2/v1/*), issues thin ID
// tokens (profile claims only from /userinfo), refuses users who are not
// assigned to the application exactly like Okta does, publishes an end-user
// dashboard with app tiles (/app/UserHome), provisions the app over SCIM 2.0
// like Okta's lifecycle management (scim.mjs; /__dev/scim/* and the admin page
// /admin/app), sends Okta's Universal Logout requests and Shared Signals (SSF)
// security events signed with its ID-token key (signals.mjs; /__dev/sign,
// /__dev/universal-logout, /__dev/ssf/*) and has a few /__dev/* switches for
// tests (key rotation, users, e-mail change).
//
// See README.md in this directory for the contract.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import { ScimInputError, ScimProvisioner } from './scim.mjs';
import {
  EVENTS, SignalInputError, Signer, SsfTransmitter, UniversalLogout, signAction,
} from './signals.mjs';

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

// The app integration SCIM provisions: assigning a user to it also allows them to sign in to it.
const SCIM_CLIENT_ID = process.env.OKTA_DEV_SCIM_CLIENT_ID || CLIENTS[0].client_id;
const SCIM_APP = CLIENTS.find((c) => c.client_id === SCIM_CLIENT_ID);
if (!SCIM_APP) {
  console.error(`[okta-dev] OKTA_DEV_SCIM_CLIENT_ID ${SCIM_CLIENT_ID} is not one of the clients`);
  process.exit(1);
}

// Validated before any key or provider exists: exiting with crypto work in flight can hang Node 20.
let scim;
try {
  scim = new ScimProvisioner({
    baseUrl: process.env.OKTA_DEV_SCIM_URL || null,
    token: process.env.OKTA_DEV_SCIM_TOKEN || null,
    updateMode: (process.env.OKTA_DEV_SCIM_UPDATE || 'patch').trim().toLowerCase(),
    sendPassword: /^(1|true|yes)$/i.test(process.env.OKTA_DEV_SCIM_PASSWORD || ''),
  });
} catch (err) {
  console.error(`[okta-dev] invalid SCIM configuration (OKTA_DEV_SCIM_*): ${err.message}`);
  process.exit(1);
}

// Universal Logout and Shared Signals sign with the key that currently signs ID tokens
// (signingKeys[0], below): the app verifies them with the JWKS it already trusts.
const signer = new Signer(() => signingKeys[0]);
const signalUser = (login) => findUserByLogin(login) || findUserBySub(login.trim());
let universalLogout;
let ssf;
try {
  universalLogout = new UniversalLogout({
    issuer: ISSUER,
    signer,
    findUser: signalUser,
    endSessions: (sub) => endSessions(sub),
    defaultClientId: CLIENTS[0].client_id,
    endpoint: process.env.OKTA_DEV_UL_URL || null,
    clientId: process.env.OKTA_DEV_UL_CLIENT_ID || null,
    format: (process.env.OKTA_DEV_UL_FORMAT || 'iss_sub').trim().toLowerCase(),
  });
  ssf = new SsfTransmitter({
    issuer: ISSUER,
    signer,
    findUser: signalUser,
    endpointUrl: process.env.OKTA_DEV_SSF_URL || null,
    aud: process.env.OKTA_DEV_SSF_AUD || null,
    format: (process.env.OKTA_DEV_SSF_FORMAT || 'iss_sub').trim().toLowerCase(),
  });
} catch (err) {
  console.error(`[okta-dev] invalid Universal Logout / Shared Signals configuration (OKTA_DEV_UL_*, OKTA_DEV_SSF_*): ${err.message}`);
  process.exit(1);
}

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
    // A deactivated Okta user cannot sign in; their sessions end and tokens stop working.
    deactivated: false,
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
  // The key leaves the generation job as PEM and is exported from a key object of its own:
  // exporting the job's own KeyObject can deadlock Node 20 when the garbage collector frees the
  // finished job during the export (seen as okta-dev hanging at start, no output, in a futex).
  const { privateKey: pem } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
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

function userClaims(user) {
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
}

async function findAccount(ctx, sub) {
  const user = findUserBySub(sub);
  if (!user || user.deactivated) return undefined;
  return {
    accountId: user.sub,
    async claims() {
      // The provider filters these by granted scope; with conformIdTokenClaims
      // the ID token of the code flow only carries sub (+ protocol claims).
      return userClaims(user);
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
    username: u.username, sub: u.sub, email: u.email, name: u.name, assigned: u.assigned, deactivated: u.deactivated,
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
  if (!user || user.deactivated || password !== PASSWORD) {
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

// --------------------------------------------------------------------------
// SCIM provisioning: the Okta side (requests built in scim.mjs)
// --------------------------------------------------------------------------

/** The user's Okta app profile as the SCIM app receives it (userName is the login: the email). */
function scimProfile(user) {
  const claims = userClaims(user);
  const login = typeof claims.preferred_username === 'string' && claims.preferred_username
    ? claims.preferred_username : user.email;
  return {
    sub: user.sub,
    userName: login,
    givenName: user.given_name,
    familyName: user.family_name,
    displayName: user.name,
    email: user.email,
    locale: 'en-US',
  };
}

function setAssigned(user, clientId, on) {
  const all = CLIENTS.map((c) => c.client_id);
  let current = [];
  if (user.assigned === true) current = all;
  else if (Array.isArray(user.assigned)) current = user.assigned;
  const set = new Set(current);
  if (on) set.add(clientId); else set.delete(clientId);
  if (all.every((id) => set.has(id)) && set.size === all.length) user.assigned = true;
  else user.assigned = set.size ? [...set] : false;
}

/** Ends the user's okta-dev sessions, as Okta does when it deactivates a user. */
function endSessions(sub) {
  for (const [key, entry] of store.map) {
    if (key.startsWith('Session:') && entry.value?.accountId === sub) {
      store.delete(key);
      if (entry.value.uid) store.delete(`sessionUid:${entry.value.uid}`);
    }
  }
}

function requireString(body, field, max = 256) {
  const v = body[field];
  if (typeof v !== 'string' || !v.trim() || v.length > max) {
    throw new ScimInputError(400, `${field} is required (a non-empty string of at most ${max} characters)`);
  }
  return v.trim();
}

function requireUser(body) {
  const login = requireString(body, 'user');
  const user = findUserByLogin(login);
  if (!user) throw new ScimInputError(404, `no such user: ${login}`);
  return user;
}

function requireScim() {
  if (!scim.configured) {
    throw new ScimInputError(409, 'SCIM provisioning is not configured: POST /__dev/scim/config {"base_url", "token"} first');
  }
}

/** A linked app user Okta keeps provisioning (assigned, and the Okta user active). */
function provisioned(user) {
  const link = scim.link(user.sub);
  return link && link.assigned && !user.deactivated ? link : undefined;
}

const NOTHING_SENT = { ok: true, requests: [] };

// Each action takes the JSON body of POST /__dev/scim/<action> and answers {ok, requests, ...}.
const SCIM_ACTIONS = {
  async assign(body) {
    const user = requireUser(body);
    requireScim();
    setAssigned(user, SCIM_CLIENT_ID, true);
    return { ...(await scim.assign(scimProfile(user))), user: user.username };
  },
  async unassign(body) {
    const user = requireUser(body);
    requireScim();
    setAssigned(user, SCIM_CLIENT_ID, false);
    return { ...(await scim.setActive(scimProfile(user), false, { assigned: false })), user: user.username };
  },
  async deactivate(body) {
    const user = requireUser(body);
    requireScim();
    const link = provisioned(user);
    user.deactivated = true;
    endSessions(user.sub);
    if (!link) return { ...NOTHING_SENT, user: user.username, scim_id: scim.link(user.sub)?.id ?? null };
    return { ...(await scim.setActive(scimProfile(user), false)), user: user.username };
  },
  async reactivate(body) {
    const user = requireUser(body);
    requireScim();
    user.deactivated = false;
    const link = provisioned(user);
    if (!link) return { ...NOTHING_SENT, user: user.username, scim_id: scim.link(user.sub)?.id ?? null };
    return { ...(await scim.setActive(scimProfile(user), true)), user: user.username };
  },
  async profile(body) {
    const user = requireUser(body);
    requireScim();
    const given = body.given_name === undefined ? user.given_name : requireString(body, 'given_name');
    const family = body.family_name === undefined ? user.family_name : requireString(body, 'family_name');
    const email = body.email === undefined ? user.email : requireString(body, 'email');
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new ScimInputError(400, 'email must look like name@domain');
    user.given_name = given;
    user.family_name = family;
    user.name = `${given} ${family}`.trim();
    user.email = email;
    user.updated_at = Math.floor(Date.now() / 1000);
    const link = provisioned(user);
    if (!link) return { ...NOTHING_SENT, user: user.username, scim_id: scim.link(user.sub)?.id ?? null };
    return { ...(await scim.updateProfile(scimProfile(user))), user: user.username };
  },
  async groups(body) {
    const name = requireString(body, 'name');
    if (!Array.isArray(body.members) || body.members.length > 10_000) {
      throw new ScimInputError(400, 'members must be an array of usernames or emails (at most 10000)');
    }
    const members = [];
    const skipped = [];
    const seen = new Set();
    for (const login of body.members) {
      if (typeof login !== 'string') throw new ScimInputError(400, 'members must be an array of usernames or emails');
      const user = findUserByLogin(login);
      if (!user) throw new ScimInputError(404, `no such user: ${login}`);
      if (seen.has(user.sub)) continue;
      seen.add(user.sub);
      // Group Push only carries members who are provisioned to the app.
      if (provisioned(user)) members.push({ sub: user.sub });
      else skipped.push({ user: user.username, reason: user.deactivated ? 'deactivated' : 'not assigned to the app' });
    }
    requireScim();
    return { ...(await scim.pushGroup(name, members)), group: name, skipped };
  },
  async 'groups/rename'(body) {
    const name = requireString(body, 'name');
    const newName = requireString(body, 'new_name');
    requireScim();
    if (!scim.group(name)) throw new ScimInputError(404, `group not pushed: ${name}`);
    const other = scim.group(newName);
    if (other && other !== scim.group(name)) throw new ScimInputError(409, `another pushed group is named ${newName}`);
    return { ...(await scim.renameGroup(name, newName)), group: newName };
  },
  async 'groups/delete'(body) {
    const name = requireString(body, 'name');
    requireScim();
    if (!scim.group(name)) throw new ScimInputError(404, `group not pushed: ${name}`);
    return { ...(await scim.deleteGroup(name)), group: name };
  },
};

function scimState() {
  return {
    ...scim.describe(),
    client_id: SCIM_CLIENT_ID,
    users: [...scim.users].map(([sub, link]) => ({
      sub,
      username: usersBySub.get(sub)?.username ?? null,
      scim_id: link.id,
      userName: link.userName,
      active: link.active,
      assigned: link.assigned,
    })),
    groups: [...scim.groups.values()].map((g) => ({
      name: g.displayName, scim_id: g.id, members: [...g.members.values()],
    })),
  };
}

async function readJsonObject(req) {
  let body;
  try {
    body = await readJson(req);
  } catch (err) {
    if (err.message === 'body too large') throw new ScimInputError(413, 'body too large');
    throw new ScimInputError(400, 'invalid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ScimInputError(400, 'expected a JSON object');
  }
  return body;
}

/** Runs one SCIM action; answers [status, json]. */
async function runScimAction(action, body) {
  try {
    if (action === 'config') return [200, { ok: true, ...scim.configure(body) }];
    return [200, await SCIM_ACTIONS[action](body)];
  } catch (err) {
    if (err instanceof ScimInputError) return [err.status, { ok: false, error: err.message, requests: [] }];
    throw err;
  }
}

async function handleScimDev(req, res, url) {
  const action = url.pathname.slice('/__dev/scim/'.length);
  if (req.method === 'GET') {
    if (action === 'log') {
      sendJson(res, 200, { requests: scim.recent() });
      return;
    }
    if (action === 'state' || action === 'config') {
      sendJson(res, 200, scimState());
      return;
    }
  }
  if (req.method === 'POST' && (action === 'config' || Object.hasOwn(SCIM_ACTIONS, action))) {
    let body;
    try {
      body = await readJsonObject(req);
    } catch (err) {
      sendJson(res, err.status, { ok: false, error: err.message, requests: [] });
      return;
    }
    const [status, out] = await runScimAction(action, body);
    sendJson(res, status, out);
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}

// --------------------------------------------------------------------------
// Universal Logout and Shared Signals: the Okta side (tokens and requests built in signals.mjs)
// --------------------------------------------------------------------------

// POST /__dev/<action>: each takes the JSON body and answers [status, json].
const SIGNAL_POSTS = {
  sign: async (body) => [200, signAction(signer, body)],
  'universal-logout': (body) => universalLogout.send(body),
  'universal-logout/config': async (body) => [200, { ok: true, ...universalLogout.configure(body) }],
  'ssf/stream': async (body) => [200, { ok: true, ...ssf.configure(body) }],
  'ssf/push': (body) => ssf.push(body),
  'ssf/verify': async (body) => {
    ssf.verify(body);
    return [204, null];
  },
};

// GET /__dev/<action>.
const SIGNAL_GETS = {
  'universal-logout/config': () => universalLogout.describe(),
  'universal-logout/log': () => ({ requests: universalLogout.log.recent() }),
  'ssf/stream': () => ssf.describe(),
  'ssf/log': () => ({ requests: ssf.log.recent() }),
};

/** Runs one signal action; answers [status, json]. */
async function runSignalAction(action, body) {
  try {
    return await SIGNAL_POSTS[action](body);
  } catch (err) {
    if (err instanceof SignalInputError) return [err.status, { ok: false, error: err.message }];
    throw err;
  }
}

/** Serves /__dev/<action> when it is a signal action; answers whether it did. */
async function handleSignalsDev(req, res, action) {
  if (req.method === 'GET' && Object.hasOwn(SIGNAL_GETS, action)) {
    sendJson(res, 200, SIGNAL_GETS[action]());
    return true;
  }
  if (req.method !== 'POST' || !Object.hasOwn(SIGNAL_POSTS, action)) return false;
  let body;
  try {
    body = await readJsonObject(req);
  } catch (err) {
    sendJson(res, err.status || 400, { ok: false, error: err.message });
    return true;
  }
  const [status, out] = await runSignalAction(action, body);
  if (out === null) send(res, status, '', 'text/plain');
  else sendJson(res, status, out);
  return true;
}

// SSF discovery at the issuer: under its path like OIDC discovery, and (issuer with a path)
// also with the well-known segment inserted before the path, as SSF 1.0 §7.2.1 describes.
const SSF_WELL_KNOWN = [`${MOUNT}/.well-known/ssf-configuration`];
if (MOUNT) SSF_WELL_KNOWN.push(`/.well-known/ssf-configuration${MOUNT}`);

function ssfConfiguration() {
  return ssf.metadata({ jwksUri: `${ORIGIN}${MOUNT}/oauth2/v1/keys`, devOrigin: ORIGIN });
}

// --------------------------------------------------------------------------
// "Okta Admin Console": the app's Provisioning, Assignments and Push Groups tabs
// --------------------------------------------------------------------------

const ADMIN_STYLE = `
  main.admin{max-width:1000px}
  main.admin h2{font-size:1.1em;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:6px}
  main.admin table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
  main.admin th,main.admin td{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
  main.admin form.inline{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0}
  main.admin form.row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:10px 0}
  main.admin form.row label{margin:0}
  main.admin input[type=text],main.admin input[type=password],main.admin select{width:auto;min-width:180px;height:32px}
  main.admin button{width:auto;height:32px;margin:0;padding:0 12px;font-size:.9em}
  main.admin button.danger{background:#b42318}
  main.admin pre{white-space:pre-wrap;word-break:break-all;margin:4px 0;font-size:.85em;background:#f7f7f7;padding:6px}
  .result{border-radius:4px;padding:10px 14px;margin:16px 0;border:1px solid}
  .result.ok{background:#ecfdf3;border-color:#a6e2bd}
  .result.failed{background:#fde8e8;border-color:#e0b4b4}
`;

function resultHtml(action, status, out) {
  if (!out) return '';
  const cls = out.ok ? 'ok' : 'failed';
  const title = out.ok ? `${action}: done` : `${action}: failed${out.error ? ` (${out.error})` : ''}`;
  const requests = (out.requests || []).map((r) => `<li><code>${esc(r.method)} ${esc(r.path)}</code> &rarr; <strong>${esc(r.status ?? r.error ?? '')}</strong>${r.error ? ` ${esc(r.error)}` : ''}
${r.request !== undefined ? `<div>sent</div><pre>${esc(JSON.stringify(r.request, null, 2))}</pre>` : ''}${r.body !== null && r.body !== undefined ? `<div>received</div><pre>${esc(typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2))}</pre>` : ''}</li>`).join('\n');
  const skipped = out.skipped?.length
    ? `<p>Not pushed (not provisioned): ${out.skipped.map((s) => `${esc(s.user)} (${esc(s.reason)})`).join(', ')}</p>` : '';
  return `<div class="result ${cls}" id="scim-result" role="status" data-ok="${out.ok ? 'true' : 'false'}" data-status="${esc(status)}">
<strong id="scim-result-title">${esc(title)}</strong>
${skipped}
${requests ? `<ol id="scim-result-requests">${requests}</ol>` : '<p>No SCIM request was needed.</p>'}
</div>`;
}

function adminPage(result = '') {
  const cfg = scim.describe();
  const userRows = [...users.values()].map((u) => {
    const link = scim.link(u.sub);
    const inApp = isAssigned(u, SCIM_CLIENT_ID);
    let appStatus = '—';
    if (link) appStatus = link.active ? 'active' : 'inactive';
    return `<tr data-user="${esc(u.username)}">
<td>${esc(u.username)}</td><td>${esc(u.email)}</td><td>${esc(u.name)}</td>
<td>${u.deactivated ? 'Deactivated' : 'Active'}</td><td>${inApp ? 'yes' : 'no'}</td>
<td>${esc(link?.id ?? '—')}</td><td>${esc(appStatus)}</td>
<td><form method="post" action="/admin/app" class="inline"><input type="hidden" name="user" value="${esc(u.username)}">
${inApp ? '<button name="action" value="unassign">Unassign</button>' : '<button name="action" value="assign">Assign</button>'}
${u.deactivated ? '<button name="action" value="reactivate">Reactivate</button>' : '<button name="action" value="deactivate" class="danger">Deactivate</button>'}
</form>
<form method="post" action="/admin/app" class="inline"><input type="hidden" name="action" value="clear-sessions"><input type="hidden" name="user" value="${esc(u.username)}">
<button id="clear-sessions-${esc(u.username)}" data-testid="clear-sessions-${esc(u.username)}" aria-label="Clear user sessions for ${esc(u.username)}">Clear user sessions</button>
</form></td></tr>`;
  }).join('\n');
  const groupRows = [...scim.groups.values()].map((g) => `<tr data-group="${esc(g.displayName)}">
<td>${esc(g.displayName)}</td><td>${esc(g.id)}</td><td>${[...g.members.values()].map(esc).join(', ') || '—'}</td>
<td><form method="post" action="/admin/app" class="inline"><input type="hidden" name="action" value="rename"><input type="hidden" name="name" value="${esc(g.displayName)}">
<input type="text" name="new_name" aria-label="New name for ${esc(g.displayName)}" placeholder="new name"><button>Rename</button></form>
<form method="post" action="/admin/app" class="inline"><input type="hidden" name="action" value="delete"><input type="hidden" name="name" value="${esc(g.displayName)}">
<button class="danger">Unlink and delete in app</button></form></td></tr>`).join('\n');
  const logRows = scim.recent().slice().reverse().map((r) => `<tr><td>${esc(r.at)}</td><td>${esc(r.method)}</td><td><code>${esc(r.path)}</code></td><td>${esc(r.status ?? r.error ?? '')}</td><td>${esc(r.ms)}</td></tr>`).join('\n');
  const modes = ['patch', 'put', 'oin'].map((m) => `<option value="${m}"${cfg.update_mode === m ? ' selected' : ''}>${m}</option>`).join('');
  return page('Okta Admin Console', `<style>${ADMIN_STYLE}</style>
<main class="admin">
<h1>Okta Admin Console &middot; Applications &middot; <span id="admin-app-name">${esc(SCIM_APP.name)}</span></h1>
${result}
<section id="provisioning">
<h2>Provisioning &middot; To App (SCIM 2.0)</h2>
<p>SCIM connector base URL: <code id="scim-base-url">${esc(cfg.base_url || 'not configured')}</code>;
API token: <span id="scim-token-set">${cfg.token_set ? 'set' : 'not set'}</span>; updates: ${esc(cfg.update_mode)}.</p>
<form method="post" action="/admin/app" class="row" id="scim-config-form"><input type="hidden" name="action" value="config">
<label>Base URL <input type="text" name="base_url" value="${esc(cfg.base_url || '')}" placeholder="http://127.0.0.1:3000/scim/v2"></label>
<label>API token <input type="password" name="token" placeholder="${cfg.token_set ? 'unchanged' : 'Bearer token'}" autocomplete="off"></label>
<label>Updates <select name="update_mode">${modes}</select></label>
<button>Save</button></form>
</section>
<section id="assignments">
<h2>Assignments</h2>
<table id="assignments-table"><thead><tr><th>Username</th><th>Email</th><th>Name</th><th>Okta status</th><th>Assigned</th><th>SCIM id</th><th>In app</th><th></th></tr></thead>
<tbody>${userRows}</tbody></table>
<form method="post" action="/admin/app" class="row" id="assign-form"><input type="hidden" name="action" value="assign">
<label>Assign another user <input type="text" name="user" placeholder="user42 or user42@example.com"></label><button>Assign</button></form>
<form method="post" action="/admin/app" class="row" id="profile-form"><input type="hidden" name="action" value="profile">
<label>User <input type="text" name="user"></label><label>First name <input type="text" name="given_name"></label>
<label>Last name <input type="text" name="family_name"></label><label>Email <input type="text" name="email"></label>
<button>Update profile</button></form>
</section>
<section id="push-groups">
<h2>Push Groups</h2>
<table id="groups-table"><thead><tr><th>Group</th><th>SCIM id</th><th>Members in app</th><th></th></tr></thead>
<tbody>${groupRows || '<tr><td colspan="4">No pushed groups</td></tr>'}</tbody></table>
<form method="post" action="/admin/app" class="row" id="push-group-form"><input type="hidden" name="action" value="push">
<label>Group <input type="text" name="name" placeholder="Engineering"></label>
<label>Members <input type="text" name="members" placeholder="alice, bob"></label><button>Push group</button></form>
</section>
${signalsSections()}
<section id="scim-log">
<h2>Recent SCIM requests</h2>
<table><thead><tr><th>Time</th><th>Method</th><th>Path</th><th>Status</th><th>ms</th></tr></thead>
<tbody>${logRows || '<tr><td colspan="5">None yet</td></tr>'}</tbody></table>
</section>
</main>`);
}

const EVENT_LABELS = {
  'session-revoked': 'Session revoked (CAEP)',
  'credential-change': 'Credential change (CAEP)',
  'account-disabled': 'Account disabled (RISC)',
  'account-enabled': 'Account enabled (RISC)',
  verification: 'Stream verification (SSF)',
};

function formatOptions(selected) {
  return [['iss_sub', 'Issuer and subject (iss_sub)'], ['email', 'Email (email)']]
    .map(([v, label]) => `<option value="${v}"${selected === v ? ' selected' : ''}>${label}</option>`).join('');
}

/** The Universal Logout and Shared Signals sections of the admin page. */
function signalsSections() {
  const ul = universalLogout.describe();
  const stream = ssf.describe();
  const aud = Array.isArray(stream.aud) ? stream.aud.join(' ') : stream.aud;
  const events = Object.keys(EVENTS).map((e) => `<option value="${e}">${esc(EVENT_LABELS[e])}</option>`).join('');
  const userOptions = [...users.values()].map((u) => `<option value="${esc(u.username)}">${esc(u.username)} (${esc(u.email)})</option>`).join('');
  const log = [
    ...universalLogout.log.recent().map((r) => ({ ...r, kind: 'Universal Logout', event: '' })),
    ...ssf.log.recent().map((r) => ({ ...r, kind: 'SET push' })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  const logRows = log.map((r) => `<tr><td>${esc(r.at)}</td><td>${esc(r.kind)}</td><td>${esc(r.event)}</td><td>${esc(r.user ?? '')}</td><td><code>${esc(r.endpoint)}</code></td><td>${esc(r.status ?? r.error ?? '')}</td><td>${esc(r.ms)}</td></tr>`).join('\n');
  return `<section id="universal-logout">
<h2>Universal Logout</h2>
<p>Global token revocation endpoint: <code id="ul-endpoint-current">${esc(ul.endpoint || 'not configured')}</code>;
JWT subject (client): <code>${esc(ul.client_id)}</code>; user identified by ${esc(ul.format)}.
"Clear user sessions" (Assignments) ends the user's Okta sessions and sends the app a signed revocation request.</p>
<form method="post" action="/admin/app" class="row" id="ul-config-form"><input type="hidden" name="action" value="ul-config">
<label>Endpoint <input type="text" name="endpoint" id="ul-endpoint" value="${esc(ul.endpoint || '')}" placeholder="http://127.0.0.1:3000/oauth/global-token-revocation"></label>
<label>Subject format <select name="format" id="ul-format">${formatOptions(ul.format)}</select></label>
<button id="ul-config-save">Save</button></form>
</section>
<section id="shared-signals">
<h2>Shared Signals</h2>
<p>Stream <code id="ssf-stream-id">${esc(stream.stream_id)}</code>: receiver <code id="ssf-endpoint-current">${esc(stream.endpoint_url || 'not configured')}</code>,
audience <code id="ssf-aud-current">${esc(aud || 'not configured')}</code>, subjects by ${esc(stream.format)}, push delivery (RFC 8935).</p>
<form method="post" action="/admin/app" class="row" id="ssf-stream-form"><input type="hidden" name="action" value="ssf-stream">
<label>Receiver URL <input type="text" name="endpoint_url" id="ssf-endpoint-url" value="${esc(stream.endpoint_url || '')}" placeholder="http://127.0.0.1:3000/ssf/events"></label>
<label>Audience <input type="text" name="aud" id="ssf-aud" value="${esc(aud || '')}" placeholder="http://127.0.0.1:3000/ssf/orgs/acme"></label>
<label>Subject format <select name="format" id="ssf-format">${formatOptions(stream.format)}</select></label>
<button id="ssf-stream-save">Save stream</button></form>
<form method="post" action="/admin/app" class="row" id="ssf-push-form"><input type="hidden" name="action" value="ssf-push">
<label>Event <select name="event" id="ssf-event">${events}</select></label>
<label>User <select name="user" id="ssf-user">${userOptions}</select></label>
<label>State (verification) <input type="text" name="state" id="ssf-state"></label>
<button id="ssf-push" data-testid="ssf-push">Push event</button></form>
</section>
<section id="signals-log">
<h2>Recent signals</h2>
<table><thead><tr><th>Time</th><th>Kind</th><th>Event</th><th>User</th><th>Endpoint</th><th>Status</th><th>ms</th></tr></thead>
<tbody>${logRows || '<tr><td colspan="7">None yet</td></tr>'}</tbody></table>
</section>`;
}

/**
 * Form fields of the admin page -> a signal action: `{id, title, run}` where `id` is the
 * result block's id (ul-result or ssf-result) and `run()` answers [status, json]; null for others.
 */
function signalAdminRequest(form) {
  const field = (k) => (form.get(k) || '').trim();
  const user = field('user');
  switch (field('action')) {
    case 'clear-sessions':
      // Okta's "Clear user sessions": the Okta sessions end (Universal Logout configured or not),
      // then the app is told.
      return {
        id: 'ul-result',
        title: `Clear user sessions for ${user}`,
        run: () => {
          const found = user ? signalUser(user) : undefined;
          if (found) endSessions(found.sub);
          return runSignalAction('universal-logout', { user });
        },
      };
    case 'ul-config':
      return {
        id: 'ul-result',
        title: 'Universal Logout configuration',
        run: () => runSignalAction('universal-logout/config', { endpoint: field('endpoint') || null, format: field('format') || null }),
      };
    case 'ssf-stream':
      return {
        id: 'ssf-result',
        title: 'Shared Signals stream',
        run: () => runSignalAction('ssf/stream', {
          endpoint_url: field('endpoint_url') || null, aud: field('aud') || null, format: field('format') || null,
        }),
      };
    case 'ssf-push': {
      const event = field('event');
      const body = { event };
      if (event === 'verification') {
        if (field('state')) body.state = field('state');
      } else {
        body.user = user;
      }
      return { id: 'ssf-result', title: `Push ${event}${event === 'verification' ? '' : ` for ${user}`}`, run: () => runSignalAction('ssf/push', body) };
    }
    default:
      return null;
  }
}

/** The result of a signal action: what the app answered (data-status: its HTTP status). */
function signalResultHtml(id, title, out) {
  const delivered = out.status !== undefined;
  let heading;
  if (!out.ok) heading = `${title}: failed${out.error ? ` (${out.error})` : ''}`;
  else heading = `${title}: ${delivered ? 'done' : 'saved'}`;
  const answer = delivered && out.status !== null
    ? `<p>Sent to <code>${esc(out.endpoint)}</code>; the app answered <strong id="${id}-status">${esc(out.status)}</strong>.</p>
${out.body ? `<div>received</div><pre>${esc(out.body)}</pre>` : ''}` : '';
  const token = out.jwt ? `<div>sent (jti <code>${esc(out.jti ?? '')}</code>)</div><pre>${esc(out.jwt)}</pre>` : '';
  return `<div class="result ${out.ok ? 'ok' : 'failed'}" id="${id}" role="status" data-ok="${out.ok ? 'true' : 'false'}" data-status="${esc(out.status ?? '')}">
<strong id="${id}-title">${esc(heading)}</strong>
${answer}${token}
</div>`;
}

/** Form fields of the admin page -> the JSON body of the matching /__dev/scim action. */
function adminRequest(form) {
  const field = (k) => (form.get(k) || '').trim();
  const action = field('action');
  switch (action) {
    case 'config': {
      const body = { base_url: field('base_url') || null };
      if (field('token')) body.token = field('token');
      if (field('update_mode')) body.update_mode = field('update_mode');
      return ['config', body];
    }
    case 'assign': case 'unassign': case 'deactivate': case 'reactivate':
      return [action, { user: field('user') }];
    case 'profile': {
      const body = { user: field('user') };
      for (const k of ['given_name', 'family_name', 'email']) if (field(k)) body[k] = field(k);
      return ['profile', body];
    }
    case 'push':
      return ['groups', { name: field('name'), members: field('members').split(/[\s,]+/).filter(Boolean) }];
    case 'rename':
      return ['groups/rename', { name: field('name'), new_name: field('new_name') }];
    case 'delete':
      return ['groups/delete', { name: field('name') }];
    default:
      return [null, null];
  }
}

async function handleAdmin(req, res) {
  if (req.method === 'GET') {
    send(res, 200, adminPage());
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, errorPage(405, 'method_not_allowed', 'GET or POST'), 'text/html; charset=utf-8', { Allow: 'GET, POST' });
    return;
  }
  // Plain form posts from this page only: refuse cross-site posts.
  const origin = req.headers.origin;
  let sameOrigin = !origin;
  try {
    if (origin) sameOrigin = new URL(origin).host === req.headers.host;
  } catch {
    sameOrigin = false;
  }
  if (!sameOrigin || req.headers['sec-fetch-site'] === 'cross-site') {
    send(res, 403, errorPage(403, 'forbidden', 'cross-site form post refused'));
    return;
  }
  let form;
  try {
    form = new URLSearchParams(await readBody(req, 1 << 20));
  } catch {
    send(res, 413, errorPage(413, 'payload_too_large', 'form too large'));
    return;
  }
  const signal = signalAdminRequest(form);
  if (signal) {
    const [status, out] = await signal.run();
    send(res, status, adminPage(signalResultHtml(signal.id, signal.title, out)));
    return;
  }
  const [action, body] = adminRequest(form);
  if (!action) {
    send(res, 400, adminPage(resultHtml('unknown action', 400, { ok: false, error: 'unknown action', requests: [] })));
    return;
  }
  const [status, out] = await runScimAction(action, body);
  send(res, status, adminPage(resultHtml(action, status, out)));
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
  if (path.startsWith('/__dev/scim/')) {
    await handleScimDev(req, res, url);
    return;
  }
  if (await handleSignalsDev(req, res, path.slice('/__dev/'.length))) return;
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
  if (path === '/admin/app') {
    await handleAdmin(req, res);
    return;
  }
  if (SSF_WELL_KNOWN.includes(path) && req.method === 'GET') {
    sendJson(res, 200, ssfConfiguration());
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
