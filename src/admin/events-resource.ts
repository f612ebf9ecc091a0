/**
 * GET /events: the live statistics as Server-Sent Events, for the dashboard (EventSource reconnects by
 * itself; `retry` tells it how soon). Each second a `stats` event carries everything the dashboard shows
 * (alerts/live-monitor.ts StatsEvent); each alert transition is an `alert` event as it happens. A new client
 * gets the latest `stats` at once. A client that reads too slowly misses `stats` events (the next one
 * replaces them) instead of growing the process's memory; `alert` events are always queued. Read access:
 * the bearer token, or the session cookie (EventSource cannot send headers).
 */
import type http from 'node:http';
import type { LiveMonitor, MonitorEvent } from '../alerts/live-monitor.ts';
import type { Resource } from './resource.ts';

/** Bytes queued for a slow client beyond which `stats` events are skipped for it. */
const SLOW_CLIENT_BYTES = 1 << 20;

function frame(event: MonitorEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

function stream(res: http.ServerResponse, monitor: LiveMonitor): void {
  res.write('retry: 2000\n\n');
  const latest = monitor.latest;
  if (latest !== undefined) res.write(frame({ type: 'stats', data: latest }));
  const unsubscribe = monitor.subscribe((event) => {
    if (event.type === 'stats' && res.writableLength > SLOW_CLIENT_BYTES) return;
    res.write(frame(event));
  });
  res.on('close', unsubscribe);
}

export function eventsResource(monitor: LiveMonitor): Resource {
  return {
    method: 'GET', path: '/events', access: 'read', summary: 'Live statistics and alert transitions as Server-Sent Events.',
    description: 'A `stats` event every second (the last second and minute, overall, per route and per upstream; targets; latest errors; alerts) and an `alert` event per transition. docs/alerts.md shows both.',
    responses: { 200: { description: 'An event stream that does not end.', contentType: 'text/event-stream' } },
    handle: () => ({
      status: 200, body: '', headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' },
      stream: (res) => stream(res, monitor),
    }),
  };
}
