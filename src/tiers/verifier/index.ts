/**
 * The verifier (SPEC §3, reference/persona.md §4.5): `POST /verify` (and `POST /`) for relying parties.
 * Parameters come from a form or JSON body or the query string, each on its own. Missing or empty
 * parameters are 400 (415 for a body of another type); every verification outcome is HTTP 200.
 */
import type { KeyObject } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import {
  checkBackedAssertion,
  reasons,
  type IssuerDirectory,
  type PublicKey,
} from '../../browserid/index.ts';
import { createTierApp, type TierApp } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { FrontExchange } from '../../http/front.ts';
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
type Params = Record<string, unknown>;

/** The body as its type says (a form, JSON), else nothing; undefined for JSON that does not parse. */
function parseBody(type: string, body: Buffer): Params | null | undefined {
  if (type === FORM) return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  if (type !== JSON_TYPE) return null;
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Params) : {};
  } catch {
    return undefined;
  }
}

export function buildVerifier(deps: VerifierDeps): TierApp {
  // `POST /verify` and `POST /` on Node's own server (http/front.ts): a relying party's call costs no
  // Fastify routing, hooks or serialisation (issue 9); heartbeats and metrics stay Fastify's.
  const tierApp = createTierApp({
    tier: 'verifier',
    logger: deps.logger,
    callerKeys: deps.callerKeys,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    front: (context) => (request, response) => {
      const url = request.url ?? '/';
      const path = url.split('?', 1)[0];
      if (request.method !== 'POST' || (path !== '/verify' && path !== '/')) return false;
      const exchange = context.begin(request, response, path);
      if (!exchange) return true;
      const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
      exchange.readBody((body) => {
        try {
          serve(exchange, url, type, body);
        } catch (err) {
          exchange.fail(err);
        }
      });
      return true;
    },
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

  const outcomeCounters = new Map<string, { inc(): void }>();
  const countOutcome = (outcome: string) => {
    let counter = outcomeCounters.get(outcome);
    if (!counter) {
      counter = outcomes.labels({ outcome });
      outcomeCounters.set(outcome, counter);
    }
    counter.inc();
  };

  /** The verdict on one request's parameters: HTTP status and JSON answer. */
  async function verdict(
    query: Params,
    body: Params | null,
    type: string,
    log: (fields: object, message: string) => void,
  ): Promise<[number, object]> {
    // As the original read them (`req.query.x ? req.query.x : req.body.x`): a non-empty query value wins.
    // Left as parsed (a JSON number stays a number): verification judges the type.
    const param = (name: string): unknown => query[name] || body?.[name];
    const assertion = param('assertion');
    const audience = param('audience');
    // The original's `!(assertion && audience)`: an empty value is a missing one.
    if (!assertion || !audience) {
      if (type !== FORM && type !== JSON_TYPE)
        return [
          415,
          { status: 'failure', reason: `Content-Type expected to be one of: ${FORM}, ${JSON_TYPE}` },
        ];
      return [400, { status: 'failure', reason: 'need assertion and audience' }];
    }
    // Only an origin-like string can match; the reference is silent on other types (issue 19).
    if (typeof audience !== 'string')
      return [200, { status: 'failure', reason: reasons['malformed-audience'] }];
    const forced = param('experimental_forceIssuer');
    const allowUnverified = param('experimental_allowUnverified');
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
    countOutcome(result.ok ? 'okay' : result.code);
    if (!result.ok) {
      log(
        { event: 'verify', result: 'failure', reason: result.reason, rp: audience.slice(0, 200) },
        'assertion rejected',
      );
      return [200, { status: 'failure', reason: result.reason }];
    }
    log({ event: 'verify', result: 'okay', rp: audience.slice(0, 200) }, 'assertion verified');
    return [
      200,
      {
        status: 'okay',
        [result.verified ? 'email' : 'unverified-email']: result.email,
        audience: result.audience,
        expires: result.expires,
        issuer: result.issuer,
      },
    ];
  }

  const serve = (exchange: FrontExchange, url: string, type: string, body: Buffer) => {
    if (deps.callerKeys) exchange.caller(body);
    const params = parseBody(type, body);
    if (params === undefined) throw new ServiceError('bad-request', 'invalid JSON body');
    const at = url.indexOf('?');
    const query = at === -1 ? {} : (parseQuery(url.slice(at + 1)) as Params);
    const log = (fields: object, message: string) => {
      tierApp.logger.info({ reqId: exchange.id, ...fields }, message);
    };
    void verdict(query, params, type, log).then(([status, answer]) => {
      exchange.answer(status, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(answer));
    }, exchange.fail);
  };
  return tierApp;
}
