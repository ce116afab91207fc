export interface ReadinessProbe {
  name: string;
  check: () => Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: true } | { ok: false; error: string }>;
}

type ProbeEntry = [string, ReadinessReport['checks'][string]];

/** Runs every probe in parallel, each bounded by `timeoutMs`, and says which failed. */
export async function runProbes(
  probes: readonly ReadinessProbe[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const results: ProbeEntry[] = await Promise.all(
    probes.map(async (probe) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([probe.check(), timeout]);
        return [probe.name, { ok: true }] satisfies ProbeEntry;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [probe.name, { ok: false, error }] satisfies ProbeEntry;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks: ReadinessReport['checks'] = Object.fromEntries(results);
  return { ready: results.every(([, r]) => r.ok), checks };
}
