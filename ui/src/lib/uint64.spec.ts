import { isCategory, isTaskKey, taskKeyProblem } from './uint64';

describe('isTaskKey', () => {
  it('accepts 1 to 18446744073709551615', () => {
    for (const k of [
      '1',
      '42',
      '9007199254740993',
      '18446744073709551615',
      '9999999999999999999',
    ]) {
      expect(isTaskKey(k)).toBe(true);
    }
  });

  it('refuses 0, 2^64 and above, signs, fractions, leading zeros and non-digits', () => {
    for (const k of [
      '0',
      '18446744073709551616',
      '99999999999999999999',
      '100000000000000000000',
      '-1',
      '+1',
      '1.0',
      '1e3',
      '007',
      '',
      ' 1',
      'abc',
    ]) {
      expect(isTaskKey(k)).toBe(false);
    }
  });
});

describe('taskKeyProblem', () => {
  it('explains what is wrong, or null', () => {
    expect(taskKeyProblem('')).toMatch(/Enter a key/);
    expect(taskKeyProblem('12a')).toMatch(/digits only/);
    expect(taskKeyProblem('18446744073709551616')).toMatch(/18446744073709551615/);
    expect(taskKeyProblem(' 18446744073709551615 ')).toBeNull();
  });
});

describe('isCategory', () => {
  it('follows the service rule', () => {
    expect(isCategory('orders.v2:eu-1_a')).toBe(true);
    expect(isCategory('a'.repeat(128))).toBe(true);
    expect(isCategory('a'.repeat(129))).toBe(false);
    expect(isCategory('')).toBe(false);
    expect(isCategory('a/b')).toBe(false);
  });
});
