/**
 * The contract with the server side: audit event JSON, REST replies and constants.
 *
 * These interfaces mirror the JSON written by `jupyter_masking.audit` and served by
 * `jupyter_masking.server`; keep the key names exactly as the server spells them.
 */

/** The MIME type of the lineage bundle in a `%%masked_sql` cell's output. */
export const LINEAGE_MIME = 'application/vnd.jupyter-masking.lineage+json';

/** The jupyter_events schema the server emits when a masked query completes. */
export const QUERY_EVENT_SCHEMA =
  'https://jupyter-masking.github.io/events/query/v1';

/** The REST namespace under the server's base URL. */
export const API_NAMESPACE = 'jupyter-masking';

/** The labextension plugin id (also the settings schema id). */
export const PLUGIN_ID = 'jupyter-masking:plugin';

/** The id of the sidebar widget in the shell and the layout restorer. */
export const SIDEBAR_ID = 'jupyter-masking-lineage';

/** The command ids this extension registers. */
export namespace CommandIDs {
  export const open = 'jupyter-masking:open-lineage';
  export const refresh = 'jupyter-masking:refresh-lineage';
}

export type Outcome = 'allowed' | 'refused' | 'failed';
export type Effect = 'raw' | 'mask' | 'deny';
export type Transform = 'identity' | 'transformation' | 'aggregation' | 'none';
export type DetectedBy = 'policy' | 'name' | 'content' | 'scan' | 'none';

/** Who ran the query; `actor` is `human` or `ai:<tool>`. */
export interface IIdentity {
  user: string;
  groups: string[];
  actor: string;
}

/** The lineage of one output column. */
export interface IOutputColumn {
  name: string;
  sources: string[];
  data_class: string | null;
  effect: Effect;
  operator: string | null;
  rule: string | null;
  transform: Transform;
  detected_by: DetectedBy;
}

/** One audit event: the lineage of one query. */
export interface IAuditEvent {
  id: string;
  seq: number;
  time: string;
  identity: IIdentity;
  notebook: string | null;
  cell_id: string | null;
  execution_count: number | null;
  connection: string | null;
  dialect: string | null;
  sql: string;
  sql_fingerprint: string;
  tables: string[];
  columns_read: string[];
  outputs: IOutputColumn[];
  rows: number | null;
  duration_ms: number | null;
  policy_version: string | null;
  outcome: Outcome;
  reason: string | null;
  prev_hash: string;
  hash: string;
}

/** `GET whoami`. */
export interface IWhoAmI {
  user: string;
  groups: string[];
  actor: string;
  reviewer: boolean;
  mode: 'embedded' | 'hub';
  policy_version: string | null;
}

/** `GET events?...`. */
export interface IEventsReply {
  events: IAuditEvent[];
}

/** The reviewer view's filters; empty strings mean "any". */
export interface IEventFilters {
  user: string;
  table: string;
  data_class: string;
  outcome: '' | Outcome;
  actor: string;
  since: string;
  until: string;
  limit: number;
}

/** The emission of `QUERY_EVENT_SCHEMA` on the server's event bus. */
export interface IQueryEmission {
  schema_id: string;
  event_id: string;
  notebook: string | null;
  cell_id: string | null;
  outcome: Outcome;
}

/** User settings of the sidebar (see `schema/plugin.json`). */
export interface ISidebarSettings {
  /** Seconds between REST refreshes of the open notebook; 0 disables polling. */
  pollSeconds: number;
  /** Also list output columns that were passed through raw. */
  showRawColumns: boolean;
}

export const DEFAULT_SETTINGS: ISidebarSettings = {
  pollSeconds: 0,
  showRawColumns: true
};
