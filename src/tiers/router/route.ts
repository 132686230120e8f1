/**
 * Which tier answers a public request, by the original's rules (reference/persona.md §1.2): `/verify`
 * (with or without a query string) to the verifier, wsapi writes to the dbwriter, wsapi reads to the
 * webhead, internal ops 404, unknown ops 400, everything else to the webhead.
 */
import { ServiceError } from '../../http/errors.ts';
import { publicRouteOf, type Tier } from '../../topology/index.ts';
import { findOperation } from '../../wsapi/catalogue.ts';

export type Route = { tier: Tier } | { error: ServiceError };

/** Which tier answers `method url`: the topology's public routes, and the wsapi catalogue for `/wsapi/`. */
export function route(method: string, url: string, fakeVerification = false): Route {
  const path = url.split('?', 1)[0] ?? '';
  const to = publicRouteOf(path);
  if (to !== 'by-op') return { tier: to };
  const name = path.slice('/wsapi/'.length);
  if (name === 'fake_verification' && fakeVerification) return { tier: 'webhead' };
  const op = findOperation(name);
  // Internal before the method: the original called four of them with GET where ours take POST, and its
  // internal-wsapi-test expects 404 for those GETs.
  if (op?.internal) return { error: new ServiceError('not-found', 'no such api') };
  if (!op || op.method !== method.toUpperCase())
    return { error: new ServiceError('bad-request', 'no such api') };
  return { tier: op.writes ? 'dbwriter' : 'webhead' };
}
