/**
 * Source columns flowing into output columns, with what was done to each.
 */
import * as React from 'react';

import { flows } from '../lineage';
import { IAuditEvent, IOutputColumn } from '../tokens';

/** What a column's effect and transform look like in one word. */
const EFFECT_LABEL: { [effect: string]: string } = {
  mask: 'masked',
  deny: 'denied',
  raw: 'raw'
};

const TRANSFORM_LABEL: { [transform: string]: string } = {
  identity: '',
  transformation: 'derived',
  aggregation: 'aggregated',
  none: ''
};

export interface IFlowListProps {
  event: IAuditEvent;
  showRaw: boolean;
}

/** One row per output column: `sources → output` and the class, operator and rule. */
export function FlowList(props: IFlowListProps): JSX.Element {
  const rows = flows(props.event, props.showRaw);
  if (rows.length === 0) {
    return (
      <p className="jp-masking-muted">
        {props.showRaw ? 'No output columns.' : 'No masked columns.'}
      </p>
    );
  }
  return (
    <ul className="jp-masking-flows" aria-label="Column lineage">
      {rows.map(row => (
        <li
          key={row.output}
          className={`jp-masking-flow jp-masking-effect-${row.column.effect}`}
        >
          <span className="jp-masking-flow-sources">
            {row.sources.length > 0 ? row.sources.join(', ') : '(computed)'}
          </span>
          <span className="jp-masking-flow-arrow" aria-label="flows to">
            →
          </span>
          <span className="jp-masking-flow-output">{row.output}</span>
          <ColumnBadges column={row.column} />
        </li>
      ))}
    </ul>
  );
}

function ColumnBadges(props: { column: IOutputColumn }): JSX.Element {
  const { column } = props;
  const transform = TRANSFORM_LABEL[column.transform] ?? column.transform;
  return (
    <span className="jp-masking-flow-badges">
      <span className="jp-masking-badge jp-masking-badge-effect">
        {EFFECT_LABEL[column.effect] ?? column.effect}
      </span>
      {column.data_class && (
        <span className="jp-masking-badge jp-masking-badge-class">
          {column.data_class}
        </span>
      )}
      {column.operator && column.effect === 'mask' && (
        <span className="jp-masking-badge jp-masking-badge-operator">
          {column.operator}
        </span>
      )}
      {transform && <span className="jp-masking-badge">{transform}</span>}
      {column.rule && (
        <span className="jp-masking-flow-rule" title="Policy rule that decided">
          {column.rule}
        </span>
      )}
    </span>
  );
}
