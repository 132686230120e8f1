/** German (de): the dialog, the pages and the mails. Keys and {placeholders} as the English sources. */
import type { DialogMessages } from './dialog.ts';
import type { MailMessages } from './mail.ts';
import type { PagesMessages } from './pages.ts';

export const dialogDe: DialogMessages = {
  title: 'Anmelden — Persona',
  heading: 'Persona',
  waiting: 'Warten auf die Website…',
  notOpenedBySite:
    'Dieses Fenster meldet Sie bei einer Website an. Öffnen Sie es über die Schaltfläche „Anmelden“ der Website.',
  signInToEyebrow: 'Anmelden bei',
  emailPrompt: 'Geben Sie Ihre E-Mail-Adresse ein, um fortzufahren.',
  tryAgain: 'Erneut versuchen',
  working: 'Einen Moment…',
  resend: 'E-Mail erneut senden',
  resent: 'Wir haben die E-Mail an {email} erneut gesendet.',
  footerNav: 'Über Persona',
  help: 'Hilfe',
  privacy: 'Datenschutz',
  cancel: 'Abbrechen',
  siteLogoAlt: 'Logo von {site}',
  terms: 'Wenn Sie fortfahren, akzeptieren Sie die {terms} und die {privacy} von {site}.',
  termsLink: 'Nutzungsbedingungen',
  privacyLink: 'Datenschutzerklärung',
  emailLabel: 'E-Mail-Adresse',
  next: 'Weiter',
  emailInvalid: 'Geben Sie eine E-Mail-Adresse ein, etwa name@example.com.',
  passwordLabel: 'Passwort',
  passwordFor: 'Geben Sie das Passwort für {email} ein',
  signIn: 'Anmelden',
  forgotPassword: 'Passwort vergessen?',
  sharedComputer: 'Das ist nicht mein Computer (danach alles vergessen)',
  passwordMissing: 'Geben Sie Ihr Passwort ein.',
  passwordWrong: 'Das Passwort stimmt nicht. Prüfen Sie es und versuchen Sie es erneut.',
  accountLocked:
    'Zu viele falsche Passwörter für dieses Konto aus Browsern, die es nicht kennt. Versuchen Sie es in einer Stunde erneut, melden Sie sich in einem Browser an, den Sie schon benutzt haben, oder setzen Sie das Passwort zurück: Wählen Sie „Passwort vergessen?“.',
  transitionToSecondary:
    '{domain} meldet Sie nicht mehr selbst an. Geben Sie Ihr Persona-Passwort für {email} ein.',
  newAccountFor: 'Persona-Konto für {email} erstellen: Wählen Sie ein Passwort.',
  newPasswordLabel: 'Passwort wählen',
  repeatPasswordLabel: 'Passwort wiederholen',
  passwordRules: 'Mindestens 8, höchstens 80 Zeichen.',
  passwordTooShort: 'Das Passwort muss mindestens 8 Zeichen lang sein.',
  passwordTooLong: 'Das Passwort darf höchstens 80 Zeichen lang sein.',
  passwordsDiffer: 'Die beiden Passwörter stimmen nicht überein.',
  createAccount: 'Konto erstellen',
  transitionNoPassword:
    '{domain} meldet Sie nicht mehr selbst an. Wählen Sie ein Persona-Passwort für {email}.',
  setPassword: 'Passwort festlegen',
  sendingMail: 'Die E-Mail wird gesendet…',
  checkMail:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um fortzufahren; dieses Fenster macht dann von selbst weiter.',
  checkMailReset:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um ein neues Passwort zu wählen; dieses Fenster macht dann von selbst weiter.',
  checkMailAdd:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um die Adresse Ihrem Konto hinzuzufügen; dieses Fenster macht dann von selbst weiter.',
  checkMailReverify:
    'Ihr Passwort wurde zurückgesetzt, daher muss {email} erneut bestätigt werden. Wir haben eine E-Mail gesendet; öffnen Sie den Link darin, um fortzufahren.',
  mailThrottled:
    'Vor weniger als einer Minute wurde eine E-Mail an {email} gesendet. Warten Sie eine Minute und versuchen Sie es dann erneut.',
  useAnother: 'Andere Adresse verwenden',
  signInWithNewPassword: 'Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen Passwort an.',
  confirmedElsewhere:
    'Die Adresse wurde in einem anderen Browser bestätigt. Melden Sie sich mit Ihrem Passwort an, um fortzufahren.',
  resetNoSuchEmail: 'Persona hat kein Konto für {email}.',
  addEmailFor: '{email} zu Ihrem Persona-Konto hinzufügen?',
  addEmail: 'Adresse hinzufügen',
  addNeedsPassword: 'Ihr Konto hat noch kein Passwort: Wählen Sie eines für {email}.',
  pickHeading: 'Wählen Sie die Adresse, die Sie verwenden möchten',
  signOut: 'Von Persona abmelden',
  signingIn: 'Sie werden angemeldet…',
  offline:
    'Der E-Mail-Anbieter von {domain} antwortet gerade nicht, daher kann sich {email} nicht anmelden. Versuchen Sie es später erneut.',
  notSupported: '{email} kann sich nicht mit Persona anmelden.',
  primaryChecking: '{domain} wird zu {email} befragt…',
  primaryNeedsSignIn:
    'Melden Sie sich bei {domain} an, um {email} zu verwenden. Danach kommen Sie hierher zurück.',
  primaryGo: 'Weiter zu {domain}',
  primaryFailed: '{domain} konnte Ihnen kein Zertifikat für {email} ausstellen: {reason}',
  primaryCanceled: 'Die Anmeldung bei {domain} wurde abgebrochen.',
  primaryUnreachable: '{domain} hat nicht rechtzeitig geantwortet. Versuchen Sie es später erneut.',
  primaryBadCertificate:
    '{domain} hat ein Zertifikat gesendet, das nicht für {email} und den Schlüssel dieses Fensters gilt; es wurde nicht verwendet.',
  primaryBadAddresses:
    '{domain} hat keine brauchbare Adresse für seine Anmeldeseiten angegeben, daher kann sich {email} nicht anmelden.',
  primaryRefused:
    'Persona konnte das Zertifikat, das {domain} für {email} ausgestellt hat, nicht annehmen: {reason}',
  busy: 'Persona ist gerade ausgelastet. Versuchen Sie es gleich noch einmal.',
  tooMany: 'Zu viele Versuche. Warten Sie eine Minute und versuchen Sie es erneut.',
  unreachable: 'Persona ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
  noCrypto:
    'Dieser Browser kann keine Schlüssel erzeugen (ihm fehlt WebCrypto), daher ist keine Anmeldung möglich.',
  wentWrong: 'Etwas ist schiefgegangen: {reason}',
};

