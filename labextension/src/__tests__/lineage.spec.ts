import {
  actorLabel,
  buildCards,
  EMPTY_FILTERS,
  eventsQuery,
  excerpt,
  flows,
  formatTime,
  isAuditEvent,
  lineageFromOutputs,
  maskedColumns,
  sameCards,
  sameNotebook,
  shortName,
  tableName
} from '../lineage';
import { LINEAGE_MIME } from '../tokens';
import {
  cell,
  column,
  lineageOutput,
  makeEvent,
  refusedOutput
} from './fixtures';

describe('isAuditEvent', () => {
  it('accepts an event shaped like the contract', () => {
    expect(isAuditEvent(makeEvent())).toBe(true);
  });

  it.each([
    ['null', null],
    ['a string', 'ev-1'],
    ['no outputs', { ...makeEvent(), outputs: undefined }],
    ['no identity', { ...makeEvent(), identity: null }],
    ['identity without user', { ...makeEvent(), identity: { groups: [] } }],
    [
      'an output without effect',
      { ...makeEvent(), outputs: [{ name: 'x', sources: [] }] }
    ],
    ['tables not a list', { ...makeEvent(), tables: 'customers' }]
  ])('rejects %s', (_, value) => {
    expect(isAuditEvent(value)).toBe(false);
  });
});

describe('lineageFromOutputs', () => {
  it('reads the lineage bundle of a display_data output', () => {
    const event = makeEvent();
    expect(lineageFromOutputs([lineageOutput(event)])).toEqual({
      kind: 'event',
      event
    });
  });

  it('takes the last bundle when a cell displays several', () => {
    const first = makeEvent({ id: 'first' });
    const last = makeEvent({ id: 'last' });
    const found = lineageFromOutputs([
      lineageOutput(first),
      lineageOutput(last)
    ]);
    expect(found?.kind === 'event' && found.event.id).toBe('last');
  });

  it('reads a Refused error as a refusal with its reason', () => {
    expect(
      lineageFromOutputs([refusedOutput('writes are not allowed')])
    ).toEqual({ kind: 'refused', reason: 'writes are not allowed' });
  });

  it('ignores other errors, streams and foreign or malformed bundles', () => {
    expect(
      lineageFromOutputs([
        { output_type: 'error', ename: 'ValueError', evalue: 'boom' },
        { output_type: 'stream' },
        { output_type: 'execute_result', data: { 'text/plain': '1' } },
        { output_type: 'display_data', data: { [LINEAGE_MIME]: { id: 'x' } } },
        { output_type: 'display_data', data: { [LINEAGE_MIME]: 'not json' } }
      ])
    ).toBeNull();
  });
});

describe('excerpt', () => {
  it('skips the magic line, comments and blank lines', () => {
    const source =
      '%%masked_sql demo\n\n-- customers by country\nSELECT email,\n  country';
    expect(excerpt(source)).toBe('SELECT email,');
  });

  it('collapses whitespace and truncates with an ellipsis', () => {
    const long = 'SELECT   ' + 'a, '.repeat(40) + 'b FROM t';
    const text = excerpt(long, 20);
    expect(text).toHaveLength(20);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('SELECT a, a,')).toBe(true);
  });

  it('falls back to the first line of a cell that is only a magic', () => {
    expect(excerpt('%%masked_sql demo')).toBe('%%masked_sql demo');
    expect(excerpt('')).toBe('');
  });
});

describe('actorLabel', () => {
  it.each([
    ['human', 'alice'],
    ['', 'alice'],
    ['ai:jupyter-ai', 'alice via jupyter-ai'],
    ['ai:claude-code', 'alice via claude-code'],
    ['mcp', 'alice via mcp']
  ])('actor %p is shown as %p', (actor, label) => {
    expect(actorLabel({ user: 'alice', groups: [], actor })).toBe(label);
  });
});

describe('shortName', () => {
  it('keeps the table and column of a qualified name', () => {
    expect(shortName('demo.main.customers.email')).toBe('customers.email');
    expect(shortName('email')).toBe('email');
  });
});

