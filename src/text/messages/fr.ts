/** French (fr): the dialog, the pages and the mails. Keys and {placeholders} as the English sources. */
import type { DialogMessages } from './dialog.ts';
import type { MailMessages } from './mail.ts';
import type { PagesMessages } from './pages.ts';

export const dialogFr: DialogMessages = {
  title: 'Connexion — Persona',
  heading: 'Persona',
  waiting: 'En attente du site…',
  notOpenedBySite:
    'Cette fenêtre vous connecte à un site. Ouvrez-la avec le bouton « Se connecter » du site.',
  signInToEyebrow: 'Se connecter à',
  emailPrompt: 'Saisissez votre adresse e-mail pour continuer.',
  tryAgain: 'Réessayer',
  working: 'Un instant…',
  resend: 'Renvoyer l’e-mail',
  resent: 'Nous avons renvoyé l’e-mail à {email}.',
  footerNav: 'À propos de Persona',
  help: 'Aide',
  privacy: 'Confidentialité',
  cancel: 'Annuler',
  siteLogoAlt: 'Logo de {site}',
  terms: 'En continuant, vous acceptez les {terms} et la {privacy} de {site}.',
  termsLink: 'conditions d’utilisation',
  privacyLink: 'politique de confidentialité',
  emailLabel: 'Adresse e-mail',
  next: 'Suivant',
  emailInvalid: 'Saisissez une adresse e-mail, par exemple nom@example.com.',
  passwordLabel: 'Mot de passe',
  passwordFor: 'Saisissez le mot de passe de {email}',
  signIn: 'Se connecter',
  forgotPassword: 'Mot de passe oublié ?',
  sharedComputer: 'Ce n’est pas mon ordinateur (tout oublier ensuite)',
  passwordMissing: 'Saisissez votre mot de passe.',
  passwordWrong: 'Ce mot de passe n’est pas le bon. Vérifiez-le et réessayez.',
  accountLocked:
    'Trop de mots de passe erronés pour ce compte depuis des navigateurs qu’il ne connaît pas. Réessayez dans une heure, connectez-vous depuis un navigateur déjà utilisé ou réinitialisez le mot de passe : choisissez « Mot de passe oublié ? ».',
  transitionToSecondary:
    '{domain} ne vous connecte plus lui-même. Saisissez votre mot de passe Persona pour {email}.',
  newAccountFor: 'Créez un compte Persona pour {email} : choisissez un mot de passe.',
  newPasswordLabel: 'Choisissez un mot de passe',
  repeatPasswordLabel: 'Saisissez-le à nouveau',
  passwordRules: 'Au moins 8 caractères, au plus 80.',
  passwordTooShort: 'Le mot de passe doit comporter au moins 8 caractères.',
  passwordTooLong: 'Le mot de passe doit comporter au plus 80 caractères.',
  passwordsDiffer: 'Les deux mots de passe ne sont pas identiques.',
  createAccount: 'Créer le compte',
  transitionNoPassword:
    '{domain} ne vous connecte plus lui-même. Choisissez un mot de passe Persona pour {email}.',
  setPassword: 'Définir le mot de passe',
  sendingMail: 'Envoi de l’e-mail…',
  checkMail:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour continuer ; cette fenêtre poursuivra d’elle-même.',
  checkMailReset:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour choisir un nouveau mot de passe ; cette fenêtre poursuivra d’elle-même.',
  checkMailAdd:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour ajouter l’adresse à votre compte ; cette fenêtre poursuivra d’elle-même.',
  checkMailReverify:
    'Votre mot de passe a été réinitialisé : {email} doit donc être confirmée à nouveau. Nous avons envoyé un e-mail ; ouvrez le lien qu’il contient pour continuer.',
  mailThrottled:
    'Un e-mail a été envoyé à {email} il y a moins d’une minute. Patientez une minute, puis réessayez.',
  useAnother: 'Utiliser une autre adresse',
  signInWithNewPassword: 'Votre mot de passe a été modifié. Connectez-vous avec le nouveau mot de passe.',
  confirmedElsewhere:
    'L’adresse a été confirmée dans un autre navigateur. Connectez-vous avec votre mot de passe pour continuer.',
  resetNoSuchEmail: 'Persona n’a aucun compte pour {email}.',
  addEmailFor: 'Ajouter {email} à votre compte Persona ?',
  addEmail: 'Ajouter l’adresse',
  addNeedsPassword: 'Votre compte n’a pas encore de mot de passe : choisissez-en un pour {email}.',
  pickHeading: 'Choisissez l’adresse à utiliser',
  signOut: 'Se déconnecter de Persona',
  signingIn: 'Connexion en cours…',
  offline:
    'Le fournisseur de messagerie de {domain} ne répond pas pour le moment : {email} ne peut donc pas se connecter. Réessayez plus tard.',
  notSupported: '{email} ne peut pas se connecter avec Persona.',
  primaryChecking: 'Interrogation de {domain} au sujet de {email}…',
  primaryNeedsSignIn: 'Connectez-vous chez {domain} pour utiliser {email}. Vous reviendrez ici ensuite.',
  primaryGo: 'Continuer vers {domain}',
  primaryFailed: '{domain} n’a pas pu vous délivrer de certificat pour {email} : {reason}',
  primaryCanceled: 'La connexion chez {domain} a été annulée.',
  primaryUnreachable: '{domain} n’a pas répondu à temps. Réessayez plus tard.',
  primaryBadCertificate:
    '{domain} a envoyé un certificat qui ne correspond pas à {email} et à la clé de cette fenêtre ; il n’a pas été utilisé.',
  primaryBadAddresses:
    '{domain} n’a donné aucune adresse utilisable pour ses pages de connexion : {email} ne peut donc pas se connecter.',
  primaryRefused: 'Persona n’a pas pu accepter le certificat que {domain} a délivré pour {email} : {reason}',
  busy: 'Persona est très sollicité en ce moment. Réessayez dans un instant.',
  tooMany: 'Trop de tentatives. Patientez une minute et réessayez.',
  unreachable: 'Impossible de joindre Persona. Vérifiez votre connexion et réessayez.',
  noCrypto:
    'Ce navigateur ne sait pas créer de clés (il n’a pas WebCrypto) : il ne peut donc pas vous connecter.',
  wentWrong: 'Une erreur s’est produite : {reason}',
};

