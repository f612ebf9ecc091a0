/**
 * How one attempt to a target ended: what target-state.ts counts and circuit-breaker.ts judges. Its own file
 * so the breaker can read it without importing the state that holds the breaker.
 */

/** How one attempt to this target ended. The proxy's outcome table maps each failure to its reason. */
export type AttemptOutcome =
  | 'response'          // the target answered with a response head (any status) and the body completed
  | 'connect_failure'   // refused, unreachable, TLS failed
  | 'connect_timeout'
  | 'response_timeout'  // no response head in time (upstream timeouts.response or the route's timeout)
  | 'reset'             // the connection closed before a complete response head
  | 'bad_response'      // the target sent something that is not valid HTTP
  | 'body_error'        // the response body broke off
  | 'body_timeout'      // the response body went silent
  | 'cancelled';        // the gateway or the client ended the attempt (not the target's fault)
