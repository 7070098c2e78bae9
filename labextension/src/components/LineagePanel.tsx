/**
 * The sidebar's content: a header, the "This notebook" tab and, for reviewers, the "Review" tab.
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { LineageModel } from '../model';
import { NotebookView } from './NotebookView';
import { ReviewerView } from './ReviewerView';

export interface ILineagePanelProps {
  model: LineageModel;
  onReveal: (cellId: string) => void;
  onRefresh: () => void;
}

type Tab = 'notebook' | 'review';

/** Reviewers see everyone's events; in single-user mode the local store is everyone's. */
export function canReview(model: LineageModel): boolean {
  const whoami = model.whoami;
  return whoami !== null && (whoami.reviewer || whoami.mode === 'embedded');
}

export function LineagePanel(props: ILineagePanelProps): JSX.Element {
  const { model } = props;
  const [tab, setTab] = React.useState<Tab>('notebook');
  const review = canReview(model);
  const current: Tab = review ? tab : 'notebook';
  const name = model.path?.split('/').pop() ?? '';
  return (
    <div className="jp-masking-panel">
      <header className="jp-masking-header">
        <h2 className="jp-masking-title">Data lineage</h2>
        <button
          type="button"
          className="jp-masking-icon-button"
          title="Refresh lineage from the server"
          aria-label="Refresh lineage"
          onClick={props.onRefresh}
        >
          <refreshIcon.react tag="span" />
        </button>
      </header>
      {review && (
        <div className="jp-masking-tabs" role="tablist">
          {(
            [
              ['notebook', 'This notebook'],
              ['review', 'Review']
            ] as Array<[Tab, string]>
          ).map(([id, label]) => (
            <button
              key={id}
              type="button"
              role="tab"
              id={`jp-masking-tab-${id}`}
              aria-selected={current === id}
              className={
                'jp-masking-tab' + (current === id ? ' jp-mod-current' : '')
              }
              onClick={() => setTab(id)}
            >
              {label}
            </button>
          ))}
        </div>
      )}
      <div
        className="jp-masking-body"
        role={review ? 'tabpanel' : undefined}
        aria-labelledby={review ? `jp-masking-tab-${current}` : undefined}
      >
        {current === 'notebook' ? (
          <>
            {name && (
              <p className="jp-masking-notebook" title={model.path ?? ''}>
                {name}
              </p>
            )}
            <NotebookView
              model={model}
              onReveal={props.onReveal}
              onRefresh={props.onRefresh}
            />
          </>
        ) : (
          <ReviewerView
            serverSettings={model.serverSettings}
            whoami={model.whoami!}
          />
        )}
      </div>
    </div>
  );
}
