/* global location, window, document */
/**
 * Hash routes, so every screen has its own address that can be linked and reloaded:
 *   #/                       the server list
 *   #/servers/<name>         one server
 *   #/servers/<name>/edit    its settings form
 *   #/add  #/import  #/groups  #/settings  #/keys  #/clients  #/my-servers
 * A view is `mount(container, params) → { update?(change), unmount?() }`.
 */

const ROUTES = [
  { pattern: /^\/?$/, view: 'list' },
  { pattern: /^\/servers\/([^/?]+)\/edit$/, view: 'edit' },
  { pattern: /^\/servers\/([^/?]+)$/, view: 'detail' },
  { pattern: /^\/add$/, view: 'add' },
  { pattern: /^\/import$/, view: 'import' },
  { pattern: /^\/groups$/, view: 'groups' },
  { pattern: /^\/settings$/, view: 'raw' },
  { pattern: /^\/keys$/, view: 'keys' },
  { pattern: /^\/clients$/, view: 'clients' },
  { pattern: /^\/my-servers$/, view: 'my-servers' },
];

/** The route of the current address: { view, name? } (unknown routes show the list). */
export function currentRoute() {
  const hash = location.hash.slice(1).split('?')[0];
  for (const { pattern, view } of ROUTES) {
    const match = pattern.exec(hash);
    if (!match) continue;
    if (match[1] === undefined) return { view };
    try {
      return { view, name: decodeURIComponent(match[1]) };
    } catch {
      return { view: 'list' };
    }
  }
  return { view: 'list' };
}

/** The address of a server's page (or its edit form). */
export const serverHref = (name, suffix = '') => `#/servers/${encodeURIComponent(name)}${suffix}`;

/** Goes to `href` (a `#/…` address). */
export function go(href) {
  if (location.hash === href) window.dispatchEvent(new window.HashChangeEvent('hashchange'));
  else location.hash = href;
}

/**
 * Shows the view for the current address in `container` and keeps doing so on every address
 * change. `views` maps view names to mount functions; `onChange(route)` runs after each switch.
 * Returns { update(change), stop() }.
 */
export function startRouter(container, views, { onChange } = {}) {
  let current;
  let first = true;

  const show = () => {
    current?.unmount?.();
    container.replaceChildren();
    const route = currentRoute();
    current = views[route.view](container, route) ?? {};
    onChange?.(route);
    // Keyboard and screen reader users land on the new screen's heading, as after a page load;
    // not on the first load, where the browser's own focus order is what people expect.
    if (!first) container.querySelector('h2')?.focus({ preventScroll: false });
    first = false;
    document.documentElement.scrollTop = 0;
  };

  window.addEventListener('hashchange', show);
  show();
  return {
    update: (change) => current?.update?.(change),
    stop: () => {
      window.removeEventListener('hashchange', show);
      current?.unmount?.();
      current = undefined;
      container.replaceChildren();
    },
  };
}
