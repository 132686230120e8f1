/**
 * The keysigner (SPEC §2): the only holder of the domain secret key. One route, `POST /wsapi/cert_key`,
 * answered only to signed calls from the webhead, which has already checked that the session owns the
 * address. Imports no database code.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Histogram } from 'prom-client';
import {
  certifyPublicKey,
  isEmail,
  isHostname,
  parsePublicKey,
  type PublicKey,
  type SecretKey,
} from '../../browserid/index.ts';
import { createTierApp, type TierApp } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { Tier } from '../../http/tier-auth.ts';

export interface KeysignerDeps {
  /** Which tier this signer is: the keysigner, or the bridge's own signer (docs/bridge.md). Default keysigner. */
  readonly tier?: 'keysigner' | 'bridgesigner';
  /** Issuer name of our certificates: the host of the public URL. */
  readonly issuer: string;
  readonly domainKey: SecretKey;
  readonly certificateValidityMs: number;
  readonly ephemeralValidityMs: number;
  /** Issuer names a caller may ask for instead of `issuer` (the original's forcible_issuers). */
  readonly forcibleIssuers: readonly string[];
  readonly callerKeys: ReadonlyMap<Tier, KeyObject>;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  readonly now?: () => number;
}

function bad(reason: string): never {
  throw new ServiceError('bad-request', reason);
}

/** Public keys arrive as JSON text of 50 to 10240 characters (the original's `pubkey` type). */
function readPublicKey(value: unknown): PublicKey {
  if (typeof value !== 'string' || value.length < 50 || value.length > 10240)
    return bad('pubkey: invalid public key');
  try {
    return parsePublicKey(value);
  } catch {
    return bad('pubkey: invalid public key');
  }
}

function readBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') return bad(`${name}: must be a boolean`);
  return value;
}

export function buildKeysigner(deps: KeysignerDeps): TierApp {
  const now = deps.now ?? Date.now;
  const tierApp = createTierApp({
    tier: deps.tier ?? 'keysigner',
    logger: deps.logger,
    callerKeys: deps.callerKeys,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
  });
  const certification = new Histogram({
    name: 'persona_certification_seconds',
    help: 'Time to sign one certificate',
    registers: [tierApp.metrics.registry],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
  });

  tierApp.app.post('/wsapi/cert_key', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const allowed = new Set(['email', 'pubkey', 'ephemeral', 'unverified', 'forceIssuer']);
    const extra = Object.keys(body).filter((key) => !allowed.has(key));
    if (extra.length > 0) bad(`extra parameters are not allowed: ${extra.join(', ')}`);
    const email = body.email;
    if (email === undefined) bad("missing required parameter: 'email'");
    if (!isEmail(email)) bad('email: invalid email address');
    const publicKey = readPublicKey(body.pubkey);
    const ephemeral = readBoolean(body.ephemeral, 'ephemeral');
    const unverified = readBoolean(body.unverified, 'unverified');
    let issuer = deps.issuer;
    if (body.forceIssuer !== undefined) {
      if (!isHostname(body.forceIssuer) || !deps.forcibleIssuers.includes(body.forceIssuer)) {
        bad('Invalid issuer, unable to issue certificate');
      }
      issuer = body.forceIssuer;
    }
    const issuedAt = now();
    const stop = certification.startTimer();
    const cert = certifyPublicKey(
      {
        issuer,
        publicKey,
        principal: unverified ? { unverifiedEmail: email } : { email },
        issuedAt,
        expiresAt: issuedAt + (ephemeral ? deps.ephemeralValidityMs : deps.certificateValidityMs),
      },
      deps.domainKey,
    );
    stop();
    request.log.info(
      { event: 'cert_issued', caller: request.caller, ephemeral, unverified },
      'certificate issued',
    );
    return reply.type('text/plain').send(cert);
  });

  return tierApp;
}
