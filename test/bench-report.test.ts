import { median } from '../bench/report';

describe('benchmark report', () => {
  it('takes the upper median, so an even count of repetitions reports the larger (stricter) middle ratio', () => {
    expect(median([1.9, 1.4, 1.6])).toBe(1.6);
    expect(median([1.77, 1.61, 1.4, 1.55])).toBe(1.61);
    expect(median([2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});
