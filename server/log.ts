/**
 * The logger every module receives. Fastify's pino logger satisfies it; tests may pass their own.
 * Never pass tokens, codes, verifiers or secrets in either argument.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** The levels LOG_LEVEL may name, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Readable lines (pino-pretty) instead of JSON lines: main asks for them when stdout is a terminal. */
  pretty: boolean;
}

/**
 * The process's one logger, on stdout: JSON lines, or readable lines for a person at a terminal.
 * main creates it before anything else, so the lines written before Fastify exists look like the rest.
 */
export async function createLogger(options: CreateLoggerOptions): Promise<PinoLogger> {
  const base = { level: options.level };
  if (!options.pretty) return pino(base);
  // Loaded only for a terminal. A synchronous stream in this thread, not a worker transport: a
  // person's terminal sees a handful of lines, and each one is there before the next step starts.
  const { default: pretty } = await import('pino-pretty');
  return pino(
    base,
    // pid and hostname say nothing to a person watching one local process.
    pretty({
      sync: true,
      destination: 1,
      ignore: 'pid,hostname',
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
    }),
  );
}
