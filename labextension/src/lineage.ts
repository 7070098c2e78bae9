/**
 * Data shaping: notebook cells and audit events in, sidebar cards out. Pure functions only.
 */
import {
  IAuditEvent,
  IEventFilters,
  IIdentity,
  IOutputColumn,
  LINEAGE_MIME,
  Outcome
} from './tokens';

/** One output of a cell, as much of nbformat as the sidebar reads. */
export interface IOutputSnapshot {
  output_type: string;
  data?: { [mime: string]: unknown };
  ename?: string;
  evalue?: string;
}

/** One notebook cell, copied out of the notebook model. */
export interface ICellSnapshot {
  id: string;
  source: string;
  executionCount: number | null;
  outputs: IOutputSnapshot[];
}

/** What a cell's saved outputs say about its last masked query. */
export type OutputLineage =
  { kind: 'event'; event: IAuditEvent } | { kind: 'refused'; reason: string };

/** One card in the sidebar: a cell that ran a masked query. */
export interface ICard {
  cellId: string;
  /** Position among all cells of the notebook (0-based). */
  cellIndex: number;
  excerpt: string;
  executionCount: number | null;
  /** The audit event, when known; a refusal read from outputs alone has none. */
  event: IAuditEvent | null;
  outcome: Outcome;
  reason: string | null;
  /**
   * Where the card's event came from: the server's audit store, or the notebook's saved
   * outputs (which are only as trustworthy as the notebook file).
   */
  origin: 'server' | 'output';
}

/** One row of the flow list: source columns feeding an output column. */
export interface IFlow {
  output: string;
  sources: string[];
  column: IOutputColumn;
}

const EXCERPT_LENGTH = 72;
const SKIPPED_LINE = /^\s*(%%|--|#|$)/;
const REFUSED_ENAMES: ReadonlySet<string> = new Set(['Refused']);

/**
 * Check that a value has the shape of an audit event, so a hand-edited or foreign
 * bundle is ignored instead of breaking the panel.
 */
export function isAuditEvent(value: unknown): value is IAuditEvent {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as { [key: string]: unknown };
  const identity = v.identity as { [key: string]: unknown } | null | undefined;
  return (
    typeof v.id === 'string' &&
    typeof v.time === 'string' &&
    typeof v.outcome === 'string' &&
    typeof identity === 'object' &&
    identity !== null &&
    typeof identity.user === 'string' &&
    Array.isArray(v.outputs) &&
    v.outputs.every(isOutputColumn) &&
    Array.isArray(v.tables)
  );
}

function isOutputColumn(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as { [key: string]: unknown };
  return (
    typeof v.name === 'string' &&
    Array.isArray(v.sources) &&
    typeof v.effect === 'string'
  );
}

/** The lineage recorded in a cell's outputs: the last bundle or refusal wins. */
export function lineageFromOutputs(
  outputs: readonly IOutputSnapshot[]
): OutputLineage | null {
  for (let i = outputs.length - 1; i >= 0; i--) {
    const output = outputs[i];
    if (output.output_type === 'error') {
      if (output.ename && REFUSED_ENAMES.has(output.ename)) {
        return { kind: 'refused', reason: output.evalue ?? '' };
      }
      continue;
    }
    const bundle = output.data?.[LINEAGE_MIME];
    if (isAuditEvent(bundle)) {
      return { kind: 'event', event: bundle };
    }
  }
  return null;
}

/** A one-line excerpt of a cell: its first line of SQL, not the magic line or comments. */
export function excerpt(source: string, length = EXCERPT_LENGTH): string {
  const line =
    source.split('\n').find(text => !SKIPPED_LINE.test(text)) ??
    source.split('\n')[0] ??
    '';
  const flat = line.replace(/\s+/g, ' ').trim();
  return flat.length > length ? flat.slice(0, length - 1) + '…' : flat;
}

/** "alice", or "alice via jupyter-ai" when an AI tool acted for her. */
export function actorLabel(identity: IIdentity): string {
  const actor = identity.actor ?? 'human';
  if (actor === 'human' || actor === '') {
    return identity.user;
  }
  const tool = actor.startsWith('ai:') ? actor.slice(3) : actor;
  return `${identity.user} via ${tool}`;
}

/** The last two parts of a qualified name: "demo.main.customers.email" → "customers.email". */
export function shortName(qualified: string): string {
  const parts = qualified.split('.');
  return parts.slice(-2).join('.');
}

/** The table part of a qualified table name: "demo.main.customers" → "customers". */
export function tableName(qualified: string): string {
  return qualified.split('.').pop() ?? qualified;
}

/** A compact local time: "07:05:29" today, "2026-11-27 07:05" on another day. */
export function formatTime(
  iso: string,
  now: Date = new Date(),
  timeZone?: string
): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const day = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit'
  });
  const clock = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false
  });
  if (day.format(date) === day.format(now)) {
    return clock.format(date);
  }
  return `${day.format(date)} ${clock.format(date).slice(0, 5)}`;
}

