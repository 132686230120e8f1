// The dialog's catalogue lives in src/text/ (shared with the webhead); dialog.ts still imports it from here.
export * from '../../text/messages/dialog.ts';
