/**
 * Thrown errors (config, startup, CLI) carry a code from one catalogue; request outcomes use reasons
 * (observability/reasons.ts) instead. Codes are public: scripts match on them.
 */
export const errorCodes = {
  GW_ERR_USAGE: 'The command line is wrong (unknown command or flag, missing value).',
  GW_ERR_CONFIG_INVALID: 'The config file has problems; each is printed as FILE:LINE:COL path: message.',
  GW_ERR_LISTEN: 'A listener could not bind its address (port in use, permission denied).',
  GW_ERR_STARTUP: 'The gateway could not start for another reason.',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'GatewayError';
  }
}
