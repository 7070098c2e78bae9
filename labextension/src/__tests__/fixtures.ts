/**
 * Audit events and cells shaped exactly as the server contract says, for the tests.
 */
import { ICellSnapshot, IOutputSnapshot } from '../lineage';
import { IAuditEvent, IOutputColumn, LINEAGE_MIME } from '../tokens';

export function column(overrides: Partial<IOutputColumn> = {}): IOutputColumn {
  return {
    name: 'email',
    sources: ['demo.main.customers.email'],
    data_class: 'pii.email',
    effect: 'mask',
    operator: 'pseudonym',
    rule: 'default:pii.email',
    transform: 'identity',
    detected_by: 'policy',
    ...overrides
  };
}

export function makeEvent(overrides: Partial<IAuditEvent> = {}): IAuditEvent {
  return {
    id: 'ev-1',
    seq: 12,
    time: '2026-11-28T07:05:29.123456Z',
    identity: { user: 'alice', groups: ['analysts'], actor: 'human' },
    notebook: 'work/demo.ipynb',
    cell_id: 'cell-a',
    execution_count: 3,
    connection: 'demo',
    dialect: 'duckdb',
    sql: 'SELECT email, country FROM customers WHERE id = ?',
    sql_fingerprint: 'fp',
    tables: ['demo.main.customers'],
    columns_read: [
      'demo.main.customers.email',
      'demo.main.customers.country',
      'demo.main.customers.id'
    ],
    outputs: [
      column(),
      column({
        name: 'country',
        sources: ['demo.main.customers.country'],
        data_class: null,
        effect: 'raw',
        operator: null,
        rule: null,
        detected_by: 'none'
      })
    ],
    rows: 10,
    duration_ms: 12.3,
    policy_version: 'demo@1a2b3c4d5e6f',
    outcome: 'allowed',
    reason: null,
    prev_hash: 'p',
    hash: 'h',
    ...overrides
  };
}

export function lineageOutput(event: IAuditEvent): IOutputSnapshot {
  return {
    output_type: 'display_data',
    data: {
      'text/plain': '<masked result>',
      'text/html': '<table></table>',
      [LINEAGE_MIME]: event
    }
  };
}

export function refusedOutput(reason: string): IOutputSnapshot {
  return { output_type: 'error', ename: 'Refused', evalue: reason };
}

export function cell(
  id: string,
  source: string,
  outputs: IOutputSnapshot[] = [],
  executionCount: number | null = null
): ICellSnapshot {
  return { id, source, outputs, executionCount };
}
