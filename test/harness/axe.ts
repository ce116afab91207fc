import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
}
declare const axe: { run: (context: unknown, options: unknown) => Promise<{ violations: Violation[] }> };
declare const document: unknown;

/** axe-core's WCAG 2.1 A/AA rules on the page as it is now: the serious and critical findings, described. */
export async function axeAudit(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const { violations } = await page.evaluate(() =>
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const where = v.nodes.map(
        (n) => `${n.target.join(' ')} ${n.html.slice(0, 100)} ${n.failureSummary ?? ''}`,
      );
      return `${v.id} (${v.impact ?? ''}): ${v.help} at ${where.join(' | ')}`;
    });
}
