/* global document */
/**
 * Removing a server asks first, in a modal `<dialog>` (focus stays inside, Escape cancels):
 * removal revokes its tokens where possible and forgets its stored credentials.
 */
import { api, serverPath } from './api.js';
import { h } from './dom.js';
import { go } from './router.js';
import { busy } from './server-actions.js';

/** Asks whether to remove `name`; on yes, `DELETE /api/servers/:name` and back to the list. */
export function confirmRemove(name, opener) {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const yes = h('button', { type: 'button', class: 'danger', text: `Remove ${name}` });
  const no = h('button', { type: 'button', class: 'quiet', text: 'Cancel' });
  const dialog = h(
    'dialog',
    { class: 'confirm', 'aria-labelledby': 'remove-title', 'aria-describedby': 'remove-text' },
    h('h2', { id: 'remove-title', text: `Remove ${name}?` }),
    h('p', {
      id: 'remove-text',
      text: 'Its entry leaves mcp_settings.json, its sign-in is revoked where the server allows it, and its stored credentials are forgotten.',
    }),
    error,
    h('div', { class: 'actions' }, yes, no),
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  no.addEventListener('click', () => dialog.close());
  yes.addEventListener('click', () =>
    busy(yes, error, async () => {
      await api(serverPath(name), { method: 'DELETE' });
      dialog.close();
      go('#/');
    }),
  );
  document.body.append(dialog);
  dialog.showModal();
  no.focus();
}
