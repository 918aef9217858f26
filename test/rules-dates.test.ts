/**
 * readDate and readTimestamp: Dataverse's date and timestamp forms, read into the store's forms; impossible
 * dates, zone-less timestamps and other types are refused (each refusal becomes a sync error).
 */
import { readDate, readTimestamp } from '../rules/fields';

function answer(read: () => string | null): string {
  try {
    return read() ?? 'null';
  } catch (error) {
    expect((error as Error).name).toBe('BadFieldError');
    return 'refused';
  }
}

const dateOf = (value: string) => answer(() => readDate({ d: value }, 'd'));
const timestampOf = (value: string) => answer(() => readTimestamp({ t: value }, 't'));

/** Every day of some years (leap, not, century), with the day before the first and after the last of each month. */
function calendarDates(): string[] {
  const dates: string[] = [];
  for (const year of [99, 100, 1600, 1900, 1999, 2000, 2023, 2024, 2100, 9999]) {
    for (let month = 0; month <= 13; month++) {
      for (let day = 0; day <= 32; day++) {
        dates.push(
          `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
        );
      }
    }
  }
  return dates;
}

describe('dates and timestamps read from Dataverse', () => {
  it('reads every calendar date and refuses every impossible one, alone or as a timestamp’s date part', () => {
    let accepted = 0;
    for (const date of calendarDates()) {
      const read = dateOf(date);
      expect(dateOf(`${date}T10:00:00Z`)).toBe(read);
      if (read === 'refused') continue;
      expect(read).toBe(date);
      accepted++;
    }
    // 365 or 366 days for each year read (99 is read as 1999 by Date.UTC, so refused), none of the others.
    expect(accepted).toBe(365 * 6 + 366 * 3);
    expect(dateOf('2024-02-29')).toBe('2024-02-29');
    expect(dateOf('2023-02-29')).toBe('refused');
    expect(dateOf('1900-02-29')).toBe('refused');
    expect(dateOf('2000-02-29')).toBe('2000-02-29');
    expect(dateOf('2024-02-29 10:00')).toBe('refused');
    expect(dateOf('2024-2-29')).toBe('refused');
  });

  it('normalises timestamps to whole seconds in UTC and refuses the rest', () => {
    const cases: [string, string][] = [
      ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59Z'],
      ['2024-12-31T00:00:00Z', '2024-12-31T00:00:00Z'],
      ['2024-03-31T10:00Z', '2024-03-31T10:00:00Z'],
      ['2024-03-31T10:00:00.123Z', '2024-03-31T10:00:00Z'],
      ['2024-03-31T10:00:00.999Z', '2024-03-31T10:00:00Z'],
      ['2024-03-31T10:00:00+02:00', '2024-03-31T08:00:00Z'],
      ['2024-03-31T00:30:00-01:00', '2024-03-31T01:30:00Z'],
      ['2024-12-31T23:30:00-01:00', '2025-01-01T00:30:00Z'],
      ['2023-02-29T00:00:00Z', 'refused'],
      ['2024-02-29T23:60:00Z', 'refused'],
      ['2024-02-29T23:59:60Z', 'refused'],
      ['2024-02-29T25:00:00Z', 'refused'],
      ['2024-03-31T10:00:00', 'refused'],
      ['2024-03-31 10:00:00Z', 'refused'],
      ['2024-03-31T10:00:00z', 'refused'],
      ['2024-3-31T10:00:00Z', 'refused'],
      ['', 'refused'],
    ];
    for (const [value, expected] of cases) expect([value, timestampOf(value)]).toEqual([value, expected]);
  });

  it('keeps absent values null and refuses other types', () => {
    expect(readDate({ d: null }, 'd')).toBeNull();
    expect(readTimestamp({}, 't')).toBeNull();
    expect(() => readDate({ d: 20240101 }, 'd')).toThrow('d is not a date');
    expect(() => readTimestamp({ t: 1 }, 't')).toThrow('t is not an ISO-8601 timestamp');
  });
});
