import { describe, expect, it } from '@jest/globals';
import { parseReplayRequest } from './route.js';

// The body of a replay request, as the broker's and the dashboard's replay routes both read it.
describe('parseReplayRequest', () => {
  it('reads "from" and "dryRun"', () => {
    expect(parseReplayRequest({ from: 'earliest' })).toEqual({ from: 'earliest', dryRun: false });
    expect(parseReplayRequest({ from: '2026-01-31T09:00:00Z', dryRun: true })).toEqual({
      from: new Date('2026-01-31T09:00:00Z'),
      dryRun: true,
    });
  });

  it.each([
    null,
    undefined,
    '',
    'earliest',
    [],
    3,
  ])('refuses a body that is not an object (%p) with a 400', (body) => {
    expect(() => parseReplayRequest(body)).toThrow(
      expect.objectContaining({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: 'body must be {"from": "<RFC 3339>|earliest", "dryRun": bool}',
      }),
    );
  });

  it('refuses a "dryRun" that is not a boolean, and a missing, malformed or future "from"', () => {
    expect(() => parseReplayRequest({ from: 'earliest', dryRun: 'yes' })).toThrow(
      '"dryRun" must be true or false',
    );
    expect(() => parseReplayRequest({})).toThrow(/"from" must be "earliest" or an RFC 3339 time/);
    expect(() => parseReplayRequest({ from: 'yesterday' })).toThrow(/got "yesterday"/);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(() => parseReplayRequest({ from: future })).toThrow(/is in the future/);
  });
});
