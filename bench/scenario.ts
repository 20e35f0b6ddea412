/** The contract between run.ts and the scenarios. */
import type { Metric } from './report.js';

export interface BenchContext {
  /** Shorter loops, for a quick look; the numbers are noisier. */
  quick: boolean;
  /** When set, each gateway child writes a V8 CPU profile into a subfolder named after its scenario. */
  profileDir: string | undefined;
  /** Another build's dist/server/main.js to measure (default: this checkout's). */
  gatewayMain: string | undefined;
  /** Progress for people; goes to stderr so that stdout stays the report. */
  progress(message: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Metric[]>;
}

/** How a scenario launches its gateway: which build, and where its CPU profile goes. */
export function launch(ctx: BenchContext, label: string): { main?: string; profileDir?: string } {
  return {
    ...(ctx.gatewayMain ? { main: ctx.gatewayMain } : {}),
    ...(ctx.profileDir ? { profileDir: `${ctx.profileDir}/${label}` } : {}),
  };
}
