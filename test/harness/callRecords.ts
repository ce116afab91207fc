import type { Locator, Page } from 'playwright-core';
import { callRecordModel, type CallRecord } from '../../server/telephony/CallRecord.js';
import type { Database } from '../../server/db/Database.js';
import type { TestUser } from './serverFixture.js';

/**
 * Call records written straight into the database, for what the embedded edge cannot make (a call from a queue)
 * and for screens measured without a phone edge (layout, accessibility). Real calls make theirs through Kamailio.
 */
export async function seedCallRecords(
  db: Database,
  owner: TestUser,
  rows: (Partial<CallRecord> & Pick<CallRecord, 'direction' | 'peerNumber' | 'outcome' | 'startedAt'>)[],
): Promise<void> {
  await callRecordModel(db.connection).insertMany(
    rows.map((row, i) => ({
      ownerId: owner.id,
      ownerExtension: owner.extension,
      callId: `seeded-${owner.extension}-${i}-${row.startedAt.getTime()}`,
      durationSec: 0,
      clickToCall: false,
      endedAt: new Date(row.startedAt.getTime() + (row.durationSec ?? 0) * 1000 + 5_000),
      peerSearch: `${row.peerNumber} ${(row.peerName ?? '').toLowerCase()}`,
      ...row,
    })),
  );
}

/** The tab that holds "Chiamate recenti" (under the dial pad) and the missed-calls badge: Telefono. */
export function recentCallsTab(page: Page): Locator {
  return page.getByRole('tab', { name: /^Telefono/ });
}

/** Opens "Chiamate recenti" in the signed-in shell. */
export async function openRecentCalls(page: Page): Promise<void> {
  await recentCallsTab(page).click();
  await page.getByRole('heading', { name: /^Chiamate recenti/ }).waitFor();
}
