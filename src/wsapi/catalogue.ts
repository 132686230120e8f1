/**
 * Every wsapi operation (reference/persona.md §2.2), one declaration each: method, where it runs (webhead
 * reads, dbwriter writes), the authentication it needs, whether only other tiers may call it, its
 * arguments and its answer as zod schemas. The router routes by this table, the tiers validate and type
 * their handlers by it, the webhead's client of the dbwriter's internal ops calls by it, and the tier
 * tests check every answer against it (test/helpers/contract.ts).
 */
import { z } from 'zod';
import * as arg from './args.ts';

/** none; `assertion`: signed in by any means; `password`: signed in with the password. */
export type AuthLevelRequired = 'none' | 'assertion' | 'password';

/** Arguments: an object of declared parameters (undeclared ones refused), or anything (not validated). */
type ArgsSchema = z.ZodObject | typeof anything;

export interface Operation<A extends ArgsSchema = ArgsSchema, R extends z.ZodType = z.ZodType> {
  readonly method: 'GET' | 'POST';
  /** Runs on the dbwriter (true) or the webhead (false). */
  readonly writes: boolean;
  readonly auth: AuthLevelRequired;
  /** Only reachable from other tiers; the router answers 404. */
  readonly internal: boolean;
  /** The CSRF token must come with the call: every POST from a browser (§2.1). */
  readonly csrf: boolean;
  readonly args: A;
  /** The 200 answer: a JSON object, or for `text` ops the text/plain body. */
  readonly response: R;
  /** Answered as text/plain, not JSON (cert_key, ping, prolong_session, as the original). */
  readonly text: boolean;
}

/** Ops that declare no parameters take (and ignore) any, as the original. */
const anything = z.record(z.string(), z.unknown());

const ok = z.strictObject({ success: z.literal(true) });
/** A business refusal: HTTP 200 with a reason (§2.1). */
export const refused = z.strictObject({ success: z.literal(false), reason: z.string() });
const okOrRefused = z.union([ok, refused]);
/** An unknown, used or expired token (SPEC §4.2). */
const completion = z.strictObject({ success: z.boolean() });
const signedIn = z.strictObject({
  success: z.literal(true),
  userid: z.number(),
  suppress_ask_if_users_computer: z.boolean(),
});
const resetStatus = z.union([
  z.strictObject({ status: z.literal('complete'), userid: z.number() }),
  z.strictObject({ status: z.enum(['pending', 'mustAuth']) }),
]);
const addressState = z.enum([
  'unknown',
  'known',
  'transition_to_primary',
  'transition_to_secondary',
  'transition_no_password',
  'unverified',
  'offline',
]);
const siteArgs = {
  site: arg.origin,
  siteName: arg.siteName.optional(),
  backgroundColor: arg.color.optional(),
  siteLogo: arg.image.optional(),
};
const completionArgs = z.object({ token: arg.token, pass: arg.password.optional() });

function op<A extends ArgsSchema, R extends z.ZodType, W extends 'webhead' | 'dbwriter' | 'internal'>(
  method: 'GET' | 'POST',
  where: W,
  auth: AuthLevelRequired,
  args: A,
  response: R,
  text = false,
): Operation<A, R> & { readonly internal: W extends 'internal' ? true : false } {
  const internal = where === 'internal';
  const declared: Operation<A, R> = {
    method,
    writes: where !== 'webhead',
    auth,
    internal,
    csrf: method === 'POST' && !internal,
    args,
    response,
    text,
  };
  // `internal` as a literal type, so the internal ops can be named as a type (InternalOperationName).
  return declared as Operation<A, R> & { readonly internal: W extends 'internal' ? true : false };
}

