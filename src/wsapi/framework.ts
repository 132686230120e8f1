/**
 * The rules every wsapi op follows (reference/persona.md §2.1), in one place for the webhead and the
 * dbwriter: no caching, the session cookie opened and invalidated by a password change elsewhere, CSRF on
 * POST, the op's authentication level, parameter validation, JSON-object responses, and the session sealed
 * back into the cookie when it changed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TierFastify } from '../http/app.ts';
import { DatabaseUnavailableError, StorageError } from '../db/read.ts';
import { ServiceError } from '../http/errors.ts';
import { cookieValue } from '../http/cookies.ts';
import type { Tier } from '../http/tier-auth.ts';
import { operations, type ArgsOf, type Operation, type OperationName, type ResponseOf } from './catalogue.ts';
import {
  REVOCATION_MARGIN_MS,
  newSessionId,
  sessionCookieHeader,
  type AuthLevel,
  type Session,
  type SessionCodec,
} from './session.ts';
import { validateArgs, ValidationError } from './validate.ts';

export interface WsapiContext<N extends OperationName = OperationName> {
  /** The arguments, validated by the op's declaration (src/wsapi/catalogue.ts). */
  readonly args: ArgsOf<N>;
  /** The session; handlers change it in place and it is saved after the handler. */
  session: Session;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly now: number;
  /** The end user's address, as the router saw it. */
  readonly clientIp: string;
  /** Signs the session in; never lowers a password-level session of the same user (persona #1049). */
  authenticate(userid: number, level: AuthLevel, lastPasswordReset: number, ephemeral: boolean): void;
  /** Signs out, keeping only the CSRF token; the session's id is revoked before the answer (SPEC §4.12). */
  logout(): void;
  /** Revokes the session's id and gives it a new one: copies of the cookie saved before stop working. */
  renewSessionId(): void;
}

/**
 * A handler returns its op's declared answer (a JSON object, or the text of a text op), or nothing after
 * answering through `reply` itself (a status other than 200).
 */
export type WsapiHandler<N extends OperationName> = (
  ctx: WsapiContext<N>,
) => Promise<ResponseOf<N> | undefined>;

/** Handlers by op name, each typed by its op's declaration. */
export type WsapiHandlers = { readonly [N in OperationName]?: WsapiHandler<N> };
/** The handlers of exactly the ops `N`. */
export type HandlersOf<N extends OperationName> = { readonly [K in N]: WsapiHandler<K> };

export interface WsapiDeps {
  readonly codec: SessionCodec;
  readonly https: boolean;
  readonly sessionDurationMs: number;
  readonly ephemeralSessionDurationMs: number;
  /**
   * The user's lastPasswordReset (unix seconds) and whether session `sid` was revoked, read together;
   * undefined when the user is gone.
   */
  readonly sessionStanding: (
    userid: number,
    sid: string | undefined,
  ) => Promise<{ readonly lastPasswordReset: number; readonly revoked: boolean } | undefined>;
  /** Records a revocation where every instance of every tier sees it; rejects when it could not. */
  readonly revokeSession: (revocation: SessionRevocation, request: FastifyRequest) => Promise<void>;
  /** Tiers allowed to call internal ops here. */
  readonly internalCallers?: readonly Tier[];
  readonly now?: () => number;
  /** Counts each op served, for metrics. */
  readonly onOperation?: (name: OperationName) => void;
}

export interface SessionRevocation {
  readonly sid: string;
  /** Epoch ms after which no cookie carrying `sid` can be valid. */
  readonly expiresAt: number;
}

const bad = (reason: string) => new ServiceError('bad-request', reason);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newCsrfToken(): string {
  return randomBytes(16).toString('base64');
}

interface SessionState {
  session: Session;
  createdAt: number;
  duration: number;
  readonly opened: boolean;
  readonly before: string;
  /** createdAt.duration as opened: re-authenticating the same session still needs a new cookie. */
  readonly timesBefore: string;
  readonly now: number;
  /** Session ids to revoke before answering. */
  readonly revoke: string[];
}

