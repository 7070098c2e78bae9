/**
 * The sidebar widget: a `ReactWidget` that re-renders whenever the model changes.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { LineagePanel } from './components/LineagePanel';
import { lineageIcon } from './icons';
import { LineageModel } from './model';
import { markChange } from './timing';
import { SIDEBAR_ID } from './tokens';

export interface ILineageSidebarOptions {
  model: LineageModel;
  /** Select and scroll to a cell of the current notebook. */
  onReveal: (cellId: string) => void;
  /** Re-read the notebook and ask the server again. */
  onRefresh: () => void;
}

export class LineageSidebar extends ReactWidget {
  constructor(private readonly _options: ILineageSidebarOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-masking-sidebar');
    this.title.icon = lineageIcon;
    this.title.caption = 'Data lineage';
    _options.model.changed.connect(markChange, this);
  }

  protected render(): JSX.Element {
    const { model, onReveal, onRefresh } = this._options;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <LineagePanel
            model={model}
            onReveal={onReveal}
            onRefresh={onRefresh}
          />
        )}
      </UseSignal>
    );
  }
}
