// Hosts: one page of hosts at a time (server-side paging, sorting and counting through the
// query language), filters by status, state and cluster, and a search box that takes
// ZStack's query language (`cluster.name=prod-1 cpuNum>32`), its errors shown under it.
//
// Live without reloading the table: every 1.5 s the rows on screen are re-read by uuid
// (`uuid?=a,b,...` with a few fields, so the cost is one page, not the fleet), and every 15 s
// the whole page is queried again (new hosts, counts). Failures back off; a hidden tab pauses.

import { html, useEffect, useRef, useState } from '../lib.js';
import * as api from '../api.js';
import { ApiError } from '../api.js';
import {
  Bar,
  ErrorBox,
  HW_FIELDS,
  STATES,
  STATUSES,
  StateBadge,
  StatusBadge,
  fmtBytes,
  fmtNum,
  go,
  hwSummary,
  usePoll,
} from '../ui.js';

const LIVE_FIELDS = [
  'uuid',
  'status',
  'state',
  'totalCpuCapacity',
  'availableCpuCapacity',
  'totalMemoryCapacity',
  'availableMemoryCapacity',
  ...HW_FIELDS.map(([f]) => f),
];
const ROW_FIELDS = [
  ...LIVE_FIELDS,
  'name',
  'managementIp',
  'clusterUuid',
  'zoneUuid',
  'cpuNum',
  'architecture',
  'osDistribution',
  'osRelease',
  'osVersion',
];
const SIZES = [25, 50, 100, 200];
// Conditions on fields only KVM hosts have (they need `hypervisorType=KVM` in the query).
const KVM_ONLY = /^\s*(username|sshPort|osDistribution|osRelease|osVersion)\b/;

// Sortable columns: [field, header].
const COLUMNS = [
  ['name', 'Name'],
  ['managementIp', 'Management IP'],
  ['status', 'Status'],
  ['state', 'State'],
  [null, 'Cluster'],
  [null, 'Zone'],
  ['totalCpuCapacity', 'CPU'],
  ['totalMemoryCapacity', 'Memory'],
  ['osDistribution', 'OS'],
  ['architecture', 'Arch'],
  [null, 'Hardware'],
];

const OPS = /(!=|>=|<=|!\?=|!~=|~=|\?=|=|>|<)/;

/**
 * The search box's text as `q` conditions: space-separated conditions in ZStack's language;
 * double quotes keep spaces in a value (`name="rack 4"`); `f is null` / `f not null`; a word
 * with no operator searches names (`web` → `name~=%web%`).
 */
export function parseSearch(text) {
  const tokens = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (/\s/.test(ch) && !quoted) {
      if (has) tokens.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) tokens.push(cur);
  const q = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = (tokens[i + 1] || '').toLowerCase();
    if ((next === 'is' || next === 'not') && (tokens[i + 2] || '').toLowerCase() === 'null') {
      q.push(`${t} ${next} null`);
      i += 2;
    } else if (OPS.test(t)) {
      q.push(t);
    } else {
      q.push(`name~=%${t}%`);
    }
  }
  return q;
}

const KNOWN_FIELDS =
  'name, uuid, managementIp, status, state, cpuNum, cpuSockets, totalCpuCapacity, totalMemoryCapacity, ' +
  'architecture, hostname, osDistribution, osVersion, cpuStatus … temperatureStatus, createDate';

/** A refused query in a person's words (the server's text stays for the rest). */
export function explainQueryError(e) {
  const field = /has no field\[([^\]]+)\]/.exec(e.message || '');
  if (field) {
    return new ApiError(
      `Hosts have no field "${field[1]}". Fields include ${KNOWN_FIELDS}; through a link: cluster.name, zone.name, cluster.zone.name.`,
      { code: e.code, status: e.status },
    );
  }
  const expand = /no expand query\[([^\]]+)\]/.exec(e.message || '');
  if (expand) {
    return new ApiError(`Hosts have no link "${expand[1]}": use cluster.<field> or zone.<field>.`, {
      code: e.code,
      status: e.status,
    });
  }
  return e;
}

function hashFor(p) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const qs = s.toString();
  return `#/hosts${qs ? `?${qs}` : ''}`;
}

