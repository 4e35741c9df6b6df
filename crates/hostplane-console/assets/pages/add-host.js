// Add host: a form (cluster, IP, port, user, password or private key, optional expected host
// key), then the connect shown step by step as it runs (the job poll's X-Job-Step), and on
// failure the failed step, the reason and the fix (error.opaque.step/reason/hint).
//
// Two more places, each behind its flag in CAPABILITIES:
// - `checkFirst`: a "Check first" button that runs CheckKVMHost with the same form (all the
//   checks, nothing saved) and shows every finding: step, verdict, measured value, fix;
// - `bulkAdd`: adding many hosts from a CSV host file (AddKVMHostFromConfigFile, see
//   `BulkAdd` below): a live count while it runs, then one line per row.

import { html, useEffect, useState } from '../lib.js';
import * as api from '../api.js';
import { ErrorBox, STEPS, stepLabel } from '../ui.js';

export const CAPABILITIES = { checkFirst: true, bulkAdd: true };

function Steps({ seen, failed, stopped, done }) {
  // Steps the server reported, plus every earlier one (a poll can miss a quick step).
  const last = Math.max(-1, ...seen.map((s) => STEPS.findIndex(([id]) => id === s)));
  const failedAt = failed ? STEPS.findIndex(([id]) => id === failed) : -1;
  const upto = Math.max(last, failedAt);
  return html`<ol class="steps" id="add-steps">
    ${STEPS.map(([id, label], i) => {
      let state = 'pending';
      if (done) state = 'done';
      else if (i === failedAt) state = 'failed';
      else if (i < upto || (failedAt >= 0 && i < failedAt)) state = 'done';
      else if (i === upto && !stopped) state = 'current';
      return html`<li class=${`step ${state}`} data-step=${id} data-step-state=${state}
        aria-current=${state === 'current' ? 'step' : undefined}>
        <span class="step-mark" aria-hidden="true">${{ done: '✓', failed: '✗', current: '', pending: '' }[state]}</span>
        ${label}${state === 'current' ? html` <span class="spinner" aria-hidden="true"></span>` : ''}
      </li>`;
    })}
  </ol>`;
}

