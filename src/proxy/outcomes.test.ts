import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'undici';
import { OUTCOME_REASONS, outcomeOfError, reasonForUpstreamError, type AttemptPhase } from './outcomes.ts';

const coded = (code: string) => Object.assign(new Error(code), { code });

describe('the outcome table', () => {
  const cases: Array<[what: string, error: unknown, phase: AttemptPhase, outcome: string]> = [
    ['a refused connection is a connect failure', coded('ECONNREFUSED'), 'connect', 'connect_failure'],
    ['an unreachable host is a connect failure', coded('EHOSTUNREACH'), 'connect', 'connect_failure'],
    ['a certificate that cannot be verified is a connect failure', coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'connect', 'connect_failure'],
    ['any other TLS error is a connect failure', coded('ERR_TLS_HANDSHAKE_TIMEOUT'), 'connect', 'connect_failure'],
    ['undici\'s connect timeout is a connect timeout', new errors.ConnectTimeoutError(), 'connect', 'connect_timeout'],
    ['undici\'s headers timeout is a response timeout', new errors.HeadersTimeoutError(), 'request', 'response_timeout'],
    ['undici\'s body timeout is a body timeout', new errors.BodyTimeoutError(), 'response-body', 'body_timeout'],
    ['a parse error with a code, before the head, is a bad response', coded('HPE_INVALID_CONSTANT'), 'request', 'bad_response'],
    ['a parse error with a code, in the body, is a body error', coded('HPE_INVALID_CHUNK_SIZE'), 'response-body', 'body_error'],
    ['undici\'s HTTPParserError without a code, before the head, is a bad response', new errors.HTTPParserError('Response does not match the HTTP/1.1 protocol'), 'request', 'bad_response'],
    ['undici\'s HTTPParserError without a code, in the body, is a body error', new errors.HTTPParserError('bad chunk'), 'response-body', 'body_error'],
    ['a socket closed before the head is a reset', new errors.SocketError('other side closed'), 'request', 'reset'],
    ['a socket closed in the body is a body error', new errors.SocketError('other side closed'), 'response-body', 'body_error'],
    ['an unknown error while connecting is a connect failure', new Error('?'), 'connect', 'connect_failure'],
    ['nothing at all before the head is a reset', undefined, 'request', 'reset'],
  ];
  for (const [what, error, phase, outcome] of cases) {
    it(what, () => assert.equal(outcomeOfError(error, phase), outcome));
  }

  it('gives each failure the reason of its outcome', () => {
    assert.equal(reasonForUpstreamError(coded('ECONNREFUSED'), 'connect'), 'upstream_connect_failure');
    assert.equal(reasonForUpstreamError(new errors.HTTPParserError('x'), 'request'), 'upstream_bad_response');
    assert.deepEqual(Object.keys(OUTCOME_REASONS).sort(), ['bad_response', 'body_error', 'body_timeout', 'connect_failure', 'connect_timeout', 'reset', 'response_timeout']);
  });
});
