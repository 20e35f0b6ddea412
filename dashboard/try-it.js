/**
 * "Try it": calls one tool through the gateway (`POST /api/servers/:name/tools/:tool/call`, the
 * same path as a call on /mcp) and shows its progress and its result, `isError` results
 * included. The answer is an event stream: progress events, then one `result` or `error`.
 */
import { ApiError, describeError, readApiError, serverPath } from './api.js';
import { h, setText } from './dom.js';
import { schemaForm } from './schema-form.js';
import { readEventStream } from './sse.js';

/** The panel for `tool` (a ServerDetail tool) of server `name`. */
export function tryItPanel(name, tool) {
  const form = schemaForm(tool.inputSchema);
  const run = h('button', { type: 'submit', text: 'Run', 'aria-label': `Run ${tool.name}` });
  const cancel = h('button', { type: 'button', class: 'quiet', text: 'Cancel', hidden: true });
  const status = h('p', { class: 'try-status', role: 'status' });
  const bar = h('progress', { hidden: true, 'aria-label': `Progress of ${tool.name}` });
  const output = h('div', { class: 'try-output', 'aria-live': 'polite' });
  let controller;

  const root = h(
    'form',
    { class: 'try-it', 'aria-label': `Try ${tool.name}`, dataset: { tool: tool.name } },
    form.root,
    h('div', { class: 'actions' }, run, cancel),
    bar,
    status,
    output,
  );

  cancel.addEventListener('click', () => controller?.abort());
  root.addEventListener('submit', async (event) => {
    event.preventDefault();
    const args = form.read();
    output.replaceChildren();
    if (args.problem) {
      setText(status, args.problem);
      return;
    }
    controller = new AbortController();
    run.disabled = true;
    cancel.hidden = false;
    bar.hidden = false;
    bar.removeAttribute('value');
    setText(status, 'Running…');
    try {
      await call(name, tool.name, args.value, controller.signal, {
        progress: (p) => {
          if (typeof p.total === 'number' && p.total > 0) {
            bar.max = p.total;
            bar.value = p.progress;
          }
          const of = typeof p.total === 'number' ? ` of ${p.total}` : '';
          setText(status, `Progress ${p.progress}${of}${p.message ? `: ${p.message}` : ''}`);
        },
        result: (result) => {
          setText(status, result.isError ? 'The tool reported an error.' : 'Done.');
          output.replaceChildren(renderResult(result));
        },
        error: (failure) => {
          setText(status, 'The call failed.');
          output.replaceChildren(h('p', { class: 'error', text: `${failure.message} (${failure.code})` }));
        },
      });
    } catch (error) {
      const aborted = error?.name === 'AbortError';
      setText(status, aborted ? 'Cancelled.' : 'The call failed.');
      if (!aborted && !(error instanceof ApiError && error.status === 401))
        output.replaceChildren(h('p', { class: 'error', text: describeError(error) }));
    } finally {
      run.disabled = false;
      cancel.hidden = true;
      bar.hidden = true;
      controller = undefined;
    }
  });
  return root;
}

async function call(name, tool, args, signal, on) {
  const response = await fetch(serverPath(name, 'tools', tool, 'call'), {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream, application/json' },
    body: JSON.stringify({ arguments: args }),
  });
  if (!response.ok) throw await readApiError(response);
  let finished = false;
  for await (const { event, data } of readEventStream(response.body)) {
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      continue;
    }
    if (event === 'progress') on.progress(payload);
    else if (event === 'result') {
      finished = true;
      on.result(payload);
    } else if (event === 'error') {
      finished = true;
      on.error(payload);
    }
  }
  if (!finished) throw new Error('the gateway ended the call without a result');
}

/** A CallToolResult as text: each content block, then structured content. */
function renderResult(result) {
  const blocks = Array.isArray(result.content) ? result.content : [];
  const root = h('div', {
    class: `result${result.isError ? ' is-error' : ''}`,
    dataset: { isError: String(Boolean(result.isError)) },
  });
  root.append(h('h4', { text: result.isError ? 'Error result (isError)' : 'Result' }));
  for (const block of blocks) {
    if (block?.type === 'text') root.append(h('pre', { class: 'result-text', text: block.text ?? '' }));
    else
      root.append(
        h('pre', { class: 'result-other', text: `${block?.type ?? 'content'}: ${summarize(block)}` }),
      );
  }
  if (result.structuredContent !== undefined)
    root.append(
      h('h4', { text: 'Structured content' }),
      h('pre', { text: JSON.stringify(result.structuredContent, null, 2) }),
    );
  if (blocks.length === 0 && result.structuredContent === undefined)
    root.append(h('p', { class: 'muted', text: 'No content.' }));
  return root;
}

/** Binary blocks are described, not dumped. */
function summarize(block) {
  if (block?.type === 'image' || block?.type === 'audio')
    return `${block.mimeType ?? 'unknown type'}, ${Math.round(((block.data ?? '').length * 3) / 4)} bytes`;
  return JSON.stringify(block, null, 2);
}
