// Zones and clusters: list, create, rename, enable/disable, delete. A delete first says what
// goes with it (a zone takes its clusters and their hosts; a cluster takes its hosts), with
// the counts read just before the question.

import { html, useState } from '../lib.js';
import * as api from '../api.js';
import { Dialog, ErrorBox, Loading, fmtNum, useLoad } from '../ui.js';

async function loadAll() {
  const [zones, clusters] = await Promise.all([
    api.query('zones', { limit: 1000, sort: '+name' }),
    api.query('clusters', { limit: 1000, sort: '+name' }),
  ]);
  const hostsPer = await Promise.all(clusters.items.map((c) => api.count('hosts', [`clusterUuid=${c.uuid}`])));
  clusters.items.forEach((c, i) => {
    c.hosts = hostsPer[i];
  });
  return { zones: zones.items, clusters: clusters.items };
}

export function ZonesClusters() {
  const { data, error, reload } = useLoad(loadAll, []);
  const [zoneName, setZoneName] = useState('');
  const [zoneDesc, setZoneDesc] = useState('');
  const [clusterName, setClusterName] = useState('');
  const [clusterZone, setClusterZone] = useState('');
  const [clusterArch, setClusterArch] = useState('');
  const [busy, setBusy] = useState(null);
  const [result, setResult] = useState(null);
  const [formError, setFormError] = useState({});
  const [dialog, setDialog] = useState(null); // { kind, action, item, ... }
  const [newName, setNewName] = useState('');

  const run = async (label, method, path, body, { form } = {}) => {
    setBusy(label);
    setResult(null);
    setFormError({});
    try {
      await api.call(method, path, body, { label });
      setResult({ ok: true, text: `${label}: done.` });
      setDialog(null);
      reload();
      return true;
    } catch (e) {
      if (form) setFormError({ [form]: e });
      else setResult({ error: e, label });
      setDialog(null);
      return false;
    } finally {
      setBusy(null);
    }
  };

  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const zoneOf = (u) => data.zones.find((z) => z.uuid === u);
  const clustersOf = (u) => data.clusters.filter((c) => c.zoneUuid === u);
  const hostsInZone = (u) => clustersOf(u).reduce((n, c) => n + (c.hosts || 0), 0);
  const firstZone = clusterZone || (data.zones[0] && data.zones[0].uuid) || '';
  const path = (kind, item) => `/${kind === 'zone' ? 'zones' : 'clusters'}/${item.uuid}`;
  const action = (kind) => (kind === 'zone' ? 'Zone' : 'Cluster');

  const stateButton = (kind, item) => {
    const ev = item.state === 'Enabled' ? 'disable' : 'enable';
    return html`<button class="small" data-action=${`${ev}-${kind}`} disabled=${!!busy}
      onClick=${() => run(`${ev === 'enable' ? 'Enable' : 'Disable'} ${kind} ${item.name}`, 'PUT', `${path(kind, item)}/actions`,
        { [`change${action(kind)}State`]: { stateEvent: ev } })}>${ev === 'enable' ? 'Enable' : 'Disable'}</button>`;
  };
  const rowButtons = (kind, item) => html`<td class="row-actions">
    ${stateButton(kind, item)}
    <button class="small" data-action=${`rename-${kind}`} disabled=${!!busy}
      onClick=${() => { setNewName(item.name); setDialog({ kind, action: 'rename', item }); }}>Rename</button>
    <button class="small danger" data-action=${`delete-${kind}`} disabled=${!!busy}
      onClick=${() => setDialog({ kind, action: 'delete', item })}>Delete</button>
  </td>`;

  const d = dialog;
  const cascade =
    d && d.action === 'delete'
      ? d.kind === 'zone'
        ? { clusters: clustersOf(d.item.uuid).length, hosts: hostsInZone(d.item.uuid) }
        : { clusters: 0, hosts: d.item.hosts || 0 }
      : null;

  return html`<section class="page zones" aria-labelledby="zones-page-title">
    <h1 id="zones-page-title">Zones and clusters</h1>
    <div aria-live="polite" id="zc-result">
      ${busy && html`<p class="progress"><span class="spinner" aria-hidden="true"></span>${busy}…</p>`}
      ${result && result.ok && html`<p class="ok-box" role="status">${result.text}</p>`}
      ${result && result.error && html`<${ErrorBox} error=${result.error} title=${`${result.label} failed`} />`}
    </div>
    <div class="grid-2">
      <section class="card" aria-labelledby="zones-list-title">
        <h2 id="zones-list-title">Zones</h2>
        ${data.zones.length === 0
          ? html`<p class="muted">No zone yet: create the first one below.</p>`
          : html`<table class="compact" id="zones-table">
              <thead><tr><th>Name</th><th>State</th><th>Clusters</th><th>Hosts</th><th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>${data.zones.map(
                (z) => html`<tr data-zone=${z.name}>
                  <td title=${z.description || ''}>${z.name}</td>
                  <td><span class="badge ${z.state === 'Enabled' ? 'ok' : 'muted'}">${z.state}</span></td>
                  <td>${fmtNum(clustersOf(z.uuid).length)}</td>
                  <td>${fmtNum(hostsInZone(z.uuid))}</td>
                  ${rowButtons('zone', z)}
                </tr>`,
              )}</tbody></table>`}
        <form class="inline-form" id="zone-form" onSubmit=${(e) => {
          e.preventDefault();
          run(`Create zone ${zoneName.trim()}`, 'POST', '/zones', {
            params: { name: zoneName.trim(), ...(zoneDesc.trim() ? { description: zoneDesc.trim() } : {}) },
          }, { form: 'zone' }).then((ok) => ok && (setZoneName(''), setZoneDesc('')));
        }}>
          <h3>New zone</h3>
          <label>Name<input id="zone-name" required maxlength="255" value=${zoneName} onInput=${(e) => setZoneName(e.target.value)} /></label>
          <label>Description<input id="zone-description" value=${zoneDesc} onInput=${(e) => setZoneDesc(e.target.value)} /></label>
          <button type="submit" class="primary" id="zone-create" disabled=${!!busy}>Create zone</button>
          <${ErrorBox} error=${formError.zone} />
        </form>
      </section>
      <section class="card" aria-labelledby="clusters-list-title">
        <h2 id="clusters-list-title">Clusters</h2>
        ${data.clusters.length === 0
          ? html`<p class="muted">No cluster yet.</p>`
          : html`<table class="compact" id="clusters-table">
              <thead><tr><th>Name</th><th>Zone</th><th>State</th><th>Arch</th><th>Hosts</th><th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>${data.clusters.map(
                (c) => html`<tr data-cluster=${c.name}>
                  <td><a href=${`#/hosts?cluster=${c.uuid}`}>${c.name}</a></td>
                  <td>${(zoneOf(c.zoneUuid) || {}).name}</td>
                  <td><span class="badge ${c.state === 'Enabled' ? 'ok' : 'muted'}">${c.state}</span></td>
                  <td>${c.architecture || 'any'}</td>
                  <td>${fmtNum(c.hosts)}</td>
                  ${rowButtons('cluster', c)}
                </tr>`,
              )}</tbody></table>`}
        <form class="inline-form" id="cluster-form" onSubmit=${(e) => {
          e.preventDefault();
          run(`Create cluster ${clusterName.trim()}`, 'POST', '/clusters', {
            params: {
              name: clusterName.trim(),
              zoneUuid: firstZone,
              hypervisorType: 'KVM',
              ...(clusterArch ? { architecture: clusterArch } : {}),
            },
          }, { form: 'cluster' }).then((ok) => ok && setClusterName(''));
        }}>
          <h3>New cluster</h3>
          <label>Name<input id="cluster-name" required maxlength="255" value=${clusterName} onInput=${(e) => setClusterName(e.target.value)} /></label>
          <label>Zone<select id="cluster-zone" required value=${firstZone} onChange=${(e) => setClusterZone(e.target.value)}>
            ${data.zones.map((z) => html`<option value=${z.uuid}>${z.name}</option>`)}</select></label>
          <label>Architecture<select id="cluster-arch" value=${clusterArch} onChange=${(e) => setClusterArch(e.target.value)}>
            <option value="">Set by its first host</option>
            ${['x86_64', 'aarch64', 'mips64el', 'loongarch64'].map((a) => html`<option value=${a}>${a}</option>`)}</select></label>
          <button type="submit" class="primary" id="cluster-create" disabled=${!!busy || data.zones.length === 0}>Create cluster</button>
          <${ErrorBox} error=${formError.cluster} />
        </form>
      </section>
    </div>

    <${Dialog} id="dialog-zc-rename" open=${!!(d && d.action === 'rename')} onClose=${() => setDialog(null)}
      title=${d && d.action === 'rename' ? `Rename ${d.kind} ${d.item.name}` : ''}>
      ${d && d.action === 'rename' && html`<form onSubmit=${(e) => {
        e.preventDefault();
        run(`Rename ${d.kind} ${d.item.name}`, 'PUT', `${path(d.kind, d.item)}/actions`,
          { [`update${action(d.kind)}`]: { name: newName.trim() } });
      }}>
        <label>New name<input id="zc-rename-input" required maxlength="255" value=${newName} onInput=${(e) => setNewName(e.target.value)} /></label>
        <div class="dialog-buttons">
          <button type="button" class="ghost" onClick=${() => setDialog(null)}>Cancel</button>
          <button type="submit" class="primary" id="zc-confirm-rename">Rename</button>
        </div></form>`}
    <//>
    <${Dialog} id="dialog-zc-delete" open=${!!(d && d.action === 'delete')} onClose=${() => setDialog(null)}
      title=${d && d.action === 'delete' ? `Delete ${d.kind} ${d.item.name}?` : ''}>
      ${cascade && html`<div class="warn-box" id="cascade">
        ${d.kind === 'zone'
          ? html`<p>Deleting the zone <strong>${d.item.name}</strong> also deletes <strong data-cascade="clusters">${fmtNum(cascade.clusters)}</strong> cluster${cascade.clusters === 1 ? '' : 's'} in it and <strong data-cascade="hosts">${fmtNum(cascade.hosts)}</strong> host${cascade.hosts === 1 ? '' : 's'} in those clusters.</p>`
          : html`<p>Deleting the cluster <strong>${d.item.name}</strong> also deletes the <strong data-cascade="hosts">${fmtNum(cascade.hosts)}</strong> host${cascade.hosts === 1 ? '' : 's'} in it.</p>`}
        ${cascade.hosts > 0 && html`<p>Each host is deleted as a host delete does: disabled, no longer tracked, hostplane's
          takeover flag removed from it, its record, tags and stored credentials gone. The machines themselves keep running.</p>`}
        <p>This cannot be undone.</p></div>
      <div class="dialog-buttons">
        <button class="ghost" onClick=${() => setDialog(null)}>Cancel</button>
        <button class="danger" id="zc-confirm-delete"
          onClick=${() => run(`Delete ${d.kind} ${d.item.name}`, 'DELETE', `${path(d.kind, d.item)}?deleteMode=Permissive`)}>
          Delete ${d.kind}${cascade.clusters + cascade.hosts > 0 ? ' and everything in it' : ''}</button>
      </div>`}
    <//>
  </section>`;
}
