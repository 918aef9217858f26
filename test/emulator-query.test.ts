import { DEMO, startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import { clientToken, readAllPages, webGet, type ODataErrorBody } from './emulator-http';

const ANNOTATIONS = 'odata.include-annotations="*"';

describe('emulator: queries and paging on a generated organisation', () => {
  let emulator: Emulator;
  let token: string;

  beforeAll(async () => {
    emulator = await startEmulator({ dataset: { generate: { opportunities: 300, seed: 7 } } });
    token = await clientToken(emulator);
  });
  afterAll(() => emulator.close());

  it('pages at an odd page size and returns every opportunity exactly once', async () => {
    const expected = emulator.data.list('opportunity').map((row) => row.opportunityid);
    const { rows, pages } = await readAllPages(
      emulator,
      token,
      'opportunities?$select=name',
      'odata.maxpagesize=7',
    );
    const ids = rows.map((row) => row.opportunityid);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expected].sort());
  });

  it('keeps its place by key when rows are inserted and deleted between pages', async () => {
    const before = emulator.data.list('contact').map((row) => row.contactid as string);
    const deleted = new Set<string>();
    const inserted: string[] = [];
    const { rows } = await readAllPages(
      emulator,
      token,
      'contacts?$select=fullname',
      'odata.maxpagesize=11',
      (page) => {
        if (page > 6) return;
        // Delete a row far ahead of the cursor, and insert one that sorts first and one at the end.
        const victim = before[before.length - page * 3];
        if (victim && !deleted.has(victim)) {
          emulator.data.remove('contact', victim);
          deleted.add(victim);
        }
        inserted.push(
          emulator.data.create('contact', {
            contactid: `00000000-0000-4000-8000-00000000000${page}`,
            lastname: 'Early',
          }),
        );
        inserted.push(
          emulator.data.create('contact', {
            contactid: `ffffffff-0000-4000-8000-00000000000${page}`,
            lastname: 'Late',
          }),
        );
      },
    );
    const ids = rows.map((row) => row.contactid as string);
    expect(new Set(ids).size).toBe(ids.length);
    const survivors = before.filter((id) => !deleted.has(id));
    expect(ids.filter((id) => survivors.includes(id)).sort()).toEqual([...survivors].sort());
    for (const id of deleted) expect(ids).not.toContain(id);
    // Rows inserted behind the cursor are not seen; rows inserted ahead of it are.
    expect(ids.filter((id) => id.startsWith('00000000'))).toEqual([]);
    expect(ids.filter((id) => id.startsWith('ffffffff')).length).toBe(inserted.length / 2);
  });

  it('pages with $orderby without losing or repeating rows', async () => {
    const { rows } = await readAllPages(
      emulator,
      token,
      'opportunities?$select=estimatedvalue,name&$orderby=estimatedvalue desc,name',
      'odata.maxpagesize=13',
    );
    const values = rows.map((row) => row.estimatedvalue as number);
    expect(rows.length).toBe(emulator.data.list('opportunity').length);
    expect(values).toEqual([...values].sort((a, b) => b - a));
  });

  it('puts the original query and a $skiptoken paging cookie in @odata.nextLink', async () => {
    const reply = await webGet(
      emulator,
      token,
      'accounts?$select=name&$filter=statecode eq 0',
      'odata.maxpagesize=5',
    );
    expect(reply.headers['preference-applied']).toBe('odata.maxpagesize=5');
    const next = reply.json['@odata.nextLink'] ?? '';
    expect(
      next.startsWith(
        `${emulator.url}/api/data/v9.2/accounts?$select=name&$filter=statecode%20eq%200&$skiptoken=`,
      ),
    ).toBe(true);
    expect(decodeURIComponent(new URL(next).searchParams.get('$skiptoken') ?? '')).toMatch(
      /^<cookie pagenumber="2" pagingcookie="/,
    );
  });

  it('pages an In filter in key order, each row once, whatever order, case or repeats the ids come in', async () => {
    const all = emulator.data.list('contact').map((row) => row.contactid as string);
    // Every third contact, in reverse, some in upper case, some twice, plus ids that no row has.
    const wanted = all.filter((_id, index) => index % 3 === 0).reverse();
    const values = [
      ...wanted.map((id, index) => (index % 4 === 0 ? id.toUpperCase() : id)),
      ...wanted.slice(0, 9),
      '00000000-0000-4000-8000-0000000000aa',
      'ffffffff-0000-4000-8000-0000000000aa',
    ];
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=[${values.map((id) => `'${id}'`).join(',')}])`;
    const inserted: string[] = [];
    const { rows, pages } = await readAllPages(
      emulator,
      token,
      `contacts?$select=lastname&$filter=${encodeURIComponent(filter)}`,
      'odata.maxpagesize=13',
      (page) => {
        // A new row (asked for, and sorting last) between pages: the order is rebuilt, the place kept.
        if (page === 2) {
          inserted.push(
            emulator.data.create('contact', {
              contactid: 'ffffffff-0000-4000-8000-0000000000aa',
              lastname: 'New',
            }),
          );
        }
      },
    );
    const ids = rows.map((row) => row.contactid as string);
    const expected = [...wanted, ...inserted].sort();
    expect(ids).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 13));
    emulator.data.remove('contact', 'ffffffff-0000-4000-8000-0000000000aa');
  });

  it('filters with In on the key and on a lookup, and through a lookup path', async () => {
    const opportunities = emulator.data
      .list('opportunity')
      .slice(0, 40)
      .map((row) => row.opportunityid as string);
    const values = opportunities.map((id) => `'${id}'`).join(',');
    const byKey = await webGet(
      emulator,
      token,
      `opportunities?$select=name&$filter=Microsoft.Dynamics.CRM.In(PropertyName='opportunityid',PropertyValues=[${values}])`,
    );
    expect(byKey.json.value.map((row) => row.opportunityid).sort()).toEqual([...opportunities].sort());

    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='record1id',PropertyValues=[${values}]) and record2roleid/category eq 1000 and statecode eq 0`;
    const connections = await readAllPages(
      emulator,
      token,
      `connections?$select=_record1id_value,_record2roleid_value&$filter=${encodeURIComponent(filter)}`,
      'odata.maxpagesize=50',
    );
    const stakeholderRoles = new Set(
      emulator.data
        .list('connectionrole')
        .filter((role) => role.category === 1000)
        .map((role) => role.connectionroleid),
    );
    const expected = emulator.data
      .list('connection')
      .filter((row) => {
        const record1 = row.record1id as { id: string };
        const role = row.record2roleid as { id: string } | null;
        return (
          opportunities.includes(record1.id) &&
          role !== null &&
          stakeholderRoles.has(role.id) &&
          row.statecode === 0
        );
      })
      .map((row) => row.connectionid);
    expect(expected.length).toBeGreaterThan(0);
    expect(connections.rows.map((row) => row.connectionid).sort()).toEqual([...expected].sort());
  });

  it('compares text case-insensitively, escapes quotes, and leaves null out of ne (SQL semantics)', async () => {
    const target = emulator.data
      .list('contact')
      .find((row) => typeof row.lastname === 'string' && row.lastname.includes("'"));
    expect(target).toBeDefined();
    const lastname = (target?.lastname as string).toUpperCase().replace(/'/g, "''");
    const reply = await webGet(
      emulator,
      token,
      `contacts?$select=lastname&$filter=${encodeURIComponent(`lastname eq '${lastname}'`)}`,
    );
    const expected = emulator.data
      .list('contact')
      .filter((row) => (row.lastname as string).toUpperCase() === (target?.lastname as string).toUpperCase());
    expect(reply.json.value.length).toBe(expected.length);

    const notFalse = await readAllPages(
      emulator,
      token,
      'opportunities?$select=new_synctomkto&$filter=new_synctomkto ne false',
      'odata.maxpagesize=500',
    );
    const expectedNotFalse = emulator.data.list('opportunity').filter((row) => row.new_synctomkto === true);
    expect(notFalse.rows.length).toBe(expectedNotFalse.length);
  });

  it('filters on dates, numbers, null lookups, contains and not', async () => {
    const filter =
      "estimatedclosedate ge 2024-01-01 and (estimatedvalue gt 50000 or _parentaccountid_value eq null) and not contains(name,'training')";
    const { rows } = await readAllPages(
      emulator,
      token,
      `opportunities?$select=name&$filter=${encodeURIComponent(filter)}`,
      'odata.maxpagesize=1000',
    );
    const expected = emulator.data
      .list('opportunity')
      .filter(
        (row) =>
          (row.estimatedclosedate as string) >= '2024-01-01' &&
          ((row.estimatedvalue as number) > 50000 || row.parentaccountid === null) &&
          !(row.name as string).toLowerCase().includes('training'),
      );
    expect(rows.map((row) => row.opportunityid).sort()).toEqual(
      expected.map((row) => row.opportunityid).sort(),
    );
  });

  it('rejects $skip, unknown options, and malformed filters with 400', async () => {
    for (const query of [
      'opportunities?$skip=10',
      'opportunities?$foo=1',
      "opportunities?$filter=name eq 'x",
      'opportunities?$filter=nosuch eq 1',
    ]) {
      const reply = await webGet<ODataErrorBody>(emulator, token, query);
      expect(reply.status).toBe(400);
      expect(reply.json.error.code).toBe('0x80060888');
    }
  });

  it('answers 414 for a GET URL longer than 32,768 characters', async () => {
    const ids = Array.from(
      { length: 900 },
      (_, i) => `'00000000-0000-4000-8000-${String(i).padStart(12, '0')}'`,
    ).join(',');
    const reply = await webGet(
      emulator,
      token,
      `contacts?$filter=Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=[${ids}])`,
    );
    expect(reply.status).toBe(414);
  });
});

