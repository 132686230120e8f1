/**
 * Persona's look: one small design system in CSS custom properties (colour, spacing, type), light and dark
 * by prefers-color-scheme, shared by the dialog, the landing pages and the account page. No framework; it
 * is inlined in every page (the CSP allows it by hash). Logical properties only (margin-inline, inset-inline),
 * so a right-to-left locale needs nothing but <html dir="rtl">.
 *
 * Contrast: every text/background pair below is at least 4.5:1 (WCAG 2.1 AA) in both schemes; axe checks it
 * on every screen (test/browser/a11y.test.ts).
 */

/** The Persona mark: a rounded badge with a stylised person, in the brand colour. Decorative (aria-hidden). */
export const PERSONA_MARK =
  '<svg class="mark" viewBox="0 0 32 32" width="24" height="24" aria-hidden="true" focusable="false">' +
  '<rect width="32" height="32" rx="9" fill="var(--brand)"/>' +
  '<circle cx="16" cy="12" r="5" fill="var(--on-brand)"/>' +
  '<path d="M7 26c1.4-5 5-7.5 9-7.5s7.6 2.5 9 7.5z" fill="var(--on-brand)"/></svg>';

/** The same mark as a stand-alone SVG, served as /favicon.svg and /favicon.ico (no console 404). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="9" fill="#1f5fbf"/>' +
  '<circle cx="16" cy="12" r="5" fill="#fff"/><path d="M7 26c1.4-5 5-7.5 9-7.5s7.6 2.5 9 7.5z" fill="#fff"/></svg>';

const TOKENS = `:root{color-scheme:light dark;
--brand:#1f5fbf;--brand-strong:#174a96;--on-brand:#fff;
--bg:#eef1f5;--surface:#fff;--text:#1b1f24;--muted:#555f6b;--border:#c5ccd5;--field:#fff;
--link:#1a56b0;--danger:#b42318;--danger-bg:#fdecea;--ok:#17663a;--ok-bg:#e8f5ec;--focus:#1f5fbf;
--radius:10px;--radius-s:6px;--s1:.25rem;--s2:.5rem;--s3:.75rem;--s4:1rem;--s5:1.5rem;--s6:2rem;
--font:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;--shadow:0 1px 2px #0000000f,0 4px 16px #00000014}
@media (prefers-color-scheme:dark){:root{
--brand:#6ea8f7;--brand-strong:#94bff9;--on-brand:#0b1626;
--bg:#0e1217;--surface:#171d25;--text:#e7ecf2;--muted:#a7b1bd;--border:#3b4654;--field:#0e1217;
--link:#8fbcf8;--danger:#ff9b91;--danger-bg:#3a1714;--ok:#7fd69a;--ok-bg:#12301d;--focus:#8fbcf8;--shadow:none}}`;

const BASE = `*,*::before,*::after{box-sizing:border-box}
html{background:var(--bg);color:var(--text);font:16px/1.45 var(--font);-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
h1,h2{line-height:1.2;margin:0 0 var(--s3)}h1{font-size:1.375rem}h2{font-size:1.125rem}
p{margin:0 0 var(--s3)}a{color:var(--link);text-underline-offset:2px}
label{display:block;font-weight:600;font-size:.9375rem;margin:var(--s3) 0 var(--s1)}
input{font:inherit;color:inherit;background:var(--field);border:1px solid var(--border);border-radius:var(--radius-s);
padding:.55rem .7rem;width:100%;max-width:26rem;min-height:2.75rem}
input[readonly]{background:transparent;border-style:dashed}
input[type=checkbox],input[type=radio]{width:1.15rem;height:1.15rem;min-height:0;margin:0;accent-color:var(--brand);flex:none}
.check,.choice{display:flex;align-items:flex-start;gap:var(--s2);margin:var(--s3) 0}
.check label,.choice label{font-weight:400;margin:0;display:inline}.check input,.choice input{margin-block-start:.15rem}
fieldset{border:0;padding:0;margin:0;min-width:0}legend{padding:0;font-weight:600;margin-block-end:var(--s2)}
button{font:inherit;font-weight:600;border-radius:var(--radius-s);padding:.6rem 1.1rem;min-height:2.75rem;cursor:pointer;
border:1px solid var(--border);background:var(--surface);color:var(--text)}
button:hover{border-color:var(--muted)}button:disabled{opacity:.6;cursor:default}
button.primary{background:var(--brand);border-color:var(--brand);color:var(--on-brand)}
button.primary:hover:not(:disabled){background:var(--brand-strong);border-color:var(--brand-strong)}
button.danger{color:var(--danger);border-color:currentColor}
button.link{background:none;border:0;color:var(--link);text-decoration:underline;text-underline-offset:2px;
font-weight:400;padding:.4rem .1rem;min-height:2.75rem}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}[tabindex="-1"]:focus-visible{outline:none}input:focus-visible{outline-offset:0}
.hint{color:var(--muted);font-size:.875rem;margin:var(--s1) 0 0}
#error{color:var(--danger);background:var(--danger-bg);border-radius:var(--radius-s);padding:var(--s2) var(--s3);margin:var(--s3) 0}
#error:empty{display:none}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:var(--s2) var(--s3);margin-block-start:var(--s4)}
.actions .end{margin-inline-start:auto}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
.brand{display:inline-flex;align-items:center;gap:var(--s2);font-weight:600;color:var(--text);text-decoration:none}
.mark{flex:none;display:block}
.spinner{display:inline-block;inline-size:1.1rem;block-size:1.1rem;border:2px solid var(--border);
border-block-start-color:var(--brand);border-radius:50%;animation:spin .8s linear infinite;vertical-align:-.2rem}
.progress{display:none;align-items:center;gap:var(--s2);color:var(--muted);font-size:.9375rem}
[aria-busy=true] .progress{display:inline-flex;visibility:hidden;animation:appear 0s linear .3s forwards}
@keyframes spin{to{transform:rotate(360deg)}}@keyframes appear{to{visibility:visible}}
@media (prefers-reduced-motion:reduce){.spinner{animation-duration:2.4s}}
footer.foot{display:flex;flex-wrap:wrap;align-items:center;gap:var(--s2) var(--s4);color:var(--muted);font-size:.875rem}
footer.foot a{color:var(--muted)}footer.foot .brand{color:var(--muted);font-weight:500}
footer.foot nav{display:flex;gap:var(--s4);margin-inline-start:auto}`;

/** The dialog (/sign_in): a site bar, one card-less column, a quiet Persona footer. */
const DIALOG = `body.dialog{background:var(--surface)}
#site{display:flex;align-items:center;gap:var(--s3);padding:var(--s4) var(--s5);border-block-end:1px solid var(--border);
background:var(--surface);color:var(--text)}
#site-logo{inline-size:2.75rem;block-size:2.75rem;object-fit:contain;border-radius:var(--radius-s);background:#fff;flex:none}
#site .eyebrow{margin:0;font-size:.8125rem;font-weight:500}#site h1 .eyebrow{display:block}#site h1 .eyebrow[hidden]{display:none}
#site h1{margin:0;font-size:1.25rem;overflow-wrap:anywhere}
.dialog main{flex:1;padding:var(--s4) var(--s5) var(--s3)}
#status{margin:0 0 var(--s2);font-size:1rem}
.dialog label:first-child{margin-block-start:0}
#pick-list{display:grid;gap:var(--s2);margin:var(--s2) 0 0}
#pick-list .choice{margin:0;padding:var(--s3);border:1px solid var(--border);border-radius:var(--radius-s)}
#pick-list .choice:has(input:checked){border-color:var(--brand);box-shadow:inset 0 0 0 1px var(--brand)}
#screen-wait .big{display:block;inline-size:2rem;block-size:2rem;border-width:3px;margin:var(--s3) 0}
#terms{margin-block-start:var(--s4)}
.dialog footer.foot{padding:var(--s3) var(--s5);border-block-start:1px solid var(--border)}`;

