/**
 * The sidebar's state for the current notebook: cards, selection, server status.
 */
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { fetchNotebookEvents, fetchWhoAmI } from './api';
import { buildCards, ICard, ICellSnapshot, sameCards } from './lineage';
import { MaskingAPIError } from './request';
import {
  DEFAULT_SETTINGS,
  IAuditEvent,
  ISidebarSettings,
  IWhoAmI
} from './tokens';

/** `no-notebook`: nothing to show; `loading`: the notebook is opening; `ready`: cards are valid. */
export type PanelState = 'no-notebook' | 'loading' | 'ready';

/** Holds what the sidebar shows and emits `changed` whenever that changes. */
export class LineageModel {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** Emitted after any change the view must render. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): PanelState {
    return this._state;
  }

  /** The current notebook's path relative to the server root, or null. */
  get path(): string | null {
    return this._path;
  }

  get cards(): readonly ICard[] {
    return this._cards;
  }

  get selectedCellId(): string | null {
    return this._selected;
  }

  /** The last REST failure, or null; saved outputs still show when the server fails. */
  get serverError(): MaskingAPIError | null {
    return this._serverError;
  }

  get whoami(): IWhoAmI | null {
    return this._whoami;
  }

  get settings(): ISidebarSettings {
    return this._settings;
  }

  /** Follow another notebook (or none); cards stay empty until `setCells`. */
  setNotebook(path: string | null): void {
    this._path = path;
    this._cells = [];
    this._serverEvents = [];
    this._cards = [];
    this._selected = null;
    this._state = path === null ? 'no-notebook' : 'loading';
    this._generation++;
    this._changed.emit();
  }

  /** Replace the cell snapshots read from the notebook model. */
  setCells(cells: ICellSnapshot[]): void {
    const wasReady = this._state === 'ready';
    this._cells = cells;
    this._state = this._path === null ? 'no-notebook' : 'ready';
    this._rebuild(!wasReady);
  }

  /** Replace the events the server holds for this notebook. */
  setServerEvents(events: IAuditEvent[]): void {
    this._serverEvents = events;
    this._rebuild(false);
  }

  /** Highlight the card of a cell (the notebook's active cell). */
  select(cellId: string | null): void {
    if (cellId === this._selected) {
      return;
    }
    this._selected = cellId;
    this._changed.emit();
  }

  updateSettings(settings: Partial<ISidebarSettings>): void {
    this._settings = { ...this._settings, ...settings };
    this._changed.emit();
  }

  /** Ask the server who we are; failures are kept in `serverError`, never thrown. */
  async loadWhoAmI(): Promise<void> {
    try {
      this._whoami = await fetchWhoAmI(this.serverSettings);
      this._serverError = null;
    } catch (error) {
      this._whoami = null;
      this._serverError = asAPIError(error);
    }
    this._changed.emit();
  }

  /**
   * Fetch this notebook's events from the server.
   *
   * @param force - also retry when the server extension was found missing
   */
  async refresh(force = false): Promise<void> {
    const path = this._path;
    if (path === null || (!force && this._serverError?.notInstalled)) {
      return;
    }
    if (force && this._whoami === null) {
      await this.loadWhoAmI();
    }
    const generation = this._generation;
    try {
      const events = await fetchNotebookEvents(path, this.serverSettings);
      if (generation !== this._generation) {
        return;
      }
      const hadError = this._serverError !== null;
      this._serverError = null;
      this._serverEvents = events;
      this._rebuild(hadError);
    } catch (error) {
      if (generation !== this._generation) {
        return;
      }
      this._serverError = asAPIError(error);
      this._changed.emit();
    }
  }

  private _rebuild(forceEmit: boolean): void {
    const cards = buildCards(this._cells, this._serverEvents);
    if (!forceEmit && sameCards(cards, this._cards)) {
      return;
    }
    // Keep unchanged cards identical so their memoised views skip re-rendering.
    const previous = new Map(this._cards.map(card => [card.cellId, card]));
    this._cards = cards.map(card => {
      const old = previous.get(card.cellId);
      return old && sameCards([old], [card]) ? old : card;
    });
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _state: PanelState = 'no-notebook';
  private _path: string | null = null;
  private _cells: ICellSnapshot[] = [];
  private _serverEvents: IAuditEvent[] = [];
  private _cards: ICard[] = [];
  private _selected: string | null = null;
  private _serverError: MaskingAPIError | null = null;
  private _whoami: IWhoAmI | null = null;
  private _settings: ISidebarSettings = DEFAULT_SETTINGS;
  private _generation = 0;
}

/** Any thrown value as a `MaskingAPIError`. */
export function asAPIError(error: unknown): MaskingAPIError {
  if (error instanceof MaskingAPIError) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new MaskingAPIError(0, 'unexpected', message, null);
}
