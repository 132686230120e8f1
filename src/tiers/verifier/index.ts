/**
 * The verifier (SPEC §3, reference/persona.md §4.5): `POST /verify` (and `POST /`) for relying parties.
 * Parameters come from a form or JSON body or the query string, each on its own. Missing or empty
 * parameters are 400 (415 for a body of another type); every verification outcome is HTTP 200.
 */
import type { KeyObject } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import {
  checkBackedAssertion,
  reasons,
  type IssuerDirectory,
  type PublicKey,
} from '../../browserid/index.ts';
import { createTierApp, type TierApp } from '../../http/app.ts';
import type { Tier } from '../../http/tier-auth.ts';

export interface VerifierDeps {
  /** Our own issuer name (host of the public URL), trusted for every domain. */
  readonly fallbackIssuer: string;
  /** Our own public key, when this verifier has it locally (public material). */
  readonly fallbackKey?: PublicKey;
  readonly forcibleIssuers: readonly string[];
  readonly directory: IssuerDirectory;
  /** Set when the verifier sits behind the router: only its signed calls are answered. */
  readonly callerKeys?: ReadonlyMap<Tier, KeyObject>;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/**
 * A parameter as the original read it (`req.query.x ? req.query.x : req.body.x`): a non-empty query value
 * wins over the body. Left as parsed (a JSON number stays a number): verification judges the type.
 */
function param(request: FastifyRequest, name: string): unknown {
  const fromQuery = (request.query as Record<string, unknown>)[name];
  if (fromQuery) return fromQuery;
  const body = request.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

export function buildVerifier(deps: VerifierDeps): TierApp {
  const tierApp = createTierApp({
    tier: 'verifier',
    logger: deps.logger,
    callerKeys: deps.callerKeys,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
  });
  const { registry } = tierApp.metrics;
  const timing = new Histogram({
    name: 'persona_assertion_verification_seconds',
    help: 'Time to verify one backed assertion, discovery included',
    registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 8],
  });
  const outcomes = new Counter({
    name: 'persona_verifications_total',
    help: 'Verification outcomes',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const verify = async (request: FastifyRequest, reply: FastifyReply) => {
    const assertion = param(request, 'assertion');
    const audience = param(request, 'audience');
    // The original's `!(assertion && audience)`: an empty value is a missing one.
    if (!assertion || !audience) {
      const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
      if (type !== FORM && type !== JSON_TYPE) {
        return reply.code(415).send({
          status: 'failure',
          reason: `Content-Type expected to be one of: ${FORM}, ${JSON_TYPE}`,
        });
      }
      return reply.code(400).send({ status: 'failure', reason: 'need assertion and audience' });
    }
    // Only an origin-like string can match; the reference is silent on other types (issue 19).
    if (typeof audience !== 'string')
      return reply.send({ status: 'failure', reason: reasons['malformed-audience'] });
    const forced = param(request, 'experimental_forceIssuer');
    const allowUnverified = param(request, 'experimental_allowUnverified');
    const stop = timing.startTimer();
    const result = await checkBackedAssertion(assertion, {
      audience,
      directory: deps.directory,
      fallbackIssuer: deps.fallbackIssuer,
      fallbackKey: deps.fallbackKey,
      forcedIssuer: typeof forced === 'string' && deps.forcibleIssuers.includes(forced) ? forced : undefined,
      // SPEC §4.6: "false" means false.
      allowUnverified: allowUnverified === true || allowUnverified === 'true',
    });
    stop();
    outcomes.inc({ outcome: result.ok ? 'okay' : result.code });
    if (!result.ok) {
      request.log.info(
        { event: 'verify', result: 'failure', reason: result.reason, rp: audience.slice(0, 200) },
        'assertion rejected',
      );
      return reply.send({ status: 'failure', reason: result.reason });
    }
    request.log.info({ event: 'verify', result: 'okay', rp: audience.slice(0, 200) }, 'assertion verified');
    return reply.send({
      status: 'okay',
      [result.verified ? 'email' : 'unverified-email']: result.email,
      audience: result.audience,
      expires: result.expires,
      issuer: result.issuer,
    });
  };

  tierApp.app.post('/verify', verify);
  tierApp.app.post('/', verify);
  return tierApp;
}
