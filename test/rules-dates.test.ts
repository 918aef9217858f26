/**
 * readDate and readTimestamp answer Dataverse's own forms without a regular expression or a Date; every
 * answer must be the one the general path gives (below, as the rules read dates before the shortcut): the
 * same string, or the same refusal.
 */
import { readDate, readTimestamp } from '../rules/fields';

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function generalDate(value: string): string {
  const match = DATE.exec(value);
  if (!match) return 'refused';
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
    return 'refused';
  return match[0].slice(0, 10);
}

function generalTimestamp(value: string): string {
  const millis = TIMESTAMP.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(millis)) return 'refused';
  return new Date(millis).toISOString().slice(0, 19) + 'Z';
}

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

/** The string with the character at each position replaced by each of a few others. */
function oneCharacterChanges(text: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at++) {
    for (const character of [...'0129:-TZz .+/\u0660\u00e9'])
      out.push(text.slice(0, at) + character + text.slice(at + 1));
  }
  return out;
}

describe('dates and timestamps read from Dataverse', () => {
  it('reads every calendar date, and every impossible one, as the general path does', () => {
    const dates = calendarDates();
    let accepted = 0;
    for (const date of dates) {
      expect(dateOf(date)).toBe(generalDate(date));
      expect(dateOf(`${date}T10:00:00Z`)).toBe(generalDate(`${date}T10:00:00Z`));
      if (generalDate(date) !== 'refused') accepted++;
    }
    // 365 or 366 days for each year read (99 is read as 1999 by Date.UTC, so refused), none of the others.
    expect(accepted).toBe(365 * 6 + 366 * 3);
  });

  it('reads timestamps at the edges of every field as the general path does', () => {
    const values: string[] = [];
    for (const date of ['2024-02-29', '2023-02-29', '2024-12-31', '0099-01-01', '0100-01-01'])
      for (const clock of ['00:00:00', '23:59:59', '24:00:00', '23:60:00', '23:59:60', '12:30:45'])
        values.push(`${date}T${clock}Z`);
    values.push(
      '2024-03-31T10:00Z',
      '2024-03-31T10:00:00.123Z',
      '2024-03-31T10:00:00.999Z',
      '2024-03-31T10:00:00+02:00',
      '2024-03-31T00:30:00-01:00',
      '2024-03-31T10:00:00',
      '2024-03-31 10:00:00Z',
      '2024-03-31T10:00:00z',
      '2024-3-31T10:00:00Z',
      '',
    );
    for (const value of values) expect(timestampOf(value)).toBe(generalTimestamp(value));
    expect(timestampOf('2024-02-29T23:59:59Z')).toBe('2024-02-29T23:59:59Z');
    expect(timestampOf('2024-03-31T10:00:00+02:00')).toBe('2024-03-31T08:00:00Z');
  });

  it('answers as the general path for every one-character change of a timestamp and a date', () => {
    for (const value of oneCharacterChanges('2024-02-29T23:59:59Z'))
      expect(timestampOf(value)).toBe(generalTimestamp(value));
    for (const value of oneCharacterChanges('2024-02-29')) expect(dateOf(value)).toBe(generalDate(value));
    for (const value of oneCharacterChanges('2024-12-31T00:00:00Z'))
      expect(dateOf(value)).toBe(generalDate(value));
  });

  it('keeps absent values null and refuses other types', () => {
    expect(readDate({ d: null }, 'd')).toBeNull();
    expect(readTimestamp({}, 't')).toBeNull();
    expect(() => readDate({ d: 20240101 }, 'd')).toThrow('d is not a date');
    expect(() => readTimestamp({ t: 1 }, 't')).toThrow('t is not an ISO-8601 timestamp');
  });
});