export const operations = {
  session_context: op(
    'GET',
    'webhead',
    'none',
    anything,
    z.strictObject({
      csrf_token: z.string(),
      server_time: z.number(),
      authenticated: z.boolean(),
      auth_level: z.enum(['assertion', 'password']).optional(),
      has_password: z.boolean(),
      domain_key_creation_time: z.number(),
      random_seed: z.string(),
      data_sample_rate: z.number(),
      cookies: z.boolean(),
      userid: z.number().optional(),
    }),
  ),
  address_info: op(
    'GET',
    'webhead',
    'none',
    z.object({ email: arg.email, issuer: arg.hostname.optional() }),
    z.union([
      z.strictObject({
        type: z.literal('primary'),
        issuer: z.string(),
        auth: z.string(),
        prov: z.string(),
        state: addressState,
        normalizedEmail: z.string().optional(),
      }),
      z.strictObject({
        type: z.literal('secondary'),
        issuer: z.string(),
        disabled: z.boolean(),
        state: addressState,
        normalizedEmail: z.string().optional(),
      }),
    ]),
  ),
  have_email: op(
    'GET',
    'webhead',
    'none',
    z.object({ email: arg.email }),
    z.strictObject({ email_known: z.boolean() }),
  ),
  authenticate_user: op(
    'POST',
    'webhead',
    'none',
    z.object({
      email: arg.email,
      pass: arg.password,
      ephemeral: arg.boolean,
      allowUnverified: arg.boolean.optional(),
    }),
    z.union([
      signedIn,
      z.strictObject({ success: z.literal(false), reason: z.string(), code: z.string().optional() }),
    ]),
  ),
  auth_with_assertion: op(
    'POST',
    'webhead',
    'none',
    z.object({ assertion: arg.assertion, ephemeral: arg.boolean }),
    z.union([signedIn, refused]),
  ),
  cert_key: op(
    'POST',
    'webhead',
    'password',
    z.object({
      email: arg.email,
      pubkey: arg.pubkey,
      ephemeral: arg.boolean,
      forceIssuer: arg.hostname.optional(),
      allowUnverified: arg.boolean.optional(),
    }),
    // The certificate, a JWS in compact form.
    z.string().regex(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    true,
  ),
  list_emails: op(
    'GET',
    'webhead',
    'assertion',
    z.object({}),
    z.strictObject({ success: z.literal(true), emails: z.array(z.string()) }),
  ),
  logout: op('POST', 'webhead', 'assertion', z.object({}), ok),
  prolong_session: op('POST', 'webhead', 'assertion', anything, z.literal('OK'), true),
  email_for_token: op(
    'GET',
    'webhead',
    'none',
    z.object({ token: arg.token }),
    z.union([
      z.strictObject({
        success: z.literal(true),
        email: z.string(),
        must_auth: z.boolean(),
        needs_password: z.boolean(),
      }),
      refused,
    ]),
  ),
  user_creation_status: op('GET', 'webhead', 'none', z.object({ email: arg.email }), resetStatus),
  email_addition_status: op(
    'GET',
    'webhead',
    'assertion',
    z.object({ email: arg.email }),
    z.strictObject({ status: z.enum(['complete', 'pending', 'failed']) }),
  ),
  email_reverify_status: op(
    'GET',
    'webhead',
    'assertion',
    z.object({ email: arg.email }),
    z.strictObject({ status: z.enum(['complete', 'pending']) }),
  ),
  password_reset_status: op('GET', 'webhead', 'none', z.object({ email: arg.email }), resetStatus),
  transition_status: op('GET', 'webhead', 'none', z.object({ email: arg.email }), resetStatus),
  interaction_data: op('POST', 'webhead', 'none', anything, ok),
  ping: op('GET', 'webhead', 'none', anything, z.literal('ok'), true),
  stage_user: op(
    'POST',
    'dbwriter',
    'none',
    z.object({ email: arg.email, pass: arg.password, allowUnverified: arg.boolean.optional(), ...siteArgs }),
    z.strictObject({ success: z.literal(true), unverified: z.literal(true).optional() }),
  ),
  complete_user_creation: op('POST', 'dbwriter', 'none', completionArgs, completion),
  stage_email: op(
    'POST',
    'dbwriter',
    'assertion',
    z.object({ email: arg.email, pass: arg.password.optional(), ...siteArgs }),
    okOrRefused,
  ),
  complete_email_confirmation: op('POST', 'dbwriter', 'none', completionArgs, completion),
  stage_reset: op('POST', 'dbwriter', 'none', z.object({ email: arg.email, ...siteArgs }), okOrRefused),
  complete_reset: op('POST', 'dbwriter', 'none', completionArgs, completion),
  stage_reverify: op(
    'POST',
    'dbwriter',
    'assertion',
    z.object({ email: arg.email, ...siteArgs }),
    okOrRefused,
  ),
  stage_transition: op(
    'POST',
    'dbwriter',
    'none',
    z.object({ email: arg.email, pass: arg.password, ...siteArgs }),
    okOrRefused,
  ),
  complete_transition: op('POST', 'dbwriter', 'none', completionArgs, completion),
  update_password: op(
    'POST',
    'dbwriter',
    'assertion',
    z.object({ oldpass: arg.password, newpass: arg.password }),
    okOrRefused,
  ),
  remove_email: op('POST', 'dbwriter', 'assertion', z.object({ email: arg.email }), ok),
  account_cancel: op('POST', 'dbwriter', 'assertion', z.object({}), ok),
  add_email_with_assertion: op(
    'POST',
    'dbwriter',
    'assertion',
    z.object({ assertion: arg.assertion }),
    okOrRefused,
  ),
  used_address_as_primary: op('POST', 'dbwriter', 'assertion', z.object({ email: arg.email }), ok),
  // Internal ops: only the webhead calls them, proven by its tier signature, so they take the user explicitly
  // instead of replaying the end user's cookie and CSRF token as the original did. The router 404s them.
  create_account_with_assertion: op(
    'POST',
    'internal',
    'none',
    z.object({ email: arg.email }),
    z.strictObject({ success: z.literal(true), userid: z.number(), lastPasswordReset: z.number() }),
  ),
  user_used_email_as: op(
    'POST',
    'internal',
    'none',
    z.object({ userid: arg.userid, email: arg.email, used_as: arg.emailType }),
    ok,
  ),
  increment_failed_auth_tries: op('POST', 'internal', 'none', z.object({ userid: arg.userid }), ok),
  reset_failed_auth_tries: op('POST', 'internal', 'none', z.object({ userid: arg.userid }), ok),
  // Ours: the rehash after a sign-in with a hash of another cost (the original replayed update_password).
  rehash_password: op(
    'POST',
    'internal',
    'none',
    z.object({ userid: arg.userid, pass: arg.password }),
    z.union([z.strictObject({ success: z.literal(true), rehashed: z.boolean() }), refused]),
  ),
  // Ours: per-IP limits shared by every webhead (SPEC §4.4) count in the database, which only the dbwriter writes.
  hit_rate_limit: op(
    'POST',
    'internal',
    'none',
    z.object({ bucket: arg.bucket }),
    z.strictObject({
      success: z.literal(true),
      allowed: z.boolean(),
      hits: z.number(),
      limit: z.number(),
      resetAt: z.number(),
    }),
  ),
  saw_idp: op('POST', 'internal', 'none', z.object({ domain: arg.hostname }), ok),
  forget_idp: op('POST', 'internal', 'none', z.object({ domain: arg.hostname }), ok),
  // Ours (SPEC §4.12): a logout on the webhead ends the session everywhere; only the dbwriter writes.
  revoke_session: op(
    'POST',
    'internal',
    'none',
    z.object({
      sid: z.string().regex(/^[A-Za-z0-9_-]{16,32}$/),
      expiresAt: z.number().int().nonnegative(),
    }),
    ok,
  ),
} satisfies Record<string, Operation>;

/**
 * Ops the bridge calls on the dbwriter (docs/bridge.md), declared as internal ops are but kept apart from
 * `operations`: only the bridge's signed calls reach them, and no end user's or webhead's.
 */
export const bridgeOperations = {
  // The alias fallback: a one-time code mailed to the typed address (the bridge keeps only its HMAC).
  send_alias_code: op(
    'POST',
    'internal',
    'none',
    z.strictObject({ email: arg.email, code: z.string().regex(/^\d{6}$/), provider: arg.hostname }),
    ok,
  ),
} satisfies Record<string, Operation>;
export type BridgeOperationName = keyof typeof bridgeOperations;

export type OperationName = keyof typeof operations;
type Declared<N extends OperationName> = (typeof operations)[N];
/** The validated arguments a handler of `N` gets. */
export type ArgsOf<N extends OperationName> = z.output<Declared<N>['args']>;
/** What a caller of `N` sends. */
export type ArgsIn<N extends OperationName> = z.input<Declared<N>['args']>;
/** The 200 answer of `N`. */
export type ResponseOf<N extends OperationName> = z.output<Declared<N>['response']>;

export type InternalOperationName = {
  [N in OperationName]: Declared<N>['internal'] extends true ? N : never;
}[OperationName];

/** The parameters `op` declares (none for ops that take anything). */
export function argNames(op: Operation): string[] {
  return op.args instanceof z.ZodObject ? Object.keys(op.args.shape) : [];
}

export function findOperation(name: string): Operation | undefined {
  return Object.hasOwn(operations, name) ? (operations as Record<string, Operation>)[name] : undefined;
}
