/**
 * The "This notebook" tab: one card per cell that ran a masked query, in cell order.
 */
import * as React from 'react';

import { LineageModel } from '../model';
import { measureRender } from '../timing';
import { CellCard } from './CellCard';
import { StatusMessage } from './StatusMessage';

export interface INotebookViewProps {
  model: LineageModel;
  onReveal: (cellId: string) => void;
  onRefresh: () => void;
}

/** Cards in the first paint: enough to fill a tall sidebar (a card is 120-300 px). */
export const FIRST_CARDS = 12;
/** Cards added per animation frame after that, so a 500-cell notebook never blocks the UI. */
export const MORE_CARDS = 60;

/**
 * How many cards to render: `FIRST_CARDS` for a newly opened notebook, then more each
 * frame until all are there. Updates to the same notebook keep what is already shown.
 */
export function useProgressiveCount(total: number, resetKey: unknown): number {
  const [state, setState] = React.useState({
    key: resetKey,
    limit: FIRST_CARDS
  });
  const limit = state.key === resetKey ? state.limit : FIRST_CARDS;
  React.useEffect(() => {
    if (state.key !== resetKey) {
      setState({ key: resetKey, limit: FIRST_CARDS });
      return;
    }
    if (limit >= total) {
      return;
    }
    const frame = requestAnimationFrame(() =>
      setState({ key: resetKey, limit: limit + MORE_CARDS })
    );
    return () => cancelAnimationFrame(frame);
  }, [state.key, limit, total, resetKey]);
  return Math.min(limit, total);
}

/** Focus the card `step` places away from `from` (arrow-key navigation). */
function moveFocus(from: HTMLElement, step: number): void {
  const sibling =
    step > 0 ? from.nextElementSibling : from.previousElementSibling;
  if (sibling instanceof HTMLElement) {
    sibling.focus();
  }
}

export function NotebookView(props: INotebookViewProps): JSX.Element {
  const { model } = props;
  const shown = useProgressiveCount(model.cards.length, model.path);
  React.useEffect(() => measureRender(shown, model.cards.length));
  if (model.state === 'no-notebook') {
    return (
      <StatusMessage kind="empty" title="No notebook open">
        Open a notebook to see, cell by cell, where its data came from and what
        was masked.
      </StatusMessage>
    );
  }
  if (model.state === 'loading') {
    return (
      <StatusMessage kind="loading" title="Reading the notebook…">
        Lineage is read from the notebook's saved outputs and from the server.
      </StatusMessage>
    );
  }
  const error = model.serverError;
  const showRaw = model.settings.showRawColumns;
  return (
    <>
      {error && (
        <StatusMessage
          kind={error.notInstalled ? 'notice' : 'error'}
          title={error.message}
          action={{ label: 'Retry', onClick: props.onRefresh }}
        >
          {error.hint ??
            'Lineage from the saved outputs is still shown; refused queries need the server.'}
        </StatusMessage>
      )}
      {model.cards.length === 0 ? (
        <StatusMessage
          kind="empty"
          title="No masked queries in this notebook yet"
        >
          Run a cell that starts with <code>%%masked_sql</code> (load it with{' '}
          <code>%load_ext jupyter_masking</code>); its sources and masked
          columns appear here as soon as it finishes.
        </StatusMessage>
      ) : (
        <ol className="jp-masking-cards" aria-label="Masked queries by cell">
          {model.cards.slice(0, shown).map(card => (
            <CellCard
              key={card.cellId}
              card={card}
              selected={card.cellId === model.selectedCellId}
              showRaw={showRaw}
              onReveal={props.onReveal}
              onMove={moveFocus}
            />
          ))}
        </ol>
      )}
    </>
  );
}
