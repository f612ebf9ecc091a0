/**
 * A local reply: the answer a policy gives instead of forwarding. Its status comes from the reason
 * catalogue, so a reason always means the same status everywhere (body, log, metric label).
 */
import { reasons, type Reason } from '../observability/reasons.ts';

export interface LocalReply {
  readonly status: number;
  readonly reason: Reason;
  /** Extra response headers (e.g. WWW-Authenticate, Allow, CORS headers). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** true: no body (e.g. a CORS preflight's 204); otherwise the standard JSON error body. */
  readonly empty?: boolean | undefined;
}

export function reply(reason: Reason, headers?: Record<string, string>): LocalReply {
  return { status: reasons[reason].status, reason, headers };
}
