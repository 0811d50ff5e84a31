// The Okta side of SCIM 2.0 provisioning (RFC 7643/7644): okta-dev sends the
// requests Okta's lifecycle management sends to a SCIM 2.0 app integration
// (assign, unassign, deactivate, reactivate, profile push, Group Push), with
// Okta's bodies, headers and sequences, to one configured base URL.
//
// Shapes follow Okta's "SCIM 2.0 Protocol Reference"
// (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20). The app's
// SCIM ids are remembered in memory, per Okta user (sub) and per pushed group.

import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_AGENT = 'Okta SCIM Client 1.0.0';
export const CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const ACCEPT = 'application/scim+json';

/** How updates to a linked user travel:
 *  patch — every update (active and profile) is a PATCH (default);
 *  put   — every update is GET /Users/{id} then PUT of the whole user (App Integration Wizard apps);
 *  oin   — active changes are PATCHes, profile changes GET + PUT (new OIN integrations). */
export const UPDATE_MODES = ['patch', 'put', 'oin'];

export const TIMEOUT_MS = 5000;
export const MAX_RESPONSE_BYTES = 1 << 20;
export const LOG_SIZE = 100;
/** Okta splits Group Push membership changes into requests of at most this many members. */
export const MEMBERS_PER_PATCH = 100;

