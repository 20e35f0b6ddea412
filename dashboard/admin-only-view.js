/**
 * What a person signed in through the company's provider (a `user` session) sees on every screen
 * but their own servers, keys and clients: the servers, groups and settings are the administrator's,
 * and the gateway would refuse each of those calls (403 ADMIN_REQUIRED) anyway.
 */
import { h } from './dom.js';

export function mountAdminOnly(container, { subject }) {
  container.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { tabindex: '-1', text: 'This needs the Gatehouse administrator' }),
    ),
    h(
      'p',
      {},
      `You are signed in as ${subject}. Servers, groups and the settings are managed by the administrator of this Gatehouse.`,
    ),
    h(
      'p',
      {},
      'Yours to manage: ',
      h('a', { href: '#/my-servers', text: 'My servers' }),
      ', ',
      h('a', { href: '#/keys', text: 'My keys' }),
      ' and ',
      h('a', { href: '#/clients', text: 'My clients' }),
      '.',
    ),
  );
}
