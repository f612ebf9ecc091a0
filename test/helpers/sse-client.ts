/**
 * Reads a Server-Sent Events stream with a plain http client, as any consumer without EventSource would:
 * frames are split on blank lines, `event:` and `data:` fields parsed, `data` as JSON.
 */
import http from 'node:http';

export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export interface SseStream {
  readonly events: SseEvent[];
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  close(): void;
}

export async function openSse(url: string): Promise<SseStream> {
  const events: SseEvent[] = [];
  const req = http.get(url);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of frame.split('\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      const data = fields.get('data');
      if (data !== undefined) events.push({ event: fields.get('event') ?? 'message', data: JSON.parse(data) });
    }
  });
  res.on('error', () => {});
  return { events, status: res.statusCode ?? 0, headers: res.headers, close: () => req.destroy() };
}
