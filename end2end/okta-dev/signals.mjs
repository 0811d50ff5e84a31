// Okta's outbound security signals, signed like Okta signs them (RS256, with the key that
// signs okta-dev's ID tokens and is published at /oauth2/v1/keys):
//
// - Universal Logout: Okta's "Clear user sessions" calls the app's global token revocation
//   endpoint (draft-parecki-oauth-global-token-revocation) with an Okta-signed JWT as the
//   bearer token and the user as a subject identifier (RFC 9493) in the body;
// - a Shared Signals Framework (OpenID SSF 1.0) transmitter: Security Event Tokens (RFC 8417)
//   carrying CAEP / RISC / SSF events, delivered by push (RFC 8935) to one stream.
//
// Also a bare signer (/__dev/sign) so tests can forge any token okta-dev could have sent.
// Everything answers what went out and what came back; nothing is retried.

import * as crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';

export const UL_TYP = 'global-token-revocation+jwt';
export const SET_TYP = 'secevent+jwt';
export const SET_CONTENT_TYPE = 'application/secevent+jwt';
/** RFC 8935 push delivery, as SSF names it in delivery_methods_supported and delivery.method. */
export const PUSH_DELIVERY = 'urn:ietf:rfc:8935';
export const SUBJECT_FORMATS = ['iss_sub', 'email'];
/** Lifetime of a Universal Logout JWT: Okta's are short-lived, single-use (jti). */
export const UL_LIFETIME_S = 300;
export const TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 1 << 20;
export const LOG_SIZE = 50;

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type';

/** Short event names -> event-type URIs (verification is SSF's stream verification event). */
export const EVENTS = {
  'session-revoked': `${CAEP}/session-revoked`,
  'credential-change': `${CAEP}/credential-change`,
  'account-disabled': `${RISC}/account-disabled`,
  'account-enabled': `${RISC}/account-enabled`,
  verification: `${SSF}/verification`,
};

/** A dev call that cannot be carried out as asked; `status` is the HTTP status to answer. */
export class SignalInputError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function now() {
  return Math.floor(Date.now() / 1000);
}

/** `base` with the fields of `over` set over it; a field set to null is removed. */
export function merge(base, over, what) {
  if (over === undefined) return { ...base };
  if (!isObject(over)) throw new SignalInputError(400, `${what} must be a JSON object`);
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k]; else out[k] = v;
  }
  return out;
}

/** `{...base, ...over}` keeping nulls, for a header that Signer.sign merges again (null removes there). */
function headerWith(base, over) {
  if (over === undefined) return { ...base };
  if (!isObject(over)) throw new SignalInputError(400, 'overrides.header must be a JSON object');
  return { ...base, ...over };
}

function checkOverrides(overrides, allowed) {
  if (overrides === undefined || overrides === null) return {};
  if (!isObject(overrides)) throw new SignalInputError(400, 'overrides must be a JSON object');
  const unknown = Object.keys(overrides).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    throw new SignalInputError(400, `unknown overrides: ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  }
  return overrides;
}

/** An http(s) URL to deliver to (a receiver of the app under test). */
function checkUrl(raw, field) {
  let url;
  try {
    url = new URL(String(raw).trim());
  } catch {
    throw new SignalInputError(400, `${field} must be an http(s) URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new SignalInputError(400, `${field} must be an http(s) URL without credentials`);
  }
  return url.href;
}

function checkFormat(format) {
  if (!SUBJECT_FORMATS.includes(format)) {
    throw new SignalInputError(400, `format must be one of ${SUBJECT_FORMATS.join(', ')}`);
  }
  return format;
}

function checkString(value, field, max = 2048) {
  if (typeof value !== 'string' || !value.trim() || value.length > max) {
    throw new SignalInputError(400, `${field} must be a non-empty string of at most ${max} characters`);
  }
  return value.trim();
}

/** A SET's aud: one string or a non-empty array of strings (RFC 8417 §2.2 follows RFC 7519). */
function checkAud(aud) {
  if (typeof aud === 'string') return checkString(aud, 'aud');
  if (Array.isArray(aud) && aud.length && aud.every((a) => typeof a === 'string' && a)) return aud;
  throw new SignalInputError(400, 'aud must be a string or a non-empty array of strings');
}

/** `{present: false}` for an absent field, else the value or null for an explicit clear. */
function optional(body, field) {
  if (!(field in body)) return { present: false };
  const v = body[field];
  return { present: true, value: v === '' ? null : v };
}

