/** What Linux tells about a process: resident memory and CPU time used (all threads). */
import { readFile } from 'node:fs/promises';

/** VmRSS in bytes, from /proc/<pid>/status. */
export async function rssBytes(pid: number): Promise<number> {
  return (await rssParts(pid)).rss;
}

/** VmRSS and its parts: anonymous memory (heaps, buffers) and file-backed pages (the node binary, libraries). */
export async function rssParts(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const kb = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1];
    if (!kb) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(kb) * 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User + system CPU time in ms, from /proc/<pid>/stat (10 ms resolution). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** CPU ms used by each process while `work` runs. */
export async function measureCpu<T>(
  pids: readonly number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpu: number[] }> {
  const before = await Promise.all(pids.map(cpuMs));
  const result = await work();
  const after = await Promise.all(pids.map(cpuMs));
  return { result, cpu: after.map((ms, i) => ms - before[i]!) };
}

/** Busy and total CPU time of the whole machine in ms, from /proc/stat (all cores). */
export async function machineCpuMs(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return {
    busy: (busy * 1000) / TICKS_PER_SECOND,
    total: ((busy + idle! + iowait!) * 1000) / TICKS_PER_SECOND,
  };
}

/** CPU ms of this process plus its children that have exited and been waited for. */
export async function ownCpuMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return ((utime! + stime! + cutime! + cstime!) * 1000) / TICKS_PER_SECOND;
}
