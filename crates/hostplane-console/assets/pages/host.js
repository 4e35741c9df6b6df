// One host: every fact and hardware status, tags (with the pinned SSH host-key fingerprint),
// capacity, timestamps and the jobs this console ran on it; and its actions: enable, disable,
// maintenance, reconnect (re-pinning a changed host key only after showing both
// fingerprints), rename, delete (Permissive or Enforcing). The status is re-read every 2 s.

import { html, useEffect, useState } from '../lib.js';
import * as api from '../api.js';
import * as journal from '../jobs.js';
import {
  Bar,
  Dialog,
  ErrorBox,
  HW_FIELDS,
  HwBadge,
  Loading,
  StateBadge,
  StatusBadge,
  fmtBytes,
  fmtNum,
  go,
  stepLabel,
  usePoll,
} from '../ui.js';

/** The pinned and presented fingerprints named by a HOST.SSH.HOST_KEY_CHANGED error. */
export function keyChange(error) {
  if (!error || error.reason !== 'HOST.SSH.HOST_KEY_CHANGED') return null;
  const m = /pinned (\S+?),? the host presented (\S+?)(?:[.,;\s]|$)/.exec(error.message || '');
  return { pinned: m ? m[1] : 'unknown', presented: m ? m[2] : 'unknown' };
}

/** Tags of the host, if the server serves QuerySystemTag/QueryUserTag (else null). */
async function loadTags(uuid) {
  try {
    const [sys, user] = await Promise.all([
      api.query('system-tags', { q: [`resourceUuid=${uuid}`], limit: 1000 }),
      api.query('user-tags', { q: [`resourceUuid=${uuid}`], limit: 1000 }),
    ]);
    return { system: sys.items.map((t) => t.tag), user: user.items.map((t) => t.tag) };
  } catch (e) {
    if (e.status === 404) return null; // not served by this server
    throw e;
  }
}

function Fact({ label, children, id }) {
  return html`<div class="fact"><dt>${label}</dt><dd id=${id}>${children === undefined || children === null || children === '' ? '–' : children}</dd></div>`;
}

const DELETE_MODES = [
  [
    'Permissive',
    'Disables the host, stops tracking it, and removes hostplane\'s takeover flag from it, waiting a few seconds for the host to answer. Use it for a host that is up.',
  ],
  [
    'Enforcing',
    'Deletes at once, without waiting on the host: for a host that is gone or unreachable. The takeover flag may then stay on the machine until it ages out (minutes), and until then another manager sees the host as taken.',
  ],
];

