import { describe, expect, it } from '@jest/globals';
import { parseNotificationBody } from './notification.js';

describe('parseNotificationBody', () => {
  it.each([
    [undefined],
    [null],
    [{}],
    [{ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }],
  ])('treats %j as a connectivity check', (body) => {
    expect(parseNotificationBody(body)).toEqual({ kind: 'ping' });
  });

  it('accepts an empty record list', () => {
    expect(parseNotificationBody({ Records: [] })).toMatchObject({ kind: 'notification' });
  });

  it('names every problem of a malformed body', () => {
    const res = parseNotificationBody({
      EventName: 's3:ObjectCreated:Put',
      Records: [{ eventName: '', eventTime: 'yesterday', s3: { bucket: {}, object: { key: 1 } } }],
    });
    expect(res.kind).toBe('invalid');
    if (res.kind !== 'invalid') return;
    expect(res.issues).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Records.0.eventTime'),
        expect.stringContaining('Records.0.eventName'),
        expect.stringContaining('Records.0.s3.bucket.name'),
        expect.stringContaining('Records.0.s3.object.key'),
      ]),
    );
  });

  it.each([['a string'], [[1, 2]], [{ Records: 'x' }], [{ hello: 'world' }]])('rejects %j', (body) => {
    expect(parseNotificationBody(body).kind).toBe('invalid');
  });
});
