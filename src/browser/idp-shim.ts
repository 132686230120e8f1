/**
 * What provisioning_api.js and authentication_api.js share: Persona's origin (written in by the webhead)
 * and installing their functions on navigator.id.
 */
import { parseOrigin } from './protocol.ts';

/** The webhead replaces this with its public origin when it serves the file (static.ts). */
const SERVED_ORIGIN = '__PERSONA_ORIGIN__';

export function personaOrigin(): string {
  const served = parseOrigin(SERVED_ORIGIN);
  if (served !== undefined) return served;
  // Served raw (not through the webhead): trust where the script itself came from, as include.js does.
  const script = document.currentScript;
  const src = script instanceof HTMLScriptElement ? script.src : '';
  const origin = src === '' ? undefined : parseOrigin(new URL(src).origin);
  if (origin === undefined) throw new Error('persona: cannot tell which origin this script came from');
  return origin;
}

/**
 * Defines navigator.id with `api` if it is absent; if a navigator.id is already there (include.js on the
 * same page, say) the functions it lacks are added to it. Either way they cannot be overwritten later.
 */
export function installOnNavigatorId(api: Record<string, (...args: never[]) => void>): void {
  const fixed = (value: unknown): PropertyDescriptor => ({
    value,
    configurable: false,
    enumerable: true,
    writable: false,
  });
  const existing: unknown = Reflect.get(navigator, 'id');
  if (existing === undefined) {
    Object.defineProperty(navigator, 'id', fixed(Object.freeze({ ...api })));
    return;
  }
  if (typeof existing !== 'object' || existing === null || !Object.isExtensible(existing)) return;
  for (const [name, fn] of Object.entries(api))
    if (!(name in existing)) Object.defineProperty(existing, name, fixed(fn));
}