describe('emulator: the demo organisation over the Web API', () => {
  let emulator: Emulator;
  let token: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    token = await clientToken(emulator);
  });
  afterAll(() => emulator.close());

  it('names the unknown column in a $select error', async () => {
    const reply = await webGet<ODataErrorBody>(
      emulator,
      token,
      'opportunities?$select=name,new_nosuchcolumn',
    );
    expect(reply.status).toBe(400);
    expect(reply.json.error).toEqual({
      code: '0x80060888',
      message:
        "Could not find a property named 'new_nosuchcolumn' on type 'Microsoft.Dynamics.CRM.opportunity'.",
    });
  });

  it('returns lookups as _x_value with logical name, navigation property and formatted value annotations', async () => {
    const reply = await webGet(
      emulator,
      token,
      `opportunities(${DEMO.opportunities.contosoLaptops})?$select=name,estimatedvalue,statecode,estimatedclosedate,_customerid_value,new_synctomkto`,
      ANNOTATIONS,
    );
    const row = reply.json as unknown as Record<string, unknown>;
    expect(reply.headers['odata-version']).toBe('4.0');
    expect(reply.headers['content-type']).toBe('application/json; odata.metadata=minimal');
    expect(row['@odata.context']).toBe(
      `${emulator.url}/api/data/v9.2/$metadata#opportunities(name,estimatedvalue,statecode,estimatedclosedate,_customerid_value,new_synctomkto)/$entity`,
    );
    expect(row._customerid_value).toBe(DEMO.contacts.maria);
    expect(row['_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact');
    expect(row['_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty']).toBe(
      'customerid_contact',
    );
    expect(row['_customerid_value@OData.Community.Display.V1.FormattedValue']).toBe('Maria Campbell');
    expect(row['statecode@OData.Community.Display.V1.FormattedValue']).toBe('Open');
    expect(row['estimatedvalue@OData.Community.Display.V1.FormattedValue']).toBe('$412,500.00');
    expect(row.estimatedclosedate).toBe('2024-09-30');
    expect(row['new_synctomkto@OData.Community.Display.V1.FormattedValue']).toBe('Yes');
    // Selecting money brings the currency along, as Dataverse does.
    expect(typeof row._transactioncurrencyid_value).toBe('string');
  });

  it('omits annotations unless asked, and honours a list of annotation names', async () => {
    const plain = await webGet(emulator, token, 'opportunities?$select=_customerid_value');
    expect(Object.keys(plain.json.value[0] ?? {}).some((key) => key.includes('@'.concat('Microsoft')))).toBe(
      false,
    );
    const listed = await webGet(
      emulator,
      token,
      'opportunities?$select=_customerid_value',
      'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"',
    );
    const first = listed.json.value[0] ?? {};
    expect(first['_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBeDefined();
    expect(first['_customerid_value@OData.Community.Display.V1.FormattedValue']).toBeUndefined();
  });

  it('stores a connection as two reciprocal rows, each seen once from its record1 side', async () => {
    const masterId = emulator.data.connect(
      { id: DEMO.opportunities.tailspinPilot, logicalName: 'opportunity' },
      { id: DEMO.contacts.thomas, logicalName: 'contact' },
      emulator.data.roleId('Champion'),
    );
    const master = emulator.data.get('connection', masterId);
    const reciprocalId = (master?.relatedconnectionid as { id: string }).id;
    const fromOpportunity = await webGet(
      emulator,
      token,
      `connections?$select=_record2id_value,_record2roleid_value,ismaster,_relatedconnectionid_value&$filter=_record1id_value eq ${DEMO.opportunities.tailspinPilot}`,
    );
    expect(fromOpportunity.json.value).toEqual([
      expect.objectContaining({
        connectionid: masterId,
        _record2id_value: DEMO.contacts.thomas,
        _record2roleid_value: emulator.data.roleId('Champion'),
        ismaster: true,
        _relatedconnectionid_value: reciprocalId,
      }),
    ]);
    const fromContact = await webGet(
      emulator,
      token,
      `connections?$select=_record2id_value,_record1roleid_value,ismaster&$filter=_record1id_value eq ${DEMO.contacts.thomas} and _record2id_value eq ${DEMO.opportunities.tailspinPilot}`,
    );
    expect(fromContact.json.value).toEqual([
      expect.objectContaining({
        connectionid: reciprocalId,
        _record1roleid_value: emulator.data.roleId('Champion'),
        ismaster: false,
      }),
    ]);
    emulator.data.setConnectionState(masterId, 1);
    expect(emulator.data.get('connection', reciprocalId)?.statecode).toBe(1);
    emulator.data.disconnect(masterId);
    expect(emulator.data.get('connection', reciprocalId)).toBeUndefined();
  });

  it('expands the customer navigation property that applies and returns null for the other', async () => {
    const reply = await webGet(
      emulator,
      token,
      `opportunities?$select=name&$expand=customerid_contact($select=fullname,_parentcustomerid_value),customerid_account($select=name)&$filter=opportunityid eq ${DEMO.opportunities.contosoLaptops}`,
    );
    const row = reply.json.value[0] ?? {};
    expect(row.customerid_account).toBeNull();
    expect(row.customerid_contact).toEqual(
      expect.objectContaining({
        contactid: DEMO.contacts.maria,
        fullname: 'Maria Campbell',
        _parentcustomerid_value: DEMO.accounts.contoso,
      }),
    );
  });

  it('answers 404 0x80040217 for a missing record', async () => {
    const reply = await webGet<ODataErrorBody>(
      emulator,
      token,
      'opportunities(11111111-2222-4333-8444-555555555555)',
    );
    expect(reply.status).toBe(404);
    expect(reply.json.error.code).toBe('0x80040217');
  });

  it('covers the sync rules in the demo data: both form lookups store the account, mixed Two Options', () => {
    const fleet = emulator.data.get('opportunity', DEMO.opportunities.adventureFleet);
    expect(fleet?.customerid).toEqual({ id: DEMO.accounts.adventureWorks, logicalName: 'account' });
    const flags = new Set(emulator.data.list('opportunity').map((row) => row.new_synctomkto));
    expect(flags).toEqual(new Set([true, false, null]));
    expect(emulator.data.list('connection').some((row) => row.statecode === 1)).toBe(true);
  });
});