/** The flow rows of an event: masked and denied columns first, then raw ones if wanted. */
export function flows(event: IAuditEvent, showRaw = true): IFlow[] {
  const rows = event.outputs
    .filter(column => showRaw || column.effect !== 'raw')
    .map(column => ({
      output: column.name,
      sources: column.sources.map(shortName),
      column
    }));
  const rank = (flow: IFlow) => (flow.column.effect === 'raw' ? 1 : 0);
  return rows.sort((a, b) => rank(a) - rank(b));
}

/** The output columns that were masked or denied. */
export function maskedColumns(event: IAuditEvent): IOutputColumn[] {
  return event.outputs.filter(column => column.effect !== 'raw');
}

/** Whether an event's notebook path names the notebook at `path` (the kernel may send it absolute). */
export function sameNotebook(eventPath: string | null, path: string): boolean {
  if (!eventPath || !path) {
    return false;
  }
  const a = eventPath.replace(/\\/g, '/');
  const b = path.replace(/\\/g, '/');
  return a === b || a.endsWith('/' + b) || b.endsWith('/' + a);
}

/**
 * Build the cards of a notebook, in cell order.
 *
 * A cell's card comes from its saved outputs or from the server's events for that
 * notebook, whichever is newer (the server's on a tie, since the audit store is the
 * record); refused queries usually only exist on the server.
 */
export function buildCards(
  cells: readonly ICellSnapshot[],
  serverEvents: readonly IAuditEvent[] = []
): ICard[] {
  const fromServer = new Map<string, IAuditEvent>();
  for (const event of serverEvents) {
    if (!event.cell_id) {
      continue;
    }
    const known = fromServer.get(event.cell_id);
    if (!known || newer(event, known)) {
      fromServer.set(event.cell_id, event);
    }
  }
  const cards: ICard[] = [];
  cells.forEach((cell, cellIndex) => {
    const saved = lineageFromOutputs(cell.outputs);
    const served = fromServer.get(cell.id) ?? null;
    let event: IAuditEvent | null = null;
    let reason: string | null = null;
    if (saved?.kind === 'event') {
      event = served && !newer(saved.event, served) ? served : saved.event;
    } else if (saved?.kind === 'refused') {
      event = served && served.outcome !== 'allowed' ? served : null;
      reason = saved.reason;
    } else {
      event = served;
    }
    if (!event && !saved) {
      return;
    }
    cards.push({
      cellId: cell.id,
      cellIndex,
      excerpt: excerpt(cell.source),
      executionCount: event?.execution_count ?? cell.executionCount,
      event,
      outcome: event?.outcome ?? 'refused',
      reason: event?.reason ?? reason,
      origin: event !== null && event === served ? 'server' : 'output'
    });
  });
  return cards;
}

function newer(a: IAuditEvent, b: IAuditEvent): boolean {
  if (a.time !== b.time) {
    return a.time > b.time;
  }
  return (a.seq ?? 0) > (b.seq ?? 0);
}

/** Two card lists show the same thing (so the view need not re-render). */
export function sameCards(a: readonly ICard[], b: readonly ICard[]): boolean {
  return (
    a.length === b.length &&
    a.every((card, i) => {
      const other = b[i];
      return (
        card.cellId === other.cellId &&
        card.cellIndex === other.cellIndex &&
        card.excerpt === other.excerpt &&
        card.executionCount === other.executionCount &&
        card.outcome === other.outcome &&
        card.reason === other.reason &&
        card.origin === other.origin &&
        card.event?.id === other.event?.id
      );
    })
  );
}

export const EMPTY_FILTERS: IEventFilters = {
  user: '',
  table: '',
  data_class: '',
  outcome: '',
  actor: '',
  since: '',
  until: '',
  limit: 200
};

/** The query string of `GET events` for the reviewer view; empty filters are left out. */
export function eventsQuery(filters: IEventFilters): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    const text = String(value).trim();
    if (text !== '') {
      params.append(key, text);
    }
  }
  return params.toString();
}
