/** The changes between the full and the incremental run, made through the emulator's data hooks. */
import type { EmulatorData } from '@oppsync/dataverse-emulator';

export interface ChangeCounts {
  opportunities: number;
  contacts: number;
  connections: number;
}

/**
 * Changes `ratio` of the opportunities (every n-th, so the choice is reproducible), plus a tenth as many
 * contacts and connections (renamed contacts, deactivated connections): the related-change paths run too.
 */
export function changeOrganisation(data: EmulatorData, ratio: number): ChangeCounts {
  const step = Math.max(1, Math.round(1 / ratio));
  const counts: ChangeCounts = { opportunities: 0, contacts: 0, connections: 0 };
  const opportunities = data.list('opportunity');
  opportunities.forEach((row, index) => {
    if (index % step !== 0) return;
    data.update('opportunity', String(row.opportunityid), {
      name: `${String(row.name)} (revised)`,
      estimatedvalue: Number(row.estimatedvalue ?? 0) + 1000,
    });
    counts.opportunities++;
  });
  const relatedStep = step * 10;
  data.list('contact').forEach((row, index) => {
    if (index % relatedStep !== 0) return;
    data.update('contact', String(row.contactid), { lastname: `${String(row.lastname)}-Moved` });
    counts.contacts++;
  });
  const masters = data.list('connection').filter((row) => row.ismaster === true && row.statecode === 0);
  masters.forEach((row, index) => {
    if (index % relatedStep !== 0) return;
    data.setConnectionState(String(row.connectionid), 1);
    counts.connections++;
  });
  return counts;
}
