// Overview: hosts by status and state, zones and clusters, the live management nodes, total
// and used capacity, the hosts needing attention (Disconnected, or a hardware status in
// Error), and recent failed jobs.
// Counts are `count=true` queries; capacity is summed over pages of four-field host rows (the
// API has no aggregate), refreshed less often than the counts.

import { html, useEffect, useRef, useState } from '../lib.js';
import * as api from '../api.js';
import * as journal from '../jobs.js';
import {
  Bar,
  ErrorBox,
  HW_FIELDS,
  Loading,
  STATES,
  STATUSES,
  StatusBadge,
  fmtBytes,
  fmtNum,
  stepLabel,
  usePoll,
} from '../ui.js';

const CAPACITY_FIELDS = ['uuid', 'totalCpuCapacity', 'availableCpuCapacity', 'totalMemoryCapacity', 'availableMemoryCapacity'];
const CAPACITY_PAGE = 5000;
const TREE_CLUSTERS = 8; // clusters listed per zone

async function loadCounts() {
  const keys = [
    ['total', []],
    ...STATUSES.map((s) => [`status-${s}`, [`status=${s}`]]),
    ...STATES.map((s) => [`state-${s}`, [`state=${s}`]]),
  ];
  const values = await Promise.all(keys.map(([, q]) => api.count('hosts', q)));
  const counts = Object.fromEntries(keys.map(([k], i) => [k, values[i]]));
  const [zones, clusters, nodes] = await Promise.all([
    api.query('zones', { limit: 1000, sort: '+name', fields: ['uuid', 'name', 'state'] }),
    api.query('clusters', { limit: 1000, sort: '+name', fields: ['uuid', 'name', 'state', 'zoneUuid'] }),
    api.query('management-nodes', { limit: 100, sort: '+hostName', fields: ['uuid', 'hostName'] }),
  ]);
  return { counts, zones: zones.items, clusters: clusters.items, nodes: nodes.items };
}

async function loadAttention() {
  const conds = [['status=Disconnected', 'Disconnected'], ...HW_FIELDS.map(([f, l]) => [`${f}=Error`, `${l}: Error`])];
  const fields = ['uuid', 'name', 'managementIp', 'status', 'clusterUuid'];
  const results = await Promise.all(
    conds.map(([c]) => api.query('hosts', { q: [c], limit: 20, fields, replyWithCount: true, sort: '+name' })),
  );
  const byHost = new Map();
  let total = 0;
  results.forEach((r, i) => {
    total += r.total || 0;
    for (const h of r.items) {
      const e = byHost.get(h.uuid) || { ...h, reasons: [] };
      e.reasons.push(conds[i][1]);
      byHost.set(h.uuid, e);
    }
  });
  return { hosts: [...byHost.values()].slice(0, 20), problems: total };
}

async function sumCapacity(onProgress, alive) {
  const sum = { cpuTotal: 0, cpuUsed: 0, memTotal: 0, memUsed: 0, hosts: 0 };
  for (let start = 0; alive.current; start += CAPACITY_PAGE) {
    const r = await api.query('hosts', { fields: CAPACITY_FIELDS, limit: CAPACITY_PAGE, start });
    for (const h of r.items) {
      sum.cpuTotal += h.totalCpuCapacity || 0;
      sum.cpuUsed += (h.totalCpuCapacity || 0) - (h.availableCpuCapacity || 0);
      sum.memTotal += h.totalMemoryCapacity || 0;
      sum.memUsed += (h.totalMemoryCapacity || 0) - (h.availableMemoryCapacity || 0);
      sum.hosts += 1;
    }
    if (r.items.length < CAPACITY_PAGE) return sum;
    onProgress({ ...sum, partial: true });
  }
  return sum; // the page was left: stop reading
}

function Stat({ id, label, value, href, cls = '' }) {
  const body = html`<span class="stat-value" data-stat=${id}>${fmtNum(value)}</span><span class="stat-label">${label}</span>`;
  return href
    ? html`<a class="stat ${cls}" href=${href}>${body}</a>`
    : html`<div class="stat ${cls}">${body}</div>`;
}

