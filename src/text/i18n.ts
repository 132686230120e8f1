/**
 * Messages for people, kept in catalogues (src/text/messages/*.ts) so they can be translated without
 * touching the code. English is the source language and every other locale is checked against it
 * (test/browser/messages.test.ts): same keys, same {placeholders}.
 *
 * The webhead renders each page's markup in one locale (chosen from Accept-Language) and writes it into
 * <html lang>; the page's script reads that attribute, so markup and script always speak the same language.
 * This module is imported by the browser bundles and by the webhead: no DOM and no Node here.
 */

/** A catalogue: message key → text with {name} placeholders. */
export type Catalogue = Readonly<Record<string, string>>;
/** English first; other locales may lack keys (English fills in). */
export type Catalogues<C extends Catalogue> = { readonly en: C } & Readonly<Record<string, Partial<C>>>;
export type Vars = Readonly<Record<string, string | number>>;
export type Translate<C extends Catalogue> = (key: keyof C & string, vars?: Vars) => string;

export const SOURCE_LOCALE = 'en';

/** Each locale's own name, for the language switch (written in that language). */
export const LOCALE_NAMES: Readonly<Record<string, string>> = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
  'pt-BR': 'Português (Brasil)',
  ar: 'العربية',
  he: 'עברית',
  fa: 'فارسی',
};

/** Right-to-left scripts: the page gets dir="rtl" (its CSS uses logical properties only). */
const RTL = new Set(['ar', 'he', 'fa', 'ur']);
export const directionOf = (locale: string): 'ltr' | 'rtl' =>
  RTL.has(locale.split('-')[0]?.toLowerCase() ?? '') ? 'rtl' : 'ltr';

/** Replaces {name} with vars.name; a missing variable stays visible, as {name}, rather than vanishing. */
export function format(text: string, vars?: Vars): string {
  if (vars === undefined) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole,
  );
}

/**
 * The best of `available` for the languages the person prefers, in order ("pt-BR" matches "pt-BR", then
 * "pt"); English when none matches.
 */
export function negotiateLocale(preferred: readonly string[], available: readonly string[]): string {
  const byLower = new Map(available.map((locale) => [locale.toLowerCase(), locale]));
  for (const wanted of preferred) {
    const lower = wanted.trim().toLowerCase();
    if (lower === '' || lower === '*') continue;
    const exact = byLower.get(lower) ?? byLower.get(lower.split('-')[0] ?? '');
    if (exact !== undefined) return exact;
  }
  return SOURCE_LOCALE;
}

/** The languages of an Accept-Language header, most wanted first. */
export function acceptedLanguages(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q === undefined ? 1 : Number(q.slice(2));
      return { tag: tag.trim(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.tag !== '' && entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index)
    .map((entry) => entry.tag);
}

export function translator<C extends Catalogue>(catalogues: Catalogues<C>, locale: string): Translate<C> {
  const source: C = catalogues.en;
  const chosen: Partial<C> = catalogues[locale] ?? source;
  return (key, vars) => format((chosen[key] ?? source[key]) as string, vars);
}
