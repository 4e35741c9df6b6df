// The journal of asynchronous calls this browser made (localStorage, newest first, at most
// 200). The REST API has no call that lists jobs, so "recent jobs" are the ones made from this
// console; each entry keeps what a person needs: what was done to what, when, and how it
// ended (the failed step, reason and fix included).

const KEY = 'hostplane.jobs';
const MAX = 200;
const listeners = new Set();

function load() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function save(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  } catch {
    /* storage full or denied: the journal is a convenience */
  }
  for (const f of listeners) f();
}

export function subscribe(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function started({ job, poll, label, target }) {
  const list = load().filter((e) => e.job !== job);
  list.unshift({ job, poll, label, target: target || null, started: Date.now(), state: 'Running' });
  save(list);
}

export function finished(job, error) {
  const list = load();
  const e = list.find((x) => x.job === job);
  if (!e || e.state !== 'Running') return;
  e.finished = Date.now();
  e.state = error ? 'Failed' : 'Succeeded';
  if (error) {
    e.error = {
      message: error.message,
      code: error.code,
      step: error.step,
      reason: error.reason,
      hint: error.hint,
    };
  }
  save(list);
}

/** Entries, newest first; `failed` keeps failures only; `target` one resource's jobs. */
export function recent({ failed = false, target, limit = 10 } = {}) {
  return load()
    .filter((e) => !failed || e.state === 'Failed')
    .filter((e) => !target || (e.target && e.target.uuid === target))
    .slice(0, limit);
}

export function running() {
  return load().filter((e) => e.state === 'Running');
}
