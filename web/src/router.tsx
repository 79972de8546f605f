// A tiny history router: the path is state, <Link> and navigate() push, back/forward pop.
// Pages are matched in App (main.tsx); the server's SPA fallback sends every app path here.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const subs = new Set<() => void>();
export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, '', to); else history.pushState(null, '', to);
  subs.forEach((s) => s());
  window.scrollTo(0, 0);
}
window.addEventListener('popstate', () => subs.forEach((s) => s()));

export function useLocation() {
  const [loc, set] = useState(window.location.pathname + window.location.search);
  useEffect(() => {
    const s = () => set(window.location.pathname + window.location.search);
    subs.add(s);
    return () => { subs.delete(s); };
  }, []);
  return loc;
}

export function Link(props: { href: string; children: ComponentChildren } & JSX.HTMLAttributes<HTMLAnchorElement>) {
  const { href, children, ...rest } = props;
  return (
    <a {...rest} href={href} onClick={(e) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(href);
    }}>{children}</a>
  );
}

/** Matches "/watch/:id" against a path; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/'), s = path.split('?')[0].split('/');
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) { if (!s[i]) return null; out[p[i].slice(1)] = decodeURIComponent(s[i]); }
    else if (p[i] !== s[i]) return null;
  }
  return out;
}
