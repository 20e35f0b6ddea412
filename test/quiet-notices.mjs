/* eslint-disable no-console -- this file exists to wrap console.warn */
// Loaded into every test process by test/run.mjs (`--import`). oidc-provider 9 prints, when it is
// first imported on Node 20, that it does not support that runtime: once per test file that loads
// it, always the same line. The README says what is supported (22 and 24; 20.19+ still works), so
// in tests that one notice, and nothing else, is dropped. On Node 22 and 24 it never appears.
const UNSUPPORTED_RUNTIME = 'oidc-provider WARNING: Unsupported runtime.';
const warn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes(UNSUPPORTED_RUNTIME)) return;
  warn.apply(console, args);
};
