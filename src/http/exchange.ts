/**
 * One HTTP exchange through an undici dispatcher, the answer's body collected into a Buffer. Dispatched
 * with a handler rather than `request()`: no body stream, abort signal or promise race per call, which
 * was a third of the router's CPU per relayed request (issue 9). Tier calls (upstream.ts) and the
 * loadgen's simulated browsers use it.
 */
import type { Dispatcher } from 'undici';

export interface Exchanged {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** When to give up: the caller is answered at `at` (ms since the epoch) with `error()`. */
export interface GiveUp {
  readonly at: number;
  readonly error: () => Error;
}

/**
 * Sends `options` through `dispatcher`. With `giveUp`, the promise rejects at its time even while the
 * request still waits for a connection, and the request is then dropped when undici starts it.
 */
export function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  giveUp?: GiveUp,
): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let controller: { abort(reason: Error): void } | undefined;
    let status = 0;
    let headers: Exchanged['headers'] = {};
    const chunks: Buffer[] = [];
    const timer =
      giveUp &&
      setTimeout(
        () => {
          if (settled) return;
          settled = true;
          const why = giveUp.error();
          reject(why);
          controller?.abort(why);
        },
        Math.max(0, giveUp.at - Date.now()),
      );
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    try {
      dispatcher.dispatch(options, {
        onRequestStart(started) {
          controller = started;
          if (settled) started.abort(giveUp?.error() ?? new Error('given up'));
        },
        onResponseStart(_controller, statusCode, given) {
          status = statusCode;
          headers = given;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status,
            headers,
            body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks),
          });
        },
        onResponseError(_controller, err) {
          fail(err);
        },
      });
    } catch (err) {
      fail(err as Error);
    }
  });
}
