/**
 * include.js: the script a relying party loads from us. It defines navigator.id (watch, request, logout)
 * and talks to our communication iframe and our dialog popup with postMessage. Messages are accepted only
 * from our origin and only from the iframe's or the popup's own window; messages go out to our origin only.
 */
import {
  DIALOG_FEATURES,
  DIALOG_PATH,
  DIALOG_WINDOW_NAME,
  IFRAME_PATH,
  envelope,
  fragmentFor,
  parseOrigin,
  pickRequestOptions,
  readMessage,
  type RequestOptions,
  type ToDialog,
  type ToIframe,
} from './protocol.ts';

/** The webhead replaces this with its public origin when it serves the file (static.ts). */
const SERVED_ORIGIN = '__PERSONA_ORIGIN__';

interface WatchOptions {
  loggedInUser?: string | null | false;
  onlogin: (assertion: string) => void;
  onlogout?: () => void;
  onready?: () => void;
  /** Told why, when Persona's communication iframe could not be loaded after retrying. */
  onerror?: (reason: string) => void;
}

/**
 * Waits before loading the communication iframe again after it came up without our script (a 503 from a
 * busy service, an error page); after the last, the site is told (onerror) and logout still reaches it.
 */
const IFRAME_RETRY_MS = [500, 1000, 2000, 4000];
/** A load that sends no hello within this is a failed one. */
const IFRAME_HELLO_MS = 1000;
/** A load that never finishes at all. */
const IFRAME_LOAD_TIMEOUT_MS = 10_000;

interface RequestCallbacks {
  oncancel?: () => void;
}

export interface NavigatorId {
  watch(options: WatchOptions): void;
  request(options?: RequestOptions & RequestCallbacks): void;
  logout(): void;
}

function personaOrigin(): string {
  const served = parseOrigin(SERVED_ORIGIN);
  if (served !== undefined) return served;
  // Served raw (not through the webhead): trust where the script itself came from.
  const script = document.currentScript;
  const src = script instanceof HTMLScriptElement ? script.src : '';
  const origin = src === '' ? undefined : parseOrigin(new URL(src).origin);
  if (origin === undefined) throw new Error('persona: cannot tell which origin include.js came from');
  return origin;
}

