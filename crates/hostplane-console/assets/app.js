// The console's shell: the login page, the header with navigation, and the hash router
// (#/overview, #/hosts, #/hosts/<uuid>, #/add-host, #/zones, #/settings). Every page talks
// to the server through api.js only.

import { html, render, useEffect, useRef, useState } from './lib.js';
import * as api from './api.js';
import { ErrorBox } from './ui.js';
import { Overview } from './pages/overview.js';
import { Hosts } from './pages/hosts.js';
import { HostDetail } from './pages/host.js';
import { AddHost } from './pages/add-host.js';
import { ZonesClusters } from './pages/zones.js';
import { Settings } from './pages/settings.js';

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, qs] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(qs || '') };
}

const NAV = [
  ['overview', 'Overview'],
  ['hosts', 'Hosts'],
  ['add-host', 'Add host'],
  ['zones', 'Zones & clusters'],
  ['settings', 'Settings'],
];

function Login({ notice, onLogin }) {
  const [account, setAccount] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const passwordRef = useRef(null);
  useEffect(() => {
    if (passwordRef.current) passwordRef.current.focus();
  }, []);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(account.trim(), password);
      onLogin();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<main class="login" id="login-page">
    <form class="card login-card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title"><span class="logo" aria-hidden="true"></span>hostplane</h1>
      ${notice && html`<p class="notice" role="status" id="login-notice">${notice}</p>`}
      <label>Account<input id="login-account" name="account" autocomplete="username" value=${account}
        onInput=${(e) => setAccount(e.target.value)} required /></label>
      <label>Password<input id="login-password" ref=${passwordRef} name="password" type="password"
        autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.target.value)} required autofocus /></label>
      <${ErrorBox} error=${error} />
      <button type="submit" class="primary" id="login-submit" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>
  </main>`;
}

function Page({ route }) {
  const [first, second] = route.parts;
  switch (first) {
    case 'hosts':
      return second ? html`<${HostDetail} uuid=${second} />` : html`<${Hosts} params=${route.params} />`;
    case 'add-host':
      return html`<${AddHost} params=${route.params} />`;
    case 'zones':
      return html`<${ZonesClusters} />`;
    case 'settings':
      return html`<${Settings} />`;
    default:
      return html`<${Overview} />`;
  }
}

function Shell({ route, session, onLogout }) {
  const current = route.parts[0] || 'overview';
  const pageKey = route.parts.join('/');
  const first = useRef(true);
  useEffect(() => {
    // A new page (not a new filter on the same page): keyboard focus goes to its content.
    if (first.current) {
      first.current = false;
      return;
    }
    const main = document.getElementById('main');
    if (main) main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [pageKey]);
  useEffect(() => {
    // The server ends sessions at their expiry: look every 15 s and when the tab comes back,
    // so a page that is only being read also goes back to the login page.
    const t = setInterval(api.checkSession, 15000);
    const onFocus = () => api.checkSession();
    window.addEventListener('focus', onFocus);
    return () => {
      clearInterval(t);
      window.removeEventListener('focus', onFocus);
    };
  }, []);
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <a class="brand" href="#/overview"><span class="logo" aria-hidden="true"></span>hostplane</a>
      <nav aria-label="Main">
        ${NAV.map(
          ([id, label]) =>
            html`<a href=${`#/${id}`} id=${`nav-${id}`} aria-current=${current === id ? 'page' : undefined}>${label}</a>`,
        )}
      </nav>
      <span class="who">${session.account}</span>
      <button id="logout" class="ghost" onClick=${onLogout}>Log out</button>
    </header>
    <main id="main" tabindex="-1"><${Page} route=${route} /></main>
  </div>`;
}

function App() {
  const [route, setRoute] = useState(parseHash());
  const [session, setSession] = useState(api.currentSession());
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    const f = () => setRoute(parseHash());
    window.addEventListener('hashchange', f);
    api.onSessionExpired(() => {
      setSession(null);
      setNotice('Your session has expired. Log in again to continue.');
    });
    // Another tab logged in or out.
    const onStorage = (e) => {
      if (e.key === 'hostplane.session') setSession(api.currentSession());
    };
    window.addEventListener('storage', onStorage);
    return () => {
      window.removeEventListener('hashchange', f);
      window.removeEventListener('storage', onStorage);
    };
  }, []);
  useEffect(() => {
    const page = route.parts[0] || 'overview';
    const label = (NAV.find(([id]) => id === page) || [null, 'Host'])[1];
    document.title = session ? `${route.parts[1] ? 'Host' : label} · hostplane` : 'Log in · hostplane';
  }, [route, session]);
  if (!session) {
    return html`<${Login}
      notice=${notice}
      onLogin=${() => {
        setNotice(null);
        setSession(api.currentSession());
      }}
    />`;
  }
  return html`<${Shell}
    route=${route}
    session=${session}
    onLogout=${async () => {
      await api.logout();
      setNotice('You have logged out.');
      setSession(null);
    }}
  />`;
}

render(html`<${App} />`, document.getElementById('app'));
