// Settings: the global configs, by category, each editable in place; the server validates a
// new value and its refusal is shown under that config, in words.

import { html, useState } from '../lib.js';
import * as api from '../api.js';
import { ErrorBox, Loading, useLoad } from '../ui.js';

function Config({ c, onSaved }) {
  const [value, setValue] = useState(c.value);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const id = `config-${c.category}-${c.name}`.replace(/[^A-Za-z0-9_-]/g, '-');
  const save = async (v) => {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const r = await api.call('PUT', `/global-configurations/${encodeURIComponent(c.category)}/${encodeURIComponent(c.name)}/actions`,
        { updateGlobalConfig: { value: v } }, { label: `Set ${c.category}.${c.name} to ${v}` });
      const now = (r.inventory && r.inventory.value) ?? v;
      setValue(now);
      setSaved(true);
      onSaved(c, now);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const changed = value !== c.value;
  return html`<tr data-config=${`${c.category}.${c.name}`}>
    <th scope="row"><label for=${id}><code>${c.name}</code></label>
      <div class="muted small">${c.description}</div></th>
    <td class="config-edit">
      <form onSubmit=${(e) => { e.preventDefault(); save(value); }}>
        <input id=${id} value=${value} spellcheck="false" aria-invalid=${error ? 'true' : 'false'}
          onInput=${(e) => { setValue(e.target.value); setSaved(false); }} />
        <button type="submit" class="small primary" disabled=${busy || !changed}>Save</button>
        ${c.value !== c.defaultValue && html`<button type="button" class="small ghost" disabled=${busy}
          onClick=${() => save(c.defaultValue)}>Reset</button>`}
        ${saved && html`<span class="ok-text" role="status">Saved</span>`}
      </form>
      <${ErrorBox} error=${error} />
    </td>
    <td class="muted"><code>${c.defaultValue}</code></td>
  </tr>`;
}

export function Settings() {
  const { data, error } = useLoad(async () => (await api.query('global-configurations', { limit: 1000 })).items, []);
  const [, setTick] = useState(0);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const categories = [...new Set(data.map((c) => c.category))].sort();
  const onSaved = (c, v) => {
    c.value = v;
    setTick((x) => x + 1);
  };
  return html`<section class="page settings" aria-labelledby="settings-title">
    <h1 id="settings-title">Settings</h1>
    <p class="muted">The global configs. A change takes effect at once; trackers pick it up at their next tick.</p>
    ${categories.map(
      (cat) => html`<section class="card"><h2>${cat}</h2>
        <table class="configs"><thead><tr><th scope="col">Config</th><th scope="col">Value</th><th scope="col">Default</th></tr></thead>
          <tbody>${data
            .filter((c) => c.category === cat)
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((c) => html`<${Config} key=${c.name} c=${c} onSaved=${onSaved} />`)}</tbody></table>
      </section>`,
    )}
  </section>`;
}
