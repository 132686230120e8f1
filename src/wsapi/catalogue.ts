/**
 * Every wsapi operation (reference/persona.md §2.2): method, where it runs (webhead reads, dbwriter
 * writes), the authentication it needs, whether only other tiers may call it, and its parameters.
 * The router routes by this table; the tiers validate by it.
 */
export type ArgType =
  | 'email'
  | 'email_type'
  | 'userid'
  | 'password'
  | 'boolean'
  | 'token'
  | 'assertion'
  | 'pubkey'
  | 'hostname'
  | 'origin'
  | 'color'
  | 'image'
  | 'bucket';

/** none; `assertion`: signed in by any means; `password`: signed in with the password. */
export type AuthLevelRequired = 'none' | 'assertion' | 'password';

export interface Operation {
  readonly method: 'GET' | 'POST';
  /** Runs on the dbwriter (true) or the webhead (false). */
  readonly writes: boolean;
  readonly auth: AuthLevelRequired;
  /** Only reachable from other tiers; the router answers 404. */
  readonly internal?: boolean;
  /** Declared parameters: required unless marked optional. Undeclared ones are refused when present. */
  readonly args?: Readonly<Record<string, { readonly type: ArgType; readonly optional?: boolean }>>;
}

const req = (type: ArgType) => ({ type });
const opt = (type: ArgType) => ({ type, optional: true });
const siteArgs = { site: req('origin'), backgroundColor: opt('color'), siteLogo: opt('image') };

export const operations = {
  session_context: { method: 'GET', writes: false, auth: 'none' },
  address_info: {
    method: 'GET',
    writes: false,
    auth: 'none',
    args: { email: req('email'), issuer: opt('hostname') },
  },
  have_email: { method: 'GET', writes: false, auth: 'none', args: { email: req('email') } },
  authenticate_user: {
    method: 'POST',
    writes: false,
    auth: 'none',
    args: {
      email: req('email'),
      pass: req('password'),
      ephemeral: req('boolean'),
      allowUnverified: opt('boolean'),
    },
  },
  auth_with_assertion: {
    method: 'POST',
    writes: false,
    auth: 'none',
    args: { assertion: req('assertion'), ephemeral: req('boolean') },
  },
  cert_key: {
    method: 'POST',
    writes: false,
    auth: 'password',
    args: {
      email: req('email'),
      pubkey: req('pubkey'),
      ephemeral: req('boolean'),
      forceIssuer: opt('hostname'),
      allowUnverified: opt('boolean'),
    },
  },
  list_emails: { method: 'GET', writes: false, auth: 'assertion', args: {} },
  logout: { method: 'POST', writes: false, auth: 'assertion', args: {} },
  prolong_session: { method: 'POST', writes: false, auth: 'assertion' },
  email_for_token: { method: 'GET', writes: false, auth: 'none', args: { token: req('token') } },
  user_creation_status: { method: 'GET', writes: false, auth: 'none', args: { email: req('email') } },
  email_addition_status: { method: 'GET', writes: false, auth: 'assertion', args: { email: req('email') } },
  email_reverify_status: { method: 'GET', writes: false, auth: 'assertion', args: { email: req('email') } },
  password_reset_status: { method: 'GET', writes: false, auth: 'none', args: { email: req('email') } },
  transition_status: { method: 'GET', writes: false, auth: 'none', args: { email: req('email') } },
  interaction_data: { method: 'POST', writes: false, auth: 'none' },
  ping: { method: 'GET', writes: false, auth: 'none' },
  stage_user: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { email: req('email'), pass: req('password'), allowUnverified: opt('boolean'), ...siteArgs },
  },
  complete_user_creation: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { token: req('token'), pass: opt('password') },
  },
  stage_email: {
    method: 'POST',
    writes: true,
    auth: 'assertion',
    args: { email: req('email'), pass: opt('password'), ...siteArgs },
  },
  complete_email_confirmation: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { token: req('token'), pass: opt('password') },
  },
  stage_reset: { method: 'POST', writes: true, auth: 'none', args: { email: req('email'), ...siteArgs } },
  complete_reset: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { token: req('token'), pass: opt('password') },
  },
  stage_reverify: {
    method: 'POST',
    writes: true,
    auth: 'assertion',
    args: { email: req('email'), ...siteArgs },
  },
  stage_transition: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { email: req('email'), pass: req('password'), ...siteArgs },
  },
  complete_transition: {
    method: 'POST',
    writes: true,
    auth: 'none',
    args: { token: req('token'), pass: opt('password') },
  },
  update_password: {
    method: 'POST',
    writes: true,
    auth: 'assertion',
    args: { oldpass: req('password'), newpass: req('password') },
  },
  remove_email: { method: 'POST', writes: true, auth: 'assertion', args: { email: req('email') } },
  account_cancel: { method: 'POST', writes: true, auth: 'assertion', args: {} },
  add_email_with_assertion: {
    method: 'POST',
    writes: true,
    auth: 'assertion',
    args: { assertion: req('assertion') },
  },
  used_address_as_primary: { method: 'POST', writes: true, auth: 'assertion', args: { email: req('email') } },
  // Internal ops: only the webhead calls them, proven by its tier signature, so they take the user explicitly
  // instead of replaying the end user's cookie and CSRF token as the original did. The router 404s them.
  create_account_with_assertion: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { email: req('email') },
  },
  user_used_email_as: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { userid: req('userid'), email: req('email'), used_as: req('email_type') },
  },
  increment_failed_auth_tries: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { userid: req('userid') },
  },
  reset_failed_auth_tries: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { userid: req('userid') },
  },
  // Ours: the rehash after a sign-in with a hash of another cost (the original replayed update_password).
  rehash_password: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { userid: req('userid'), pass: req('password') },
  },
  // Ours: per-IP limits shared by every webhead (SPEC §4.4) count in the database, which only the dbwriter writes.
  hit_rate_limit: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { bucket: req('bucket') },
  },
  saw_idp: { method: 'POST', writes: true, auth: 'none', internal: true, args: { domain: req('hostname') } },
  forget_idp: {
    method: 'POST',
    writes: true,
    auth: 'none',
    internal: true,
    args: { domain: req('hostname') },
  },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof operations;

export function findOperation(name: string): Operation | undefined {
  return Object.hasOwn(operations, name) ? (operations as Record<string, Operation>)[name] : undefined;
}
