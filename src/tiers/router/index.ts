/**
 * The router (SPEC §2, reference/persona.md §1.2): the public front door. It holds nothing secret but
 * its tier keys, and forwards by the original's rules (route.ts) through its relay (relay.ts).
 */
import type { BlockList } from 'node:net';
import type { Logger } from 'pino';
import { createTierApp, type TierApp } from '../../http/app.ts';
import type { Upstream } from '../../http/upstream.ts';
import { isTrusted } from './client-address.ts';
import { createRelay } from './relay.ts';

export { route, type Route } from './route.ts';

export interface RouterDeps {
  readonly webhead: Upstream;
  readonly dbwriter: Upstream;
  readonly verifier: Upstream;
  /** Test-only route (SPEC §4.9), forwarded only when enabled. */
  readonly fakeVerification?: boolean;
  readonly https?: boolean;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  /** The edge (nginx) addresses whose X-Forwarded-For is believed (client-address.ts); none: the peer's. */
  readonly trustedEdges?: BlockList;
}

export function buildRouter(deps: RouterDeps): TierApp {
  return createTierApp({
    tier: 'router',
    logger: deps.logger,
    https: deps.https,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    // The tier behind decides framing (the communication iframe must be frameable).
    denyFraming: false,
    // Bodies are relayed as received; the tier behind parses them.
    parseBodies: false,
    // A client's own request id is believed only from the edge, as its X-Forwarded-For is.
    keepsRequestIdOf: (request) => {
      const edges = deps.trustedEdges;
      return edges !== undefined && isTrusted(edges, request.socket.remoteAddress ?? '');
    },
    healthChecks: {
      // The webhead's and dbwriter's own deep heartbeats check the database and the keysigner.
      webhead: () => deps.webhead.checkHealth({ deep: true }),
      dbwriter: () => deps.dbwriter.checkHealth({ deep: true }),
      verifier: () => deps.verifier.checkHealth(),
    },
    front: createRelay({
      upstreams: { webhead: deps.webhead, dbwriter: deps.dbwriter, verifier: deps.verifier },
      fakeVerification: deps.fakeVerification ?? false,
      https: deps.https ?? false,
      trustedEdges: deps.trustedEdges,
    }),
  });
}