export const pagesDe: PagesMessages = {
  landingTitle: 'Adresse bestätigen — Persona',
  accountTitle: 'Ihr Konto — Persona',
  heading: 'Persona',
  emailLabel: 'E-Mail-Adresse',
  passwordLabel: 'Passwort',
  newPasswordLabel: 'Neues Passwort',
  repeatPasswordLabel: 'Neues Passwort wiederholen',
  passwordRules: 'Mindestens 8, höchstens 80 Zeichen.',
  languageNav: 'Sprache',
  footerLine: 'Persona: eine E-Mail-Adresse und ein Passwort für die Websites, die Sie nutzen.',
  footerNav: 'Über Persona',
  help: 'Hilfe',
  privacy: 'Datenschutz',
  checkingLink: 'Der Link wird geprüft…',
  confirm: 'Bestätigen',
  savePassword: 'Passwort speichern',
  manageAccount: 'Ihr Persona-Konto verwalten',
  accountHeading: 'Ihr Persona-Konto',
  loading: 'Wird geladen…',
  signInHeading: 'Anmelden, um Ihr Konto zu verwalten',
  signInLead:
    'Persona meldet Sie mit Ihrer E-Mail-Adresse bei Websites an, sodass Sie nicht für jede ein neues Passwort brauchen. Melden Sie sich hier an, um Ihre Adressen und Ihr Passwort zu verwalten.',
  signIn: 'Anmelden',
  forgotPassword: 'Passwort vergessen?',
  newHere: 'Neu bei Persona?',
  createAccount: 'Konto erstellen',
  signUpHeading: 'Persona-Konto erstellen',
  aboutHeading: 'Was ist Persona?',
  aboutText:
    'Persona ist ein Anmeldedienst: Eine Website, die „Mit Ihrer E-Mail-Adresse anmelden“ anbietet, lässt sich von Persona bestätigen, dass die Adresse Ihnen gehört.',
  aboutPoint1: 'Ein Passwort für alle Websites, die Persona nutzen; die Websites sehen es nie.',
  aboutPoint2: 'Websites erfahren nur die E-Mail-Adresse, die Sie ihnen geben.',
  aboutPoint3: 'Adressen von E-Mail-Anbietern mit eigener Anmeldung bestätigen diese Anbieter selbst.',
  privacyHeading: 'Ihre Privatsphäre',
  privacyText:
    'Persona speichert Ihre Adressen und einen Hash Ihres Passworts, nie das Passwort selbst. Persona verrät keiner Website, wo Sie sich sonst anmelden, und sendet E-Mails nur, um eine Adresse zu bestätigen oder ein Passwort zurückzusetzen.',
  emailsHeading: 'Ihre E-Mail-Adressen',
  signOut: 'Abmelden',
  addHeading: 'Adresse hinzufügen',
  addButton: 'Adresse hinzufügen',
  addNeedsPassword:
    'Ihr Konto hat noch kein Passwort. Wählen Sie eines: Damit melden Sie sich mit dieser Adresse an.',
  passwordHeading: 'Passwort ändern',
  currentPasswordLabel: 'Aktuelles Passwort',
  changePassword: 'Passwort ändern',
  cancelHeading: 'Konto löschen',
  cancelSure: 'Mir ist klar, dass damit mein Persona-Konto mit allen Adressen gelöscht wird.',
  cancelButton: 'Mein Konto löschen',
  passwordMissing: 'Geben Sie Ihr Passwort ein.',
  passwordWrong: 'Das Passwort stimmt nicht. Prüfen Sie es und versuchen Sie es erneut.',
  passwordTooShort: 'Das Passwort muss mindestens 8 Zeichen lang sein.',
  passwordTooLong: 'Das Passwort darf höchstens 80 Zeichen lang sein.',
  passwordsDiffer: 'Die beiden Passwörter stimmen nicht überein.',
  busy: 'Persona ist gerade ausgelastet. Versuchen Sie es gleich noch einmal.',
  tooMany: 'Zu viele Versuche. Warten Sie eine Minute und versuchen Sie es erneut.',
  unreachable: 'Persona ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
  sessionEnded: 'Ihre Sitzung ist abgelaufen. Laden Sie die Seite neu, um fortzufahren.',
  wentWrong: 'Etwas ist schiefgegangen: {reason}',
  verifyHeading: 'E-Mail-Adresse bestätigen',
  resetHeading: 'Neues Passwort wählen',
  transitionHeading: 'Persona-Passwort festlegen',
  linkBroken:
    'Dieser Link ist unvollständig. Öffnen Sie den ganzen Link aus der E-Mail oder kopieren Sie ihn vollständig in die Adressleiste.',
  linkUsed:
    'Dieser Link wurde schon verwendet oder ist abgelaufen. Beginnen Sie erneut auf der Website, bei der Sie sich anmelden wollten.',
  signUpPasswordLabel: 'Das Passwort, das Sie bei der Registrierung gewählt haben',
  accountPasswordLabel: 'Ihr Persona-Passwort',
  transitionPasswordLabel: 'Das Passwort, das Sie für Persona gewählt haben',
  passwordFor: 'Geben Sie Ihr Passwort ein, um {email} zu bestätigen.',
  newPasswordFor: 'Wählen Sie ein neues Passwort für {email}.',
  confirming: '{email} wird bestätigt…',
  confirmed:
    'Ihre Adresse {email} ist bestätigt. Sie können diesen Tab schließen; das Anmeldefenster macht von selbst weiter.',
  resetDone:
    'Ihr neues Passwort ist gespeichert und {email} bestätigt. Sie können diesen Tab schließen; das Anmeldefenster macht von selbst weiter.',
  transitionDone:
    'Ihr Persona-Passwort für {email} ist festgelegt. Sie können diesen Tab schließen; das Anmeldefenster macht von selbst weiter.',
  emailInvalid: 'Geben Sie eine E-Mail-Adresse ein, etwa name@example.com.',
  signInWrong:
    'E-Mail-Adresse und Passwort passen nicht zusammen. Prüfen Sie beides und versuchen Sie es erneut.',
  primaryAddress:
    '{email} meldet sich bei ihrem eigenen Anbieter {domain} an, nicht mit einem Persona-Passwort. Nutzen Sie das Anmeldefenster einer Website und fahren Sie bei {domain} fort.',
  noSuchAccount: 'Persona hat kein Konto für {email}.',
  alreadyAccount:
    '{email} hat schon ein Persona-Konto. Melden Sie sich an oder wählen Sie „Passwort vergessen?“.',
  resetSent:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um ein neues Passwort zu wählen; diese Seite aktualisiert sich von selbst.',
  signUpSent:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um abzuschließen; diese Seite aktualisiert sich von selbst.',
  mailDoneSignIn: 'Erledigt. Melden Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an.',
  accountLocked:
    'Zu viele falsche Passwörter für dieses Konto aus Browsern, die es nicht kennt. Versuchen Sie es in einer Stunde erneut, melden Sie sich in einem Browser an, den Sie schon benutzt haben, oder setzen Sie das Passwort zurück („Passwort vergessen?“).',
  noEmails: 'Dieses Konto hat keine E-Mail-Adresse.',
  remove: 'Entfernen',
  removeLabel: '{email} entfernen',
  removeSure: 'Ja, {email} entfernen',
  removeAsk: '{email} aus Ihrem Konto entfernen? Drücken Sie die Schaltfläche zur Bestätigung noch einmal.',
  removed: '{email} wurde aus Ihrem Konto entfernt.',
  addSent:
    'Wir haben eine E-Mail an {email} gesendet. Öffnen Sie den Link darin, um die Adresse hinzuzufügen; diese Seite aktualisiert sich von selbst.',
  addDone: '{email} wurde Ihrem Konto hinzugefügt.',
  addFailed:
    '{email} wurde nicht hinzugefügt: Der Link wurde ersetzt oder ist nicht mehr gültig. Versuchen Sie es erneut.',
  addRefused: 'Die Adresse konnte nicht hinzugefügt werden: {reason}',
  mailThrottled:
    'Vor weniger als einer Minute wurde eine E-Mail an diese Adresse gesendet. Warten Sie eine Minute und versuchen Sie es dann erneut.',
  passwordChanged:
    'Ihr Passwort ist geändert. Andere Browser, die bei diesem Konto angemeldet waren, sind abgemeldet.',
  oldPasswordWrong: 'Ihr aktuelles Passwort stimmt nicht.',
  signedOut: 'Sie sind abgemeldet.',
  cancelUnticked: 'Setzen Sie zuerst das Häkchen zur Bestätigung.',
  cancelled: 'Ihr Konto ist gelöscht.',
};

