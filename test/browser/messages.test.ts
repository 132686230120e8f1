// The message catalogues and the locale machinery (src/text/i18n.ts, src/text/messages/*).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  acceptedLanguages,
  format,
  negotiateLocale,
  translator,
  type Catalogue,
} from '../../src/text/i18n.ts';
import { dialogMessages } from '../../src/text/messages/dialog.ts';
import { mailMessages } from '../../src/text/messages/mail.ts';
import { pagesMessages } from '../../src/text/messages/pages.ts';

/** The languages the dialog, the pages and the mails must all speak (issue 18). */
const LOCALES = ['en', 'de', 'fr', 'es', 'pt-BR'];

const placeholders = (text: string): string[] =>
  [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

const CATALOGUES: Record<string, Readonly<Record<string, Partial<Catalogue>>>> = {
  dialog: dialogMessages,
  pages: pagesMessages,
  mail: mailMessages,
};

test('every catalogue speaks every language, and no key is missing in any of them', () => {
  for (const [name, catalogues] of Object.entries(CATALOGUES)) {
    assert.deepEqual(Object.keys(catalogues).sort(), [...LOCALES].sort(), `${name}: its locales`);
    const keys = Object.keys(catalogues.en ?? {});
    for (const locale of LOCALES) {
      const missing = keys.filter((key) => typeof catalogues[locale]?.[key] !== 'string');
      assert.deepEqual(missing, [], `${name}/${locale} lacks these keys`);
    }
  }
});

test('every locale of every catalogue has only English keys, with the same placeholders', () => {
  for (const [name, catalogues] of Object.entries(CATALOGUES)) {
    const en = catalogues.en ?? {};
    assert.ok(Object.keys(en).length > 5, `${name} has English messages`);
    for (const [locale, messages] of Object.entries(catalogues)) {
      for (const [key, text] of Object.entries(messages)) {
        const source = en[key];
        assert.equal(typeof source, 'string', `${name}/${locale}: ${key} is not an English key`);
        assert.deepEqual(
          placeholders(String(text)),
          placeholders(String(source)),
          `${name}/${locale}: ${key}`,
        );
        assert.ok(String(text).trim() !== '', `${name}/${locale}: ${key} is empty`);
      }
    }
  }
});

test('every message key the browser code uses is in its catalogue, and every message is used', () => {
  const dir = join(import.meta.dirname, '../../src/browser');
  const markup = join(import.meta.dirname, '../../src/tiers/webhead/markup');
  const sources = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(dir, f), 'utf8')),
    ...readdirSync(markup).map((f) => readFileSync(join(markup, f), 'utf8')),
    readFileSync(join(markup, '../static.ts'), 'utf8'),
  ].join('\n');
  const used = new Set([...sources.matchAll(/\bt\(\s*'(\w+)'/g)].map((m) => m[1]));
  // The mails' keys are looked up by kind (src/mail/templates.ts: `${kind}Subject`), so they are not here.
  const known = new Set([...Object.keys(dialogMessages.en), ...Object.keys(pagesMessages.en)]);
  for (const key of used) assert.ok(known.has(key ?? ''), `t('${String(key)}') has no message`);
  // A key may also be looked up indirectly (a variable): those are named where they are used.
  for (const key of known)
    assert.ok(used.has(key) || sources.includes(`'${key}'`), `the message ${key} is never used`);
});

test('format fills {placeholders} and leaves unknown ones visible', () => {
  assert.equal(format('Sign in to {site}', { site: 'a.example' }), 'Sign in to a.example');
  assert.equal(format('{n} of {n}', { n: 2 }), '2 of 2');
  assert.equal(format('Hello {who}', {}), 'Hello {who}');
  assert.equal(format('No {vars}'), 'No {vars}');
});

test('Accept-Language is read by quality, and the best available locale wins, English otherwise', () => {
  assert.deepEqual(acceptedLanguages('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5'), [
    'fr-CH',
    'fr',
    'en',
    'de',
    '*',
  ]);
  assert.deepEqual(acceptedLanguages('de;q=0, es;q=0.3, pt-BR'), ['pt-BR', 'es']);
  assert.deepEqual(acceptedLanguages(undefined), []);
  assert.equal(negotiateLocale(['pt-BR', 'es'], ['en', 'es', 'pt']), 'pt');
  assert.equal(negotiateLocale(['pt-BR'], ['en', 'pt-BR', 'pt']), 'pt-BR');
  assert.equal(negotiateLocale(['ES'], ['en', 'es']), 'es');
  assert.equal(negotiateLocale(['*', 'ja'], ['en', 'es']), 'en');
  assert.equal(negotiateLocale([], ['en']), 'en');
});

test('a translator uses its locale and falls back to English key by key', () => {
  const catalogues = {
    en: { hello: 'Hello {name}', bye: 'Goodbye' },
    es: { hello: 'Hola {name}' },
  };
  const es = translator(catalogues, 'es');
  assert.equal(es('hello', { name: 'Ana' }), 'Hola Ana');
  assert.equal(es('bye'), 'Goodbye');
  assert.equal(translator(catalogues, 'xx')('hello', { name: 'Bo' }), 'Hello Bo');
});

test('mails name the site, carry its colour and https logo, and speak the locale asked for', async () => {
  const { renderMail } = await import('../../src/mail/templates.ts');
  const link = 'https://login.persona.test/verify_email_address?token=abc';
  const mail = renderMail('new', {
    email: 'ann@example.com',
    site: 'Ann’s <Books>',
    link,
    backgroundColor: '#ffcc00',
    siteLogo: 'https://books.example/logo.png',
    locale: 'de-DE',
  });
  assert.equal(mail.subject, 'Bestätigen Sie Ihre E-Mail-Adresse für Ann’s <Books>');
  assert.match(mail.text, /Um die Anmeldung bei Ann’s <Books> mit ann@example\.com abzuschließen/);
  assert.ok(mail.text.includes(link));
  assert.match(mail.html, /<html lang="de">/);
  // The site's colour with black text (it contrasts more with yellow), its logo, its name escaped.
  assert.match(mail.html, /background:#ffcc00;color:#000000/);
  assert.match(mail.html, /<img src="https:\/\/books\.example\/logo\.png"/);
  assert.ok(mail.html.includes('Ann’s &lt;Books&gt;') && !mail.html.includes('<Books>'));
  // An http logo or a colour that is not one is left out; no locale is English.
  const plain = renderMail('reset', {
    email: 'ann@example.com',
    site: 'books.example',
    link,
    backgroundColor: 'red;x',
    siteLogo: 'http://books.example/logo.png',
  });
  assert.equal(plain.subject, 'Reset your Persona password for books.example');
  assert.doesNotMatch(plain.html, /<img|red;x/);
  for (const locale of ['fr', 'es', 'pt-BR'])
    assert.doesNotMatch(
      renderMail('add', { email: 'a@b.example', site: 'S', link, locale }).subject,
      /^Confirm your/,
    );
});
