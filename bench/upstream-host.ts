/**
 * Child process: serves `count` benchmark upstreams, prints `{"urls": [...]}` on one line, and
 * exits when its stdin closes (the bench finished or died).
 * Usage: upstream-host.ts <first-index> <count> <tools-per-server>
 */
import { listenUpstream } from './upstreams.js';

const [first = 0, count = 1, tools = 20] = process.argv.slice(2).map(Number);
const servers = await Promise.all(
  Array.from({ length: count }, (_, i) => listenUpstream(`u${String(first + i).padStart(3, '0')}`, tools)),
);
process.stdout.write(`${JSON.stringify({ urls: servers.map((s) => s.url) })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
