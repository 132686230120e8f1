/**
 * Every wsapi answer a tier test receives is checked against its op's declaration
 * (src/wsapi/catalogue.ts), so a change on the wire fails the test that caused it:
 * - 200: the declared response, JSON (or text/plain for the text ops), no field more or less;
 * - any other status: the framework's forms, `{success:false, reason}` as JSON or
 *   `<Status Text>: <reason>` as text (reference/persona.md §2.1).
 * The ops answered 200 are recorded, so a suite can show it reached every op.
 */
import { findOperation, refused } from '../../src/wsapi/catalogue.ts';
import type { Answer } from './browser.ts';

/** Op name → statuses seen, in this test process. */
export const observed = new Map<string, Set<number>>();

export class ContractError extends Error {
  override readonly name = 'ContractError';
}

const TEXT_ERROR = /^[A-Z][A-Za-z ]+: ./;

function contentType(answer: Answer): string {
  const value = answer.headers['content-type'];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Throws a ContractError when `answer`, to a request for `path`, is not what the op declares. */
export function checkWsapiAnswer(path: string, answer: Answer): void {
  const match = /^\/wsapi\/([^?/]+)/.exec(path);
  const op = match?.[1] === undefined ? undefined : findOperation(match[1]);
  if (op === undefined || match?.[1] === undefined) return;
  const name = match[1];
  const seen = observed.get(name) ?? new Set<number>();
  seen.add(answer.status);
  observed.set(name, seen);
  const fail = (why: string) => {
    throw new ContractError(`${name} answered ${answer.status} ${why}: ${answer.text.slice(0, 300)}`);
  };

  const json = contentType(answer).startsWith('application/json');
  if (answer.status === 200) {
    if (op.text !== !json) fail(op.text ? 'JSON, not text' : 'text, not JSON');
    const parsed = op.response.safeParse(op.text ? answer.text : JSON.parse(answer.text));
    if (!parsed.success) fail(`outside its declaration (${parsed.error.issues[0]?.message ?? ''})`);
    return;
  }
  if (json) {
    if (!refused.safeParse(JSON.parse(answer.text)).success)
      fail('a JSON error other than {success:false, reason}');
  } else if (!TEXT_ERROR.test(answer.text)) {
    fail('an error other than "<Status Text>: <reason>"');
  }
}
