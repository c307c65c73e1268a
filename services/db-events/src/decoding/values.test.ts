import { describe, expect, it } from '@jest/globals';
import { parseArray, TypeRegistry, toBase64, toIsoTimestamp } from './values.js';

describe('parseArray', () => {
  const id = (t: string) => t;
  it('parses flat, nested, quoted, NULL and empty arrays', () => {
    expect(parseArray('{1,2,NULL}', Number)).toEqual([1, 2, null]);
    expect(parseArray('{{1,2},{3,4}}', Number)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseArray('{"a b","c\\"d","NULL","e\\\\"}', id)).toEqual(['a b', 'c"d', 'NULL', 'e\\']);
    expect(parseArray('{}', id)).toEqual([]);
    expect(parseArray('[0:1]={7,8}', Number)).toEqual([7, 8]);
  });
  it('uses the element converter of the array type', () => {
    const types = new TypeRegistry();
    expect(types.converter(1016)('{1,9007199254740993}')).toEqual(['1', '9007199254740993']);
    expect(types.converter(1000)('{t,f,NULL}')).toEqual([true, false, null]);
    expect(types.converter(3807)('{"{\\"a\\": 1}",null}')).toEqual([{ a: 1 }, null]);
    expect(types.converter(1185)('{"2024-01-02 03:04:05+00"}')).toEqual(['2024-01-02T03:04:05Z']);
    expect(types.converter(1001)('{"\\\\x0102"}')).toEqual(['AQI=']);
  });
  it('treats a custom type named _x as an array of text', () => {
    const types = new TypeRegistry();
    types.learn(99999, '_mood');
    expect(types.converter(99999)('{happy,sad}')).toEqual(['happy', 'sad']);
  });
});

describe('scalar conversions', () => {
  it('formats timestamps and dates as ISO-8601', () => {
    expect(toIsoTimestamp('2024-01-02 03:04:05.123456+00')).toBe('2024-01-02T03:04:05.123456Z');
    expect(toIsoTimestamp('2024-01-02 03:04:05+05:30')).toBe('2024-01-02T03:04:05+05:30');
    expect(toIsoTimestamp('2024-01-02 03:04:05-08')).toBe('2024-01-02T03:04:05-08:00');
    expect(toIsoTimestamp('2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05');
    expect(toIsoTimestamp('2024-01-02')).toBe('2024-01-02');
    expect(toIsoTimestamp('0044-03-15 BC')).toBe('-0043-03-15');
    expect(toIsoTimestamp('infinity')).toBe('infinity');
  });
  it('encodes bytea as base64', () => {
    expect(toBase64('\\x00ff10')).toBe(Buffer.from([0, 255, 16]).toString('base64'));
    expect(toBase64('\\x')).toBe('');
  });
  it('keeps non-finite floats as text and int8/numeric as strings', () => {
    const types = new TypeRegistry();
    expect(types.converter(701)('NaN')).toBe('NaN');
    expect(types.converter(701)('1.5e-7')).toBe(1.5e-7);
    expect(types.converter(20)('-9223372036854775808')).toBe('-9223372036854775808');
    expect(types.converter(1700)('3.14159265358979323846')).toBe('3.14159265358979323846');
    expect(types.converter(25)('text')).toBe('text');
  });
});
