import { DEMO, startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import {
  clientToken,
  readAllPages,
  webGet,
  type ODataCollection,
  type ODataErrorBody,
} from './emulator-http';

const TRACK = 'odata.track-changes,odata.maxpagesize=4';

describe('emulator: change tracking', () => {
  let emulator: Emulator;
  let token: string;

  beforeEach(async () => {
    emulator = await startEmulator({ changeTracking: { account: false } });
    token = await clientToken(emulator);
  });
  afterEach(() => emulator.close());

  async function initialRead(
    set: string,
    select = 'name',
  ): Promise<{ rows: Record<string, unknown>[]; deltaLink: string }> {
    const { rows, deltaLink } = await readAllPages(emulator, token, `${set}?$select=${select}`, TRACK);
    if (!deltaLink) throw new Error('no deltaLink on the last page');
    return { rows, deltaLink };
  }

  it('counts the rows without copying them, as many as list gives, as rows come and go', () => {
    const listed = () => emulator.data.list('contact').length;
    expect(emulator.data.count('contact')).toBe(listed());
    const added = emulator.data.create('contact', { firstname: 'Ada', lastname: 'Counted' });
    expect(emulator.data.count('contact')).toBe(listed());
    emulator.data.remove('contact', added);
    expect(emulator.data.count('contact')).toBe(listed());
    expect(emulator.data.count('contact')).toBeGreaterThan(0);
  });

  it('pages the initial tracked read and puts the deltaLink only on the last page', async () => {
    const first = await webGet(emulator, token, 'opportunities?$select=name', TRACK);
    expect(first.headers['preference-applied']).toContain('odata.track-changes');
    expect(first.json['@odata.nextLink']).toBeDefined();
    expect(first.json['@odata.deltaLink']).toBeUndefined();
    const { rows, deltaLink } = await initialRead('opportunities');
    expect(rows.length).toBe(emulator.data.list('opportunity').length);
    expect(deltaLink).toMatch(/\$deltatoken=\d+%21\d{2}%2F\d{2}%2F\d{4}%20\d{2}%3A\d{2}%3A\d{2}$/);
    expect(deltaLink.startsWith(`${emulator.url}/api/data/v9.2/opportunities?$select=name&`)).toBe(true);
  });

  it('returns changed rows, then deleted ones, and a new deltaLink', async () => {
    const { deltaLink } = await initialRead('opportunities');
    emulator.data.update('opportunity', DEMO.opportunities.litwareAudit, { name: 'Litware audit (renamed)' });
    const created = emulator.data.create('opportunity', {
      name: 'Brand new deal',
      customerid: { id: DEMO.accounts.litware, logicalName: 'account' },
    });
    emulator.data.remove('opportunity', DEMO.opportunities.tailspinPilot);

    const delta = await webGet(emulator, token, deltaLink, 'odata.track-changes');
    expect(delta.status).toBe(200);
    const value = delta.json.value;
    expect(
      value
        .slice(0, 2)
        .map((row) => row.opportunityid)
        .sort(),
    ).toEqual([DEMO.opportunities.litwareAudit, created].sort());
    expect(value.find((row) => row.opportunityid === DEMO.opportunities.litwareAudit)?.name).toBe(
      'Litware audit (renamed)',
    );
    expect(value[2]).toEqual({
      '@odata.context': `${emulator.url}/api/data/v9.2/$metadata#opportunities/$deletedEntity`,
      id: DEMO.opportunities.tailspinPilot,
      reason: 'deleted',
    });
    expect(value.length).toBe(3);
    const next = delta.json['@odata.deltaLink'] ?? '';
    expect(next).not.toBe(deltaLink);
    const quiet = await webGet(emulator, token, next, 'odata.track-changes');
    expect(quiet.json.value).toEqual([]);
  });

  it('gives a row changed twice once, and a row deleted and created again as a change', async () => {
    const { deltaLink } = await initialRead('opportunities');
    const audit = DEMO.opportunities.litwareAudit;
    emulator.data.update('opportunity', audit, { name: 'first' });
    emulator.data.update('opportunity', audit, { name: 'second' });
    const pilot = emulator.data.get('opportunity', DEMO.opportunities.tailspinPilot);
    emulator.data.remove('opportunity', DEMO.opportunities.tailspinPilot);
    emulator.data.create('opportunity', { ...pilot, name: 'Tailspin pilot again' });

    const delta = await webGet(emulator, token, deltaLink, 'odata.track-changes');
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a.opportunityid).localeCompare(String(b.opportunityid));
    expect(
      delta.json.value.map((row) => ({ opportunityid: row.opportunityid, name: row.name })).sort(byId),
    ).toEqual(
      [
        { opportunityid: audit, name: 'second' },
        { opportunityid: DEMO.opportunities.tailspinPilot, name: 'Tailspin pilot again' },
      ].sort(byId),
    );
  });

  it('pages a large delta through nextLinks', async () => {
    const { deltaLink } = await initialRead('contacts', 'fullname,lastname');
    for (const contact of emulator.data.list('contact'))
      emulator.data.update('contact', contact.contactid as string, { lastname: 'Changed' });
    emulator.data.remove('contact', DEMO.contacts.rene);
    const {
      rows,
      pages,
      deltaLink: next,
    } = await readAllPages(emulator, token, deltaLink, 'odata.track-changes,odata.maxpagesize=3');
    expect(pages).toBeGreaterThan(1);
    expect(rows.filter((row) => row.reason === 'deleted').map((row) => row.id)).toEqual([DEMO.contacts.rene]);
    expect(rows.filter((row) => row.contactid).length).toBe(emulator.data.list('contact').length);
    expect(next).toBeDefined();
  });

  it('sees a connection change in the connections delta without touching the opportunity', async () => {
    const before = emulator.data.get('opportunity', DEMO.opportunities.litwareAudit);
    const opportunities = await initialRead('opportunities');
    const connections = await readAllPages(
      emulator,
      token,
      'connections?$select=_record1id_value,statecode',
      TRACK,
    );
    const connection = emulator.data
      .list('connection')
      .find((row) => (row.record1id as { id: string }).id === DEMO.opportunities.litwareAudit);
    emulator.data.setConnectionState(connection?.connectionid as string, 1);
    expect(emulator.data.get('opportunity', DEMO.opportunities.litwareAudit)?.modifiedon).toBe(
      before?.modifiedon,
    );
    expect((await webGet(emulator, token, opportunities.deltaLink)).json.value).toEqual([]);
    const changed = await webGet<ODataCollection>(emulator, token, connections.deltaLink ?? '');
    expect(changed.json.value.map((row) => row.statecode)).toEqual([1, 1]);
  });

  it('answers 400 0x80044352 for delta tokens issued before expireChangeTokens, and accepts new ones', async () => {
    const { deltaLink } = await initialRead('opportunities');
    emulator.faults.expireChangeTokens();
    const expired = await webGet<ODataErrorBody>(emulator, token, deltaLink);
    expect(expired.status).toBe(400);
    expect(expired.json.error).toEqual({
      code: '0x80044352',
      message: 'Version stamp associated with the client has expired. Please perform a full sync.',
    });
    expect(emulator.stats.expiredChangeTokenRejections).toBe(1);
    const fresh = await initialRead('opportunities');
    expect((await webGet(emulator, token, fresh.deltaLink)).status).toBe(200);
  });

  it('expires delta tokens older than the change-token TTL', async () => {
    const shortLived = await startEmulator({ changeTokenTtlSeconds: 1 });
    try {
      const shortToken = await clientToken(shortLived);
      const { deltaLink } = await readAllPages(
        shortLived,
        shortToken,
        'opportunities?$select=name',
        'odata.track-changes',
      );
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const reply = await webGet<ODataErrorBody>(shortLived, shortToken, deltaLink ?? '');
      expect(reply.status).toBe(400);
      expect(reply.json.error.code).toBe('0x80044352');
    } finally {
      await shortLived.close();
    }
  });

  it('allows only $select with odata.track-changes', async () => {
    for (const option of [
      '$filter=statecode eq 0',
      '$orderby=name',
      '$top=3',
      '$expand=customerid_account($select=name)',
    ]) {
      const reply = await webGet<ODataErrorBody>(
        emulator,
        token,
        `opportunities?$select=name&${option}`,
        'odata.track-changes',
      );
      expect(reply.status).toBe(400);
      expect(reply.json.error.code).toBe('0x80060888');
    }
  });

  it('reports and enforces a table without change tracking', async () => {
    const definitions = await webGet(
      emulator,
      token,
      'EntityDefinitions?$select=LogicalName,ChangeTrackingEnabled',
    );
    const flags: Record<string, unknown> = Object.fromEntries(
      definitions.json.value.map((row): [string, unknown] => [
        String(row.LogicalName),
        row.ChangeTrackingEnabled,
      ]),
    );
    expect(flags).toMatchObject({ opportunity: true, contact: true, connection: true, account: false });
    const single = await webGet<{ ChangeTrackingEnabled: boolean }>(
      emulator,
      token,
      "EntityDefinitions(LogicalName='account')?$select=ChangeTrackingEnabled",
    );
    expect(single.json.ChangeTrackingEnabled).toBe(false);
    const tracked = await webGet<ODataErrorBody>(
      emulator,
      token,
      'accounts?$select=name',
      'odata.track-changes',
    );
    expect(tracked.status).toBe(400);
    expect(tracked.json.error.code).toBe('0x80044353');
  });
});