export const pagesFr: PagesMessages = {
  landingTitle: 'Confirmez votre adresse — Persona',
  accountTitle: 'Votre compte — Persona',
  heading: 'Persona',
  emailLabel: 'Adresse e-mail',
  passwordLabel: 'Mot de passe',
  newPasswordLabel: 'Nouveau mot de passe',
  repeatPasswordLabel: 'Saisissez à nouveau le nouveau mot de passe',
  passwordRules: 'Au moins 8 caractères, au plus 80.',
  languageNav: 'Langue',
  footerLine: 'Persona : une adresse e-mail et un mot de passe pour les sites que vous utilisez.',
  footerNav: 'À propos de Persona',
  help: 'Aide',
  privacy: 'Confidentialité',
  checkingLink: 'Vérification du lien…',
  confirm: 'Confirmer',
  savePassword: 'Enregistrer le mot de passe',
  manageAccount: 'Gérer votre compte Persona',
  accountHeading: 'Votre compte Persona',
  loading: 'Chargement…',
  signInHeading: 'Connectez-vous pour gérer votre compte',
  signInLead:
    'Persona vous connecte aux sites web avec votre adresse e-mail : plus besoin d’un nouveau mot de passe pour chacun. Connectez-vous ici pour gérer vos adresses et votre mot de passe.',
  signIn: 'Se connecter',
  forgotPassword: 'Mot de passe oublié ?',
  newHere: 'Nouveau sur Persona ?',
  createAccount: 'Créer un compte',
  signUpHeading: 'Créer un compte Persona',
  aboutHeading: 'Qu’est-ce que Persona ?',
  aboutText:
    'Persona est un service de connexion : un site qui propose « Se connecter avec son e-mail » demande à Persona de confirmer que l’adresse est bien la vôtre.',
  aboutPoint1:
    'Un seul mot de passe pour tous les sites qui utilisent Persona ; les sites ne le voient jamais.',
  aboutPoint2: 'Les sites n’apprennent que l’adresse e-mail que vous choisissez de leur donner.',
  aboutPoint3:
    'Les adresses des fournisseurs de messagerie qui ont leur propre connexion sont confirmées par ces fournisseurs.',
  privacyHeading: 'Votre vie privée',
  privacyText:
    'Persona conserve vos adresses et une empreinte de votre mot de passe, jamais le mot de passe lui-même. Persona ne dit à aucun site où vous vous connectez ailleurs, et n’envoie d’e-mails que pour confirmer une adresse ou réinitialiser un mot de passe.',
  emailsHeading: 'Vos adresses e-mail',
  signOut: 'Se déconnecter',
  addHeading: 'Ajouter une adresse',
  addButton: 'Ajouter l’adresse',
  addNeedsPassword:
    'Votre compte n’a pas encore de mot de passe. Choisissez-en un : vous vous connecterez avec lui à cette adresse.',
  passwordHeading: 'Modifier votre mot de passe',
  currentPasswordLabel: 'Mot de passe actuel',
  changePassword: 'Modifier le mot de passe',
  cancelHeading: 'Supprimer votre compte',
  cancelSure: 'Je comprends que cela supprime mon compte Persona et toutes ses adresses.',
  cancelButton: 'Supprimer mon compte',
  passwordMissing: 'Saisissez votre mot de passe.',
  passwordWrong: 'Ce mot de passe n’est pas le bon. Vérifiez-le et réessayez.',
  passwordTooShort: 'Le mot de passe doit comporter au moins 8 caractères.',
  passwordTooLong: 'Le mot de passe doit comporter au plus 80 caractères.',
  passwordsDiffer: 'Les deux mots de passe ne sont pas identiques.',
  busy: 'Persona est très sollicité en ce moment. Réessayez dans un instant.',
  tooMany: 'Trop de tentatives. Patientez une minute et réessayez.',
  unreachable: 'Impossible de joindre Persona. Vérifiez votre connexion et réessayez.',
  sessionEnded: 'Votre session a pris fin. Rechargez la page pour continuer.',
  wentWrong: 'Une erreur s’est produite : {reason}',
  verifyHeading: 'Confirmez votre adresse e-mail',
  resetHeading: 'Choisissez un nouveau mot de passe',
  transitionHeading: 'Définissez votre mot de passe Persona',
  linkBroken:
    'Ce lien est incomplet. Ouvrez le lien entier depuis l’e-mail, ou copiez-le en entier dans la barre d’adresse.',
  linkUsed:
    'Ce lien a déjà été utilisé ou a expiré. Recommencez depuis le site auquel vous vouliez vous connecter.',
  signUpPasswordLabel: 'Le mot de passe choisi lors de votre inscription',
  accountPasswordLabel: 'Votre mot de passe Persona',
  transitionPasswordLabel: 'Le mot de passe choisi pour Persona',
  passwordFor: 'Saisissez votre mot de passe pour confirmer {email}.',
  newPasswordFor: 'Choisissez un nouveau mot de passe pour {email}.',
  confirming: 'Confirmation de {email}…',
  confirmed:
    'Votre adresse {email} est confirmée. Vous pouvez fermer cet onglet ; la fenêtre de connexion poursuit d’elle-même.',
  resetDone:
    'Votre nouveau mot de passe est enregistré et {email} est confirmée. Vous pouvez fermer cet onglet ; la fenêtre de connexion poursuit d’elle-même.',
  transitionDone:
    'Votre mot de passe Persona est défini pour {email}. Vous pouvez fermer cet onglet ; la fenêtre de connexion poursuit d’elle-même.',
  emailInvalid: 'Saisissez une adresse e-mail, par exemple nom@example.com.',
  signInWrong: 'L’adresse e-mail et le mot de passe ne correspondent pas. Vérifiez-les et réessayez.',
  primaryAddress:
    '{email} se connecte chez son propre fournisseur, {domain}, et non avec un mot de passe Persona. Utilisez la fenêtre de connexion d’un site et continuez chez {domain}.',
  noSuchAccount: 'Persona n’a aucun compte pour {email}.',
  alreadyAccount:
    '{email} a déjà un compte Persona. Connectez-vous, ou choisissez « Mot de passe oublié ? ».',
  resetSent:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour choisir un nouveau mot de passe ; cette page se met à jour d’elle-même.',
  signUpSent:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour terminer ; cette page se met à jour d’elle-même.',
  mailDoneSignIn: 'C’est fait. Connectez-vous avec votre adresse e-mail et votre mot de passe.',
  accountLocked:
    'Trop de mots de passe erronés pour ce compte depuis des navigateurs qu’il ne connaît pas. Réessayez dans une heure, connectez-vous depuis un navigateur déjà utilisé ou réinitialisez le mot de passe (« Mot de passe oublié ? »).',
  noEmails: 'Ce compte n’a aucune adresse e-mail.',
  remove: 'Retirer',
  removeLabel: 'Retirer {email}',
  removeSure: 'Oui, retirer {email}',
  removeAsk: 'Retirer {email} de votre compte ? Appuyez à nouveau sur le bouton pour confirmer.',
  removed: '{email} est retirée de votre compte.',
  addSent:
    'Nous avons envoyé un e-mail à {email}. Ouvrez le lien qu’il contient pour ajouter l’adresse ; cette page se met à jour d’elle-même.',
  addDone: '{email} est ajoutée à votre compte.',
  addFailed: '{email} n’a pas été ajoutée : son lien a été remplacé ou n’est plus valide. Réessayez.',
  addRefused: 'L’adresse n’a pas pu être ajoutée : {reason}',
  mailThrottled:
    'Un e-mail a été envoyé à cette adresse il y a moins d’une minute. Patientez une minute, puis réessayez.',
  passwordChanged:
    'Votre mot de passe est modifié. Les autres navigateurs connectés à ce compte sont déconnectés.',
  oldPasswordWrong: 'Votre mot de passe actuel n’est pas le bon.',
  signedOut: 'Vous êtes déconnecté.',
  cancelUnticked: 'Cochez d’abord la case pour confirmer.',
  cancelled: 'Votre compte est supprimé.',
};

