/**
 * One card: the lineage of the last masked query a notebook cell ran.
 */
import * as React from 'react';

import {
  actorLabel,
  formatTime,
  ICard,
  shortName,
  tableName
} from '../lineage';
import { FlowList } from './FlowList';

export interface ICellCardProps {
  card: ICard;
  selected: boolean;
  showRaw: boolean;
  /** Select the card's cell in the notebook. */
  onReveal: (cellId: string) => void;
  /** Move keyboard focus to the previous (-1) or next (+1) card. */
  onMove: (from: HTMLElement, step: number) => void;
}

const OUTCOME_LABEL: { [outcome: string]: string } = {
  allowed: 'allowed',
  refused: 'refused',
  failed: 'failed'
};

const ORIGIN_LABEL: { [origin: string]: string } = {
  server: 'audit log',
  output: 'saved output'
};

const ORIGIN_TITLE: { [origin: string]: string } = {
  server: 'Read from the audit log on the server',
  output:
    "Read from the notebook's saved output; it is only as trustworthy as the notebook file"
};

const MOVE_KEYS: { [key: string]: number } = { ArrowDown: 1, ArrowUp: -1 };

function CellCardView(props: ICellCardProps): JSX.Element {
  const { card, selected } = props;
  const ref = React.useRef<HTMLLIElement>(null);
  React.useEffect(() => {
    if (selected && ref.current?.scrollIntoView) {
      ref.current.scrollIntoView({ block: 'nearest' });
    }
  }, [selected]);
  const onKeyDown = (e: React.KeyboardEvent<HTMLLIElement>) => {
    if (e.target !== e.currentTarget) {
      return;
    }
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      props.onReveal(card.cellId);
    } else if (MOVE_KEYS[e.key]) {
      e.preventDefault();
      props.onMove(e.currentTarget, MOVE_KEYS[e.key]);
    }
  };
  const event = card.event;
  const count = card.executionCount === null ? ' ' : card.executionCount;
  return (
    <li
      ref={ref}
      className={
        'jp-masking-card' +
        (selected ? ' jp-mod-selected' : '') +
        ` jp-masking-outcome-${card.outcome}`
      }
      data-cell-id={card.cellId}
      tabIndex={0}
      role="button"
      aria-current={selected ? 'true' : undefined}
      aria-label={`Cell [${count}]: ${card.excerpt}`}
      onClick={() => props.onReveal(card.cellId)}
      onKeyDown={onKeyDown}
    >
      <div className="jp-masking-card-head">
        <span className="jp-masking-count">[{count}]</span>
        <code className="jp-masking-excerpt" title={event?.sql ?? card.excerpt}>
          {card.excerpt}
        </code>
        {card.outcome !== 'allowed' && (
          <span
            className={`jp-masking-outcome jp-masking-outcome-${card.outcome}`}
          >
            {OUTCOME_LABEL[card.outcome] ?? card.outcome}
          </span>
        )}
      </div>
      {event && (
        <div className="jp-masking-meta">
          <span title={event.time}>{formatTime(event.time)}</span>
          <span className="jp-masking-who">{actorLabel(event.identity)}</span>
          {event.rows !== null && event.outcome === 'allowed' && (
            <span>
              {event.rows} {event.rows === 1 ? 'row' : 'rows'}
            </span>
          )}
          <span className="jp-masking-origin" title={ORIGIN_TITLE[card.origin]}>
            {ORIGIN_LABEL[card.origin]}
          </span>
        </div>
      )}
      {card.reason && <p className="jp-masking-reason">{card.reason}</p>}
      {event && event.tables.length > 0 && (
        <div className="jp-masking-sources">
          <div title={event.tables.join('\n')}>
            <span className="jp-masking-label">Tables</span>{' '}
            {event.tables.map(tableName).join(', ')}
          </div>
          {event.columns_read.length > 0 && (
            <div title={event.columns_read.join('\n')}>
              <span className="jp-masking-label">Read</span>{' '}
              {event.columns_read.map(shortName).join(', ')}
            </div>
          )}
        </div>
      )}
      {event && event.outputs.length > 0 && (
        <FlowList event={event} showRaw={props.showRaw} />
      )}
      {event?.policy_version && (
        <div className="jp-masking-policy">policy {event.policy_version}</div>
      )}
    </li>
  );
}

/** Cards re-render only when what they show changes. */
export const CellCard = React.memo(
  CellCardView,
  (a, b) =>
    a.card === b.card && a.selected === b.selected && a.showRaw === b.showRaw
);
