/** Spanish (es): the dialog, the pages and the mails. Keys and {placeholders} as the English sources. */
import type { DialogMessages } from './dialog.ts';
import type { MailMessages } from './mail.ts';
import type { PagesMessages } from './pages.ts';

export const dialogEs: DialogMessages = {
  title: 'Iniciar sesión — Persona',
  heading: 'Persona',
  waiting: 'Esperando al sitio…',
  notOpenedBySite:
    'Esta ventana inicia tu sesión en un sitio. Ábrela desde el botón «Iniciar sesión» del sitio.',
  signInToEyebrow: 'Iniciar sesión en',
  emailPrompt: 'Escribe tu dirección de correo para continuar.',
  tryAgain: 'Reintentar',
  working: 'Un momento…',
  resend: 'Enviar el correo de nuevo',
  resent: 'Hemos enviado el correo a {email} de nuevo.',
  footerNav: 'Acerca de Persona',
  help: 'Ayuda',
  privacy: 'Privacidad',
  cancel: 'Cancelar',
  siteLogoAlt: 'Logotipo de {site}',
  terms: 'Al continuar aceptas los {terms} y la {privacy} de {site}.',
  termsLink: 'términos del servicio',
  privacyLink: 'política de privacidad',
  emailLabel: 'Correo electrónico',
  next: 'Siguiente',
  emailInvalid: 'Escribe una dirección de correo, como nombre@example.com.',
  passwordLabel: 'Contraseña',
  passwordFor: 'Escribe la contraseña de {email}',
  signIn: 'Iniciar sesión',
  forgotPassword: '¿Olvidaste tu contraseña?',
  sharedComputer: 'No es mi ordenador (olvídame al terminar)',
  passwordMissing: 'Escribe tu contraseña.',
  passwordWrong: 'Esa contraseña no es correcta. Revísala y vuelve a intentarlo.',
  accountLocked:
    'Demasiadas contraseñas incorrectas para esta cuenta desde navegadores que no conoce. Vuelve a intentarlo en una hora, inicia sesión desde un navegador que ya hayas usado o restablece la contraseña: elige «¿Olvidaste tu contraseña?».',
  transitionToSecondary:
    '{domain} ya no inicia tu sesión por sí mismo. Escribe tu contraseña de Persona para {email}.',
  newAccountFor: 'Crea una cuenta de Persona para {email}: elige una contraseña.',
  newPasswordLabel: 'Elige una contraseña',
  repeatPasswordLabel: 'Escríbela otra vez',
  passwordRules: 'Al menos 8 caracteres, como máximo 80.',
  passwordTooShort: 'La contraseña debe tener al menos 8 caracteres.',
  passwordTooLong: 'La contraseña debe tener como máximo 80 caracteres.',
  passwordsDiffer: 'Las dos contraseñas no son iguales.',
  createAccount: 'Crear cuenta',
  transitionNoPassword:
    '{domain} ya no inicia tu sesión por sí mismo. Elige una contraseña de Persona para {email}.',
  setPassword: 'Establecer contraseña',
  sendingMail: 'Enviando el correo…',
  checkMail:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para continuar; esta ventana seguirá por sí sola.',
  checkMailReset:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para elegir una contraseña nueva; esta ventana seguirá por sí sola.',
  checkMailAdd:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para añadir la dirección a tu cuenta; esta ventana seguirá por sí sola.',
  checkMailReverify:
    'Tu contraseña se restableció, así que hay que confirmar {email} de nuevo. Hemos enviado un correo; abre el enlace que contiene para continuar.',
  mailThrottled:
    'Se envió un correo a {email} hace menos de un minuto. Espera un minuto y vuelve a intentarlo.',
  useAnother: 'Usar otra dirección',
  signInWithNewPassword: 'Tu contraseña ha cambiado. Inicia sesión con la contraseña nueva.',
  confirmedElsewhere:
    'La dirección se confirmó en otro navegador. Inicia sesión con tu contraseña para continuar.',
  resetNoSuchEmail: 'Persona no tiene ninguna cuenta para {email}.',
  addEmailFor: '¿Añadir {email} a tu cuenta de Persona?',
  addEmail: 'Añadir dirección',
  addNeedsPassword: 'Tu cuenta aún no tiene contraseña: elige una para {email}.',
  pickHeading: 'Elige la dirección que quieres usar',
  signOut: 'Cerrar sesión en Persona',
  signingIn: 'Iniciando sesión…',
  offline:
    'El proveedor de correo de {domain} no responde ahora mismo, así que {email} no puede iniciar sesión. Inténtalo más tarde.',
  notSupported: '{email} no puede iniciar sesión con Persona.',
  primaryChecking: 'Consultando a {domain} sobre {email}…',
  primaryNeedsSignIn: 'Inicia sesión en {domain} para usar {email}. Después volverás aquí.',
  primaryGo: 'Continuar en {domain}',
  primaryFailed: '{domain} no pudo darte un certificado para {email}: {reason}',
  primaryCanceled: 'Se canceló el inicio de sesión en {domain}.',
  primaryUnreachable: '{domain} no respondió a tiempo. Inténtalo más tarde.',
  primaryBadCertificate:
    '{domain} envió un certificado que no corresponde a {email} ni a la clave de esta ventana, así que no se usó.',
  primaryBadAddresses:
    '{domain} no dio ninguna dirección válida para sus páginas de inicio de sesión, así que {email} no puede iniciar sesión.',
  primaryRefused: 'Persona no pudo aceptar el certificado que {domain} dio para {email}: {reason}',
  busy: 'Persona está muy ocupado ahora mismo. Inténtalo de nuevo en un momento.',
  tooMany: 'Demasiados intentos. Espera un minuto y vuelve a intentarlo.',
  unreachable: 'No se pudo contactar con Persona. Comprueba tu conexión y vuelve a intentarlo.',
  noCrypto: 'Este navegador no puede crear claves (no tiene WebCrypto), así que no puede iniciar sesión.',
  wentWrong: 'Algo salió mal: {reason}',
};