// --------------------------------------------------------------------------
// Signing
// --------------------------------------------------------------------------

/**
 * Signs with okta-dev's current ID-token key (`currentKey()` answers its private JWK), so the
 * receiver verifies every token with the JWKS at /oauth2/v1/keys, and a key rotation changes
 * the kid of everything signed afterwards.
 */
export class Signer {
  constructor(currentKey) {
    this.currentKey = currentKey;
    // The JWK of a rotated-out key is dropped with it; the KeyObject goes with it.
    this.keyObjects = new WeakMap();
  }

  keyObject(jwk) {
    let key = this.keyObjects.get(jwk);
    if (!key) {
      const {
        kty, n, e, d, p, q, dp, dq, qi,
      } = jwk;
      key = crypto.createPrivateKey({
        key: {
          kty, n, e, d, p, q, dp, dq, qi,
        },
        format: 'jwk',
      });
      this.keyObjects.set(jwk, key);
    }
    return key;
  }

  get kid() {
    return this.currentKey().kid;
  }

  /**
   * A compact JWS of `claims` (used as given). The header starts as {alg: RS256, kid} and
   * `header` is merged over it (null removes a field): the signature is RS256 by the current
   * key whatever the header then says, so tests can send a lying alg or kid.
   */
  sign(header, claims) {
    const jwk = this.currentKey();
    const head = merge({ alg: 'RS256', kid: jwk.kid }, header, 'header');
    const input = `${b64uJson(head)}.${b64uJson(claims)}`;
    const signature = crypto.sign('sha256', Buffer.from(input), this.keyObject(jwk));
    return { jwt: `${input}.${signature.toString('base64url')}`, kid: jwk.kid };
  }
}