export const mailDe: MailMessages = {
  newSubject: 'Bestätigen Sie Ihre E-Mail-Adresse für {site}',
  newLead: 'Um die Anmeldung bei {site} mit {email} abzuschließen, bestätigen Sie Ihre E-Mail-Adresse.',
  newAction: 'E-Mail-Adresse bestätigen',
  addSubject: 'Bestätigen Sie Ihre E-Mail-Adresse für {site}',
  addLead:
    'Um {email} Ihrem Persona-Konto hinzuzufügen und sich bei {site} anzumelden, bestätigen Sie die Adresse.',
  addAction: 'Diese Adresse bestätigen',
  reverifySubject: 'Bestätigen Sie Ihre E-Mail-Adresse für {site}',
  reverifyLead:
    'Ihr Persona-Passwort wurde zurückgesetzt, daher muss {email} erneut bestätigt werden, bevor Sie sie bei {site} verwenden können.',
  reverifyAction: 'Diese Adresse bestätigen',
  resetSubject: 'Setzen Sie Ihr Persona-Passwort für {site} zurück',
  resetLead:
    'Jemand, hoffentlich Sie, möchte das Persona-Passwort von {email} zurücksetzen. Wählen Sie ein neues Passwort, um sich bei {site} anzumelden.',
  resetAction: 'Neues Passwort wählen',
  transitionSubject: 'Legen Sie Ihr Persona-Passwort für {site} fest',
  transitionLead:
    'Ihr E-Mail-Anbieter meldet Sie für {email} nicht mehr bei Persona an. Wählen Sie ein Passwort, um sich weiter bei {site} anzumelden.',
  transitionAction: 'Passwort wählen',
  ignore:
    'Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Nichts ändert sich, solange der Link nicht geöffnet wird.',
  sentBy: 'Gesendet von Persona, dem Anmeldedienst von {site}.',
};
