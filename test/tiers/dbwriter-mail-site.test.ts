// Issue 18, "Mails": a verification mail names the site by the name it gave (`siteName` on the stage_*
// ops), carries its colour and logo, and speaks the person's language (Accept-Language, as the router
// forwards it). A real dbwriter, SQLite and a real SMTP server (test/helpers/smtp.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, startDbwriter } from './dbwriter-harness.ts';

async function started(t: TestContext) {
  const h = await startDbwriter();
  t.after(() => h.close());
  return h;
}

const LOGO = 'https://rp.example.org/static/logo.png';

test("a staging mail names the site by its name, in its colour with its logo, in the person's language", async (t) => {
  const h = await started(t);
  const b = h.browser('198.51.100.7', { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' });
  b.useSession({});
  const staged = await b.post('stage_user', {
    email: 'anna@example.com',
    pass: 'anna password',
    site: SITE,
    siteName: 'Beispiel & Söhne',
    backgroundColor: 'a1b2c3',
    siteLogo: LOGO,
  });
  assert.equal(staged.status, 200, staged.text);
  assert.deepEqual(staged.json(), { success: true }, 'the answer is unchanged');

  const mail = await h.sink.waitFor('anna@example.com', 10_000);
  assert.equal(mail.subject, 'Bestätigen Sie Ihre E-Mail-Adresse für Beispiel & Söhne');
  assert.doesNotMatch(mail.subject, /rp\.example\.org/, 'the name, not the host');
  const html = String(mail.html);
  assert.match(html, /<html lang="de">/);
  assert.match(html, /background:#a1b2c3;/, "the site's colour, with the '#' the wsapi let it leave out");
  assert.ok(html.includes(`<img src="${LOGO}"`), "the site's logo");
  assert.ok(html.includes('Beispiel &amp; Söhne'), 'the name, escaped');
  assert.match(String(mail.text), /Beispiel & Söhne/);
  assert.match(String(mail.text), /verify_email_address\?token=[A-Za-z0-9]{48}/);
  assert.equal(mail.headers.get('x-browserid-relyingparty'), SITE, 'the header still names the origin');
});

test('without a name, colour or logo the mail names the site by its host, in the nearest language', async (t) => {
  const h = await started(t);
  await h.account('bruno@example.com', 'bruno password');
  const b = h.browser('198.51.100.8', { 'accept-language': 'fr-CA, en;q=0.5' });
  b.useSession({});
  const staged = await b.post('stage_reset', { email: 'bruno@example.com', site: SITE });
  assert.deepEqual(staged.json(), { success: true });

  const mail = await h.sink.waitFor('bruno@example.com', 10_000);
  assert.equal(mail.subject, 'Réinitialisez votre mot de passe Persona pour rp.example.org');
  const html = String(mail.html);
  assert.match(html, /<html lang="fr">/);
  assert.match(html, /background:#1f5fbf;/, 'our own colour');
  assert.doesNotMatch(html, /<img /, 'no logo');
});

test('a bad siteName is refused with a 400 naming it, and nothing is staged or mailed', async (t) => {
  const h = await started(t);
  const b = h.browser();
  b.useSession({});
  const bad: unknown[] = [
    'x'.repeat(101),
    '',
    '   ',
    'Shop\r\nBcc: everyone@example.net',
    'Bell\u0007',
    'Shop\u202Egnp.exe',
    'Line\u2028break',
    42,
  ];
  for (const siteName of bad) {
    const res = await b.post('stage_user', {
      email: 'cleo@example.com',
      pass: 'cleo password',
      site: SITE,
      siteName,
    });
    assert.equal(res.status, 400, `${JSON.stringify(siteName)}: ${res.text}`);
    assert.deepEqual(res.json(), {
      success: false,
      reason: 'siteName: must be 1 to 100 characters without control characters',
    });
  }
  assert.equal(b.session(h.now())?.pendingCreation, undefined, 'no token in the session');
  assert.equal((await h.writer.outboxDepth()).waiting, 0, 'no mail queued');
  assert.equal(h.sink.attempts, 0, 'no mail sent');

  // The bound itself is taken.
  const name = `${'n'.repeat(99)}é`;
  const ok = await b.post('stage_user', {
    email: 'cleo@example.com',
    pass: 'cleo password',
    site: SITE,
    siteName: name,
  });
  assert.deepEqual(ok.json(), { success: true });
  const mail = await h.sink.waitFor('cleo@example.com', 10_000);
  assert.equal(mail.subject, `Confirm your email address for ${name}`);
});