export function HostDetail({ uuid }) {
  const [host, setHost] = useState(null);
  const [cluster, setCluster] = useState(null);
  const [zone, setZone] = useState(null);
  const [tags, setTags] = useState(undefined);
  const [error, setError] = useState(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(null); // { label, step }
  const [result, setResult] = useState(null); // { ok, text } | { error }
  const [dialog, setDialog] = useState(null); // 'maintain' | 'rename' | 'delete' | 'repin'
  const [keyInfo, setKeyInfo] = useState(null);
  const [newName, setNewName] = useState('');
  const [deleteMode, setDeleteMode] = useState('Permissive');
  const [, setTick] = useState(0);

  const load = async () => {
    const r = await api.query('hosts', { q: [`uuid=${uuid}`, 'hypervisorType=KVM'] });
    const h = r.items[0];
    if (!h) {
      setMissing(true);
      setHost(null);
      return;
    }
    setHost(h);
    setError(null);
  };
  usePoll(
    async () => {
      try {
        await load();
      } catch (e) {
        setError(e);
        throw e;
      }
    },
    2000,
    [uuid],
  );
  useEffect(() => journal.subscribe(() => setTick((x) => x + 1)), []);
  useEffect(() => {
    if (!host) return;
    api.query('clusters', { q: [`uuid=${host.clusterUuid}`] }).then((r) => setCluster(r.items[0] || null), () => {});
    api.query('zones', { q: [`uuid=${host.zoneUuid}`] }).then((r) => setZone(r.items[0] || null), () => {});
  }, [host && host.clusterUuid, host && host.zoneUuid]);
  const [tagsTick, setTagsTick] = useState(0);
  useEffect(() => {
    loadTags(uuid).then(setTags, () => setTags(null));
  }, [uuid, host && host.lastOpDate, host && host.status, tagsTick]);

  const act = async (label, method, path, body) => {
    setBusy({ label, step: null });
    setResult(null);
    setDialog(null);
    try {
      await api.call(method, path, body, {
        label: `${label} ${host.name}`,
        target: { kind: 'host', uuid, name: host.name },
        onStep: (step) => setBusy({ label, step }),
      });
      setBusy(null);
      setResult({ ok: true, text: `${label}: done.` });
      load().catch(() => {});
      setTagsTick((x) => x + 1);
      return true;
    } catch (e) {
      setBusy(null);
      setResult({ error: e, label });
      const k = keyChange(e);
      if (k) {
        setKeyInfo(k);
        setDialog('repin');
      }
      load().catch(() => {});
      return false;
    }
  };
  const stateEvent = (label, ev) =>
    act(label, 'PUT', `/hosts/${uuid}/actions`, { changeHostState: { stateEvent: ev } });
  const reconnect = (repin) =>
    act(repin ? 'Re-pin the host key and reconnect' : 'Reconnect', 'PUT', `/hosts/${uuid}/actions`, {
      reconnectHost: repin ? { repinHostKey: true } : {},
    });

  if (missing) {
    return html`<section class="page"><h1>Host not found</h1>
      <p id="host-missing">No host has the uuid <code>${uuid}</code>: it may have been deleted.</p>
      <p><a href="#/hosts">Back to the hosts</a></p></section>`;
  }
  if (!host) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;

  const sysTags = tags ? tags.system : [];
  const fingerprint = (sysTags.find((t) => t.startsWith('sshHostKey::')) || '').slice('sshHostKey::'.length);
  const jobs = journal.recent({ target: uuid, limit: 10 });
  const inMaintenance = host.state === 'Maintenance' || host.state === 'PreMaintenance';
  const disabled = !!busy;

  return html`<section class="page host" aria-labelledby="host-title" data-host=${uuid}>
    <p class="crumbs"><a href="#/hosts">Hosts</a> ›</p>
    <div class="page-head">
      <h1 id="host-title">${host.name}</h1>
      <span id="host-status"><${StatusBadge} status=${host.status} /></span>
      <span id="host-state"><${StateBadge} state=${host.state} /></span>
    </div>
    <div class="actions" role="toolbar" aria-label="Host actions">
      ${host.state !== 'Enabled' &&
      html`<button id="action-enable" disabled=${disabled} onClick=${() => stateEvent('Enable', 'enable')}>Enable</button>`}
      ${host.state === 'Enabled' &&
      html`<button id="action-disable" disabled=${disabled} onClick=${() => stateEvent('Disable', 'disable')}>Disable</button>`}
      ${!inMaintenance &&
      html`<button id="action-maintain" disabled=${disabled} onClick=${() => setDialog('maintain')}>Maintenance…</button>`}
      <button id="action-reconnect" disabled=${disabled || inMaintenance}
        title=${inMaintenance ? 'A host in maintenance is reconnected by enabling or disabling it' : ''}
        onClick=${() => reconnect(false)}>Reconnect</button>
      <button id="action-rename" disabled=${disabled} onClick=${() => { setNewName(host.name); setDialog('rename'); }}>Rename…</button>
      <button id="action-delete" class="danger" disabled=${disabled} onClick=${() => setDialog('delete')}>Delete…</button>
    </div>
    <div aria-live="polite" id="action-result">
      ${busy && html`<p class="progress"><span class="spinner" aria-hidden="true"></span>${busy.label}…
        ${busy.step && html` <span data-step=${busy.step}>${stepLabel(busy.step)}</span>`}</p>`}
      ${result && result.ok && html`<p class="ok-box" role="status">${result.text}</p>`}
      ${result && result.error && html`<${ErrorBox} error=${result.error} title=${`${result.label} failed`} />`}
    </div>
    <${ErrorBox} error=${error} />

    <div class="grid-2">
      <section class="card">
        <h2>Facts</h2>
        <dl class="facts">
          <${Fact} label="UUID"><code>${host.uuid}</code><//>
          <${Fact} label="Management IP" id="fact-ip">${host.managementIp}<//>
          <${Fact} label="Hostname">${host.hostname}<//>
          <${Fact} label="SSH">${host.username}@${host.managementIp}:${host.sshPort}<//>
          <${Fact} label="Cluster">${cluster ? html`<a href=${`#/hosts?cluster=${cluster.uuid}`}>${cluster.name}</a>` : host.clusterUuid}<//>
          <${Fact} label="Zone">${zone ? zone.name : host.zoneUuid}<//>
          <${Fact} label="Hypervisor">${host.hypervisorType}<//>
          <${Fact} label="Operating system" id="fact-os">${[host.osDistribution, host.osVersion, host.osRelease && `(${host.osRelease})`].filter(Boolean).join(' ')}<//>
          <${Fact} label="Architecture">${host.architecture}<//>
          <${Fact} label="CPUs" id="fact-cpus">${host.cpuNum !== undefined ? `${fmtNum(host.cpuNum)} in ${fmtNum(host.cpuSockets)} sockets` : ''}<//>
          <${Fact} label="IPMI">${host.ipmiAddress}<//>
          <${Fact} label="Description">${host.description}<//>
          <${Fact} label="SSH host key" id="fact-fingerprint">${fingerprint
            ? html`<code>${fingerprint}</code>`
            : tags === null ? html`<span class="muted">not shown: this server does not list tags</span>` : ''}<//>
          <${Fact} label="Created">${host.createDate}<//>
          <${Fact} label="Last changed">${host.lastOpDate}<//>
        </dl>
      </section>
      <div>
        <section class="card">
          <h2>Capacity</h2>
          <div class="capacity">
            <div><span class="cap-label">CPU</span>
              <${Bar} used=${(host.totalCpuCapacity || 0) - (host.availableCpuCapacity || 0)} total=${host.totalCpuCapacity || 0} label="CPU used" /></div>
            <div><span class="cap-label">Memory</span>
              <${Bar} used=${(host.totalMemoryCapacity || 0) - (host.availableMemoryCapacity || 0)} total=${host.totalMemoryCapacity || 0}
                format=${fmtBytes} label="Memory used" /></div>
          </div>
        </section>
        <section class="card">
          <h2>Hardware</h2>
          <dl class="hw" id="hardware">${HW_FIELDS.map(
            ([f, l]) => html`<div class="fact"><dt>${l}</dt><dd data-hw=${f}><${HwBadge} value=${host[f]} /></dd></div>`,
          )}</dl>
        </section>
        <section class="card">
          <h2>Tags</h2>
          ${tags === undefined
            ? html`<${Loading} />`
            : tags === null
              ? html`<p class="muted">This server does not serve QuerySystemTag, so tags cannot be listed here.
                  They can still be queried: <code>__systemTag__~=os::%</code> in the hosts search.</p>`
              : html`<ul class="tags" id="tags">${[...tags.system.map((t) => ['system', t]), ...tags.user.map((t) => ['user', t])].map(
                  ([kind, t]) => html`<li class=${kind}><code>${t}</code></li>`,
                )}</ul>`}
        </section>
      </div>
    </div>
    <section class="card">
      <h2>Recent jobs <span class="muted small">(started from this browser)</span></h2>
      ${jobs.length === 0
        ? html`<p class="muted">None yet.</p>`
        : html`<table class="compact" id="host-jobs"><thead><tr><th>Started</th><th>What</th><th>Result</th></tr></thead>
            <tbody>${jobs.map(
              (j) => html`<tr><td>${new Date(j.started).toLocaleString()}</td><td>${j.label}</td>
                <td>${j.state === 'Failed'
                  ? html`<span class="badge bad">Failed</span> ${j.error && j.error.message}`
                  : html`<span class="badge ${j.state === 'Running' ? 'busy' : 'ok'}">${j.state}</span>`}</td></tr>`,
            )}</tbody></table>`}
    </section>

    <${Dialog} id="dialog-maintain" open=${dialog === 'maintain'} onClose=${() => setDialog(null)} title="Put the host in maintenance?">
      <p>The host stays managed but is no longer pinged or reconnected, and its state becomes Maintenance.
        Enabling or disabling it later reconnects it. A host must be Connected to enter maintenance.</p>
      <div class="dialog-buttons">
        <button class="ghost" onClick=${() => setDialog(null)}>Cancel</button>
        <button class="primary" id="confirm-maintain" onClick=${() => stateEvent('Maintenance', 'maintain')}>Enter maintenance</button>
      </div>
    <//>
    <${Dialog} id="dialog-rename" open=${dialog === 'rename'} onClose=${() => setDialog(null)} title="Rename the host">
      <form onSubmit=${(e) => {
        e.preventDefault();
        act('Rename', 'PUT', `/hosts/${uuid}/actions`, { updateHost: { name: newName.trim() } });
      }}>
        <label>New name<input id="rename-input" value=${newName} onInput=${(e) => setNewName(e.target.value)} required maxlength="255" /></label>
        <div class="dialog-buttons">
          <button type="button" class="ghost" onClick=${() => setDialog(null)}>Cancel</button>
          <button type="submit" class="primary" id="confirm-rename">Rename</button>
        </div>
      </form>
    <//>
    <${Dialog} id="dialog-delete" open=${dialog === 'delete'} onClose=${() => setDialog(null)} title=${`Delete ${host.name}?`}>
      <p>hostplane stops managing this host and forgets it: its record, tags and stored credentials go.
        Nothing else on the machine is changed.</p>
      <fieldset class="modes"><legend>How</legend>
        ${DELETE_MODES.map(
          ([m, text]) => html`<label class="mode"><input type="radio" name="delete-mode" value=${m} id=${`delete-${m}`}
            checked=${deleteMode === m} onChange=${() => setDeleteMode(m)} />
            <span><strong>${m}</strong><br /><span class="muted">${text}</span></span></label>`,
        )}
      </fieldset>
      <div class="dialog-buttons">
        <button class="ghost" onClick=${() => setDialog(null)}>Cancel</button>
        <button class="danger" id="confirm-delete" onClick=${async () => {
          if (await act('Delete', 'DELETE', `/hosts/${uuid}?deleteMode=${deleteMode}`)) go('#/hosts');
        }}>Delete the host</button>
      </div>
    <//>
    <${Dialog} id="dialog-repin" open=${dialog === 'repin'} onClose=${() => setDialog(null)} title="The host's SSH key has changed">
      <div class="warn-box" role="alert">
        <p>The machine at <strong>${host.managementIp}</strong> presented a different SSH host key from the one hostplane pinned.
          hostplane sent it no password.</p>
        <dl class="keys">
          <dt>Pinned key</dt><dd><code id="key-pinned">${keyInfo && keyInfo.pinned}</code></dd>
          <dt>Presented now</dt><dd><code id="key-presented">${keyInfo && keyInfo.presented}</code></dd>
        </dl>
        <p>Trust the new key only if you know the host was reinstalled or its keys were regenerated on purpose
          (check with <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> on its console).
          Otherwise someone may be intercepting the connection: find out why first.</p>
      </div>
      <div class="dialog-buttons">
        <button class="ghost" id="cancel-repin" onClick=${() => setDialog(null)}>Keep the old key</button>
        <button class="danger" id="confirm-repin" onClick=${() => reconnect(true)}>Trust the new key and reconnect</button>
      </div>
    <//>
  </section>`;
}
