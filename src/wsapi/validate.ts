/**
 * Parameter validation for wsapi ops (reference/persona.md §2.1): every declared parameter is checked,
 * missing required ones and undeclared ones are refused, `csrf` always passes. Failures are
 * `{success:false, reason}` with status 400.
 */
import { isEmail, isHostname } from '../browserid/index.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../passwords/index.ts';
import type { ArgType, Operation } from './catalogue.ts';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

const ORIGIN = /^(https?|app):\/\/([a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*)(:\d{1,5})?$/i;

/** Checks one value; returns the value to use (GET query strings carry text, so userid becomes a number). */
function check(type: ArgType, value: unknown): { ok: true; value: unknown } | { ok: false; why: string } {
  const ok = (v: unknown = value) => ({ ok: true as const, value: v });
  const no = (why: string) => ({ ok: false as const, why });
  switch (type) {
    case 'email':
      return isEmail(value) ? ok() : no('not a valid email address');
    case 'email_type':
      return value === 'primary' || value === 'secondary' ? ok() : no('must be primary or secondary');
    case 'userid': {
      const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
      return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? ok(n) : no('must be an integer');
    }
    case 'password':
      return typeof value === 'string' &&
        value.length >= MIN_PASSWORD_LENGTH &&
        value.length <= MAX_PASSWORD_LENGTH
        ? ok()
        : no(`must be a string of ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
    case 'boolean':
      return typeof value === 'boolean' ? ok() : no('must be a boolean value');
    case 'token':
      return typeof value === 'string' && /^[A-Za-z0-9]{48}$/.test(value) ? ok() : no('not a valid token');
    case 'assertion':
      return typeof value === 'string' &&
        value.length >= 50 &&
        value.length <= 10240 &&
        /^[0-9A-Za-z~_.=-]+$/.test(value)
        ? ok()
        : no('not a valid assertion');
    case 'pubkey': {
      if (typeof value !== 'string' || value.length < 50 || value.length > 10240)
        return no('not a valid public key');
      try {
        JSON.parse(value);
        return ok();
      } catch {
        return no('not a valid public key');
      }
    }
    case 'hostname':
      return isHostname(value) ? ok() : no('not a valid hostname');
    case 'origin':
      return typeof value === 'string' && value.length <= 300 && ORIGIN.test(value)
        ? ok()
        : no('not a valid origin');
    case 'color':
      return typeof value === 'string' && /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value)
        ? ok()
        : no('not a valid color');
    case 'bucket':
      return typeof value === 'string' && /^[\x21-\x7e]{1,200}$/.test(value)
        ? ok()
        : no('not a valid bucket');
    case 'image': {
      if (typeof value !== 'string' || value.length > 2048) return no('must be an https URL');
      try {
        return new URL(value).protocol === 'https:' ? ok() : no('must be an https URL');
      } catch {
        return no('must be an https URL');
      }
    }
  }
}

/** The validated arguments of `op`, or a ValidationError naming the first problem. */
export function validateArgs(op: Operation, params: Record<string, unknown>): Record<string, unknown> {
  const declared = op.args;
  if (!declared) return params;
  const extra = Object.keys(params).filter((name) => name !== 'csrf' && !Object.hasOwn(declared, name));
  if (extra.length > 0) throw new ValidationError(`extra parameters are not allowed: ${extra.join(', ')}`);
  const args: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = params[name];
    if (value === undefined || value === null) {
      if (spec.optional) continue;
      throw new ValidationError(`missing required parameter: '${name}'`);
    }
    const result = check(spec.type, value);
    if (!result.ok) throw new ValidationError(`${name}: ${result.why}`);
    args[name] = result.value;
  }
  return args;
}
