/**
 * The optional OAuth block of the server form (DESIGN.md, "The settings file": every field is
 * optional; most servers need none of it, dynamic registration does the rest). Secrets (client
 * secret, initial access token) follow entry-fields.js: shown as "set", kept unless retyped.
 */
import { field, h } from './dom.js';
import { secretField, textField } from './entry-fields.js';

/** Returns { root, read() → oauth object | undefined }; read() throws on invalid metadata JSON. */
export function oauthBlock(oauth = {}) {
  const o = oauth ?? {};
  const dr = o.dynamicRegistration ?? {};
  const clientId = textField('Client ID', o.clientId, {
    hint: 'Leave empty to register Gatehouse dynamically.',
  });
  const clientSecret = secretField('Client secret', o.clientSecret);
  const scopes = textField('Scopes', (o.scopes ?? []).join(' '), { hint: 'Separated by spaces.' });
  const resource = textField('Resource', o.resource, {
    hint: 'RFC 8707 resource; defaults to the URL.',
    inputmode: 'url',
  });
  const authorizationEndpoint = textField('Authorization endpoint', o.authorizationEndpoint, {
    inputmode: 'url',
  });
  const tokenEndpoint = textField('Token endpoint', o.tokenEndpoint, { inputmode: 'url' });
  const redirectUri = textField('Redirect URI', o.redirectUri, {
    hint: 'Default: <baseUrl>/oauth/callback.',
    inputmode: 'url',
  });
  const clientMetadataUrl = textField('Client metadata URL (CIMD)', o.clientMetadataUrl, {
    inputmode: 'url',
  });
  const drEnabled = h('input', { type: 'checkbox', checked: dr.enabled === true, id: 'oauth-dr-enabled' });
  const drIssuer = textField('Issuer', dr.issuer, { inputmode: 'url' });
  const drToken = secretField('Initial access token', dr.initialAccessToken);
  const drMetadata = h('textarea', {
    rows: 3,
    spellcheck: false,
    class: 'code',
    value: dr.metadata ? JSON.stringify(dr.metadata, null, 2) : '',
  });

  const used = Object.keys(o).length > 0;
  const root = h(
    'details',
    { class: 'more oauth', open: used },
    h('summary', { text: 'OAuth settings (optional)' }),
    h('p', {
      class: 'hint',
      text: 'Most servers need none: Gatehouse finds the authorization server and registers itself. Fill these in when the server’s documentation asks for a client id or fixed endpoints.',
    }),
    clientId.root,
    clientSecret.root,
    scopes.root,
    resource.root,
    authorizationEndpoint.root,
    tokenEndpoint.root,
    redirectUri.root,
    clientMetadataUrl.root,
    h(
      'fieldset',
      { class: 'group' },
      h('legend', { text: 'Dynamic registration at start-up' }),
      h(
        'div',
        { class: 'field check' },
        drEnabled,
        h('label', { for: drEnabled.id, text: 'Register at start-up' }),
      ),
      drIssuer.root,
      drToken.root,
      field('Registration metadata (JSON)', drMetadata),
    ),
  );

  const read = () => {
    // Keys the form does not show (imported plaintext tokens, future options) are kept.
    const out = { ...o };
    const set = (key, value) => (value === undefined ? delete out[key] : (out[key] = value));
    set('clientId', clientId.read());
    set('clientSecret', clientSecret.read());
    const scopeList = scopes.read()?.split(/\s+/).filter(Boolean);
    set('scopes', scopeList?.length ? scopeList : undefined);
    set('resource', resource.read());
    set('authorizationEndpoint', authorizationEndpoint.read());
    set('tokenEndpoint', tokenEndpoint.read());
    set('redirectUri', redirectUri.read());
    set('clientMetadataUrl', clientMetadataUrl.read());
    let metadata;
    if (drMetadata.value.trim()) {
      try {
        metadata = JSON.parse(drMetadata.value);
      } catch {
        throw new Error('The registration metadata is not valid JSON.');
      }
    }
    const registration = { ...dr };
    const setDr = (key, value) =>
      value === undefined ? delete registration[key] : (registration[key] = value);
    setDr('enabled', drEnabled.checked ? true : dr.enabled === undefined ? undefined : false);
    setDr('issuer', drIssuer.read());
    setDr('initialAccessToken', drToken.read());
    setDr('metadata', metadata);
    set('dynamicRegistration', Object.keys(registration).length ? registration : undefined);
    return Object.keys(out).length ? out : undefined;
  };
  return { root, read };
}
