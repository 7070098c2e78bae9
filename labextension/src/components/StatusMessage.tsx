/**
 * The empty, loading and error states: what is going on and what to do next.
 */
import * as React from 'react';

export interface IStatusMessageProps {
  kind: 'empty' | 'loading' | 'error' | 'notice';
  title: string;
  children?: React.ReactNode;
  action?: { label: string; onClick: () => void };
}

export function StatusMessage(props: IStatusMessageProps): JSX.Element {
  return (
    <div
      className={`jp-masking-status jp-masking-status-${props.kind}`}
      role={props.kind === 'error' ? 'alert' : 'status'}
      aria-busy={props.kind === 'loading' ? true : undefined}
    >
      <p className="jp-masking-status-title">{props.title}</p>
      {props.children && (
        <div className="jp-masking-status-body">{props.children}</div>
      )}
      {props.action && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject jp-masking-status-action"
          onClick={props.action.onClick}
        >
          {props.action.label}
        </button>
      )}
    </div>
  );
}
