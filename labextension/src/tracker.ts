/**
 * Follows the current notebook, its active cell, its outputs and the server's
 * query events, and keeps a `LineageModel` in step with them.
 */
import {
  INotebookModel,
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import type { ICodeCellModel } from '@jupyterlab/cells';
import { Event } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';

import { ICellSnapshot, IOutputSnapshot, sameNotebook } from './lineage';
import { LineageModel } from './model';
import { IQueryEmission, QUERY_EVENT_SCHEMA } from './tokens';

/** Milliseconds to wait after an edit before re-reading the notebook. */
const SNAPSHOT_DELAY = 150;
/** Milliseconds to wait after a cell ran before asking the server (the event is written first). */
const REFRESH_DELAY = 400;

/** Milliseconds to wait for a not-yet-rendered cell before giving up on scrolling to it. */
const ATTACH_TIMEOUT = 60_000;

/**
 * Resolve true once `node` is in the document, false on timeout or when `cancelled()`.
 */
export function whenAttached(
  node: HTMLElement,
  cancelled: () => boolean,
  timeout: number
): Promise<boolean> {
  const deadline = Date.now() + timeout;
  return new Promise(resolve => {
    const check = () => {
      if (node.isConnected) {
        resolve(true);
      } else if (cancelled() || Date.now() > deadline) {
        resolve(false);
      } else {
        window.setTimeout(check, 50);
      }
    };
    check();
  });
}

/** Copy the lineage-relevant parts of a notebook model into plain data. */
export function snapshotCells(model: INotebookModel): ICellSnapshot[] {
  const cells: ICellSnapshot[] = [];
  for (const cell of model.cells) {
    const outputs: IOutputSnapshot[] = [];
    let executionCount: number | null = null;
    if (cell.type === 'code') {
      const code = cell as ICodeCellModel;
      executionCount = code.executionCount;
      for (let i = 0; i < code.outputs.length; i++) {
        const output = code.outputs.get(i);
        if (output.type === 'error') {
          const json = output.toJSON() as { ename?: string; evalue?: string };
          outputs.push({
            output_type: 'error',
            ename: json.ename,
            evalue: json.evalue
          });
        } else {
          outputs.push({
            output_type: output.type,
            data: output.data as { [mime: string]: unknown }
          });
        }
      }
    }
    cells.push({
      id: cell.id,
      source: cell.sharedModel.getSource(),
      executionCount,
      outputs
    });
  }
  return cells;
}

/** Keeps one `LineageModel` on the current notebook. */
export class NotebookFollower implements IDisposable {
  constructor(
    private readonly _notebooks: INotebookTracker,
    private readonly _model: LineageModel,
    private readonly _events: Event.IManager | null = null
  ) {
    _notebooks.currentChanged.connect(this._onCurrentChanged, this);
    _notebooks.activeCellChanged.connect(this._onActiveCellChanged, this);
    NotebookActions.executed.connect(this._onExecuted, this);
    _events?.stream.connect(this._onEmission, this);
    void this._follow(_notebooks.currentWidget);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._unbind();
    this._notebooks.currentChanged.disconnect(this._onCurrentChanged, this);
    this._notebooks.activeCellChanged.disconnect(
      this._onActiveCellChanged,
      this
    );
    NotebookActions.executed.disconnect(this._onExecuted, this);
    this._events?.stream.disconnect(this._onEmission, this);
    window.clearInterval(this._poll);
  }

  /** Make a cell active and scroll it into view, as a click on its card asks. */
  async revealCell(cellId: string): Promise<void> {
    const panel = this._panel;
    if (!panel) {
      return;
    }
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index < 0) {
      return;
    }
    const cell = notebook.widgets[index];
    notebook.activeCellIndex = index;
    notebook.mode = 'command';
    // JupyterLab attaches the cells of a long notebook progressively after it opens;
    // scrolling before the target is attached would land short of it.
    const reveal = ++this._reveal;
    const attached = await whenAttached(
      cell.node,
      () => reveal !== this._reveal || this._disposed,
      ATTACH_TIMEOUT
    );
    if (!attached || reveal !== this._reveal) {
      return;
    }
    await notebook.scrollToCell(cell, 'center');
    cell.node.focus({ preventScroll: true });
  }

  /** Poll the server every `seconds` (0 stops polling), for servers without live events. */
  setPolling(seconds: number): void {
    window.clearInterval(this._poll);
    this._poll = 0;
    if (seconds > 0) {
      this._poll = window.setInterval(
        () => void this._model.refresh(),
        seconds * 1000
      );
    }
  }

  private _onCurrentChanged(): void {
    void this._follow(this._notebooks.currentWidget);
  }

  private async _follow(panel: NotebookPanel | null): Promise<void> {
    if (panel === this._panel) {
      return;
    }
    this._unbind();
    this._panel = panel;
    if (!panel) {
      this._model.setNotebook(null);
      return;
    }
    this._model.setNotebook(panel.context.localPath);
    panel.context.pathChanged.connect(this._onPathChanged, this);
    panel.disposed.connect(this._onPanelDisposed, this);
    await panel.context.ready;
    if (panel !== this._panel || !panel.model) {
      return;
    }
    panel.model.contentChanged.connect(this._scheduleSnapshot, this);
    this._snapshot();
    this._model.select(panel.content.activeCell?.model.id ?? null);
    await this._model.refresh();
  }

  private _unbind(): void {
    const panel = this._panel;
    if (!panel) {
      return;
    }
    panel.context.pathChanged.disconnect(this._onPathChanged, this);
    panel.disposed.disconnect(this._onPanelDisposed, this);
    panel.model?.contentChanged.disconnect(this._scheduleSnapshot, this);
    window.clearTimeout(this._snapshotTimer);
    this._panel = null;
  }

  private _onPathChanged(): void {
    const panel = this._panel;
    this._panel = null;
    void this._follow(panel);
  }

  private _onPanelDisposed(): void {
    this._unbind();
    void this._follow(this._notebooks.currentWidget);
  }

  private _scheduleSnapshot(): void {
    window.clearTimeout(this._snapshotTimer);
    this._snapshotTimer = window.setTimeout(
      () => this._snapshot(),
      SNAPSHOT_DELAY
    );
  }

  private _snapshot(): void {
    const model = this._panel?.model;
    if (model) {
      this._model.setCells(snapshotCells(model));
    }
  }

  private _onActiveCellChanged(): void {
    const panel = this._notebooks.currentWidget;
    if (panel && panel === this._panel) {
      this._model.select(panel.content.activeCell?.model.id ?? null);
    }
  }

  private _onExecuted(_: unknown, args: { notebook: Notebook }): void {
    if (this._panel && args.notebook === this._panel.content) {
      window.clearTimeout(this._refreshTimer);
      this._refreshTimer = window.setTimeout(
        () => void this._model.refresh(),
        REFRESH_DELAY
      );
    }
  }

  private _onEmission(_: unknown, emission: Event.Emission): void {
    if (emission.schema_id !== QUERY_EVENT_SCHEMA) {
      return;
    }
    const query = emission as unknown as IQueryEmission;
    const path = this._model.path;
    if (path !== null && sameNotebook(query.notebook, path)) {
      void this._model.refresh();
    }
  }

  private _panel: NotebookPanel | null = null;
  private _reveal = 0;
  private _disposed = false;
  private _snapshotTimer = 0;
  private _refreshTimer = 0;
  private _poll = 0;
}
