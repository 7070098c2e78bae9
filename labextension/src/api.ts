/**
 * The typed REST calls the sidebar makes, one function per endpoint.
 */
import { ServerConnection } from '@jupyterlab/services';

import { eventsQuery } from './lineage';
import { requestAPI } from './request';
import { IAuditEvent, IEventFilters, IEventsReply, IWhoAmI } from './tokens';

/** `GET whoami`: who the server thinks we are, and whether we may review. */
export function fetchWhoAmI(
  settings: ServerConnection.ISettings
): Promise<IWhoAmI> {
  return requestAPI<IWhoAmI>('whoami', { method: 'GET' }, settings);
}

/** `GET events?path=`: the newest event of each cell of one notebook. */
export async function fetchNotebookEvents(
  path: string,
  settings: ServerConnection.ISettings
): Promise<IAuditEvent[]> {
  const query = new URLSearchParams({ path }).toString();
  const reply = await requestAPI<IEventsReply>(
    `events?${query}`,
    { method: 'GET' },
    settings
  );
  return reply.events ?? [];
}

/** `GET events?user=&table=…`: events across notebooks, for the reviewer view. */
export async function fetchEvents(
  filters: IEventFilters,
  settings: ServerConnection.ISettings
): Promise<IAuditEvent[]> {
  const query = eventsQuery(filters);
  const reply = await requestAPI<IEventsReply>(
    query ? `events?${query}` : 'events',
    { method: 'GET' },
    settings
  );
  return reply.events ?? [];
}