export const pagesEs: PagesMessages = {
  landingTitle: 'Confirma tu dirección — Persona',
  accountTitle: 'Tu cuenta — Persona',
  heading: 'Persona',
  emailLabel: 'Correo electrónico',
  passwordLabel: 'Contraseña',
  newPasswordLabel: 'Contraseña nueva',
  repeatPasswordLabel: 'Escribe otra vez la contraseña nueva',
  passwordRules: 'Al menos 8 caracteres, como máximo 80.',
  languageNav: 'Idioma',
  footerLine: 'Persona: una dirección de correo y una contraseña para los sitios que usas.',
  footerNav: 'Acerca de Persona',
  help: 'Ayuda',
  privacy: 'Privacidad',
  checkingLink: 'Comprobando el enlace…',
  confirm: 'Confirmar',
  savePassword: 'Guardar contraseña',
  manageAccount: 'Gestionar tu cuenta de Persona',
  accountHeading: 'Tu cuenta de Persona',
  loading: 'Cargando…',
  signInHeading: 'Inicia sesión para gestionar tu cuenta',
  signInLead:
    'Persona inicia tu sesión en sitios web con tu dirección de correo, así no necesitas una contraseña nueva para cada uno. Inicia sesión aquí para gestionar tus direcciones y tu contraseña.',
  signIn: 'Iniciar sesión',
  forgotPassword: '¿Olvidaste tu contraseña?',
  newHere: '¿Eres nuevo en Persona?',
  createAccount: 'Crear una cuenta',
  signUpHeading: 'Crear una cuenta de Persona',
  aboutHeading: '¿Qué es Persona?',
  aboutText:
    'Persona es un servicio de inicio de sesión: un sitio que ofrece «Inicia sesión con tu correo» pide a Persona que confirme que la dirección es tuya.',
  aboutPoint1: 'Una sola contraseña para todos los sitios que usan Persona; los sitios nunca la ven.',
  aboutPoint2: 'Los sitios solo conocen la dirección de correo que tú decides darles.',
  aboutPoint3:
    'Las direcciones de proveedores de correo con su propio inicio de sesión las confirman esos proveedores.',
  privacyHeading: 'Tu privacidad',
  privacyText:
    'Persona guarda tus direcciones y un hash de tu contraseña, nunca la contraseña en sí. No le dice a ningún sitio dónde más inicias sesión y solo envía correos para confirmar una dirección o restablecer una contraseña.',
  emailsHeading: 'Tus direcciones de correo',
  signOut: 'Cerrar sesión',
  addHeading: 'Añadir una dirección',
  addButton: 'Añadir dirección',
  addNeedsPassword:
    'Tu cuenta aún no tiene contraseña. Elige una: con ella iniciarás sesión con esta dirección.',
  passwordHeading: 'Cambiar tu contraseña',
  currentPasswordLabel: 'Contraseña actual',
  changePassword: 'Cambiar contraseña',
  cancelHeading: 'Eliminar tu cuenta',
  cancelSure: 'Entiendo que esto elimina mi cuenta de Persona y todas sus direcciones.',
  cancelButton: 'Eliminar mi cuenta',
  passwordMissing: 'Escribe tu contraseña.',
  passwordWrong: 'Esa contraseña no es correcta. Revísala y vuelve a intentarlo.',
  passwordTooShort: 'La contraseña debe tener al menos 8 caracteres.',
  passwordTooLong: 'La contraseña debe tener como máximo 80 caracteres.',
  passwordsDiffer: 'Las dos contraseñas no son iguales.',
  busy: 'Persona está muy ocupado ahora mismo. Inténtalo de nuevo en un momento.',
  tooMany: 'Demasiados intentos. Espera un minuto y vuelve a intentarlo.',
  unreachable: 'No se pudo contactar con Persona. Comprueba tu conexión y vuelve a intentarlo.',
  sessionEnded: 'Tu sesión ha terminado. Recarga la página para continuar.',
  wentWrong: 'Algo salió mal: {reason}',
  verifyHeading: 'Confirma tu dirección de correo',
  resetHeading: 'Elige una contraseña nueva',
  transitionHeading: 'Establece tu contraseña de Persona',
  linkBroken:
    'Este enlace está incompleto. Abre el enlace completo desde el correo o cópialo entero en la barra de direcciones.',
  linkUsed:
    'Este enlace ya se usó o ha caducado. Vuelve a empezar desde el sitio en el que estabas iniciando sesión.',
  signUpPasswordLabel: 'La contraseña que elegiste al registrarte',
  accountPasswordLabel: 'Tu contraseña de Persona',
  transitionPasswordLabel: 'La contraseña que elegiste para Persona',
  passwordFor: 'Escribe tu contraseña para confirmar {email}.',
  newPasswordFor: 'Elige una contraseña nueva para {email}.',
  confirming: 'Confirmando {email}…',
  confirmed:
    'Tu dirección {email} está confirmada. Puedes cerrar esta pestaña; la ventana de inicio de sesión seguirá por sí sola.',
  resetDone:
    'Tu contraseña nueva está guardada y {email} está confirmada. Puedes cerrar esta pestaña; la ventana de inicio de sesión seguirá por sí sola.',
  transitionDone:
    'Tu contraseña de Persona está establecida para {email}. Puedes cerrar esta pestaña; la ventana de inicio de sesión seguirá por sí sola.',
  emailInvalid: 'Escribe una dirección de correo, como nombre@example.com.',
  signInWrong: 'La dirección de correo y la contraseña no coinciden. Revísalas y vuelve a intentarlo.',
  primaryAddress:
    '{email} inicia sesión en su propio proveedor, {domain}, no con una contraseña de Persona. Usa la ventana de inicio de sesión de un sitio y continúa en {domain}.',
  noSuchAccount: 'Persona no tiene ninguna cuenta para {email}.',
  alreadyAccount:
    '{email} ya tiene una cuenta de Persona. Inicia sesión o elige «¿Olvidaste tu contraseña?».',
  resetSent:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para elegir una contraseña nueva; esta página se actualiza sola.',
  signUpSent:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para terminar; esta página se actualiza sola.',
  mailDoneSignIn: 'Hecho. Inicia sesión con tu dirección de correo y tu contraseña.',
  accountLocked:
    'Demasiadas contraseñas incorrectas para esta cuenta desde navegadores que no conoce. Vuelve a intentarlo en una hora, inicia sesión desde un navegador que ya hayas usado o restablece la contraseña («¿Olvidaste tu contraseña?»).',
  noEmails: 'Esta cuenta no tiene ninguna dirección de correo.',
  remove: 'Quitar',
  removeLabel: 'Quitar {email}',
  removeSure: 'Sí, quitar {email}',
  removeAsk: '¿Quitar {email} de tu cuenta? Pulsa el botón otra vez para confirmar.',
  removed: '{email} se ha quitado de tu cuenta.',
  addSent:
    'Hemos enviado un correo a {email}. Abre el enlace que contiene para añadir la dirección; esta página se actualiza sola.',
  addDone: '{email} se ha añadido a tu cuenta.',
  addFailed: '{email} no se añadió: su enlace se sustituyó o ya no es válido. Inténtalo de nuevo.',
  addRefused: 'No se pudo añadir la dirección: {reason}',
  mailThrottled:
    'Se envió un correo a esa dirección hace menos de un minuto. Espera un minuto y vuelve a intentarlo.',
  passwordChanged:
    'Tu contraseña ha cambiado. Se ha cerrado la sesión en los demás navegadores conectados a esta cuenta.',
  oldPasswordWrong: 'Tu contraseña actual no es correcta.',
  signedOut: 'Has cerrado sesión.',
  cancelUnticked: 'Marca primero la casilla para confirmar.',
  cancelled: 'Tu cuenta se ha eliminado.',
};

