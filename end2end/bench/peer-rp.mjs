#!/usr/bin/env node
// peer-rp: the peer relying party of Tessera's sign-in benchmark (bench/src/bin/bench_okta.rs).
// It does the job Tessera does at sign-in, the way a typical Node app would: express 5 with
// express-session, openid-client 6 (authorization code + PKCE S256 + state + nonce, ID-token
// signature verification ON via enableNonRepudiationChecks, JWKS cached by openid-client),
// /userinfo, and an upsert of the member into SQLite (better-sqlite3) keyed by (iss, sub).
//
// Environment: PEER_PORT, PEER_ISSUER, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_DB (file).
// Prints exactly one stdout line when listening: `peer-rp ready <base url>`.
//   GET /login     starts a sign-in (303 to the provider)
//   GET /callback  completes it: 303 to / with a fresh session, or 401 with the reason
//   GET /me        the signed-in member (JSON) or 401

import * as crypto from 'node:crypto';
import Database from 'better-sqlite3';
import express from 'express';
import session from 'express-session';
import * as client from 'openid-client';

const PORT = Number.parseInt(process.env.PEER_PORT || '5000', 10);
const ISSUER = process.env.PEER_ISSUER || 'http://127.0.0.1:4000';
const CLIENT_ID = process.env.PEER_CLIENT_ID || 'peer-rp';
const CLIENT_SECRET = process.env.PEER_CLIENT_SECRET || 'peer-secret';
const DB_PATH = process.env.PEER_DB || 'peer-rp.db';
const BASE = `http://127.0.0.1:${PORT}`;
const REDIRECT_URI = `${BASE}/callback`;

const db = new Database(DB_PATH);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.exec(`CREATE TABLE IF NOT EXISTS members (
  id            TEXT PRIMARY KEY,
  iss           TEXT NOT NULL,
  sub           TEXT NOT NULL,
  email         TEXT NOT NULL DEFAULT '',
  name          TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  last_login_at INTEGER NOT NULL,
  UNIQUE (iss, sub)
)`);
const upsert = db.prepare(`INSERT INTO members (id, iss, sub, email, name, created_at, last_login_at)
  VALUES (@id, @iss, @sub, @email, @name, @now, @now)
  ON CONFLICT (iss, sub) DO UPDATE SET email = excluded.email, name = excluded.name,
    last_login_at = excluded.last_login_at
  RETURNING id`);
const byId = db.prepare('SELECT id, email, name FROM members WHERE id = ?');

const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  { redirect_uris: [REDIRECT_URI], response_types: ['code'], id_token_signed_response_alg: 'RS256' },
  client.ClientSecretBasic(CLIENT_SECRET),
  { execute: [client.allowInsecureRequests] }, // the local provider is http://127.0.0.1
);
// openid-client 6 skips the ID token's signature check in the code flow by default (the token
// came over TLS from the token endpoint); Tessera checks it, so the peer does too.
client.enableNonRepudiationChecks(config);

const app = express();
app.disable('x-powered-by');
app.use(session({
  name: 'peer_session',
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', path: '/' },
}));

app.get('/login', async (req, res) => {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  req.session.flow = { codeVerifier, state, nonce };
  const params = {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  if (typeof req.query.login_hint === 'string') params.login_hint = req.query.login_hint;
  res.set('Cache-Control', 'no-store');
  res.redirect(303, client.buildAuthorizationUrl(config, params).href);
});

app.get('/callback', async (req, res) => {
  const flow = req.session.flow;
  if (!flow) {
    res.status(400).send('state_missing_or_expired');
    return;
  }
  delete req.session.flow;
  let member;
  try {
    const tokens = await client.authorizationCodeGrant(config, new URL(req.originalUrl, BASE), {
      pkceCodeVerifier: flow.codeVerifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    member = upsert.get({
      id: crypto.randomUUID(),
      iss: claims.iss,
      sub: claims.sub,
      email: info.email ?? '',
      name: info.name ?? '',
      now: Date.now(),
    });
  } catch (e) {
    res.status(401).send(`sign-in failed: ${e.code || e.name}: ${e.message}`);
    return;
  }
  // A fresh session id at sign-in, as Tessera does.
  await new Promise((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
  req.session.member = member.id;
  await new Promise((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())));
  res.set('Cache-Control', 'no-store');
  res.redirect(303, '/');
});

app.get('/me', (req, res) => {
  const m = req.session.member && byId.get(req.session.member);
  if (!m) res.status(401).json({ error: 'unauthenticated' });
  else res.json(m);
});

const server = app.listen(PORT, '127.0.0.1', () => {
  console.log(`peer-rp ready ${BASE}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    db.close();
    process.exit(0);
  });
}