export function AddHost({ params }) {
  const [clusters, setClusters] = useState(null);
  const [zones, setZones] = useState([]);
  const [form, setForm] = useState({
    clusterUuid: params.get('cluster') || '',
    name: '',
    managementIp: '',
    sshPort: '22',
    username: 'root',
    auth: 'password',
    password: '',
    privateKey: '',
    hostKeyFingerprint: '',
    description: '',
  });
  const [run, setRun] = useState(null); // { name, seen: [], error, host }
  const [checked, setChecked] = useState(null); // { report } or { error } or { running }
  const [loadError, setLoadError] = useState(null);
  // A check answers for the values it checked: an edit makes it stale, so it goes.
  useEffect(() => setChecked((c) => (c && c.running ? c : null)), [form]);

  useEffect(() => {
    Promise.all([
      api.query('clusters', { limit: 1000, sort: '+name', fields: ['uuid', 'name', 'zoneUuid', 'state'] }),
      api.query('zones', { limit: 1000, fields: ['uuid', 'name'] }),
    ]).then(
      ([c, z]) => {
        setClusters(c.items);
        setZones(z.items);
        if (!form.clusterUuid && c.items.length) setForm((f) => ({ ...f, clusterUuid: c.items[0].uuid }));
      },
      setLoadError,
    );
  }, []);

  const field = (k) => ({ value: form[k], onInput: (e) => setForm((f) => ({ ...f, [k]: e.target.value })) });
  const params_ = () => {
    const p = {
      name: form.name.trim() || form.managementIp.trim(),
      managementIp: form.managementIp.trim(),
      username: form.username.trim(),
      clusterUuid: form.clusterUuid,
      sshPort: parseInt(form.sshPort, 10) || 22,
    };
    if (form.auth === 'password') p.password = form.password;
    else {
      p.privateKey = form.privateKey;
      if (form.password) p.password = form.password; // the key's passphrase
    }
    if (form.hostKeyFingerprint.trim()) p.hostKeyFingerprint = form.hostKeyFingerprint.trim();
    if (form.description.trim()) p.description = form.description.trim();
    return p;
  };

  const submit = async (ev) => {
    ev.preventDefault();
    const p = params_();
    setRun({ name: p.name, seen: [], error: null, host: null });
    try {
      const r = await api.call('POST', '/hosts/kvm', { params: p }, {
        label: `Add host ${p.name} (${p.managementIp})`,
        target: { kind: 'host', name: p.name },
        onStep: (step) => setRun((x) => ({ ...x, seen: [...x.seen, step] })),
      });
      setRun((x) => ({ ...x, host: r.inventory }));
      setForm((f) => ({ ...f, name: '', managementIp: '', password: '', privateKey: '', hostKeyFingerprint: '' }));
    } catch (e) {
      setRun((x) => ({ ...x, error: e }));
    }
  };

  const check = async () => {
    const form_ = document.getElementById('add-form');
    if (form_ && !form_.reportValidity()) return;
    setChecked({ running: true });
    try {
      const report = await api.call('POST', '/hosts/kvm/check', { params: params_() });
      setChecked({ report });
    } catch (e) {
      setChecked({ error: e });
    }
  };

  if (loadError) return html`<${ErrorBox} error=${loadError} />`;
  const zoneName = (u) => (zones.find((z) => z.uuid === u) || {}).name || '';
  const running = run && !run.error && !run.host;

  return html`<section class="page add-host" aria-labelledby="add-title">
    <h1 id="add-title">Add a KVM host</h1>
    ${clusters && clusters.length === 0 &&
    html`<p class="warn-box" id="no-cluster">A host joins a cluster, and there is none yet. <a href="#/zones">Create a zone and a cluster</a> first.</p>`}
    <div class="grid-2">
      <form class="card form" id="add-form" onSubmit=${submit}>
        <label>Cluster
          <select id="add-cluster" required value=${form.clusterUuid}
            onChange=${(e) => setForm((f) => ({ ...f, clusterUuid: e.target.value }))}>
            ${(clusters || []).map((c) => html`<option value=${c.uuid}>${c.name} (zone ${zoneName(c.zoneUuid)})</option>`)}
          </select></label>
        <div class="row">
          <label class="grow">Management IP<input id="add-ip" required ...${field('managementIp')}
            placeholder="192.168.0.10" spellcheck="false" /></label>
          <label class="narrow">SSH port<input id="add-port" type="number" min="1" max="65535" required ...${field('sshPort')} /></label>
        </div>
        <label>Name <span class="muted small">(the IP when empty)</span><input id="add-name" maxlength="255" ...${field('name')} /></label>
        <label>SSH user<input id="add-user" required autocomplete="off" ...${field('username')} /></label>
        <fieldset class="inline"><legend>Log in with</legend>
          <label><input type="radio" name="auth" id="auth-password" checked=${form.auth === 'password'}
            onChange=${() => setForm((f) => ({ ...f, auth: 'password' }))} /> a password</label>
          <label><input type="radio" name="auth" id="auth-key" checked=${form.auth === 'key'}
            onChange=${() => setForm((f) => ({ ...f, auth: 'key' }))} /> a private key</label>
        </fieldset>
        ${form.auth === 'key' &&
        html`<label>Private key (OpenSSH or PEM)<textarea id="add-key" rows="5" spellcheck="false" required
          placeholder="-----BEGIN OPENSSH PRIVATE KEY-----" ...${field('privateKey')}></textarea></label>`}
        <label>${form.auth === 'key' ? 'Key passphrase (if the key is encrypted)' : 'Password'}
          <input id="add-password" type="password" autocomplete="new-password" required=${form.auth === 'password'}
            ...${field('password')} /></label>
        <details>
          <summary>More</summary>
          <label>Expected SSH host key <span class="muted small">(optional, <code>SHA256:…</code>; without it the first key seen is pinned)</span>
            <input id="add-fingerprint" spellcheck="false" ...${field('hostKeyFingerprint')} /></label>
          <label>Description<input id="add-description" maxlength="2048" ...${field('description')} /></label>
        </details>
        <div class="form-buttons">
          <button type="submit" class="primary" id="add-submit" disabled=${running || !clusters || clusters.length === 0}>Add host</button>
          ${CAPABILITIES.checkFirst &&
          html`<button type="button" id="add-check" disabled=${running || (checked && checked.running)}
            onClick=${check}>Check first</button>`}
        </div>
        ${checked && html`<${Findings} checked=${checked} />`}
      </form>
      <section class="card" aria-live="polite" aria-labelledby="progress-title">
        <h2 id="progress-title">${run ? `Adding ${run.name}` : 'Progress'}</h2>
        ${!run
          ? html`<p class="muted">The steps of the connect show here while it runs: hostplane logs in over SSH,
              pins the host key, collects the facts, checks the host can run KVM, and saves it.</p>`
          : html`<${Steps} seen=${run.seen} failed=${run.error && run.error.step} stopped=${!!run.error} done=${!!run.host} />
            ${running && html`<p class="progress" id="add-current">${run.seen.length
              ? html`<span data-current-step=${run.seen[run.seen.length - 1]}>${stepLabel(run.seen[run.seen.length - 1])}</span>…`
              : 'Starting…'}</p>`}
            ${run.host && html`<p class="ok-box" id="add-done" role="status">
              <a href=${`#/hosts/${run.host.uuid}`}>${run.host.name}</a> is ${run.host.status}: ${run.host.cpuNum} CPUs, ${run.host.osDistribution || ''} ${run.host.osVersion || ''}.</p>`}
            ${run.error && html`<${ErrorBox} error=${run.error} title="The host was not added" />`}`}
      </section>
    </div>
    ${CAPABILITIES.bulkAdd && html`<${BulkAdd} />`}
  </section>`;
}

// CheckKVMHost's answer: ready or not, and every finding.
function Findings({ checked }) {
  if (checked.running) return html`<p class="progress" id="check-running">Checking… <span class="spinner" aria-hidden="true"></span></p>`;
  if (checked.error) return html`<${ErrorBox} error=${checked.error} title="The check could not run" />`;
  const r = checked.report;
  const mark = { pass: '✓', fail: '✗', warn: '!', skipped: '–' };
  return html`<div id="check-result" data-ready=${String(r.ready)}>
    <p class=${r.ready ? 'ok-box' : 'warn-box'} role="status">${r.ready
      ? `${r.managementIp} is ready to be added.`
      : `${r.managementIp} is not ready: fix the failed checks.`}</p>
    <table class="table" id="check-findings"><thead><tr><th>Check</th><th>Result</th><th>Value</th><th>Reason / fix</th></tr></thead>
      <tbody>${(r.findings || []).map((f) => html`<tr data-step=${f.step} data-verdict=${f.verdict}>
        <td>${stepLabel(f.step)}</td><td>${mark[f.verdict] || ''} ${f.verdict}</td><td>${f.value || ''}</td>
        <td>${f.details || ''}${f.hint ? html`<br /><strong>Fix:</strong> ${f.hint}` : ''}</td></tr>`)}</tbody>
    </table></div>`;
}

// Bulk add from a CSV host file (AddKVMHostFromConfigFile): the file goes to the server as it
// is (base64); the job's step is the live count; the answer has one line per row.
function BulkAdd() {
  const [state, setState] = useState(null); // { running, progress, results, error }
  const submit = async (ev) => {
    ev.preventDefault();
    const file = document.getElementById('bulk-file').files[0];
    if (!file) return;
    const text = await file.text();
    const hostInfo = btoa(unescape(encodeURIComponent(text)));
    setState({ running: true, progress: '' });
    try {
      const r = await api.call('POST', '/hosts/kvm/from-file', { params: { hostInfo } }, {
        label: `Add hosts from ${file.name}`,
        onStep: (step) => setState((s) => ({ ...s, progress: step })),
      });
      setState({ results: r.results || [] });
    } catch (e) {
      setState({ error: e });
    }
  };
  const results = (state && state.results) || [];
  const failed = results.filter((r) => !r.success).length;
  return html`<section class="card" id="bulk-add" aria-labelledby="bulk-title">
    <h2 id="bulk-title">Add many hosts from a file</h2>
    <p class="muted">A CSV file with a header row: <code>managementIp,sshPort,username,password,clusterName,name,description,tags</code>
      (or <code>clusterUuid</code>). Each row is added on its own; a bad row fails alone.</p>
    <form class="form" onSubmit=${submit}>
      <input type="file" id="bulk-file" accept=".csv,text/csv,text/plain" required />
      <button type="submit" class="primary" id="bulk-submit" disabled=${state && state.running}>Add hosts</button>
    </form>
    ${state && state.running && html`<p class="progress" id="bulk-progress">${state.progress || 'Starting…'} <span class="spinner" aria-hidden="true"></span></p>`}
    ${state && state.error && html`<${ErrorBox} error=${state.error} title="The file was not added" />`}
    ${state && state.results && html`<p class=${failed ? 'warn-box' : 'ok-box'} id="bulk-summary" role="status">
        ${results.length - failed} added, ${failed} failed, of ${results.length} rows.</p>
      <table class="table" id="bulk-results"><thead><tr><th>Line</th><th>IP</th><th>Name</th><th>Result</th><th>Step</th><th>Fix</th></tr></thead>
        <tbody>${results.map((r) => html`<tr data-ip=${r.ip} data-success=${String(r.success)}>
          <td>${r.line}</td><td>${r.ip}</td>
          <td>${r.hostUuid ? html`<a href=${`#/hosts/${r.hostUuid}`}>${r.name}</a>` : r.name}</td>
          <td>${r.success ? '✓ added' : '✗ failed'}</td>
          <td>${r.error && r.error.opaque ? r.error.opaque.step || '' : ''}</td>
          <td>${r.error ? `${r.error.details || ''}${r.error.opaque && r.error.opaque.hint ? ` — fix: ${r.error.opaque.hint}` : ''}` : ''}</td></tr>`)}</tbody>
      </table>`}
  </section>`;
}