describe('tableName', () => {
  it('keeps only the table of a qualified table name', () => {
    expect(tableName('demo.main.customers')).toBe('customers');
    expect(tableName('orders')).toBe('orders');
  });
});

describe('formatTime', () => {
  const now = new Date('2026-11-28T12:00:00Z');

  it('shows only the clock for today', () => {
    expect(formatTime('2026-11-28T07:05:29.123456Z', now, 'UTC')).toBe(
      '07:05:29'
    );
  });

  it('shows the date and minutes for another day', () => {
    expect(formatTime('2026-11-27T23:59:01Z', now, 'UTC')).toBe(
      '2026-11-27 23:59'
    );
  });

  it('returns text that is not a date unchanged', () => {
    expect(formatTime('yesterday', now, 'UTC')).toBe('yesterday');
  });
});

describe('flows and maskedColumns', () => {
  const event = makeEvent({
    outputs: [
      column({
        name: 'country',
        effect: 'raw',
        data_class: null,
        operator: null
      }),
      column({ name: 'email' }),
      column({
        name: 'ssn',
        effect: 'deny',
        data_class: 'gov_id.us_ssn',
        operator: null
      })
    ]
  });

  it('lists masked and denied columns before raw ones, with short source names', () => {
    const rows = flows(event);
    expect(rows.map(r => r.output)).toEqual(['email', 'ssn', 'country']);
    expect(rows[0].sources).toEqual(['customers.email']);
  });

  it('hides raw columns when asked', () => {
    expect(flows(event, false).map(r => r.output)).toEqual(['email', 'ssn']);
  });

  it('maskedColumns keeps everything that was not passed raw', () => {
    expect(maskedColumns(event).map(c => c.name)).toEqual(['email', 'ssn']);
  });
});

describe('sameNotebook', () => {
  it.each([
    ['work/demo.ipynb', 'work/demo.ipynb', true],
    ['/srv/lab/work/demo.ipynb', 'work/demo.ipynb', true],
    ['work\\demo.ipynb', 'work/demo.ipynb', true],
    ['other/demo.ipynb', 'work/demo.ipynb', false],
    ['/srv/lab/xdemo.ipynb', 'demo.ipynb', false],
    [null, 'demo.ipynb', false],
    ['demo.ipynb', '', false]
  ])('%p names %p: %p', (a, b, expected) => {
    expect(sameNotebook(a, b)).toBe(expected);
  });
});

