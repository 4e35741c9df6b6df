// The console's only way to the server: ZStack's public REST API (/zstack/v1/...), with an
// ordinary session, exactly as any other client uses it. Errors come back as ApiError with a
// sentence to show (never raw JSON), plus the failed step, reason and fix of a host connect.
// A session the server no longer knows (ID.1001) ends the console's session: the shell goes
// back to the login page.

import { sha512Hex } from './sha512.js';
import * as journal from './jobs.js';

const BASE = '/zstack/v1';
const SESSION_KEY = 'hostplane.session';

export class ApiError extends Error {
  constructor(message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    Object.assign(this, extra);
  }
}

let expiredHandler = () => {};
/** Called once whenever the server says the session is gone. */
export function onSessionExpired(f) {
  expiredHandler = f;
}

export function currentSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    return s && typeof s.uuid === 'string' ? s : null;
  } catch {
    return null;
  }
}

function expire() {
  if (currentSession()) {
    localStorage.removeItem(SESSION_KEY);
    expiredHandler();
  }
}

/** Turn ZStack's ErrorCode JSON into words, keeping the host-connect extras. */
export function errorFromCode(ec) {
  const chain = [];
  for (let e = ec; e && chain.length < 10; e = e.cause) chain.push(e);
  const opaque = chain.map((e) => e.opaque).find((o) => o && (o.step || o.reason)) || {};
  const texts = [];
  for (const e of chain) {
    let t = (e.details || e.description || '').trim();
    // A connect error repeats its step and fix in its details: they are shown on their own.
    const cut = t.indexOf('. Step [');
    if (cut > 0) t = t.slice(0, cut);
    if (t && !texts.some((x) => x.includes(t))) texts.push(t);
  }
  const message = texts.join(': ') || ec.description || `error ${ec.code}`;
  return new ApiError(message, {
    code: ec.code,
    description: ec.description,
    step: opaque.step,
    reason: opaque.reason,
    hint: opaque.hint,
    stderr: opaque.stderr,
  });
}

async function decode(res, { sessionCheck = true } = {}) {
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (res.status === 200 || res.status === 202) {
    if (json === null) throw new ApiError(`The server answered something unreadable (HTTP ${res.status}).`);
    return { status: res.status, json, res };
  }
  if (json && json.error) {
    const err = errorFromCode(json.error);
    err.status = res.status;
    if (err.code === 'ID.1001' && sessionCheck) expire();
    throw err;
  }
  // Protocol errors (a malformed query, a wrong parameter type) are plain text.
  const words = (text || '').trim() || `The server answered HTTP ${res.status}.`;
  throw new ApiError(words, { status: res.status });
}

async function send(method, path, body) {
  const s = currentSession();
  if (!s) {
    expire();
    throw new ApiError('You are not logged in.', { code: 'ID.1001' });
  }
  const headers = { Authorization: `OAuth ${s.uuid}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError('The server cannot be reached. Is hostplane running?', { network: true });
  }
  return decode(res);
}

export async function login(accountName, password) {
  const hash = await sha512Hex(password);
  let res;
  try {
    res = await fetch(`${BASE}/accounts/login`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ logInByAccount: { accountName, password: hash } }),
    });
  } catch {
    throw new ApiError('The server cannot be reached. Is hostplane running?');
  }
  try {
    const { json } = await decode(res, { sessionCheck: false });
    const inv = json.inventory;
    localStorage.setItem(
      SESSION_KEY,
      JSON.stringify({ uuid: inv.uuid, account: accountName, expiredDate: inv.expiredDate }),
    );
    return inv;
  } catch (e) {
    if (e.code === 'ID.1000') throw new ApiError('Wrong account name or password.', { code: e.code });
    throw e;
  }
}

export async function logout() {
  const s = currentSession();
  localStorage.removeItem(SESSION_KEY);
  if (s) {
    try {
      await fetch(`${BASE}/accounts/sessions/${encodeURIComponent(s.uuid)}`, { method: 'DELETE' });
    } catch {
      /* the session ends on the server at its expiry anyway */
    }
  }
}

/** Whether the server still knows the session; ends it here when not. */
export async function checkSession() {
  const s = currentSession();
  if (!s) return false;
  try {
    const res = await fetch(`${BASE}/accounts/sessions/${encodeURIComponent(s.uuid)}/valid`, {
      cache: 'no-store',
    });
    const json = await res.json();
    if (json && json.valid === false) {
      expire();
      return false;
    }
  } catch {
    /* the server is down: keep the session, the next call will tell */
  }
  return true;
}

/**
 * A query: `resource` is the path (`hosts`, `clusters`, ...), `q` a list of conditions in
 * ZStack's language. Answers { items, total }.
 */
export async function query(resource, { q = [], limit, start, sort, fields, count, replyWithCount } = {}) {
  const p = new URLSearchParams();
  for (const c of q) p.append('q', c);
  if (limit !== undefined) p.set('limit', String(limit));
  if (start) p.set('start', String(start));
  if (sort) p.set('sort', sort);
  if (fields) p.set('fields', fields.join(','));
  if (count) p.set('count', 'true');
  if (replyWithCount) p.set('replyWithCount', 'true');
  const { json } = await send('GET', `/${resource}?${p}`);
  return { items: json.inventories || [], total: json.total };
}

/** How many `resource` match `q`. */
export async function count(resource, q = []) {
  const r = await query(resource, { q, count: true });
  return r.total || 0;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Call an API; for an asynchronous one, poll its job until it ends. `onStep(step)` hears each
 * new X-Job-Step of the running job. `label` and `target` ({ uuid, name, kind }) go to the
 * job journal. Answers the final JSON (`{inventory: ...}` or `{}`).
 */
export async function call(method, path, body, { onStep, label, target } = {}) {
  const { status, json } = await send(method, path, body);
  if (status !== 202 || !json.location) return json;
  const url = new URL(json.location, location.href);
  const poll = url.pathname;
  const job = poll.split('/').pop();
  journal.started({ job, poll, label: label || `${method} ${path}`, target });
  let wait = 100;
  let last = null;
  for (;;) {
    await sleep(wait);
    wait = Math.min(wait * 1.5, 1000);
    let res;
    try {
      res = await fetch(poll, { cache: 'no-store' });
    } catch {
      continue; // the server restarts: keep polling, the job is durable
    }
    if (res.status === 202) {
      const step = res.headers.get('X-Job-Step');
      if (step && step !== last) {
        last = step;
        wait = 100;
        if (onStep) onStep(step);
      }
      continue;
    }
    try {
      const done = await decode(res);
      journal.finished(job, null);
      return done.json;
    } catch (e) {
      journal.finished(job, e);
      throw e;
    }
  }
}

/** Poll once a job the journal still shows running (after a reload). */
export async function pollOnce(entry) {
  try {
    const res = await fetch(entry.poll, { cache: 'no-store' });
    if (res.status === 202) return;
    if (res.status === 404) {
      journal.finished(entry.job, new ApiError('The server no longer keeps this job (expired).'));
      return;
    }
    try {
      await decode(res);
      journal.finished(entry.job, null);
    } catch (e) {
      journal.finished(entry.job, e);
    }
  } catch {
    /* unreachable: try again later */
  }
}
