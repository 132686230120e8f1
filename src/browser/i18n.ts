/**
 * The pages' translator. The webhead renders each page in one locale and puts that locale's catalogue in
 * <script type="application/json" id="persona-text"> (not run, so the CSP needs nothing for it); the
 * bundles carry English only, so five languages cost the scripts nothing. A missing key falls back to English.
 */
import { format, type Catalogue, type Translate } from '../text/i18n.ts';

export * from '../text/i18n.ts';

export function pageTranslator<C extends Catalogue>(english: C): Translate<C> {
  let chosen: Partial<Record<string, string>> = {};
  try {
    const parsed: unknown = JSON.parse(document.getElementById('persona-text')?.textContent ?? '{}');
    if (typeof parsed === 'object' && parsed !== null) chosen = parsed;
  } catch {
    // English, then
  }
  return (key, vars) => {
    const text = chosen[key];
    return format(typeof text === 'string' ? text : (english[key] as string), vars);
  };
}
