import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerPool } from '../../sfu/WorkerPool.js';

/**
 * A registry per server instance. Worker gauges are read from mediasoup on each scrape, so they are never stale.
 */
export function createMetrics(pool: WorkerPool): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ucc_node_' });

  new Gauge({
    name: 'ucc_mediasoup_workers',
    help: 'Live mediasoup worker processes',
    registers: [registry],
    collect() {
      this.set(pool.workers.length);
    },
  });

  const deaths = new Counter({
    name: 'ucc_mediasoup_worker_deaths_total',
    help: 'mediasoup workers that died (each is replaced)',
    registers: [registry],
  });
  pool.on('workerdied', () => deaths.inc());

  const labelNames = ['worker', 'pid'] as const;
  // The first gauge's collect fills all three from one getResourceUsage round per worker; the registry
  // serializes metrics in registration order, so the other two are read after it.
  new Gauge({
    name: 'ucc_mediasoup_worker_cpu_user_seconds',
    help: 'User CPU time of each mediasoup worker',
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      cpuSystem.reset();
      maxRss.reset();
      const usages = await pool.resourceUsage().catch(() => []);
      for (const { index, pid, usage } of usages) {
        const labels = { worker: String(index), pid: String(pid) };
        this.set(labels, usage.ru_utime / 1000);
        cpuSystem.set(labels, usage.ru_stime / 1000);
        maxRss.set(labels, usage.ru_maxrss * 1024); // Linux reports kilobytes.
      }
    },
  });
  const cpuSystem = new Gauge({
    name: 'ucc_mediasoup_worker_cpu_system_seconds',
    help: 'System CPU time of each mediasoup worker',
    labelNames,
    registers: [registry],
  });
  const maxRss = new Gauge({
    name: 'ucc_mediasoup_worker_max_rss_bytes',
    help: 'Peak resident memory of each mediasoup worker',
    labelNames,
    registers: [registry],
  });
  return registry;
}