/** The landing pages and the account page: a top bar, a centred card, a footer. */
const PAGES = `.top{display:flex;align-items:center;gap:var(--s4);padding:var(--s3) var(--s5);background:var(--surface);
border-block-end:1px solid var(--border)}
.top nav{margin-inline-start:auto;display:flex;flex-wrap:wrap;gap:var(--s1) var(--s3);font-size:.875rem}
.top nav a[aria-current]{font-weight:700;color:var(--text);text-decoration:none}
.page main{flex:1;inline-size:100%;max-inline-size:40rem;margin:0 auto;padding:var(--s5) var(--s4)}
.card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);box-shadow:var(--shadow);
padding:var(--s5);margin-block-end:var(--s4)}
.card>:last-child{margin-block-end:0}
#status:empty{margin:0}
.lead{font-size:1.0625rem}
ul.emails{list-style:none;padding:0;margin:0 0 var(--s3)}
ul.emails li{display:flex;align-items:center;gap:var(--s3);flex-wrap:wrap;justify-content:space-between;padding:var(--s2) 0;
border-block-end:1px solid var(--border);overflow-wrap:anywhere}
.about h2:not(:first-child){margin-block-start:var(--s5)}.about ul{padding-inline-start:var(--s5);margin:0 0 var(--s3)}
.page footer.foot{inline-size:100%;max-inline-size:40rem;margin:0 auto;padding:var(--s3) var(--s4) var(--s5)}
@media (max-width:30rem){.card{padding:var(--s4)}.page main{padding:var(--s4) var(--s3)}}`;

export const STYLE = [TOKENS, BASE, DIALOG, PAGES].join('\n').replace(/\n/g, '');