export function Overview() {
  const [data, setData] = useState(null);
  const [attention, setAttention] = useState(null);
  const [capacity, setCapacity] = useState(null);
  const [error, setError] = useState(null);
  const [, setJournalTick] = useState(0);

  // Counts every 10 s (indexed counts); the attention list every 30 s (it reads each hardware
  // status); capacity every 5 minutes (it reads four fields of every host).
  const guard = (f) => async () => {
    try {
      await f();
      setError(null);
    } catch (e) {
      setError(e);
      throw e;
    }
  };
  usePoll(guard(async () => setData(await loadCounts())), 10000, []);
  usePoll(guard(async () => setAttention(await loadAttention())), 30000, []);
  const alive = useRef(true);
  useEffect(() => () => {
    alive.current = false;
  }, []);
  usePoll(guard(async () => setCapacity(await sumCapacity(setCapacity, alive))), 300000, []);
  useEffect(() => {
    journal.running().forEach(api.pollOnce);
    return journal.subscribe(() => setJournalTick((x) => x + 1));
  }, []);

  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const c = data.counts;
  const failed = journal.recent({ failed: true, limit: 8 });
  const clustersOf = (z) => data.clusters.filter((cl) => cl.zoneUuid === z);
  return html`<section class="page overview" aria-labelledby="overview-title">
    <h1 id="overview-title">Overview</h1>
    <${ErrorBox} error=${error} />
    <div class="grid-2">
      <section class="card">
        <h2>Hosts</h2>
        <div class="stats">
          <${Stat} id="hosts-total" label="hosts" value=${c.total} href="#/hosts" />
          ${STATUSES.map(
            (s) => html`<${Stat} id=${`hosts-${s}`} label=${s} value=${c[`status-${s}`]}
              href=${`#/hosts?status=${s}`} cls=${`status-${s}`} />`,
          )}
        </div>
        <div class="stats small">
          ${STATES.map(
            (s) => html`<${Stat} id=${`hosts-${s}`} label=${s} value=${c[`state-${s}`]} href=${`#/hosts?state=${s}`} />`,
          )}
        </div>
      </section>
      <section class="card">
        <h2>Capacity</h2>
        ${capacity
          ? html`<div class="capacity">
              <div><span class="cap-label">CPU</span>
                <${Bar} used=${capacity.cpuUsed} total=${capacity.cpuTotal} label="CPU used" /></div>
              <div><span class="cap-label">Memory</span>
                <${Bar} used=${capacity.memUsed} total=${capacity.memTotal} format=${fmtBytes} label="Memory used" /></div>
              <p class="muted small" data-capacity-hosts=${capacity.hosts}>
                ${capacity.partial ? 'Adding up' : 'Summed over'} ${fmtNum(capacity.hosts)} hosts: <span data-stat="cpu-total">${fmtNum(capacity.cpuTotal)}</span> CPU capacity units, <span data-stat="memory-total" data-bytes=${capacity.memTotal}>${fmtBytes(capacity.memTotal)}</span> of memory. </p>
            </div>`
          : html`<${Loading} what="Adding up capacity" />`}
      </section>
    </div>
    <div class="grid-2">
      <section class="card" aria-labelledby="attention-title">
        <h2 id="attention-title">Needing attention ${attention && attention.problems > 0
          ? html`<span class="badge bad" data-stat="attention">${fmtNum(attention.problems)} ${attention.problems === 1 ? 'problem' : 'problems'}</span>` : ''}</h2>
        ${!attention
          ? html`<${Loading} />`
          : attention.hosts.length === 0
            ? html`<p class="muted" id="attention-none">Every host is connected and its hardware reports no error.</p>`
            : html`<table class="compact" id="attention">
                <thead><tr><th>Host</th><th>IP</th><th>Status</th><th>Why</th></tr></thead>
                <tbody>${attention.hosts.map(
                  (h) => html`<tr data-host=${h.uuid}>
                    <td><a href=${`#/hosts/${h.uuid}`}>${h.name}</a></td>
                    <td>${h.managementIp}</td>
                    <td><${StatusBadge} status=${h.status} /></td>
                    <td>${h.reasons.join(', ')}</td>
                  </tr>`,
                )}</tbody>
              </table>
              <p class="small"><a href="#/hosts?status=Disconnected">All Disconnected hosts</a>${' · '}<a
                href=${`#/hosts?q=${encodeURIComponent('fanStatus=Error')}`}>hosts with a fan error</a>, or search any <code>…Status=Error</code></p>`}
      </section>
      <section class="card" aria-labelledby="zones-title">
        <h2 id="zones-title">Zones and clusters</h2>
        <p class="stats-line"><span data-stat="zones">${fmtNum(data.zones.length)}</span> ${data.zones.length === 1 ? 'zone' : 'zones'}, <span data-stat="clusters">${fmtNum(data.clusters.length)}</span> ${data.clusters.length === 1 ? 'cluster' : 'clusters'}${' · '}<a href="#/zones">Manage</a></p>
        ${data.zones.length === 0
          ? html`<p class="muted">No zone yet. <a href="#/zones">Create a zone</a>, then a cluster, then add hosts.</p>`
          : html`<ul class="tree">${data.zones.map(
              (z) => html`<li><strong>${z.name}</strong> ${z.state !== 'Enabled' ? html`<span class="badge muted">${z.state}</span>` : ''}
                <ul>${clustersOf(z.uuid).slice(0, TREE_CLUSTERS).map(
                  (cl) => html`<li><a href=${`#/hosts?cluster=${cl.uuid}`}>${cl.name}</a>
                    ${cl.state !== 'Enabled' ? html`<span class="badge muted">${cl.state}</span>` : ''}</li>`,
                )}${clustersOf(z.uuid).length > TREE_CLUSTERS &&
                html`<li class="muted">and ${fmtNum(clustersOf(z.uuid).length - TREE_CLUSTERS)} more: <a href="#/zones">all clusters</a></li>`}</ul></li>`,
            )}</ul>`}
        <p class="small muted" id="management-nodes">Management nodes: <span data-stat="management-nodes">${fmtNum(data.nodes.length)}</span> live${data.nodes.length > 0
          ? html` (${data.nodes.map((n) => n.hostName).join(', ')})` : ''}</p>
      </section>
    </div>
    <section class="card" aria-labelledby="failed-title">
      <h2 id="failed-title">Recent failed jobs <span class="muted small">(started from this browser)</span></h2>
      ${failed.length === 0
        ? html`<p class="muted" id="failed-none">No failed job.</p>`
        : html`<table class="compact" id="failed-jobs">
            <thead><tr><th>When</th><th>What</th><th>Failed step</th><th>Error</th></tr></thead>
            <tbody>${failed.map(
              (j) => html`<tr>
                <td>${new Date(j.finished || j.started).toLocaleString()}</td>
                <td>${j.target && j.target.kind === 'host' && j.target.uuid
                  ? html`<a href=${`#/hosts/${j.target.uuid}`}>${j.label}</a>` : j.label}</td>
                <td>${j.error && j.error.step ? stepLabel(j.error.step) : '–'}</td>
                <td>${j.error && j.error.message}${j.error && j.error.hint
                  ? html`<div class="muted small">Fix: ${j.error.hint}</div>` : ''}</td>
              </tr>`,
            )}</tbody>
          </table>`}
    </section>
  </section>`;
}
