import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerPool, WorkerUsage } from '../../sfu/WorkerPool.js';

/**
 * A registry per server instance. Worker gauges are read from mediasoup on each scrape, so they are never stale.
 */
export function createMetrics(pool: WorkerPool, sockets: { connected: () => number }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ucc_node_' });

  // This node's own: behind a balancer, how the connections spread over the nodes.
  new Gauge({
    name: 'ucc_socketio_connected_sockets',
    help: 'socket.io connections open on this node',
    registers: [registry],
    collect() {
      this.set(sockets.connected());
    },
  });

  new Gauge({
    name: 'ucc_mediasoup_workers',
    help: 'Live mediasoup worker processes',
    registers: [registry],
    collect() {
      this.set(pool.workers.length);
    },
  });

  // Read from the pool on scrape rather than by listening: a registry never outlives its pool's listeners.
  new Counter({
    name: 'ucc_mediasoup_worker_deaths_total',
    help: 'mediasoup workers that died (each is replaced)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pool.deaths);
    },
  });

  // prom-client collects all metrics of a scrape concurrently; the three per-worker gauges share one
  // getResourceUsage round per worker through this promise.
  let round: Promise<WorkerUsage[]> | undefined;
  const usages = (): Promise<WorkerUsage[]> => {
    round ??= pool
      .resourceUsage()
      .catch(() => [])
      .finally(() => {
        round = undefined;
      });
    return round;
  };
  const perWorker = (name: string, help: string, value: (u: WorkerUsage['usage']) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['worker', 'pid'],
      registers: [registry],
      async collect() {
        const all = await usages();
        this.reset();
        for (const { index, pid, usage } of all)
          this.set({ worker: String(index), pid: String(pid) }, value(usage));
      },
    });
  };
  perWorker(
    'ucc_mediasoup_worker_cpu_user_seconds',
    'User CPU time of each mediasoup worker',
    (u) => u.ru_utime / 1000,
  );
  perWorker(
    'ucc_mediasoup_worker_cpu_system_seconds',
    'System CPU time of each mediasoup worker',
    (u) => u.ru_stime / 1000,
  );
  // Linux reports the peak resident set in kilobytes.
  perWorker(
    'ucc_mediasoup_worker_max_rss_bytes',
    'Peak resident memory of each mediasoup worker',
    (u) => u.ru_maxrss * 1024,
  );
  return registry;
}
