/* global document */
/**
 * Revoking an API key or an authorized client asks first, in a modal `<dialog>` (focus stays
 * inside, Escape cancels, Cancel has the focus so that Enter alone does not revoke), as removing
 * a server does (remove-dialog.js).
 */
import { h, uid } from './dom.js';
import { busy } from './server-actions.js';

/**
 * Asks `title` with `text`; on yes runs `action()` (its failure is shown in the dialog, which
 * stays open), then closes and calls `onDone()`. `opener` gets the focus back on Cancel.
 */
export function confirmRevoke({ title, text, confirm, action, opener, onDone }) {
  const titleId = uid('revoke-title');
  const textId = uid('revoke-text');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const yes = h('button', { type: 'button', class: 'danger', text: confirm });
  const no = h('button', { type: 'button', class: 'quiet', text: 'Cancel' });
  let done = false;
  const dialog = h(
    'dialog',
    { class: 'confirm', 'aria-labelledby': titleId, 'aria-describedby': textId },
    h('h2', { id: titleId, text: title }),
    h('p', { id: textId, text }),
    error,
    h('div', { class: 'actions' }, yes, no),
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (done) onDone?.();
    else if (opener?.isConnected) opener.focus();
  });
  no.addEventListener('click', () => dialog.close());
  yes.addEventListener('click', () =>
    busy(yes, error, async () => {
      await action();
      done = true;
      dialog.close();
    }),
  );
  document.body.append(dialog);
  dialog.showModal();
  no.focus();
  return dialog;
}
