/* global window */
/**
 * The per-server buttons the list and the detail view share: Connect (OAuth in a popup),
 * Reconnect and Disconnect. Each reports its failure as text in the `errorEl` it is given; the
 * card itself changes through the live feed.
 */
import { api, ApiError, describeError, serverPath } from './api.js';
import { h, setText } from './dom.js';

export function showError(errorEl, error) {
  setText(errorEl, error ? describeError(error) : '');
  errorEl.hidden = !error;
}

/** Runs `action` with the button disabled; a failure (other than a dead session) goes to errorEl. */
export async function busy(button, errorEl, action) {
  button.disabled = true;
  showError(errorEl, null);
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(errorEl, error);
    return undefined;
  } finally {
    button.disabled = false;
  }
}

export function reconnectButton(name, errorEl) {
  const button = h('button', {
    type: 'button',
    class: 'quiet reconnect',
    text: 'Reconnect',
    'aria-label': `Reconnect ${name}`,
  });
  button.addEventListener('click', () =>
    busy(button, errorEl, () => api(serverPath(name, 'reconnect'), { method: 'POST' })),
  );
  return button;
}

export function disconnectButton(name, errorEl) {
  const button = h('button', {
    type: 'button',
    class: 'quiet disconnect',
    text: 'Disconnect',
    'aria-label': `Disconnect ${name}`,
  });
  button.addEventListener('click', () =>
    busy(button, errorEl, () => api(serverPath(name, 'disconnect'), { method: 'POST' })),
  );
  return button;
}

/**
 * Connect: opens the authorization server's page in a popup. The window is opened inside the
 * click (so popup blockers allow it) and navigated once the URL is known; it gets no handle on
 * the dashboard. When the browser refuses the window, the URL is offered as a link.
 */
export function connectButton(name, errorEl) {
  const button = h('button', {
    type: 'button',
    class: 'connect',
    text: 'Connect',
    'aria-label': `Connect ${name}`,
  });
  button.addEventListener('click', () => {
    const popup = window.open('', '_blank', 'popup,width=520,height=720');
    // The authorization server's page must not be able to reach back into the dashboard.
    if (popup) popup.opener = null;
    busy(button, errorEl, async () => {
      try {
        const { authorizationUrl } = await api(serverPath(name, 'authorize'), { method: 'POST' });
        const url = new URL(authorizationUrl);
        if (url.protocol !== 'https:' && url.protocol !== 'http:')
          throw new Error('the gateway sent an authorization URL that is not http(s)');
        if (popup) popup.location.href = url.href;
        else offerLink(errorEl, url.href);
      } catch (error) {
        popup?.close();
        throw error;
      }
    });
  });
  return button;
}

function offerLink(errorEl, href) {
  const link = h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: 'Open the sign-in page' });
  errorEl.replaceChildren('The browser blocked the new window. ', link);
  errorEl.hidden = false;
}