export function Hosts({ params }) {
  const filters = {
    status: params.get('status') || '',
    state: params.get('state') || '',
    cluster: params.get('cluster') || '',
    q: params.get('q') || '',
    sort: params.get('sort') || '+name',
    page: Math.max(0, parseInt(params.get('page') || '0', 10) || 0),
    size: SIZES.includes(parseInt(params.get('size'), 10)) ? parseInt(params.get('size'), 10) : 50,
  };
  const key = JSON.stringify(filters);
  const set = (changes) => go(hashFor({ ...filters, page: 0, ...changes }));

  const [search, setSearch] = useState(filters.q);
  const [rows, setRows] = useState(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState(null);
  const [searchError, setSearchError] = useState(null);
  const [clusters, setClusters] = useState([]);
  const [zones, setZones] = useState([]);
  const [changed, setChanged] = useState({});
  const [updated, setUpdated] = useState(null);
  const rowsRef = useRef(null);
  rowsRef.current = rows;

  useEffect(() => setSearch(filters.q), [filters.q]);
  useEffect(() => {
    Promise.all([
      api.query('clusters', { limit: 1000, sort: '+name', fields: ['uuid', 'name', 'zoneUuid'] }),
      api.query('zones', { limit: 1000, fields: ['uuid', 'name'] }),
    ]).then(
      ([c, z]) => {
        setClusters(c.items);
        setZones(z.items);
      },
      () => {},
    );
  }, []);

  const conditions = () => {
    const q = [];
    if (filters.status) q.push(`status=${filters.status}`);
    if (filters.state) q.push(`state=${filters.state}`);
    if (filters.cluster) q.push(`clusterUuid=${filters.cluster}`);
    return q.concat(parseSearch(filters.q));
  };

  // The page: now, on every change of filters, and every 15 s.
  usePoll(
    async () => {
      try {
        // The rows need `hypervisorType=KVM` (it unlocks the OS fields); the count is asked
        // without it where it can be, so that it can use the indexes (every host is KVM).
        const q = conditions();
        const [r, n] = await Promise.all([
          api.query('hosts', {
            q: ['hypervisorType=KVM', ...q],
            limit: filters.size,
            start: filters.page * filters.size,
            sort: filters.sort,
            fields: ROW_FIELDS,
          }),
          api.count('hosts', q.some((c) => KVM_ONLY.test(c)) ? ['hypervisorType=KVM', ...q] : q),
        ]);
        setRows(r.items);
        setTotal(n);
        setError(null);
        setSearchError(null);
        setUpdated(new Date());
      } catch (e) {
        if (filters.q && (e.status === 400 || e.code === 'SYS.1007' || e.code === 'SYS.1000')) {
          setSearchError(explainQueryError(e));
          setRows([]);
          setTotal(0);
        } else {
          setError(e);
          throw e;
        }
      }
    },
    15000,
    [key],
  );

  // Live statuses of the rows on screen.
  usePoll(
    async () => {
      const current = rowsRef.current;
      if (!current || current.length === 0) return;
      const uuids = current.map((h) => h.uuid);
      const r = await api.query('hosts', {
        q: [`uuid?=${uuids.join(',')}`],
        fields: LIVE_FIELDS,
        limit: uuids.length,
      });
      const fresh = new Map(r.items.map((h) => [h.uuid, h]));
      const flips = {};
      const next = rowsRef.current.map((h) => {
        const f = fresh.get(h.uuid);
        if (!f) return { ...h, gone: true };
        if (f.status !== h.status || f.state !== h.state) flips[h.uuid] = Date.now();
        return { ...h, ...f };
      });
      setRows(next);
      setUpdated(new Date());
      if (Object.keys(flips).length) setChanged((c) => ({ ...c, ...flips }));
    },
    1500,
    [key],
  );

  const clusterName = (u) => (clusters.find((c) => c.uuid === u) || {}).name || '–';
  const zoneName = (u) => (zones.find((z) => z.uuid === u) || {}).name || '–';
  const pages = Math.max(1, Math.ceil(total / filters.size));
  const from = total === 0 ? 0 : filters.page * filters.size + 1;
  const to = Math.min(total, (filters.page + 1) * filters.size);
  const sortField = filters.sort.replace(/^[+-]/, '');
  const desc = filters.sort.startsWith('-');

  const header = ([field, label]) => {
    if (!field) return html`<th scope="col">${label}</th>`;
    const active = sortField === field;
    return html`<th scope="col" aria-sort=${active ? (desc ? 'descending' : 'ascending') : 'none'}>
      <button class="sort" data-sort=${field}
        onClick=${() => set({ sort: `${active && !desc ? '-' : '+'}${field}` })}>
        ${label}<span aria-hidden="true">${active ? (desc ? ' ▼' : ' ▲') : ''}</span>
      </button></th>`;
  };

  return html`<section class="page hosts" aria-labelledby="hosts-title">
    <div class="page-head">
      <h1 id="hosts-title">Hosts</h1>
      <a class="button primary" href="#/add-host">Add host</a>
    </div>
    <form class="filters" role="search" onSubmit=${(e) => {
      e.preventDefault();
      set({ q: search.trim() });
    }}>
      <label>Status
        <select id="filter-status" value=${filters.status} onChange=${(e) => set({ status: e.target.value })}>
          <option value="">Any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <label>State
        <select id="filter-state" value=${filters.state} onChange=${(e) => set({ state: e.target.value })}>
          <option value="">Any</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <label>Cluster
        <select id="filter-cluster" value=${filters.cluster} onChange=${(e) => set({ cluster: e.target.value })}>
          <option value="">Any</option>
          ${clusters.map((c) => html`<option value=${c.uuid}>${c.name}</option>`)}
        </select></label>
      <label class="grow">Query
        <input id="search" type="search" value=${search} spellcheck="false" autocomplete="off"
          placeholder="cluster.name=prod-1 cpuNum>32 (a plain word searches names)"
          aria-describedby="search-help search-error" aria-invalid=${searchError ? 'true' : 'false'}
          onInput=${(e) => setSearch(e.target.value)} /></label>
      <button type="submit" id="search-submit">Search</button>
      ${(filters.q || filters.status || filters.state || filters.cluster) &&
      html`<button type="button" class="ghost" id="filters-clear"
        onClick=${() => { setSearch(''); go(hashFor({ sort: filters.sort, size: filters.size })); }}>Clear</button>`}
    </form>
    <p id="search-help" class="muted small">ZStack's query language: conditions separated by spaces
      (<code>=</code> <code>!=</code> <code>${'>'}</code> <code>${'<'}</code> <code>?=</code> in a list, <code>~=</code> like with <code>%</code>), through <code>cluster.</code> and <code>zone.</code>,
      quotes for spaces.</p>
    <div id="search-error" aria-live="polite">${searchError &&
      html`<${ErrorBox} error=${searchError} title="The query was not accepted" />`}</div>
    <${ErrorBox} error=${error} />
    <div class="table-wrap">
      <table class="hosts-table" id="hosts-table" aria-describedby="hosts-count">
        <thead><tr>${COLUMNS.map(header)}</tr></thead>
        <tbody>${(rows || []).map((h) => {
          const hw = hwSummary(h);
          const flash = changed[h.uuid] && Date.now() - changed[h.uuid] < 4000;
          return html`<tr data-host=${h.uuid} data-name=${h.name} class=${`${flash ? 'flash' : ''} ${h.gone ? 'gone' : ''}`}>
            <td><a href=${`#/hosts/${h.uuid}`}>${h.name}</a></td>
            <td class="mono">${h.managementIp}</td>
            <td class="host-status"><${StatusBadge} status=${h.status} /></td>
            <td class="host-state"><${StateBadge} state=${h.state} /></td>
            <td>${clusterName(h.clusterUuid)}</td>
            <td>${zoneName(h.zoneUuid)}</td>
            <td><${Bar} used=${(h.totalCpuCapacity || 0) - (h.availableCpuCapacity || 0)} total=${h.totalCpuCapacity || 0} label="CPU used" /></td>
            <td><${Bar} used=${(h.totalMemoryCapacity || 0) - (h.availableMemoryCapacity || 0)} total=${h.totalMemoryCapacity || 0}
              format=${fmtBytes} label="Memory used" /></td>
            <td>${[h.osDistribution, h.osVersion].filter(Boolean).join(' ') || '–'}</td>
            <td>${h.architecture || '–'}</td>
            <td><span class="badge ${hw.cls}">${hw.text}</span></td>
          </tr>`;
        })}</tbody>
      </table>
      ${rows && rows.length === 0 && !searchError &&
      html`<p class="empty" id="hosts-empty">No host matches.${total === 0 && !filters.q && !filters.status && !filters.state && !filters.cluster
        ? html` <a href="#/add-host">Add the first host</a>.` : ''}</p>`}
    </div>
    <nav class="pager" aria-label="Pages">
      <span id="hosts-count" data-total=${total}>${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)} hosts</span>
      <button id="page-prev" disabled=${filters.page === 0} onClick=${() => set({ page: filters.page - 1 })}>Previous</button>
      <span>Page ${fmtNum(filters.page + 1)} of ${fmtNum(pages)}</span>
      <button id="page-next" disabled=${filters.page + 1 >= pages} onClick=${() => set({ page: filters.page + 1 })}>Next</button>
      <label>Per page
        <select id="page-size" value=${filters.size} onChange=${(e) => set({ size: e.target.value })}>
          ${SIZES.map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>
      <span class="muted small" aria-live="off">${updated ? `Live · updated ${updated.toLocaleTimeString()}` : ''}</span>
    </nav>
  </section>`;
}
