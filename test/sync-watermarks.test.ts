import { DEMO, type Lookup } from '@oppsync/dataverse-emulator';
import type { MarketoStore } from '../store';
import { ExpectedStore, syncAndExpectExactStore } from './support/expected';
import { Harness } from './support/harness';

const OPTIONS = { customFields: [] };
const o = DEMO.opportunities;
const c = DEMO.contacts;
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });

/** An organisation whose tables have change tracking turned off: incremental runs use modifiedon watermarks. */
describe('the sync without change tracking', () => {
  let h: Harness;
  let marketo: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { changeTracking: { opportunity: false, contact: false, account: false, connection: false } },
    });
    await h.startWorker();
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  const syncAndCompare = (full = false) => syncAndExpectExactStore(h, marketo, expected, OPTIONS, full);

  it('reads everything first, then creates, updates, new stakeholders and new parent accounts by watermark', async () => {
    await syncAndCompare(true);
    const state = await marketo.state.all();
    expect(state['changes:opportunities']?.value).toMatch(/^watermark /);

    h.emulator.data.update('opportunity', o.litwareAudit, {
      name: 'Litware security audit, phase 2',
      estimatedvalue: 77_000,
    });
    h.emulator.data.create('opportunity', {
      name: 'Rene follow-up',
      customerid: contact(c.rene),
      statecode: 0,
      statuscode: 1,
    });
    h.emulator.data.connect(
      { id: o.paulTraining, logicalName: 'opportunity' },
      contact(c.nancy),
      h.emulator.data.roleId('Influencer'),
    );
    h.emulator.data.update('contact', c.paul, {
      parentcustomerid: { id: DEMO.accounts.northwind, logicalName: 'account' },
    });
    await syncAndCompare();
  });
});
