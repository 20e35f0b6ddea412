/**
 * `GET /healthz` and `GET /readyz` for load balancers and Kubernetes (issue 15). Liveness: the
 * process answers. Readiness: it should be sent requests — settings loaded, the shared state
 * reachable, not shutting down. Both are public and say nothing but that.
 */
import type { FastifyInstance } from 'fastify';

export interface ReadinessChecks {
  /** The settings file was loaded (a rejected live edit keeps the last good settings: still loaded). */
  settings: 'ok' | 'not loaded';
  /** The state store (API keys, per-user credentials, the own authorization server). */
  store: 'ok' | 'unreachable';
  /** `draining` once shutdown began: calls in flight finish, new ones go elsewhere. */
  shutdown: 'no' | 'draining';
}

export interface HealthRoutesOptions {
  checks: () => ReadinessChecks;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', async (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  );

  app.get('/readyz', async (_req, reply) => {
    const checks = opts.checks();
    const ready = checks.settings === 'ok' && checks.store === 'ok' && checks.shutdown === 'no';
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ready, checks });
  });
}
