/**
 * Imported first by the OAuth demo's entry point. The demo speaks MCP over stdout, and
 * oidc-provider prints its notices with `console.info` (stdout): one such line would corrupt the
 * JSON-RPC stream. This process's console therefore writes only to stderr.
 */
import { Console } from 'node:console';

globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
