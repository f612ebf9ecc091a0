/**
 * A real OTLP/HTTP traces receiver for tests, on 127.0.0.1 port 0: it accepts POST /v1/traces with the JSON
 * encoding the OTLP/HTTP exporter sends (ExportTraceServiceRequest), answers 200 `{}`, and keeps every span
 * received, flattened with its resource and attributes as plain values. `hold: true` makes a receiver that
 * reads requests and never answers (a collector that hangs).
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
interface KeyValue { key: string; value: AnyValue }

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** 2 SERVER, 3 CLIENT (OTLP's numbering). */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly status: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** POSTs received (answered or not). */
  posts: number;
  close(): Promise<void>;
}

function plain(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? '';
}

function record(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

interface Request {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: Array<{
      traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; startTimeUnixNano: string | number;
      endTimeUnixNano: string | number; status?: { code?: number }; attributes?: KeyValue[];
    }> }>;
  }>;
}

export async function startOtlpReceiver(options: { hold?: boolean } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const receiver = { url: '', spans, posts: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      receiver.posts++;
      if (options.hold) return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request;
      for (const rs of body.resourceSpans ?? []) {
        const resource = record(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind,
              startNs: BigInt(s.startTimeUnixNano), endNs: BigInt(s.endTimeUnixNano), status: s.status?.code ?? 0,
              attributes: record(s.attributes), resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return receiver;
}
