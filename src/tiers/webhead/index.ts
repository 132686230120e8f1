/**
 * The webhead (SPEC §2, reference/persona.md §1.1 `browserid` + `static`): the read-only wsapi ops, bcrypt
 * compare for sign-ins, our support document and the pages. It holds the cookie secret and database read
 * credentials; every write goes to the dbwriter and every certificate comes from the keysigner, both
 * over signed calls. It answers only the router's signed calls.
 */
import { Counter } from 'prom-client';
import { createSignIn, type SignInBackoff } from '../../accounts/sign-in.ts';
import { createTierApp, type TierApp } from '../../http/app.ts';
import { registerWsapi } from '../../wsapi/framework.ts';
import type { OperationName } from '../../wsapi/catalogue.ts';
import { createDeviceCookies } from '../../wsapi/device-cookie.ts';
import { DEFAULT_RATE_LIMITS, DEFAULT_SIGN_IN_BACKOFF } from '../../wsapi/rate-limits.ts';
import { certificateHandlers } from './certificates.ts';
import { createDbwriterClient } from './dbwriter.ts';
import { lookupHandlers } from './lookups.ts';
import { registerPages } from './pages.ts';
import { bundleSource, registerStatic } from './static.ts';
import { withProxyIdps } from './primaries.ts';
import type { Runtime, WebheadDeps } from './runtime.ts';
import { sessionHandlers } from './session-ops.ts';
import { signInHandlers } from './sign-in.ts';
import { verificationStatusHandlers } from './verification-status.ts';

export type { WebheadDeps } from './runtime.ts';
export type { DomainDirectory } from './primaries.ts';
export { withProxyIdps } from './primaries.ts';
export { SUPPORT_DOCUMENT_CACHE_CONTROL } from './pages.ts';

/** SPEC §4.11: the windows the dbwriter counts in, the configured caps, the delays of rate-limits.ts. */
function signInBackoff(deps: WebheadDeps): SignInBackoff {
  const limit = (prefix: string) => DEFAULT_RATE_LIMITS[prefix] ?? { limit: 10, windowMs: 3_600_000 };
  return {
    account: { ...DEFAULT_SIGN_IN_BACKOFF.account, ...limit('auth:acct'), limit: deps.maxAuthAttempts },
    ip: { ...DEFAULT_SIGN_IN_BACKOFF.ip, ...(deps.signInLimit ?? limit('auth:ip')) },
    device: { ...DEFAULT_SIGN_IN_BACKOFF.device, ...limit('auth:dev') },
  };
}

export function buildWebhead(deps: WebheadDeps): TierApp {
  const tierApp = createTierApp({
    tier: 'webhead',
    // bcrypt compares and calls to the dbwriter and keysigner read the request's deadline.
    deadlineContext: true,
    logger: deps.logger,
    https: deps.https,
    callerKeys: deps.callerKeys,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    healthChecks: {
      database: () => deps.reader.ping(),
      keysigner: () => deps.keysigner.checkHealth(),
      dbwriter: () => deps.dbwriter.checkHealth(),
    },
  });
  const { app, metrics } = tierApp;
  // Before anything listens: in production a missing bundle stops the start here.
  const bundles = bundleSource(deps.browserBundles);

  const publicUrl = new URL(deps.publicUrl);
  const dbwriter = createDbwriterClient(deps.dbwriter);
  const rt: Runtime = {
    deps,
    reader: deps.reader,
    dbwriter,
    directory: withProxyIdps(deps.discovery, deps.proxyIdps),
    issuer: publicUrl.hostname,
    origin: publicUrl.origin,
    now: deps.now ?? Date.now,
    signIn: createSignIn(deps.reader, deps.hasher, { backoff: deps.signInBackoff ?? signInBackoff(deps) }),
    devices: createDeviceCookies(deps.codec, { https: deps.https }),
    signIns: new Counter({
      name: 'persona_signins_total',
      help: 'Sign-in attempts by outcome',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    }),
  };
  const operations = new Counter({
    name: 'persona_wsapi_operations_total',
    help: 'wsapi operations served',
    labelNames: ['op'],
    registers: [metrics.registry],
  });

  registerWsapi(
    app,
    {
      codec: deps.codec,
      https: deps.https,
      sessionDurationMs: deps.sessionDurationMs,
      ephemeralSessionDurationMs: deps.ephemeralSessionDurationMs,
      sessionStanding: (userid, sid) => deps.reader.sessionStanding(userid, sid),
      // The webhead writes nothing itself: the dbwriter records the revocation before logout answers.
      revokeSession: async (revocation, request) => {
        const answer = await dbwriter.call('revoke_session', revocation, request.id);
        if (!answer.ok) throw new Error(`the dbwriter refused revoke_session (${answer.status})`);
      },
      now: rt.now,
      onOperation: (name: OperationName) => {
        operations.inc({ op: name });
      },
    },
    {
      ...sessionHandlers(rt),
      ...lookupHandlers(rt),
      ...signInHandlers(rt),
      ...certificateHandlers(rt),
      ...verificationStatusHandlers(rt),
    },
  );
  registerPages(app, rt);
  registerStatic(app, rt, bundles);

  // Background writes (failed-attempt resets, rehashes, idp bookkeeping) finish before the app is closed.
  app.addHook('onClose', async () => {
    await dbwriter.drain();
  });
  return tierApp;
}