export const mailFr: MailMessages = {
  newSubject: 'Confirmez votre adresse e-mail pour {site}',
  newLead: 'Pour terminer votre connexion à {site} avec {email}, confirmez votre adresse e-mail.',
  newAction: 'Confirmer votre adresse e-mail',
  addSubject: 'Confirmez votre adresse e-mail pour {site}',
  addLead: 'Pour ajouter {email} à votre compte Persona et vous connecter à {site}, confirmez l’adresse.',
  addAction: 'Confirmer cette adresse',
  reverifySubject: 'Confirmez votre adresse e-mail pour {site}',
  reverifyLead:
    'Votre mot de passe Persona a été réinitialisé : {email} doit être confirmée à nouveau avant de pouvoir l’utiliser sur {site}.',
  reverifyAction: 'Confirmer cette adresse',
  resetSubject: 'Réinitialisez votre mot de passe Persona pour {site}',
  resetLead:
    'Quelqu’un, vous sans doute, a demandé à réinitialiser le mot de passe Persona de {email}. Choisissez un nouveau mot de passe pour vous connecter à {site}.',
  resetAction: 'Choisir un nouveau mot de passe',
  transitionSubject: 'Définissez votre mot de passe Persona pour {site}',
  transitionLead:
    'Votre fournisseur de messagerie ne vous connecte plus à Persona pour {email}. Choisissez un mot de passe pour continuer à vous connecter à {site}.',
  transitionAction: 'Choisir un mot de passe',
  ignore:
    'Si vous n’avez rien demandé, ignorez ce message : rien ne change tant que le lien n’est pas ouvert.',
  sentBy: 'Envoyé par Persona, le service de connexion qu’utilise {site}.',
};
