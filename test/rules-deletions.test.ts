/**
 * Rule 2's deletes: the opportunities a delta page reports removed, and the related rows a change feed named
 * that Dynamics no longer returns.
 */
import { deletedOpportunityIds, vanishedIds } from '../rules';

const A = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
const B = '0a1b2c3d-0000-4000-8000-000000000001';
const C = '0a1b2c3d-0000-4000-8000-000000000002';

describe('deletedOpportunityIds', () => {
  it('names each removed opportunity once, in its stored form, and drops what is not an id', () => {
    expect(deletedOpportunityIds([A, `{${B.toUpperCase()}}`, A, 'not-a-guid', ` ${C} `])).toEqual([A, B, C]);
  });

  it('is empty for a page without removals', () => {
    expect(deletedOpportunityIds([])).toEqual([]);
  });
});

describe('vanishedIds', () => {
  it('is the changed ids whose rows Dynamics no longer returns, in the order they were reported', () => {
    const current = [{ contactid: B.toUpperCase() }, { contactid: 'garbage' }];
    expect(vanishedIds([C, B, A], current, 'contactid')).toEqual([C, A]);
  });

  it('is none when every changed row is still there, and all of them when none is', () => {
    expect(vanishedIds([A, B], [{ accountid: B }, { accountid: A }], 'accountid')).toEqual([]);
    expect(vanishedIds([A, B], [], 'accountid')).toEqual([A, B]);
  });
});
