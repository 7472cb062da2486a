/**
 * The benchmark's pure helpers (nothing here is timed): the report's numbers and table, and the
 * counting of SQL statements in the PostgreSQL wire protocol, fed in arbitrary chunks.
 */
import { FrontendMessages } from '../../bench/pg-statements.js';
import { formatMiB, formatRate, formatRatio, markdownTable, median, percentile } from '../../bench/report.js';

describe('report helpers', () => {
  test('rates, ratios and sizes as people read them', () => {
    expect(formatRate(3545.2)).toBe('3,545/s');
    expect(formatRate(17.14)).toBe('17.1/s');
    expect(formatRate(NaN)).toBe('n/a');
    expect(formatRatio(3545, 9567)).toBe('0.37');
    expect(formatRatio(1, 0)).toBe('n/a');
    expect(formatMiB(200 * 1024)).toBe('200.0 MiB');
    expect(formatMiB(undefined)).toBe('n/a');
  });

  test('median and nearest-rank percentile', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
  });

  test('a markdown table with aligned columns and escaped pipes', () => {
    expect(markdownTable(['metric', 'value'], [['a|b', '1'], ['longer name', '22']])).toBe(
      ['| metric      | value |', '|-------------|-------|', '| a\\|b        | 1     |', '| longer name | 22    |'].join('\n'),
    );
  });
});

/** A frontend message: type byte, then int32 length (counting itself), then the payload. */
function message(type: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + payload.length, 1);
  return Buffer.concat([head, payload]);
}

function startup(code: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + rest.length, 0);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, rest]);
}

describe('counting statements on the wire', () => {
  const cstring = (s: string) => Buffer.from(`${s}\0`);
  const session = Buffer.concat([
    startup(80877103), // SSLRequest: answered, then the real startup packet comes
    startup(196608, Buffer.concat([cstring('user'), cstring('postgres'), Buffer.from([0])])),
    message('p', cstring('secret')),
    message('Q', cstring('BEGIN')),
    message('P', Buffer.concat([cstring(''), cstring('select $1'), Buffer.from([0, 0])])),
    message('B', Buffer.alloc(10)),
    message('D', Buffer.from('P\0')),
    message('E', Buffer.alloc(5)),
    message('S'),
    message('Q', cstring('COMMIT')),
    message('X'),
  ]);

  test('a simple query and an Execute count; Parse, Bind, Describe, Sync and the startup do not', () => {
    const messages = new FrontendMessages();
    messages.push(session);
    expect(messages.statements).toBe(3);
  });

  test.each([1, 3, 7, 64])('the same count when the bytes arrive %i at a time', (size) => {
    const messages = new FrontendMessages();
    for (let i = 0; i < session.length; i += size) messages.push(session.subarray(i, i + size));
    expect(messages.statements).toBe(3);
  });
});