/** Registers the given handlers as `/wsapi/<op>` routes with the framework rules around them. */
export function registerWsapi(app: TierFastify, deps: WsapiDeps, handlers: WsapiHandlers): void {
  const clock = deps.now ?? Date.now;
  const states = new WeakMap<FastifyRequest, SessionState>();

  // Runs for every answer, errors included, so a session reset on the way out is saved too.
  const saveSession = (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: null, p: unknown) => void,
  ) => {
    const state = states.get(request);
    if (state) {
      const renew = state.opened && state.createdAt + state.duration - state.now < 5 * 60_000;
      if (renew) state.createdAt += 5 * 60_000;
      const changed =
        JSON.stringify(state.session) !== state.before ||
        `${state.createdAt}.${state.duration}` !== state.timesBefore;
      if (changed || renew) {
        const value = deps.codec.seal(state.session, state.createdAt, state.duration);
        reply.header(
          'set-cookie',
          sessionCookieHeader(deps.codec.name, value, state.createdAt + state.duration, {
            https: deps.https,
          }),
        );
      }
    }
    done(null, payload);
  };

  // Each handler is typed by its own op; here they are served alike.
  for (const [name, handler] of Object.entries(handlers) as [OperationName, WsapiHandler<OperationName>][]) {
    const op: Operation = operations[name];
    app.route({
      method: op.method,
      url: `/wsapi/${name}`,
      onSend: saveSession,
      handler: async (request, reply) => {
        reply.header('cache-control', 'no-cache, max-age=0');
        const caller = request.caller === 'edge' ? undefined : request.caller;
        if (op.internal && !(caller && deps.internalCallers?.includes(caller))) {
          throw new ServiceError('not-found', 'no such api');
        }
        deps.onOperation?.(name);
        const now = clock();
        const opened = deps.codec.open(cookieValue(request.headers.cookie, deps.codec.name), now);
        const session: Session = opened ? { ...opened.session } : {};
        const state: SessionState = {
          session,
          createdAt: opened?.createdAt ?? now,
          duration: opened?.duration ?? deps.sessionDurationMs,
          opened: opened !== null,
          before: opened ? JSON.stringify(opened.session) : '{}',
          timesBefore: `${opened?.createdAt ?? now}.${opened?.duration ?? deps.sessionDurationMs}`,
          now,
          revoke: [],
        };
        states.set(request, state);
        const revokePending = async () => {
          const expiresAt = state.createdAt + state.duration + REVOCATION_MARGIN_MS;
          const sids = state.revoke.splice(0);
          await Promise.all(sids.map((sid) => deps.revokeSession({ sid, expiresAt }, request)));
        };

        try {
          // Internal ops carry no end-user session: the tier signature is their authentication.
          // A password change elsewhere bumps lastPasswordReset and ends every other session; a logout
          // revokes the session's id (SPEC §4.12).
          if (!op.internal && state.session.userid !== undefined) {
            const standing = await deps.sessionStanding(state.session.userid, state.session.sid);
            const current = standing?.lastPasswordReset;
            if (
              standing === undefined ||
              standing.revoked ||
              (current !== 0 && current !== state.session.lastPasswordReset)
            )
              state.session = {};
            // A cookie sealed before sessions had ids gets one now, so its logout can be revoked.
            else state.session.sid ??= newSessionId();
          }

          const params = (op.method === 'GET' ? request.query : request.body) as
            Record<string, unknown> | undefined;
          if (op.csrf) {
            const csrf = state.session.csrf;
            if (!csrf) throw new ServiceError('forbidden', 'no cookie');
            const sent = params?.csrf;
            if (typeof sent !== 'string' || !sameToken(sent, csrf)) throw bad('CSRF violation');
          }
          const level = state.session.userid !== undefined ? state.session.authLevel : undefined;
          if (op.auth === 'assertion' && level === undefined) throw bad('requires authentication');
          if (op.auth === 'password' && level !== 'password') throw bad('requires authentication');

          let args: ArgsOf<OperationName>;
          try {
            args = validateArgs(op, params ?? {});
          } catch (err) {
            if (err instanceof ValidationError)
              return await reply.code(400).send({ success: false, reason: err.message });
            throw err;
          }

          const ctx: WsapiContext = {
            args,
            get session() {
              return state.session;
            },
            set session(value: Session) {
              state.session = value;
            },
            request,
            reply,
            now,
            clientIp:
              (request.headers['x-forwarded-for'] as string | undefined)?.split(',')[0]?.trim() ?? request.ip,
            authenticate(userid, newLevel, lastPasswordReset, ephemeral) {
              const current = state.session;
              const keepPassword = current.userid === userid && current.authLevel === 'password';
              state.session = {
                csrf: current.csrf,
                // The same user's session keeps its id, so a logout also ends copies saved before this.
                sid: current.userid === userid && current.sid !== undefined ? current.sid : newSessionId(),
                userid,
                authLevel: keepPassword ? 'password' : newLevel,
                lastPasswordReset,
              };
              state.createdAt = now;
              state.duration = ephemeral ? deps.ephemeralSessionDurationMs : deps.sessionDurationMs;
            },
            logout() {
              const { csrf, sid } = state.session;
              if (sid !== undefined) state.revoke.push(sid);
              state.session = csrf ? { csrf } : {};
            },
            renewSessionId() {
              const { sid } = state.session;
              if (sid !== undefined) state.revoke.push(sid);
              if (state.session.userid !== undefined) state.session.sid = newSessionId();
            },
          };
          let result: Awaited<ReturnType<typeof handler>>;
          try {
            result = await handler(ctx);
          } finally {
            // Even when the handler failed after signing out: the cookie it clears must not live on elsewhere.
            await revokePending();
          }
          if (reply.sent) return;
          if (result === undefined) throw new Error(`${name} answered nothing`);
          if (op.text) return await reply.type('text/plain').send(result);
          if (typeof result !== 'object' || Array.isArray(result))
            throw new Error('wsapi responses must be JSON objects');
          return await reply.send(result);
        } catch (err) {
          if (err instanceof DatabaseUnavailableError)
            throw new ServiceError('database-unavailable', 'database unavailable');
          if (err instanceof StorageError) throw bad(err.message);
          throw err;
        }
      },
    });
  }
}