function b64uJson(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

// --------------------------------------------------------------------------
// Delivery
// --------------------------------------------------------------------------

async function readCapped(res, limit) {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      // What the receiver said fits in far less: keep the start, drop the rest.
      chunks.push(value.subarray(0, value.length - (size - limit)));
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeError(err) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${TIMEOUT_MS} ms`;
  const cause = err?.cause?.code || err?.cause?.message;
  return cause ? `${err.message} (${cause})` : String(err?.message || err);
}

/** One POST; answers {status, body (text), ms} or {status: null, error, ms}. Redirects are not followed. */
async function post(url, headers, body) {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await readCapped(res, MAX_RESPONSE_BYTES);
    return { status: res.status, body: text, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: null, error: describeError(err), ms: Math.round(performance.now() - started) };
  }
}

/** Keeps the last LOG_SIZE deliveries of one sender for /__dev/*\/log and the admin page. */
class DeliveryLog {
  constructor() {
    this.entries = [];
  }

  add(entry) {
    this.entries.push({ at: new Date().toISOString(), ...entry });
    if (this.entries.length > LOG_SIZE) this.entries.splice(0, this.entries.length - LOG_SIZE);
  }

  recent() {
    return this.entries.map((e) => ({ ...e }));
  }
}

/** The dev answer for one delivery: 200 when the receiver answered (any status), 502 when not. */
function outcome(sent, extra) {
  if (sent.status === null) {
    console.error(`[okta-dev] ${extra.kind} to ${extra.endpoint} failed: ${sent.error}`);
    return [502, {
      ok: false, error: sent.error, status: null, ...extra, ms: sent.ms,
    }];
  }
  return [200, {
    ok: sent.status >= 200 && sent.status < 300, status: sent.status, body: sent.body, ...extra, ms: sent.ms,
  }];
}

// --------------------------------------------------------------------------
// Subjects (RFC 9493 subject identifiers)
// --------------------------------------------------------------------------

export function subjectId(format, issuer, user) {
  if (format === 'email') return { format: 'email', email: user.email };
  return { format: 'iss_sub', iss: issuer, sub: user.sub };
}

// --------------------------------------------------------------------------
// Universal Logout
// --------------------------------------------------------------------------

/**
 * Okta's Universal Logout sender for one app integration. The JWT: typ
 * global-token-revocation+jwt, iss = the org (issuer), sub = the app's client_id, aud = the
 * app's revocation endpoint, 5-minute lifetime, a fresh jti.
 */
export class UniversalLogout {
  constructor({
    issuer, signer, findUser, endSessions, defaultClientId, endpoint = null, clientId = null, format = 'iss_sub',
  }) {
    Object.assign(this, {
      issuer, signer, findUser, endSessions, defaultClientId,
    });
    this.endpoint = endpoint ? checkUrl(endpoint, 'endpoint') : null;
    this.clientId = clientId ? checkString(clientId, 'client_id', 256) : null;
    this.format = checkFormat(format);
    this.log = new DeliveryLog();
  }

  /** Applies `{endpoint?, client_id?, format?}` (null clears); answers the configuration. */
  configure(body) {
    if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object');
    const next = { endpoint: this.endpoint, clientId: this.clientId, format: this.format };
    const endpoint = optional(body, 'endpoint');
    if (endpoint.present) next.endpoint = endpoint.value === null ? null : checkUrl(endpoint.value, 'endpoint');
    const clientId = optional(body, 'client_id');
    if (clientId.present) next.clientId = clientId.value === null ? null : checkString(clientId.value, 'client_id', 256);
    const format = optional(body, 'format');
    if (format.present) next.format = format.value === null ? 'iss_sub' : checkFormat(format.value);
    Object.assign(this, next);
    return this.describe();
  }

  describe() {
    return {
      endpoint: this.endpoint, client_id: this.clientId || this.defaultClientId, format: this.format,
    };
  }

  /**
   * `{endpoint?, client_id?, user, format?, overrides?: {header, claims, body, raw_body,
   * authorization}, end_okta_sessions?}` -> POST to the app. `user` is not needed when the
   * body is overridden. Answers [status, json].
   */
  async send(body) {
    if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object');
    const overrides = checkOverrides(body.overrides, ['header', 'claims', 'body', 'raw_body', 'authorization']);
    const endpoint = body.endpoint !== undefined ? checkUrl(body.endpoint, 'endpoint') : this.endpoint;
    if (!endpoint) {
      throw new SignalInputError(409, 'Universal Logout is not configured: give "endpoint" or POST /__dev/universal-logout/config {"endpoint"} first');
    }
    const clientId = body.client_id !== undefined ? checkString(body.client_id, 'client_id', 256) : this.clientId || this.defaultClientId;
    const format = body.format !== undefined ? checkFormat(body.format) : this.format;
    const bodyOverridden = 'body' in overrides || 'raw_body' in overrides;
    let user;
    if (body.user !== undefined || !bodyOverridden) {
      const login = checkString(body.user, 'user', 256);
      user = this.findUser(login);
      if (!user) throw new SignalInputError(404, `no such user: ${login}`);
    }
    if ('raw_body' in overrides && typeof overrides.raw_body !== 'string') {
      throw new SignalInputError(400, 'overrides.raw_body must be a string (sent as is)');
    }
    if ('authorization' in overrides && overrides.authorization !== null && typeof overrides.authorization !== 'string') {
      throw new SignalInputError(400, 'overrides.authorization must be a string or null (no header)');
    }

    const iat = now();
    const claims = merge({
      iss: this.issuer, sub: clientId, aud: endpoint, iat, exp: iat + UL_LIFETIME_S, jti: crypto.randomUUID(),
    }, overrides.claims, 'overrides.claims');
    const { jwt, kid } = this.signer.sign(headerWith({ typ: UL_TYP }, overrides.header), claims);
    let requestBody;
    if ('raw_body' in overrides) requestBody = overrides.raw_body;
    else if ('body' in overrides) requestBody = JSON.stringify(overrides.body);
    else requestBody = JSON.stringify({ sub_id: subjectId(format, this.issuer, user) });
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const authorization = 'authorization' in overrides ? overrides.authorization : `Bearer ${jwt}`;
    if (authorization !== null) headers.Authorization = authorization;

    // Okta's "Clear user sessions" ends the user's Okta sessions too (the admin page asks for it).
    if (user && body.end_okta_sessions === true) this.endSessions(user.sub);
    const sent = await post(endpoint, headers, requestBody);
    this.log.add({
      user: user?.username ?? null, endpoint, status: sent.status, ms: sent.ms, ...(sent.error ? { error: sent.error } : {}),
    });
    return outcome(sent, {
      kind: 'universal logout',
      endpoint,
      user: user?.username ?? null,
      jwt,
      jti: claims.jti ?? null,
      kid,
      request_body: requestBody,
    });
  }
}

// --------------------------------------------------------------------------
// Shared Signals transmitter
// --------------------------------------------------------------------------

/** The body of each known event (without overrides), per CAEP 1.0 / RISC 1.0 / SSF 1.0. */
function eventBody(name, { state, reason }) {
  const ts = now();
  switch (name) {
    case 'session-revoked':
      return { event_timestamp: ts, initiating_entity: 'admin', reason_admin: { en: "Okta admin cleared the user's sessions" } };
    case 'credential-change':
      return { event_timestamp: ts, credential_type: 'password', change_type: 'update' };
    case 'account-disabled':
      return reason === undefined ? {} : { reason };
    case 'verification':
      return state === undefined ? {} : { state };
    default:
      return {};
  }
}

/**
 * One SSF stream, push-delivered: `endpoint_url` (the app's receiver), `aud` (the audience the
 * app expects), the subject format and an optional Authorization header value the receiver
 * asked for (SSF's delivery.authorization_header).
 */
export class SsfTransmitter {
  constructor({
    issuer, signer, findUser, endpointUrl = null, aud = null, format = 'iss_sub', authorizationHeader = null,
  }) {
    Object.assign(this, { issuer, signer, findUser });
    this.streamId = crypto.randomUUID();
    this.endpointUrl = endpointUrl ? checkUrl(endpointUrl, 'endpoint_url') : null;
    this.aud = aud ? checkAud(aud) : null;
    this.format = checkFormat(format);
    this.authorizationHeader = authorizationHeader ? checkString(authorizationHeader, 'authorization_header', 4096) : null;
    this.log = new DeliveryLog();
  }

  /** SSF discovery (/.well-known/ssf-configuration): push delivery only, no subject management. */
  metadata({ jwksUri, devOrigin }) {
    return {
      spec_version: '1_0',
      issuer: this.issuer,
      jwks_uri: jwksUri,
      delivery_methods_supported: [PUSH_DELIVERY],
      configuration_endpoint: `${devOrigin}/__dev/ssf/stream`,
      verification_endpoint: `${devOrigin}/__dev/ssf/verify`,
    };
  }

  /**
   * Applies `{endpoint_url?, aud?, format?, authorization_header?}` (null clears); SSF's
   * `{"delivery": {"endpoint_url", "authorization_header"}}` is read too. Answers the stream.
   */
  configure(body) {
    if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object');
    const flat = { ...body };
    if (isObject(body.delivery)) {
      if (body.delivery.method !== undefined && body.delivery.method !== PUSH_DELIVERY) {
        throw new SignalInputError(400, `delivery.method must be ${PUSH_DELIVERY} (push)`);
      }
      for (const k of ['endpoint_url', 'authorization_header']) {
        if (k in body.delivery && !(k in flat)) flat[k] = body.delivery[k];
      }
    }
    const next = {
      endpointUrl: this.endpointUrl, aud: this.aud, format: this.format, authorizationHeader: this.authorizationHeader,
    };
    const url = optional(flat, 'endpoint_url');
    if (url.present) next.endpointUrl = url.value === null ? null : checkUrl(url.value, 'endpoint_url');
    const aud = optional(flat, 'aud');
    if (aud.present) next.aud = aud.value === null ? null : checkAud(aud.value);
    const format = optional(flat, 'format');
    if (format.present) next.format = format.value === null ? 'iss_sub' : checkFormat(format.value);
    const auth = optional(flat, 'authorization_header');
    if (auth.present) next.authorizationHeader = auth.value === null ? null : checkString(auth.value, 'authorization_header', 4096);
    Object.assign(this, next);
    return this.describe();
  }

  /** The stream, in SSF's Stream Configuration shape plus the flat fields /__dev/ssf/stream takes. */
  describe() {
    const events = Object.entries(EVENTS).filter(([k]) => k !== 'verification').map(([, uri]) => uri);
    return {
      stream_id: this.streamId,
      iss: this.issuer,
      aud: this.aud,
      delivery: { method: PUSH_DELIVERY, endpoint_url: this.endpointUrl },
      events_supported: events,
      events_requested: events,
      events_delivered: events,
      endpoint_url: this.endpointUrl,
      format: this.format,
      authorization_header_set: Boolean(this.authorizationHeader),
    };
  }

  /**
   * `{event, user?, format?, endpoint_url?, aud?, state?, reason?, overrides?: {header, claims,
   * event, subject}}` -> one SET pushed to the receiver. Answers [status, json].
   */
  async push(body) {
    if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object');
    const overrides = checkOverrides(body.overrides, ['header', 'claims', 'event', 'subject']);
    const name = checkString(body.event, 'event', 512);
    const uri = EVENTS[name] || (/^[a-z][a-z0-9+.-]*:/i.test(name) ? name : null);
    if (!uri) {
      throw new SignalInputError(400, `event must be one of ${Object.keys(EVENTS).join(', ')} or an event-type URI`);
    }
    const known = Object.keys(EVENTS).find((k) => EVENTS[k] === uri);
    const endpointUrl = body.endpoint_url !== undefined ? checkUrl(body.endpoint_url, 'endpoint_url') : this.endpointUrl;
    const aud = body.aud !== undefined ? checkAud(body.aud) : this.aud;
    if (!endpointUrl || !aud) {
      throw new SignalInputError(409, 'the SSF stream is not configured: give "endpoint_url" and "aud" or POST /__dev/ssf/stream {"endpoint_url", "aud"} first');
    }
    const format = body.format !== undefined ? checkFormat(body.format) : this.format;
    if (body.state !== undefined && typeof body.state !== 'string') throw new SignalInputError(400, 'state must be a string');
    if (body.reason !== undefined && typeof body.reason !== 'string') throw new SignalInputError(400, 'reason must be a string');

    let user;
    let subject;
    if (known === 'verification') {
      // Verification is about the stream, not a user (SSF 1.0 §8.1.4.1).
      subject = { format: 'opaque', id: this.streamId };
    } else {
      const login = checkString(body.user, 'user', 256);
      user = this.findUser(login);
      if (!user) throw new SignalInputError(404, `no such user: ${login}`);
      subject = subjectId(format, this.issuer, user);
    }
    subject = merge(subject, overrides.subject, 'overrides.subject');
    const event = merge(eventBody(known, body), overrides.event, 'overrides.event');
    // No exp: a SET is a statement of fact, not an access token (RFC 8417 §2.2).
    const claims = merge({
      iss: this.issuer,
      aud,
      iat: now(),
      jti: crypto.randomUUID().replaceAll('-', ''),
      sub_id: subject,
      events: { [uri]: event },
    }, overrides.claims, 'overrides.claims');
    const { jwt, kid } = this.signer.sign(headerWith({ typ: SET_TYP }, overrides.header), claims);
    const headers = { 'Content-Type': SET_CONTENT_TYPE, Accept: 'application/json' };
    // The receiver's secret goes only to the stream's own endpoint, not to a one-off endpoint_url.
    if (this.authorizationHeader && body.endpoint_url === undefined) headers.Authorization = this.authorizationHeader;

    const sent = await post(endpointUrl, headers, jwt);
    this.log.add({
      event: known || uri, user: user?.username ?? null, endpoint: endpointUrl, status: sent.status, ms: sent.ms,
      ...(sent.error ? { error: sent.error } : {}),
    });
    return outcome(sent, {
      kind: 'SET push',
      endpoint: endpointUrl,
      event: uri,
      user: user?.username ?? null,
      jwt,
      jti: claims.jti ?? null,
      kid,
    });
  }

  /**
   * SSF's verification endpoint: `{stream_id?, state?}` -> 204 now, then the verification
   * event is pushed, as a transmitter does it asynchronously (the receiver may be the caller).
   */
  verify(body) {
    if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object');
    if (body.stream_id !== undefined && body.stream_id !== this.streamId) {
      throw new SignalInputError(404, `no such stream: ${body.stream_id}`);
    }
    if (!this.endpointUrl || !this.aud) throw new SignalInputError(409, 'the SSF stream is not configured');
    if (body.state !== undefined && typeof body.state !== 'string') throw new SignalInputError(400, 'state must be a string');
    const push = { event: 'verification', ...(body.state !== undefined ? { state: body.state } : {}) };
    setImmediate(() => {
      this.push(push).catch((err) => console.error('[okta-dev] SSF verification push failed', err));
    });
  }
}

// --------------------------------------------------------------------------
// The /__dev/* actions
// --------------------------------------------------------------------------

/** `{header?, claims}` -> {jwt, kid}: a token signed by okta-dev's current key, as given. */
export function signAction(signer, body) {
  if (!isObject(body)) throw new SignalInputError(400, 'expected a JSON object {"header"?, "claims"}');
  if (!isObject(body.claims)) throw new SignalInputError(400, 'claims must be a JSON object');
  if (body.header !== undefined && !isObject(body.header)) throw new SignalInputError(400, 'header must be a JSON object');
  return signer.sign(body.header, body.claims);
}
