/**
 * Preload for the conformance suite's Node process (`NODE_OPTIONS=--require <this file>`): its mock
 * MCP servers and authorization servers call `listen(0)` with no host, which binds every
 * interface. This makes any TCP listen without a host, or with a wildcard host, bind 127.0.0.1.
 * Unix sockets, pipes, handles and explicit hosts are left alone.
 *
 * It then takes itself out of NODE_OPTIONS, so the client the suite spawns (the Gatehouse
 * adapter, under the system Node) starts without it.
 */
/* global __filename -- CommonJS: this file's own path */
'use strict';

const net = process.getBuiltinModule('node:net');
const dns = process.getBuiltinModule('node:dns');

const LOOPBACK = '127.0.0.1';
const WILDCARDS = new Set(['', '0.0.0.0', '::', '::0', '[::]', '0:0:0:0:0:0:0:0']);

/** True for a TCP port as `listen` accepts it: a number or a numeric string. */
function isPort(value) {
  return (
    typeof value === 'number' ||
    (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
  );
}

/** The arguments of one `listen` call, with the host forced to loopback where none was meant. */
function withLoopbackHost(args) {
  const [first, ...rest] = args;
  // listen() / listen(callback): a random port on every interface.
  if (first === undefined || first === null || typeof first === 'function') {
    return [0, LOOPBACK, ...(typeof first === 'function' ? [first] : []), ...rest];
  }
  // listen(port[, host][, backlog][, callback])
  if (isPort(first)) {
    const [second, ...more] = rest;
    if (typeof second === 'string') return WILDCARDS.has(second) ? [first, LOOPBACK, ...more] : args;
    return [first, LOOPBACK, ...rest];
  }
  // listen(options[, callback]) with a port; not a path (unix socket, pipe) nor a handle.
  if (typeof first === 'object' && !('path' in first) && !('fd' in first) && !('_handle' in first)) {
    if (first.host === undefined || WILDCARDS.has(first.host)) return [{ ...first, host: LOOPBACK }, ...rest];
  }
  return args;
}

const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  const patched = withLoopbackHost(args);
  if (patched === args) return originalListen.apply(this, args);
  // A listen without a host binds at once, and the suite relies on that: it reads
  // `server.address().port` right after `app.listen(0)`. With a host, Node first resolves it
  // through `dns.lookup`, which answers on a later tick even for an IP literal. So, for the length
  // of this call only, the lookup of our loopback literal answers at once.
  const originalLookup = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    const done = typeof options === 'function' ? options : callback;
    if (hostname === LOOPBACK && typeof done === 'function') {
      // Node 22 asks with { all: true } (one listener per address); older Nodes without options.
      if (options && typeof options === 'object' && options.all)
        done(null, [{ address: LOOPBACK, family: 4 }]);
      else done(null, LOOPBACK, 4);
      return {};
    }
    return originalLookup.apply(this, arguments);
  };
  try {
    return originalListen.apply(this, patched);
  } finally {
    dns.lookup = originalLookup;
  }
};

// Only the suite's process gets this preload: drop it before the suite spawns the client.
if (process.env.NODE_OPTIONS) {
  const tokens = process.env.NODE_OPTIONS.split(/\s+/).filter(Boolean);
  const kept = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === `--require=${__filename}` || tokens[i] === `-r=${__filename}`) continue;
    if ((tokens[i] === '--require' || tokens[i] === '-r') && tokens[i + 1] === __filename) {
      i++;
      continue;
    }
    kept.push(tokens[i]);
  }
  if (kept.length > 0) process.env.NODE_OPTIONS = kept.join(' ');
  else delete process.env.NODE_OPTIONS;
}