/** A dev call that cannot be carried out as asked; `status` is the HTTP status to answer. */
export class ScimInputError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Normalises a SCIM base URL (http or https, no credentials, query or fragment; no trailing slash). */
export function normalizeBaseUrl(raw) {
  if (typeof raw !== 'string' || !raw.trim()) throw new ScimInputError(400, 'base_url must be an http(s) URL');
  let url;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ScimInputError(400, 'base_url must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScimInputError(400, 'base_url must be an http(s) URL');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ScimInputError(400, 'base_url must not carry credentials, a query or a fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function checkToken(token) {
  if (typeof token !== 'string' || !token || token.length > 4096 || /[\s\0-\x1f\x7f]/.test(token)) {
    throw new ScimInputError(400, 'token must be a non-empty string without spaces or control characters');
  }
  return token;
}

function checkUpdateMode(mode) {
  if (!UPDATE_MODES.includes(mode)) {
    throw new ScimInputError(400, `update_mode must be one of ${UPDATE_MODES.join(', ')}`);
  }
  return mode;
}

/** A SCIM id as the app returned it; ids travel in URL paths, so dot segments are refused. */
function scimId(value) {
  if (typeof value !== 'string' || !value || value.length > 256 || value === '.' || value === '..') return undefined;
  return value;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

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
      await reader.cancel().catch(() => {});
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeError(err) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${TIMEOUT_MS} ms`;
  const cause = err?.cause?.code || err?.cause?.message;
  return cause ? `${err.message} (${cause})` : String(err?.message || err);
}

function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * The provisioning agent of one Okta app integration. `profile` arguments are
 * Okta app profiles: `{sub, userName, givenName, familyName, displayName, email, locale}`.
 * Every operation runs alone (one at a time, like Okta's provisioning tasks for an app)
 * and answers `{ok, requests: [{method, path, status, body, request?, error?, ms}]}`.
 */
export class ScimProvisioner {
  constructor({
    baseUrl = null, token = null, updateMode = 'patch', sendPassword = false,
  } = {}) {
    this.baseUrl = baseUrl ? normalizeBaseUrl(baseUrl) : null;
    this.token = token ? checkToken(token) : null;
    this.updateMode = checkUpdateMode(updateMode);
    this.sendPassword = Boolean(sendPassword);
    /** sub -> {id, userName, active, assigned}: the app user Okta linked. */
    this.users = new Map();
    /** lowercase name -> {id, displayName, members: Map(scim user id -> display)}. */
    this.groups = new Map();
    this.log = [];
    this.queue = Promise.resolve();
  }

  get configured() {
    return Boolean(this.baseUrl && this.token);
  }

  /** Applies `{base_url, token, update_mode?, send_password?}`; a new base_url forgets every link. */
  configure(body) {
    if (!isObject(body)) throw new ScimInputError(400, 'expected a JSON object');
    const next = {
      baseUrl: this.baseUrl, token: this.token, updateMode: this.updateMode, sendPassword: this.sendPassword,
    };
    if ('base_url' in body) next.baseUrl = body.base_url === null || body.base_url === '' ? null : normalizeBaseUrl(body.base_url);
    if ('token' in body) next.token = body.token === null || body.token === '' ? null : checkToken(body.token);
    if ('update_mode' in body) next.updateMode = checkUpdateMode(body.update_mode);
    if ('send_password' in body) {
      if (typeof body.send_password !== 'boolean') throw new ScimInputError(400, 'send_password must be a boolean');
      next.sendPassword = body.send_password;
    }
    if (next.baseUrl !== this.baseUrl) {
      this.users.clear();
      this.groups.clear();
    }
    Object.assign(this, next);
    return this.describe();
  }

  /** The non-secret configuration. */
  describe() {
    return {
      base_url: this.baseUrl,
      token_set: Boolean(this.token),
      update_mode: this.updateMode,
      send_password: this.sendPassword,
    };
  }

  link(sub) {
    return this.users.get(sub);
  }

  group(name) {
    return this.groups.get(String(name).toLowerCase());
  }

  recent() {
    return this.log.map(({
      at, method, path, status, ms, error,
    }) => ({
      at, method, path, status, ms, ...(error ? { error } : {}),
    }));
  }

  /** Runs `fn(run)` after every earlier operation has finished. */
  exclusive(fn) {
    const result = this.queue.then(async () => {
      const run = { requests: [] };
      let extra;
      try {
        extra = (await fn(run)) || {};
      } catch (err) {
        console.error('[okta-dev] scim operation failed', err);
        extra = { ok: false, error: String(err?.message || err) };
      }
      const ok = extra.ok !== undefined ? extra.ok : run.requests.every((r) => r.ok);
      delete extra.ok;
      return {
        ok,
        requests: run.requests.map(({ ok: _ok, ...r }) => r),
        ...extra,
      };
    });
    this.queue = result.catch(() => {});
    return result;
  }

  urlFor(path) {
    const url = new URL(`${this.baseUrl}${path}`);
    if (!url.href.startsWith(`${this.baseUrl}/`)) throw new Error(`refusing to leave the base URL: ${path}`);
    return url;
  }

  /** Sends one request; `expect` lists the statuses that count as success. */
  async send(run, method, path, body, expect) {
    const entry = {
      method, path, status: null, body: null,
    };
    if (body !== undefined) entry.request = body;
    run.requests.push(entry);
    const started = performance.now();
    try {
      const headers = {
        Accept: ACCEPT,
        'User-Agent': USER_AGENT,
        Authorization: `Bearer ${this.token}`,
      };
      if (body !== undefined) headers['Content-Type'] = CONTENT_TYPE;
      const signal = AbortSignal.timeout(TIMEOUT_MS);
      const res = await fetch(this.urlFor(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal,
      });
      entry.status = res.status;
      entry.body = parseBody(await readCapped(res, MAX_RESPONSE_BYTES));
    } catch (err) {
      entry.error = describeError(err);
    }
    entry.ms = Math.round(performance.now() - started);
    entry.ok = !entry.error && expect.includes(entry.status);
    this.log.push({
      at: new Date().toISOString(), method, path, status: entry.status, ms: entry.ms, error: entry.error,
    });
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    if (!entry.ok) {
      const detail = entry.error || JSON.stringify(entry.body)?.slice(0, 500);
      console.error(`[okta-dev] scim ${method} ${path} failed: ${entry.status ?? 'no status'} ${detail}`);
    }
    return entry;
  }

  // ------------------------------------------------------------------------
  // Users
  // ------------------------------------------------------------------------

  createBody(p) {
    const body = {
      schemas: [USER_SCHEMA],
      userName: p.userName,
      name: { givenName: p.givenName, familyName: p.familyName },
      emails: [{ primary: true, value: p.email, type: 'work' }],
      displayName: p.displayName,
      locale: p.locale,
      externalId: p.sub,
      groups: [],
    };
    if (this.sendPassword) body.password = placeholderPassword();
    body.active = true;
    return body;
  }

  /** Assignment to the app: look the user up by userName, create or link (reactivate) and push the profile. */
  assign(p) {
    return this.exclusive(async (run) => {
      const filter = encodeURIComponent(`userName eq ${JSON.stringify(p.userName)}`);
      const found = await this.send(run, 'GET', `/Users?filter=${filter}&startIndex=1&count=100`, undefined, [200, 404]);
      if (!found.ok) return {};
      const resources = found.status === 200 && Array.isArray(found.body?.Resources) ? found.body.Resources : [];
      if (!resources.length) {
        const created = await this.send(run, 'POST', '/Users', this.createBody(p), [200, 201]);
        if (!created.ok) return {};
        const id = scimId(created.body?.id);
        if (!id) return { ok: false, error: 'the created user has no id' };
        this.users.set(p.sub, {
          id, userName: p.userName, active: true, assigned: true,
        });
        return { scim_id: id, created: true };
      }
      const match = resources[0];
      const id = scimId(match?.id);
      if (!id) return { ok: false, error: 'the matching user has no id' };
      const link = {
        id, userName: p.userName, active: match.active !== false, assigned: true,
      };
      this.users.set(p.sub, link);
      if (this.updateMode === 'put') {
        // App Integration Wizard apps: one GET + PUT carries the profile and, if needed, active=true.
        if (!(await this.putUser(run, link, p, true))) return { scim_id: id, created: false };
      } else {
        if (!link.active && !(await this.patchActive(run, link, true))) return { scim_id: id, created: false };
        await this.pushProfile(run, link, p);
      }
      return { scim_id: id, created: false };
    });
  }

  /** Sets `active` on the linked app user (deactivation, unassignment, reactivation). */
  setActive(p, active, { assigned } = {}) {
    return this.exclusive(async (run) => {
      const link = this.users.get(p.sub);
      if (!link) return { scim_id: null };
      if (assigned !== undefined) link.assigned = assigned;
      if (this.updateMode === 'put') await this.putUser(run, link, p, active);
      else await this.patchActive(run, link, active);
      return { scim_id: link.id };
    });
  }

  /** Pushes a changed Okta profile to the linked app user. */
  updateProfile(p) {
    return this.exclusive(async (run) => {
      const link = this.users.get(p.sub);
      if (!link) return { scim_id: null };
      await this.pushProfile(run, link, p);
      return { scim_id: link.id };
    });
  }

  async patchActive(run, link, active) {
    const res = await this.send(run, 'PATCH', `/Users/${encodeURIComponent(link.id)}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active } }],
    }, [200, 204]);
    if (res.ok) link.active = active;
    return res.ok;
  }

  async pushProfile(run, link, p) {
    if (this.updateMode !== 'patch') return this.putUser(run, link, p, undefined);
    const res = await this.send(run, 'PATCH', `/Users/${encodeURIComponent(link.id)}`, {
      schemas: [PATCH_OP],
      Operations: [{
        op: 'replace',
        value: {
          userName: p.userName,
          name: { givenName: p.givenName, familyName: p.familyName },
          emails: [{ primary: true, value: p.email, type: 'work' }],
          displayName: p.displayName,
        },
      }],
    }, [200, 204]);
    if (res.ok) link.userName = p.userName;
    return res.ok;
  }

  /** Okta's PUT update: GET the user, change the mapped attributes, PUT the whole object back. */
  async putUser(run, link, p, active) {
    const path = `/Users/${encodeURIComponent(link.id)}`;
    const current = await this.send(run, 'GET', path, undefined, [200]);
    if (!current.ok) return false;
    if (!isObject(current.body)) {
      current.ok = false;
      return false;
    }
    const body = { ...current.body };
    if (!Array.isArray(body.schemas)) body.schemas = [USER_SCHEMA];
    body.userName = p.userName;
    body.name = { ...(isObject(body.name) ? body.name : {}), givenName: p.givenName, familyName: p.familyName };
    const emails = Array.isArray(body.emails) ? body.emails.filter(isObject).map((e) => ({ ...e })) : [];
    const primary = emails.find((e) => e.primary === true) || emails.find((e) => e.type === 'work');
    if (primary) {
      primary.value = p.email;
      if ('display' in primary) primary.display = p.email;
    } else {
      emails.unshift({ primary: true, value: p.email, type: 'work' });
    }
    body.emails = emails;
    body.displayName = p.displayName;
    if (active !== undefined) body.active = active;
    const res = await this.send(run, 'PUT', path, body, [200]);
    if (res.ok) {
      link.userName = p.userName;
      if (active !== undefined) link.active = active;
    }
    return res.ok;
  }

  // ------------------------------------------------------------------------
  // Group Push
  // ------------------------------------------------------------------------

  /**
   * Pushes a group with `members` ([{sub, userName}] of linked app users): the first push
   * creates it (POST, then PATCH add in chunks); a later push sends Okta's name update and
   * then the membership changes (remove/add PATCHes, at most MEMBERS_PER_PATCH members each).
   */
  pushGroup(name, members) {
    return this.exclusive(async (run) => {
      const desired = new Map();
      for (const m of members) {
        const link = this.users.get(m.sub);
        if (link) desired.set(link.id, link.userName);
      }
      let g = this.group(name);
      let created = false;
      if (!g) {
        const res = await this.send(run, 'POST', '/Groups', {
          schemas: [GROUP_SCHEMA],
          displayName: name,
          members: [],
        }, [200, 201]);
        if (!res.ok) return {};
        const id = scimId(res.body?.id);
        if (!id) return { ok: false, error: 'the created group has no id' };
        g = { id, displayName: name, members: new Map() };
        this.groups.set(name.toLowerCase(), g);
        created = true;
      }
      const removes = [...g.members.keys()].filter((id) => !desired.has(id));
      const adds = [...desired].filter(([id]) => !g.members.has(id));
      if (!created && (removes.length || adds.length)) {
        // Okta sends the group's name with every membership update.
        if (!(await this.patchGroupName(run, g, g.displayName))) return { scim_id: g.id };
      }
      const changes = [
        ...removes.map((id) => ({ remove: id })),
        ...adds.map(([id, display]) => ({ add: { value: id, display } })),
      ];
      for (const chunk of chunks(changes, MEMBERS_PER_PATCH)) {
        const Operations = chunk.filter((c) => c.remove).map((c) => ({
          op: 'remove', path: `members[value eq ${JSON.stringify(c.remove)}]`,
        }));
        const added = chunk.filter((c) => c.add).map((c) => c.add);
        if (added.length) Operations.push({ op: 'add', path: 'members', value: added });
        // eslint-disable-next-line no-await-in-loop
        const res = await this.send(run, 'PATCH', `/Groups/${encodeURIComponent(g.id)}`, {
          schemas: [PATCH_OP], Operations,
        }, [200, 204]);
        if (!res.ok) break;
        for (const c of chunk) {
          if (c.remove) g.members.delete(c.remove);
          else g.members.set(c.add.value, c.add.display);
        }
      }
      return { scim_id: g.id, created };
    });
  }

  async patchGroupName(run, g, displayName) {
    const res = await this.send(run, 'PATCH', `/Groups/${encodeURIComponent(g.id)}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id: g.id, displayName } }],
    }, [200, 204]);
    return res.ok;
  }

  renameGroup(name, newName) {
    return this.exclusive(async (run) => {
      const g = this.group(name);
      if (!g) return { ok: false, error: 'group not pushed' };
      if (await this.patchGroupName(run, g, newName)) {
        this.groups.delete(name.toLowerCase());
        g.displayName = newName;
        this.groups.set(newName.toLowerCase(), g);
      }
      return { scim_id: g.id };
    });
  }

  /** Unlinks a pushed group, deleting it in the app (a 404 there forgets it too). */
  deleteGroup(name) {
    return this.exclusive(async (run) => {
      const g = this.group(name);
      if (!g) return { ok: false, error: 'group not pushed' };
      const res = await this.send(run, 'DELETE', `/Groups/${encodeURIComponent(g.id)}`, undefined, [200, 204]);
      if (res.ok || res.status === 404) this.groups.delete(name.toLowerCase());
      return { scim_id: g.id };
    });
  }
}

/** Okta sends a random password placeholder on create when password sync is on. */
function placeholderPassword() {
  const alphabet = 'abcdefghijkmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 8; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}