function createNavigatorId(persona: string): NavigatorId {
  const here = window.location.origin;
  let watching: WatchOptions | undefined;
  let iframe: HTMLIFrameElement | undefined;
  let iframeListening = false;
  const iframeQueue: ToIframe[] = [];

  let popup: Window | null = null;
  let pending: { options: RequestOptions; oncancel: (() => void) | undefined } | undefined;
  let closedPoll: number | undefined;

  let iframeAttempt = 0;
  let iframeDead = false;

  /**
   * Without the iframe, what it would have relayed is delivered here: it keeps no state of its own, so a
   * logout is the site's to carry out (and `ready` only says the channel is settled).
   */
  const deliverWithoutIframe = (message: ToIframe): void => {
    if (message.type === 'logout') watching?.onlogout?.();
    else watching?.onready?.();
  };

  const toIframe = (message: ToIframe): void => {
    const target = iframe?.contentWindow;
    if (iframeListening && target) target.postMessage(envelope(message), persona);
    else if (iframeDead) deliverWithoutIframe(message);
    else iframeQueue.push(message);
  };

  const toDialog = (message: ToDialog): void => {
    popup?.postMessage(envelope(message), persona);
  };

  const endRequest = (): { options: RequestOptions; oncancel: (() => void) | undefined } | undefined => {
    const ended = pending;
    pending = undefined;
    if (closedPoll !== undefined) window.clearInterval(closedPoll);
    closedPoll = undefined;
    return ended;
  };

  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== persona) return;
    const message = readMessage(event.data);
    if (message === undefined) return;
    if (iframe && event.source === iframe.contentWindow) {
      switch (message.type) {
        case 'hello': {
          iframeListening = true;
          for (const queued of iframeQueue.splice(0)) toIframe(queued);
          break;
        }
        case 'ready':
          watching?.onready?.();
          break;
        case 'logout':
          watching?.onlogout?.();
          break;
        default:
          break;
      }
    } else if (popup !== null && event.source === popup) {
      switch (message.type) {
        case 'hello':
          // Sent again if the dialog reloads: it always gets the request it is serving.
          if (pending) toDialog({ type: 'request', options: pending.options });
          break;
        case 'assertion':
          if (endRequest()) watching?.onlogin(message.assertion);
          break;
        case 'cancel':
          endRequest()?.oncancel?.();
          break;
        default:
          break;
      }
    }
  });

  const iframeFailed = (frame: HTMLIFrameElement): void => {
    if (iframe !== frame || iframeListening) return;
    const delay = IFRAME_RETRY_MS[iframeAttempt];
    iframeAttempt += 1;
    frame.remove();
    if (delay !== undefined) {
      window.setTimeout(attachIframe, delay);
      return;
    }
    iframeDead = true;
    try {
      watching?.onerror?.(
        `persona: the communication iframe could not be loaded (${String(iframeAttempt)} tries)`,
      );
    } finally {
      for (const queued of iframeQueue.splice(0)) deliverWithoutIframe(queued);
    }
  };

  function attachIframe(): void {
    const frame = document.createElement('iframe');
    frame.src = `${persona}${IFRAME_PATH}${fragmentFor(here)}`;
    frame.title = 'Persona';
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.style.display = 'none';
    iframe = frame;
    // A load (of a 503 page, say) that brings no hello, or no load at all: try again, a new frame each time.
    frame.addEventListener('load', () => {
      window.setTimeout(() => {
        iframeFailed(frame);
      }, IFRAME_HELLO_MS);
    });
    window.setTimeout(() => {
      iframeFailed(frame);
    }, IFRAME_LOAD_TIMEOUT_MS);
    const append = (): void => {
      document.body.appendChild(frame);
    };
    // DOM types say body always exists; it is null while a script in <head> runs.
    if ((document.body as HTMLElement | null) !== null) append();
    else document.addEventListener('DOMContentLoaded', append, { once: true });
  }

  return {
    watch(options) {
      if (typeof options !== 'object' || typeof options.onlogin !== 'function')
        throw new Error('persona: watch() needs an onlogin function');
      if (watching) throw new Error('persona: watch() may be called only once');
      const user = options.loggedInUser;
      if (user !== undefined && user !== null && user !== false && typeof user !== 'string')
        throw new Error('persona: loggedInUser must be an email address, null or false');
      watching = options;
      attachIframe();
      toIframe({ type: 'loaded', loggedInUser: typeof user === 'string' ? user : null });
    },

    request(options = {}) {
      if (!watching) throw new Error('persona: request() must follow watch()');
      if ((options.termsOfService === undefined) !== (options.privacyPolicy === undefined))
        throw new Error('persona: termsOfService and privacyPolicy go together');
      const posted = pickRequestOptions(options as Record<string, unknown>);
      // Must run inside the click handler, or the browser blocks the popup.
      popup = window.open(
        `${persona}${DIALOG_PATH}${fragmentFor(here)}`,
        DIALOG_WINDOW_NAME,
        DIALOG_FEATURES,
      );
      if (popup === null) throw new Error('persona: the sign-in window was blocked');
      endRequest();
      pending = { options: posted, oncancel: options.oncancel };
      popup.focus();
      // A person closing the window is a cancel; the closed window cannot tell us itself.
      closedPoll = window.setInterval(() => {
        if (popup?.closed === true) endRequest()?.oncancel?.();
      }, 500);
    },

    logout() {
      if (!watching) throw new Error('persona: logout() must follow watch()');
      toIframe({ type: 'logout' });
    },
  };
}

declare global {
  interface Navigator {
    id?: NavigatorId;
  }
}

if (navigator.id === undefined) {
  Object.defineProperty(navigator, 'id', {
    value: createNavigatorId(personaOrigin()),
    configurable: false,
    enumerable: true,
    writable: false,
  });
}
