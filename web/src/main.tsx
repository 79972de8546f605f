// The web app: pages by path. The watch page and the studio (hls.js, socket.io-client) are
// separate chunks, loaded when first visited, so home and sign-in stay small.
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { match, useLocation } from './router';
import { Home } from './pages/Home';
import { Search } from './pages/Search';
import { SignIn, SignUp } from './pages/Auth';
import { ProfilePage } from './pages/Profile';
import { Settings } from './pages/Settings';
import { NotFound } from './pages/NotFound';
import { Shell } from './ui';

type Page = ComponentType<{ params: Record<string, string> }>;
function lazyPage(load: () => Promise<Page>): Page {
  let cached: Page | null = null;
  return function Lazy(props) {
    const [P, setP] = useState<Page | null>(() => cached); // a function: not called as an initializer
    useEffect(() => { if (!P) load().then((m) => { cached = m; setP(() => m); }); }, []);
    return P ? <P {...props} /> : <Shell title="Loading"><p class="muted" aria-live="polite">Loading…</p></Shell>;
  };
}
const Watch = lazyPage(() => import('./pages/Watch').then((m) => m.Watch));
const Studio = lazyPage(() => import('./pages/Studio').then((m) => m.Studio));

const routes: [string, Page][] = [
  ['/', Home], ['/search', Search], ['/signin', SignIn], ['/signup', SignUp], ['/settings', Settings],
  ['/u/:id', ProfilePage], ['/watch/:id', Watch], ['/studio', Studio], ['/studio/:id', Studio],
];

function App() {
  const loc = useLocation();
  const path = loc.split('?')[0].replace(/(.)\/+$/, '$1');
  for (const [pattern, P] of routes) {
    const params = match(pattern, path);
    if (params) return <P key={pattern} params={params} />;
  }
  return <NotFound />;
}

render(<App />, document.getElementById('app')!);
