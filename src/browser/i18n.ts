// The locale machinery lives in src/text/ (shared with the webhead); dialog.ts still imports it from here.
export * from '../text/i18n.ts';
