// Shared pieces of the pages: formatting, badges, capacity bars, the error box, dialogs, and
// polling with backoff.

import { html, useEffect, useRef, useState } from './lib.js';

export const HW_FIELDS = [
  ['cpuStatus', 'CPU'],
  ['memoryStatus', 'Memory'],
  ['diskStatus', 'Disks'],
  ['nicStatus', 'NICs'],
  ['gpuStatus', 'GPU'],
  ['powerSupplyStatus', 'Power supplies'],
  ['fanStatus', 'Fans'],
  ['raidStatus', 'RAID'],
  ['temperatureStatus', 'Temperature'],
];

export const STATUSES = ['Connected', 'Connecting', 'Disconnected'];
export const STATES = ['Enabled', 'Disabled', 'PreMaintenance', 'Maintenance'];

// The steps of a host connect, in order, as the server names them (X-Job-Step, error.opaque.step).
export const STEPS = [
  ['load-credential', 'Reading the credentials'],
  ['wait-for-ssh-port', 'Waiting for the SSH port'],
  ['ssh-login', 'Logging in over SSH'],
  ['verify-host-key', 'Checking the SSH host key'],
  ['check-takeover', 'Checking no other manager owns the host'],
  ['collect-facts', 'Collecting facts'],
  ['check-virtualization', 'Checking virtualization support'],
  ['check-memory', 'Checking memory'],
  ['check-architecture', 'Checking the architecture'],
  ['check-os', 'Checking the operating system'],
  ['write-takeover-flag', 'Marking the host as managed'],
  ['save', 'Saving'],
];

export function stepLabel(step) {
  const s = STEPS.find(([id]) => id === step);
  return s ? s[1] : step;
}

export function fmtNum(n) {
  return n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function StatusBadge({ status }) {
  const cls = { Connected: 'ok', Connecting: 'busy', Disconnected: 'bad' }[status] || 'muted';
  return html`<span class="badge ${cls}" data-status=${status}>${status || 'unknown'}</span>`;
}

export function StateBadge({ state }) {
  const cls = { Enabled: 'ok', Disabled: 'muted', PreMaintenance: 'busy', Maintenance: 'warn' }[state] || 'muted';
  return html`<span class="badge ${cls}" data-state=${state}>${state || 'unknown'}</span>`;
}

export function HwBadge({ value }) {
  const cls = { Normal: 'ok', Error: 'bad' }[value] || 'muted';
  return html`<span class="badge ${cls}">${value || 'Unknown'}</span>`;
}

/** One line: "OK", "Error: Fans, Disks", or how many are unknown. */
export function hwSummary(h) {
  const bad = HW_FIELDS.filter(([f]) => h[f] === 'Error').map(([, l]) => l);
  if (bad.length) return { cls: 'bad', text: `Error: ${bad.join(', ')}` };
  const known = HW_FIELDS.filter(([f]) => h[f] === 'Normal').length;
  if (known === 0) return { cls: 'muted', text: 'Unknown' };
  return { cls: 'ok', text: 'OK' };
}

/** A capacity bar: used of total, with the numbers as text beside it. */
export function Bar({ used, total, format = fmtNum, label }) {
  const pct = total > 0 ? Math.min(100, Math.max(0, (used / total) * 100)) : 0;
  const level = pct >= 90 ? 'high' : pct >= 70 ? 'mid' : 'low';
  const text = `${format(used)} / ${format(total)}`;
  return html`<div class="bar-cell" title=${`${label || 'used'}: ${text} (${pct.toFixed(0)}%)`}>
    <meter class="bar ${level}" min="0" max="100" low="70" high="90" optimum="0" value=${pct}
      aria-label=${`${label || 'used'} ${pct.toFixed(0)} percent`}></meter>
    <span class="bar-text">${text}</span>
  </div>`;
}

/** An error from the API, in words: the message, and for a host connect its step and fix. */
export function ErrorBox({ error, title }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert" data-error-code=${error.code || ''}>
    ${title && html`<strong>${title}</strong>`}
    <p class="error-message">${error.message || String(error)}</p>
    ${error.step &&
    html`<dl class="error-extra">
      <dt>Failed step</dt><dd data-failed-step=${error.step}>${stepLabel(error.step)} <code>${error.step}</code></dd>
      ${error.reason && html`<dt>Reason</dt><dd><code data-reason>${error.reason}</code></dd>`}
      ${error.hint && html`<dt>How to fix</dt><dd data-hint>${error.hint}</dd>`}
    </dl>`}
    ${error.stderr && html`<details><summary>The host's error output</summary><pre>${error.stderr}</pre></details>`}
  </div>`;
}

/**
 * A modal dialog (<dialog>): focus moves into it, Escape closes it. `open` shows it;
 * `onClose` hears it close.
 */
export function Dialog({ open, onClose, title, children, id }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return html`<dialog ref=${ref} id=${id} onClose=${onClose} aria-labelledby=${id && `${id}-title`}>
    <h2 id=${id && `${id}-title`}>${title}</h2>
    ${open && children}
  </dialog>`;
}

/**
 * Run `fn` now and again every `every` ms while the page shows; on failure wait twice as long
 * (up to a minute); paused while the tab is hidden. `deps` restart it.
 */
export function usePoll(fn, every, deps) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let stopped = false;
    let timer = null;
    let delay = every;
    const tick = async () => {
      timer = null;
      if (stopped) return;
      if (document.hidden) {
        timer = setTimeout(tick, every);
        return;
      }
      try {
        await fnRef.current();
        delay = every;
      } catch {
        delay = Math.min(delay * 2, 60000);
      }
      if (!stopped) timer = setTimeout(tick, delay);
    };
    const onVisible = () => {
      if (!document.hidden && timer) {
        clearTimeout(timer);
        tick();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
}

/** Load once per change of `deps`: { data, error, loading, reload }. */
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" aria-live="polite">${what}…</p>`;
}

/** Navigate within the console. */
export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
}