export const mailEs: MailMessages = {
  newSubject: 'Confirma tu dirección de correo para {site}',
  newLead: 'Para terminar de iniciar sesión en {site} con {email}, confirma tu dirección de correo.',
  newAction: 'Confirmar tu dirección de correo',
  addSubject: 'Confirma tu dirección de correo para {site}',
  addLead: 'Para añadir {email} a tu cuenta de Persona e iniciar sesión en {site}, confirma la dirección.',
  addAction: 'Confirmar esta dirección',
  reverifySubject: 'Confirma tu dirección de correo para {site}',
  reverifyLead:
    'Tu contraseña de Persona se restableció, así que hay que confirmar {email} de nuevo antes de usarla en {site}.',
  reverifyAction: 'Confirmar esta dirección',
  resetSubject: 'Restablece tu contraseña de Persona para {site}',
  resetLead:
    'Alguien, esperamos que tú, pidió restablecer la contraseña de Persona de {email}. Elige una contraseña nueva para iniciar sesión en {site}.',
  resetAction: 'Elegir una contraseña nueva',
  transitionSubject: 'Establece tu contraseña de Persona para {site}',
  transitionLead:
    'Tu proveedor de correo ya no inicia tu sesión en Persona para {email}. Elige una contraseña para seguir iniciando sesión en {site}.',
  transitionAction: 'Elegir una contraseña',
  ignore: 'Si no lo pediste, ignora este mensaje: nada cambia mientras no se abra el enlace.',
  sentBy: 'Enviado por Persona, el servicio de inicio de sesión que usa {site}.',
};
