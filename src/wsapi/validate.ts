/**
 * Parameter validation for wsapi ops (reference/persona.md §2.1) by the op's declared schema: missing
 * required parameters and undeclared ones are refused, `csrf` always passes, ops that declare no
 * parameters take any. Failures are `{success:false, reason}` with status 400, in the original's words.
 */
import { z } from 'zod';
import type { Operation } from './catalogue.ts';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** The validated arguments of `op`, or a ValidationError naming the first problem. */
export function validateArgs<A extends Operation['args']>(
  op: Operation<A>,
  params: Record<string, unknown>,
): z.output<A> {
  // The schema's output is A's; TypeScript loses A when narrowing the union.
  if (!(op.args instanceof z.ZodObject)) return op.args.parse(params) as z.output<A>;
  const declared = op.args.shape;
  const extra = Object.keys(params).filter((name) => name !== 'csrf' && !Object.hasOwn(declared, name));
  if (extra.length > 0) throw new ValidationError(`extra parameters are not allowed: ${extra.join(', ')}`);
  // null counts as absent, as the original's.
  const given = Object.fromEntries(
    Object.keys(declared).flatMap((name) =>
      params[name] === undefined || params[name] === null ? [] : [[name, params[name]]],
    ),
  );
  const result = op.args.safeParse(given);
  if (result.success) return result.data as z.output<A>;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? '');
  if (!(name in given)) throw new ValidationError(`missing required parameter: '${name}'`);
  throw new ValidationError(`${name}: ${issue?.message ?? 'invalid'}`);
}
