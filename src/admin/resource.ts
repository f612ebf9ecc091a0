/**
 * One admin resource: a method and a path, who may call it, what it takes and returns (zod schemas: the
 * same ones GET /openapi.json describes), and its handler. Each resource lives in one file under resources/.
 */
import type http from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { AdminReply } from './admin-http.ts';
import type { AdminState } from './admin-state.ts';
import type { Access, Sessions } from './auth.ts';

export type { Access };

export interface AdminRequest {
  readonly raw: http.IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly requestId: string;
}

export interface AdminContext {
  readonly state: AdminState;
  readonly log: Logger;
  readonly sessions: Sessions;
  /** Every resource served, for GET /openapi.json. */
  readonly resources: readonly Resource[];
}

export interface ResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Default application/json. */
  readonly contentType?: string;
}

export interface Resource {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** An exact path, or a prefix ending in "/*" (static files). */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly description?: string;
  /** Query parameters: an object of strings (optional ones marked), for OpenAPI. */
  readonly query?: z.ZodObject;
  readonly requestBody?: { readonly contentType: string; readonly description: string; readonly schema: z.ZodType };
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Left out of GET /openapi.json (the docs page's own files). */
  readonly hidden?: boolean;
  handle(req: AdminRequest, ctx: AdminContext): AdminReply | Promise<AdminReply>;
}
