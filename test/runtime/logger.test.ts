import { JsonLogger } from '../../functions/runtime/logger';

describe('JsonLogger', () => {
  it('writes a line without its fields, never throwing, when a field cannot be written as JSON', () => {
    const lines: string[] = [];
    const log = new JsonLogger({ service: 'test' }, (line) => lines.push(line)).child({ correlationId: 'request-1' });
    let nested: Record<string, unknown> = {};
    for (let depth = 0; depth < 100_000; depth += 1) nested = { a: nested };
    expect(() => log.error('something happened', { data: nested, storeId: 7 })).not.toThrow();
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'ERROR', message: 'something happened', service: 'test', correlationId: 'request-1', logFieldsOmitted: 'RangeError' }),
    ]);
    log.info('next', { storeId: 7 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ message: 'next', storeId: 7 });
  });
});