describe('buildCards', () => {
  it('lists masked cells in cell order and skips the rest', () => {
    const cells = [
      cell('md', '# Title'),
      cell('c2', '%%masked_sql\nSELECT 2', [
        lineageOutput(makeEvent({ id: 'e2', cell_id: 'c2' }))
      ]),
      cell('plain', 'print(1)', [{ output_type: 'stream' }], 4),
      cell('c1', '%%masked_sql\nSELECT 1', [
        lineageOutput(makeEvent({ id: 'e1', cell_id: 'c1' }))
      ])
    ];
    const cards = buildCards(cells);
    expect(cards.map(c => [c.cellId, c.cellIndex, c.excerpt])).toEqual([
      ['c2', 1, 'SELECT 2'],
      ['c1', 3, 'SELECT 1']
    ]);
  });

  it('prefers the newer of the saved output and the server event', () => {
    const saved = makeEvent({ id: 'saved', time: '2026-11-28T07:00:00Z' });
    const newer = makeEvent({ id: 'server', time: '2026-11-28T08:00:00Z' });
    const older = makeEvent({ id: 'old', time: '2026-11-28T06:00:00Z' });
    const cells = [cell('cell-a', 'SELECT 1', [lineageOutput(saved)])];
    expect(buildCards(cells, [newer])[0]).toMatchObject({
      event: { id: 'server' },
      origin: 'server'
    });
    expect(buildCards(cells, [older])[0]).toMatchObject({
      event: { id: 'saved' },
      origin: 'output'
    });
    expect(buildCards(cells)[0].origin).toBe('output');
  });

  it('trusts the audit log over a saved output that claims the same moment', () => {
    const saved = makeEvent({ id: 'same', rows: 1 });
    const served = makeEvent({ id: 'same', rows: 2 });
    const cells = [cell('cell-a', 'SELECT 1', [lineageOutput(saved)])];
    const card = buildCards(cells, [served])[0];
    expect(card.origin).toBe('server');
    expect(card.event?.rows).toBe(2);
  });

  it('uses the newest server event when the server sends several for a cell', () => {
    const events = [
      makeEvent({ id: 'a', seq: 1, time: '2026-11-28T07:00:00Z' }),
      makeEvent({ id: 'c', seq: 3, time: '2026-11-28T07:00:00Z' }),
      makeEvent({ id: 'b', seq: 2, time: '2026-11-28T07:00:00Z' })
    ];
    expect(buildCards([cell('cell-a', 'SELECT 1')], events)[0].event?.id).toBe(
      'c'
    );
  });

  it('shows a refusal from the outputs alone, and its server event when there is one', () => {
    const cells = [
      cell(
        'cell-a',
        'DELETE FROM t',
        [refusedOutput('writes are not allowed')],
        5
      )
    ];
    const alone = buildCards(cells)[0];
    expect(alone).toMatchObject({
      outcome: 'refused',
      reason: 'writes are not allowed',
      event: null,
      executionCount: 5
    });
    const served = makeEvent({
      id: 'r',
      outcome: 'refused',
      reason: 'DELETE is a write',
      outputs: []
    });
    const withEvent = buildCards(cells, [served])[0];
    expect(withEvent.event?.id).toBe('r');
    expect(withEvent.reason).toBe('DELETE is a write');
  });

  it('keeps the refusal when the server only knows an older allowed run of the cell', () => {
    const cells = [
      cell('cell-a', 'DELETE FROM t', [refusedOutput('writes are not allowed')])
    ];
    const card = buildCards(cells, [makeEvent()])[0];
    expect(card.outcome).toBe('refused');
    expect(card.event).toBeNull();
  });

  it('shows server-only events of cells whose outputs were cleared, and ignores unknown cells', () => {
    const cells = [cell('cell-a', 'SELECT 1')];
    const cards = buildCards(cells, [
      makeEvent({ id: 'kept' }),
      makeEvent({ id: 'gone', cell_id: 'deleted-cell' }),
      makeEvent({ id: 'nocell', cell_id: null })
    ]);
    expect(cards.map(c => c.event?.id)).toEqual(['kept']);
  });
});

describe('sameCards', () => {
  const cells = [cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])];

  it('is true for rebuilt but identical cards', () => {
    expect(sameCards(buildCards(cells), buildCards(cells))).toBe(true);
  });

  it('is false when an event, an excerpt or the cell order changes', () => {
    const base = buildCards(cells);
    const otherEvent = buildCards([
      cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent({ id: 'x' }))])
    ]);
    const otherText = buildCards([
      cell('cell-a', 'SELECT 2', [lineageOutput(makeEvent())])
    ]);
    const moved = buildCards([cell('md', '# x'), ...cells]);
    expect(sameCards(base, otherEvent)).toBe(false);
    expect(sameCards(base, otherText)).toBe(false);
    expect(sameCards(base, moved)).toBe(false);
    expect(sameCards(base, [])).toBe(false);
  });
});

describe('eventsQuery', () => {
  it('keeps only the filters that are set, URL-encoded', () => {
    const query = eventsQuery({
      ...EMPTY_FILTERS,
      user: 'bob',
      data_class: 'pii.*',
      outcome: 'refused',
      table: '  '
    });
    expect(query).toBe('user=bob&data_class=pii.*&outcome=refused&limit=200');
  });

  it('escapes characters that would change the query', () => {
    expect(eventsQuery({ ...EMPTY_FILTERS, user: 'a&b=c', limit: 5 })).toBe(
      'user=a%26b%3Dc&limit=5'
    );
  });
});
