/**
 * The reviewer view: audit events across notebooks and users, refused queries included.
 */
import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

import { fetchEvents } from '../api';
import {
  actorLabel,
  EMPTY_FILTERS,
  formatTime,
  maskedColumns
} from '../lineage';
import { asAPIError } from '../model';
import { MaskingAPIError } from '../request';
import { IAuditEvent, IEventFilters, IWhoAmI } from '../tokens';
import { FlowList } from './FlowList';
import { StatusMessage } from './StatusMessage';

export interface IReviewerViewProps {
  serverSettings: ServerConnection.ISettings;
  whoami: IWhoAmI;
}

/** The text filters, in form order: [key, label, placeholder]. */
const TEXT_FILTERS: ReadonlyArray<[keyof IEventFilters, string, string]> = [
  ['user', 'User', 'alice'],
  ['table', 'Table', 'customers'],
  ['data_class', 'Class', 'pii.*'],
  ['actor', 'Actor', 'ai:jupyter-ai']
];

const OUTCOMES: ReadonlyArray<[IEventFilters['outcome'], string]> = [
  ['', 'any outcome'],
  ['allowed', 'allowed'],
  ['refused', 'refused'],
  ['failed', 'failed']
];

/** A `datetime-local` value as an ISO instant, or '' when empty or invalid. */
export function toInstant(local: string): string {
  if (!local) {
    return '';
  }
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

type Status =
  | { kind: 'loading' }
  | { kind: 'ready'; events: IAuditEvent[] }
  | { kind: 'error'; error: MaskingAPIError };

export function ReviewerView(props: IReviewerViewProps): JSX.Element {
  const [form, setForm] = React.useState<IEventFilters>(EMPTY_FILTERS);
  const [status, setStatus] = React.useState<Status>({ kind: 'loading' });
  const [open, setOpen] = React.useState<string | null>(null);
  const latest = React.useRef(0);

  const load = React.useCallback(
    async (filters: IEventFilters) => {
      const call = ++latest.current;
      setStatus({ kind: 'loading' });
      try {
        const query = {
          ...filters,
          since: toInstant(filters.since),
          until: toInstant(filters.until)
        };
        const events = await fetchEvents(query, props.serverSettings);
        if (call === latest.current) {
          setStatus({ kind: 'ready', events });
        }
      } catch (error) {
        if (call === latest.current) {
          setStatus({ kind: 'error', error: asAPIError(error) });
        }
      }
    },
    [props.serverSettings]
  );

  React.useEffect(() => {
    void load(EMPTY_FILTERS);
  }, [load]);

  const set = (key: keyof IEventFilters, value: string) =>
    setForm(previous => ({ ...previous, [key]: value }));
  const scope =
    props.whoami.mode === 'embedded'
      ? 'the local audit store'
      : props.whoami.reviewer
        ? 'all users'
        : `your own queries (${props.whoami.user})`;

  return (
    <div className="jp-masking-review">
      <form
        className="jp-masking-filters"
        aria-label="Filter audit events"
        onSubmit={e => {
          e.preventDefault();
          void load(form);
        }}
      >
        {TEXT_FILTERS.map(([key, label, placeholder]) => (
          <label key={key}>
            <span>{label}</span>
            <input
              className="jp-mod-styled"
              name={key}
              value={String(form[key])}
              placeholder={placeholder}
              onChange={e => set(key, e.target.value)}
            />
          </label>
        ))}
        <label>
          <span>Outcome</span>
          <select
            className="jp-mod-styled"
            name="outcome"
            value={form.outcome}
            onChange={e => set('outcome', e.target.value)}
          >
            {OUTCOMES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-masking-wide">
          <span>Since</span>
          <input
            className="jp-mod-styled"
            type="datetime-local"
            name="since"
            value={form.since}
            onChange={e => set('since', e.target.value)}
          />
        </label>
        <label className="jp-masking-wide">
          <span>Until</span>
          <input
            className="jp-mod-styled"
            type="datetime-local"
            name="until"
            value={form.until}
            onChange={e => set('until', e.target.value)}
          />
        </label>
        <div className="jp-masking-filter-actions">
          <button
            type="submit"
            className="jp-Button jp-mod-styled jp-mod-accept"
          >
            Apply
          </button>
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            onClick={() => {
              setForm(EMPTY_FILTERS);
              void load(EMPTY_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p className="jp-masking-muted jp-masking-scope">Showing {scope}.</p>
      {status.kind === 'loading' && (
        <StatusMessage kind="loading" title="Loading audit events…" />
      )}
      {status.kind === 'error' && (
        <StatusMessage
          kind="error"
          title={status.error.message}
          action={{ label: 'Retry', onClick: () => void load(form) }}
        >
          {status.error.hint ?? 'Check the filters, then retry.'}
        </StatusMessage>
      )}
      {status.kind === 'ready' && status.events.length === 0 && (
        <StatusMessage kind="empty" title="No events match these filters">
          Widen the time range or clear a filter.
        </StatusMessage>
      )}
      {status.kind === 'ready' && status.events.length > 0 && (
        <ol className="jp-masking-events" aria-label="Audit events">
          {status.events.map(event => (
            <EventRow
              key={event.id}
              event={event}
              open={open === event.id}
              onToggle={() => setOpen(open === event.id ? null : event.id)}
            />
          ))}
        </ol>
      )}
    </div>
  );
}

interface IEventRowProps {
  event: IAuditEvent;
  open: boolean;
  onToggle: () => void;
}

function EventRow(props: IEventRowProps): JSX.Element {
  const { event } = props;
  const classes = Array.from(
    new Set(maskedColumns(event).map(c => c.data_class ?? c.effect))
  );
  return (
    <li className={`jp-masking-event jp-masking-outcome-${event.outcome}`}>
      <button
        type="button"
        className="jp-masking-event-head"
        aria-expanded={props.open}
        onClick={props.onToggle}
      >
        <span className="jp-masking-event-time" title={event.time}>
          {formatTime(event.time)}
        </span>
        <span className="jp-masking-who">{actorLabel(event.identity)}</span>
        <span
          className={`jp-masking-outcome jp-masking-outcome-${event.outcome}`}
        >
          {event.outcome}
        </span>
        <span className="jp-masking-event-where">
          {event.notebook ?? event.connection ?? ''}
        </span>
        {classes.length > 0 && (
          <span className="jp-masking-event-classes">{classes.join(', ')}</span>
        )}
      </button>
      {props.open && (
        <div className="jp-masking-event-body">
          <pre className="jp-masking-sql">{event.sql}</pre>
          {event.reason && <p className="jp-masking-reason">{event.reason}</p>}
          <FlowList event={event} showRaw={true} />
          {event.policy_version && (
            <div className="jp-masking-policy">
              policy {event.policy_version}
            </div>
          )}
        </div>
      )}
    </li>
  );
}
